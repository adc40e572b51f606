import { randomUUID } from "node:crypto";
import type { DataCatalog } from "../catalog.js";
import { copyData, copyModeFor } from "../copy-mode.js";
import { MemoryDataset } from "../datasets/memory-dataset.js";
import { DatasetError, NodeError, PipelineError } from "../errors.js";
import type { Hooks, NodeContext, RunContext } from "../hooks.js";
import type { Node } from "../node.js";
import type { Pipeline } from "../pipeline.js";
import { RunStop, neverAborted } from "./run-stop.js";

export interface RunOptions {
  hooks?: Hooks | readonly Hooks[];
  /** Names the run in hook calls; a random UUID by default. */
  runId?: string;
  /**
   * Stops the run when it fires: no node starts afterwards, and the run rejects at once with the
   * signal's reason (a `RunAbortedError` when it is no Error). Nodes still running are abandoned:
   * the `WorkerRunner` ends their threads; a node made with `signal: true` gets the run's signal
   * to stop itself.
   */
  signal?: AbortSignal;
  /**
   * When the run must end, in ms on the `performance.now()` clock: past it no node starts and the
   * run rejects with a `RunTimeoutError`, as if `signal` had fired. NB: checked before each node
   * too, since a timer cannot fire while nodes compute synchronously; a single node that blocks
   * the thread delays the rejection until it returns (run it on the `WorkerRunner` to be stopped on time).
   */
  deadline?: number;
  /** Told when the run stopped while nodes were still running, with a promise that settles once they end (never, for a node that hangs). */
  onAbandoned?: (settled: Promise<void>) => void;
}

/** What every runner offers: run a pipeline against a catalog and return its free outputs. */
export interface Runner {
  readonly name: string;
  run(pipeline: Pipeline, catalog: DataCatalog, options?: RunOptions): Promise<Record<string, unknown>>;
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return value !== null && (typeof value === "object" || typeof value === "function") && typeof (value as { then?: unknown }).then === "function";
}

/** Whether an error, or one of its causes, has this `code` (a Node.js system error's, like ENOENT). */
function hasCode(error: unknown, code: string): boolean {
  for (let e = error, depth = 0; e instanceof Error && depth < 10; e = e.cause, depth++) if ((e as { code?: unknown }).code === code) return true;
  return false;
}

/**
 * A node's input that failed to load, or output that failed to save, as an error naming the node,
 * the dataset and where it lives, with the original error as `cause`. A `DatasetError`'s specific
 * code is kept (callers branch on DATASET_EMPTY, UNKNOWN_PARAMETER…); any other error, or the
 * generic DATASET_ERROR, gets DATASET_LOAD_FAILED or DATASET_SAVE_FAILED.
 */
function datasetFailure(node: Node, dataset: string, operation: "load" | "save", cause: unknown, catalog: DataCatalog, value?: unknown): DatasetError {
  const described = catalog.describeDataset(dataset);
  const what = `its ${operation === "load" ? "input" : "output"} "${dataset}"${described === undefined ? "" : ` (${described})`}`;
  let reason = cause instanceof Error ? cause.message : String(cause);
  if (operation === "save" && value === undefined) {
    reason = typeof node.outputs === "string" ? "the node returned undefined (a missing `return`?)" : "the node returned undefined for it";
  } else if (operation === "load" && hasCode(cause, "ENOENT")) {
    reason = "the file does not exist: check the dataset's filepath in catalog.yml";
  }
  const failed = operation === "load" ? "DATASET_LOAD_FAILED" : "DATASET_SAVE_FAILED";
  const code = cause instanceof DatasetError && cause.code !== "DATASET_ERROR" ? cause.code : failed;
  return new DatasetError(`Node "${node.name}": ${what} could not be ${operation === "load" ? "loaded" : "saved"}: ${reason}`, { code, cause });
}

/**
 * The state of one run. Datasets the catalog does not register (intermediate and final outputs)
 * live here, not in the catalog, so concurrent runs against one catalog never see each other's
 * data; each is dropped after its last consumer.
 */
export class RunState {
  readonly #local = new Map<string, unknown>();
  readonly #pending = new Map<string, number>();
  readonly #keep: ReadonlySet<string>;
  readonly #produced: ReadonlySet<string>;
  readonly catalog: DataCatalog;
  readonly context: RunContext;
  readonly hooks: readonly Hooks[];
  /** When the run must stop (its signal and deadline), if it has either. */
  readonly stop: RunStop | undefined;
  /** Nodes running now. */
  running = 0;

