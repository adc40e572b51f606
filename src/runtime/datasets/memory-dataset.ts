import { DatasetError } from "../errors.js";
import { copyData, inferCopyMode, parseCopyMode, type CopyMode } from "../copy-mode.js";
import type { Dataset } from "./dataset.js";

const EMPTY = Symbol("empty");

export interface MemoryDatasetOptions<T> {
  data?: T;
  /** `assign`, `copy` or `deepcopy`; when absent, inferred from the data as Kedro does. */
  copyMode?: CopyMode;
}

/**
 * Data held in memory. Each `load` and `save` passes the data through the copy mode, so a node
 * that mutates what it loaded changes the stored data only under `assign`.
 *
 * NB: synchronous on purpose: it sits on every prediction's path.
 */
export class MemoryDataset<T = unknown> implements Dataset<T> {
  #data: T | typeof EMPTY;
  readonly copyMode: CopyMode | undefined;

  constructor(options: MemoryDatasetOptions<T> = {}) {
    this.copyMode = options.copyMode === undefined ? undefined : parseCopyMode(options.copyMode);
    this.#data = "data" in options ? copyData(options.data as T, this.#modeFor(options.data as T)) : EMPTY;
  }

  #modeFor(data: T): CopyMode {
    return this.copyMode ?? inferCopyMode(data);
  }

  load(): T {
    const data = this.#data;
    if (data === EMPTY) throw new DatasetError("Data for MemoryDataset has not been saved yet.", { code: "DATASET_EMPTY" });
    return copyData(data, this.#modeFor(data));
  }

  save(data: T): void {
    this.#data = copyData(data, this.#modeFor(data));
  }

  exists(): boolean {
    return this.#data !== EMPTY;
  }

  release(): void {
    this.#data = EMPTY;
  }

  describe(): Record<string, unknown> {
    const data = this.#data;
    return {
      data: data === EMPTY ? "<empty>" : data === null ? "null" : typeof data === "object" ? (data.constructor?.name ?? "object") : typeof data,
      copyMode: this.copyMode,
    };
  }

  toString(): string {
    return `MemoryDataset(copyMode=${this.copyMode ?? "infer"})`;
  }
}
