/**
 * The `Expect` request header on a real server: `100-continue` (curl sends it for bodies over a
 * megabyte) gets its interim 100 and then the answer; any other expectation is a 417 with a JSON
 * body in the route's error shape, naming the header, and the connection closes (Node alone
 * answers a bare 417 with no body).
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

const BODY = JSON.stringify({ dataframe_split: { columns: ["a", "b"], data: [[1, 0.5]] } });

/**
 * Sends a request's head on a raw socket; the body only once the server has said `100 Continue`
 * (when `waitFor100`; that request asks to close the connection after its answer). Resolves with
 * everything the server sent by the time it closed the connection or went quiet for 5 s.
 */
async function exchange(path: string, expectHeader: string, waitFor100: boolean): Promise<{ text: string; closed: boolean }> {
  const socket = connect(running.port, "127.0.0.1");
  await new Promise((resolve) => socket.once("connect", resolve));
  let text = "";
  let closed = false;
  socket.on("close", () => (closed = true));
  socket.setEncoding("utf8");
  socket.write(
    `POST ${path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: ${BODY.length}\r\nExpect: ${expectHeader}\r\nX-Request-Id: expect-1\r\n${waitFor100 ? "Connection: close\r\n" : ""}\r\n`,
  );
  let bodySent = false;
  await new Promise<void>((resolve) => {
    let quiet: NodeJS.Timeout = setTimeout(resolve, 5_000);
    socket.on("data", (chunk: string) => {
      text += chunk;
      if (waitFor100 && !bodySent && text.startsWith("HTTP/1.1 100 Continue\r\n\r\n")) {
        bodySent = true;
        socket.write(BODY);
      }
      clearTimeout(quiet);
      quiet = setTimeout(resolve, 5_000);
    });
    socket.on("close", () => {
      clearTimeout(quiet);
      resolve();
    });
  });
  socket.destroy();
  return { text, closed };
}

/** The JSON body of the last response in `text`. */
const lastBody = (text: string): unknown => JSON.parse(text.slice(text.lastIndexOf("\r\n\r\n") + 4));

describe("the Expect header", () => {
  it("100-continue: the interim 100, then the body is read and predicted", async () => {
    const { text } = await exchange("/invocations", "100-continue", true);
    expect(text).toMatch(/^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 OK\r\n/);
    expect(lastBody(text)).toEqual({ predictions: [{ a: 1, b: 0.5 }] });
  });

  it.each([
    { path: "/invocations", body: { error_code: "BAD_REQUEST", message: expect.stringContaining('The Expect header "202-accepted" is not supported') } },
    { path: "/v2/models/model/infer", body: { error: expect.stringContaining('The Expect header "202-accepted" is not supported') } },
  ])("another expectation on $path: 417 with a JSON error naming it, the request id, and the connection closed", async ({ path, body }) => {
    const { text, closed } = await exchange(path, "202-accepted", false);
    expect(text).toMatch(/^HTTP\/1\.1 417 Expectation Failed\r\n/);
    expect(text).toMatch(/\r\ncontent-type: application\/json\r\n/i);
    expect(text).toMatch(/\r\nx-request-id: expect-1\r\n/i);
    expect(text).toMatch(/\r\nconnection: close\r\n/i);
    expect(lastBody(text)).toEqual(body);
    expect(closed).toBe(true);
    // The server goes on serving.
    const after = await fetch(`http://127.0.0.1:${running.port}/invocations`, { method: "POST", headers: { "Content-Type": "application/json" }, body: BODY });
    expect(after.status).toBe(200);
  });
});
