import { randomUUID } from "node:crypto";
import type { Context } from "hono";
import type { ServerMetrics } from "./metrics.js";
import type { ModelSlot } from "./model-slot.js";
import type { RequestLog } from "./request-log.js";
import type { Env, Handler } from "./routing.js";
import type { ErrorShape } from "./scorer.js";

const REQUEST_ID = /^[\w.:-]{1,128}$/;

/** A request's id: the client's X-Request-Id when it is a sane one, else a new one. */
export function requestIdOf(c: Context<Env>): string {
  return requestIdFrom(c.req.header("x-request-id"));
}

/** The id for a request whose X-Request-Id header is `incoming`: that when it is a sane one, else a new one. */
export function requestIdFrom(incoming: string | undefined): string {
  return incoming && REQUEST_ID.test(incoming) ? incoming : randomUUID();
}

/** The error body shape a request gets: `{error}` on /v2 (the Open Inference Protocol) and /v1/ (KServe's V1), MLflow's otherwise. */
export function errorShapeOf(c: Context<Env>): ErrorShape {
  return errorShapeOfPath(c.req.path);
}

/** `errorShapeOf` for a request path (or URL path with its query). */
export function errorShapeOfPath(path: string): ErrorShape {
  return path.startsWith("/v2") || path.startsWith("/v1/") ? "v2" : "mlflow";
}

/** What an endpoint wrapper needs: where requests are counted and logged, the model answering (none for the server's own routes), and errors as responses. */
export interface EndpointParts {
  metrics: ServerMetrics;
  requestLog: RequestLog;
  slot?: ModelSlot;
  errorResponse(c: Context<Env>, error: unknown): Response;
}

/**
 * Wraps handlers with what every request gets: a request id, the model answering it when there is
 * one (taken once: the whole request is answered by it, even if another version is swapped in
 * meanwhile), errors as responses, the in-flight count, the access log and request metrics; `route`
 * labels the request in the metrics. NB: a wrapper, not Hono middleware: with one handler per
 * route Hono calls it directly instead of composing a chain per request, which was worth a fifth
 * of single-row throughput (bench/server).
 */
export function endpointWrapper(
  parts: EndpointParts,
): (route: string | ((c: Context<Env>) => string), handler: Handler) => (c: Context<Env>) => Promise<Response> {
  const { metrics, requestLog, slot } = parts;
  return (route, handler) => async (c) => {
    const reqId = requestIdOf(c);
    c.set("requestId", reqId);
    const start = performance.now();
    metrics.requestsInFlight++;
    const served = slot?.acquire();
    if (served) c.set("served", served);
    let res: Response;
    try {
      res = await handler(c);
    } catch (error) {
      res = parts.errorResponse(c, error);
    } finally {
      metrics.requestsInFlight--;
      if (served) slot?.release(served);
    }
    const seconds = (performance.now() - start) / 1000;
    requestLog.add({ reqId, route: typeof route === "string" ? route : route(c), method: c.req.method, path: c.req.path, status: res.status, seconds });
    return res;
  };
}
