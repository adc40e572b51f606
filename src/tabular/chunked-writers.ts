import { createWriteStream, existsSync, type WriteStream } from "node:fs";
import { rename, rm } from "node:fs/promises";
import { dirname } from "node:path";
import type { Writable } from "node:stream";
import { finished } from "node:stream/promises";
import type { DataType, Schema, Table } from "apache-arrow";
import { arrowLib } from "./arrow-lib.js";
import { OUTPUT_APPEND, outputTarget, partialPath } from "../util/index.js";
import { arrowTypeOfColumn, declaredArrowTypes, toArrow } from "./arrow.js";
import type { ColumnTable } from "./column-table.js";
import type { ColumnType } from "./signature.js";
import { toCsv } from "./csv.js";
import { FormatError } from "./errors.js";
import { formatFromPath, type TableFormat } from "./files.js";
import { toJsonLines } from "./json-lines.js";
import { checkParquetNames, loadParquetWasm } from "./parquet.js";

/**
 * Writes a table chunk by chunk. Every chunk must have the first chunk's columns. `close()`
 * finishes the output; `abort()` drops it (a file target leaves nothing behind).
 */
export interface TableWriter {
  write(chunk: ColumnTable): Promise<void>;
  /** Text formats (CSV, JSON Lines): a chunk already encoded as the format's rows (another thread did: see `encodeTextRows`). */
  writeEncoded?(chunk: EncodedRows): Promise<void>;
  close(): Promise<void>;
  abort(): Promise<void>;
  readonly rowsWritten: number;
}

/** A chunk's rows as a text format encodes them, without a header: what `write` of the chunk would write after it. */
export interface EncodedRows {
  format: "csv" | "jsonl";
  names: readonly string[];
  numRows: number;
  bytes: Uint8Array;
}

const UTF8 = new TextEncoder();

/** Encodes a chunk's rows as `writeEncoded` takes them (in a buffer of their own, to be moved between threads). */
export function encodeTextRows(chunk: ColumnTable, format: "csv" | "jsonl"): EncodedRows {
  const text = format === "csv" ? toCsv(chunk, { header: false }) : toJsonLines(chunk);
  return { format, names: chunk.names, numRows: chunk.numRows, bytes: UTF8.encode(text) };
}

export interface TableWriterOptions {
  /** The format; from the path's extension by default (required for a stream target). */
  format?: TableFormat;
  /** Arrow types for some columns (Arrow and Parquet); the others come from the first chunk. */
  types?: Readonly<Record<string, DataType>>;
  /**
   * Arrow types for columns that hold no value in the first chunk (every cell missing, or no rows),
   * e.g. from an output signature (see `arrowTypesOfColumns`). NB: the first chunk written fixes
   * every column's type: without a type here, the first chunks are held until each such column
   * holds a value (up to HOLD_UNTYPED_CELLS cells), and one that never does is text. A function
   * is called at the first write (or the close): making the types loads apache-arrow, which a
   * writer made before its first chunk is ready need not load yet.
   */
  emptyTypes?: Readonly<Record<string, DataType>> | (() => Readonly<Record<string, DataType>>);
  /**
   * The output signature's columns: the first chunk's numeric columns take the types they declare
   * where every value fits (`declaredArrowTypes`: long Int64, integer Int32, float Float32), as a
   * served Arrow answer does, so a file and an answer of the same model have one schema.
   */
  declared?: readonly { name?: string | undefined; type: ColumnType }[] | null;
}

/** Writes bytes to a stream, waiting when it asks us to. */
export async function writeBytes(out: Writable, data: Uint8Array | string): Promise<void> {
  if (!out.write(data)) {
    await new Promise<void>((resolve, reject) => {
      const onDrain = (): void => {
        out.off("error", onError);
        resolve();
      };
      const onError = (e: Error): void => {
        out.off("drain", onDrain);
        reject(e);
      };
      out.once("drain", onDrain);
      out.once("error", onError);
    });
  }
}

/** Encodes chunks in one format onto a byte stream. */
interface Encoder {
  write(chunk: ColumnTable): Promise<void>;
  writeEncoded?(chunk: EncodedRows): Promise<void>;
  finish(): Promise<void>;
}

