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

/**
 * Counts finished requests in the metrics and writes one JSON access-log line for each, after
 * their responses are on their way: one `setImmediate` per event-loop turn takes every request
 * that finished in it, so neither adds to a client's latency. A client that closed its connection
 * while uploading is no server error: it is labelled `aborted` and logged at info, without a stack.
 */
export class RequestLog {
  readonly #pending: FinishedRequest[] = [];
  readonly #log: Logger;
  readonly #metrics: ServerMetrics;
  readonly #flush = (): void => this.flush();

  constructor(log: Logger, metrics: ServerMetrics) {
    this.#log = log;
    this.#metrics = metrics;
  }

  add(request: FinishedRequest): void {
    if (this.#pending.push(request) === 1) setImmediate(this.#flush);
  }

  /** Records everything added so far. */
  flush(): void {
    const done = this.#pending.splice(0);
    const info = this.#log.isLevelEnabled("info");
    for (const r of done) {
      const status = r.status === CLIENT_CLOSED_STATUS ? "aborted" : r.status;
      this.#metrics.observeRequest(r.route, r.method, status, r.seconds);
      if (!info) continue;
      const line = { reqId: r.reqId, method: r.method, path: r.path, status, ms: Math.round(r.seconds * 1e6) / 1e3 };
      this.#log.info(line, status === "aborted" ? "request aborted: the client closed the connection while uploading" : "request");
    }
  }
}
