import { openAsBlob } from "node:fs";
import { appendFile, readFile, rm } from "node:fs/promises";
import type { Readable } from "node:stream";
import type { PipelineModel } from "../loader/index.js";
import {
  FormatError,
  SchemaError,
  outputToTable,
  concatTables,
  enforceSchema,
  formatFromPath,
  loadParquetWasm,
  parseJsonRequest,
  readTableChunks,
  sliceTable,
  tableFromRecords,
  tableToRecords,
  toJsonValue,
  type ColumnSpec,
  type ColumnTable,
  type TableFormat,
} from "../tabular/index.js";
import { BatchError } from "./errors.js";
import { createPredictionsWriter, type OutputFormat } from "./predictions-writer.js";

export interface Shard {
  /** 1-based. */
  index: number;
  count: number;
}

export interface PredictFileOptions {
  /** A path, or `-` for stdin (then `inputFormat` is required). */
  input: string;
  /** A path, or `-` for stdout. */
  output: string;
  inputFormat?: TableFormat;
  outputFormat?: OutputFormat;
  params?: Record<string, unknown> | null;
  runner?: string;
  /** Rows per chunk for row-wise models; 10,000 by default. */
  chunkRows?: number;
  /** `fail` (default) stops at the first bad row; `skip` writes bad rows to `<output>.errors.jsonl` (stderr when the output is stdout) and goes on. */
  onError?: "fail" | "skip";
  shard?: Shard;
  /** Called after each chunk with the rows done so far and the total when known. */
  onProgress?: (done: number, total: number | undefined) => void;
  /** Told when the model is not row-wise and the input is read whole. */
  onNotice?: (message: string) => void;
  /** Aborts the run (e.g. on SIGINT); the partial output is removed. */
  signal?: AbortSignal;
  stdin?: Readable;
}

export interface PredictFileResult {
  rowsRead: number;
  rowsWritten: number;
  rowsSkipped: number;
  errorsFile?: string;
  chunked: boolean;
  seconds: number;
}

const DEFAULT_CHUNK_ROWS = 10_000;

function isBadInput(error: unknown): error is FormatError | SchemaError {
  return error instanceof FormatError || error instanceof SchemaError;
}

/**
 * The bad rows of a chunk (by position in it) and the error for each, worded and numbered (from 1)
 * as checking that row alone words it. A refused value's error names its row (`data.row`), so the
 * chunk is checked in halves, not row by row: a range that passes is good as a whole; one that
 * fails gives up the row its error names, and the rest of the range is checked again, split in
 * the middle so that many bad rows cost O(n log n), not O(n²).
 *
 * NB: enforcement goes column by column in signature order and row by row within a column, and
 * a value's check does not depend on the other rows; so the first refusal in a range is the first
 * refusal of its row, the one checking the row alone gives. A refusal without a row (a missing
 * column) is the same for every row: each row of the range gets it, as each would alone.
 */
function findBadRows(table: ColumnTable, inputs: readonly ColumnSpec[], fromText: boolean, firstRow: number): Map<number, Error> {
  const bad = new Map<number, Error>();
  const check = (start: number, end: number): void => {
    if (start >= end) return;
    try {
      enforceSchema(sliceTable(table, start, end), inputs, { fromText, rowOffset: firstRow + start + 1 });
      return;
    } catch (error) {
      if (!isBadInput(error)) throw error;
      if (error.data === undefined) {
        for (let r = start; r < end; r++) bad.set(r, error);
        return;
      }
      const at = error.data.row - firstRow - 1;
      if (!(at >= start && at < end)) throw error;
      bad.set(at, error);
      const middle = (start + end) >>> 1;
      if (at < middle) {
        check(start, at);
        check(at + 1, middle);
        check(middle, end);
      } else {
        check(start, middle);
        check(middle, at);
        check(at + 1, end);
      }
    }
  };
  check(0, table.numRows);
  return bad;
}

/** Counts the rows of an input, for shards and progress (Parquet from its footer; others by reading). */
async function countRows(input: string, format: TableFormat, chunkRows: number): Promise<number> {
  if (format === "parquet") {
    const file = await loadParquetWasm().ParquetFile.fromFile(await openAsBlob(input));
    try {
      return Number(file.metadata().fileMetadata().numRows());
    } finally {
      file.free();
    }
  }
  // NB: JSON cannot be read in chunks; it is read whole anyway, so read it twice rather than fail a shard of it.
  if (format === "json") return (await readJsonInput(input)).table.numRows;
  let n = 0;
  for await (const chunk of readTableChunks(input, { format, chunkRows: Math.max(chunkRows, 65_536), raw: true })) n += chunk.numRows;
  return n;
}

