import cliProgress from "cli-progress";
import { BatchError, loadModel, parseTableFormat, predictFile, type OutputFormat, type TableFormat } from "../index.js";
import { UsageError } from "./errors.js";

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
}

const FORMATS = ["csv", "json", "jsonl", "parquet", "arrow"];

function format(flag: string, value: string | undefined): TableFormat | undefined {
  if (value === undefined) return undefined;
  const v = value.toLowerCase() === "ndjson" ? "jsonl" : value.toLowerCase();
  if (!FORMATS.includes(v)) throw new UsageError(`${flag} must be one of ${FORMATS.join(", ")}; got "${value}".`);
  return parseTableFormat(v);
}

/** `pipeserve predict`: batch prediction over files, with a progress bar on a terminal and a summary otherwise. */
export async function predictCommand(options: PredictCommandOptions): Promise<void> {
  let params: Record<string, unknown> | undefined;
  if (options.params !== undefined) {
    try {
      params = JSON.parse(options.params) as Record<string, unknown>;
    } catch {
      throw new UsageError(`--params must be a JSON object, e.g. '{"threshold": 0.5}'; got ${options.params}.`);
    }
    if (params === null || typeof params !== "object" || Array.isArray(params)) throw new UsageError("--params must be a JSON object of param name → value.");
  }
  let shard: { index: number; count: number } | undefined;
  if (options.shard !== undefined) {
    const m = /^(\d+)\/(\d+)$/.exec(options.shard);
    if (!m) throw new UsageError(`--shard takes I/N, e.g. 2/4; got "${options.shard}".`);
    shard = { index: Number(m[1]), count: Number(m[2]) };
  }
  if (!["fail", "skip"].includes(options.onError)) throw new UsageError(`--on-error must be fail or skip; got "${options.onError}".`);
  const inputFormat = format("--content-type/-t", options.inputFormat);
  const outputFormat = format("--output-format", options.outputFormat) as OutputFormat | undefined;
  const model = await loadModel(options.modelUri, {
    ...(options.trackingUri !== undefined ? { trackingUri: options.trackingUri } : {}),
    onWarning: (message) => process.stderr.write(`pipeserve: warning: ${message}\n`),
  });
  const interactive = process.stderr.isTTY === true;
  // NB: made at the first progress, once it is known whether the total is (Parquet, shards): without one, a percentage and an ETA would be made up.
  let bar = undefined as cliProgress.SingleBar | undefined;
  const startedAt = Date.now();
  const abort = new AbortController();
  const onSignal = (signal: NodeJS.Signals): void => abort.abort(new Error(`Interrupted by ${signal}; the partial output was removed.`));
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    const result = await predictFile(model, {
      input: options.input,
      output: options.output,
      ...(inputFormat ? { inputFormat } : {}),
      ...(outputFormat ? { outputFormat } : {}),
      ...(params !== undefined ? { params } : {}),
      ...(options.runner ? { runner: options.runner } : {}),
      ...(options.chunkRows ? { chunkRows: options.chunkRows } : {}),
      onError: options.onError as "fail" | "skip",
      ...(shard ? { shard } : {}),
      signal: abort.signal,
      onNotice: (message) => process.stderr.write(`pipeserve: ${message}\n`),
      onProgress: (done, total) => {
        if (!interactive) return;
        const speed = Math.round(done / Math.max(0.001, (Date.now() - startedAt) / 1000));
        if (!bar) {
          const format =
            total === undefined ? "{value} rows | {speed} rows/s" : "{bar} {percentage}% | {value}/{total} rows | {speed} rows/s | ETA {eta_formatted}";
          bar = new cliProgress.SingleBar({ format, hideCursor: true, stream: process.stderr, etaBuffer: 20 }, cliProgress.Presets.shades_classic);
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
    const skipped = result.rowsSkipped > 0 ? `, ${result.rowsSkipped} bad rows set aside in ${result.errorsFile ?? "(stderr)"}` : "";
    process.stderr.write(
      `pipeserve: read ${result.rowsRead} rows, wrote ${result.rowsWritten} predictions in ${result.seconds.toFixed(2)} s (${rate} rows/s)${skipped}; wrote ${options.output === "-" ? "stdout" : options.output}.\n`,
    );
  } finally {
    bar?.stop();
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    await model.close();
  }
}