function checkColumns(first: readonly string[] | undefined, chunk: Pick<ColumnTable, "names">): readonly string[] {
  if (first === undefined) return chunk.names;
  if (first.length !== chunk.names.length || first.some((n, i) => n !== chunk.names[i])) {
    throw new FormatError(`A chunk has columns [${chunk.names.join(", ")}] but the output started with [${first.join(", ")}].`);
  }
  return first;
}

function textEncoder(out: Writable, format: "csv" | "jsonl"): Encoder {
  let names: readonly string[] | undefined;
  return {
    async write(chunk) {
      const header = names === undefined;
      names = checkColumns(names, chunk);
      await writeBytes(out, format === "csv" ? toCsv(chunk, { header }) : toJsonLines(chunk));
    },
    async writeEncoded(chunk) {
      if (chunk.format !== format) throw new FormatError(`Rows encoded as ${chunk.format} cannot be written to a ${format} output.`);
      const header = names === undefined;
      names = checkColumns(names, chunk);
      // NB: the header `write` would put before the first chunk's rows.
      if (header && format === "csv")
        await writeBytes(out, toCsv({ names: [...chunk.names], columns: chunk.names.map(() => []), numRows: 0 }, { header: true }));
      if (chunk.bytes.length > 0) await writeBytes(out, chunk.bytes);
    },
    async finish() {},
  };
}

/**
 * `toArrow` for a chunk of a file; after the first, a value of another kind than the first rows'
 * is refused saying why its column has the type it has (NB: apache-arrow would have written "x"
 * as NaN in a column of numbers, found by a review).
 */
function chunkToArrow(chunk: ColumnTable, fixed: Readonly<Record<string, DataType>>, emptyTypes: Readonly<Record<string, DataType>>, later: boolean): Table {
  try {
    return toArrow(chunk, fixed, { emptyTypes });
  } catch (error) {
    if (!later || !(error instanceof FormatError)) throw error;
    throw new FormatError(`${error.message} (The rows written first gave the column its type: a column has one type in an Arrow or Parquet file.)`, {
      cause: error,
    });
  }
}

function arrowEncoder(
  out: Writable,
  format: "arrow" | "arrows",
  types: Readonly<Record<string, DataType>>,
  emptyTypes: Readonly<Record<string, DataType>>,
  declared: TableWriterOptions["declared"],
): Encoder {
  let names: readonly string[] | undefined;
  let schema: Schema | undefined;
  let fixed: Record<string, DataType> = { ...types };
  const { RecordBatch, RecordBatchFileWriter, RecordBatchStreamWriter, Schema, Table } = arrowLib();
  const writer = format === "arrow" ? new RecordBatchFileWriter() : new RecordBatchStreamWriter();
  const piped = (writer.toNodeStream() as unknown as NodeJS.ReadableStream).pipe(out);
  return {
    async write(chunk) {
      names = checkColumns(names, chunk);
      if (!schema) fixed = { ...declaredArrowTypes(chunk, declared), ...fixed };
      const table: Table = chunkToArrow(chunk, fixed, emptyTypes, schema !== undefined);
      if (!schema) {
        fixed = Object.fromEntries(table.schema.fields.map((f) => [f.name, f.type]));
        // NB: every batch must carry the first batch's schema exactly, or arrow's writer ends the output.
        schema = new Schema(table.schema.fields.map((f) => f.clone({ nullable: true })));
      }
      for (const batch of table.batches) writer.write(new RecordBatch(schema, batch.data));
    },
    async finish() {
      // NB: with no chunk at all the writer knows no schema and writes nothing: not an Arrow file.
      // It is written with no columns and no rows, as Parquet is.
      if (!schema) writer.write(new Table(new Schema([])));
      writer.finish();
      await finished(piped as Writable);
    },
  };
}

