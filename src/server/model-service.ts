import type { Context } from "hono";
import type { Logger } from "pino";
import { pipeserveVersion, type PipelineModel } from "../loader/index.js";
import { endpointWrapper, errorShapeOf } from "./endpoint.js";
import { ServerMetrics, type MetricsExposition } from "./metrics.js";
import { kserveV1Routes } from "./kserve-v1-routes.js";
import { mlflowRoutes } from "./mlflow-routes.js";
import { modelPageRoutes } from "./model-page.js";
import { ModelSlot } from "./model-slot.js";
import { openInferenceRoutes } from "./open-inference-routes.js";
import { openApiHandler } from "./openapi.js";
import { RequestLog } from "./request-log.js";
import { reply, type Env, type Handler } from "./routing.js";
import { Scorer, ServerState, type ScorerOptions } from "./scorer.js";
import { defaultLogger } from "./libraries.js";

/** The largest request body a server reads when `maxBodyBytes` (--max-body) is not given: 100 MiB. */
export const DEFAULT_MAX_BODY_BYTES = 100 * 1024 * 1024;

/** The Scorer's options (limits, timeout, batching, logging) and what the HTTP layer adds. */
export interface AppOptions extends ScorerOptions {
  /** The model's name in the Open Inference Protocol; the registered name for a `models:/` URI, else `model`. */
  modelName?: string;
  /** Largest request body in bytes; 100 MB by default. */
  maxBodyBytes?: number;
  /** The model's page at `GET /` (and its `/ui/` assets); on by default, `--no-ui` turns it off. */
  ui?: boolean;
  /**
   * Writes `/metrics` from the app's registries; by default their own figures (`mergedMetrics`).
   * `serve -w N` gives each worker one that answers with every worker's sum (`workerMetrics`).
   */
  metricsExposition?: MetricsExposition;
}

/** A route of one model, before the app places it (at its path, or under `/models/{name}`). */
export interface ModelRoute {
  method: "GET" | "POST";
  /** `/invocations`, `/metadata`, `/openapi.json`, an Open Inference model route (`/v2/models/:name/infer`…), or KServe v1's (`/v1/models/:name`). */
  path: string;
  handler: Handler;
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
  /** Wraps a handler with what every request to this model gets (see `endpointWrapper`); `route` labels it in the metrics. */
  readonly endpoint: ReturnType<typeof endpointWrapper>;

  constructor(model: PipelineModel, options: AppOptions = {}) {
    this.log = options.logger ?? defaultLogger();
    this.metrics = options.metrics ?? new ServerMetrics();
    this.state = options.state ?? new ServerState();
    this.name = options.modelName ?? model.metadata.registeredName ?? "model";
    const scorerOptions: ScorerOptions = { ...options, logger: this.log, metrics: this.metrics, state: this.state };
    this.slot = new ModelSlot(model, (m) => new Scorer(m, scorerOptions));
    this.endpoint = endpointWrapper({
      metrics: this.metrics,
      requestLog: new RequestLog(this.log, this.metrics),
      slot: this.slot,
      errorResponse: (c, error) => this.errorResponse(c, error),
    });
    const routes: ModelRoute[] = [];
    const route = (method: "GET" | "POST", path: string, handler: Handler): void => void routes.push({ method, path, handler });
    const context = {
      slot: this.slot,
      state: this.state,
      modelName: this.name,
      version: pipeserveVersion(),
      maxBodyBytes: options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES,
    };
    mlflowRoutes(route, context);
    openInferenceRoutes(route, context);
    kserveV1Routes(route, context);
    route("GET", "/openapi.json", openApiHandler(context));
    if (options.ui !== false) modelPageRoutes(route, { modelName: this.name, metricsModel: this.metrics.labels["model"] ?? "" });
    this.routes = routes;
  }

  /** An error as the client sees it: MLflow's `{error_code, message}`, or `{error}` on /v2. */
  errorResponse(c: Context<Env>, error: unknown): Response {
    const served = (c.get("served") as Env["Variables"]["served"] | undefined) ?? this.slot.current;
    return reply(c, served.scorer.errorResponse(error, c.get("requestId"), errorShapeOf(c)));
  }
}
