import { openAsBlob } from "node:fs";
import type { Table } from "apache-arrow";
import { decodeArrowIpc } from "./arrow.js";
import { FormatError } from "./errors.js";
import { loadParquetWasm } from "./parquet.js";
import { parquetLeafPaths, parquetProjection } from "./parquet-projection.js";

/** Rows of one row group of a Parquet file: `limit` rows from `offset` (counted within the group). */
export interface ParquetSegment {
  group: number;
  offset: number;
  limit: number;
}

type ParquetFile = Awaited<ReturnType<typeof import("parquet-wasm").ParquetFile.fromFile>>;

/** NB: one open file per thread: parquet-wasm's `ParquetFile.fromFile` leaks a little on every call. */
let open: { path: string; file: Promise<ParquetFile>; leaves: Promise<string[][]> } | undefined;

function fileOf(path: string): NonNullable<typeof open> {
  if (open?.path !== path) {
    const pq = loadParquetWasm();
    const file = openAsBlob(path).then((blob) => pq.ParquetFile.fromFile(blob));
    const leaves = file.then(parquetLeafPaths);
    open = { path, file, leaves };
  }
  return open;
}

/**
 * Decodes some rows of a Parquet file, segment by segment, as Arrow tables of up to `batchSize`
 * rows (with `wanted`, only those columns: see `parquetProjection`), in this thread: for worker threads that each decode their own part of a file (whose row
 * groups decode apart). NB: a decoder panic on a damaged page ends this thread; the readers of
 * the main thread (`parquetFileTables`) decode in a thread of their own for that reason.
 * @throws FormatError naming the file when it cannot be read.
 */
export async function* readParquetSegments(
  path: string,
  segments: readonly ParquetSegment[],
  batchSize: number,
  wanted?: readonly string[],
): AsyncGenerator<Table> {
  for (const { group, offset, limit } of segments) {
    if (limit <= 0) continue;
    try {
      const { file, leaves } = fileOf(path);
      const columns = parquetProjection(await leaves, wanted);
      const stream = await (await file).stream({ batchSize, rowGroups: [group], offset, limit, ...(columns ? { columns } : {}) });
      for await (const batch of stream as AsyncIterable<{ intoIPCStream(): Uint8Array }>) yield decodeArrowIpc(batch.intoIPCStream());
    } catch (cause) {
      if (cause instanceof FormatError) throw cause;
      throw new FormatError(`Could not read the Parquet file ${path}: ${String((cause as Error)?.message ?? cause)}`, { cause });
    }
  }
}
