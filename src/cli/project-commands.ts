import { type Command, Option } from "commander";
import type { runProject } from "../index.js";
import { INPUT_TYPES, type InputType, redactCredentials } from "../util/index.js";
import { UsageError } from "./errors.js";
import { type CliIo, fromCwd, optionalRegistry, printer, trackingUriOf } from "./io.js";
import { collect, given, jsonOption, registryOption, trackingOption } from "./parse-options.js";

/**
 * Makes stacks through the project's code name its own files (pipelines.ts:39:32), through the
 * source map its bundle carries, rather than the temporary bundle. NB: before the project is
 * imported, since Node reads a module's source map only when it loads it while this is on; and
 * only for the commands that run a project, since it makes every module loaded later read its map.
 */
function mapProjectStacks(): void {
  process.setSourceMapsEnabled(true);
}

/** Registers `pipeserve run`: a project's pipeline in a tracked run. */
function registerRunCommand(program: Command, argv: readonly string[], io: CliIo): void {
  const print = printer(io.stdout);
  program
    .command("run")
    .description("Run a project's pipeline in a tracked run; a pipelineMl also packages (and maybe registers) its inference pipeline.")
    .requiredOption("--project <dir>", "the project folder (pipelines.ts, conf/catalog.yml, conf/parameters.yml)")
    .option("--pipeline <name>", "the pipeline to run (a key of the exported `pipelines`)", "__default__")
    .option("--params <key=value>", "override a parameter (repeatable; dotted keys for nested ones)", collect, [])
    .option("--experiment <name>", "experiment to log into", "Default")
    .option("--run-name <name>", "name of the run")
    .option("--registered-model-name <name>", "register the packaged model under this name")
    .option("--no-typecheck", "train without type-checking the project first (done with the project's own TypeScript, when it has one)")
    .addOption(jsonOption())
    .addOption(trackingOption())
    .addOption(registryOption())
    .action(async (o: Record<string, unknown>) => {
      let runId: string | undefined;
      mapProjectStacks();
      await checkNameFlags(o, io);
      const trackingUri = trackingUriOf(io, given(o["trackingUri"]));
      let result: Awaited<ReturnType<typeof runProject>>;
      const { PackagingError, runProject } = await import("../index.js");
      try {
        result = await runProject({
          projectDir: fromCwd(io, o["project"] as string),
          pipelineName: o["pipeline"] as string,
          params: o["params"] as string[],
          experiment: o["experiment"] as string,
          command: argv.join(" "),
          trackingUri,
          ...optionalRegistry(io, o),
          ...(o["runName"] ? { runName: o["runName"] as string } : {}),
          ...(o["registeredModelName"] ? { registeredModelName: o["registeredModelName"] as string } : {}),
          typecheck: o["typecheck"] !== false,
          onTypecheck: (outcome) => {
            if (outcome.ran) io.stderr.write(`pipeserve: type-checked the project (${outcome.config ? "its tsconfig.json" : "tsc --strict"}): no errors.\n`);
          },
          onRunStarted: (id) => {
            runId = id;
          },
        });
      } catch (error) {
        // NB: said before the error itself (which main prints): the run exists, marked FAILED, with the error on it.
        if (runId !== undefined) {
          io.stderr.write(`pipeserve: run ${runId} is marked FAILED, with this error recorded on it (pipeserve runs show ${runId}).\n`);
        }
        // NB: a --params entry the project cannot take, or a --pipeline it has not, is the command line's to fix: a usage error (exit 2).
        throw asUsageError(error, PackagingError);
      }
      if (o["json"]) return print(JSON.stringify(result, null, 2));
      print(runSummary(result, trackingUri, optionalRegistry(io, o).registryUri));
    });
}

/**
 * Refuses name flags the store would refuse, before anything is read or written: a usage error
 * (exit 2), as `import --name`. NB: found by an audit: they exited 1, after loading the project.
 */
async function checkNameFlags(o: Record<string, unknown>, io: CliIo): Promise<void> {
  if (o["experiment"] !== undefined && String(o["experiment"]).trim() === "")
    throw new UsageError("--experiment: give the experiment's name (or leave the flag out).");
  const { StoreError, checkLoggedModelName } = await import("../store/index.js");
  const { checkRegistrationName } = await import("../packager/index.js");
  // NB: the check run makes before it trains, a folder registry's 255-byte limit included (found by a review: it exited 1).
  const registry = (name: string): void => checkRegistrationName(name, trackingUriOf(io, given(o["trackingUri"])), optionalRegistry(io, o).registryUri);
  const check = (flag: string, value: unknown, fn: (name: string) => unknown): void => {
    if (value === undefined) return;
    try {
      fn(String(value));
    } catch (error) {
      if (!(error instanceof StoreError)) throw error;
      // NB: a store URI that is no URI is said where the store is opened, naming the URI, not the name.
      if (error.code !== "INVALID_URI") throw new UsageError(`${flag}: ${error.message}`);
    }
  };
  check("--registered-model-name", o["registeredModelName"], registry);
  check("--artifact-path", o["artifactPath"], checkLoggedModelName);
}

