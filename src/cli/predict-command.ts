import type cliProgress from "cli-progress";
import { type Command, Option } from "commander";
import type { OutputFormat, PipelineModel, TableFormat } from "../index.js";
import type { ParamSpec, ignoredParams as ignoredParamsFn } from "../tabular/index.js";
import { InterruptedError, UsageError } from "./errors.js";
import { type CliIo, fromCwd, modelUriFromCwd, optionalRegistry, trackingUriOf } from "./io.js";
import { allowDeletedOption, parseInteger, registryOption, trackingOption } from "./parse-options.js";
import { MAX_CHUNK_ROWS, usableCores } from "../util/index.js";

export interface PredictCommandOptions {
  modelUri: string;
  input: string;
  output: string;
  inputFormat?: string;
  outputFormat?: string;
  params?: string;
  runner?: string;
  chunkRows?: number;
  onError: string;
  shard?: string;
  trackingUri?: string;
  registryUri?: string;
  /** Predict with the model of a deleted run (`--allow-deleted`). */
  allowDeleted?: boolean;
  rowNumberColumn?: string;
  /** Threads that predict (`--workers`), at most one per core; when not given, one per core for large CSV, JSON Lines and Parquet files, else 1 (the main thread). */
  workers?: number;
}

const FORMATS = ["csv", "json", "jsonl", "parquet", "arrow", "arrows"];

function format(flag: string, value: string | undefined): TableFormat | undefined {
  if (value === undefined) return undefined;
  const v = value.toLowerCase() === "ndjson" ? "jsonl" : value.toLowerCase();
  if (!FORMATS.includes(v)) throw new UsageError(`${flag} must be one of ${FORMATS.join(", ")}; got "${value}".`);
  return v as TableFormat;
}

/**
 * @throws UsageError (exit 2) when `path` (not stdin or stdout) has no format given and its
 * extension names none: the message lists the extensions and names `flag`.
 */
async function checkNamedFormat(path: string, given: string | undefined, flag: string): Promise<void> {
  if (given !== undefined || path === "-") return;
  const { FormatError, formatFromPath } = await import("../tabular/index.js");
  try {
    formatFromPath(path);
  } catch (error) {
    throw error instanceof FormatError ? new UsageError(`${error.message.replace(/\.$/, "")} with ${flag}.`) : error;
  }
}

/** Why a run stopped at `signal`, and what became of its output (`-`: stdout, which cannot be taken back). */
function interrupted(signal: NodeJS.Signals, output: string): InterruptedError {
  return new InterruptedError(signal, output === "-" ? "the predictions written to stdout so far are not all of them" : "the partial output was removed");
}