  constructor(pipeline: Pipeline, catalog: DataCatalog, hooks: readonly Hooks[], runId: string, stop?: RunStop) {
    this.catalog = catalog;
    this.hooks = hooks;
    this.stop = stop;
    this.context = { runId, pipeline, catalog };
    this.#keep = new Set(pipeline.outputs());
    const produced = new Set<string>();
    for (const n of pipeline.nodes) {
      for (const o of n.outputNames) produced.add(o);
      for (const i of n.inputNames) this.#pending.set(i, (this.#pending.get(i) ?? 0) + 1);
    }
    this.#produced = produced;
  }

  /** A dataset's data: synchronous for in-memory data (the hot path), a promise for files. */
  load(name: string): unknown {
    if (this.#local.has(name)) {
      const mode = copyModeFor(this.catalog.copyMode, name);
      const value = this.#local.get(name);
      return mode ? copyData(value, mode) : value;
    }
    return this.catalog.loadEager(name);
  }

  /** Stores an output: synchronous in the run's memory, a promise for a registered dataset. */
  save(name: string, value: unknown): void | Promise<void> {
    if (this.catalog.get(name)) return this.catalog.save(name, value);
    this.#local.set(name, value);
  }

  /** Counts a node's inputs as consumed and drops in-memory data nobody will read again. */
  release(node: Node): void {
    for (const name of node.inputNames) {
      const left = (this.#pending.get(name) ?? 1) - 1;
      this.#pending.set(name, left);
      if (left > 0 || this.#keep.has(name) || !this.#produced.has(name)) continue;
      if (this.#local.delete(name)) continue;
      if (this.catalog.get(name) instanceof MemoryDataset) this.catalog.release(name);
    }
  }

  /** The free outputs the run keeps in memory (persisted outputs stay in their datasets). */
  outputs(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const name of this.#keep) if (this.#local.has(name)) out[name] = this.#local.get(name);
    return out;
  }
}

/**
 * Base of the runners: checks that every input is provided before any node runs, calls the
 * hooks, loads inputs, saves outputs, releases memory, and wraps node failures in `NodeError`.
 * Subclasses decide the order and place nodes run in (`_run`) and how a node is called (`execute`).
 */
export abstract class AbstractRunner implements Runner {
  abstract readonly name: string;

  async run(pipeline: Pipeline, catalog: DataCatalog, options: RunOptions = {}): Promise<Record<string, unknown>> {
    const missing = pipeline.inputs().filter((name) => !catalog.has(name));
    if (missing.length > 0) {
      throw new DatasetError(
        `Pipeline input(s) [${missing.join(", ")}] are not provided: add them to the catalog (catalog.yml or a feed dict) or to the parameters before running.`,
        { code: "MISSING_INPUTS" },
      );
    }
    this.validate(pipeline);
    const hooks = options.hooks === undefined ? [] : Array.isArray(options.hooks) ? (options.hooks as readonly Hooks[]) : [options.hooks as Hooks];
    const stop = options.signal !== undefined || options.deadline !== undefined ? new RunStop(options.signal, options.deadline) : undefined;
    const state = new RunState(pipeline, catalog, hooks, options.runId ?? randomUUID(), stop);
    try {
      for (const h of hooks) {
        const done = h.beforePipelineRun?.(state.context);
        if (isThenable(done)) await done;
      }
      try {
        await (stop ? stop.race(this._run(pipeline, state), () => state.running > 0, options.onAbandoned) : this._run(pipeline, state));
      } catch (error) {
        for (const h of hooks) await h.onPipelineError?.({ ...state.context, error: error as Error });
        throw error;
      }
    } finally {
      stop?.dispose();
    }
    const outputs = state.outputs();
    for (const h of hooks) {
      if (!h.afterPipelineRun) continue;
      const done = h.afterPipelineRun({ ...state.context, outputs });
      if (isThenable(done)) await done;
    }
    return outputs;
  }

  /** Checks the pipeline can run on this runner; throws a `PipelineError` saying what to change. */
  protected validate(_pipeline: Pipeline): void {}

  /** Runs every node of the pipeline through `runNode`. */
  protected abstract _run(pipeline: Pipeline, state: RunState): Promise<void>;

  /** Calls a node with its loaded inputs (and the run's signal, for a node that takes one); returns its outputs by dataset name. */
  protected execute(node: Node, inputs: Record<string, unknown>, state: RunState): Promise<Record<string, unknown>> {
    return node.takesSignal ? node.run(inputs, state.stop?.signal ?? neverAborted()) : node.run(inputs);
  }

  /** Loads a node's inputs, runs it between its hooks, saves its outputs and releases what is no longer needed. */
  protected async runNode(node: Node, state: RunState): Promise<void> {
    // NB: on every prediction's path: values and hook results are awaited only when they are promises.
    state.stop?.check(node.name);
    const inputs: Record<string, unknown> = {};
    for (const name of node.inputNames) {
      try {
        const value = state.load(name);
        inputs[name] = isThenable(value) ? await value : value;
      } catch (cause) {
        throw datasetFailure(node, name, "load", cause, state.catalog);
      }
    }
    const hooks = state.hooks;
    const context: NodeContext | undefined =
      hooks.length > 0 ? { runId: state.context.runId, pipeline: state.context.pipeline, catalog: state.context.catalog, node, inputs } : undefined;
    for (const h of hooks) {
      if (!h.beforeNodeRun) continue;
      const done = h.beforeNodeRun(context as NodeContext);
      if (isThenable(done)) await done;
    }
    let outputs: Record<string, unknown>;
    const started = context ? performance.now() : 0;
    state.running++;
    try {
      outputs = await this.execute(node, inputs, state);
    } catch (cause) {
      state.running--;
      const error = cause instanceof NodeError ? cause : new NodeError(node.name, cause);
      const seconds = (performance.now() - started) / 1000;
      for (const h of hooks) await h.onNodeError?.({ ...(context ?? { ...state.context, node, inputs }), error, seconds });
      throw error;
    }
    state.running--;
    const seconds = context ? (performance.now() - started) / 1000 : 0;
    // A run that stopped, or passed its deadline, while this node ran keeps nothing it returned.
    state.stop?.checkAfter(node.name);
    for (const name of node.outputNames) {
      try {
        const saved = state.save(name, outputs[name]);
        if (isThenable(saved)) await saved;
      } catch (cause) {
        throw datasetFailure(node, name, "save", cause, state.catalog, outputs[name]);
      }
    }
    for (const h of hooks) {
      if (!h.afterNodeRun) continue;
      const done = h.afterNodeRun({ ...(context as NodeContext), outputs, seconds });
      if (isThenable(done)) await done;
    }
    state.release(node);
  }
}

/** Runs the nodes one after another in topological order. */
export class SequentialRunner extends AbstractRunner {
  readonly name = "SequentialRunner";

  protected async _run(pipeline: Pipeline, state: RunState): Promise<void> {
    for (const n of pipeline.nodes) await this.runNode(n, state);
  }
}

/**
 * Runs every node whose inputs are ready at once, up to `maxConcurrency` at a time; for I/O and
 * async work in nodes (ONNX sessions, fetches, files). After a failure no new node starts, and the
 * run fails once the nodes already running have settled.
 */
export abstract class SchedulingRunner extends AbstractRunner {
  readonly maxConcurrency: number;

  constructor(maxConcurrency: number, what: string) {
    super();
    if (!Number.isInteger(maxConcurrency) || maxConcurrency < 1) {
      throw new PipelineError(`${what} must be a whole number of at least 1, got ${String(maxConcurrency)}.`, { code: "INVALID_RUNNER_OPTION" });
    }
    this.maxConcurrency = maxConcurrency;
  }

  protected _run(pipeline: Pipeline, state: RunState): Promise<void> {
    const nodes = pipeline.nodes;
    const order = new Map(nodes.map((n, i) => [n, i]));
    const waiting = new Map<Node, number>();
    for (const n of nodes) waiting.set(n, n.inputNames.filter((i) => pipeline.producerOf(i) !== undefined).length);
    const ready = nodes.filter((n) => waiting.get(n) === 0);
    let active = 0;
    let finished = 0;
    let failure: { error: unknown } | undefined;

    return new Promise<void>((resolve, reject) => {
      const settle = (): void => {
        if (active > 0) return;
        if (failure) reject(failure.error);
        else if (finished === nodes.length) resolve();
      };
      const launch = (): void => {
        while (!failure && active < this.maxConcurrency && ready.length > 0) {
          const n = ready.shift() as Node;
          active++;
          this.runNode(n, state).then(
            () => {
              active--;
              finished++;
              let unlocked = false;
              for (const out of n.outputNames) {
                for (const consumer of pipeline.consumersOf(out)) {
                  const left = (waiting.get(consumer) as number) - 1;
                  waiting.set(consumer, left);
                  if (left === 0) {
                    ready.push(consumer);
                    unlocked = true;
                  }
                }
              }
              if (unlocked) ready.sort((a, b) => (order.get(a) as number) - (order.get(b) as number));
              launch();
              settle();
            },
            (error: unknown) => {
              active--;
              failure ??= { error };
              settle();
            },
          );
        }
      };
      launch();
      settle();
    });
  }
}

export interface ConcurrentRunnerOptions {
  /** How many nodes may run at once; 8 by default. */
  maxConcurrency?: number;
}

/** Runs ready nodes concurrently on this thread, for async nodes. */
export class ConcurrentRunner extends SchedulingRunner {
  readonly name = "ConcurrentRunner";

  constructor(options: ConcurrentRunnerOptions = {}) {
    super(options.maxConcurrency ?? 8, "ConcurrentRunner maxConcurrency");
  }
}
