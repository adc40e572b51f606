import { randomUUID } from "node:crypto";
import { STATUS_CODES } from "node:http";
import type { Duplex } from "node:stream";
import type { Logger } from "pino";
import { HttpError } from "./errors.js";
import { errorScoreResponse } from "./scorer.js";

/** The error for what Node's HTTP parser refused, by its error code. */
function clientErrorOf(error: NodeJS.ErrnoException): HttpError {
  switch (error.code) {
    case "HPE_HEADER_OVERFLOW":
      return new HttpError(
        "REQUEST_HEADER_FIELDS_TOO_LARGE",
        "The request's URL and headers are larger than this server reads (16 KiB, Node's --max-http-header-size). Send a shorter URL (params go in the JSON body) and fewer or smaller headers.",
      );
    case "HPE_CHUNK_EXTENSIONS_OVERFLOW":
      return new HttpError("REQUEST_TOO_LARGE", "The request's chunk extensions are larger than this server reads. Send the body without chunk extensions.");
    case "ERR_HTTP_REQUEST_TIMEOUT":
      return new HttpError("REQUEST_TIMEOUT", "The request was not received in time: its headers and body must arrive within the server's request timeout.");
    default:
      return new HttpError("BAD_REQUEST", `The request is not valid HTTP/1.1 (${error.code ?? error.message}); check the client sending it.`);
  }
}

/**
 * Answers a request Node's HTTP parser refused before any route saw it (a URL or headers past
 * 16 KiB, malformed HTTP, a request not received in time; the server's `clientError`) with the
 * JSON error body every route gives, MLflow's shape, and an `X-Request-Id`, then closes the
 * connection. NB: Node alone writes a bare status line with no body and no request id. A
 * connection whose answer has begun is closed without one, as Node does; so is one the client reset.
 */
export function answerClientError(error: NodeJS.ErrnoException, socket: Duplex, log: Logger): void {
  // NB: as Node's own handler: not when an answer on this connection has begun (its bytes would be cut).
  const inFlight = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } | null })._httpMessage;
  if (error.code === "ECONNRESET" || !socket.writable || inFlight?.headersSent === true) {
    socket.destroy();
    return;
  }
  const requestId = randomUUID();
  const reply = errorScoreResponse(clientErrorOf(error), { requestId, shape: "mlflow", debug: false, log });
  log.info({ reqId: requestId, status: reply.status, code: error.code }, "request refused by the HTTP parser");
  const headers = { ...reply.headers, "Content-Length": String(Buffer.byteLength(reply.body)), "X-Request-Id": requestId, Connection: "close" };
  const head = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`);
  socket.end(`HTTP/1.1 ${reply.status} ${STATUS_CODES[reply.status] ?? ""}\r\n${head.join("")}\r\n${reply.body}`);
}
