import type { Hono } from "hono";
import { pipeserveVersion, type PipelineModel } from "../loader/index.js";
import { BINARY_TENSOR_DATA } from "./binary-tensor-data.js";
import { errorShapeOfPath } from "./endpoint.js";
import { mergedMetrics } from "./metrics.js";
import { DEFAULT_MAX_BODY_BYTES, ModelService, type AppOptions } from "./model-service.js";
import { repositoryEntry, repositoryRoutes } from "./repository-routes.js";
import type { ModelSlot } from "./model-slot.js";
import { json, type Env, type Handler } from "./routing.js";
import { serverRoutes } from "./server-routes.js";
import { honoLib } from "./libraries.js";

export { NODE_TIMING_SAMPLE, ServerState } from "./scorer.js";
export type { AppOptions } from "./model-service.js";

/** A route's pattern and method, for 405 answers on a known path with another method. */
export interface KnownRoute {
  pattern: RegExp;
  path: string;
  method: string;
}

/** A route as `notFound` and the metrics know it: its pattern, as a regular expression. */
export function knownRoute(method: string, path: string): KnownRoute {
  return { pattern: new RegExp(`^${path.replace(/:\w+/g, "[^/]+")}$`), path, method };
}

/**
 * Answers a request no route matched: 405 with Allow on a known path, else 404 listing `routes`
 * (a summary), in the protocol's error shape.
 */
export function notFound(known: readonly KnownRoute[], routes: string): Handler {
  return (c) => {
    // NB: the Open Inference and KServe v1 paths answer {error}, as their routes do.
    const v2 = errorShapeOfPath(c.req.path) === "v2";
    const match = known.find((r) => r.pattern.test(c.req.path));
    if (match) {
      const message = `${c.req.method} is not allowed on ${c.req.path}; use ${match.method}.`;
      return json(c, v2 ? { error: message } : { error_code: "METHOD_NOT_ALLOWED", message }, 405, { Allow: match.method });
    }
    const message = `No route for ${c.req.method} ${c.req.path}. Routes: ${routes}`;
    return json(c, v2 ? { error: message } : { error_code: "NOT_FOUND", message }, 404);
  };
}

/** The routes a 404 names, for one model. */
const ROUTES =
  "GET / (the model's page), GET /ping, GET /health, GET /version, POST /invocations, GET /metadata, GET /metrics, GET /openapi.json, /v2/..., /v2/repository/index, GET /v1/models, /v1/models/{name}[:predict]";

/**
 * The scoring app for one loaded model: MLflow's routes (`/ping`, `/health`, `/version`,
 * `/invocations`), the Open Inference Protocol v2, `/metadata`, `/openapi.json` and `/metrics`.
 * Bad input gets a 4xx with an MLflow-shaped body; nothing a client sends takes the server down.
 * The scoring itself is the framework-free `Scorer`; this wires it under Hono with a request id,
 * errors as responses, the access log and request metrics.
 */
export function createApp(model: PipelineModel, options: AppOptions = {}): Hono<Env> {
  return createServingApp(model, options).app;
}

/**
 * `createApp` with the model's slot, through which another model (a new version) can be swapped
 * in while the app serves (see `ModelSlot.swap`), and its service (what the gRPC server serves too).
 */
export function createServingApp(model: PipelineModel, options: AppOptions = {}): { app: Hono<Env>; slot: ModelSlot; service: ModelService } {
  const service = new ModelService(model, options);
  const app = new (honoLib().Hono)<Env>();
  const known: KnownRoute[] = [];
  const route = (method: "GET" | "POST", path: string, handler: Handler): void => {
    app.on(method, path, service.endpoint(path, handler));
    known.push(knownRoute(method, path));
  };
  for (const r of service.routes) route(r.method, r.path, r.handler);
  serverRoutes(route, {
    notReadyReason: () => service.state.notReadyReason(),
    version: pipeserveVersion(),
    extensions: ["model_repository", BINARY_TENSOR_DATA],
    metrics: () => (options.metricsExposition ?? mergedMetrics)([service.metrics.registry]),
    modelNames: [service.name],
  });
  // NB: the repository index with one model, as MLServer and Triton answer it whatever they serve.
  repositoryRoutes(
    route,
    (readyOnly) => (readyOnly && service.state.notReadyReason() !== undefined ? [] : [repositoryEntry(service.name, service)]),
    options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES,
  );
  // NB: only reached when an endpoint itself fails to answer (it turns errors into responses).
  app.onError((error, c) => service.errorResponse(c, error));
  app.notFound(service.endpoint((c) => known.find((r) => r.pattern.test(c.req.path))?.path ?? "unmatched", notFound(known, ROUTES)));
  return { app, slot: service.slot, service };
}
