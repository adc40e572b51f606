import { randomUUID } from "node:crypto";
import { Hono, type Context } from "hono";
import { pino, type Logger } from "pino";
import { signatureToMlflow, type Signature } from "../tabular/index.js";
import { pipeserveVersion, type PipelineModel, type Prediction, type PredictOptions } from "../loader/index.js";
import { acceptedResponseTypes, parseContentType, type ResponseType } from "./content-type.js";
import { HttpError, toErrorReply } from "./errors.js";
import { decodeBody, encodeResponse } from "./invocations.js";
import { PredictionBatcher } from "./batcher.js";
import { ServerMetrics } from "./metrics.js";
import { RequestLog } from "./request-log.js";
import { decodeInferRequest, encodeInferResponse, tensorsOf } from "./open-inference.js";

/** Whether the server takes new work; `serve()` turns it off while draining. */
export class ServerState {
  ready = true;
  /** Predictions running or waiting now. */
  pending = 0;
}

export interface AppOptions {
  /** The model's name in the Open Inference Protocol; the registered name for a `models:/` URI, else `model`. */
  modelName?: string;
  /** Largest request body in bytes; 100 MB by default. */
  maxBodyBytes?: number;
  /** Request timeout in ms; `MLFLOW_SCORING_SERVER_REQUEST_TIMEOUT` (seconds) or 60 s by default. */
  timeoutMs?: number;
  /** Predictions that may run or wait at once before new ones get 503; 1024 by default. */
  maxQueue?: number;
  /**
   * Rows one pipeline run may hold when small concurrent requests to a row-wise model run
   * together (adaptive batching); 256 by default, 1 turns batching off.
   */
  maxBatchRows?: number;
  /** Stack traces and internal messages in error bodies. Off by default. */
  debug?: boolean;
  logger?: Logger;
  metrics?: ServerMetrics;
  state?: ServerState;
}

type Env = { Variables: { requestId: string } };

const REQUEST_ID = /^[\w.:-]{1,128}$/;

/** One pipeline run in this many has its nodes timed for pipeserve_pipeline_node_duration_seconds. */
export const NODE_TIMING_SAMPLE = 16;

function defaultTimeoutMs(): number {
  const env = Number(process.env["MLFLOW_SCORING_SERVER_REQUEST_TIMEOUT"]);
  return Number.isFinite(env) && env > 0 ? env * 1000 : 60_000;
}

/** Reads a request body, refusing more than `limit` bytes (413) without buffering the excess. */
async function readBody(c: Context<Env>, limit: number): Promise<Uint8Array> {
  const length = c.req.header("content-length");
  const tooLarge = (): HttpError => new HttpError("REQUEST_TOO_LARGE", `The request body is larger than the limit of ${limit} bytes (--max-body).`);
  if (length !== undefined && /^\d+$/.test(length)) {
    if (Number(length) > limit) throw tooLarge();
    // NB: the HTTP parser holds the body to its declared length; reading it whole skips web streams.
    return new Uint8Array(await c.req.arrayBuffer());
  }
  const stream = c.req.raw.body;
  if (!stream) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = stream.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel();
      throw tooLarge();
    }
    chunks.push(value);
  }
  if (chunks.length === 1) return chunks[0] as Uint8Array;
  const out = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}

/**
 * A response with plain headers, X-Request-Id among them. @hono/node-server writes plain headers
 * straight to the socket; Hono's `c.header()` / `c.json()` build a `Headers` object per response,
 * which cost a tenth of single-row throughput (bench/server).
 */
function send(c: Context<Env>, body: string | Uint8Array, status: number, contentType: string, extra?: Readonly<Record<string, string>>): Response {
  // NB: an error Hono itself raises reaches onError before any endpoint has set an id.
  const headers: Record<string, string> = { "Content-Type": contentType, "X-Request-Id": (c.get("requestId") as string | undefined) ?? randomUUID() };
  if (extra) for (const name in extra) headers[name] = extra[name] as string;
  return new Response(body, { status, headers });
}

function json(c: Context<Env>, value: unknown, status = 200, extra?: Readonly<Record<string, string>>): Response {
  return send(c, JSON.stringify(value), status, "application/json", extra);
}

