import type { Worker, TransferListItem } from "node:worker_threads";
import { startModuleWorker, usableCores } from "../../util/index.js";
import { PipelineError } from "../errors.js";
import { hostEntryUrl } from "../host-modules.js";
import type { Node } from "../node.js";
import type { Pipeline } from "../pipeline.js";
import { SchedulingRunner, type RunState } from "./runner.js";
import { decodeRecord, encodeRecord } from "./transfer.js";
import type { ResultMessage, TaskMessage } from "./worker-protocol.js";

export interface WorkerRunnerOptions {
  /** Worker threads to start at most; one less than the cores (at least 1) by default. */
  maxWorkers?: number;
}

interface Job {
  task: TaskMessage;
  transfer: TransferListItem[];
  pending: Pending;
  /** The thread running it, once it runs. */
  worker?: PoolWorker;
}

interface Pending {
  resolve(outputs: Record<string, unknown>): void;
  reject(error: Error): void;
}

/**
 * Starts a worker thread on the entry module (see `startModuleWorker`, which also sets V8's
 * WebAssembly tiering before it: the model's nodes may read Parquet in the thread).
 */
function startWorker(): Worker {
  return startModuleWorker(new URL("./worker-entry.js", import.meta.url));
}

const BUILTIN_ERRORS: ReadonlyMap<string, ErrorConstructor> = new Map(
  [Error, TypeError, RangeError, ReferenceError, SyntaxError, EvalError, URIError].map((c) => [c.name, c as ErrorConstructor]),
);

/** One worker thread and the task it runs, if any. */
class PoolWorker {
  readonly worker: Worker;
  busy: (Pending & { id: number }) | undefined;

  constructor(onExit: (w: PoolWorker, error: Error) => void) {
    this.worker = startWorker();
    this.worker.unref();
    this.worker.on("message", (msg: ResultMessage) => {
      const task = this.busy;
      if (!task || task.id !== msg.id) return;
      this.busy = undefined;
      this.worker.unref();
      if (msg.ok) task.resolve(decodeRecord(msg.outputs));
      else {
        // A built-in error class (TypeError, RangeError, …) comes back as itself; others as an Error with their name.
        const ErrorClass = BUILTIN_ERRORS.get(msg.error.name) ?? Error;
        const error = new ErrorClass(msg.error.message);
        error.name = msg.error.name;
        error.stack = msg.error.stack;
        task.reject(error);
      }
    });
    const fail = (error: Error): void => {
      const task = this.busy;
      this.busy = undefined;
      task?.reject(error);
      onExit(this, error);
    };
    this.worker.on("error", fail);
    this.worker.on("exit", (code) => fail(new Error(`The worker thread exited with code ${code} while running a node.`)));
  }

  run(task: TaskMessage, transfer: TransferListItem[]): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => {
      this.busy = { id: task.id, resolve, reject };
      this.worker.ref();
      try {
        this.worker.postMessage(task, transfer);
      } catch (error) {
        // NB: inputs that cannot be cloned throw here; the thread stays idle and must not keep the process alive.
        this.busy = undefined;
        this.worker.unref();
        reject(error as Error);
      }
    });
  }
}

/**
 * Runs nodes in `worker_threads`, ready nodes in parallel, for CPU-heavy nodes. Nodes must come
 * from an importable module: the pipeline needs a `source` (a packaged model has one; in code use
 * `pipeline(nodes, { source: { module: import.meta.url, exportName } })`). Inputs and outputs
 * cross threads by structured clone, DataFrames as their columns and Arrow tables as transferred
 * IPC buffers. Threads stay up between runs; `close()` stops them.
 *
 * `close()` rejects the nodes still waiting for a thread and starts no thread for them; the nodes
 * running fail as their threads stop. Closing is not final: a node sent to the runner afterwards
 * (a later run) starts fresh threads.
 */
export class WorkerRunner extends SchedulingRunner {
  readonly name = "WorkerRunner";
  readonly #idle: PoolWorker[] = [];
  readonly #all = new Set<PoolWorker>();
  readonly #queue: Job[] = [];
  #nextId = 1;
  /** Set by `close()` so stopping threads start no new ones; cleared when new work arrives. */
  #closed = false;