/** Reads `format: json` input: an MLflow request body (`dataframe_split`, …) or an array of row objects. */
async function readJsonInput(source: string | Readable): Promise<{ table: ColumnTable; params: Record<string, unknown> | null }> {
  let text: string;
  if (typeof source === "string") text = await readFile(source, "utf8");
  else {
    const parts: Buffer[] = [];
    for await (const part of source) parts.push(Buffer.from(part as Buffer));
    text = Buffer.concat(parts).toString("utf8");
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    throw new FormatError(`The JSON input is not valid JSON: ${(cause as Error).message}`, { cause });
  }
  if (Array.isArray(value)) return { table: tableFromRecords(value), params: null };
  const request = parseJsonRequest(value);
  return { table: request.table, params: request.params };
}

/**
 * Predicts a file with a loaded model, like `mlflow models predict` but streaming: a row-wise
 * model reads, predicts and writes chunk by chunk in bounded memory; another reads the input
 * whole. The output appears under its name only when complete.
 * @throws BatchError naming the row (1-based) and the problem for the first bad row (unless `onError: "skip"`).
 */
// biome-ignore lint/complexity/noExcessiveLinesPerFunction: TODO(issue 16) split this function
export async function predictFile(model: PipelineModel, options: PredictFileOptions): Promise<PredictFileResult> {
  const started = process.hrtime.bigint();
  const chunkRows = options.chunkRows ?? DEFAULT_CHUNK_ROWS;
  if (!Number.isInteger(chunkRows) || chunkRows < 1)
    throw new BatchError(`--chunk-rows must be a whole number of at least 1, got ${chunkRows}.`, { code: "USAGE" });
  if (options.input === "-" && !options.inputFormat)
    throw new BatchError("Reading stdin needs its format: pass -t csv|json|jsonl|parquet|arrow.", { code: "USAGE" });
  const inputFormat = options.inputFormat ?? formatFromPath(options.input);
  if (options.input === "-" && inputFormat === "parquet")
    throw new BatchError("Parquet cannot be read from stdin (its footer is at the end); pass a file.", { code: "USAGE" });
  if (options.output === "-" && !options.outputFormat)
    throw new BatchError("Writing stdout needs a format: pass --output-format csv|json|jsonl|parquet|arrow.", { code: "USAGE" });
  const outputFormat: OutputFormat = options.outputFormat ?? (formatFromPath(options.output) as OutputFormat);
  const onError = options.onError ?? "fail";
  const shard = options.shard;
  if (shard && (!Number.isInteger(shard.index) || !Number.isInteger(shard.count) || shard.count < 1 || shard.index < 1 || shard.index > shard.count)) {
    throw new BatchError(`--shard must be I/N with 1 ≤ I ≤ N, got ${shard.index}/${shard.count}.`, { code: "USAGE" });
  }
  if (shard && options.input === "-") throw new BatchError("--shard needs a file input, not stdin.", { code: "USAGE" });
  const source: string | Readable = options.input === "-" ? (options.stdin ?? process.stdin) : options.input;
  const chunked = model.rowWise && inputFormat !== "json";
  const fromText = inputFormat === "csv";

  let total: number | undefined;
  let range: [number, number] | undefined;
  if (shard || (options.onProgress && typeof source === "string" && inputFormat === "parquet")) {
    total = await countRows(source as string, inputFormat, chunkRows);
    if (shard) {
      range = [Math.floor(((shard.index - 1) * total) / shard.count), Math.floor((shard.index * total) / shard.count)];
      total = range[1] - range[0];
    }
  }

  const writer = createPredictionsWriter(options.output, outputFormat);
  const errorsFile = onError === "skip" && options.output !== "-" ? `${options.output}.errors.jsonl` : undefined;
  if (errorsFile) await rm(errorsFile, { force: true });
  let rowsRead = 0;
  let rowsSkipped = 0;
  let position = 0;
  const params = options.params;

  /** Sorts a chunk that failed validation into good rows and bad rows (each with its error, rows counted from 1). */
  const splitBadRows = (table: ColumnTable, firstRow: number): { good: ColumnTable; bad: { row: number; error: Error }[] } => {
    const errors = model.signature?.inputs ? findBadRows(table, model.signature.inputs, fromText, firstRow) : new Map<number, Error>();
    const keep: number[] = [];
    for (let r = 0; r < table.numRows; r++) if (!errors.has(r)) keep.push(r);
    const bad = [...errors].sort(([a], [b]) => a - b).map(([r, error]) => ({ row: firstRow + r, error }));
    const good: ColumnTable = { names: table.names, columns: table.columns.map((c) => keep.map((r) => c[r])), numRows: keep.length };
    return { good, bad };
  };

  /** Writes a prediction; an output that is no table is the model's fault, never a bad input row. */
  const writeOutput = async (output: unknown): Promise<void> => {
    let table: ColumnTable;
    try {
      table = outputToTable(output);
    } catch (cause) {
      throw new BatchError(`The model's output cannot be written as a table: ${(cause as Error).message}`, { code: "BAD_OUTPUT", cause });
    }
    await writer.write(table);
  };

  const predictChunk = async (table: ColumnTable, firstRow: number, chunkParams: Record<string, unknown> | null | undefined): Promise<void> => {
    const predictOptions = { ...(chunkParams !== undefined ? { params: chunkParams } : {}), ...(options.runner ? { runner: options.runner } : {}), fromText };
    const input = table;
    let output: unknown;
    try {
      output = await model.predict(input, predictOptions);
    } catch (error) {
      if (!isBadInput(error)) throw error;
      if (onError === "fail") {
        let detail: Error | undefined;
        try {
          if (model.signature?.inputs) enforceSchema(input, model.signature.inputs, { fromText, rowOffset: firstRow + 1 });
        } catch (located) {
          detail = located as Error;
        }
        // NB: when the rows pass the input schema the fault lies elsewhere (e.g. bad params): no row to name, so no "bad input row".
        if (!detail) throw error;
        throw new BatchError(
          `Stopped at a bad input row (rows counted from 1, header excluded): ${detail.message} Use --on-error skip to set such rows aside and go on.`,
          { code: "BAD_ROW", cause: detail },
        );
      }
      const { good, bad } = splitBadRows(input, firstRow);
      if (bad.length === 0) throw error;
      rowsSkipped += bad.length;
      const lines = bad.map(({ row, error }) => {
        const record = tableToRecords(sliceTable(input, row - firstRow, row - firstRow + 1))[0];
        return JSON.stringify({ row: row + 1, error: error.message, data: toJsonValue(record) });
      });
      // NB: with the output on stdout there is no OUTPUT.errors.jsonl; the bad rows go to stderr, as the CLI's summary says.
      if (errorsFile) await appendFile(errorsFile, lines.join("\n") + "\n");
      else process.stderr.write(lines.join("\n") + "\n");
      if (good.numRows === 0) return;
      output = await model.predict(good, predictOptions);
    }
    await writeOutput(output);
  };

  try {
    if (inputFormat === "json") {
      const { table, params: bodyParams } = await readJsonInput(source);
      options.onNotice?.("JSON input is read whole; use JSON Lines (.jsonl) or CSV to stream large inputs.");
      const part = range ? sliceTable(table, range[0], range[1]) : table;
      rowsRead = part.numRows;
      await predictChunk(part, range?.[0] ?? 0, params !== undefined ? params : bodyParams);
      options.onProgress?.(rowsRead, rowsRead);
    } else {
      if (!chunked) options.onNotice?.("The model is not row-wise (row_wise: false), so the whole input is read into memory and predicted at once.");
      const whole: ColumnTable[] = [];
      // NB: a shard can get no rows (N above the row count); it still predicts the input's columns with no rows, so its output has a schema.
      let noRows: ColumnTable | undefined;
      let predicted = false;
      // NB: a named signature says which columns the model reads; the others are never converted.
      const wanted = model.signature?.inputs?.every((c) => c.name !== undefined) ? model.signature.inputs.map((c) => c.name as string) : undefined;
      for await (const raw of readTableChunks(source, { format: inputFormat, chunkRows, raw: fromText, ...(wanted ? { columns: wanted } : {}) })) {
        options.signal?.throwIfAborted();
        noRows ??= sliceTable(raw, 0, 0);
        let chunk = raw;
        const start = position;
        position += raw.numRows;
        if (range) {
          if (position <= range[0]) continue;
          if (start >= range[1]) break;
          chunk = sliceTable(raw, Math.max(0, range[0] - start), Math.min(raw.numRows, range[1] - start));
        }
        const firstRow = Math.max(start, range?.[0] ?? 0);
        rowsRead += chunk.numRows;
        if (chunked) {
          await predictChunk(chunk, firstRow, params);
          predicted = true;
          options.onProgress?.(rowsRead, total);
        } else {
          whole.push(chunk);
        }
      }
      if (!chunked) {
        await predictChunk(whole.length === 0 && noRows ? noRows : concatTables(whole), range?.[0] ?? 0, params);
        options.onProgress?.(rowsRead, total);
      } else if (!predicted && noRows) {
        await predictChunk(noRows, range?.[0] ?? 0, params);
      }
    }
    options.signal?.throwIfAborted();
    await writer.close();
  } catch (error) {
    await writer.abort();
    throw error;
  }
  return {
    rowsRead,
    rowsWritten: writer.rowsWritten,
    rowsSkipped,
    ...(errorsFile && rowsSkipped > 0 ? { errorsFile } : {}),
    chunked,
    seconds: Number(process.hrtime.bigint() - started) / 1e9,
  };
}
