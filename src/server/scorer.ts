import { createHash } from "node:crypto";
import type { Logger } from "pino";
import { NodeError, RunTimeoutError, type PipelineModel, type Prediction, type PredictOptions, type PreparedInput } from "../loader/index.js";
import { DEFAULT_LIMITS, MLFLOW_WORDING, type ColumnSpec, type TableLimits } from "../tabular/index.js";
import { PredictionBatcher } from "./batcher.js";
import { acceptedResponseTypes, parseContentType, type ResponseType } from "./content-type.js";
import { HttpError, toErrorReply } from "./errors.js";
import { decodeBody, encodeResponse } from "./invocations.js";
import { ServerMetrics } from "./metrics.js";
import { defaultLogger } from "./libraries.js";

/**
 * Whether the server takes new work; `serve()` turns it off while draining. With several models,
 * each has a state of its own (its queue) under the server's (`parent`): shutting the server down
 * makes every model not ready.
 */
export class ServerState {
  ready = true;
  /** Predictions running or waiting now. */
  pending = 0;
  /** Predictions that may run or wait at once (`--max-queue`); the Scorer sets it. */
  maxQueue = Number.POSITIVE_INFINITY;
  /** The server's state, when this is one model's among several. */
  readonly parent: ServerState | undefined;

  constructor(parent?: ServerState) {
    this.parent = parent;
  }

  /** Whether the server (this state's, or its parent's) is shutting down. */
  get shuttingDown(): boolean {
    return !this.ready || (this.parent !== undefined && this.parent.shuttingDown);
  }

  /** Why the server cannot take a prediction now (shutting down, queue full), or undefined when it can: what readiness reports. */
  notReadyReason(): string | undefined {
    if (this.shuttingDown) return "The server is shutting down.";
    if (this.pending >= this.maxQueue) return `The server is at its limit of ${this.maxQueue} queued predictions (--max-queue).`;
    return undefined;
  }
}

/** One pipeline run in this many has its nodes timed for pipeserve_pipeline_node_duration_seconds. */
export const NODE_TIMING_SAMPLE = 16;

export interface ScorerOptions {
  /** Prediction timeout in ms; `MLFLOW_SCORING_SERVER_REQUEST_TIMEOUT` (seconds) or 60 s by default. */
  timeoutMs?: number;
  /** Predictions that may run or wait at once before new ones get 503; 1024 by default. */
  maxQueue?: number;
  /**
   * Rows one pipeline run may hold when small concurrent requests to a row-wise model run
   * together (adaptive batching); 256 by default, 1 turns batching off.
   */
  maxBatchRows?: number;
  /** Rows one request may hold (`--max-rows`): more is refused with 413 while its body is decoded; 1,000,000 by default. */
  maxRows?: number;
  /** Cells (rows × columns; values of a JSON body) one request may hold (`--max-cells`); 20,000,000 by default. */
  maxCells?: number;
  /** Stack traces and internal messages in error bodies. Off by default. */
  debug?: boolean;
  /** Where internal errors and once-per-kind warnings go; pino at `PIPESERVE_LOG_LEVEL` (info) by default. */
  logger?: Logger;
  metrics?: ServerMetrics;
  state?: ServerState;
}

/** An `/invocations` request, as bytes and the headers that matter. */
export interface ScoreRequest {
  /**
   * The body, or a function that reads it. NB: the function is called only once the content
   * type is accepted, so a refused request's body is never read (a 415 wins over a 413).
   */
  body: Uint8Array | (() => Promise<Uint8Array>);
  /** The Content-Type header. */
  contentType: string | undefined;
  /** The Accept header. */
  accept?: string | undefined;
  /** The `params` query parameter, URL-decoded JSON: params for bodies that cannot carry their own. */
  params?: string | undefined;
  /** Names the request in the log lines it causes. */
  requestId?: string | undefined;
}

/** What a client gets: `headers` has Content-Type, and Retry-After or X-Pipeserve-Ignored-Params when they apply. */
export interface ScoreResponse {
  status: number;
  headers: Record<string, string>;
  body: string | Uint8Array;
}

/** The error body shapes: MLflow's `{error_code, message}`, or the Open Inference Protocol's `{error}`. */
export type ErrorShape = "mlflow" | "v2";

/** The prediction timeout when none is given: `MLFLOW_SCORING_SERVER_REQUEST_TIMEOUT` (seconds) or 60 s. */
export function defaultTimeoutMs(): number {
  const env = Number(process.env["MLFLOW_SCORING_SERVER_REQUEST_TIMEOUT"]);
  return Number.isFinite(env) && env > 0 ? env * 1000 : 60_000;
}

