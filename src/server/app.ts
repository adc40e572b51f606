import { randomUUID } from "node:crypto";
import { Hono, type Context } from "hono";
import { pino } from "pino";
import { pipeserveVersion, type PipelineModel } from "../loader/index.js";
import { ServerMetrics } from "./metrics.js";
import { mlflowRoutes } from "./mlflow-routes.js";
import { openInferenceRoutes } from "./open-inference-routes.js";
import { openApiHandler } from "./openapi.js";
import { RequestLog } from "./request-log.js";
import { json, reply, send, type Env, type Handler } from "./routing.js";
import { ModelSlot } from "./model-slot.js";
import { Scorer, ServerState, type ScorerOptions } from "./scorer.js";

export { NODE_TIMING_SAMPLE, ServerState } from "./scorer.js";

/** The Scorer's options (limits, timeout, batching, logging) and what the HTTP layer adds. */
export interface AppOptions extends ScorerOptions {
  /** The model's name in the Open Inference Protocol; the registered name for a `models:/` URI, else `model`. */
  modelName?: string;
  /** Largest request body in bytes; 100 MB by default. */
  maxBodyBytes?: number;
}

const REQUEST_ID = /^[\w.:-]{1,128}$/;

/** A route's pattern and method, for 405 answers on a known path with another method. */
interface KnownRoute {
  pattern: RegExp;
  path: string;
  method: string;
}

/** Answers a request no route matched: 405 with Allow on a known path, else 404, in the protocol's error shape. */
function notFound(routes: readonly KnownRoute[]): Handler {
  return (c) => {
    const v2 = c.req.path.startsWith("/v2");
    const match = routes.find((r) => r.pattern.test(c.req.path));
    if (match) {
      const message = `${c.req.method} is not allowed on ${c.req.path}; use ${match.method}.`;
      return json(c, v2 ? { error: message } : { error_code: "METHOD_NOT_ALLOWED", message }, 405, { Allow: match.method });
    }
    const message = `No route for ${c.req.method} ${c.req.path}. Routes: GET /ping, GET /health, GET /version, POST /invocations, GET /metadata, GET /metrics, /v2/...`;
    return json(c, v2 ? { error: message } : { error_code: "NOT_FOUND", message }, 404);
  };
}

/**
 * The scoring app for one loaded model: MLflow's routes (`/ping`, `/health`, `/version`,
 * `/invocations`), the Open Inference Protocol v2, `/metadata` and `/metrics`. Bad input gets a
 * 4xx with an MLflow-shaped body; nothing a client sends takes the server down. The scoring
 * itself is the framework-free `Scorer`; this wires it under Hono with a request id, errors as
 * responses, the access log and request metrics.
 */
export function createApp(model: PipelineModel, options: AppOptions = {}): Hono<Env> {
  return createServingApp(model, options).app;
}

/**
 * `createApp` with the model's slot, through which another model (a new version) can be swapped
 * in while the app serves (see `ModelSlot.swap`).
 */
export function createServingApp(model: PipelineModel, options: AppOptions = {}): { app: Hono<Env>; slot: ModelSlot } {
  const log = options.logger ?? pino({ level: process.env["PIPESERVE_LOG_LEVEL"] ?? "info" });
  const metrics = options.metrics ?? new ServerMetrics();
  const state = options.state ?? new ServerState();
  const scorerOptions: ScorerOptions = { ...options, logger: log, metrics, state };
  const slot = new ModelSlot(model, (m) => new Scorer(m, scorerOptions));
  const app = new Hono<Env>();
  const requestLog = new RequestLog(log, metrics);

  /** An error as the client sees it: MLflow's `{error_code, message}`, or `{error}` on /v2. */
  const errorResponse = (c: Context<Env>, error: unknown): Response =>
    reply(c, (c.get("served") ?? slot.current).scorer.errorResponse(error, c.get("requestId"), c.req.path.startsWith("/v2") ? "v2" : "mlflow"));

  /**
   * Wraps a route's handler with what every request gets: a request id, errors as responses, the
   * in-flight count, the access log and request metrics. NB: a wrapper, not Hono middleware: with
   * one handler per route Hono calls it directly instead of composing a chain per request, which
   * was worth a fifth of single-row throughput (bench/server).
   */
  const endpoint =
    (route: string | ((c: Context<Env>) => string), handler: Handler) =>
    async (c: Context<Env>): Promise<Response> => {
      const incoming = c.req.header("x-request-id");
      const reqId = incoming && REQUEST_ID.test(incoming) ? incoming : randomUUID();
      c.set("requestId", reqId);
      const start = performance.now();
      metrics.requestsInFlight++;
      // NB: the model is taken once: the whole request is answered by it, even if another is swapped in meanwhile.
      const served = slot.acquire();
      c.set("served", served);
      let res: Response;
      try {
        res = await handler(c);
      } catch (error) {
        res = errorResponse(c, error);
      } finally {
        metrics.requestsInFlight--;
        slot.release(served);
      }
      const seconds = (performance.now() - start) / 1000;
      requestLog.add({ reqId, route: typeof route === "string" ? route : route(c), method: c.req.method, path: c.req.path, status: res.status, seconds });
      return res;
    };

  const routes: KnownRoute[] = [];
  const route = (method: "GET" | "POST", path: string, handler: Handler): void => {
    app.on(method, path, endpoint(path, handler));
    routes.push({ pattern: new RegExp(`^${path.replace(/:\w+/g, "[^/]+")}$`), path, method });
  };

  // NB: only reached when an endpoint itself fails to answer (it turns errors into responses).
  app.onError((error, c) => errorResponse(c, error));
  app.notFound(endpoint((c) => routes.find((r) => r.pattern.test(c.req.path))?.path ?? "unmatched", notFound(routes)));

  const context = {
    slot,
    state,
    modelName: options.modelName ?? model.metadata.registeredName ?? "model",
    version: pipeserveVersion(),
    maxBodyBytes: options.maxBodyBytes ?? 100 * 1024 * 1024,
  };
  mlflowRoutes(route, context);
  route("GET", "/metrics", async (c) => send(c, await metrics.registry.metrics(), 200, metrics.registry.contentType));
  openInferenceRoutes(route, context);
  route("GET", "/openapi.json", openApiHandler(context));
  return { app, slot };
}
