import { createRequire } from "node:module";
import type { Table } from "apache-arrow";
import { decodeArrowIpc, encodeArrowIpc } from "./arrow.js";
import { FormatError } from "./errors.js";

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

/** Encodes an Arrow table as Parquet bytes (zstd-free defaults of parquet-wasm). */
export function arrowToParquet(table: Table): Uint8Array {
  const pq = loadParquetWasm();
  const wasmTable = pq.Table.fromIPCStream(encodeArrowIpc(table, "stream"));
  return pq.writeParquet(wasmTable);
}
