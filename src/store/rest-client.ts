import { readFileSync } from "node:fs";
import { type IncomingMessage, Agent as HttpAgent, request as httpRequest } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import type { Readable } from "node:stream";
import { redactCredentials } from "../util/index.js";
import { NotFoundError, StoreError } from "./errors.js";

/**
 * How pipeserve talks to an MLflow tracking server, read from the environment with MLflow's own
 * variables and defaults (mlflow/environment_variables.py, mlflow/utils/rest_utils.py).
 */
export interface RestSettings {
  /** `MLFLOW_HTTP_REQUEST_TIMEOUT` (seconds, default 120): the longest a connection may stay silent. */
  timeoutMs: number;
  /** `MLFLOW_HTTP_REQUEST_MAX_RETRIES` (default 7): retries after the first try. */
  maxRetries: number;
  /** `MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR` (seconds, default 2): retry k waits factor × 2^(k-1), the first none (urllib3's Retry). */
  backoffFactor: number;
  /** `MLFLOW_HTTP_REQUEST_BACKOFF_JITTER` (seconds, default 1): a random extra wait up to this. */
  backoffJitter: number;
  /** The `Authorization` header: Basic from `MLFLOW_TRACKING_USERNAME`/`_PASSWORD` (first, as MLflow), else Bearer `MLFLOW_TRACKING_TOKEN`. */
  authorization?: string;
  /** `MLFLOW_TRACKING_INSECURE_TLS=true`: TLS certificates are not checked. */
  insecureTls: boolean;
  /** `MLFLOW_TRACKING_SERVER_CERT_PATH`: a CA bundle to check the server's certificate with. */
  caPath?: string;
}

/** Statuses retried, as MLflow's `_TRANSIENT_FAILURE_RESPONSE_CODES`. */
export const RETRY_STATUSES: ReadonlySet<number> = new Set([408, 429, 500, 502, 503, 504]);
/** urllib3's cap on one backoff wait, in seconds. */
const BACKOFF_MAX_S = 120;
/** Network errors worth another try: the server restarting, a proxy dropping the connection, a timeout. */
const RETRY_ERRORS = new Set(["ECONNREFUSED", "ECONNRESET", "EPIPE", "ETIMEDOUT", "EAI_AGAIN", "ENOTFOUND", "EHOSTUNREACH", "ENETUNREACH", "ECONNABORTED"]);

function numberFrom(env: NodeJS.ProcessEnv, name: string, fallback: number, check: (n: number) => boolean, what: string): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === "") return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || !check(n)) throw new StoreError(`${name}=${JSON.stringify(raw)} is not ${what}.`, { code: "INVALID_PARAMETER_VALUE" });
  return n;
}

const truthy = (value: string | undefined): boolean => /^(1|true|yes|on)$/i.test(value?.trim() ?? "");

/**
 * A credential variable's value, refused when it holds a character no HTTP header can carry. NB:
 * found by an audit: a token read from a file (a Kubernetes Secret) ends with a line break, and the
 * request failed as "Cannot reach the MLflow tracking server … ERR_INVALID_CHAR".
 */
function headerSafe(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const value = env[name];
  if (value === undefined || !/[\r\n\0]/.test(value)) return value;
  const where = /[\r\n]+$/.test(value) ? "ends with a line break (as a value read from a file does)" : "holds a line break or a NUL";
  throw new StoreError(`${name} ${where}, which no HTTP header can carry: remove it, e.g. ${name}="$(tr -d '\\r\\n' < file)".`, {
    code: "INVALID_PARAMETER_VALUE",
  });
}