/** `pipeserve predict`: batch prediction over files, with a progress bar on a terminal and a summary otherwise. */
export async function predictCommand(options: PredictCommandOptions, io: CliIo): Promise<void> {
  // NB: imported here, not at the top: `pipeserve --help` and the other commands never load them.
  const [{ BatchError, checkPredictFiles, predictFile }, { loadModel }, { parseJsonText, ignoredParams }] = await Promise.all([
    import("../batch/index.js"),
    // NB: the package's main entry: it registers the `pipeserve` API that the model's code imports.
    import("../index.js"),
    import("../tabular/index.js"),
  ]);
  let params: Record<string, unknown> | undefined;
  if (options.params !== undefined) {
    try {
      // NB: as Python's json reads it (NaN, Infinity), like params in a request.
      params = parseJsonText(options.params) as Record<string, unknown>;
    } catch {
      throw new UsageError(`--params must be a JSON object, e.g. '{"threshold": 0.5}'; got ${options.params}.`);
    }
    if (params === null || typeof params !== "object" || Array.isArray(params)) throw new UsageError("--params must be a JSON object of param name → value.");
  }
  const shard = options.shard === undefined ? undefined : parseShard(options.shard, io.env);
  if (!["fail", "skip"].includes(options.onError)) throw new UsageError(`--on-error must be fail or skip; got "${options.onError}".`);
  const inputFormat = format("--content-type/-t", options.inputFormat);
  const outputFormat = format("--output-format", options.outputFormat) as OutputFormat | undefined;
  // NB: a file name that names no format is a usage error (exit 2), said before the model loads.
  await checkNamedFormat(options.input, inputFormat, "-t/--content-type");
  await checkNamedFormat(options.output, outputFormat, "--output-format");
  const input = fromCwd(io, options.input);
  // NB: `{shard}` in the output's name becomes the shard's number, so each pod of an Indexed Job writes its own part.
  const named = shard && options.output !== "-" ? options.output.replaceAll("{shard}", String(shard.index)) : options.output;
  const output = fromCwd(io, named);
  // NB: a missing input or output folder is said before the model loads, which may take a while.
  await checkPredictFiles({ input, output });
  const model = await loadModel(modelUriFromCwd(io, options.modelUri), {
    trackingUri: trackingUriOf(io, options.trackingUri),
    ...optionalRegistry(io, { registryUri: options.registryUri }),
    ...(options.allowDeleted ? { allowDeleted: true } : {}),
    onWarning: (message) => io.stderr.write(`pipeserve: warning: ${message}\n`),
  });
  await checkFlagsAgainst(model, params, options.runner);
  // NB: as the server names them (X-Pipeserve-Ignored-Params): a typo would otherwise predict with the default, unsaid.
  if (params !== undefined) warnIgnoredParams(params, model.signature?.params ?? null, io, ignoredParams);
  const interactive = io.stderr.isTTY === true;
  // NB: the progress bar's library loads only where there is a terminal to draw it on.
  const progress = interactive ? (await import("cli-progress")).default : undefined;
  // NB: made at the first progress, once it is known whether the total is (Parquet, shards): without one, a percentage and an ETA would be made up.
  let bar = undefined as cliProgress.SingleBar | undefined;
  const startedAt = Date.now();
  const abort = new AbortController();
  const onSignal = (signal: NodeJS.Signals): void => abort.abort(interrupted(signal, output));
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    const result = await predictFile(model, {
      input,
      output,
      ...(inputFormat ? { inputFormat } : {}),
      ...(outputFormat ? { outputFormat } : {}),
      ...(params !== undefined ? { params } : {}),
      ...(options.runner ? { runner: options.runner } : {}),
      ...(options.chunkRows ? { chunkRows: options.chunkRows } : {}),
      onError: options.onError as "fail" | "skip",
      ...(shard ? { shard } : {}),
      ...(options.rowNumberColumn !== undefined ? { rowNumberColumn: options.rowNumberColumn } : {}),
      workers: options.workers ?? "auto",
      signal: abort.signal,
      ...(options.input === "-" ? { stdin: io.stdin } : {}),
      onNotice: (message) => io.stderr.write(`pipeserve: ${message}\n`),
      onProgress: (done, total) => {
        if (!progress) return;
        const speed = Math.round(done / Math.max(0.001, (Date.now() - startedAt) / 1000));
        if (!bar) {
          const format =
            total === undefined ? "{value} rows | {speed} rows/s" : "{bar} {percentage}% | {value}/{total} rows | {speed} rows/s | ETA {eta_formatted}";
          bar = new progress.SingleBar({ format, hideCursor: true, stream: io.stderr, etaBuffer: 20 }, progress.Presets.shades_classic);
          bar.start(total ?? done, done, { speed });
        } else {
          if (total === undefined) bar.setTotal(done);
          bar.update(done, { speed });
        }
      },
    }).catch((error: unknown) => {
      // NB: predictFile checks some options itself (--shard's range, stdin/stdout formats); a bad one is a usage error, exit code 2.
      throw error instanceof BatchError && error.code === "USAGE" ? new UsageError(error.message) : error;
    });
    bar?.stop();
    const rate = Math.round(result.rowsRead / Math.max(result.seconds, 1e-6));
    const threads = result.threads > 1 ? `, ${result.threads} threads` : "";
    const skipped = result.rowsSkipped > 0 ? `, ${result.rowsSkipped} bad rows set aside in ${result.errorsFile ?? "(stderr)"}` : "";
    io.stderr.write(
      `pipeserve: read ${result.rowsRead} rows, wrote ${result.rowsWritten} predictions in ${result.seconds.toFixed(2)} s (${rate} rows/s${threads})${skipped}; wrote ${named === "-" ? "stdout" : named}.\n`,
    );
  } finally {
    bar?.stop();
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    await model.close();
  }
}

