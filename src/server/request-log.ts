import type { Logger } from "pino";
import { CLIENT_CLOSED_STATUS } from "./errors.js";
import type { ServerMetrics } from "./metrics.js";

/** What the access log and the request metrics record of a finished request. */
export interface FinishedRequest {
  reqId: string;
  /** The route's pattern (`/v2/models/:name/infer`), or `unmatched`. */
  route: string;
  method: string;
  path: string;
  /** The response's status; CLIENT_CLOSED_STATUS (499) for a client that left while uploading; a gRPC call's status name (`OK`, `INVALID_ARGUMENT`…). */
  status: number | string;
  seconds: number;
}

/** How long access-log lines wait to be written together. */
export const LOG_FLUSH_MS = 10;

/**
 * Counts finished requests in the metrics and writes one JSON access-log line for each, after
 * their responses are on their way: one `setImmediate` per event-loop turn counts every request
 * that finished in it (so /metrics is exact as soon as a response is out), and the lines wait up to
 * LOG_FLUSH_MS to be formatted and written together. NB: under load a turn holds a request or
 * two; formatting and writing a turn's lines at a time cost ~9 % of single-row throughput against
 * every 10 ms (bench: alternating builds, five rounds each, 22.4k against 24.5k requests/s).
 * A client that closed its connection while uploading is no server error: it is labelled
 * `aborted` and logged at info, without a stack.
 */
export class RequestLog {
  readonly #pending: FinishedRequest[] = [];
  readonly #lines: FinishedRequest[] = [];
  readonly #log: Logger;
  readonly #metrics: ServerMetrics;
  readonly #count = (): void => this.#countPending();
  readonly #write = (): void => this.#writeLines();

  constructor(log: Logger, metrics: ServerMetrics) {
    this.#log = log;
    this.#metrics = metrics;
  }

  add(request: FinishedRequest): void {
    if (this.#pending.push(request) === 1) setImmediate(this.#count);
  }

  /** Records everything added so far: counted, and its lines written. */
  flush(): void {
    this.#countPending();
    this.#writeLines();
  }

  #countPending(): void {
    const done = this.#pending.splice(0);
    for (const r of done) this.#metrics.observeRequest(r.route, r.method, statusOf(r), r.seconds);
    if (done.length === 0 || !this.#log.isLevelEnabled("info")) return;
    if (this.#lines.length === 0) {
      // NB: a process that ends of itself waits the 10 ms; one that exits meanwhile writes the lines in `flushRequestLogs`.
      setTimeout(this.#write, LOG_FLUSH_MS);
      unwritten.add(this);
    }
    for (const r of done) this.#lines.push(r);
  }

  #writeLines(): void {
    unwritten.delete(this);
    const lines = this.#lines.splice(0);
    for (const r of lines) {
      const status = statusOf(r);
      const line = { reqId: r.reqId, method: r.method, path: r.path, status, ms: Math.round(r.seconds * 1e6) / 1e3 };
      this.#log.info(line, status === "aborted" ? "request aborted: the client closed the connection while uploading" : "request");
    }
  }
}

/** The request logs whose lines wait for their timer. */
const unwritten = new Set<RequestLog>();

/**
 * Counts and writes every request log's waiting lines now: for a process about to exit, before its
 * log destination is flushed (`serve` does it on exit, however it ends).
 */
export function flushRequestLogs(): void {
  for (const log of [...unwritten]) log.flush();
}

/** A finished request's status as the metrics and the log name it: `aborted` for a client that left while uploading. */
function statusOf(r: FinishedRequest): number | string {
  return r.status === CLIENT_CLOSED_STATUS ? "aborted" : r.status;
}
