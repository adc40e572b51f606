import type { Context } from "hono";
import { json, send, type AddRoute, type Env } from "./routing.js";

/** What the server's own routes (not a model's) need to answer. */
export interface ServerRouteContext {
  /** Why the server cannot take predictions now (shutting down, a queue full, a model not loaded), or undefined when it can. */
  notReadyReason(): string | undefined;
  /** pipeserve's version. */
  version: string;
  /** The Open Inference extensions served (`model_repository` with several models). */
  extensions: readonly string[];
  /** The Prometheus text of every metric, and its content type. */
  metrics(): Promise<{ text: string; contentType: string }>;
  /** The names of the models served (KServe v1's list). */
  modelNames: readonly string[];
}

/**
 * The server's routes: MLflow's `/ping` and `/health` (503 while it cannot take predictions),
 * `/version`, the Open Inference Protocol's server metadata, liveness and readiness, `/metrics`, and
 * KServe v1's list of models.
 */
export function serverRoutes(route: AddRoute, context: ServerRouteContext): void {
  const ping = (c: Context<Env>): Response => {
    const notReady = context.notReadyReason();
    if (notReady !== undefined) return json(c, { error_code: "TEMPORARILY_UNAVAILABLE", message: notReady }, 503, { "Retry-After": "1" });
    return send(c, "\n", 200, "application/json");
  };
  route("GET", "/ping", ping);
  route("GET", "/health", ping);
  route("GET", "/version", (c) => send(c, context.version, 200, "application/json"));
  route("GET", "/metrics", async (c) => {
    const { text, contentType } = await context.metrics();
    return send(c, text, 200, contentType);
  });
  // NB: KServe v1's List Models, beside its per-model routes (kserve-v1-routes.ts).
  route("GET", "/v1/models", (c) => json(c, { models: context.modelNames }));
  route("GET", "/v2", (c) => json(c, { name: "pipeserve", version: context.version, extensions: context.extensions }));
  route("GET", "/v2/health/live", (c) => json(c, { live: true }));
  // NB: not ready while shutting down or while a queue is full, so a balancer sends work elsewhere; live all the while.
  route("GET", "/v2/health/ready", (c) => {
    const ready = context.notReadyReason() === undefined;
    return json(c, { ready }, ready ? 200 : 503);
  });
}
