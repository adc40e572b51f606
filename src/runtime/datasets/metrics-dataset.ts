import { DatasetError } from "../errors.js";
import type { Dataset } from "./dataset.js";

/** One metric value, or a value at a step. */
export type MetricValue = number | { value: number; step?: number };

/**
 * Where training nodes put metrics (`{ accuracy: 0.97, f1_adelie: { value: 0.95, step: 0 } }`).
 * It keeps the last record in memory; the training run logs every record saved to it into the
 * run store (kedro-mlflow's `MlflowMetricsHistoryDataset`).
 */
export class MetricsDataset implements Dataset<Record<string, MetricValue>> {
  readonly prefix: string;
  #data: Record<string, MetricValue> | undefined;

  constructor(options: { prefix?: string } = {}) {
    this.prefix = options.prefix ?? "";
  }

  /** Checks a record of metrics and returns it as `{ key: { value, step } }` with the prefix applied. */
  static normalise(data: unknown, prefix = ""): Record<string, { value: number; step: number }> {
    if (data === null || typeof data !== "object" || Array.isArray(data)) {
      throw new DatasetError(
        `A MetricsDataset saves an object of metric name → number (or { value, step }), got ${Array.isArray(data) ? "an array" : typeof data}.`,
      );
    }
    const out: Record<string, { value: number; step: number }> = {};
    for (const [key, raw] of Object.entries(data)) {
      const value = typeof raw === "number" ? raw : (raw as { value?: unknown } | null)?.value;
      const step = typeof raw === "object" && raw !== null ? ((raw as { step?: unknown }).step ?? 0) : 0;
      // NB: NaN is a metric MLflow logs (found by an audit: refused here as "got null", from JSON's spelling of it).
      if (typeof value !== "number" || typeof step !== "number" || !Number.isInteger(step)) {
        throw new DatasetError(`Metric "${key}" must be a number or { value: number, step?: integer }, got ${JSON.stringify(raw)}.`);
      }
      out[prefix === "" ? key : `${prefix}.${key}`] = { value, step };
    }
    return out;
  }

  load(): Record<string, MetricValue> {
    if (!this.#data) throw new DatasetError("No metrics were saved to this MetricsDataset yet.", { code: "DATASET_EMPTY" });
    return this.#data;
  }

  save(data: Record<string, MetricValue>): void {
    MetricsDataset.normalise(data, this.prefix);
    this.#data = data;
  }

  exists(): boolean {
    return this.#data !== undefined;
  }

  describe(): Record<string, unknown> {
    return { prefix: this.prefix };
  }
}
