import { createRequire } from "node:module";
import { type Table, tableFromIPC } from "apache-arrow";
import { decodeArrowIpc, encodeArrowIpc, fromArrow, fromArrowInSlices } from "./arrow.js";
import type { Cell, ColumnTable } from "./column-table.js";
import { FormatError, TabularError } from "./errors.js";
import { NO_LIMITS, type TableLimits, checkTableSize, nextTurn } from "./limits.js";

type ParquetWasm = typeof import("parquet-wasm");

let wasm: ParquetWasm | undefined;

/** The parquet-wasm module (its Node build), loaded on first use. */
export function loadParquetWasm(): ParquetWasm {
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

/** Rows decoded per event-loop turn by `parquetToTable`, and the cells of a file small enough to decode at once. */
const PARQUET_BATCH_ROWS = 65_536;
const PARQUET_WHOLE_CELLS = 1 << 18;

function unreadable(cause: unknown): FormatError {
  return new FormatError(`Could not read the Parquet data: ${String((cause as Error)?.message ?? cause)}`, { cause });
}

/**
 * Parquet bytes (a request body) as a table, within `limits`: the rows and columns its footer
 * declares are checked before any page is decoded (a small file may hold millions of rows), and a
 * big file is decoded a batch of rows per event-loop turn, its rows counted as they come.
 * @throws FormatError (400) for bytes that are not Parquet, LimitError (413) past the limits.
 */
export async function parquetToTable(bytes: Uint8Array, limits: TableLimits = NO_LIMITS): Promise<ColumnTable> {
  const pq = loadParquetWasm();
  let file: Awaited<ReturnType<typeof pq.ParquetFile.fromFile>>;
  let rows: number;
  let names: string[];
  try {
    file = await pq.ParquetFile.fromFile(new Blob([bytes]));
    rows = file.metadata().fileMetadata().numRows();
    names = tableFromIPC(file.schema().intoIPCStream()).schema.fields.map((f) => f.name);
  } catch (cause) {
    throw unreadable(cause);
  }
  try {
    checkTableSize(rows, names.length, limits, "the Parquet file");
    if (rows * names.length <= PARQUET_WHOLE_CELLS) return await fromArrowInSlices(parquetToArrow(bytes), limits, "the Parquet file");
    return await parquetBatches(file, names, limits);
  } finally {
    file.free();
  }
}

async function parquetBatches(file: { stream(options: { batchSize: number }): Promise<unknown> }, names: string[], limits: TableLimits): Promise<ColumnTable> {
  const columns: Cell[][] = names.map(() => []);
  let numRows = 0;
  try {
    const stream = (await file.stream({ batchSize: PARQUET_BATCH_ROWS })) as AsyncIterable<{ intoIPCStream(): Uint8Array }>;
    for await (const batch of stream) {
      const part = fromArrow(tableFromIPC(batch.intoIPCStream()));
      // NB: the footer's count is the file's word; the rows decoded are what count.
      checkTableSize(numRows + part.numRows, names.length, limits, "the Parquet file");
      part.columns.forEach((values, c) => {
        const column = columns[c] as Cell[];
        for (let r = 0; r < values.length; r++) column.push(values[r]);
      });
      numRows += part.numRows;
      await nextTurn();
    }
  } catch (cause) {
    throw cause instanceof TabularError ? cause : unreadable(cause);
  }
  return { names, columns, numRows };
}

/** Encodes an Arrow table as Parquet bytes (zstd-free defaults of parquet-wasm). */
export function arrowToParquet(table: Table): Uint8Array {
  const pq = loadParquetWasm();
  const wasmTable = pq.Table.fromIPCStream(encodeArrowIpc(table, "stream"));
  return pq.writeParquet(wasmTable);
}
