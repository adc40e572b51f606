import type { IncomingMessage, ServerResponse } from "node:http";
import type { Logger } from "pino";
import { errorShapeOfPath, requestIdFrom } from "./endpoint.js";
import { HttpError } from "./errors.js";
import { errorScoreResponse } from "./scorer.js";

/**
 * Answers a request whose `Expect` header is not `100-continue` (Node's `checkExpectation`; it
 * answers `100-continue` itself): 417 with the JSON error body every route gives (its shape by the
 * path), naming the header, where Node would send a bare 417. The connection is closed: the body
 * the client may send anyway is not read.
 */
export function refuseExpectation(request: IncomingMessage, response: ServerResponse, log: Logger): void {
  const message = `The Expect header ${JSON.stringify(request.headers.expect ?? "")} is not supported: this server takes only "Expect: 100-continue". Send the request without the header, or with that value.`;
  const incomingId = request.headers["x-request-id"];
  const requestId = requestIdFrom(typeof incomingId === "string" ? incomingId : undefined);
  const reply = errorScoreResponse(new HttpError("BAD_REQUEST", message), { requestId, shape: errorShapeOfPath(request.url ?? ""), debug: false, log });
  response.shouldKeepAlive = false;
  response.writeHead(417, { ...reply.headers, "Content-Length": Buffer.byteLength(reply.body), "X-Request-Id": requestId, Connection: "close" });
  response.end(reply.body);
}