/**
 * The output in the best accepted type that can carry it: an output that is not a table cannot be
 * CSV or Arrow, so `Accept: text/csv, application/json;q=0.5` gets JSON for it.
 * @throws HttpError NOT_ACCEPTABLE (406) when no accepted type can.
 */
function encodeAccepted(
  output: unknown,
  types: readonly ResponseType[],
  outputs: readonly ColumnSpec[] | null | undefined,
): { body: string | Uint8Array; contentType: string } {
  let refusal: unknown;
  for (const type of types) {
    try {
      return encodeResponse(output, type, outputs);
    } catch (error) {
      if (!(error instanceof HttpError && error.code === "NOT_ACCEPTABLE")) throw error;
      refusal ??= error;
    }
  }
  throw refusal;
}

/** A node that fails on an input with no rows: the client's to fix (send rows), so a 400 naming the node. */
function emptyInputError(error: NodeError): HttpError {
  return new HttpError(
    "BAD_REQUEST",
    `${MLFLOW_WORDING.modelFailed} The input has no rows, and the pipeline failed on it: ${error.message.replace(/\.?$/, ".")} Send at least one row.`,
  );
}

/**
 * The framework-free scoring core, as MLflow's `invocations(data, content_type, model)`: bytes,
 * content type and Accept in, `{status, headers, body}` out. It owns what every prediction goes
 * through, whatever the protocol: the shutdown and queue limits (503 with Retry-After), the
 * timeout (504), adaptive batching, decoding, content negotiation and encoding, and errors as
 * bodies. It knows no HTTP framework: routes (MLflow, Open Inference) are thin layers over it.
 */
export class Scorer {
  readonly model: PipelineModel;
  readonly state: ServerState;
  readonly metrics: ServerMetrics;
  readonly #log: Logger;
  readonly #timeoutMs: number;
  readonly #maxQueue: number;
  /** The rows and cells a request may hold. */
  readonly limits: TableLimits;
  readonly #debug: boolean;
  readonly #batcher: PredictionBatcher;
  readonly #seenDropped = new Set<string>();
  readonly #seenIgnored = new Set<string>();
  #runs = 0;