function parquetEncoder(
  out: Writable,
  types: Readonly<Record<string, DataType>>,
  emptyTypes: Readonly<Record<string, DataType>>,
  declared: TableWriterOptions["declared"],
): Encoder {
  const pq = loadParquetWasm();
  const { Schema, Table, tableToIPC } = arrowLib();
  let names: readonly string[] | undefined;
  let fixed: Record<string, DataType> = { ...types };
  let stream: { controller: ReadableStreamDefaultController<unknown>; pumped: Promise<void> } | undefined;
  // NB: parquet-wasm turns a stream of record batches into a stream of Parquet bytes, gathering
  // batches into row groups of up to 1 Mi rows (its default, as pyarrow's). Smaller groups were
  // measured on flights-3m: 256 Ki rows saved ~20 MB of peak memory and cost ~8% more time.
  const start = (): NonNullable<typeof stream> => {
    let controller!: ReadableStreamDefaultController<unknown>;
    const batches = new ReadableStream<unknown>({ start: (c) => void (controller = c) }, { highWaterMark: 1 });
    const pumped = pq.transformParquetStream(batches as ReadableStream).then(async (bytes) => {
      for await (const piece of bytes as unknown as AsyncIterable<Uint8Array>) await writeBytes(out, piece);
    });
    return { controller, pumped };
  };
  return {
    async write(chunk) {
      names = checkColumns(names, chunk);
      checkParquetNames(chunk.names);
      if (!stream) fixed = { ...declaredArrowTypes(chunk, declared), ...fixed };
      const table = chunkToArrow(chunk, fixed, emptyTypes, stream !== undefined);
      if (Object.keys(fixed).length < chunk.names.length) fixed = Object.fromEntries(table.schema.fields.map((f) => [f.name, f.type]));
      stream ??= start();
      for (const batch of pq.Table.fromIPCStream(tableToIPC(table, "stream")).recordBatches()) stream.controller.enqueue(batch);
    },
    async finish() {
      if (stream) {
        stream.controller.close();
        await stream.pumped;
      } else {
        // NB: the stream takes its schema from its first batch, and fails without one: with no chunk
        // at all the file is written whole, with no columns and no rows.
        await writeBytes(out, pq.writeParquet(pq.Table.fromIPCStream(tableToIPC(new Table(new Schema([])), "stream"))));
      }
      out.end();
      await finished(out);
    },
  };
}

/**
 * The most cells (rows × columns) held back while a column without a given type holds no value
 * (see `holdUntilTyped`): some 16 MB of numbers; 1 Mi rows of two prediction columns.
 */
export const HOLD_UNTYPED_CELLS = 1 << 21;

/** Whether a column holds no value: no rows, or every cell missing. */
function holdsNoValue(column: ArrayLike<unknown>): boolean {
  if (!Array.isArray(column)) return column.length === 0;
  for (const value of column) if (value !== null && value !== undefined) return false;
  return true;
}

/**
 * Holds the chunks for a typed encoder (Arrow, Parquet) while a column without a given type has
 * held no value; then makes the encoder with that column's type taken from its first chunk with a
 * value, and writes the held chunks to it one by one (every other column's type comes from the
 * first chunk, as without holding). NB: the first chunk written fixes every column's type; a
 * column missing in all of it (a shard's part whose rows all lacked a value, merged before parts
 * that have them) was text, and the numbers after it were written as text. Up to
 * HOLD_UNTYPED_CELLS cells are held; a column still without a value then, or at the end, is text.
 * `check` refuses a chunk the encoder would refuse, when it is written rather than released.
 */
function holdUntilTyped(
  make: (types: Readonly<Record<string, DataType>>) => Encoder,
  typed: (name: string) => boolean,
  check: (chunk: ColumnTable) => void = () => undefined,
): Encoder {
  let encoder: Encoder | undefined;
  let held: ColumnTable[] = [];
  let heldCells = 0;
  let names: readonly string[] | undefined;
  const waiting = new Set<string>();
  const found: Record<string, DataType> = {};
  const release = async (): Promise<Encoder> => {
    encoder ??= make(found);
    const chunks = held;
    held = [];
    for (const chunk of chunks) await encoder.write(chunk);
    return encoder;
  };
  return {
    async write(chunk) {
      if (encoder) return encoder.write(chunk);
      if (names === undefined) {
        names = chunk.names;
        for (const name of names) if (!typed(name)) waiting.add(name);
      } else checkColumns(names, chunk);
      check(chunk);
      chunk.names.forEach((name, i) => {
        const column = chunk.columns[i] as ArrayLike<unknown>;
        if (!waiting.has(name) || holdsNoValue(column)) return;
        // NB: the type this chunk alone gives the column, as if it had come first.
        found[name] = arrowTypeOfColumn(column as ColumnTable["columns"][number]);
        waiting.delete(name);
      });
      held.push(chunk);
      heldCells += chunk.numRows * chunk.names.length;
      if (waiting.size > 0 && heldCells < HOLD_UNTYPED_CELLS) return;
      await release();
    },
    async finish() {
      await (await release()).finish();
    },
  };
}

