import type { Worker } from "node:worker_threads";
import { startModuleWorker } from "../util/index.js";
import { CLOSE_MESSAGE, type ChunkAnswer, type ChunkJob, type ChunkWorkerData, type NewChunkJob } from "./chunk-jobs.js";

/** How long a thread asked to end may take to close its model before it is terminated. */
const CLOSE_WAIT_MS = 2_000;
import { BatchError } from "./errors.js";

/** A job's answers as they come, read in order by `next()`. */
export class JobAnswers {
  readonly #answers: ChunkAnswer[] = [];
  #failure: Error | undefined;
  #waiting: { resolve: (a: ChunkAnswer) => void; reject: (e: Error) => void } | undefined;

  /** What the job is, for errors: e.g. "rows 1–70000". */
  constructor(readonly what: string) {}

  push(answer: ChunkAnswer): void {
    if (this.#waiting) this.#waiting.resolve(answer);
    else this.#answers.push(answer);
    this.#waiting = undefined;
  }

  fail(error: Error): void {
    this.#failure ??= error;
    this.#waiting?.reject(this.#failure);
    this.#waiting = undefined;
  }

  /** The next answer; a job's last one is `done` (or `error`). @throws BatchError (WORKER_FAILED) when its thread stopped. */
  next(): Promise<ChunkAnswer> {
    const answer = this.#answers.shift();
    if (answer) return Promise.resolve(answer);
    if (this.#failure) return Promise.reject(this.#failure);
    return new Promise((resolve, reject) => {
      this.#waiting = { resolve, reject };
    });
  }
}

interface Queued {
  job: ChunkJob;
  answers: JobAnswers;
}

/** One thread and the job it runs. */
interface Thread {
  number: number;
  worker: Worker;
  job: Queued | undefined;
  /** Whether the thread has ended (its `exit` came): `close` then waits for nothing. */
  exited: boolean;
}

/**
 * The threads of `predict --workers N`: each loads the model and predicts the jobs it is given,
 * one at a time; threads start as jobs arrive, up to `size`. A thread that stops (a crash, an exit
 * of the model's code) fails its job, and every job after it, with an error naming it.
 */
export class ChunkWorkerPool {
  readonly #size: number;
  readonly #data: ChunkWorkerData;
  readonly #threads: Thread[] = [];
  readonly #queue: Queued[] = [];
  #nextId = 1;
  #failure: Error | undefined;
  #closed = false;

  constructor(size: number, data: ChunkWorkerData) {
    this.#size = size;
    this.#data = data;
  }

  /** Queues a job (its id is set here); its answers come in order through the returned object. */
  submit(job: NewChunkJob, what: string): JobAnswers {
    const answers = new JobAnswers(what);
    if (this.#failure) {
      answers.fail(this.#failure);
      return answers;
    }
    this.#queue.push({ job: { ...job, id: this.#nextId++ } as ChunkJob, answers });
    this.#dispatch();
    return answers;
  }

  #dispatch(): void {
    while (!this.#closed && this.#queue.length > 0) {
      let thread = this.#threads.find((t) => t.job === undefined);
      if (!thread && this.#threads.length < this.#size) thread = this.#start();
      if (!thread) return;
      const queued = this.#queue.shift() as Queued;
      thread.job = queued;
      // NB: a text file's block (CSV, JSON Lines) is moved to the thread, not copied.
      thread.worker.postMessage(queued.job, "bytes" in queued.job ? [queued.job.bytes.buffer as ArrayBuffer] : []);
    }
  }

  #start(): Thread {
    const worker = startModuleWorker(new URL("./chunk-worker-entry.js", import.meta.url), { workerData: this.#data });
    const thread: Thread = { number: this.#threads.length + 1, worker, job: undefined, exited: false };
    this.#threads.push(thread);
    worker.on("message", (answer: ChunkAnswer) => {
      const current = thread.job;
      if (!current || current.job.id !== answer.id) return;
      current.answers.push(answer);
      if (answer.kind === "done" || answer.kind === "error" || answer.kind === "reread") {
        thread.job = undefined;
        this.#dispatch();
      }
    });
    const stopped = (why: string): void => {
      if (this.#closed) return;
      const what = thread.job ? ` while predicting ${thread.job.answers.what}` : "";
      this.#fail(
        new BatchError(
          `Prediction worker thread ${thread.number} of ${this.#size} ${why}${what}. The output was not written. Run with --workers 1 to predict on the main thread and see the model's own error.`,
          { code: "WORKER_FAILED" },
        ),
      );
    };
    worker.on("error", (error) => stopped(`failed: ${error.message}`));
    worker.on("exit", (code) => {
      thread.exited = true;
      stopped(`stopped with exit code ${code}`);
    });
    return thread;
  }

  #fail(error: Error): void {
    this.#failure ??= error;
    for (const t of this.#threads) t.job?.answers.fail(this.#failure);
    for (const q of this.#queue.splice(0)) q.answers.fail(this.#failure);
  }

  /**
   * Stops every thread; jobs not answered yet are dropped. Each thread is first asked to close its
   * model (which removes the private copy of its code that loading made) and end; one that has
   * not ended within CLOSE_WAIT_MS is terminated. NB: terminated at once, each thread left its
   * `pipeserve-code-*` folder in the temp folder, every run (found by an audit).
   */
  async close(): Promise<void> {
    this.#closed = true;
    this.#queue.length = 0;
    await Promise.all(
      this.#threads.map(async ({ worker, exited }) => {
        if (exited) return;
        // NB: `exit` alone (events.once would reject on the thread's `error`, leaving the timer and the thread).
        const ended = new Promise<boolean>((resolve) => worker.once("exit", () => resolve(true)));
        try {
          worker.postMessage(CLOSE_MESSAGE);
        } catch {
          // NB: a thread that already ended takes no message.
        }
        let timer: NodeJS.Timeout | undefined;
        const late = new Promise<boolean>((resolve) => {
          timer = setTimeout(() => resolve(false), CLOSE_WAIT_MS);
          timer.unref();
        });
        try {
          if (!(await Promise.race([ended, late]))) await worker.terminate();
        } finally {
          clearTimeout(timer);
        }
      }),
    );
  }
}