/** The errors of a project command that are its command line's to fix: a usage error (exit 2). */
function asUsageError(error: unknown, PackagingError: abstract new (...args: never[]) => Error): unknown {
  const code = (error as { code?: unknown }).code;
  return error instanceof PackagingError && (code === "INVALID_PARAMS" || code === "UNKNOWN_PIPELINE") ? new UsageError((error as Error).message) : error;
}

/** `word` as one word of a POSIX shell's command line: as it is when plain, else in single quotes. */
function shellWord(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}

/**
 * The lines `pipeserve run` ends with: the run, its metrics, the model and its version, and how to
 * serve it (the stores as given, quoted for the shell, a password in a URL shown as `***`).
 */
function runSummary(result: Awaited<ReturnType<typeof runProject>>, trackingUri: string, registryUri: string | undefined): string {
  const lines = [`Run ${result.runId} finished (experiment ${result.experimentId}).`];
  const metrics = Object.entries(result.metrics);
  if (metrics.length > 0) lines.push(`Metrics: ${metrics.map(([k, v]) => `${k}=${Number.isInteger(v) ? v : Number(v.toPrecision(6))}`).join(", ")}`);
  if (result.modelUri) lines.push(`Model: ${result.modelUri}${result.modelId ? ` (LoggedModel models:/${result.modelId})` : ""}`);
  if (result.registeredVersion) lines.push(`Registered: models:/${result.registeredVersion.name}/${result.registeredVersion.version}`);
  if (result.modelUri) {
    const served = result.registeredVersion ? `models:/${result.registeredVersion.name}/${result.registeredVersion.version}` : result.modelUri;
    const stores = [`--tracking-uri ${shellWord(redactCredentials(trackingUri))}`];
    if (registryUri !== undefined) stores.push(`--registry-uri ${shellWord(redactCredentials(registryUri))}`);
    lines.push(`Serve it: pipeserve serve -m ${served} ${stores.join(" ")}`);
  }
  return lines.join("\n");
}

/** Registers `pipeserve modelify`: an inference pipeline packaged from artifacts that already exist. */
function registerModelifyCommand(program: Command, io: CliIo): void {
  const print = printer(io.stdout);
  program
    .command("modelify")
    .description("Package an inference pipeline from artifacts that already exist (like kedro-mlflow's modelify).")
    .requiredOption("--project <dir>", "the project folder")
    .requiredOption("--pipeline <name>", "the inference pipeline")
    .requiredOption("--input-name <name>", "the input that receives the request's data")
    .option("--run-id <id>", "package into this run (default: a new run)")
    .addOption(new Option("--copy-mode <mode>", "how artifacts reach the nodes").choices(["assign", "copy", "deepcopy"]).default("assign"))
    .addOption(new Option("--input-type <type>", "the form the request's data reaches the pipeline in").choices([...INPUT_TYPES]).default("dataframe"))
    .option("--row-wise", "each output row depends on its input row alone: predict files in chunks, batch small concurrent requests", false)
    .option("--registered-model-name <name>", "register the model under this name")
    .option("--artifact-path <path>", "the logged model's name: runs:/<run_id>/<name> reaches it", "model")
    .option("--experiment <name>", "experiment for a new run", "Default")
    .addOption(jsonOption())
    .addOption(trackingOption())
    .addOption(registryOption())
    .action(async (o: Record<string, unknown>) => {
      mapProjectStacks();
      await checkNameFlags(o, io);
      const { PackagingError, modelify } = await import("../index.js");
      const result = await modelify({
        projectDir: fromCwd(io, o["project"] as string),
        pipelineName: o["pipeline"] as string,
        inputName: o["inputName"] as string,
        copyMode: o["copyMode"] as "assign",
        inputType: o["inputType"] as InputType,
        rowWise: o["rowWise"] as boolean,
        artifactPath: o["artifactPath"] as string,
        experiment: o["experiment"] as string,
        trackingUri: trackingUriOf(io, given(o["trackingUri"])),
        ...optionalRegistry(io, o),
        ...(o["runId"] ? { runId: o["runId"] as string } : {}),
        ...(o["registeredModelName"] ? { registeredModelName: o["registeredModelName"] as string } : {}),
      }).catch((error: unknown) => Promise.reject(asUsageError(error, PackagingError)));
      if (o["json"]) return print(JSON.stringify(result, null, 2));
      print(`Model: ${result.modelUri} (LoggedModel models:/${result.modelId})`);
      if (result.registeredVersion) print(`Registered: models:/${result.registeredVersion.name}/${result.registeredVersion.version}`);
    });
}

/** Registers the commands over a project folder: `run` (which logs `argv`, the command line, in its run's tags) and `modelify`. */
export function registerProjectCommands(program: Command, argv: readonly string[], io: CliIo): void {
  registerRunCommand(program, argv, io);
  registerModelifyCommand(program, io);
}
