import { PipelineError } from "../errors.js";

/** A run passed its deadline: no node starts after it, and the run fails at once (nodes still running are abandoned). */
export class RunTimeoutError extends PipelineError {
  constructor(message = "The pipeline run passed its deadline: no more nodes start, and the nodes still running were abandoned.") {
    super(message, { code: "RUN_TIMED_OUT" });
  }
}

/** A run was stopped through its `signal` (with no Error as the reason). */
export class RunAbortedError extends PipelineError {
  constructor(reason: unknown) {
    super(`The pipeline run was stopped${reason === undefined ? "" : `: ${String(reason)}`}.`, { code: "RUN_ABORTED", cause: reason });
  }
}

/** A signal's reason as an Error to reject with: the reason itself when it is one. */
function reasonOf(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  return reason instanceof Error && reason.name !== "AbortError" ? reason : new RunAbortedError(reason instanceof Error ? reason.message : reason);
}

const NEVER = new AbortController().signal;

/** A signal that never fires: what a node that takes one gets when its run has none. */
export function neverAborted(): AbortSignal {
  return NEVER;
}

/**
 * When one run must stop: its caller's `signal` fires, or its `deadline` (ms on the
 * `performance.now()` clock) passes. Runners check it before each node (`check`); the run's
 * promise is raced against it (`race`), so it fails on time even while a node hangs.
 *
 * NB: every prediction's path: the AbortController a node or a worker thread may need is made
 * only when one asks for `signal`; stopping itself is a flag and a list of callbacks.
 */
export class RunStop {
  readonly deadline: number | undefined;
  #reason: Error | undefined;
  #controller: AbortController | undefined;
  #timer: NodeJS.Timeout | undefined;
  #listeners: (() => void)[] = [];
  readonly #external: AbortSignal | undefined;
  readonly #onExternal = (): void => this.stop(reasonOf(this.#external as AbortSignal));

  constructor(signal: AbortSignal | undefined, deadline: number | undefined) {
    this.deadline = deadline;
    this.#external = signal;
    if (signal?.aborted) this.#reason = reasonOf(signal);
    else signal?.addEventListener("abort", this.#onExternal, { once: true });
    if (deadline !== undefined && this.#reason === undefined) {
      this.#timer = setTimeout(() => this.stop(new RunTimeoutError()), Math.max(0, deadline - performance.now()));
    }
  }

  /** Why the run stopped, once it has. */
  get reason(): Error | undefined {
    return this.#reason;
  }

  /** The signal nodes and worker threads watch: aborted when the run stops. */
  get signal(): AbortSignal {
    if (!this.#controller) {
      this.#controller = new AbortController();
      if (this.#reason) this.#controller.abort(this.#reason);
    }
    return this.#controller.signal;
  }

  /** Stops the run (once): callbacks run and the signal fires with `reason`. */
  stop(reason: Error): void {
    if (this.#reason) return;
    this.#reason = reason;
    this.dispose();
    this.#controller?.abort(reason);
    for (const listener of this.#listeners.splice(0)) listener();
  }

  /** Calls `listener` once when the run stops; returns a function that unsubscribes. */
  onStop(listener: () => void): () => void {
    if (this.#reason) {
      listener();
      return () => undefined;
    }
    this.#listeners.push(listener);
    return () => {
      const i = this.#listeners.indexOf(listener);
      if (i >= 0) this.#listeners.splice(i, 1);
    };
  }

  /**
   * Throws the reason when the run must not start `nodeName`: stopped, or past its deadline (a
   * pipeline whose nodes compute synchronously never lets the deadline's timer fire; this does).
   */
  check(nodeName: string): void {
    if (!this.#reason && this.deadline !== undefined && performance.now() >= this.deadline) {
      this.stop(new RunTimeoutError(`The pipeline run passed its deadline before node "${nodeName}" could start: no more nodes start.`));
    }
    if (this.#reason) throw this.#reason;
  }

  /** Throws the reason when the run stopped, or passed its deadline, while `nodeName` ran: what it returned is not kept. */
  checkAfter(nodeName: string): void {
    if (!this.#reason && this.deadline !== undefined && performance.now() >= this.deadline) {
      this.stop(new RunTimeoutError(`The pipeline run passed its deadline while node "${nodeName}" ran: its result is not used.`));
    }
    if (this.#reason) throw this.#reason;
  }

  /**
   * `running`, unless the run stops first: then it rejects with the reason at once, and
   * `onAbandoned` is told (when `busy()` says nodes are still running) with a promise that settles
   * when `running` does.
   */
  race<T>(running: Promise<T>, busy: () => boolean, onAbandoned?: (settled: Promise<void>) => void): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let done = false;
      const unsubscribe = this.onStop(() => {
        if (done) return;
        done = true;
        if (busy()) {
          const settled = running.then(
            () => undefined,
            () => undefined,
          );
          onAbandoned?.(settled);
        } else running.catch(() => undefined);
        reject(this.#reason);
      });
      running.then(
        (value) => {
          if (done) return;
          done = true;
          unsubscribe();
          resolve(value);
        },
        (error: unknown) => {
          if (done) return;
          done = true;
          unsubscribe();
          reject(error);
        },
      );
    });
  }

  /** Clears the deadline's timer and the caller's signal listener (the run ended). */
  dispose(): void {
    clearTimeout(this.#timer);
    this.#external?.removeEventListener("abort", this.#onExternal);
  }
}
