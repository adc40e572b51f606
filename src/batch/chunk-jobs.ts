import type { ColumnTable, ParquetSegment } from "../tabular/index.js";

/** What every prediction worker thread is started with: the model to load and how to predict. */
export interface ChunkWorkerData {
  /** The module that registers the `pipeserve` API for model code, imported before the model loads. */
  hostEntry: string | undefined;
  /** The loaded model's directory (verified again by the thread's own load). */
  modelDir: string;
  params: Record<string, unknown> | null | undefined;
  runner: string | undefined;
  /** The chunks are CSV text, typed by the signature. */
  fromText: boolean;
  /** Parquet: only these columns are converted (the signature's names). */
  columns: string[] | undefined;
}

/**
 * Work for one thread: a chunk the main thread read, or chunks of a Parquet file that the thread
 * decodes itself (`segments`, cut into chunks of `chunkSizes` rows, the main thread's chunks).
 */
export type ChunkJob =
  | { id: number; kind: "table"; table: ColumnTable }
  | { id: number; kind: "parquet"; path: string; segments: ParquetSegment[]; chunkSizes: number[] };

/**
 * A thread's answers to a job, in chunk order, then `done`. `redo`: the chunk could not be
 * predicted there; the main thread predicts it again itself, so a bad row or a failing model ends
 * the run (or sets rows aside) with the same error as on one thread.
 */
export type ChunkAnswer =
  | { id: number; kind: "output"; output: ColumnTable; rows: number }
  | { id: number; kind: "redo"; input: ColumnTable }
  | { id: number; kind: "done" }
  | { id: number; kind: "error"; message: string };

/** A Parquet job as planned: its segments, its chunks' sizes and its first row (from 0). */
export interface ParquetJobPlan {
  segments: ParquetSegment[];
  chunkSizes: number[];
  firstRow: number;
  rows: number;
}

/**
 * Cuts rows `[start, end)` of a Parquet file with row groups of `groups` rows into jobs of
 * `chunksPerJob` chunks each, the chunks being those `readTableChunks` makes (every `chunkRows`
 * rows from the file's start, cut to the range), so any number of threads writes the same output.
 */
export function planParquetJobs(groups: readonly number[], chunkRows: number, start: number, end: number, chunksPerJob: number): ParquetJobPlan[] {
  const chunks: [number, number][] = [];
  for (let k = Math.floor(start / chunkRows); k * chunkRows < end; k++) chunks.push([Math.max(k * chunkRows, start), Math.min((k + 1) * chunkRows, end)]);
  const jobs: ParquetJobPlan[] = [];
  for (let i = 0; i < chunks.length; i += chunksPerJob) {
    const mine = chunks.slice(i, i + chunksPerJob);
    const a = (mine[0] as [number, number])[0];
    const b = (mine.at(-1) as [number, number])[1];
    const segments: ParquetSegment[] = [];
    let groupStart = 0;
    groups.forEach((rows, group) => {
      const from = Math.max(a, groupStart);
      const to = Math.min(b, groupStart + rows);
      if (from < to) segments.push({ group, offset: from - groupStart, limit: to - from });
      groupStart += rows;
    });
    jobs.push({ segments, chunkSizes: mine.map(([s, e]) => e - s), firstRow: a, rows: b - a });
  }
  return jobs;
}