function encoderFor(out: Writable, format: TableFormat, options: Pick<TableWriterOptions, "types" | "emptyTypes" | "declared">): Encoder {
  const types = options.types ?? {};
  const given = options.emptyTypes ?? {};
  let made: Readonly<Record<string, DataType>> | undefined;
  const emptyTypes = (): Readonly<Record<string, DataType>> => {
    made ??= typeof given === "function" ? given() : given;
    return made;
  };
  const typed = (name: string): boolean => Object.hasOwn(types, name) || Object.hasOwn(emptyTypes(), name);
  switch (format) {
    case "csv":
    case "jsonl":
      return textEncoder(out, format);
    case "arrow":
    case "arrows":
      return holdUntilTyped((found) => arrowEncoder(out, format, { ...types, ...found }, emptyTypes(), options.declared), typed);
    case "parquet":
      return holdUntilTyped(
        (found) => parquetEncoder(out, { ...types, ...found }, emptyTypes(), options.declared),
        typed,
        (chunk) => checkParquetNames(chunk.names),
      );
    case "json":
      throw new FormatError("A JSON array cannot be written in chunks; write JSON Lines (.jsonl) instead.");
  }
}

/**
 * A writer onto a file, atomically: chunks go to a temporary file beside `path`, renamed to
 * `path` by `close()`. Until then — and after `abort()`, an error or a crash — nothing exists
 * under `path`. A link is followed; a device or a pipe is written into (see `outputTarget`).
 */
export function createTableFileWriter(path: string, options: TableWriterOptions = {}): TableWriter {
  const format = options.format ?? formatFromPath(path);
  const target = outputTarget(path);
  const tmp = target.atomic ? partialPath(target.file) : undefined;
  const folder = dirname(target.file);
  if (!existsSync(folder)) throw new FormatError(`Cannot write ${path}: the folder ${folder} does not exist. Create it first.`);
  const out: WriteStream = createWriteStream(tmp ?? target.file, { flags: tmp ? "wx" : OUTPUT_APPEND });
  // NB: an error (disk full, permissions) is kept and raised by the next write or close, never left unhandled.
  let failure: Error | undefined;
  out.on("error", (error) => (failure ??= error));
  const encoder = encoderFor(out, format, options);
  let rows = 0;
  let done = false;
  const ended = async (): Promise<void> => {
    if (!out.writableEnded) out.end();
    await finished(out).catch(() => undefined);
  };
  return {
    get rowsWritten() {
      return rows;
    },
    async write(chunk) {
      if (done) throw new FormatError("The writer is closed.");
      if (failure) throw failure;
      await encoder.write(chunk);
      rows += chunk.numRows;
    },
    ...(encoder.writeEncoded
      ? {
          async writeEncoded(chunk: EncodedRows) {
            if (done) throw new FormatError("The writer is closed.");
            if (failure) throw failure;
            await encoder.writeEncoded?.(chunk);
            rows += chunk.numRows;
          },
        }
      : {}),
    async close() {
      if (done) return;
      done = true;
      try {
        await encoder.finish();
        await ended();
        if (failure) throw failure;
        if (tmp) await rename(tmp, target.file);
      } catch (error) {
        if (tmp) await rm(tmp, { force: true });
        throw error;
      }
    },
    async abort() {
      done = true;
      // NB: destroyed while a write is in flight, an fs stream emits ERR_STREAM_DESTROYED, which
      // unheard would crash the process; and the file is removed only once closed, or an open
      // still under way could create it again after the rm.
      out.on("error", () => undefined);
      out.destroy();
      await finished(out).catch(() => undefined);
      if (tmp) await rm(tmp, { force: true });
    },
  };
}

/** A writer onto a stream (e.g. stdout); `close()` ends the stream unless `end: false`. */
export function createTableStreamWriter(out: Writable, options: TableWriterOptions & { format: TableFormat; end?: boolean }): TableWriter {
  const encoder = encoderFor(out, options.format, options);
  let rows = 0;
  return {
    get rowsWritten() {
      return rows;
    },
    async write(chunk) {
      await encoder.write(chunk);
      rows += chunk.numRows;
    },
    ...(encoder.writeEncoded
      ? {
          async writeEncoded(chunk: EncodedRows) {
            await encoder.writeEncoded?.(chunk);
            rows += chunk.numRows;
          },
        }
      : {}),
    async close() {
      await encoder.finish();
      if (options.end ?? true) out.end();
    },
    async abort() {
      out.destroy();
    },
  };
}