  constructor(model: PipelineModel, options: ScorerOptions = {}) {
    this.model = model;
    this.state = options.state ?? new ServerState();
    this.metrics = options.metrics ?? new ServerMetrics();
    this.#log = options.logger ?? defaultLogger();
    this.#timeoutMs = options.timeoutMs ?? defaultTimeoutMs();
    this.#maxQueue = options.maxQueue ?? 1024;
    this.limits = { maxRows: options.maxRows ?? DEFAULT_LIMITS.maxRows, maxCells: options.maxCells ?? DEFAULT_LIMITS.maxCells };
    this.#debug = options.debug ?? false;
    const metrics = this.metrics;
    // NB: node timings are sampled (one pipeline run in NODE_TIMING_SAMPLE): timing every node of
    // every request cost a fifth of single-row throughput (bench/server).
    this.#batcher = new PredictionBatcher(model, {
      maxRows: options.maxBatchRows ?? 256,
      hooksForRun: () => (this.#runs++ % NODE_TIMING_SAMPLE === 0 ? metrics.hooks : undefined),
      onRun: (requests) => metrics.batchRequests.observe(requests),
      onAbandoned: (settled) => metrics.abandon(settled),
    });
    this.state.maxQueue = this.#maxQueue;
  }

  /**
   * Scores an MLflow `/invocations` request: checks the content type (415), reads and decodes the
   * body (400; 413 past the row and cell limits), predicts, and encodes the output in the best type
   * Accept takes (406 when none can carry it). Never throws: every error is a response.
   */
  async invocations(request: ScoreRequest): Promise<ScoreResponse> {
    try {
      this.admitRequest();
      const type = parseContentType(request.contentType);
      const responseTypes = acceptedResponseTypes(request.accept);
      const bytes = typeof request.body === "function" ? await request.body() : request.body;
      // NB: a full queue decodes no more bodies; an empty body is a 400 first, as ever.
      if (bytes.byteLength > 0) this.#admitToQueue();
      const decoding = decodeBody(type, bytes, request.params, this.limits);
      const decoded = decoding instanceof Promise ? await decoding : decoding;
      let result: Prediction;
      if (decoded.kind === "json") {
        const { table, params } = this.model.parseJsonBody(decoded.body, this.limits);
        result = await this.predict(table, { params, fromText: false });
      } else {
        result = await this.predict(decoded.table, {
          ...(decoded.params !== undefined ? { params: decoded.params } : {}),
          fromText: decoded.fromText,
          fromArrow: decoded.fromArrow,
        });
      }
      const { body, contentType } = encodeAccepted(result.output, responseTypes, this.model.signature?.outputs);
      const headers = this.notePrediction(result, request.requestId) ?? {};
      headers["Content-Type"] = contentType;
      return { status: 200, headers, body };
    } catch (error) {
      return this.errorResponse(error, request.requestId);
    }
  }

  /**
   * Checks one prediction's input, then runs it (in a batch when it may) under the queue bound and
   * the timeout. The protocol-neutral step every route's predictions go through.
   * @throws HttpError TEMPORARILY_UNAVAILABLE (503, Retry-After) while shutting down or when the
   * queue is full, DEADLINE_EXCEEDED (504) after the timeout or the caller's deadline; the model's errors for bad input.
   * @param callerDeadline when the caller stops waiting (`performance.now()` time; a gRPC call's
   *   deadline): the run ends then if that comes before the timeout.
   */
  async predict(input: unknown, options: Omit<PredictOptions, "hooks">, callerDeadline?: number): Promise<Prediction> {
    const state = this.state;
    this.#admitToQueue();
    const prepared = this.model.prepare(input, options);
    // A row-wise model's output has a row per input row: for none, there is nothing to run.
    if (prepared.table.numRows === 0 && this.model.rowWise) return this.#emptyPrediction(prepared);
    state.pending++;
    // NB: the run itself ends at the deadline (its runner stops it, and the queue slot is freed
    // then), whatever its nodes do; nodes still running are abandoned and counted.
    const timeoutAt = performance.now() + this.#timeoutMs;
    const deadline = callerDeadline !== undefined && callerDeadline < timeoutAt ? callerDeadline : timeoutAt;
    try {
      const result = await this.#batcher.submit(prepared, deadline);
      this.metrics.rows.inc(result.rows);
      return result;
    } catch (error) {
      if (error instanceof RunTimeoutError) {
        this.metrics.timedOut.inc();
        if (deadline !== timeoutAt)
          throw new HttpError("DEADLINE_EXCEEDED", `${MLFLOW_WORDING.timeout}. The prediction did not finish by the call's deadline.`);
        throw new HttpError(
          "DEADLINE_EXCEEDED",
          `${MLFLOW_WORDING.timeout}. The prediction took longer than the ${this.#timeoutMs / 1000} s timeout (--timeout).`,
        );
      }
      throw prepared.table.numRows === 0 && error instanceof NodeError ? emptyInputError(error) : error;
    } finally {
      state.pending--;
    }
  }

  /** Refuses a new request while shutting down: one that arrived before (an upload still in flight) is finished. */
  admitRequest(): void {
    if (this.state.shuttingDown)
      throw new HttpError("TEMPORARILY_UNAVAILABLE", "The server is shutting down; retry on another instance.", { "Retry-After": "1" });
  }

  /** @throws HttpError TEMPORARILY_UNAVAILABLE (503, Retry-After) when the queue is full. */
  #admitToQueue(): void {
    if (this.state.pending >= this.#maxQueue)
      throw new HttpError("TEMPORARILY_UNAVAILABLE", `The server is at its limit of ${this.#maxQueue} queued predictions (--max-queue); retry shortly.`, {
        "Retry-After": "1",
      });
  }

  #emptyPrediction(prepared: PreparedInput): Prediction {
    return {
      output: this.model.emptyOutput(),
      ignoredParams: prepared.ignoredParams,
      droppedColumns: prepared.droppedColumns,
      runner: prepared.runner,
      rows: 0,
    };
  }

  /**
   * Logs what a served prediction ignored or dropped (once per kind) and returns the header that
   * names ignored params, if any. Call it once the response is encoded.
   */
  notePrediction(result: Prediction, requestId: string | undefined): Record<string, string> | undefined {
    let headers: Record<string, string> | undefined;
    if (result.ignoredParams.length > 0) {
      const names = ignoredParamsHeader(result.ignoredParams);
      if (names !== "") headers = { "X-Pipeserve-Ignored-Params": names };
      if (firstSeen(this.#seenIgnored, result.ignoredParams))
        this.#log.warn(
          { reqId: requestId, ignored: loggedNames(result.ignoredParams), count: result.ignoredParams.length },
          "Ignored params the model does not declare",
        );
    }
    if (result.droppedColumns.length > 0 && firstSeen(this.#seenDropped, result.droppedColumns)) {
      this.#log.warn(
        { reqId: requestId, dropped: loggedNames(result.droppedColumns), count: result.droppedColumns.length },
        "Dropped input columns the signature does not have",
      );
    }
    return headers;
  }

  /**
   * An error as the client sees it: MLflow's `{error_code, message}` (with `stack_trace` when
   * debugging), or `{error}` for the Open Inference Protocol. Internal errors are logged.
   */
  errorResponse(error: unknown, requestId: string | undefined, shape: ErrorShape = "mlflow"): ScoreResponse {
    return errorScoreResponse(error, { requestId, shape, debug: this.#debug, log: this.#log });
  }
}

/**
 * An error as a response body in the protocol's shape; an internal error is logged (with the
 * request id) and its details kept from the client unless `debug`.
 */
export function errorScoreResponse(error: unknown, options: { requestId: string | undefined; shape: ErrorShape; debug: boolean; log: Logger }): ScoreResponse {
  const reply = toErrorReply(error, options.debug);
  if (reply.internal) options.log.error({ reqId: options.requestId, err: error }, reply.message);
  const headers: Record<string, string> = { "Content-Type": "application/json" };
  for (const name in reply.headers) headers[name] = reply.headers[name] as string;
  if (options.shape === "v2") return { status: reply.status, headers, body: JSON.stringify({ error: reply.message }) };
  const body: Record<string, unknown> = { error_code: reply.code, message: reply.message };
  if (reply.stack) body["stack_trace"] = reply.stack;
  return { status: reply.status, headers, body: JSON.stringify(body) };
}

/** The most distinct sets of ignored params (and of dropped columns) a server remembers having logged. */
const SEEN_SETS = 1000;
/** Names of a set longer than this (joined) are remembered by their digest. */
const SEEN_KEY_CHARS = 128;
/** The most names `X-Pipeserve-Ignored-Params` carries, and its most characters. */
const HEADER_NAMES = 50;
const HEADER_CHARS = 4000;
/** The most names of a set a log line lists, and the most characters of each. */
const LOGGED_NAMES = 50;
const LOGGED_NAME_CHARS = 200;

/**
 * Whether `names` is a set not logged before (and remembers it, among at most SEEN_SETS). NB: a
 * long set is remembered by its digest: requests of 5,000 new 200-character names each grew the
 * heap 2.4 MB a request (found by an audit).
 */
function firstSeen(seen: Set<string>, names: readonly string[]): boolean {
  const joined = names.join(",");
  const key = joined.length <= SEEN_KEY_CHARS ? joined : createHash("sha256").update(joined).digest("base64");
  if (seen.has(key) || seen.size >= SEEN_SETS) return false;
  seen.add(key);
  return true;
}

/** At most LOGGED_NAMES names, each cut to LOGGED_NAME_CHARS characters: what a log line lists. */
function loggedNames(names: readonly string[]): string[] {
  return names.slice(0, LOGGED_NAMES).map((name) => (name.length > LOGGED_NAME_CHARS ? `${name.slice(0, LOGGED_NAME_CHARS)}…` : name));
}

/**
 * The ignored params' names for `X-Pipeserve-Ignored-Params`: percent-encoded, comma-separated, in
 * order, as many of the first HEADER_NAMES as fit in HEADER_CHARS characters ("" when none does).
 * NB: 40 names of 3,000 characters made a 120 KB header, past what Python's http.client reads
 * (64 KB a line), so `requests` failed on the answer.
 */
function ignoredParamsHeader(names: readonly string[]): string {
  let header = "";
  for (const name of names.slice(0, HEADER_NAMES)) {
    const encoded = headerSafeName(name);
    const next = header === "" ? encoded : `${header},${encoded}`;
    if (next.length > HEADER_CHARS) break;
    header = next;
  }
  return header;
}

/**
 * A param name percent-encoded for a header. NB: a JSON key may hold a lone UTF-16 surrogate
 * (`"\ud800"`), which `encodeURIComponent` refuses with a URIError: it is written as U+FFFD.
 */
function headerSafeName(name: string): string {
  return encodeURIComponent(name.replace(/\p{Cs}/gu, "\uFFFD"));
}