/**
 * Checks `--params` and `--runner` against the loaded model (closed on a refusal). NB: a flag the
 * model cannot take is a usage error (exit 2), said before any row is read: the run refused it
 * only at its first chunk, as a failure (exit 1; found by an audit).
 * @throws UsageError naming the flag.
 */
async function checkFlagsAgainst(model: PipelineModel, params: Record<string, unknown> | undefined, runner: string | undefined): Promise<void> {
  const [{ RunnerNotAllowedError }, { SchemaError, enforceParams }] = await Promise.all([import("../index.js"), import("../tabular/index.js")]);
  try {
    if (params !== undefined) enforceParams(params, model.signature?.params ?? null);
    if (runner !== undefined) model.runner(runner);
  } catch (error) {
    await model.close();
    if (error instanceof RunnerNotAllowedError) throw new UsageError(`--runner: ${error.message}`);
    if (error instanceof SchemaError) throw new UsageError(`--params: ${error.message}`);
    throw error;
  }
}

/** Says which `--params` the model does not declare (`runner` aside): they are ignored, as MLflow ignores them. */
function warnIgnoredParams(params: Record<string, unknown>, declared: readonly ParamSpec[] | null, io: CliIo, ignoredParams: typeof ignoredParamsFn): void {
  const ignored = ignoredParams(params, declared);
  if (ignored.length === 0) return;
  const names = (declared ?? []).map((p) => p.name);
  const takes = names.length > 0 ? `it takes ${names.join(", ")}` : "it takes none";
  io.stderr.write(`pipeserve: warning: the model declares no param ${ignored.join(", ")}, so --params' value for it is ignored (${takes}).
`);
}

/**
 * `--shard I/N` (1 ≤ I ≤ N, checked by predictFile), or `auto/N`: the shard of a Kubernetes
 * Indexed Job's pod, whose index (from 0) is JOB_COMPLETION_INDEX: shard index + 1 of N.
 * @throws UsageError for another form, or auto without a whole JOB_COMPLETION_INDEX.
 */
export function parseShard(value: string, env: Readonly<Record<string, string | undefined>>): { index: number; count: number } {
  const auto = /^auto\/(\d+)$/.exec(value);
  if (auto) {
    const index = env["JOB_COMPLETION_INDEX"];
    if (index === undefined || !/^\d+$/.test(index.trim())) {
      throw new UsageError(
        `--shard auto/N reads the pod's index in an Indexed Job from JOB_COMPLETION_INDEX (0 to N-1), which is ${index === undefined ? "not set" : `"${index}"`}. Run it in an Indexed Job, or give the shard as I/N.`,
      );
    }
    const count = Number(auto[1]);
    if (Number(index) >= count) {
      throw new UsageError(
        `--shard auto/${count} takes JOB_COMPLETION_INDEX from 0 to ${count - 1}, but it is ${Number(index)}: give the Job as many completions as shards (completions: ${count}), or N = its completions.`,
      );
    }
    return { index: Number(index) + 1, count };
  }
  const m = /^(\d+)\/(\d+)$/.exec(value);
  if (!m) throw new UsageError(`--shard takes I/N, e.g. 2/4, or auto/N in a Kubernetes Indexed Job; got "${value}".`);
  return { index: Number(m[1]), count: Number(m[2]) };
}

