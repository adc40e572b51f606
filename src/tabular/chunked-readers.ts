import { createReadStream } from "node:fs";
import { type FileHandle, type FileReadResult, open } from "node:fs/promises";
import { createInterface } from "node:readline";
import { Readable } from "node:stream";
import type { DataType, RecordBatchReader, Schema } from "apache-arrow";
import { arrowLib } from "./arrow-lib.js";
import type { DataFrame } from "./dataframe-types.js";
import { arrowErrorMessage, arrowReaderTables, fromArrow } from "./arrow.js";
import { concatTables, keepColumns, sliceTable, tableFromRecords, type ColumnTable } from "./column-table.js";
import { tableFromCsvRecords } from "./csv.js";
import { csvRecordBatches } from "./csv-stream.js";
import { toDataFrame } from "./dataframe.js";
import { FormatError } from "./errors.js";
import { checkedUtf8 } from "./utf8-check.js";
import { MAX_CHUNK_ROWS } from "../util/index.js";
import { checkInputFile, inputFileError } from "./file-access.js";
import { holdsNaN, nanAsMissing } from "./json-parse.js";
import { formatFromPath, type TableFormat } from "./files.js";
import { lineError } from "./json-lines.js";
import { parseJsonWithin } from "./json-text.js";
import { parquetFileTables } from "./parquet.js";

export interface ChunkReadOptions {
  /** Rows per chunk at most; 65,536 by default. */
  chunkRows?: number;
  /** The file's format; from its extension by default. */
  format?: TableFormat;
  /** CSV only: keep cells as strings. */
  raw?: boolean;
  /** Only these columns (others are skipped; names the file lacks are ignored). */
  columns?: readonly string[];
}

const DEFAULT_CHUNK_ROWS = 65_536;

function checkChunkRows(n: number): number {
  if (!Number.isInteger(n) || n < 1 || n > MAX_CHUNK_ROWS)
    throw new FormatError(`chunkRows must be a whole number from 1 to ${MAX_CHUNK_ROWS}, got ${String(n)}.`);
  return n;
}

/**
 * Reads a table file incrementally as chunks of at most `chunkRows` rows (the last may be
 * smaller), never holding the whole file in memory. Read chunk by chunk, a file gives the same
 * rows and values as read whole. `source` is a path, or a readable stream for the streaming
 * formats (CSV, JSON Lines, Arrow IPC stream).
 */
export async function* readTableChunks(source: string | Readable, options: ChunkReadOptions = {}): AsyncGenerator<ColumnTable> {
  const chunkRows = checkChunkRows(options.chunkRows ?? DEFAULT_CHUNK_ROWS);
  const format = options.format ?? (typeof source === "string" ? formatFromPath(source) : undefined);
  if (!format) throw new FormatError("Reading a stream needs its format: pass { format }.");
  if (format === "json") throw new FormatError("A JSON array cannot be read in chunks; use JSON Lines (.jsonl) for large inputs.");
  if (typeof source !== "string") {
    yield* formatChunks(source, format, chunkRows, options);
    return;
  }
  await checkInputFile(source);
  try {
    yield* formatChunks(source, format, chunkRows, options);
  } catch (error) {
    // NB: the file may go (or change) between the check and the read.
    throw inputFileError(source, error);
  }
}

async function* formatChunks(source: string | Readable, format: TableFormat, chunkRows: number, options: ChunkReadOptions): AsyncGenerator<ColumnTable> {
  const only = options.columns ? new Set(options.columns) : undefined;
  switch (format) {
    case "csv":
      yield* project(csvChunks(source, chunkRows, options.raw ?? false), only);
      return;
    case "jsonl":
      yield* project(jsonLinesChunks(source, chunkRows), only);
      return;
    case "arrow":
    case "arrows":
      yield* rechunk(arrowBatches(source, only), chunkRows);
      return;
    case "parquet":
      if (typeof source !== "string") throw new FormatError("Parquet is read from a file path, not a stream (its footer is at the end).");
      yield* rechunk(parquetBatches(source, chunkRows, options.columns, only), chunkRows);
      return;
    case "json":
      throw new FormatError("A JSON array cannot be read in chunks; use JSON Lines (.jsonl) for large inputs.");
  }
}