/** The settings in `env` (`OpenStoreOptions.env`, else `process.env`). @throws StoreError naming a variable with a bad value. */
export function restSettingsFrom(env: NodeJS.ProcessEnv): RestSettings {
  const user = headerSafe(env, "MLFLOW_TRACKING_USERNAME");
  const password = headerSafe(env, "MLFLOW_TRACKING_PASSWORD");
  const token = headerSafe(env, "MLFLOW_TRACKING_TOKEN");
  const authorization = user && password ? `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}` : token ? `Bearer ${token}` : undefined;
  const caPath = env["MLFLOW_TRACKING_SERVER_CERT_PATH"] || undefined;
  return {
    timeoutMs: numberFrom(env, "MLFLOW_HTTP_REQUEST_TIMEOUT", 120, (n) => n > 0, "a number of seconds above 0") * 1000,
    // NB: MLflow refuses 10 retries or more and factors from 120 (its _LIMIT variables' defaults).
    maxRetries: numberFrom(env, "MLFLOW_HTTP_REQUEST_MAX_RETRIES", 7, (n) => Number.isInteger(n) && n >= 0 && n < 10, "a whole number from 0 to 9"),
    backoffFactor: numberFrom(env, "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", 2, (n) => n >= 0 && n < 120, "a number of seconds from 0 to below 120"),
    backoffJitter: numberFrom(env, "MLFLOW_HTTP_REQUEST_BACKOFF_JITTER", 1, (n) => n >= 0, "a number of seconds from 0"),
    ...(authorization ? { authorization } : {}),
    insecureTls: truthy(env["MLFLOW_TRACKING_INSECURE_TLS"]),
    ...(caPath ? { caPath } : {}),
  };
}

/** The wait before retry number `retry` (1 for the first), in ms: urllib3's exponential backoff, or the server's Retry-After. */
export function backoffMs(settings: RestSettings, retry: number, retryAfter?: string): number {
  const after = retryAfter === undefined ? Number.NaN : Number(retryAfter);
  if (Number.isFinite(after) && after >= 0) return Math.min(after, BACKOFF_MAX_S) * 1000;
  if (retry <= 1) return 0;
  const seconds = settings.backoffFactor * 2 ** (retry - 1) + Math.random() * settings.backoffJitter;
  return Math.min(seconds, BACKOFF_MAX_S) * 1000;
}

/** The certificates MLFLOW_TRACKING_SERVER_CERT_PATH names. @throws StoreError naming the variable when the file cannot be read. */
function readCertificates(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    throw new StoreError(
      `MLFLOW_TRACKING_SERVER_CERT_PATH names ${path}, which cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}): point it at the PEM file of the CA that signed the server's certificate.`,
      { code: "INVALID_PARAMETER_VALUE", cause: error },
    );
  }
}

/** Node's codes for a server certificate that is not trusted, or not the server's. */
const TLS_TRUST_ERRORS = new Set([
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "CERT_HAS_EXPIRED",
  "ERR_TLS_CERT_ALTNAME_INVALID",
]);

/** What one call sends: a query (GET, DELETE), a JSON body, or raw bytes (artifact uploads). */
export interface CallOptions {
  query?: Record<string, string | number | readonly string[] | undefined>;
  json?: unknown;
  /** A fresh stream of the bytes for each try, with their length and type. */
  upload?: { open: () => Readable; length: number; contentType: string };
}

/** An error the server answered with: MLflow's `{"error_code", "message"}`. */
interface ServerError {
  error_code?: unknown;
  message?: unknown;
}

function queryString(query: CallOptions["query"]): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query ?? {})) {
    if (value === undefined) continue;
    if (Array.isArray(value)) for (const v of value) params.append(key, String(v));
    else params.append(key, String(value));
  }
  const text = params.toString();
  return text === "" ? "" : `?${text}`;
}

function parseServerError(body: Buffer): ServerError | undefined {
  try {
    const value: unknown = JSON.parse(body.toString("utf8"));
    return value !== null && typeof value === "object" && !Array.isArray(value) ? (value as ServerError) : undefined;
  } catch {
    return undefined;
  }
}

function snippet(body: Buffer): string {
  const text = body.toString("utf8").replace(/\s+/g, " ").trim();
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}

/**
 * A client of one MLflow tracking server's REST API, as MLflow's Python client calls it
 * (mlflow/utils/rest_utils.py): GET calls carry their fields as query parameters, other methods
 * as a JSON body; transient failures (connection errors, timeouts, 408, 429, 500, 502, 503, 504)
 * are retried with exponential backoff; an error answer becomes a StoreError carrying the server's
 * `error_code` and message (a NotFoundError for RESOURCE_DOES_NOT_EXIST).
 */
export class RestClient {
  /** The server's base URL, without a trailing slash (a path prefix kept). */
  readonly base: string;
  /** `base` as messages show it: a password in it as `***` (see `redactCredentials`). */
  readonly shown: string;
  readonly settings: RestSettings;
  readonly #agent: HttpAgent | HttpsAgent;
  readonly #https: boolean;

