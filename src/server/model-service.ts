import { randomUUID } from "node:crypto";
import type { Context } from "hono";
import { pino, type Logger } from "pino";
import { pipeserveVersion, type PipelineModel } from "../loader/index.js";
import { ServerMetrics } from "./metrics.js";
import { mlflowRoutes } from "./mlflow-routes.js";
import { modelPageRoutes } from "./model-page.js";
import { ModelSlot } from "./model-slot.js";
import { openInferenceRoutes } from "./open-inference-routes.js";
import { openApiHandler } from "./openapi.js";
import { RequestLog } from "./request-log.js";
import { reply, type Env, type Handler } from "./routing.js";
import { Scorer, ServerState, type ScorerOptions } from "./scorer.js";

/** The Scorer's options (limits, timeout, batching, logging) and what the HTTP layer adds. */
export interface AppOptions extends ScorerOptions {
  /** The model's name in the Open Inference Protocol; the registered name for a `models:/` URI, else `model`. */
  modelName?: string;
  /** Largest request body in bytes; 100 MB by default. */
  maxBodyBytes?: number;
  /** The model's page at `GET /` (and its `/ui/` assets); on by default, `--no-ui` turns it off. */
  ui?: boolean;
}

/** A route of one model, before the app places it (at its path, or under `/models/{name}`). */
export interface ModelRoute {
  method: "GET" | "POST";
  /** `/invocations`, `/metadata`, `/openapi.json`, or an Open Inference model route (`/v2/models/:name/infer`…). */
  path: string;
  handler: Handler;
}

const REQUEST_ID = /^[\w.:-]{1,128}$/;

/** A request's id: the client's X-Request-Id when it is a sane one, else a new one. */
export function requestIdOf(c: Context<Env>): string {
  const incoming = c.req.header("x-request-id");
  return incoming && REQUEST_ID.test(incoming) ? incoming : randomUUID();
}

/**
 * One model as a server serves it: its slot (the version serving now, swappable), its own queue
 * (`state`), limits, metrics and request log, and its routes. `createApp` serves one; a model set
 * (`createModelSetApp`) serves several side by side, each within its own limits.
 */
export class ModelService {
  /** The model's name in the Open Inference Protocol and under `/models/{name}`. */
  readonly name: string;
  readonly slot: ModelSlot;
  readonly state: ServerState;
  readonly metrics: ServerMetrics;
  readonly log: Logger;
  /** The model's own routes, not yet wrapped: place each with `endpoint`. */
  readonly routes: readonly ModelRoute[];
  readonly #requestLog: RequestLog;

  constructor(model: PipelineModel, options: AppOptions = {}) {
    this.log = options.logger ?? pino({ level: process.env["PIPESERVE_LOG_LEVEL"] ?? "info" });
    this.metrics = options.metrics ?? new ServerMetrics();
    this.state = options.state ?? new ServerState();
    this.name = options.modelName ?? model.metadata.registeredName ?? "model";
    const scorerOptions: ScorerOptions = { ...options, logger: this.log, metrics: this.metrics, state: this.state };
    this.slot = new ModelSlot(model, (m) => new Scorer(m, scorerOptions));
    this.#requestLog = new RequestLog(this.log, this.metrics);
    const routes: ModelRoute[] = [];
    const route = (method: "GET" | "POST", path: string, handler: Handler): void => void routes.push({ method, path, handler });
    const context = {
      slot: this.slot,
      state: this.state,
      modelName: this.name,
      version: pipeserveVersion(),
      maxBodyBytes: options.maxBodyBytes ?? 100 * 1024 * 1024,
    };
    mlflowRoutes(route, context);
    openInferenceRoutes(route, context);
    route("GET", "/openapi.json", openApiHandler(context));
    if (options.ui !== false) modelPageRoutes(route, { modelName: this.name, metricsModel: this.metrics.labels["model"] ?? "" });
    this.routes = routes;
  }

  /** An error as the client sees it: MLflow's `{error_code, message}`, or `{error}` on /v2. */
  errorResponse(c: Context<Env>, error: unknown): Response {
    const served = (c.get("served") as Env["Variables"]["served"] | undefined) ?? this.slot.current;
    return reply(c, served.scorer.errorResponse(error, c.get("requestId"), c.req.path.startsWith("/v2") ? "v2" : "mlflow"));
  }

  /**
   * Wraps a handler with what every request to this model gets: a request id, the model answering
   * it (taken once: the whole request is answered by it, even if another version is swapped in
   * meanwhile), errors as responses, the in-flight count, the access log and request metrics.
   * `route` labels the request in the metrics. NB: a wrapper, not Hono middleware: with one
   * handler per route Hono calls it directly instead of composing a chain per request, which was
   * worth a fifth of single-row throughput (bench/server).
   */
  endpoint(route: string | ((c: Context<Env>) => string), handler: Handler): (c: Context<Env>) => Promise<Response> {
    const { metrics, slot } = this;
    const requestLog = this.#requestLog;
    return async (c) => {
      const reqId = requestIdOf(c);
      c.set("requestId", reqId);
      const start = performance.now();
      metrics.requestsInFlight++;
      const served = slot.acquire();
      c.set("served", served);
      let res: Response;
      try {
        res = await handler(c);
      } catch (error) {
        res = this.errorResponse(c, error);
      } finally {
        metrics.requestsInFlight--;
        slot.release(served);
      }
      const seconds = (performance.now() - start) / 1000;
      requestLog.add({ reqId, route: typeof route === "string" ? route : route(c), method: c.req.method, path: c.req.path, status: res.status, seconds });
      return res;
    };
  }
}
