import type { BatchRunOptions, Hooks, PipelineModel, Prediction, PreparedInput } from "../loader/index.js";

interface Waiting {
  input: PreparedInput;
  /** When the request's run must end (ms, `performance.now()` clock). */
  deadline: number;
  resolve(prediction: Prediction): void;
  reject(error: unknown): void;
}

export interface BatcherOptions {
  /** Rows one batched run may hold; a request with this many rows or more runs alone. 1 turns batching off. */
  maxRows: number;
  /** Hooks for the next pipeline run, if it is to be observed (the server samples node timings). */
  hooksForRun?: () => Hooks | undefined;
  /** Told the number of requests of every pipeline run (retries of a failed batch included). */
  onRun?: (requests: number) => void;
  /** Told when a run stopped at its deadline with nodes still running (see `RunOptions.onAbandoned`). */
  onAbandoned?: (settled: Promise<void>) => void;
}

/**
 * Adaptive batching of small concurrent requests for row-wise models. A request does not wait for
 * company: those that arrive while the event loop is busy (their bodies read in the same turn)
 * are run together in one pipeline run at the end of the turn, grouped by `batchKey` (same
 * columns, params and runner) and at most `maxRows` rows a run. Under light load every request
 * runs alone, as soon as it is read; under heavy load many share one run's overhead. Each
 * request still gets the output, or the error, it would have had alone (`PipelineModel.runBatch`).
 */
export class PredictionBatcher {
  readonly #model: PipelineModel;
  readonly #maxRows: number;
  readonly #hooksForRun: () => Hooks | undefined;
  readonly #onRun: (requests: number) => void;
  readonly #onAbandoned: ((settled: Promise<void>) => void) | undefined;
  #waiting = new Map<string, Waiting[]>();
  #scheduled = false;
  readonly #flush = (): void => this.flush();

  constructor(model: PipelineModel, options: BatcherOptions) {
    this.#model = model;
    this.#maxRows = options.maxRows;
    this.#hooksForRun = options.hooksForRun ?? (() => undefined);
    this.#onRun = options.onRun ?? (() => undefined);
    this.#onAbandoned = options.onAbandoned;
  }

  /**
   * Runs a prepared request, alone or in the batch of its turn, to end by `deadline` (ms on the
   * `performance.now()` clock; a batch's run ends by its members' latest, a turn apart at most).
   * @throws RunTimeoutError when the run passes its deadline.
   */
  submit(input: PreparedInput, deadline: number): Promise<Prediction> {
    const key = input.batchKey;
    const rows = input.table.numRows;
    // NB: an empty input runs alone: zero rows can not be told apart in a stacked output.
    if (key === undefined || rows === 0 || rows >= this.#maxRows) return this.#runAlone(input, deadline);
    return new Promise<Prediction>((resolve, reject) => {
      let group = this.#waiting.get(key);
      if (!group) this.#waiting.set(key, (group = []));
      group.push({ input, deadline, resolve, reject });
      if (!this.#scheduled) {
        this.#scheduled = true;
        setImmediate(this.#flush);
      }
    });
  }

  /** Starts a run for every waiting batch. */
  flush(): void {
    this.#scheduled = false;
    const groups = this.#waiting;
    this.#waiting = new Map();
    for (const group of groups.values()) {
      let batch: Waiting[] = [];
      let rows = 0;
      for (const waiting of group) {
        const n = waiting.input.table.numRows;
        if (batch.length > 0 && rows + n > this.#maxRows) {
          this.#start(batch);
          batch = [];
          rows = 0;
        }
        batch.push(waiting);
        rows += n;
      }
      if (batch.length > 0) this.#start(batch);
    }
  }

  #runOptions(deadline: number): BatchRunOptions {
    const options: BatchRunOptions = { deadline, onRun: this.#onRun };
    const hooks = this.#hooksForRun();
    if (hooks) options.hooks = hooks;
    if (this.#onAbandoned) options.onAbandoned = this.#onAbandoned;
    return options;
  }

  #runAlone(input: PreparedInput, deadline: number): Promise<Prediction> {
    this.#onRun(1);
    return this.#model.run(input, this.#runOptions(deadline));
  }

  #start(batch: Waiting[]): void {
    if (batch.length === 1) {
      const only = batch[0] as Waiting;
      this.#runAlone(only.input, only.deadline).then(only.resolve, only.reject);
      return;
    }
    let deadline = 0;
    for (const w of batch) deadline = Math.max(deadline, w.deadline);
    this.#model
      .runBatch(
        batch.map((w) => w.input),
        this.#runOptions(deadline),
      )
      .then(
        (results) =>
          results.forEach((result, i) => {
            const waiting = batch[i] as Waiting;
            if (result.status === "fulfilled") waiting.resolve(result.value);
            else waiting.reject(result.reason);
          }),
        (error: unknown) => batch.forEach((w) => w.reject(error)),
      );
  }
}
