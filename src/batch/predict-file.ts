import { isUtf8 } from "node:buffer";
import { appendFile, readFile, rename, rm, stat } from "node:fs/promises";
import { dirname } from "node:path";
import type { Readable } from "node:stream";
import { NodeError, hostEntryUrl, type PipelineModel, type PredictOptions } from "../loader/index.js";
import {
  NotUtf8Error,
  SAVE_AS_UTF8,
  FileAccessError,
  FormatError,
  MLFLOW_WORDING,
  checkInputFile,
  checkOutputFile,
  csvBlocks,
  inputFileError,
  jsonLinesBlocks,
  readCsvHead,
  readCsvTail,
  readJsonLinesTail,
  type CsvHead,
  type TextBlock,
  outputToTable,
  concatTables,
  keepColumns,
  enforceSchema,
  formatFromPath,
  holdsNaN,
  nanAsMissing,
  parquetFileRowGroups,
  parquetFileTables,
  parseJsonRequest,
  missingColumns,
  parseJsonWithin,
  pyList,
  readTableChunks,
  sliceTable,
  tableFromRecords,
  type ColumnTable,
  type TableFormat,
  type TableWriter,
} from "../tabular/index.js";
import { outputTarget, partialPath, removeStalePartials, usableCores } from "../util/index.js";
import { badRowLines, isBadInput, splitBadRows } from "./bad-rows.js";
import { rowsPerBlock, planParquetWorkerJobs, type ChunkAnswer, type InputCells, type NewChunkJob } from "./chunk-jobs.js";
import { ChunkWorkerPool, type JobAnswers } from "./chunk-worker-pool.js";
import { BatchError } from "./errors.js";
import { createPredictionsWriter, type OutputFormat } from "./predictions-writer.js";

export interface Shard {
  /** 1-based. */
  index: number;
  count: number;
}

export interface PredictFileOptions {
  /** A path, or `-` for stdin. */
  input: string;
  /** A path, or `-` for stdout. */
  output: string;
  /** The input's format: from the file's extension by default; JSON for stdin, as `mlflow models predict`. */
  inputFormat?: TableFormat;
  /** The output's format: from the file's extension by default; JSON (`{"predictions": …}`) for stdout. */
  outputFormat?: OutputFormat;
  params?: Record<string, unknown> | null;
  runner?: string;
  /** Rows per chunk for row-wise models; by default 4,096 for CSV and JSON Lines, 10,000 for Arrow and Parquet. */
  chunkRows?: number;
  /** `fail` (default) stops at the first bad row; `skip` writes bad rows to `<output>.errors.jsonl` (stderr when the output is stdout) and goes on. */
  onError?: "fail" | "skip";
  shard?: Shard;
  /**
   * Adds a column of this name to the predictions holding each one's input row number (from 1,
   * the numbering of `.errors.jsonl`'s `row`), so outputs join back to inputs when bad rows are
   * set aside or a shard is predicted. Needs one prediction row per input row.
   */
  rowNumberColumn?: string;
  /**
   * Threads that predict chunks (row-wise models, chunked inputs): each decodes (Parquet) or parses
   * (CSV, JSON Lines), predicts and answers its chunks while this thread reads and writes them in
   * order; the output is the same for any number. 1 (the default) is this thread alone; at most the
   * number of cores (more are cut to it, with a notice). `auto` (the CLI's default): as many as
   * there are cores for CSV files of 32 MiB, JSON Lines of 64 MiB and Parquet of 8 MiB or more (see
   * `DEFAULT_THREADS_MIN_CSV_BYTES`), else 1.
   */
  workers?: number | "auto";
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
  /** Threads that predicted: 1 is the main thread alone. */
  threads: number;
  seconds: number;
}

/** Rows per chunk of Arrow and Parquet input (their record batches are read and converted a chunk at a time). */
const DEFAULT_CHUNK_ROWS = 10_000;
/**
 * Rows per chunk of CSV and JSON Lines input. NB: a chunk of text makes a string per cell and
 * dies young; at 10,000 rows V8's young generation copied and promoted more of each chunk than at
 * 4,096 (predict of input_100k.csv, alternating: 0.460 → 0.433 s median; of 1,000,000 rows
 * 1.51 → 1.42 s).
 */
const DEFAULT_TEXT_CHUNK_ROWS = 4_096;

/** A job for the threads as read from the input; or, for a text file, where this thread is to read on from itself (`rest`). */
type JobItem = { job: NewChunkJob; firstRow: number; rows: number; groups?: number[]; offset?: number } | { rest: number; firstRow: number };

/** Reads a text file on this thread, in one pass, from byte `offset` (a record's start, row `firstRow` from 0, after `lines` lines) to its end, and predicts it chunk by chunk. */
type ReadFrom = (offset: number, firstRow: number, lines: number) => Promise<void>;

/** A job given to the threads, waiting to be written. */
interface Submitted {
  answers: JobAnswers;
  firstRow: number;
  /** Parquet: the row groups it reads. */
  groups?: number[] | undefined;
  /** A text file's block: where it starts in the file. */
  offset?: number | undefined;
}

/** The options of a run, checked and with their defaults. */
interface Settings {
  chunkRows: number;
  inputFormat: TableFormat;
  outputFormat: OutputFormat;
  onError: "fail" | "skip";
  source: string | Readable;
  /** Read, predicted and written chunk by chunk (a row-wise model, and input that is not JSON). */
  chunked: boolean;
  /** CSV: the cells are text, typed by the signature; Arrow or Parquet: they come typed (a refusal says how to write a column's type there). */
  cells: InputCells;
  rowNumberColumn: string | undefined;
  /** Threads asked for (cut to the cores); undefined (`auto`): as many as there are cores when the input is large enough (see `#defaultThreads`). */
  workers: number | undefined;
}

