import type { Context } from "hono";
import type { Hono } from "hono";
import type { Logger } from "pino";
import { BINARY_TENSOR_DATA } from "./binary-tensor-data.js";
import { repositoryEntry, repositoryRoutes, type RepositoryIndexEntry } from "./repository-routes.js";
import { pipeserveVersion, type PipelineModel } from "../loader/index.js";
import { knownRoute, notFound, type KnownRoute } from "./app.js";
import { HttpError } from "./errors.js";
import { RequestLog } from "./request-log.js";
import { ServerMetrics, mergedMetrics } from "./metrics.js";
import { endpointWrapper, errorShapeOf } from "./endpoint.js";
import { DEFAULT_MAX_BODY_BYTES, ModelService, type AppOptions } from "./model-service.js";
import { json, reply, type AddRoute, type Env, type Handler } from "./routing.js";
import { ServerState, errorScoreResponse } from "./scorer.js";
import { serverRoutes } from "./server-routes.js";
import { defaultLogger, honoLib } from "./libraries.js";

/** One model of a set: its name and URI, and the model loaded from it, or why it could not be. */
export type ModelSetEntry = { name: string; uri: string } & ({ model: PipelineModel } | { failure: string });

/** A model set's options: each model's limits (each gets its own queue, timeout and body limit of these sizes). */
export interface ModelSetOptions extends Omit<AppOptions, "modelName" | "metrics" | "state"> {
  /** The server's own metrics (connections, process, requests no model answered); each model has a registry of its own besides. */
  metrics?: ServerMetrics;
  /** The server's state, which `serveApp` turns off while draining; each model's queue is a state under it. */
  state?: ServerState;
}

/** A model of the set that could not be loaded (served only with `--allow-partial-start`). */
export interface FailedModel {
  name: string;
  uri: string;
  failure: string;
}

/** Why a model of the set answers 503: it failed to load (REST and gRPC say it alike). */
export function failedModelMessage(failure: FailedModel): string {
  return `Model "${failure.name}" (${failure.uri}) is not ready: it failed to load when the server started: ${failure.failure}`;
}

/** Names a model may have: they are path segments of /models/{name} and /v2/models/{name}. */
export const MODEL_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

/** The routes a 404 names, with several models. */
const ROUTES =
  "GET / and GET /models/{name}/ (the models' pages), GET /ping, GET /health, GET /version, GET /metrics, POST /invocations (the first model), POST /models/{name}/invocations, GET /models/{name}/metadata, /v2/models/{name}/..., /v2/repository/index, GET /v1/models, /v1/models/{name}[:predict]";

/** The models of a set: each loaded one's service (its own queue, limits, metrics and slot), and those that failed. */
export class ModelSet {
  readonly services = new Map<string, ModelService>();
  readonly failed = new Map<string, FailedModel>();
  /** The names, in the order given: the first is served at /invocations too. */
  readonly names: readonly string[];
  readonly #state: ServerState;

  constructor(entries: readonly ModelSetEntry[], options: ModelSetOptions & { logger: Logger; state: ServerState }) {
    this.#state = options.state;
    for (const entry of entries) {
      if (!MODEL_NAME.test(entry.name))
        throw new Error(`"${entry.name}" cannot name a model: use letters, digits, _, . and -, starting with a letter or digit.`);
      if (this.services.has(entry.name) || this.failed.has(entry.name)) throw new Error(`Two models are named "${entry.name}"; give each its own name.`);
      if ("failure" in entry) {
        this.failed.set(entry.name, { name: entry.name, uri: entry.uri, failure: entry.failure });
        continue;
      }
      const service = new ModelService(entry.model, {
        ...options,
        modelName: entry.name,
        logger: options.logger.child({ model: entry.name }),
        metrics: new ServerMetrics({ labels: { model: entry.name } }),
        state: new ServerState(options.state),
      });
      this.services.set(entry.name, service);
    }
    if (this.services.size === 0) {
      throw new Error(`None of the models could be loaded: ${[...this.failed.values()].map((f) => `"${f.name}": ${f.failure}`).join("; ")}`);
    }
    this.names = entries.map((e) => e.name);
  }

  /** Why the server cannot take predictions now: shutting down, or a model's queue full (named). A model that failed to load does not hold the others back. */
  notReadyReason(): string | undefined {
    const reason = this.#state.notReadyReason();
    if (reason !== undefined) return reason;
    for (const [name, service] of this.services) {
      const own = service.state.notReadyReason();
      if (own !== undefined) return `Model "${name}": ${own}`;
    }
    return undefined;
  }

  /** The Open Inference repository index: every model, its version and state (only the ready ones with `readyOnly`). */
  repositoryIndex(readyOnly: boolean): RepositoryIndexEntry[] {
    const list: RepositoryIndexEntry[] = [];
    for (const name of this.names) {
      const service = this.services.get(name);
      if (service === undefined) {
        if (!readyOnly) list.push({ name, state: "UNAVAILABLE", reason: `failed to load: ${this.failed.get(name)?.failure ?? ""}` });
        continue;
      }
      if (readyOnly && service.state.notReadyReason() !== undefined) continue;
      list.push(repositoryEntry(name, service));
    }
    return list;
  }

