/**
 * Requests Node's HTTP parser refuses before any route sees them, on a real server over raw
 * sockets: a URL or headers past 16 KiB get a 431, malformed HTTP a 400, each with the JSON error
 * body every route gives and an X-Request-Id, and the connection closes (Node alone writes a bare
 * status line with no body), after a first request answered on it too.
 */
import { connect } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningServer } from "../../src/index.js";
import { serveQuietly } from "./fixtures/http.js";
import { SIGNATURES, buildModel } from "./fixtures/models.js";

let running: RunningServer;

beforeAll(async () => {
  running = await serveQuietly(await buildModel("echo", SIGNATURES.ab));
});

afterAll(async () => {
  await running?.stop();
});

/**
 * Writes `raw` on a new connection (after `first`, once its answer came) and resolves with what
 * the server sent until it closed the connection.
 */
async function exchange(raw: string, first?: string): Promise<string> {
  const socket = connect(running.port, "127.0.0.1");
  socket.setEncoding("utf8");
  let text = "";
  socket.on("data", (chunk: string) => (text += chunk));
  socket.on("error", () => undefined);
  const closed = new Promise((resolve) => socket.once("close", resolve));
  if (first !== undefined) {
    socket.write(first);
    while (!text.includes("\r\n\r\n")) await new Promise((resolve) => socket.once("data", resolve));
  }
  socket.write(raw);
  await closed;
  return text;
}

const UUID = /\r\nx-request-id: [0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\r\n/i;

function expectJsonError(text: string, status: string, errorCode: string, message: RegExp): void {
  expect(text).toMatch(new RegExp(`^HTTP/1\\.1 ${status}\\r\\n`));
  expect(text).toMatch(/\r\ncontent-type: application\/json\r\n/i);
  expect(text).toMatch(UUID);
  expect(text).toMatch(/\r\nconnection: close\r\n/i);
  const body = JSON.parse(text.slice(text.indexOf("\r\n\r\n") + 4)) as { error_code: string; message: string };
  expect(body.error_code).toBe(errorCode);
  expect(body.message).toMatch(message);
}

describe("requests the HTTP parser refuses", () => {
  it("a URL past 16 KiB: 431 with a JSON error saying what to shorten, and a request id", async () => {
    const text = await exchange(`POST /invocations?x=${"a".repeat(20_000)} HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\n\r\n`);
    expectJsonError(
      text,
      "431 Request Header Fields Too Large",
      "REQUEST_HEADER_FIELDS_TOO_LARGE",
      /larger than this server reads \(16 KiB.*Send a shorter URL/,
    );
  });

  it("headers past 16 KiB: 431 likewise", async () => {
    const text = await exchange(`GET /ping HTTP/1.1\r\nHost: localhost\r\nX-Big: ${"b".repeat(20_000)}\r\n\r\n`);
    expectJsonError(text, "431 Request Header Fields Too Large", "REQUEST_HEADER_FIELDS_TOO_LARGE", /fewer or smaller headers/);
  });

  it("a request line that is not HTTP: 400 with a JSON error naming the parser's fault", async () => {
    const text = await exchange("HELLO THERE\r\n\r\n");
    expectJsonError(text, "400 Bad Request", "BAD_REQUEST", /^The request is not valid HTTP\/1\.1 \(HPE_[A-Z_]+\)/);
  });

  it("garbage after an answered request on a kept-alive connection: the 200, then the 400 with its JSON error", async () => {
    const text = await exchange("HELLO THERE\r\n\r\n", "GET /ping HTTP/1.1\r\nHost: localhost\r\n\r\n");
    expect(text).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expectJsonError(text.slice(text.indexOf("HTTP/1.1 400")), "400 Bad Request", "BAD_REQUEST", /^The request is not valid HTTP\/1\.1/);
  });
});