/**
 * The smallest CSV file that `predict` without `--workers` predicts in threads. NB: below it the
 * threads' start (~0.2 s each to load the model) costs more than they save: on 2 cores, 1,000,000
 * penguins rows (35 MB) took 1.17 s in 2 threads against 1.40 s on one, 500,000 about the same.
 */
export const DEFAULT_THREADS_MIN_CSV_BYTES = 32 * 1024 * 1024;
/**
 * The smallest JSON Lines file that `predict` without `--workers` predicts in threads. NB: a row
 * of JSON Lines is ~3× its CSV bytes (a key per value), so as many rows take a larger file:
 * 1,000,000 penguins rows (120 MB) took 1.25 s in 2 threads against 1.53 s on one, 64 MB about
 * the same (0.97 against 1.00 s), 32 MB longer (0.71 against 0.64 s).
 */
export const DEFAULT_THREADS_MIN_JSONL_BYTES = 64 * 1024 * 1024;
/** The smallest Parquet file that `predict` without `--workers` predicts in threads (flights-3m.parquet, 13 MB: 1.92 against 2.40 s). */
export const DEFAULT_THREADS_MIN_PARQUET_BYTES = 8 * 1024 * 1024;

function usage(message: string): BatchError {
  return new BatchError(message, { code: "USAGE" });
}

/** @throws BatchError (USAGE) for options that cannot work together. */
function checkOptions(model: PipelineModel, options: PredictFileOptions): Settings {
  // NB: stdin and stdout default to JSON, as `mlflow models predict` reads and writes them.
  const inputFormat = options.inputFormat ?? (options.input === "-" ? "json" : formatFromPath(options.input));
  const chunkRows = options.chunkRows ?? (inputFormat === "csv" || inputFormat === "jsonl" ? DEFAULT_TEXT_CHUNK_ROWS : DEFAULT_CHUNK_ROWS);
  if (!Number.isInteger(chunkRows) || chunkRows < 1) throw usage(`--chunk-rows must be a whole number of at least 1, got ${chunkRows}.`);
  if (options.input === "-" && inputFormat === "parquet") throw usage("Parquet cannot be read from stdin (its footer is at the end); pass a file.");
  const outputFormat: OutputFormat = options.outputFormat ?? (options.output === "-" ? "json" : (formatFromPath(options.output) as OutputFormat));
  const shard = options.shard;
  if (shard && (!Number.isInteger(shard.index) || !Number.isInteger(shard.count) || shard.count < 1 || shard.index < 1 || shard.index > shard.count)) {
    throw usage(`--shard must be I/N with 1 ≤ I ≤ N, got ${shard.index}/${shard.count}.`);
  }
  if (shard && options.input === "-") throw usage("--shard needs a file input, not stdin.");
  const asked = options.workers ?? 1;
  if (asked !== "auto" && (!Number.isInteger(asked) || asked < 1)) throw usage(`--workers must be a whole number of at least 1, got ${String(asked)}.`);
  // NB: no more threads than cores: more only share them, each for ~100 MB (flights-3m.parquet on
  // 2 cores: 8 threads 3.6 s and 776 MB, 2 threads 2.0 s and 350 MB).
  const workers = asked === "auto" ? undefined : Math.min(asked, usableCores());
  return {
    chunkRows,
    inputFormat,
    outputFormat,
    onError: options.onError ?? "fail",
    source: options.input === "-" ? (options.stdin ?? process.stdin) : options.input,
    chunked: model.rowWise && inputFormat !== "json",
    cells: { fromText: inputFormat === "csv", fromArrow: inputFormat === "arrow" || inputFormat === "arrows" || inputFormat === "parquet" },
    rowNumberColumn: checkRowNumberColumn(options.rowNumberColumn),
    workers,
  };
}

function checkRowNumberColumn(name: string | undefined): string | undefined {
  if (name === undefined) return undefined;
  if (typeof name !== "string" || name.trim() === "") throw usage("--row-number needs a column name, e.g. --row-number row.");
  return name;
}

/** What is known of the input before it is read: the rows to predict (a shard's range) and how many. */
interface PlannedRows {
  total?: number;
  range?: [number, number];
  /** A Parquet file's rows per row group, when its footer was read to count them (the threads' jobs need them too). */
  groups?: number[];
}

/** The rows to predict (a shard's range) and how many they are, when that is known up front (a shard, Parquet with progress). */
async function plannedRows(options: PredictFileOptions, settings: Settings): Promise<PlannedRows> {
  const { source, inputFormat, chunkRows } = settings;
  const shard = options.shard;
  if (!shard && !(options.onProgress && typeof source === "string" && inputFormat === "parquet")) return {};
  // NB: a Parquet file's footer is read once a run (see parquetFileRowGroups): its row groups plan the threads' jobs too.
  const groups = inputFormat === "parquet" ? await parquetFileRowGroups(source as string) : undefined;
  const total = groups ? groups.reduce((a, b) => a + b, 0) : await countRows(source as string, inputFormat, chunkRows);
  const known = groups ? { groups } : {};
  if (!shard) return { total, ...known };
  const range: [number, number] = [Math.floor(((shard.index - 1) * total) / shard.count), Math.floor((shard.index * total) / shard.count)];
  return { total: range[1] - range[0], range, ...known };
}