  /** The answer of `path` for a model that is not served here (404), or did not load (503 naming why). */
  unavailable(name: string, path: string): Handler {
    const failure = this.failed.get(name);
    if (failure === undefined) {
      const names = this.names.map((n) => `"${n}"`).join(", ");
      return () => {
        throw new HttpError("NOT_FOUND", `Model "${name}" is not served here; this server serves ${names}.`);
      };
    }
    if (path.endsWith("/ready")) return (c) => json(c, { name, ready: false }, 503);
    const message = failedModelMessage(failure);
    return () => {
      throw new HttpError("TEMPORARILY_UNAVAILABLE", message);
    };
  }
}

/** An error answered by the server itself (no model took the request). */
function serverErrorResponse(log: Logger, debug: boolean): (c: Context<Env>, error: unknown) => Response {
  return (c, error) => reply(c, errorScoreResponse(error, { requestId: c.get("requestId"), shape: errorShapeOf(c), debug, log }));
}

/**
 * The app for several models in one server (`serve -m a=URI -m b=URI`): each model is served
 * under `/models/{name}/…` (`invocations`, `metadata`, `openapi.json`) and `/v2/models/{name}/…`;
 * `/invocations`, `/metadata` and `/openapi.json` serve the first one, as MLflow's single-model
 * server does. Each model has its own queue, timeout, body limit, metrics (labelled `model`) and
 * hot-swap slot. A model that failed to load (`failure`) answers 503 naming why, and is listed as
 * UNAVAILABLE in `/v2/repository/index`; the others serve.
 * @throws Error for a name that cannot be a path segment, a name given twice, or no model loaded.
 */
export function createModelSetApp(
  entries: readonly ModelSetEntry[],
  options: ModelSetOptions = {},
): { app: Hono<Env>; services: ReadonlyMap<string, ModelService>; failed: readonly FailedModel[] } {
  const log = options.logger ?? defaultLogger();
  const metrics = options.metrics ?? new ServerMetrics();
  const state = options.state ?? new ServerState();
  const set = new ModelSet(entries, { ...options, logger: log, state });
  // NB: a model that failed to load has no series of its own: this one says so, for an alert.
  for (const name of set.names) metrics.modelLoaded.set({ model: name }, set.services.has(name) ? 1 : 0);
  const app = new (honoLib().Hono)<Env>();
  const known: KnownRoute[] = [];
  const serverError = serverErrorResponse(log, options.debug ?? false);
  const serverEndpoint = endpointWrapper({ metrics, requestLog: new RequestLog(log, metrics), errorResponse: serverError });

  /** Places one model route at `at`, answered by the model that `pick` names. */
  const placeModelRoute = (method: "GET" | "POST", at: string, path: string, pick: (c: Context<Env>) => string): void => {
    const handlers = new Map<string, Handler>();
    for (const [name, service] of set.services) {
      const r = service.routes.find((x) => x.method === method && x.path === path);
      if (r) handlers.set(name, service.endpoint(at, r.handler));
    }
    app.on(method, at, (c) => {
      const name = pick(c);
      return (handlers.get(name) ?? serverEndpoint(at, set.unavailable(name, path)))(c);
    });
    known.push(knownRoute(method, at));
  };
  // NB: every model has the same routes; the first loaded one lists them.
  const first = set.names[0] as string;
  for (const r of (set.services.values().next().value as ModelService).routes) {
    if (r.path.startsWith("/v2/models/:name")) {
      placeModelRoute(r.method, r.path, r.path, (c) => c.req.param("name") as string);
    } else if (r.path.startsWith("/v1/models/:name")) {
      // NB: KServe v1 names the verb after the model: /v1/models/penguins:predict.
      placeModelRoute(r.method, r.path, r.path, (c) => (c.req.param("name") as string).replace(/:[^:]*$/, ""));
    } else {
      placeModelRoute(r.method, `/models/:name${r.path}`, r.path, (c) => c.req.param("name") as string);
      placeModelRoute(r.method, r.path, r.path, () => first);
    }
  }
  const route: AddRoute = (method, path, handler) => {
    app.on(method, path, serverEndpoint(path, handler));
    known.push(knownRoute(method, path));
  };
  serverRoutes(route, {
    notReadyReason: () => set.notReadyReason(),
    version: pipeserveVersion(),
    extensions: ["model_repository", BINARY_TENSOR_DATA],
    metrics: () => (options.metricsExposition ?? mergedMetrics)([metrics.registry, ...[...set.services.values()].map((s) => s.metrics.registry)]),
    // NB: every model of the set, one that failed to load too (its status answers 503), as /v2/repository/index lists them.
    modelNames: set.names,
  });
  repositoryRoutes(route, (readyOnly) => set.repositoryIndex(readyOnly), options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES);
  // NB: only reached when an endpoint itself fails to answer (it turns errors into responses).
  app.onError((error, c) => serverError(c, error));
  app.notFound(serverEndpoint((c) => known.find((r) => r.pattern.test(c.req.path))?.path ?? "unmatched", notFound(known, ROUTES)));
  return { app, services: set.services, failed: [...set.failed.values()] };
}