/**
 * The output in the best accepted type that can carry it: an output that is not a table cannot be
 * CSV or Arrow, so `Accept: text/csv, application/json;q=0.5` gets JSON for it.
 * @throws HttpError NOT_ACCEPTABLE (406) when no accepted type can.
 */
function encodeAccepted(output: unknown, types: readonly ResponseType[]): { body: string | Uint8Array; contentType: string } {
  let refusal: unknown;
  for (const type of types) {
    try {
      return encodeResponse(output, type);
    } catch (error) {
      if (!(error instanceof HttpError && error.code === "NOT_ACCEPTABLE")) throw error;
      refusal ??= error;
    }
  }
  throw refusal;
}

function paramsView(signature: Signature | null): { name: string; type: string; default: unknown; shape: null | number[] }[] {
  return (signature?.params ?? []).map((p) => ({ name: p.name, type: p.type, default: p.default, shape: p.shape }));
}

/**
 * The scoring app for one loaded model: MLflow's routes (`/ping`, `/health`, `/version`,
 * `/invocations`), the Open Inference Protocol v2, `/metadata` and `/metrics`. Bad input gets a
 * 4xx with an MLflow-shaped body; nothing a client sends takes the server down.
 */
// biome-ignore lint/complexity/noExcessiveLinesPerFunction: TODO(issue 16) split this function
export function createApp(model: PipelineModel, options: AppOptions = {}): Hono<Env> {
  const log = options.logger ?? pino({ level: process.env["PIPESERVE_LOG_LEVEL"] ?? "info" });
  const metrics = options.metrics ?? new ServerMetrics();
  const state = options.state ?? new ServerState();
  const maxBody = options.maxBodyBytes ?? 100 * 1024 * 1024;
  const timeoutMs = options.timeoutMs ?? defaultTimeoutMs();
  const maxQueue = options.maxQueue ?? 1024;
  const maxBatchRows = options.maxBatchRows ?? 256;
  const debug = options.debug ?? false;
  const modelName = options.modelName ?? model.metadata.registeredName ?? "model";
  const modelVersion = model.metadata.version !== undefined ? String(model.metadata.version) : undefined;
  const version = pipeserveVersion();
  const seenDropped = new Set<string>();
  const seenIgnored = new Set<string>();
  const app = new Hono<Env>();

  const requestLog = new RequestLog(log, metrics);

  /** An error as the client sees it: MLflow's `{error_code, message}`, or `{error}` on /v2. */
  const errorResponse = (c: Context<Env>, error: unknown): Response => {
    const reply = toErrorReply(error, debug);
    if (reply.internal) log.error({ reqId: c.get("requestId"), err: error }, reply.message);
    if (c.req.path.startsWith("/v2")) return json(c, { error: reply.message }, reply.status, reply.headers);
    const body: Record<string, unknown> = { error_code: reply.code, message: reply.message };
    if (reply.stack) body["stack_trace"] = reply.stack;
    return json(c, body, reply.status, reply.headers);
  };

  /**
   * Wraps a route's handler with what every request gets: a request id, errors as responses, the
   * in-flight count, the access log and request metrics. NB: a wrapper, not Hono middleware: with
   * one handler per route Hono calls it directly instead of composing a chain per request, which
   * was worth a fifth of single-row throughput (bench/server).
   */
  const endpoint =
    (route: string | ((c: Context<Env>) => string), handler: (c: Context<Env>) => Response | Promise<Response>) =>
    async (c: Context<Env>): Promise<Response> => {
      const incoming = c.req.header("x-request-id");
      const reqId = incoming && REQUEST_ID.test(incoming) ? incoming : randomUUID();
      c.set("requestId", reqId);
      const start = performance.now();
      metrics.requestsInFlight++;
      let res: Response;
      try {
        res = await handler(c);
      } catch (error) {
        res = errorResponse(c, error);
      } finally {
        metrics.requestsInFlight--;
      }
      const seconds = (performance.now() - start) / 1000;
      requestLog.add({ reqId, route: typeof route === "string" ? route : route(c), method: c.req.method, path: c.req.path, status: res.status, seconds });
      return res;
    };

  /** Each route's pattern and method, for 405 answers on a known path with another method. */
  const routes: { pattern: RegExp; path: string; method: string }[] = [];
  const route = (method: "GET" | "POST", path: string, handler: (c: Context<Env>) => Response | Promise<Response>): void => {
    app.on(method, path, endpoint(path, handler));
    routes.push({ pattern: new RegExp(`^${path.replace(/:\w+/g, "[^/]+")}$`), path, method });
  };

  // NB: only reached when an endpoint itself fails to answer (it turns errors into responses).
  app.onError((error, c) => errorResponse(c, error));

  const known = (c: Context<Env>): { path: string; method: string } | undefined => routes.find((r) => r.pattern.test(c.req.path));
  app.notFound(
    endpoint(
      (c) => known(c)?.path ?? "unmatched",
      (c) => {
        const v2 = c.req.path.startsWith("/v2");
        const match = known(c);
        if (match) {
          // A known path with another method: 405 with Allow, in the protocol's error shape.
          const message = `${c.req.method} is not allowed on ${c.req.path}; use ${match.method}.`;
          return json(c, v2 ? { error: message } : { error_code: "METHOD_NOT_ALLOWED", message }, 405, { Allow: match.method });
        }
        const message = `No route for ${c.req.method} ${c.req.path}. Routes: GET /ping, GET /health, GET /version, POST /invocations, GET /metadata, GET /metrics, /v2/...`;
        return json(c, v2 ? { error: message } : { error_code: "NOT_FOUND", message }, 404);
      },
    ),
  );

  // NB: node timings are sampled (one pipeline run in NODE_TIMING_SAMPLE): timing every node of
  // every request cost a fifth of single-row throughput (bench/server).
  let runs = 0;
  const batcher = new PredictionBatcher(model, {
    maxRows: maxBatchRows,
    hooksForRun: () => (runs++ % NODE_TIMING_SAMPLE === 0 ? metrics.hooks : undefined),
    onRun: (requests) => metrics.batchRequests.observe(requests),
  });

  /** Checks one prediction's input, then runs it (in a batch when it may) under the queue bound and the timeout. */
  const predict = async (input: unknown, opts: PredictOptions): Promise<Prediction> => {
    if (!state.ready) throw new HttpError("TEMPORARILY_UNAVAILABLE", "The server is shutting down; retry on another instance.", { "Retry-After": "1" });
    if (state.pending >= maxQueue)
      throw new HttpError("TEMPORARILY_UNAVAILABLE", `The server is at its limit of ${maxQueue} queued predictions (--max-queue); retry shortly.`, {
        "Retry-After": "1",
      });
    const prepared = model.prepare(input, opts);
    state.pending++;
    // NB: one promise and one timer per prediction (no Promise.race): this is every request's path.
    return new Promise<Prediction>((resolve, reject) => {
      let late = false;
      const timer = setTimeout(() => {
        late = true;
        reject(new HttpError("DEADLINE_EXCEEDED", `The prediction took longer than the ${timeoutMs / 1000} s timeout (--timeout).`));
      }, timeoutMs);
      // NB: the queue slot is freed when the pipeline stops, not when the client gets a 504: a
      // timed-out run still uses the machine, and --max-queue bounds real work.
      batcher.submit(prepared).then(
        (result) => {
          state.pending--;
          clearTimeout(timer);
          // After a 504 the late result is dropped (and its rows were not served).
          if (late) return;
          metrics.rows.inc(result.rows);
          resolve(result);
        },
        (error: unknown) => {
          state.pending--;
          clearTimeout(timer);
          reject(error);
        },
      );
    });
  };

  /** Logs what a prediction ignored or dropped (once per kind) and returns the headers that name ignored params. */
  const noteRequest = (c: Context<Env>, result: Prediction): Record<string, string> | undefined => {
    let headers: Record<string, string> | undefined;
    if (result.ignoredParams.length > 0) {
      // Names are percent-encoded (any text may be a JSON key, but not a header value), at most 50.
      headers = { "X-Pipeserve-Ignored-Params": result.ignoredParams.slice(0, 50).map(encodeURIComponent).join(",") };
      const key = result.ignoredParams.join(",");
      if (!seenIgnored.has(key) && seenIgnored.size < 1000) {
        seenIgnored.add(key);
        log.warn({ reqId: c.get("requestId"), ignored: result.ignoredParams }, "Ignored params the model does not declare");
      }
    }
    if (result.droppedColumns.length > 0) {
      const key = result.droppedColumns.join(",");
      if (!seenDropped.has(key) && seenDropped.size < 1000) {
        seenDropped.add(key);
        log.warn({ reqId: c.get("requestId"), dropped: result.droppedColumns }, "Dropped input columns the signature does not have");
      }
    }
    return headers;
  };

  const ping = (c: Context<Env>): Response => {
    if (!state.ready) return json(c, { error_code: "TEMPORARILY_UNAVAILABLE", message: "The server is shutting down." }, 503);
    return send(c, "\n", 200, "application/json");
  };
  route("GET", "/ping", ping);
  route("GET", "/health", ping);
  route("GET", "/version", (c) => send(c, version, 200, "application/json"));

  route("POST", "/invocations", async (c) => {
    const type = parseContentType(c.req.header("content-type"));
    const responseTypes = acceptedResponseTypes(c.req.header("accept"));
    const decoded = decodeBody(type, await readBody(c, maxBody), c.req.query("params"));
    const result = await predict(decoded.input, { ...(decoded.params !== undefined ? { params: decoded.params } : {}), fromText: decoded.fromText });
    const { body, contentType } = encodeAccepted(result.output, responseTypes);
    return send(c, body, 200, contentType, noteRequest(c, result));
  });

  route("GET", "/metadata", (c) =>
    json(c, {
      name: modelName,
      version: modelVersion ?? null,
      uri: model.uri,
      run_id: model.metadata.runId ?? null,
      model_uuid: model.metadata.modelUuid ?? null,
      utc_time_created: model.metadata.utcTimeCreated ?? null,
      pipeserve_version: version,
      flavor: model.metadata.flavor,
      signature: model.signature ? signatureToMlflow(model.signature) : null,
      params: paramsView(model.signature),
      runners: model.runnerNames,
      input_example: model.inputExample ?? null,
    }),
  );

  route("GET", "/metrics", async (c) => send(c, await metrics.registry.metrics(), 200, metrics.registry.contentType));

  // Open Inference Protocol v2
  route("GET", "/v2", (c) => json(c, { name: "pipeserve", version, extensions: [] }));
  route("GET", "/v2/health/live", (c) => json(c, { live: true }));
  route("GET", "/v2/health/ready", (c) => json(c, { ready: state.ready }, state.ready ? 200 : 503));

  const checkModel = (c: Context<Env>): void => {
    const name = c.req.param("name");
    const v = c.req.param("version");
    if (name !== modelName) throw new HttpError("NOT_FOUND", `Model "${name}" is not served here; this server serves "${modelName}".`);
    if (v !== undefined && modelVersion !== undefined && v !== modelVersion)
      throw new HttpError("NOT_FOUND", `Model "${name}" has no version "${v}" here; this server serves version ${modelVersion}.`);
  };
  const modelMetadata = (c: Context<Env>): Response => {
    checkModel(c);
    return json(c, {
      name: modelName,
      versions: modelVersion !== undefined ? [modelVersion] : [],
      platform: "pipeserve",
      inputs: tensorsOf(model.signature?.inputs),
      outputs: tensorsOf(model.signature?.outputs),
    });
  };
  const modelReady = (c: Context<Env>): Response => {
    checkModel(c);
    return json(c, { name: modelName, ready: state.ready }, state.ready ? 200 : 503);
  };
  const infer = async (c: Context<Env>): Promise<Response> => {
    checkModel(c);
    const bytes = await readBody(c, maxBody);
    let body: unknown;
    try {
      body = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
    } catch {
      throw new HttpError("BAD_REQUEST", "The infer request is not valid UTF-8 JSON.");
    }
    const request = decodeInferRequest(body);
    const result = await predict(request.table, { params: request.params });
    return json(
      c,
      encodeInferResponse(result.output, model.signature, { modelName, modelVersion, id: request.id, outputs: request.outputs }),
      200,
      noteRequest(c, result),
    );
  };
  route("GET", "/v2/models/:name", modelMetadata);
  route("GET", "/v2/models/:name/versions/:version", modelMetadata);
  route("GET", "/v2/models/:name/ready", modelReady);
  route("GET", "/v2/models/:name/versions/:version/ready", modelReady);
  route("POST", "/v2/models/:name/infer", infer);
  route("POST", "/v2/models/:name/versions/:version/infer", infer);

  return app;
}
