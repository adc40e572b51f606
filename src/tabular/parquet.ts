import { createRequire } from "node:module";
import { Worker } from "node:worker_threads";
import type { Table } from "apache-arrow";
import { decodeArrowIpc, encodeArrowIpc, fromArrowInSlices } from "./arrow.js";
import type { ColumnTable } from "./column-table.js";
import { FormatError } from "./errors.js";
import { NO_LIMITS, type TableLimits, checkTableSize } from "./limits.js";
import { readParquetFileFooter, readParquetFooter } from "./parquet-footer.js";
import { parquetLeafPaths, parquetProjection } from "./parquet-projection.js";
import { tuneWasmTiering } from "../util/index.js";

type ParquetWasm = typeof import("parquet-wasm");

let wasm: ParquetWasm | undefined;

/**
 * A thread running `code` (an eval'd script) that loads parquet-wasm from `workerData.wasm`: V8's
 * WebAssembly tiering set first, from this thread (see tuneWasmTiering).
 */
function parquetThread(code: string, workerData: Record<string, unknown>): Worker {
  tuneWasmTiering();
  return new Worker(code, { eval: true, workerData: { wasm: createRequire(import.meta.url).resolve("parquet-wasm"), ...workerData } });
}

/** The parquet-wasm module (its Node build), loaded on first use. */
export function loadParquetWasm(): ParquetWasm {
  if (wasm === undefined) tuneWasmTiering();
  wasm ??= createRequire(import.meta.url)("parquet-wasm") as ParquetWasm;
  return wasm;
}

/** Decodes Parquet bytes into an Arrow table. */
export function parquetToArrow(bytes: Uint8Array): Table {
  const pq = loadParquetWasm();
  let ipc: Uint8Array;
  try {
    const wasmTable = pq.readParquet(bytes);
    ipc = wasmTable.intoIPCStream();
  } catch (cause) {
    throw new FormatError(`Could not read the Parquet data: ${String((cause as Error)?.message ?? cause)}`, { cause });
  }
  return decodeArrowIpc(ipc);
}

/** Parquet bodies of at least this many bytes are decoded in a worker thread (`parquetToTable`). */
const WORKER_MIN = 1 << 20;
/** Rows per Arrow record batch of a decoded body. NB: parquet-wasm's default, 1,024, made reading the IPC ten times slower. */
const IPC_BATCH_ROWS = 65_536;

function unreadable(cause: unknown): FormatError {
  return new FormatError(`Could not read the Parquet data: ${String((cause as Error)?.message ?? cause)}`, { cause });
}

/** What the decoding thread answers: the footer's rows and columns, and the table (Arrow IPC) unless they pass the limits. */
interface Decoded {
  rows: number;
  columns: number;
  ipc?: Uint8Array;
  error?: string;
}

/**
 * The decoding thread (CommonJS, run with `eval`): reads the footer, refuses to decode past the
 * limits, else decodes the whole file and hands its Arrow IPC bytes back (transferred, not copied).
 */
const DECODER = `
const { parentPort, workerData } = require("node:worker_threads");
const pq = require(workerData.wasm);
parentPort.once("message", async ({ bytes, maxRows, maxCells }) => {
  try {
    const file = await pq.ParquetFile.fromFile(new Blob([bytes]));
    const meta = file.metadata();
    const rows = meta.fileMetadata().numRows();
    const groups = meta.rowGroups();
    const columns = groups.length > 0 ? groups[0].numColumns() : 0;
    if (rows > maxRows || Math.max(rows, 1) * columns > maxCells) return parentPort.postMessage({ rows, columns });
    const ipc = pq.readParquet(bytes, { batchSize: workerData.batchRows }).intoIPCStream();
    const own = ipc.byteOffset === 0 && ipc.byteLength === ipc.buffer.byteLength;
    parentPort.postMessage({ rows, columns, ipc }, own ? [ipc.buffer] : []);
  } catch (error) {
    parentPort.postMessage({ error: String((error && error.message) || error) });
  }
});
`;

/**
 * Decodes Parquet bytes in a thread of its own, which ends with the call (and frees the WebAssembly
 * memory it grew). With `transfer`, bytes that own their whole buffer are moved to it, not copied
 * (they are unusable here afterwards).
 */
function decodeInThread(bytes: Uint8Array, limits: TableLimits, transfer: boolean): Promise<Decoded> {
  return new Promise((resolve, reject) => {
    const worker = parquetThread(DECODER, { batchRows: IPC_BATCH_ROWS });
    worker.once("message", (answer: Decoded) => {
      void worker.terminate();
      if (answer.error !== undefined) reject(unreadable(answer.error));
      else resolve(answer);
    });
    worker.once("error", (error) => {
      void worker.terminate();
      reject(unreadable(error));
    });
    worker.once("exit", () => reject(unreadable("the decoding thread stopped")));
    const movable = transfer && bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && bytes.buffer instanceof ArrayBuffer;
    worker.postMessage({ bytes, maxRows: limits.maxRows, maxCells: limits.maxCells }, movable ? [bytes.buffer as ArrayBuffer] : []);
  });
}