/** `--workers N`: a whole number of at least 1. @throws UsageError (exit 2) naming the value and the accepted form. */
function parseWorkers(value: string): number {
  const n = Number(value.trim());
  if (!/^\d+$/.test(value.trim()) || n < 1) {
    throw new UsageError(`--workers must be a whole number of at least 1 (threads that predict; 1 predicts on the main thread), got "${value}".`);
  }
  return n;
}

const MERGE_HELP =
  "join the output parts of n shards instead of predicting: -i names them with {shard} (e.g. 'out/part-{shard}.parquet'), read part 1 to n; -o is the whole output";

/** The flags that mean nothing to `predict --merge` (it reads parts and writes one output). */
const NOT_FOR_MERGE: readonly [string, string][] = [
  ["modelUri", "-m"],
  ["params", "--params"],
  ["runner", "--runner"],
  ["shard", "--shard"],
  ["rowNumber", "--row-number"],
  ["workers", "--workers"],
  ["chunkRows", "--chunk-rows"],
];

/** `pipeserve predict --merge N -i 'out/part-{shard}.csv' -o out.csv`: joins the parts of N shards, in order. */
async function mergeCommand(o: Record<string, unknown>, io: CliIo): Promise<void> {
  const given = NOT_FOR_MERGE.filter(([key]) => o[key] !== undefined).map(([, flag]) => flag);
  if (given.length > 0) throw new UsageError(`--merge joins the parts shards wrote, with no model: drop ${given.join(", ")}.`);
  if (o["inputPath"] === "-") throw new UsageError("--merge reads the parts from files: -i names them with {shard}, e.g. 'out/part-{shard}.csv'.");
  const { BatchError, mergeParts } = await import("../batch/index.js");
  const inputFormat = format("--content-type/-t", o["contentType"] as string | undefined);
  const outputFormat = format("--output-format", o["outputFormat"] as string | undefined) as OutputFormat | undefined;
  const outputPath = (o["outputPath"] as string | undefined) ?? "-";
  await checkNamedFormat(o["inputPath"] as string, inputFormat, "-t/--content-type");
  await checkNamedFormat(outputPath, outputFormat, "--output-format");
  const abort = new AbortController();
  const onSignal = (signal: NodeJS.Signals): void => abort.abort(interrupted(signal, outputPath));
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    const result = await mergeParts({
      pattern: fromCwd(io, o["inputPath"] as string),
      count: o["merge"] as number,
      output: fromCwd(io, outputPath),
      ...(inputFormat ? { inputFormat } : {}),
      ...(outputFormat ? { outputFormat } : {}),
      signal: abort.signal,
    }).catch((error: unknown) => {
      throw error instanceof BatchError && error.code === "USAGE" ? new UsageError(error.message) : error;
    });
    io.stderr.write(
      `pipeserve: merged ${result.parts.length} parts, ${result.rowsWritten} rows in ${result.seconds.toFixed(2)} s; wrote ${outputPath === "-" ? "stdout" : outputPath}.
`,
    );
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}