/** `readTableChunks` with each chunk as a danfojs DataFrame. */
export async function* readDataFrameChunks(source: string | Readable, options: ChunkReadOptions = {}): AsyncGenerator<DataFrame> {
  for await (const chunk of readTableChunks(source, options)) yield toDataFrame(chunk);
}

function streamOf(source: string | Readable): Readable {
  return typeof source === "string" ? createReadStream(source) : source;
}

async function* csvChunks(source: string | Readable, chunkRows: number, raw: boolean, name?: string): AsyncGenerator<ColumnTable> {
  let header: string[] | undefined;
  let rows: string[][] = [];
  let line = 2;
  try {
    for await (const batch of csvRecordBatches(checkedUtf8(streamOf(source), 0, name ?? (typeof source === "string" ? source : undefined)))) {
      for (const record of batch) {
        if (!header) {
          header = record;
          continue;
        }
        rows.push(record);
        if (rows.length === chunkRows) {
          yield tableFromCsvRecords(header, rows, raw, line);
          line += rows.length;
          rows = [];
        }
      }
    }
  } catch (cause) {
    if (cause instanceof FormatError || (cause as NodeJS.ErrnoException).syscall !== undefined) throw cause;
    throw new FormatError(`Could not parse the CSV input: ${(cause as Error).message}`, { cause });
  }
  if (!header) throw new FormatError("The CSV input is empty: it needs a header row naming the columns.");
  if (rows.length > 0 || line === 2) yield tableFromCsvRecords(header, rows, raw, line);
}

/**
 * The chunks of a CSV file from byte `offset` on (where a record starts), read in one pass as
 * `readTableChunks` reads a whole file: `prefix` is read first, in place of the bytes before
 * `offset`: the header's text, then as many blank lines as make csv-parse number lines as over the
 * whole file (see `CsvHead`).
 */
export async function* readCsvTail(path: string, offset: number, prefix: string, options: TailReadOptions = {}): AsyncGenerator<ColumnTable> {
  const chunkRows = checkChunkRows(options.chunkRows ?? DEFAULT_CHUNK_ROWS);
  const only = options.columns ? new Set(options.columns) : undefined;
  const source = Readable.from(
    (async function* () {
      yield Buffer.from(prefix);
      yield* createReadStream(path, { start: offset });
    })(),
  );
  try {
    for await (const chunk of project(csvChunks(source, chunkRows, options.raw ?? false, path), only)) if (chunk.numRows > 0 || options.first) yield chunk;
  } catch (error) {
    throw inputFileError(path, error);
  }
}

/** How a tail of a file is read (`readCsvTail`, `readJsonLinesTail`). */
export interface TailReadOptions extends Omit<ChunkReadOptions, "format"> {
  /**
   * No row was read before the tail: read whole, it gives a chunk of no rows when it holds no
   * record, as `readTableChunks` does for such a file (else a tail without records gives no chunk).
   */
  first?: boolean;
}

/**
 * The chunks of a JSON Lines file from byte `offset` on (where a line starts, after `linesBefore`
 * lines), read in one pass as `readTableChunks` reads a whole file, its lines numbered as over the
 * whole.
 */
export async function* readJsonLinesTail(
  path: string,
  offset: number,
  linesBefore: number,
  options: Omit<TailReadOptions, "raw"> = {},
): AsyncGenerator<ColumnTable> {
  const chunkRows = checkChunkRows(options.chunkRows ?? DEFAULT_CHUNK_ROWS);
  const only = options.columns ? new Set(options.columns) : undefined;
  const stream = createReadStream(path, { start: offset });
  try {
    for await (const chunk of project(jsonLinesChunks(stream, chunkRows, linesBefore, path), only)) if (chunk.numRows > 0 || options.first) yield chunk;
  } catch (error) {
    throw inputFileError(path, error);
  } finally {
    // NB: readline pauses its input on an error or an early return, and never closes it: the file would stay open.
    stream.destroy();
  }
}