/** One run of `predictFile`: reads the input, predicts it chunk by chunk (or whole), writes the predictions and sets bad rows aside. */
class BatchRun {
  rowsRead = 0;
  /** Threads that predicted (1: the main thread). */
  threads = 1;
  rowsSkipped = 0;
  readonly errorsFile: string | undefined;
  /** Where bad rows are written until the run completes (then renamed to `errorsFile`). */
  readonly #errorsPartial: string | undefined;
  #errorsWritten = false;
  readonly writer: TableWriter;
  readonly #model: PipelineModel;
  readonly #options: PredictFileOptions;
  readonly #settings: Settings;
  readonly #total: number | undefined;
  readonly #range: [number, number] | undefined;
  readonly #groups: number[] | undefined;
  /** Whether the output is a file written atomically (see the constructor). */
  readonly #atomic: boolean;

  /**
   * @param atomic whether the output is a file written atomically (see outputTarget): only then is
   *   there a folder to put OUTPUT.errors.jsonl in; otherwise bad rows go to stderr.
   */
  constructor(model: PipelineModel, options: PredictFileOptions, settings: Settings, planned: PlannedRows, atomic: boolean) {
    this.#model = model;
    this.#options = options;
    this.#settings = settings;
    this.#total = planned.total;
    this.#range = planned.range;
    this.#groups = planned.groups;
    this.writer = createPredictionsWriter(options.output, settings.outputFormat, model.signature?.outputs);
    // NB: an output written into (a pipe, a device: see outputTarget) has no folder of its own to put a file beside it: its bad rows go to stderr, as stdout's do.
    this.#atomic = atomic;
    this.errorsFile = settings.onError === "skip" && atomic ? `${options.output}.errors.jsonl` : undefined;
    this.#errorsPartial = this.errorsFile ? partialPath(this.errorsFile) : undefined;
  }

