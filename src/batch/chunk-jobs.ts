import type { ColumnTable, CsvHead, EncodedRows, EnforceOptions, ParquetSegment } from "../tabular/index.js";

/** Where an input's cells come from, as enforcement and its refusals need to know: CSV text, or typed Arrow or Parquet columns (neither: JSON). */
export type InputCells = Required<Pick<EnforceOptions, "fromText" | "fromArrow">>;

/** What every prediction worker thread is started with: the model to load and how to predict. */
export interface ChunkWorkerData {
  /** The module that registers the `pipeserve` API for model code, imported before the model loads. */
  hostEntry: string | undefined;
  /** The loaded model's directory (verified again by the thread's own load). */
  modelDir: string;
  params: Record<string, unknown> | null | undefined;
  runner: string | undefined;
  /** Where the chunks' cells come from: CSV text (typed by the signature), or typed Arrow or Parquet columns. */
  cells: InputCells;
  /** Parquet: only these columns are converted (the signature's names). */
  columns: string[] | undefined;
  /** The output's text format, when the threads encode the predictions themselves (`encoded` answers). */
  encode?: "csv" | "jsonl" | undefined;
}

/**
 * Work for one thread: a chunk the main thread read; chunks of a Parquet file that the thread
 * decodes itself (`segments`, cut into chunks of `chunkSizes` rows, the main thread's chunks); or
 * a block of a CSV file's records (`rows` of them, after the header `head`) that the thread parses
 * itself into chunks of `chunkRows` rows; or such a block of a JSON Lines file.
 */
export type ChunkJob =
  | { id: number; kind: "table"; table: ColumnTable }
  | { id: number; kind: "parquet"; path: string; segments: ParquetSegment[]; chunkSizes: number[] }
  | { id: number; kind: "csv"; bytes: Uint8Array; rows: number; head: Pick<CsvHead, "header" | "lineEnd">; chunkRows: number }
  | { id: number; kind: "jsonl"; bytes: Uint8Array; rows: number; chunkRows: number };

/** What the pool sends a thread to end it: the thread closes its model (removing its private copy of the code), then ends. */
export const CLOSE_MESSAGE = { kind: "close" } as const;
export type CloseMessage = typeof CLOSE_MESSAGE;

/** A job before the pool numbers it. */
export type NewChunkJob = ChunkJob extends infer J ? (J extends ChunkJob ? Omit<J, "id"> : never) : never;

/**
 * A thread's answers to a job, in chunk order (`output`, or `encoded`: the output's rows as the
 * output's text format writes them), then `done` (with a text block's `lines`, as the format's
 * one-pass reader counts them). `redo`: the chunk could not be predicted there; the main thread predicts
 * it again itself, so a bad row or a failing model ends the run (or sets rows aside) with the same
 * error as on one thread. `reread`, a text job's only answer: its block is not one the thread can
 * read as the one pass would (see `csvBlockTables`, `jsonLinesBlockTables`); the main thread reads the
 * file from there on itself, as one thread reads it.
 */
export type ChunkAnswer =
  | { id: number; kind: "output"; output: ColumnTable; rows: number }
  | { id: number; kind: "encoded"; encoded: EncodedRows; rows: number }
  | { id: number; kind: "redo"; input: ColumnTable }
  | { id: number; kind: "done"; lines?: number }
  | { id: number; kind: "reread" }
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
  return jobsOfChunks(groups, chunksOf(chunkRows, start, end), chunksPerJob);
}

function jobsOfChunks(groups: readonly number[], chunks: readonly [number, number][], chunksPerJob: number): ParquetJobPlan[] {
  const jobs: ParquetJobPlan[] = [];
  for (let i = 0; i < chunks.length; i += chunksPerJob) jobs.push(jobOf(groups, chunks.slice(i, i + chunksPerJob)));
  return jobs;
}