async function* jsonLinesChunks(source: string | Readable, chunkRows: number, linesBefore = 0, name?: string): AsyncGenerator<ColumnTable> {
  const input = streamOf(source);
  const checked = Readable.from(checkedUtf8(input, linesBefore, name ?? (typeof source === "string" ? source : undefined)), { objectMode: false });
  try {
    yield* jsonLinesOf(checked, chunkRows, linesBefore);
  } finally {
    // NB: readline pauses its input on an error or an early return, and never closes it: a file it opened would stay open.
    // Closed under the check, the file ends its reading early, which the check (no longer heard) must not throw unhandled.
    checked.on("error", () => undefined);
    checked.destroy();
    if (typeof source === "string") input.destroy();
  }
}

async function* jsonLinesOf(input: Readable, chunkRows: number, linesBefore: number): AsyncGenerator<ColumnTable> {
  const lines = createInterface({ input, crlfDelay: Infinity });
  let records: unknown[] = [];
  // Whether a line of this chunk held a bare NaN token: a missing value, as Python's json writes one.
  let nan = false;
  const chunk = (): ColumnTable => (nan ? nanAsMissing(tableFromRecords(records)) : tableFromRecords(records));
  let lineNo = linesBefore;
  let emitted = false;
  for await (const text of lines) {
    lineNo++;
    const trimmed = text.trim();
    if (trimmed === "") continue;
    try {
      // NB: within MAX_JSON_DEPTH, as a request's lines: deeper values overflow the stack of what walks them (bad rows' JSON).
      const record = parseJsonWithin(trimmed);
      // NB: here, not when the chunk is made a table, which numbers its records from 0 within the chunk.
      if (record === null || typeof record !== "object" || Array.isArray(record))
        throw new FormatError('it is not an object of column values (one row per line, e.g. {"x": 1}).');
      if (holdsNaN(record)) nan = true;
      records.push(record);
    } catch (cause) {
      throw lineError(cause, lineNo);
    }
    if (records.length === chunkRows) {
      yield chunk();
      emitted = true;
      records = [];
      nan = false;
    }
  }
  if (records.length > 0 || !emitted) yield chunk();
}

/** The error for Arrow data whose lengths point outside the file. */
function arrowDamaged(): FormatError {
  return new FormatError("Could not read the Arrow IPC data: a length in it points outside the file. The file is damaged or cut short.");
}

/**
 * A file handle for apache-arrow's lazy reader that refuses the reads it would loop on. NB: its
 * reader reads until it has the bytes a length asks for and never stops at the end of the file;
 * and a negative length in damaged data moves its position before the start, where Node reads
 * from the handle's own position instead, soon at the end: a damaged 216-byte file read forever.
 */