  constructor(base: string, settings: RestSettings) {
    this.base = base.replace(/\/+$/, "");
    this.shown = redactCredentials(this.base);
    this.settings = settings;
    this.#https = this.base.startsWith("https:");
    this.#agent = this.#https
      ? new HttpsAgent({
          keepAlive: true,
          rejectUnauthorized: !settings.insecureTls,
          ...(settings.caPath ? { ca: readCertificates(settings.caPath) } : {}),
        })
      : new HttpAgent({ keepAlive: true });
  }

  /** Closes the kept-alive connections: nothing stays open to the server afterwards. */
  close(): void {
    this.#agent.destroy();
  }

  /** Calls a JSON endpoint (`/api/2.0/mlflow/runs/get`) and returns the parsed answer. */
  async json<T = Record<string, unknown>>(method: string, path: string, options: CallOptions = {}): Promise<T> {
    const { status, body } = await this.#withRetries(method, path, options, async (res) => collect(res));
    const what = `${method} ${path}`;
    if (status >= 200 && status < 300) {
      const text = body.toString("utf8");
      try {
        return (text.trim() === "" ? {} : JSON.parse(text)) as T;
      } catch {
        throw new StoreError(`The MLflow tracking server ${this.shown} answered ${what} with something that is not JSON: ${snippet(body)}`, {
          data: { status },
        });
      }
    }
    throw this.errorOf(what, status, body);
  }