/**
 * Decodes small Parquet bytes here, checking the footer first. NB: the footer is read by
 * `readParquetFooter`, not parquet-wasm's `ParquetFile.fromFile`, which leaks on every call.
 */
function decodeHere(bytes: Uint8Array, limits: TableLimits): Decoded {
  const { rows, columns } = readParquetFooter(bytes);
  if (rows > limits.maxRows || Math.max(rows, 1) * columns > limits.maxCells) return { rows, columns };
  try {
    return { rows, columns, ipc: loadParquetWasm().readParquet(bytes, { batchSize: IPC_BATCH_ROWS }).intoIPCStream() };
  } catch (cause) {
    throw unreadable(cause);
  }
}

/**
 * Parquet bytes (a request body) as a table, within `limits`: the rows and columns its footer
 * declares are checked before any page is decoded (a small file may hold millions of rows); a
 * big file is decoded in a worker thread (the decoder cannot stop before the end of a row group,
 * which may be the whole file), and its values converted a slice per event-loop turn. With
 * `transfer`, a big body's bytes are moved to that thread rather than copied: do not use them after.
 * @throws FormatError (400) for bytes that are not Parquet, LimitError (413) past the limits.
 */
export async function parquetToTable(bytes: Uint8Array, limits: TableLimits = NO_LIMITS, options: { transfer?: boolean } = {}): Promise<ColumnTable> {
  const decoded = bytes.byteLength >= WORKER_MIN ? await decodeInThread(bytes, limits, options.transfer ?? false) : decodeHere(bytes, limits);
  checkTableSize(decoded.rows, decoded.columns, limits, "the Parquet file");
  // NB: the footer's count is the file's word; the rows decoded are checked again.
  return fromArrowInSlices(decodeArrowIpc(decoded.ipc as Uint8Array), limits, "the Parquet file");
}

/** What the file-reading thread answers: the footer's row counts, a record batch (Arrow IPC), the end, or why it stopped. */
type FileAnswer = { rows: number; groups: number[] } | { ipc: Uint8Array } | { done: true } | { error: string };

/**
 * The file-reading thread (CommonJS, run with `eval`): streams a Parquet file's record batches
 * one at a time, each when the reader asks for the next (so memory holds one batch, not the file).
 */
const FILE_READER = `
const { parentPort, workerData } = require("node:worker_threads");
const { openAsBlob } = require("node:fs");
const pq = require(workerData.wasm);
${parquetProjection.toString()}
${parquetLeafPaths.toString()}
(async () => {
  try {
    const file = await pq.ParquetFile.fromFile(await openAsBlob(workerData.path));
    const meta = file.metadata();
    if (workerData.rowsOnly) {
      return parentPort.postMessage({ rows: Number(meta.fileMetadata().numRows()), groups: meta.rowGroups().map((g) => Number(g.numRows())) });
    }
    const columns = parquetProjection(parquetLeafPaths(file), workerData.columns);
    const groups = workerData.rowGroups;
    // NB: parquet-wasm stops with a WebAssembly unreachable for a row group the file lacks.
    const count = meta.numRowGroups();
    const lacking = (groups || []).find((g) => !Number.isInteger(g) || g < 0 || g >= count);
    if (lacking !== undefined) throw new Error("it has no row group " + lacking + " (it has " + count + ")");
    const stream = await file.stream({ batchSize: workerData.batchSize, ...(columns ? { columns } : {}), ...(groups ? { rowGroups: groups } : {}) });
    let batches = 0;
    const send = async (ipc) => {
      const own = ipc.byteOffset === 0 && ipc.byteLength === ipc.buffer.byteLength;
      parentPort.postMessage({ ipc }, own ? [ipc.buffer] : []);
      await new Promise((resolve) => parentPort.once("message", resolve));
    };
    for await (const batch of stream) {
      batches++;
      await send(batch.intoIPCStream());
    }
    // NB: a file of no rows streams no batch: its schema alone tells its columns (merged parts of no rows had none).
    if (batches === 0 && !groups) await send(file.schema().intoIPCStream());
    parentPort.postMessage({ done: true });
  } catch (error) {
    parentPort.postMessage({ error: String((error && error.message) || error) });
  }
})();
`;

/** The answers of a file-reading thread, one per call; its crash (a decoder panic) or exit is an error. */
class FileReaderThread {
  readonly #worker: Worker;
  #failure: Error | undefined;
  #waiting: { resolve: (answer: FileAnswer) => void; reject: (error: Error) => void } | undefined;
  readonly #answers: FileAnswer[] = [];