function guardedHandle(handle: FileHandle): FileHandle {
  const read = async (buffer: Uint8Array, offset: number, length: number, position: number): Promise<FileReadResult<Uint8Array>> => {
    if (!(position >= 0)) throw arrowDamaged();
    const result = await handle.read(buffer, offset, length, position);
    if (result.bytesRead === 0 && length > 0) throw arrowDamaged();
    return result;
  };
  return new Proxy(handle, {
    get(target, key) {
      if (key === "read") return read;
      const value: unknown = Reflect.get(target, key, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

async function* arrowBatches(source: string | Readable, only: ReadonlySet<string> | undefined): AsyncGenerator<ColumnTable> {
  if (typeof source === "string") {
    // NB: a file handle lets arrow read IPC files (footer at the end) and streams alike, lazily.
    const handle = await open(source, "r");
    try {
      yield* batchesToTables((await arrowLib().RecordBatchReader.from(guardedHandle(handle))) as RecordBatchReader, only);
    } finally {
      await handle.close();
    }
    return;
  }
  yield* batchesToTables((await arrowLib().RecordBatchReader.from(source as never)) as RecordBatchReader, only);
}

/**
 * The Arrow types of an Arrow or Parquet file's columns (a Parquet file's as its decoder gives
 * them), or undefined for a file that holds no row to read them from. For writers that should keep
 * a file's own types (`predict --merge`): its values read back as plain numbers lose them.
 * @throws FormatError naming the file when it cannot be read.
 */
export async function fileColumnTypes(path: string, format: "arrow" | "arrows" | "parquet"): Promise<Record<string, DataType> | undefined> {
  const typesOf = (schema: Schema): Record<string, DataType> => Object.fromEntries(schema.fields.map((f) => [f.name, f.type]));
  if (format === "parquet") {
    for await (const table of parquetFileTables(path, 1)) return typesOf(table.schema);
    return undefined;
  }
  const handle = await open(path, "r");
  try {
    const reader = (await arrowLib().RecordBatchReader.from(guardedHandle(handle))) as RecordBatchReader;
    for await (const batch of reader) if (batch.numRows > 0) return typesOf(batch.schema);
    return undefined;
  } catch (cause) {
    throw arrowReadError(cause);
  } finally {
    await handle.close();
  }
}

/** A failure reading Arrow IPC data, as a FormatError saying so (one already is, as it is). */
function arrowReadError(cause: unknown): FormatError {
  return cause instanceof FormatError ? cause : new FormatError(`Could not read the Arrow IPC data: ${arrowErrorMessage(cause)}`, { cause });
}

async function* batchesToTables(reader: RecordBatchReader, only: ReadonlySet<string> | undefined): AsyncGenerator<ColumnTable> {
  try {
    for await (const table of arrowReaderTables(reader)) yield fromArrow(table, only);
  } catch (cause) {
    throw arrowReadError(cause);
  }
}

async function* parquetBatches(
  path: string,
  batchSize: number,
  columns: readonly string[] | undefined,
  only: ReadonlySet<string> | undefined,
): AsyncGenerator<ColumnTable> {
  // NB: the columns not asked for are not decoded at all (flights-3m for the flights model: 46 MB of Arrow instead of 133 MB).
  for await (const table of parquetFileTables(path, batchSize, { columns })) yield fromArrow(table, only);
}

/** Keeps only some columns of each chunk. */
async function* project(tables: AsyncIterable<ColumnTable>, only: ReadonlySet<string> | undefined): AsyncGenerator<ColumnTable> {
  for await (const table of tables) yield keepColumns(table, only);
}

/**
 * Regroups tables of any sizes into tables of the given sizes, in order: one of exactly `size` rows
 * for each size while the input lasts, then the rows left (fewer than the next size), if any.
 */
export async function* regroupRows(tables: AsyncIterable<ColumnTable>, sizes: Iterable<number>): AsyncGenerator<ColumnTable> {
  const next = sizes[Symbol.iterator]();
  let size = next.next();
  let pending: ColumnTable[] = [];
  let pendingRows = 0;
  const joined = (): ColumnTable => (pending.length === 1 ? (pending[0] as ColumnTable) : concatTables(pending));
  for await (let table of tables) {
    while (!size.done && pendingRows + table.numRows >= size.value) {
      const take = size.value - pendingRows;
      pending.push(sliceTable(table, 0, take));
      yield joined();
      table = sliceTable(table, take, table.numRows);
      pending = [];
      pendingRows = 0;
      size = next.next();
    }
    if (table.numRows > 0) {
      pending.push(table);
      pendingRows += table.numRows;
    }
  }
  if (pendingRows > 0) yield joined();
}

/** `chunkRows` again and again. */
function* repeat(chunkRows: number): Generator<number> {
  for (;;) yield chunkRows;
}

/**
 * Regroups tables of any sizes into chunks of exactly `chunkRows` rows (the last may be smaller);
 * an input of no rows gives one empty chunk with its columns.
 */
async function* rechunk(tables: AsyncIterable<ColumnTable>, chunkRows: number): AsyncGenerator<ColumnTable> {
  let last: ColumnTable | undefined;
  const seen = (async function* (): AsyncGenerator<ColumnTable> {
    for await (const table of tables) yield (last = table);
  })();
  let emitted = false;
  for await (const chunk of regroupRows(seen, repeat(chunkRows))) {
    emitted = true;
    yield chunk;
  }
  if (!emitted) yield last ? sliceTable(last, 0, 0) : { names: [], columns: [], numRows: 0 };
}
