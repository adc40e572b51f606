import type { IncomingMessage, ServerResponse } from "node:http";
import { requestIdFrom } from "./endpoint.js";

/**
 * Answers a request whose `Expect` header is not `100-continue` (Node's `checkExpectation`; it
 * answers `100-continue` itself): 417 with a JSON body in the route's error shape naming the
 * header, where Node would send a bare 417. The connection is closed: the body the client may send
 * anyway is not read.
 */
export function refuseExpectation(request: IncomingMessage, response: ServerResponse): void {
  const expect = request.headers.expect ?? "";
  const message = `The Expect header ${JSON.stringify(expect)} is not supported: this server takes only "Expect: 100-continue". Send the request without the header, or with that value.`;
  const path = request.url ?? "";
  const v2 = path.startsWith("/v2") || path.startsWith("/v1/");
  const requestId = requestIdFrom(typeof request.headers["x-request-id"] === "string" ? request.headers["x-request-id"] : undefined);
  const body = JSON.stringify(v2 ? { error: message } : { error_code: "BAD_REQUEST", message });
  response.shouldKeepAlive = false;
  response.writeHead(417, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(body), "X-Request-Id": requestId, Connection: "close" });
  response.end(body);
}