  /**
   * Predicts the whole input; the output is complete (closed) when this resolves, removed when it
   * rejects. So is OUTPUT.errors.jsonl: written under a temporary name, put in place (or a stale
   * one from an earlier run removed) only once the output is.
   */
  async run(): Promise<void> {
    if (this.#options.shard && !this.#model.rowWise) {
      this.#options.onNotice?.(
        "--shard: the model is not row-wise (row_wise: false), so each shard is predicted as one batch of its own rows: the parts together may differ from one run over the whole input.",
      );
    }
    const asked = this.#options.workers === "auto" ? undefined : this.#options.workers;
    if (asked !== undefined && asked > 1 && !this.#settings.chunked) {
      const why = this.#settings.inputFormat === "json" ? "JSON input is read whole" : "the model is not row-wise (row_wise: false)";
      this.#options.onNotice?.(`--workers ${asked}: ${why}, so one thread predicts it.`);
    } else if (asked !== undefined && this.#settings.workers !== undefined && asked > this.#settings.workers) {
      const cores = this.#settings.workers;
      this.#options.onNotice?.(
        `--workers ${asked}: this machine has ${cores} ${cores === 1 ? "core" : "cores"}, so ${cores} ${cores === 1 ? "thread predicts" : "threads predict"} (more would only share them, each holding its own copy of the model).`,
      );
    }
    // NB: the signal is otherwise seen between chunks; a run waiting on a stream (stdin) that sends
    // nothing would not stop until the stream ends: the stream is ended with the signal's reason.
    const { signal } = this.#options;
    const source = this.#settings.source;
    const stopReading = (): void => {
      if (typeof source !== "string") source.destroy(signal?.reason instanceof Error ? signal.reason : new Error("Interrupted."));
    };
    signal?.addEventListener("abort", stopReading, { once: true });
    try {
      let params = this.#options.params;
      if (this.#settings.inputFormat === "json") params = await this.#predictJson();
      else await this.#predictChunks();
      await this.#writeColumnsIfNone(params);
      signal?.throwIfAborted();
      await this.writer.close();
    } catch (error) {
      await this.writer.abort();
      if (this.#errorsPartial) await rm(this.#errorsPartial, { force: true });
      throw signal?.aborted ? signal.reason : error;
    } finally {
      signal?.removeEventListener("abort", stopReading);
    }
    // NB: a bad-rows file beside the output from an earlier run would pass for this run's: removed.
    if (!this.errorsFile || !this.#errorsPartial) {
      if (this.#atomic) await rm(`${this.#options.output}.errors.jsonl`, { force: true });
      return;
    }
    if (this.#errorsWritten) await rename(this.#errorsPartial, this.errorsFile);
    else await rm(this.errorsFile, { force: true });
  }

  /** JSON input, read whole: an MLflow request body may bring its own params. Returns the params it predicted with. */
  async #predictJson(): Promise<Record<string, unknown> | null | undefined> {
    // NB: as served, a model without a params schema ignores a body's params that are not an object.
    const { table, params: bodyParams } = await readJsonInput(this.#settings.source, (this.#model.signature?.params ?? null) !== null);
    this.#options.onNotice?.("JSON input is read whole; use JSON Lines (.jsonl) or CSV to stream large inputs.");
    const range = this.#range;
    const part = range ? sliceTable(table, range[0], range[1]) : table;
    this.rowsRead = part.numRows;
    const params = this.#options.params !== undefined ? this.#options.params : bodyParams;
    await this.#predictChunk(part, range?.[0] ?? 0, params);
    this.#options.onProgress?.(this.rowsRead, this.rowsRead);
    return params;
  }

  async #predictChunks(): Promise<void> {
    const { chunked } = this.#settings;
    const { params, onProgress } = this.#options;
    const range = this.#range;
    if (!chunked) this.#options.onNotice?.("The model is not row-wise (row_wise: false), so the whole input is read into memory and predicted at once.");
    const workers = chunked ? (this.#settings.workers ?? (await this.#defaultThreads())) : 1;
    if (workers > 1) {
      await this.#predictInWorkers(workers);
      return;
    }
    const whole: ColumnTable[] = [];
    for await (const { chunk, firstRow } of this.#inputChunks()) {
      if (chunked) {
        await this.#predictRead(chunk, firstRow);
        continue;
      }
      this.rowsRead += chunk.numRows;
      whole.push(chunk);
    }
    const noRows = this.#noRows;
    if (!chunked) {
      await this.#predictChunk(whole.length === 0 && noRows ? noRows : concatTables(whole), range?.[0] ?? 0, params);
      onProgress?.(this.rowsRead, this.#total);
    }
  }

  /**
   * The input's columns with no rows. NB: a shard can get no rows (N above the row count), and every
   * row can be set aside (`--on-error skip`); the input's columns with no rows are then predicted, so
   * the output still has the model's columns (a CSV header, an Arrow or Parquet schema).
   */
  #noRows: ColumnTable | undefined;
  /** Whether a prediction was written. */
  #wroteOutput = false;

  /**
   * When no prediction was written, writes the prediction of the input's columns with no rows (see
   * `#noRows`). NB: a model whose nodes fail on an empty table must not fail a run that only set
   * every row aside (its OUTPUT.errors.jsonl says why): its output then has the signature's output
   * columns (none without them), as the server answers an empty request to a row-wise model.
   */
  async #writeColumnsIfNone(params: Record<string, unknown> | null | undefined): Promise<void> {
    if (this.#wroteOutput || !this.#noRows) return;
    let output: unknown;
    try {
      output = await this.#model.predict(this.#noRows, this.#predictOptions(params));
    } catch (error) {
      if (!(error instanceof NodeError)) throw error;
      output = this.#model.emptyOutput();
    }
    await this.#writeOutput(output, () => []);
  }

  /** Predicts and writes a chunk read on this thread (its first row `firstRow`, from 0), counting it and telling the progress. */
  async #predictRead(chunk: ColumnTable, firstRow: number): Promise<void> {
    this.rowsRead += chunk.numRows;
    await this.#predictChunk(chunk, firstRow, this.#options.params);
    this.#options.onProgress?.(this.rowsRead, this.#total);
  }

  /**
   * Threads for a run without `--workers`: as many as there are cores for a CSV, JSON Lines or
   * Parquet file large enough that threads pay for their start (DEFAULT_THREADS_MIN_CSV_BYTES,
   * DEFAULT_THREADS_MIN_JSONL_BYTES, DEFAULT_THREADS_MIN_PARQUET_BYTES), else 1. NB: other inputs
   * are read on the main thread, whose reading is then the work: threads do not make them faster.
   */
  async #defaultThreads(): Promise<number> {
    const { source, inputFormat } = this.#settings;
    const cores = usableCores();
    if (cores < 2 || typeof source !== "string") return 1;
    const text = inputFormat === "csv" || inputFormat === "jsonl";
    const least =
      inputFormat === "csv"
        ? DEFAULT_THREADS_MIN_CSV_BYTES
        : inputFormat === "jsonl"
          ? DEFAULT_THREADS_MIN_JSONL_BYTES
          : inputFormat === "parquet"
            ? DEFAULT_THREADS_MIN_PARQUET_BYTES
            : undefined;
    // NB: a shard of a text file is read on this thread (its rows are counted first), which is then the work.
    if (least === undefined || (text && this.#range)) return 1;
    const stats = await stat(source);
    // NB: a shard predicts its part of the file; a pipe has no size (and is read on this thread).
    if (!stats.isFile() || stats.size / (this.#options.shard?.count ?? 1) < least) return 1;
    // NB: a CSV file that cannot be cut into blocks (one column, a header that is not plain) is parsed on this thread, which is then the work.
    return inputFormat === "csv" && !(await this.#csvHead(source)) ? 1 : cores;
  }

  #head: Promise<CsvHead | undefined> | undefined;

  /** The CSV input's head (see `readCsvHead`), read once a run: the default number of threads and the blocks both need it. */
  #csvHead(source: string): Promise<CsvHead | undefined> {
    this.#head ??= readCsvHead(source);
    return this.#head;
  }

  /** The input's chunks within the shard's range, each with its first row's number (from 0). */
  async *#inputChunks(): AsyncGenerator<{ chunk: ColumnTable; firstRow: number }> {
    const { chunkRows, cells, inputFormat, source } = this.#settings;
    const { signal } = this.#options;
    const range = this.#range;
    let position = 0;
    // NB: a named signature says which columns the model reads; the others are never converted.
    const wanted = this.#wantedColumns();
    for await (const raw of readTableChunks(source, { format: inputFormat, chunkRows, raw: cells.fromText, ...(wanted ? { columns: wanted } : {}) })) {
      signal?.throwIfAborted();
      this.#noRows ??= sliceTable(raw, 0, 0);
      let chunk = raw;
      const start = position;
      position += raw.numRows;
      if (range) {
        if (position <= range[0]) continue;
        if (start >= range[1]) break;
        chunk = sliceTable(raw, Math.max(0, range[0] - start), Math.min(raw.numRows, range[1] - start));
      }
      yield { chunk, firstRow: Math.max(start, range?.[0] ?? 0) };
    }
  }

  #wantedColumns(): string[] | undefined {
    const inputs = this.#model.signature?.inputs;
    return inputs?.every((c) => c.name !== undefined) ? inputs.map((c) => c.name as string) : undefined;
  }

  /**
   * `workers` threads predict while this one reads and writes, in order. A Parquet file is cut into
   * jobs of whole chunks that the threads decode themselves, and a CSV or JSON Lines file into
   * blocks of whole records that they parse themselves (this thread only writes); other inputs are
   * read here, chunk by chunk, and each chunk sent to a thread. An input of one job is predicted
   * here: starting threads would cost more than it saves.
   */
  async #predictInWorkers(workers: number): Promise<void> {
    const planned = await this.#workerJobs(workers);
    if (!planned) return;
    const { jobs, readFrom } = planned;
    const { params, runner } = this.#options;
    // NB: a text output the threads encode themselves, unless the rows are numbered here (--row-number).
    const { outputFormat, rowNumberColumn } = this.#settings;
    const encode = (outputFormat === "csv" || outputFormat === "jsonl") && rowNumberColumn === undefined && this.writer.writeEncoded ? outputFormat : undefined;
    const pool = new ChunkWorkerPool(workers, {
      hostEntry: hostEntryUrl(),
      modelDir: this.#model.dir,
      params,
      runner,
      cells: this.#settings.cells,
      columns: this.#wantedColumns(),
      encode,
    });
    // NB: at most two jobs per thread are under way or waiting to be written: memory stays bounded however slow the output.
    const window: Submitted[] = [];
    // NB: a text file: where this thread reads on from, when a block is not plain (or too long), and the lines before it.
    let rest: { offset: number; firstRow: number } | undefined;
    let lines = planned.lines ?? 0;
    const writeFirst = async (): Promise<void> => {
      // NB: taken from the window once written: a failure meanwhile rechecks its Parquet row groups too.
      const submitted = window[0] as Submitted;
      const done = await this.#writeAnswers(submitted);
      window.shift();
      if (done.kind === "reread") rest = { offset: submitted.offset as number, firstRow: submitted.firstRow };
      else {
        lines += done.lines ?? 0;
        this.threads = workers;
      }
    };
    try {
      while (!rest) {
        const next = await jobs.next();
        if (next.done) break;
        const item = next.value;
        if ("rest" in item) {
          while (window.length > 0 && !rest) await writeFirst();
          rest ??= { offset: item.rest, firstRow: item.firstRow };
          break;
        }
        window.push({
          answers: pool.submit(item.job, `rows ${item.firstRow + 1}–${item.firstRow + item.rows}`),
          firstRow: item.firstRow,
          groups: item.groups,
          offset: item.offset,
        });
        while (window.length >= workers * 2 && !rest) await writeFirst();
      }
      while (window.length > 0 && !rest) await writeFirst();
    } catch (error) {
      // NB: a thread decoding a damaged page dies of the decoder's panic; the rows it may have been
      // reading are read again in a thread of their own, to fail as one thread does, naming the file.
      if (this.#settings.inputFormat === "parquet" && error instanceof BatchError && error.code === "WORKER_FAILED") {
        await this.#checkParquetGroups(window.flatMap((w) => w.groups ?? []));
      }
      throw error;
    } finally {
      try {
        await pool.close();
      } finally {
        await jobs.return?.();
      }
    }
    if (rest && readFrom) await readFrom(rest.offset, rest.firstRow, lines);
  }

  /**
   * The jobs for the threads; for a text file cut into blocks, how this thread reads it on from a
   * block (`readFrom`) and the lines before the first (`lines`). Undefined when the input was
   * predicted here (an input of one job).
   */
  async #workerJobs(workers: number): Promise<{ jobs: AsyncIterator<JobItem>; readFrom?: ReadFrom; lines?: number } | undefined> {
    const { source, inputFormat, chunkRows } = this.#settings;
    if (typeof source === "string" && inputFormat === "parquet") {
      const groups = this.#groups ?? (await parquetFileRowGroups(source));
      const [start, end] = this.#range ?? [0, groups.reduce((a, b) => a + b, 0)];
      if (end - start <= chunkRows) return void (await this.#predictOneChunk());
      const plans = planParquetWorkerJobs(groups, chunkRows, start, end, workers);
      const jobs = (async function* (): AsyncGenerator<JobItem> {
        for (const plan of plans) {
          yield {
            job: { kind: "parquet", path: source, segments: plan.segments, chunkSizes: plan.chunkSizes },
            firstRow: plan.firstRow,
            rows: plan.rows,
            groups: plan.segments.map((segment) => segment.group),
          };
        }
      })();
      return { jobs };
    }
    const text = typeof source === "string" && !this.#range ? await this.#textBlocks(source) : undefined;
    if (text) {
      const jobs = await this.#blockJobs(text.blocks, text.job, text.readFrom, text.lines);
      return jobs && { jobs, readFrom: text.readFrom, lines: text.lines };
    }
    const chunks = this.#inputChunks()[Symbol.asyncIterator]();
    const first = await chunks.next();
    const second = first.done ? first : await chunks.next();
    if (second.done) return void (await this.#predictOneChunk(first.done ? undefined : first.value));
    const jobs = (async function* (): AsyncGenerator<JobItem> {
      for (let next = first; !next.done; next = next === first ? second : await chunks.next()) {
        yield { job: { kind: "table", table: next.value.chunk }, firstRow: next.value.firstRow, rows: next.value.chunk.numRows };
      }
    })();
    return { jobs };
  }

  /**
   * A CSV or JSON Lines file's blocks, the job of each and how this thread reads the file on from
   * a block (`readFrom`: after `lines` lines as the format's one-pass reader counts them); undefined
   * for a file that is not cut into blocks (another format, a pipe, a CSV header that is not plain).
   */
  async #textBlocks(
    source: string,
  ): Promise<{ blocks: AsyncGenerator<TextBlock | { rest: number }>; job: (block: TextBlock) => NewChunkJob; readFrom: ReadFrom; lines: number } | undefined> {
    const { inputFormat, chunkRows } = this.#settings;
    const wanted = this.#wantedColumns();
    const read = async (chunks: AsyncIterable<ColumnTable>, firstRow: number): Promise<void> => {
      let row = firstRow;
      for await (const chunk of chunks) {
        this.#options.signal?.throwIfAborted();
        this.#noRows ??= sliceTable(chunk, 0, 0);
        await this.#predictRead(chunk, row);
        row += chunk.numRows;
      }
    };
    const columns = wanted ? { columns: wanted } : {};
    if (inputFormat === "csv") {
      const head = await this.#csvHead(source);
      if (!head) return undefined;
      // NB: the input's columns, for an output with no rows (see `#noRows`): a file of blank lines has no chunk.
      this.#noRows ??= keepColumns({ names: head.header, columns: head.header.map(() => []), numRows: 0 }, wanted && new Set(wanted));
      return {
        blocks: csvBlocks(source, head, rowsPerBlock(chunkRows), chunkRows),
        job: (block) => ({ kind: "csv", bytes: block.bytes, rows: block.rows, head: { header: head.header, lineEnd: head.lineEnd }, chunkRows }),
        // NB: the header's text, then as many line ends as csv-parse counted before the block, so it numbers lines as over the whole.
        readFrom: (offset, firstRow, lines) =>
          read(
            readCsvTail(source, offset, head.text + head.lineEnd.repeat(lines - head.lines), { chunkRows, raw: true, first: firstRow === 0, ...columns }),
            firstRow,
          ),
        lines: head.lines,
      };
    }
    if (inputFormat === "jsonl") {
      const blocks = await jsonLinesBlocks(source, rowsPerBlock(chunkRows), chunkRows);
      if (!blocks) return undefined;
      return {
        blocks,
        job: (block) => ({ kind: "jsonl", bytes: block.bytes, rows: block.rows, chunkRows }),
        readFrom: (offset, firstRow, lines) => read(readJsonLinesTail(source, offset, lines, { chunkRows, first: firstRow === 0, ...columns }), firstRow),
        lines: 0,
      };
    }
    return undefined;
  }

  /** A text file's blocks as jobs; undefined when the file was read here in one pass (a file of one block, or none). */
  async #blockJobs(
    blocks: AsyncGenerator<TextBlock | { rest: number }>,
    job: (block: TextBlock) => NewChunkJob,
    readFrom: ReadFrom,
    lines: number,
  ): Promise<AsyncIterator<JobItem> | undefined> {
    const first = await blocks.next();
    const second = first.done || "rest" in first.value ? undefined : await blocks.next();
    if (second === undefined || second.done) {
      await blocks.return(undefined);
      // NB: a file of no records is read as one thread reads it (its one chunk of no rows is predicted).
      if (first.done) await this.#predictOneChunk();
      else await readFrom("rest" in first.value ? first.value.rest : first.value.offset, 0, lines);
      return undefined;
    }
    return (async function* (): AsyncGenerator<JobItem> {
      let firstRow = 0;
      try {
        for (let next: IteratorResult<TextBlock | { rest: number }> = first; !next.done; next = next === first ? second : await blocks.next()) {
          const block = next.value;
          if ("rest" in block) {
            yield { rest: block.rest, firstRow };
            return;
          }
          yield { job: job(block), firstRow, rows: block.rows, offset: block.offset };
          firstRow += block.rows;
        }
      } finally {
        await blocks.return(undefined);
      }
    })();
  }

  /** Decodes some row groups of the Parquet input, in order, in a thread of its own. @throws FormatError naming the file when one is damaged. */
  async #checkParquetGroups(groups: readonly number[]): Promise<void> {
    const rowGroups = [...new Set(groups)].sort((a, b) => a - b);
    const columns = this.#wantedColumns();
    for await (const table of parquetFileTables(this.#settings.source as string, this.#settings.chunkRows, { columns, rowGroups })) void table;
  }

  /** An input of at most one chunk, predicted on this thread. */
  async #predictOneChunk(only?: { chunk: ColumnTable; firstRow: number }): Promise<void> {
    if (!only) {
      for await (const next of this.#inputChunks()) {
        only = next;
        break;
      }
    }
    if (only) {
      this.rowsRead += only.chunk.numRows;
      await this.#predictChunk(only.chunk, only.firstRow, this.#options.params);
      this.#options.onProgress?.(this.rowsRead, this.#total);
    }
  }

  /**
   * Writes a job's chunks as its thread answers them; a chunk it could not predict is predicted here
   * again, to fail or set rows aside as on one thread. Returns the job's last answer: `done`, or
   * `reread` (a block of a text file this thread is to read itself).
   */
  async #writeAnswers({ answers, firstRow }: Submitted): Promise<Extract<ChunkAnswer, { kind: "done" | "reread" }>> {
    const { params, onProgress, signal } = this.#options;
    let row = firstRow;
    for (;;) {
      const answer = await answers.next();
      signal?.throwIfAborted();
      if (answer.kind === "done" || answer.kind === "reread") return answer;
      if (answer.kind === "error") throw new FormatError(answer.message);
      if (answer.kind === "output") {
        const first = row;
        await this.#writeOutput(answer.output, () => Array.from({ length: answer.rows }, (_, i) => first + i + 1));
        row += answer.rows;
        this.rowsRead += answer.rows;
      } else if (answer.kind === "encoded") {
        // NB: the threads encode only for a writer that takes encoded rows (see #predictInWorkers).
        if (!this.writer.writeEncoded) throw new BatchError("A thread encoded rows for a writer that takes none.", { code: "BAD_OUTPUT" });
        this.#wroteOutput = true;
        await this.writer.writeEncoded(answer.encoded);
        row += answer.rows;
        this.rowsRead += answer.rows;
      } else {
        await this.#predictChunk(answer.input, row, params);
        row += answer.input.numRows;
        this.rowsRead += answer.input.numRows;
      }
      onProgress?.(this.rowsRead, this.#total);
    }
  }

  /** How this run predicts: its params, runner, and whether cells are CSV text. */
  #predictOptions(params: Record<string, unknown> | null | undefined): PredictOptions {
    const { runner } = this.#options;
    return {
      ...(params !== undefined ? { params } : {}),
      ...(runner ? { runner } : {}),
      ...this.#settings.cells,
    };
  }

  /** Predicts one chunk (`firstRow`: its first row's number in the input, from 0) and writes the prediction. */
  async #predictChunk(input: ColumnTable, firstRow: number, params: Record<string, unknown> | null | undefined): Promise<void> {
    this.#noRows ??= sliceTable(input, 0, 0);
    const predictOptions = this.#predictOptions(params);
    let output: unknown;
    // NB: the input row numbers (from 1) of the rows predicted, for --row-number.
    let rows: (skip?: ReadonlySet<number>) => number[] = () => Array.from({ length: input.numRows }, (_, i) => firstRow + i + 1);
    try {
      output = await this.#model.predict(input, predictOptions);
    } catch (error) {
      if (!isBadInput(error)) throw error;
      this.#checkColumns(input);
      if (this.#settings.onError === "fail") throw this.#stopAtBadRow(error, input, firstRow);
      const { good, badRows } = await this.#setAsideBadRows(error, input, firstRow);
      if (good.numRows === 0) return;
      const all = rows;
      rows = () => all().filter((n) => !badRows.has(n - 1));
      output = await this.#model.predict(good, predictOptions);
    }
    await this.#writeOutput(output, rows);
  }

  /**
   * @throws BatchError when the input's columns, not its rows, do not fit the signature (a required
   * column missing): every row would be "bad", so no row is to blame and none can be set aside.
   */
  #checkColumns(input: ColumnTable): void {
    const inputs = this.#model.signature?.inputs;
    // NB: a JSON Lines chunk has the keys its lines have: a line without a key is a bad row of its own.
    if (!inputs || this.#settings.inputFormat === "jsonl") return;
    const missing = missingColumns(new Set(input.names), inputs);
    if (missing.length === 0) return;
    // NB: MLflow's words first, as the one-row check words it.
    throw new BatchError(
      `${MLFLOW_WORDING.missingInputs} ${pyList(missing)}: the input has no such column, which the model's signature requires, so no row can be predicted. Fix the input's columns (--on-error skip sets bad rows aside, not missing columns).`,
    );
  }

  /** The error that stops a run at a bad input row: the chunk checked again, to name the row as the input numbers it. */
  #stopAtBadRow(error: Error, input: ColumnTable, firstRow: number): Error {
    const inputs = this.#model.signature?.inputs;
    let detail: Error | undefined;
    try {
      if (inputs) enforceSchema(input, inputs, { ...this.#settings.cells, rowOffset: firstRow + 1 });
    } catch (located) {
      detail = located as Error;
    }
    // NB: when the rows pass the input schema the fault lies elsewhere (e.g. bad params): no row to name, so no "bad input row".
    if (!detail) return error;
    return new BatchError(
      `Stopped at a bad input row (rows counted from 1, header excluded): ${detail.message} Use --on-error skip to set such rows aside and go on.`,
      { code: "BAD_ROW", cause: detail },
    );
  }

  /** Writes a chunk's bad rows to OUTPUT.errors.jsonl (stderr for stdout) and returns its good rows. @throws `error` when no row is bad. */
  async #setAsideBadRows(error: Error, input: ColumnTable, firstRow: number): Promise<{ good: ColumnTable; badRows: ReadonlySet<number> }> {
    const { good, bad } = splitBadRows(input, this.#model.signature?.inputs ?? undefined, this.#settings.cells, firstRow);
    if (bad.length === 0) throw error;
    this.rowsSkipped += bad.length;
    const lines = badRowLines(input, firstRow, bad);
    // NB: with the output on stdout there is no OUTPUT.errors.jsonl; the bad rows go to stderr, as the CLI's summary says.
    if (this.#errorsPartial) {
      this.#errorsWritten = true;
      await appendFile(this.#errorsPartial, lines);
    } else process.stderr.write(lines);
    return { good, badRows: new Set(bad.map((b) => b.row)) };
  }

  /** Writes a prediction; an output that is no table is the model's fault, never a bad input row. */
  async #writeOutput(output: unknown, rows: () => number[]): Promise<void> {
    let table: ColumnTable;
    try {
      table = outputToTable(output);
    } catch (cause) {
      throw new BatchError(`The model's output cannot be written as a table: ${(cause as Error).message}`, { code: "BAD_OUTPUT", cause });
    }
    const column = this.#settings.rowNumberColumn;
    if (column !== undefined) table = withRowNumbers(table, column, rows());
    this.#wroteOutput = true;
    await this.writer.write(table);
  }
}

/** The predictions with their input row numbers as the first column. @throws BatchError when they cannot be paired up. */
function withRowNumbers(table: ColumnTable, column: string, rows: number[]): ColumnTable {
  if (table.names.includes(column)) {
    throw new BatchError(`--row-number ${column}: the predictions already have a column "${column}"; pick another name.`, { code: "USAGE" });
  }
  if (table.numRows !== rows.length) {
    throw new BatchError(
      `--row-number needs one prediction per input row; the model answered ${table.numRows} rows for ${rows.length}. Predict without --row-number.`,
      { code: "BAD_OUTPUT" },
    );
  }
  return { names: [column, ...table.names], columns: [rows, ...table.columns], numRows: table.numRows };
}

/** Counts the rows of an input that is not Parquet (whose footer says), for shards, by reading it. */
async function countRows(input: string, format: TableFormat, chunkRows: number): Promise<number> {
  // NB: JSON cannot be read in chunks; it is read whole anyway, so read it twice rather than fail a shard of it.
  if (format === "json") return (await readJsonInput(input, false)).table.numRows;
  let n = 0;
  for await (const chunk of readTableChunks(input, { format, chunkRows: Math.max(chunkRows, 65_536), raw: true })) n += chunk.numRows;
  return n;
}

/** Reads `format: json` input: an MLflow request body (`dataframe_split`, …) or an array of row objects. */
async function readJsonInput(source: string | Readable, paramsDeclared: boolean): Promise<{ table: ColumnTable; params: Record<string, unknown> | null }> {
  let bytes: Buffer;
  if (typeof source === "string") bytes = await readFile(source).catch((cause: unknown) => Promise.reject(inputFileError(source, cause)));
  else {
    const parts: Buffer[] = [];
    for await (const part of source) parts.push(Buffer.from(part as Buffer));
    bytes = Buffer.concat(parts);
  }
  // NB: as `serve` refuses such a body (and CSV and JSON Lines inputs, see checkedUtf8): bad bytes were read as U+FFFD without a word.
  if (!isUtf8(bytes))
    throw new NotUtf8Error(
      `The JSON input${typeof source === "string" ? ` ${source}` : ""} is not valid UTF-8 (Latin-1 or Windows-1252 text?). ${SAVE_AS_UTF8}`,
    );
  const text = bytes.toString("utf8");
  let value: unknown;
  try {
    // NB: within MAX_JSON_DEPTH, as a request body: deeper values overflow the stack of what walks them (bad rows' JSON).
    value = parseJsonWithin(text);
  } catch (cause) {
    if (!(cause instanceof SyntaxError)) throw cause;
    throw new FormatError(`The JSON input is not valid JSON: ${cause.message}`, { cause });
  }
  // A bare NaN token (as Python's json writes a missing float) is a missing value; parseJsonRequest does the same.
  if (Array.isArray(value)) return { table: holdsNaN(value) ? nanAsMissing(tableFromRecords(value)) : tableFromRecords(value), params: null };
  const request = parseJsonRequest(value, undefined, undefined, { paramsDeclared });
  return { table: request.table, params: request.params };
}

/**
 * Checks, before any work, that the input can be read and the output written (`-`, stdin or
 * stdout, always can): `predictFile` does, and a caller may too before it loads the model.
 * @throws FileAccessError naming the path, what is wrong with it and the fix.
 */
export async function checkPredictFiles(options: Pick<PredictFileOptions, "input" | "output">): Promise<void> {
  if (options.input !== "-") await checkInputFile(options.input);
  if (options.output !== "-") await checkOutputFile(options.output);
  if (options.input !== "-" && options.output !== "-" && (await sameFile(options.input, options.output))) {
    throw new FileAccessError(
      `Cannot write ${options.output}: it is the input file, which the predictions would replace. Write them to another file.`,
      "UNWRITABLE_OUTPUT",
    );
  }
}

/** Whether two paths name one file (the same device and inode: links and `./` spellings too). */
async function sameFile(a: string, b: string): Promise<boolean> {
  const [x, y] = await Promise.all([stat(a).catch(() => undefined), stat(b).catch(() => undefined)]);
  return x !== undefined && y !== undefined && x.dev === y.dev && x.ino === y.ino;
}

/**
 * Predicts a file with a loaded model, like `mlflow models predict` but streaming: a row-wise
 * model reads, predicts and writes chunk by chunk in bounded memory; another reads the input
 * whole. The output appears under its name only when complete.
 * @throws BatchError naming the row (1-based) and the problem for the first bad row (unless `onError: "skip"`).
 */
export async function predictFile(model: PipelineModel, options: PredictFileOptions): Promise<PredictFileResult> {
  const started = process.hrtime.bigint();
  await checkPredictFiles(options);
  const settings = checkOptions(model, options);
  if (typeof settings.source === "string") await checkInputFile(settings.source, settings.inputFormat);
  // NB: the temporary outputs of runs into this folder that were killed (SIGKILL, a crash): their writers are gone.
  // NB: in the folder of the file written (a link's target's), where its partials are, and the output's own (its errors file's).
  // NB: where the output goes (see outputTarget); undefined for stdout.
  const place = options.output === "-" ? undefined : outputTarget(options.output);
  const atomic = place?.atomic === true;
  if (place && atomic) for (const folder of new Set([dirname(place.file), dirname(options.output)])) await removeStalePartials(folder);
  const run = new BatchRun(model, options, settings, await plannedRows(options, settings), atomic);
  await run.run();
  return {
    rowsRead: run.rowsRead,
    rowsWritten: run.writer.rowsWritten,
    rowsSkipped: run.rowsSkipped,
    ...(run.errorsFile && run.rowsSkipped > 0 ? { errorsFile: run.errorsFile } : {}),
    chunked: settings.chunked,
    threads: run.threads,
    seconds: Number(process.hrtime.bigint() - started) / 1e9,
  };
}
