/**
 * The code of each `predict --workers` thread: loads the model once, then predicts the jobs it is
 * sent, one at a time, and answers each chunk's predictions in order (see chunk-jobs.ts).
 */
import { parentPort, workerData } from "node:worker_threads";
import { loadModel, type PipelineModel } from "../loader/index.js";
import {
  csvBlockTables,
  encodeTextRows,
  fromArrow,
  jsonLinesBlockTables,
  outputToTable,
  readParquetSegments,
  regroupRows,
  type ColumnTable,
  type EncodedRows,
} from "../tabular/index.js";
import type { ChunkAnswer, ChunkJob, ChunkWorkerData, CloseMessage } from "./chunk-jobs.js";

const data = workerData as ChunkWorkerData;

async function load(): Promise<PipelineModel> {
  // NB: the model's code imports `pipeserve`, which the package's main entry registers.
  if (data.hostEntry) await import(data.hostEntry);
  return loadModel(data.modelDir);
}

const model = load();
const predictOptions = {
  ...(data.params !== undefined ? { params: data.params } : {}),
  ...(data.runner ? { runner: data.runner } : {}),
  ...data.cells,
};

function answer(message: ChunkAnswer): void {
  // NB: encoded rows are moved to the main thread, not copied.
  parentPort?.postMessage(message, message.kind === "encoded" ? [message.encoded.bytes.buffer as ArrayBuffer] : []);
}

async function predictChunk(id: number, input: ColumnTable): Promise<void> {
  let output: ColumnTable;
  try {
    output = outputToTable(await (await model).predict(input, predictOptions));
  } catch {
    answer({ id, kind: "redo", input });
    return;
  }
  if (!data.encode) {
    answer({ id, kind: "output", output, rows: input.numRows });
    return;
  }
  // NB: a text output is encoded here, where the work is shared, and its bytes moved: the main thread
  // only writes them. An output that cannot be encoded (an invalid Date, a nested bigint) is predicted
  // and written again by the main thread, to fail as one thread does.
  let encoded: EncodedRows;
  try {
    encoded = encodeTextRows(output, data.encode);
  } catch {
    answer({ id, kind: "redo", input });
    return;
  }
  answer({ id, kind: "encoded", encoded, rows: input.numRows });
}

/** The chunks of a Parquet job: its segments decoded here, cut into the main thread's chunk sizes. */
async function* parquetChunks(job: Extract<ChunkJob, { kind: "parquet" }>): AsyncGenerator<ColumnTable> {
  const only = data.columns ? new Set(data.columns) : undefined;
  const sizes = job.chunkSizes;
  const batchSize = Math.max(...sizes, 1);
  const decoded = (async function* (): AsyncGenerator<ColumnTable> {
    for await (const arrow of readParquetSegments(job.path, job.segments, batchSize, data.columns)) yield fromArrow(arrow, only);
  })();
  let n = 0;
  for await (const chunk of regroupRows(decoded, sizes)) {
    // NB: rows past the job's chunks (there are none in a well-formed file) are not this job's.
    if (n === sizes.length) break;
    if (chunk.numRows !== sizes[n]) break;
    n++;
    yield chunk;
  }
  if (n < sizes.length) throw new Error(`The Parquet file ${job.path} has fewer rows than its footer declares.`);
}

async function run(job: ChunkJob): Promise<void> {
  await model;
  if (job.kind === "table") await predictChunk(job.id, job.table);
  else if (job.kind === "csv" || job.kind === "jsonl") {
    // NB: the whole block is checked before any chunk is answered, so `reread` is its only answer;
    // a block that cannot be made tables here (any error) is read by the main thread, which fails as one thread does.
    let parsed: { tables: ColumnTable[]; lines: number } | undefined;
    try {
      parsed =
        job.kind === "csv"
          ? csvBlockTables(job.bytes, job.head, job.rows, job.chunkRows, data.columns)
          : jsonLinesBlockTables(job.bytes, job.rows, job.chunkRows, data.columns);
    } catch {
      parsed = undefined;
    }
    if (!parsed) {
      answer({ id: job.id, kind: "reread" });
      return;
    }
    for (const table of parsed.tables) await predictChunk(job.id, table);
    answer({ id: job.id, kind: "done", lines: parsed.lines });
    return;
  } else {
    try {
      for await (const chunk of parquetChunks(job)) await predictChunk(job.id, chunk);
    } catch (error) {
      answer({ id: job.id, kind: "error", message: (error as Error).message });
      return;
    }
  }
  answer({ id: job.id, kind: "done" });
}

// NB: jobs run one after another: the pool sends a thread its next job only once it answered `done`.
let queue: Promise<void> = model.then(() => undefined);
parentPort?.on("message", (message: ChunkJob | CloseMessage) => {
  if (message.kind === "close") {
    // NB: jobs still under way are dropped (the pool stops waiting for their answers).
    void model
      .then((m) => m.close())
      .catch(() => undefined)
      .finally(() => process.exit(0));
    return;
  }
  queue = queue.then(() => run(message));
});