  constructor(options: WorkerRunnerOptions = {}) {
    super(options.maxWorkers ?? Math.max(1, usableCores() - 1), "WorkerRunner maxWorkers");
  }

  protected override validate(pipeline: Pipeline): void {
    if (!pipeline.source) {
      throw new PipelineError(
        'WorkerRunner runs nodes in other threads, which must import them: give the pipeline a source, e.g. pipeline(nodes, { source: { module: import.meta.url, exportName: "inference" } }), or serve a packaged model.',
        { code: "NO_PIPELINE_SOURCE" },
      );
    }
  }

  protected override execute(node: Node, inputs: Record<string, unknown>, state: RunState): Promise<Record<string, unknown>> {
    const source = state.context.pipeline.source as NonNullable<Pipeline["source"]>;
    const transfer: TransferListItem[] = [];
    const task: TaskMessage = {
      id: this.#nextId++,
      module: source.module,
      hostEntry: hostEntryUrl(),
      exportName: source.exportName,
      nodeName: node.name,
      inputs: encodeRecord(inputs, transfer),
    };
    const stop = state.stop;
    return new Promise((resolve, reject) => {
      this.#closed = false;
      if (!stop) {
        this.#queue.push({ task, transfer, pending: { resolve, reject } });
        this.#dispatch();
        return;
      }
      // A stopped run's node leaves the queue, or its thread is ended: abandoned work does not keep a thread busy.
      const job: Job = {
        task,
        transfer,
        pending: {
          resolve: (outputs) => {
            unsubscribe();
            resolve(outputs);
          },
          reject: (error) => {
            unsubscribe();
            reject(error);
          },
        },
      };
      const unsubscribe = stop.onStop(() => this.#abandon(job, stop.reason as Error));
      this.#queue.push(job);
      this.#dispatch();
    });
  }

  /** Drops a job of a stopped run: out of the queue, or its thread terminated (the pool starts another when needed). */
  #abandon(job: Job, reason: Error): void {
    const i = this.#queue.indexOf(job);
    if (i >= 0) {
      this.#queue.splice(i, 1);
      job.pending.reject(reason);
      return;
    }
    if (job.worker && job.worker.busy?.id === job.task.id) {
      this.abandonedThreads++;
      void job.worker.worker.terminate();
    }
  }

  /** Threads ended because the run of the node they ran was stopped. */
  abandonedThreads = 0;

  #dispatch(): void {
    while (!this.#closed && this.#queue.length > 0) {
      let worker = this.#idle.pop();
      if (!worker && this.#all.size < this.maxConcurrency) {
        worker = new PoolWorker((w) => {
          this.#all.delete(w);
          const i = this.#idle.indexOf(w);
          if (i >= 0) this.#idle.splice(i, 1);
          this.#dispatch();
        });
        this.#all.add(worker);
      }
      if (!worker) return;
      const job = this.#queue.shift() as Job;
      const w = worker;
      job.worker = w;
      w.run(job.task, job.transfer).then(
        (outputs) => {
          if (this.#all.has(w)) this.#idle.push(w);
          job.pending.resolve(outputs);
          this.#dispatch();
        },
        (error: Error) => {
          if (this.#all.has(w)) this.#idle.push(w);
          job.pending.reject(error);
          this.#dispatch();
        },
      );
    }
  }

  /**
   * Stops every worker thread and rejects the nodes still waiting for one with a `PipelineError`
   * (their runs fail with a `NodeError` caused by it). The runner starts new threads if it runs again.
   */
  async close(): Promise<void> {
    this.#closed = true;
    const waiting = this.#queue.splice(0);
    for (const job of waiting) {
      job.pending.reject(new PipelineError("The WorkerRunner was closed before this node could start.", { code: "RUNNER_CLOSED" }));
    }
    const workers = [...this.#all];
    this.#all.clear();
    this.#idle.length = 0;
    await Promise.all(workers.map((w) => w.worker.terminate()));
  }
}