  constructor(path: string, batchSize: number, options: { rowsOnly?: boolean } & ParquetReadOptions = {}) {
    const { rowsOnly = false, columns, rowGroups } = options;
    this.#worker = parquetThread(FILE_READER, { path, batchSize, rowsOnly, columns, rowGroups });
    this.#worker.on("message", (answer: FileAnswer) => {
      if (this.#waiting) this.#waiting.resolve(answer);
      else this.#answers.push(answer);
      this.#waiting = undefined;
    });
    const fail = (error: Error): void => {
      this.#failure ??= error;
      this.#waiting?.reject(this.#failure);
      this.#waiting = undefined;
    };
    this.#worker.on("error", fail);
    this.#worker.on("exit", () => fail(new Error("the decoding thread stopped")));
  }

  next(): Promise<FileAnswer> {
    const answer = this.#answers.shift();
    if (answer) return Promise.resolve(answer);
    if (this.#failure) return Promise.reject(this.#failure);
    return new Promise((resolve, reject) => {
      this.#waiting = { resolve, reject };
    });
  }

  more(): void {
    this.#worker.postMessage("next");
  }

  async stop(): Promise<void> {
    await this.#worker.terminate();
  }
}

function unreadableFile(path: string, why: unknown): FormatError {
  return new FormatError(`Could not read the Parquet file ${path}: ${String((why as Error)?.message ?? why)}`, { cause: why });
}

/**
 * The rows a Parquet file's footer declares (see `parquetFileRowGroups`).
 * @throws FormatError naming the file for a file that is not Parquet or is damaged.
 */
export async function parquetFileRows(path: string): Promise<number> {
  return (await parquetFileRowGroups(path)).reduce((a, b) => a + b, 0);
}

/**
 * The rows of each row group of a Parquet file, from its footer: the parts of a file that can be
 * decoded apart (`readParquetSegments`). The footer is read here (`readParquetFileFooter`); one it
 * cannot read is read again in a thread of its own, by parquet-wasm (see `parquetFileTables`), whose
 * error names what is wrong. NB: a parquet-wasm thread took ~0.2 s to start, and `predict` read the
 * footer before its own threads could start. A footer read here may still make the decoder panic:
 * the file's readers then fail with its error.
 * @throws FormatError naming the file for a file that is not Parquet or is damaged.
 */
export async function parquetFileRowGroups(path: string): Promise<number[]> {
  try {
    return (await readParquetFileFooter(path)).groups;
  } catch {
    // NB: parquet-wasm's verdict, and its words, for whatever this reader refuses (or cannot open).
  }
  const thread = new FileReaderThread(path, 1, { rowsOnly: true });
  try {
    const answer = await thread.next().catch((error: unknown) => Promise.reject(unreadableFile(path, error)));
    if ("error" in answer) throw unreadableFile(path, answer.error);
    if (!("rows" in answer)) throw unreadableFile(path, "its footer gave no row count");
    return answer.groups;
  } finally {
    await thread.stop();
  }
}

/**
 * Which parts of a Parquet file to read: only `columns` (those of them the file has: see
 * `parquetProjection`), only the row groups `rowGroups` (indexes from 0, in order; an index the
 * file lacks is a FormatError).
 */
export interface ParquetReadOptions {
  columns?: readonly string[] | undefined;
  rowGroups?: readonly number[] | undefined;
}

/**
 * A Parquet file's record batches of up to `batchSize` rows, as Arrow tables, decoded lazily in a
 * thread of its own; with `columns`, only those of them the file has (see `parquetProjection`),
 * with `rowGroups` only those groups: the others are never decoded. NB: parquet-wasm's stream
 * decoder panics on some damaged pages, inside a task of its own: here that was an uncaught
 * exception (a crash with a stack) and a stream that never ended; in a thread it is that thread's
 * error, a FormatError here, and the panic cannot leave this process's WebAssembly instance broken.
 * @throws FormatError naming the file for a file that is not Parquet or is damaged.
 */
export async function* parquetFileTables(path: string, batchSize: number, options: ParquetReadOptions = {}): AsyncGenerator<Table> {
  const thread = new FileReaderThread(path, batchSize, options);
  const unreadable = (why: unknown): FormatError => unreadableFile(path, why);
  try {
    for (;;) {
      let answer: FileAnswer;
      try {
        answer = await thread.next();
      } catch (error) {
        throw unreadable(error);
      }
      if ("error" in answer) throw unreadable(answer.error);
      if (!("ipc" in answer)) return;
      yield decodeArrowIpc(answer.ipc);
      thread.more();
    }
  } finally {
    await thread.stop();
  }
}

/**
 * @throws FormatError for a column with an empty name. NB: parquet-wasm's writer panics on one
 * (RuntimeError: unreachable), which is no error a caller can tell from a bug.
 */
export function checkParquetNames(names: readonly string[]): void {
  if (names.includes("")) throw new FormatError("A column has an empty name, which Parquet cannot hold. Name the column, or write another format.");
}

/** Encodes an Arrow table as Parquet bytes (zstd-free defaults of parquet-wasm). @throws FormatError for a column with an empty name. */
export function arrowToParquet(table: Table): Uint8Array {
  checkParquetNames(table.schema.fields.map((f) => f.name));
  const pq = loadParquetWasm();
  const wasmTable = pq.Table.fromIPCStream(encodeArrowIpc(table, "stream"));
  return pq.writeParquet(wasmTable);
}