  /** Streams the body of a GET (an artifact) into `sink`; a failed try is retried with a fresh sink. */
  async download(path: string, sink: (res: IncomingMessage) => Promise<void>): Promise<void> {
    const what = `GET ${path}`;
    const { status, body } = await this.#withRetries("GET", path, {}, async (res) => {
      if (res.statusCode !== 200) return collect(res);
      try {
        await sink(res);
      } catch (error) {
        // NB: the connection ending early is retried; the sink's own failure (a full disk) is not the server's.
        if (!res.complete) throw Object.assign(new Error("the connection closed mid-download", { cause: error }), { code: "ECONNRESET" });
        throw new SinkError(error);
      }
      return Buffer.alloc(0);
    });
    if (status !== 200) throw this.errorOf(what, status, body);
  }

  /** The error for an answer that is not a success, with the server's `error_code` and message when it gave them. */
  errorOf(what: string, status: number, body: Buffer): StoreError {
    const parsed = parseServerError(body);
    const errorCode = typeof parsed?.error_code === "string" ? parsed.error_code : undefined;
    const message = typeof parsed?.message === "string" ? parsed.message : undefined;
    const data = { status, ...(errorCode ? { errorCode } : {}), server: this.shown };
    if (errorCode === "RESOURCE_DOES_NOT_EXIST") return new NotFoundError(`${message ?? "Not found."} (${errorCode} from ${this.shown})`, { data });
    if (errorCode !== undefined) {
      return new StoreError(`The MLflow tracking server ${this.shown} refused ${what}: ${errorCode}: ${message ?? "(no message)"}`, {
        code: errorCode === "INVALID_PARAMETER_VALUE" ? "INVALID_PARAMETER_VALUE" : "STORE_ERROR",
        data,
      });
    }
    const hint =
      status === 401 || status === 403
        ? " Set MLFLOW_TRACKING_TOKEN, or MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD, to credentials the server accepts."
        : status === 404
          ? " Is this the URL of an MLflow 3 tracking server (mlflow server), and was it started with artifact serving on?"
          : "";
    return new StoreError(`The MLflow tracking server ${this.shown} answered ${what} with HTTP ${status}${body.length ? `: ${snippet(body)}` : ""}.${hint}`, {
      data,
    });
  }

  async #withRetries(
    method: string,
    path: string,
    options: CallOptions,
    read: (res: IncomingMessage) => Promise<Buffer>,
  ): Promise<{ status: number; body: Buffer }> {
    const url = `${this.base}${path}${queryString(options.query)}`;
    const { maxRetries } = this.settings;
    for (let attempt = 0; ; attempt++) {
      let answer: { status: number; body: Buffer; retryAfter?: string };
      try {
        answer = await this.#once(method, url, options, read);
      } catch (error) {
        if (error instanceof SinkError) throw error.error;
        const code = (error as NodeJS.ErrnoException).code ?? "";
        if (attempt < maxRetries && RETRY_ERRORS.has(code)) {
          await sleep(backoffMs(this.settings, attempt + 1));
          continue;
        }
        throw this.#networkError(method, path, error as NodeJS.ErrnoException, attempt);
      }
      if (!RETRY_STATUSES.has(answer.status)) return answer;
      if (attempt < maxRetries) {
        await sleep(backoffMs(this.settings, attempt + 1, answer.retryAfter));
        continue;
      }
      const parsed = parseServerError(answer.body);
      const detail = typeof parsed?.message === "string" ? parsed.message : snippet(answer.body);
      throw new StoreError(
        `The MLflow tracking server ${this.shown} answered ${method} ${path} with HTTP ${answer.status}${retried(attempt)}${detail ? `: ${detail}` : "."} Retries: MLFLOW_HTTP_REQUEST_MAX_RETRIES (${maxRetries}), MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR (${this.settings.backoffFactor} s).`,
        { data: { status: answer.status, server: this.shown, ...(typeof parsed?.error_code === "string" ? { errorCode: parsed.error_code } : {}) } },
      );
    }
  }

  #networkError(method: string, path: string, error: NodeJS.ErrnoException, attempt: number): StoreError {
    if (error instanceof StoreError) return error;
    const what = `${method} ${path}`;
    if (error.code === "ETIMEDOUT") {
      return new StoreError(
        `The MLflow tracking server ${this.shown} did not answer ${what} within ${this.settings.timeoutMs / 1000} s${retried(attempt)}. To wait longer, set MLFLOW_HTTP_REQUEST_TIMEOUT (seconds).`,
        { cause: error, data: { server: this.shown } },
      );
    }
    // NB: found by an audit: a certificate the client does not trust was a bare code.
    const hint =
      error.code !== undefined && TLS_TRUST_ERRORS.has(error.code)
        ? " The server's certificate is not trusted: set MLFLOW_TRACKING_SERVER_CERT_PATH to the PEM file of the CA that signed it, or MLFLOW_TRACKING_INSECURE_TLS=true to skip the check (never in production)."
        : "";
    return new StoreError(`Cannot reach the MLflow tracking server ${this.shown} (${what}): ${error.code ?? error.message}${retried(attempt)}.${hint}`, {
      cause: error,
      data: { server: this.shown },
    });
  }

  #once(
    method: string,
    url: string,
    options: CallOptions,
    read: (res: IncomingMessage) => Promise<Buffer>,
  ): Promise<{ status: number; body: Buffer; retryAfter?: string }> {
    const body = options.json === undefined ? undefined : Buffer.from(JSON.stringify(options.json));
    const headers: Record<string, string> = { "User-Agent": "pipeserve", Accept: "application/json" };
    if (this.settings.authorization) headers["Authorization"] = this.settings.authorization;
    if (body) {
      headers["Content-Type"] = "application/json";
      headers["Content-Length"] = String(body.byteLength);
    } else if (options.upload) {
      headers["Content-Type"] = options.upload.contentType;
      headers["Content-Length"] = String(options.upload.length);
    }
    return new Promise((resolve, reject) => {
      const req = (this.#https ? httpsRequest : httpRequest)(url, { method, headers, agent: this.#agent });
      // NB: an inactivity timeout, as requests' read timeout: a long download that keeps moving is not cut.
      req.setTimeout(this.settings.timeoutMs, () => req.destroy(Object.assign(new Error("timed out"), { code: "ETIMEDOUT" })));
      req.on("error", reject);
      req.on("response", (res) => {
        res.on("error", reject);
        read(res).then((buffer) => {
          const retryAfter = res.headers["retry-after"];
          resolve({ status: res.statusCode ?? 0, body: buffer, ...(typeof retryAfter === "string" ? { retryAfter } : {}) });
        }, reject);
      });
      if (options.upload) {
        const stream = options.upload.open();
        stream.on("error", (error) => req.destroy(error));
        stream.pipe(req);
      } else req.end(body);
    });
  }
}

/** A failure of a download's sink (writing the file), passed on as it is. */
class SinkError {
  constructor(readonly error: unknown) {}
}

function retried(attempt: number): string {
  return attempt === 0 ? "" : ` (after ${attempt} ${attempt === 1 ? "retry" : "retries"})`;
}

function collect(res: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on("data", (chunk: Buffer) => chunks.push(chunk));
    res.on("end", () => resolve(Buffer.concat(chunks)));
    res.on("error", reject);
    res.on("aborted", () => reject(Object.assign(new Error("the connection closed mid-answer"), { code: "ECONNRESET" })));
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