/** Registers `pipeserve predict`. */
export function registerPredictCommand(program: Command, io: CliIo): void {
  program
    .command("predict")
    .description("Predict a file with a model (like `mlflow models predict`, streamed in chunks for row-wise models).")
    .option("-m, --model-uri <uri>", "the model (required, except with --merge)")
    .option("-i, --input-path <path>", "input file, or - for stdin (required)")
    .option("-o, --output-path <path>", "output file, or - for stdout (default: stdout)")
    .option(
      "-t, --content-type <format>",
      "input format: csv, json, jsonl, parquet, arrow (an Arrow IPC file, .arrow/.feather), arrows (an Arrow IPC stream, .arrows) (default: from the extension; json for stdin)",
    )
    .option(
      "--output-format <format>",
      "output format: csv, json, jsonl, parquet, arrow (an Arrow IPC file), arrows (an Arrow IPC stream) (default: from the extension; json for stdout)",
    )
    .option("--params <json>", "runtime params as a JSON object (over params a JSON input carries)")
    .option("--runner <name>", "SequentialRunner, ConcurrentRunner or WorkerRunner")
    .option(
      "--chunk-rows <n>",
      "rows per chunk (default 4096 for CSV and JSON Lines, 10000 for Arrow and Parquet)",
      parseInteger("--chunk-rows", 1, MAX_CHUNK_ROWS),
    )
    .addOption(
      new Option(
        "--on-error <mode>",
        "fail: stop at the first bad row; skip: set bad rows aside in OUTPUT.errors.jsonl (on stderr with -o - or a pipe) and go on",
      )
        .choices(["fail", "skip"])
        .default("fail"),
    )
    .option(
      "--shard <i/n>",
      "predict only the i-th of n equal parts of the input; auto/n takes i from JOB_COMPLETION_INDEX (+1) in a Kubernetes Indexed Job; {shard} in -o becomes i. A Parquet shard reads only its row groups; a CSV or JSON Lines shard reads the file to count its rows, then up to its part's end",
    )
    .option(
      "--row-number <column>",
      "add a column of this name with each prediction's input row number (from 1, as OUTPUT.errors.jsonl numbers rows): outputs join back to inputs",
    )
    .option(
      "--workers <n>",
      `threads that predict chunks while the main thread reads and writes (row-wise models, inputs other than JSON); the output is the same for any n; 1 predicts on the main thread; at most one per core (default: one per core, ${usableCores()} here, for CSV files of 32 MiB, JSON Lines of 64 MiB and Parquet of 8 MiB or more, where threads pay for their ~0.2 s start, and not shards of CSV or JSON Lines files; else 1)`,
      parseWorkers,
    )
    .option("--merge <n>", MERGE_HELP, parseInteger("--merge", 1))
    .addOption(trackingOption())
    .addOption(registryOption())
    .addOption(allowDeletedOption())
    .action(async (o: Record<string, unknown>) => {
      if (!o["inputPath"]) throw new UsageError("Missing the input: -i FILE (or --input-path; - reads stdin).");
      if (o["merge"] !== undefined) {
        await mergeCommand(o, io);
        return;
      }
      if (!o["modelUri"])
        throw new UsageError("required option '-m, --model-uri <uri>' not specified (the model; or --merge N to join the parts of N shards).");
      await predictCommand(
        {
          modelUri: o["modelUri"] as string,
          input: o["inputPath"] as string,
          // NB: no -o writes stdout, as `mlflow models predict` does.
          output: (o["outputPath"] as string | undefined) ?? "-",
          onError: o["onError"] as string,
          ...(o["contentType"] ? { inputFormat: o["contentType"] as string } : {}),
          ...(o["outputFormat"] ? { outputFormat: o["outputFormat"] as string } : {}),
          ...(o["params"] !== undefined ? { params: o["params"] as string } : {}),
          ...(o["runner"] ? { runner: o["runner"] as string } : {}),
          ...(o["chunkRows"] ? { chunkRows: o["chunkRows"] as number } : {}),
          ...(o["shard"] ? { shard: o["shard"] as string } : {}),
          ...(o["rowNumber"] !== undefined ? { rowNumberColumn: o["rowNumber"] as string } : {}),
          ...(o["workers"] !== undefined ? { workers: o["workers"] as number } : {}),
          ...(o["trackingUri"] ? { trackingUri: o["trackingUri"] as string } : {}),
          ...(o["registryUri"] ? { registryUri: o["registryUri"] as string } : {}),
          ...(o["allowDeleted"] ? { allowDeleted: true } : {}),
        },
        io,
      );
    });
}
