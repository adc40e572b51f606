import { ERROR_CODES, HTTP_STATUS, type HttpErrorCode, type HttpStatus, PipeserveError, isErrorCodeOf } from "../errors/index.js";
import { MLFLOW_WORDING, TabularError } from "../tabular/index.js";
import { ModelLoadError, NodeError, RunnerNotAllowedError } from "../loader/index.js";

/**
 * The codes a reply may carry and their HTTP statuses: MLflow's (mlflow/exceptions.py) and the
 * HTTP-level ones pipeserve adds, taken from the one table of src/errors.
 */
export const ERROR_STATUS: Readonly<Record<HttpErrorCode, HttpStatus>> = Object.fromEntries(
  ERROR_CODES.http.map((code) => [code, HTTP_STATUS[code]]),
) as Record<HttpErrorCode, HttpStatus>;

/** An error meant for the client: its code sets the status, its message is safe to send. */
export class HttpError extends PipeserveError<HttpErrorCode> {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  constructor(code: HttpErrorCode, message: string, headers: Record<string, string> = {}) {
    super(message, { code });
    // NB: the fallback is for JavaScript callers, whose codes the type does not check.
    this.status = ERROR_STATUS[code] ?? 500;
    this.headers = headers;
  }
}

/**
 * The status of a request whose client closed the connection before its body was read (nginx's
 * 499): no client sees it; the request log and metrics label it `aborted`.
 */
export const CLIENT_CLOSED_STATUS = 499;

/** A client that closed its connection while uploading its request: there is no one left to answer. */
export class ClientAbortError extends HttpError {
  constructor() {
    super("CLIENT_CLOSED_REQUEST", "The client closed the connection before its request body was read.");
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
 * 500 (the details go to the log, and to the client only with `debug`; its message names where
 * the request id is: `requestIdIn`, the X-Request-Id header by default).
 */
export function toErrorReply(error: unknown, debug = false, requestIdIn = "X-Request-Id"): ErrorReply {
  const stack = debug && error instanceof Error ? error.stack : undefined;
  if (error instanceof HttpError) return { status: error.status, code: error.code, message: error.message, headers: error.headers, internal: false, stack };
  // Client mistakes carry MLflow's codes (FormatError BAD_REQUEST, SchemaError and
  // RunnerNotAllowedError INVALID_PARAMETER_VALUE): the table gives their status.
  if (error instanceof TabularError || error instanceof RunnerNotAllowedError) {
    const code = isErrorCodeOf("http", error.code) ? error.code : "BAD_REQUEST";
    return { status: ERROR_STATUS[code], code, message: error.message, headers: {}, internal: false, stack };
  }
  if (error instanceof NodeError) {
    return {
      status: 500,
      code: "INTERNAL_ERROR",
      message: `${MLFLOW_WORDING.modelFailed} The pipeline failed: ${error.message}`,
      headers: {},
      internal: true,
      stack: debug ? stackOf(error) : undefined,
    };
  }
  if (error instanceof ModelLoadError) return { status: 500, code: "INTERNAL_ERROR", message: error.message, headers: {}, internal: true, stack };
  const message =
    debug && error instanceof Error
      ? `Internal error: ${error.message}`
      : `Internal server error. The request id in ${requestIdIn} finds the details in the server log.`;
  return { status: 500, code: "INTERNAL_ERROR", message, headers: {}, internal: true, stack };
}

function stackOf(error: NodeError): string | undefined {
  const cause = error.cause;
  return cause instanceof Error ? cause.stack : error.stack;
}
