#!/usr/bin/env node
/**
 * The `pipeserve` command: thin commands over the library (serve, predict, run, modelify,
 * inspect, runs, models, export, import). Errors print one clear line and exit non-zero;
 * stack traces only with PIPESERVE_DEBUG=1.
 */
import { Command, CommanderError, Option } from "commander";
import { INPUT_TYPES, modelify, pipeserveVersion, runProject, type InputType } from "../index.js";
import { UsageError } from "./errors.js";
import { collect, parseInteger, parseSeconds, parseSize } from "./parse-options.js";
import { predictCommand } from "./predict-command.js";
import { serveCommand } from "./serve-command.js";
import { exportModel, importModel, inspect, modelsAlias, modelsList, modelsVersions, runsList, runsShow } from "./store-commands.js";

const print = (text: string): void => void process.stdout.write(text.endsWith("\n") ? text : `${text}\n`);
const trackingOption = (): Option => new Option("--tracking-uri <uri>", "the run store folder (default: $MLFLOW_TRACKING_URI, then ./mlruns)");
const jsonOption = (): Option => new Option("--json", "print JSON for scripts").default(false);

// biome-ignore lint/complexity/noExcessiveLinesPerFunction: TODO(issue 16) split this function
export function buildProgram(): Command {
  const program = new Command("pipeserve")
    .description(
      "Package inference pipelines with their training artifacts, and serve them (MLflow /invocations and Open Inference Protocol v2) or run them over files.",
    )
    .version(pipeserveVersion(), "-V, --version")
    .showHelpAfterError("(run with --help for usage)")
    .exitOverride();

  program
    .command("serve")
    .description("Serve a model over HTTP: MLflow's /invocations protocol and the Open Inference Protocol v2.")
    .helpOption("--help", "show help for serve")
    .addOption(
      new Option("-m, --model-uri <uri>", "runs:/<run_id>/model, models:/<name>/<version|latest>, models:/<name>@<alias>, a folder, or a .tar.gz")
        .env("MODEL_URI")
        .makeOptionMandatory(),
    )
    .addOption(
      new Option("-p, --port <port>", "port to listen on (0 picks a free one)")
        .env("PORT")
        .argParser(parseInteger("--port", 0, 65535))
        .default(5000),
    )
    .option("-h, --host <host>", "address to bind", "127.0.0.1")
    .option("-w, --workers <n>", "worker processes sharing the port", parseInteger("--workers", 1, 256), 1)
    .option("--allow-runner <module#Export>", "allow requests to choose this runner too (repeatable); loaded once at start", collect, [])
    .option("--timeout <seconds>", "request timeout (default: $MLFLOW_SCORING_SERVER_REQUEST_TIMEOUT or 60)", parseSeconds("--timeout"))
    .option("--max-body <size>", "largest request body, e.g. 100mb (default 100mb)", parseSize)
    .option("--max-queue <n>", "predictions running or waiting before new ones get 503 (default 1024)", parseInteger("--max-queue", 1))
    .option(
      "--max-batch-rows <n>",
      "row-wise models: small requests that arrive together run as one pipeline run of at most this many rows (default 256; 1 turns batching off)",
      parseInteger("--max-batch-rows", 1),
    )
    .option("--model-name <name>", "the model's name in /v2/models/{name} (default: the registered name, else 'model')")
    .option("--log-level <level>", "fatal, error, warn, info, debug", "info")
    .option("--debug", "include stack traces in error responses", false)
    .addOption(trackingOption())
    .action(async (o: Record<string, unknown>) => {
      if (!["fatal", "error", "warn", "info", "debug", "trace", "silent"].includes(o["logLevel"] as string))
        throw new UsageError(`--log-level must be one of fatal, error, warn, info, debug; got "${String(o["logLevel"])}".`);
      await serveCommand({
        modelUri: o["modelUri"] as string,
        port: o["port"] as number,
        host: o["host"] as string,
        workers: o["workers"] as number,
        allowRunner: o["allowRunner"] as string[],
        debug: o["debug"] as boolean,
        logLevel: o["logLevel"] as string,
        ...(o["timeout"] !== undefined ? { timeoutMs: o["timeout"] as number } : {}),
        ...(o["maxBody"] !== undefined ? { maxBodyBytes: o["maxBody"] as number } : {}),
        ...(o["maxQueue"] !== undefined ? { maxQueue: o["maxQueue"] as number } : {}),
        ...(o["maxBatchRows"] !== undefined ? { maxBatchRows: o["maxBatchRows"] as number } : {}),
        ...(o["modelName"] !== undefined ? { modelName: o["modelName"] as string } : {}),
        ...(o["trackingUri"] !== undefined ? { trackingUri: o["trackingUri"] as string } : {}),
      });
    });

  program
    .command("predict")
    .description("Predict a file with a model (like `mlflow models predict`, streamed in chunks for row-wise models).")
    .requiredOption("-m, --model-uri <uri>", "the model")
    .option("-i, --input-path <path>", "input file, or - for stdin")
    .option("-o, --output-path <path>", "output file, or - for stdout")
    .option("-t, --content-type <format>", "input format: csv, json, jsonl, parquet, arrow (default: from the extension)")
    .option("--output-format <format>", "output format: csv, json, jsonl, parquet, arrow (default: from the extension)")
    .option("--params <json>", "runtime params as a JSON object")
    .option("--runner <name>", "SequentialRunner, ConcurrentRunner or WorkerRunner")
    .option("--chunk-rows <n>", "rows per chunk (default 10000)", parseInteger("--chunk-rows", 1))
    .addOption(
      new Option("--on-error <mode>", "fail: stop at the first bad row; skip: write bad rows to OUTPUT.errors.jsonl and go on")
        .choices(["fail", "skip"])
        .default("fail"),
    )
    .option("--shard <i/n>", "predict only the i-th of n equal parts of the input")
    .addOption(trackingOption())
    .action(async (o: Record<string, unknown>) => {
      if (!o["inputPath"]) throw new UsageError("Missing the input: -i FILE (or --input-path; - reads stdin).");
      if (!o["outputPath"]) throw new UsageError("Missing the output: -o FILE (or --output-path; - writes stdout).");
      await predictCommand({
        modelUri: o["modelUri"] as string,
        input: o["inputPath"] as string,
        output: o["outputPath"] as string,
        onError: o["onError"] as string,
        ...(o["contentType"] ? { inputFormat: o["contentType"] as string } : {}),
        ...(o["outputFormat"] ? { outputFormat: o["outputFormat"] as string } : {}),
        ...(o["params"] !== undefined ? { params: o["params"] as string } : {}),
        ...(o["runner"] ? { runner: o["runner"] as string } : {}),
        ...(o["chunkRows"] ? { chunkRows: o["chunkRows"] as number } : {}),
        ...(o["shard"] ? { shard: o["shard"] as string } : {}),
        ...(o["trackingUri"] ? { trackingUri: o["trackingUri"] as string } : {}),
      });
    });

  program
    .command("run")
    .description("Run a project's pipeline in a tracked run; a pipelineMl also packages (and maybe registers) its inference pipeline.")
    .requiredOption("--project <dir>", "the project folder (pipelines.ts, conf/catalog.yml, conf/parameters.yml)")
    .requiredOption("--pipeline <name>", "the pipeline to run (a key of the exported `pipelines`)")
    .option("--params <key=value>", "override a parameter (repeatable; dotted keys for nested ones)", collect, [])
    .option("--experiment <name>", "experiment to log into", "Default")
    .option("--run-name <name>", "name of the run")
    .option("--registered-model-name <name>", "register the packaged model under this name")
    .addOption(jsonOption())
    .addOption(trackingOption())
    .action(async (o: Record<string, unknown>) => {
      const result = await runProject({
        projectDir: o["project"] as string,
        pipelineName: o["pipeline"] as string,
        params: o["params"] as string[],
        experiment: o["experiment"] as string,
        command: process.argv.slice(2).join(" "),
        ...(o["runName"] ? { runName: o["runName"] as string } : {}),
        ...(o["registeredModelName"] ? { registeredModelName: o["registeredModelName"] as string } : {}),
        ...(o["trackingUri"] ? { trackingUri: o["trackingUri"] as string } : {}),
      });
      if (o["json"]) return print(JSON.stringify(result, null, 2));
      print(`Run ${result.runId} finished.`);
      if (result.modelUri) print(`Model: ${result.modelUri}`);
      if (result.registeredVersion) print(`Registered: models:/${result.registeredVersion.name}/${result.registeredVersion.version}`);
    });

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
    .option("--artifact-path <path>", "folder under the run's artifacts", "model")
    .option("--experiment <name>", "experiment for a new run", "Default")
    .addOption(jsonOption())
    .addOption(trackingOption())
    .action(async (o: Record<string, unknown>) => {
      const result = await modelify({
        projectDir: o["project"] as string,
        pipelineName: o["pipeline"] as string,
        inputName: o["inputName"] as string,
        copyMode: o["copyMode"] as "assign",
        inputType: o["inputType"] as InputType,
        rowWise: o["rowWise"] as boolean,
        artifactPath: o["artifactPath"] as string,
        experiment: o["experiment"] as string,
        ...(o["runId"] ? { runId: o["runId"] as string } : {}),
        ...(o["registeredModelName"] ? { registeredModelName: o["registeredModelName"] as string } : {}),
        ...(o["trackingUri"] ? { trackingUri: o["trackingUri"] as string } : {}),
      });
      if (o["json"]) return print(JSON.stringify(result, null, 2));
      print(`Model: ${result.modelUri}`);
      if (result.registeredVersion) print(`Registered: models:/${result.registeredVersion.name}/${result.registeredVersion.version}`);
    });

  program
    .command("inspect")
    .description("Show a model's signature, params, artifacts, pipeline graph and environment (without running its code).")
    .requiredOption("-m, --model-uri <uri>", "the model")
    .addOption(jsonOption())
    .addOption(trackingOption())
    .action((o: Record<string, unknown>) =>
      inspect(o["modelUri"] as string, { json: o["json"] as boolean, ...(o["trackingUri"] ? { trackingUri: o["trackingUri"] as string } : {}) }, print),
    );

  const runs = program.command("runs").description("List and show tracked runs.");
  runs
    .command("list")
    .description("List runs, newest first.")
    .option("--experiment <name-or-id>", "only this experiment")
    .addOption(jsonOption())
    .addOption(trackingOption())
    .action((o: Record<string, unknown>) =>
      runsList(
        {
          json: o["json"] as boolean,
          ...(o["experiment"] ? { experiment: o["experiment"] as string } : {}),
          ...(o["trackingUri"] ? { trackingUri: o["trackingUri"] as string } : {}),
        },
        print,
      ),
    );
  runs
    .command("show <run-id>")
    .description("Show a run's params, metrics and tags.")
    .addOption(jsonOption())
    .addOption(trackingOption())
    .action((runId: string, o: Record<string, unknown>) =>
      runsShow(runId, { json: o["json"] as boolean, ...(o["trackingUri"] ? { trackingUri: o["trackingUri"] as string } : {}) }, print),
    );

  const models = program.command("models").description("The model registry: names, versions, aliases.");
  models
    .command("list")
    .description("List registered models.")
    .addOption(jsonOption())
    .addOption(trackingOption())
    .action((o: Record<string, unknown>) =>
      modelsList({ json: o["json"] as boolean, ...(o["trackingUri"] ? { trackingUri: o["trackingUri"] as string } : {}) }, print),
    );
  models
    .command("versions <name>")
    .description("List a model's versions.")
    .addOption(jsonOption())
    .addOption(trackingOption())
    .action((name: string, o: Record<string, unknown>) =>
      modelsVersions(name, { json: o["json"] as boolean, ...(o["trackingUri"] ? { trackingUri: o["trackingUri"] as string } : {}) }, print),
    );
  models
    .command("alias <name> <alias> <version>")
    .description("Point an alias at a version (then serve models:/<name>@<alias>).")
    .addOption(jsonOption())
    .addOption(trackingOption())
    .action((name: string, alias: string, version: string, o: Record<string, unknown>) =>
      modelsAlias(name, alias, version, { json: o["json"] as boolean, ...(o["trackingUri"] ? { trackingUri: o["trackingUri"] as string } : {}) }, print),
    );

  program
    .command("export")
    .description("Pack a model into a .tar.gz to copy elsewhere.")
    .requiredOption("-m, --model-uri <uri>", "the model")
    .requiredOption("-o, --output <file>", "the archive to write (.tar.gz)")
    .addOption(trackingOption())
    .action((o: Record<string, unknown>) =>
      exportModel(o["modelUri"] as string, o["output"] as string, o["trackingUri"] ? { trackingUri: o["trackingUri"] as string } : {}, print),
    );

  program
    .command("import <file>")
    .description("Unpack a model archive (checked entry by entry) into a new run, and register it with --name.")
    .option("--name <name>", "register the model under this name")
    .option("--experiment <name>", "experiment for the new run", "Imported models")
    .addOption(jsonOption())
    .addOption(trackingOption())
    .action((file: string, o: Record<string, unknown>) =>
      importModel(
        file,
        {
          json: o["json"] as boolean,
          experiment: o["experiment"] as string,
          ...(o["name"] ? { name: o["name"] as string } : {}),
          ...(o["trackingUri"] ? { trackingUri: o["trackingUri"] as string } : {}),
        },
        print,
      ),
    );

  return program;
}

export async function main(argv: readonly string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv as string[]);
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2;
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`pipeserve: ${message}\n`);
    if (process.env["PIPESERVE_DEBUG"] && error instanceof Error && error.stack) process.stderr.write(`${error.stack}\n`);
    return error instanceof UsageError ? 2 : 1;
  }
}

const code = await main(process.argv);
if (code !== 0) process.exitCode = code;
