import type { Registry } from "prom-client";
import { METRICS_MESSAGES } from "./cluster-metrics.js";
import { HttpError } from "./errors.js";
import type { MetricsExposition } from "./metrics.js";

const { ASK, SUM, COLLECT, COLLECTED } = METRICS_MESSAGES;
/** How long a worker waits for the primary's sum before its /metrics answers 503 (the primary waits at most its collect timeout for the workers). */
const ASK_TIMEOUT_MS = 8_000;

/**
 * The worker's half (see `ClusterMetrics`, the primary's): answers the primary's requests for this worker's
 * figures from `registries`, and returns the `/metrics` writer that asks the primary for every
 * worker's sum. A primary that does not answer makes `/metrics` a 503, not one worker's figures
 * passed off as the server's.
 */
export function workerMetrics(registries: () => readonly Registry[]): MetricsExposition {
  const asked = new Map<number, { resolve(value: { text: string; contentType: string }): void; reject(error: Error): void }>();
  let nextAsk = 0;
  process.on("message", (message: unknown) => {
    if (typeof message !== "object" || message === null) return;
    const m = message as { pipeserve?: unknown; id?: unknown; text?: unknown; contentType?: unknown; error?: unknown };
    if (m.pipeserve === COLLECT && typeof m.id === "number") {
      const id = m.id;
      void Promise.all(registries().map((r) => r.getMetricsAsJSON())).then(
        (each) => process.send?.({ pipeserve: COLLECTED, id, metrics: each.flat() }, undefined, {}, () => undefined),
        () => undefined,
      );
    } else if (m.pipeserve === SUM && typeof m.id === "number") {
      const waiting = asked.get(m.id);
      if (!waiting) return;
      asked.delete(m.id);
      if (typeof m.text === "string" && typeof m.contentType === "string") waiting.resolve({ text: m.text, contentType: m.contentType });
      else waiting.reject(unavailable(`the primary process could not sum them: ${String(m.error)}`));
    }
  });
  return () =>
    new Promise((resolve, reject) => {
      const id = nextAsk++;
      const send = process.send?.bind(process);
      if (!send) {
        reject(unavailable("this worker has lost its primary process"));
        return;
      }
      const timer = setTimeout(() => {
        asked.delete(id);
        reject(unavailable(`the primary process did not answer within ${ASK_TIMEOUT_MS / 1000} s`));
      }, ASK_TIMEOUT_MS);
      asked.set(id, {
        resolve: (value) => {
          clearTimeout(timer);
          resolve(value);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
      send({ pipeserve: ASK, id }, undefined, {}, (error) => {
        if (!error) return;
        asked.delete(id);
        clearTimeout(timer);
        reject(unavailable("this worker could not reach its primary process"));
      });
    });
}

function unavailable(why: string): HttpError {
  return new HttpError("TEMPORARILY_UNAVAILABLE", `The workers' metrics are not available: ${why}. Scrape again.`, { "Retry-After": "1" });
}
