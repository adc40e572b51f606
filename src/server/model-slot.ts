import type { PipelineModel } from "../loader/index.js";
import type { Scorer } from "./scorer.js";

/** The version a response names (X-Pipeserve-Model-Version): the registered version, else the run id. */
export function servedVersionOf(model: PipelineModel): string | undefined {
  const { version, runId } = model.metadata;
  return version !== undefined ? String(version) : runId;
}

/** One model being served: the loaded model, its scoring core, and how many requests use it now. */
export class ServedModel {
  readonly model: PipelineModel;
  readonly scorer: Scorer;
  /** The registered version, for the Open Inference Protocol's version routes and /metadata. */
  readonly registeredVersion: string | undefined;
  /** What X-Pipeserve-Model-Version says: the registered version, else the run id. */
  readonly versionHeader: string | undefined;
  #inFlight = 0;
  #onIdle: (() => void) | undefined;

  constructor(model: PipelineModel, scorer: Scorer) {
    this.model = model;
    this.scorer = scorer;
    this.registeredVersion = model.metadata.version !== undefined ? String(model.metadata.version) : undefined;
    this.versionHeader = servedVersionOf(model);
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  enter(): void {
    this.#inFlight++;
  }

  leave(): void {
    this.#inFlight--;
    if (this.#inFlight === 0) this.#onIdle?.();
  }

  /** Resolves once no request uses this model. */
  idle(): Promise<void> {
    if (this.#inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => {
      this.#onIdle = resolve;
    });
  }
}

/**
 * The model a server serves, swappable while it serves: each request takes the current model once
 * (`acquire`) and is answered wholly by it; `swap` makes another model current for the requests
 * that come after, then closes the old one once the requests it was answering are done.
 */
export class ModelSlot {
  #current: ServedModel;
  readonly #scorerFor: (model: PipelineModel) => Scorer;

  constructor(model: PipelineModel, scorerFor: (model: PipelineModel) => Scorer) {
    this.#scorerFor = scorerFor;
    this.#current = new ServedModel(model, scorerFor(model));
  }

  /** The model serving new requests. */
  get current(): ServedModel {
    return this.#current;
  }

  /** The current model, counted as in use by one more request until `release`. */
  acquire(): ServedModel {
    const served = this.#current;
    served.enter();
    return served;
  }

  release(served: ServedModel): void {
    served.leave();
  }

  /**
   * Serves `model` from now on. Requests already using the old model finish on it; then it is
   * closed (its worker threads ended). Resolves when the old model is closed.
   */
  async swap(model: PipelineModel): Promise<void> {
    const old = this.#current;
    this.#current = new ServedModel(model, this.#scorerFor(model));
    await old.idle();
    await old.model.close();
  }
}