/**
 * Cuts rows `[start, end)` into a job per row group: the chunks that start in a group (the same
 * chunks as `planParquetJobs`). A thread then decodes each group once, from its start: a segment
 * that starts inside a group makes the decoder read the group's earlier rows too (flights-3m's
 * jobs of 70,000 rows in groups of 272,727 decoded twice the rows there were).
 */
export function planParquetJobsByGroup(groups: readonly number[], chunkRows: number, start: number, end: number): ParquetJobPlan[] {
  return jobsByGroup(groups, chunksOf(chunkRows, start, end));
}

function jobsByGroup(groups: readonly number[], chunks: readonly [number, number][]): ParquetJobPlan[] {
  const jobs: ParquetJobPlan[] = [];
  let mine: [number, number][] = [];
  let group = 0;
  let groupEnd = groups[0] ?? 0;
  for (const chunk of chunks) {
    if (chunk[0] >= groupEnd) {
      if (mine.length > 0) jobs.push(jobOf(groups, mine));
      mine = [];
      while (chunk[0] >= groupEnd && group < groups.length - 1) groupEnd += groups[++group] as number;
    }
    mine.push(chunk);
  }
  if (mine.length > 0) jobs.push(jobOf(groups, mine));
  return jobs;
}

/** The chunks `readTableChunks` makes of rows `[start, end)`: every `chunkRows` rows from the file's start, cut to the range. */
function chunksOf(chunkRows: number, start: number, end: number): [number, number][] {
  const chunks: [number, number][] = [];
  for (let k = Math.floor(start / chunkRows); k * chunkRows < end; k++) chunks.push([Math.max(k * chunkRows, start), Math.min((k + 1) * chunkRows, end)]);
  return chunks;
}

/** The job of consecutive chunks: the row groups' segments it covers. */
function jobOf(groups: readonly number[], mine: readonly [number, number][]): ParquetJobPlan {
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
  return { segments, chunkSizes: mine.map(([s, e]) => e - s), firstRow: a, rows: b - a };
}

/**
 * The largest job `--workers` makes of one Parquet row group. NB: each thread answers its job's
 * chunks as it predicts them and two jobs per thread may wait to be written, so this bounds the
 * rows held in memory (flights-3m's groups are 272,727 rows; pyarrow writes groups of 1 Mi rows,
 * which are cut into smaller jobs instead).
 */
export const MAX_GROUP_JOB_ROWS = 524_288;
/** The most rows of a job cut by chunks. */
const CHUNK_JOB_ROWS = 65_536;

/**
 * The jobs `predict --workers N` cuts rows `[start, end)` into: a job per row group when there
 * are at least two per thread and none is over MAX_GROUP_JOB_ROWS (each group decoded once);
 * else jobs of several chunks, up to CHUNK_JOB_ROWS (fewer decoder starts), enough for every thread.
 */
export function planParquetWorkerJobs(groups: readonly number[], chunkRows: number, start: number, end: number, workers: number): ParquetJobPlan[] {
  const chunks = chunksOf(chunkRows, start, end);
  const byGroup = jobsByGroup(groups, chunks);
  if (byGroup.length >= workers * 2 && byGroup.every((plan) => plan.rows <= MAX_GROUP_JOB_ROWS)) return byGroup;
  const perJob = Math.max(1, Math.min(Math.ceil(CHUNK_JOB_ROWS / chunkRows), Math.ceil(chunks.length / (workers * 4))));
  return jobsOfChunks(groups, chunks, perJob);
}

/** The fewest rows of a block of a text file (see `rowsPerBlock`). */
const BLOCK_JOB_ROWS = 16_384;

/**
 * Rows per block of a CSV or JSON Lines file that `predict --workers N` cuts: whole chunks (so the
 * threads predict the chunks one thread reads, and write the same output), at least
 * BLOCK_JOB_ROWS of them.
 */
export function rowsPerBlock(chunkRows: number): number {
  return chunkRows * Math.max(1, Math.ceil(BLOCK_JOB_ROWS / chunkRows));
}
