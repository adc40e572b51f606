import { type Command, Option } from "commander";
import { UsageError } from "./errors.js";
import { type CliIo, optionalRegistry, printer, trackingUriOf } from "./io.js";
import { allowDeletedOption, given, jsonOption, registryOption, sizeParser, trackingOption } from "./parse-options.js";

/** The run ids of `runs delete|restore`: positional, or MLflow's `--run-id` (either, not both). */
function runIdsOf(command: string, positional: string[], o: Record<string, unknown>): string[] {
  const flagged = o["runId"] as string | undefined;
  if (flagged !== undefined && positional.length > 0)
    throw new UsageError(`Give the run ids either as arguments or with --run-id, not both: pipeserve runs ${command} RUN_ID… or --run-id RUN_ID.`);
  const ids = flagged !== undefined ? [flagged] : positional;
  if (ids.length === 0) throw new UsageError(`Missing the run id: pipeserve runs ${command} RUN_ID… (list runs with \`pipeserve runs list\`).`);
  return ids;
}

/**
 * MLflow's run views (`mlflow runs list --view`): the store's RUN_VIEWS, repeated here because
 * parts are reached through their index only, and the store's would load the stores for `--help`.
 */
const RUN_VIEWS = ["active_only", "deleted_only", "all"] as const;
type RunView = (typeof RUN_VIEWS)[number];

/** The commands' code, loaded when one runs. */
const actions = () => import("./store-actions.js");

/** `--tracking-uri` as the library gets it (see trackingUriOf). */
const tracking = (io: CliIo, o: Record<string, unknown>): string => trackingUriOf(io, given(o["trackingUri"]));

/** Registers `pipeserve runs list|show|delete|restore`. */
function registerRunsCommands(program: Command, io: CliIo): void {
  const print = printer(io.stdout);
  const runs = program.command("runs").description("List, show, delete and restore tracked runs.");
  runs
    .command("list")
    .description("List runs, newest first (active ones; --all adds deleted runs).")
    .option("--experiment <name-or-id>", "only this experiment")
    .option("--all", "deleted runs too (as --view all)", false)
    .addOption(new Option("--view <view>", "which runs by lifecycle stage, as MLflow's --view").choices([...RUN_VIEWS]))
    .addOption(jsonOption())
    .addOption(trackingOption())
    .action(async (o: Record<string, unknown>) => {
      const view = o["view"] as RunView | undefined;
      if (o["all"] && view !== undefined && view !== "all") throw new UsageError(`--all lists every run; it contradicts --view ${view}. Give one of them.`);
      return (await actions()).runsList(
        {
          json: o["json"] as boolean,
          trackingUri: tracking(io, o),
          view: o["all"] ? "all" : (view ?? "active_only"),
          ...(o["experiment"] ? { experiment: o["experiment"] as string } : {}),
        },
        print,
        printer(io.stderr),
      );
    });
  runs
    .command("show <run-id>")
    .description("Show a run's params, metrics, tags and logged models.")
    .addOption(jsonOption())
    .addOption(trackingOption())
    .action(async (runId: string, o: Record<string, unknown>) =>
      (await actions()).runsShow(runId, { json: o["json"] as boolean, trackingUri: tracking(io, o) }, print),
    );
  runs
    .command("delete [run-ids...]")
    .description("Mark runs deleted, as `mlflow runs delete` (files stay; `runs restore` undoes it). Their models are then refused unless --allow-deleted.")
    .option("--run-id <id>", "the run, as MLflow's CLI takes it")
    .addOption(jsonOption())
    .addOption(trackingOption())
    .addOption(registryOption())
    .action(async (ids: string[], o: Record<string, unknown>) =>
      (await actions()).runsDelete(runIdsOf("delete", ids, o), { json: o["json"] as boolean, trackingUri: tracking(io, o), ...optionalRegistry(io, o) }, io),
    );
  runs
    .command("restore [run-ids...]")
    .description("Bring deleted runs back, as `mlflow runs restore`.")
    .option("--run-id <id>", "the run, as MLflow's CLI takes it")
    .addOption(jsonOption())
    .addOption(trackingOption())
    .action(async (ids: string[], o: Record<string, unknown>) =>
      (await actions()).runsRestore(runIdsOf("restore", ids, o), { json: o["json"] as boolean, trackingUri: tracking(io, o) }, io),
    );
}

