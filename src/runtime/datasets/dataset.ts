import { DatasetError } from "../errors.js";

/** The code of a failed load, save or exists check. */
const FAILED = { load: "DATASET_LOAD_FAILED", save: "DATASET_SAVE_FAILED", check: "DATASET_CHECK_FAILED" } as const;

/**
 * What every dataset does: load its data, save data, tell whether data exists, and describe
 * itself for messages. Optional `release` drops data held in memory.
 */
export interface Dataset<T = unknown> {
  load(): T | Promise<T>;
  save(data: T): void | Promise<void>;
  exists(): boolean | Promise<boolean>;
  describe(): Record<string, unknown>;
  release?(): void;
}

/**
 * Base for datasets: the public `load`/`save`/`exists` wrap the protected `_load`/`_save`/`_exists`
 * so that every failure becomes a `DatasetError` that says which dataset and which operation.
 */
export abstract class AbstractDataset<T = unknown> implements Dataset<T> {
  protected abstract _load(): T | Promise<T>;
  protected abstract _save(data: T): void | Promise<void>;
  protected abstract _exists(): boolean | Promise<boolean>;
  abstract describe(): Record<string, unknown>;

  async load(): Promise<T> {
    try {
      return await this._load();
    } catch (cause) {
      throw this.#wrap("load", cause);
    }
  }

  async save(data: T): Promise<void> {
    try {
      await this._save(data);
    } catch (cause) {
      throw this.#wrap("save", cause);
    }
  }

  async exists(): Promise<boolean> {
    try {
      return await this._exists();
    } catch (cause) {
      throw this.#wrap("check", cause);
    }
  }

  #wrap(operation: "load" | "save" | "check", cause: unknown): DatasetError {
    if (cause instanceof DatasetError) return cause;
    const reason = cause instanceof Error ? cause.message : String(cause);
    const preposition = operation === "save" ? "to" : operation === "load" ? "from" : "in";
    return new DatasetError(`Failed to ${operation} data ${preposition} ${this.toString()}: ${reason}`, {
      code: FAILED[operation],
      cause,
    });
  }

  toString(): string {
    const fields = Object.entries(this.describe())
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`);
    return `${this.constructor.name}(${fields.join(", ")})`;
  }
}
