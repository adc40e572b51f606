import { TabularError } from "../tabular/index.js";
import { ModelLoadError, NodeError, RunnerNotAllowedError } from "../loader/index.js";

/** MLflow's error codes and the HTTP status each one means (mlflow/exceptions.py), plus the ones pipeserve adds. */
export const ERROR_STATUS: Readonly<Record<string, number>> = {
  BAD_REQUEST: 400,
  INVALID_PARAMETER_VALUE: 400,
  MALFORMED_REQUEST: 400,
  NOT_FOUND: 404,
  RESOURCE_DOES_NOT_EXIST: 404,
  METHOD_NOT_ALLOWED: 405,
  NOT_ACCEPTABLE: 406,
  REQUEST_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  RESOURCE_EXHAUSTED: 429,
  REQUEST_LIMIT_EXCEEDED: 429,
  INTERNAL_ERROR: 500,
  TEMPORARILY_UNAVAILABLE: 503,
  DEADLINE_EXCEEDED: 504,
};

/** An error meant for the client: its code sets the status, its message is safe to send. */
export class HttpError extends Error {
  readonly code: string;
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  constructor(code: string, message: string, headers: Record<string, string> = {}) {
    super(message);
    this.name = new.target.name;
    this.code = code;
    this.status = ERROR_STATUS[code] ?? 500;
    this.headers = headers;
  }
}

/** What the client gets for an error: status, MLflow-shaped body, extra headers; and whether it is our fault (to log loudly). */
export interface ErrorReply {
  status: number;
  code: string;
  message: string;
  headers: Readonly<Record<string, string>>;
  internal: boolean;
  stack?: string | undefined;
}

/**
 * The one place errors become HTTP: client mistakes (bad body, schema or params, unknown runner)
 * are 4xx with their message; a failing node is a 500 naming the node; anything else is a bare
 * 500 (the details go to the log, and to the client only with `debug`).
 */
export function toErrorReply(error: unknown, debug = false): ErrorReply {
  const stack = debug && error instanceof Error ? error.stack : undefined;
  if (error instanceof HttpError) return { status: error.status, code: error.code, message: error.message, headers: error.headers, internal: false, stack };
  // Client mistakes carry MLflow's codes (FormatError BAD_REQUEST, SchemaError and
  // RunnerNotAllowedError INVALID_PARAMETER_VALUE): the table gives their status.
  if (error instanceof TabularError || error instanceof RunnerNotAllowedError) {
    const code = Object.hasOwn(ERROR_STATUS, error.code) ? error.code : "BAD_REQUEST";
    return { status: ERROR_STATUS[code] as number, code, message: error.message, headers: {}, internal: false, stack };
  }
  if (error instanceof NodeError) {
    return {
      status: 500,
      code: "INTERNAL_ERROR",
      message: `The pipeline failed: ${error.message}`,
      headers: {},
      internal: true,
      stack: debug ? stackOf(error) : undefined,
    };
  }
  if (error instanceof ModelLoadError) return { status: 500, code: "INTERNAL_ERROR", message: error.message, headers: {}, internal: true, stack };
  const message =
    debug && error instanceof Error
      ? `Internal error: ${error.message}`
      : "Internal server error. The request id in X-Request-Id finds the details in the server log.";
  return { status: 500, code: "INTERNAL_ERROR", message, headers: {}, internal: true, stack };
}

function stackOf(error: NodeError): string | undefined {
  const cause = error.cause;
  return cause instanceof Error ? cause.stack : error.stack;
}