/** Registers `pipeserve models list|versions|alias|delete-version`. */
function registerModelsCommands(program: Command, io: CliIo): void {
  const print = printer(io.stdout);
  const models = program.command("models").description("The model registry: names, versions, aliases.");
  models
    .command("list")
    .description("List registered models.")
    .addOption(jsonOption())
    .addOption(trackingOption())
    .addOption(registryOption())
    .action(async (o: Record<string, unknown>) =>
      (await actions()).modelsList({ json: o["json"] as boolean, trackingUri: tracking(io, o), ...optionalRegistry(io, o) }, print),
    );
  models
    .command("versions <name>")
    .description("List a model's versions.")
    .addOption(jsonOption())
    .addOption(trackingOption())
    .addOption(registryOption())
    .action(async (name: string, o: Record<string, unknown>) =>
      (await actions()).modelsVersions(name, { json: o["json"] as boolean, trackingUri: tracking(io, o), ...optionalRegistry(io, o) }, print),
    );
  models
    .command("alias <name> <alias> [version]")
    .description("Point an alias at a version (then serve models:/<name>@<alias>); --delete removes the alias.")
    .option("--delete", "remove the alias (no version then)", false)
    .addOption(jsonOption())
    .addOption(trackingOption())
    .addOption(registryOption())
    .action(async (name: string, alias: string, version: string | undefined, o: Record<string, unknown>) => {
      const options = { json: o["json"] as boolean, trackingUri: tracking(io, o), ...optionalRegistry(io, o) };
      if (o["delete"]) {
        if (version !== undefined) throw new UsageError(`--delete removes the alias "${alias}"; give no version (got ${version}).`);
        return (await actions()).modelsDeleteAlias(name, alias, options, print);
      }
      if (version === undefined)
        throw new UsageError(`Missing the version: pipeserve models alias ${name} ${alias} VERSION (or --delete to remove the alias).`);
      // NB: a version the argument cannot be is a usage error (exit 2), as a missing one is; "latest" too, which an alias cannot follow.
      if (!/^[1-9]\d*$/.test(version)) throw new UsageError(`The version must be a whole number from 1 (an alias names one version), got "${version}".`);
      return (await actions()).modelsAlias(name, alias, version, options, print);
    });
  models
    .command("delete-version <name> <version>")
    .description("Delete a version, as MLflow does: its number is never reused, its aliases are removed, the run and its files stay.")
    .addOption(jsonOption())
    .addOption(trackingOption())
    .addOption(registryOption())
    .action(async (name: string, version: string, o: Record<string, unknown>) => {
      // NB: as `models alias`: a version the argument cannot be is a usage error (exit 2; found by an audit: it exited 1).
      if (!/^[1-9]\d*$/.test(version)) throw new UsageError(`The version must be a whole number from 1, got "${version}".`);
      return (await actions()).modelsDeleteVersion(
        name,
        version,
        { json: o["json"] as boolean, trackingUri: tracking(io, o), ...optionalRegistry(io, o) },
        print,
      );
    });
}

/** Registers `pipeserve export` and `pipeserve import`: models as .tar.gz archives. */
function registerArchiveCommands(program: Command, io: CliIo): void {
  program
    .command("export")
    .description("Pack a model into a .tar.gz to copy elsewhere.")
    .requiredOption("-m, --model-uri <uri>", "the model")
    .requiredOption("-o, --output <file>", "the archive to write (.tar.gz), or - for stdout")
    .addOption(trackingOption())
    .addOption(registryOption())
    .addOption(allowDeletedOption())
    .action(async (o: Record<string, unknown>) =>
      (await actions()).exportModel(
        o["modelUri"] as string,
        o["output"] as string,
        { trackingUri: tracking(io, o), ...optionalRegistry(io, o), ...(o["allowDeleted"] ? { allowDeleted: true } : {}) },
        io,
      ),
    );
  program
    .command("import <file>")
    .description("Unpack a model archive (checked entry by entry, every sha256 verified; - reads it from stdin) into a new run, and register it with --name.")
    .option("--name <name>", "register the model under this name")
    .option("--experiment <name>", "experiment for the new run", "Imported models")
    .option(
      "--max-extract-size <size>",
      "refuse an archive whose files add up to more than this, e.g. 500mb (default: $PIPESERVE_MAX_EXTRACT_SIZE, then 2gb)",
      sizeParser("--max-extract-size"),
    )
    .addOption(jsonOption())
    .addOption(trackingOption())
    .addOption(registryOption())
    .action(async (file: string, o: Record<string, unknown>) =>
      (await actions()).importModel(
        file,
        {
          json: o["json"] as boolean,
          experiment: o["experiment"] as string,
          trackingUri: tracking(io, o),
          ...optionalRegistry(io, o),
          ...(o["name"] ? { name: o["name"] as string } : {}),
          ...(o["maxExtractSize"] !== undefined ? { maxExtractBytes: o["maxExtractSize"] as number } : {}),
        },
        io,
      ),
    );
}

/** Registers the commands over the run store and its models: inspect, runs, models, export, import (in the help's order). */
export function registerStoreCommands(program: Command, io: CliIo): void {
  program
    .command("inspect")
    .description("Show a model's signature, params, artifacts, pipeline graph and environment (without running its code).")
    .requiredOption("-m, --model-uri <uri>", "the model")
    .addOption(jsonOption())
    .addOption(trackingOption())
    .addOption(registryOption())
    .addOption(allowDeletedOption())
    .action(async (o: Record<string, unknown>) =>
      (await actions()).inspect(
        o["modelUri"] as string,
        { json: o["json"] as boolean, trackingUri: tracking(io, o), ...optionalRegistry(io, o), ...(o["allowDeleted"] ? { allowDeleted: true } : {}) },
        io,
      ),
    );
  registerRunsCommands(program, io);
  registerModelsCommands(program, io);
  registerArchiveCommands(program, io);
}
