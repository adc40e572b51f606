/**
 * A client that closes its connection while its request body is still uploading (issue 14, item
 * 5): no server error. It is counted under its own status label, `aborted`, and logged at info
 * without a stack, on both protocols and for declared and chunked bodies; the server keeps serving.
 */
import { connect } from "node:net";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { ServerState, createApp, serveApp, type RunningServer } from "../../src/index.js";
import { ServerMetrics } from "../../src/server/index.js";
import { capturingLogger } from "./fixtures/http.js";
import { SIGNATURES, buildModel } from "./fixtures/models.js";

const { logger, lines } = capturingLogger();
const metrics = new ServerMetrics();
let running: RunningServer;

beforeAll(async () => {
  const state = new ServerState();
  const app = createApp(await buildModel("echo", SIGNATURES.ab), { logger, metrics, state });
  running = await serveApp(app as never, { port: 0, host: "127.0.0.1", state, logger: pino({ level: "silent" }), onStopped: () => undefined });
});

afterAll(async () => {
  await running?.stop();
});

/** Sends the head and part of a body on a raw socket, then closes the connection. */
async function uploadThenLeave(path: string, chunked: boolean, declared = 10_000): Promise<void> {
  const socket = connect(running.port, "127.0.0.1");
  await new Promise((resolve) => socket.once("connect", resolve));
  const part = '{"dataframe_split": {"columns": ["a", "b"], "data": [[1, 0.5]';
  const framing = chunked ? `Transfer-Encoding: chunked\r\n\r\n${part.length.toString(16)}\r\n${part}\r\n` : `Content-Length: ${declared}\r\n\r\n${part}`;
  socket.write(`POST ${path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n${framing}`);
  await new Promise((resolve) => setTimeout(resolve, 50));
  socket.destroy();
}

describe("a client that leaves mid-upload", () => {
  it.each([
    { path: "/invocations", route: "/invocations", chunked: false },
    { path: "/invocations", route: "/invocations", chunked: true },
    { path: "/v2/models/model/infer", route: "/v2/models/:name/infer", chunked: false },
    { path: "/v2/models/model/infer", route: "/v2/models/:name/infer", chunked: true },
    // NB: a declared megabyte or more is read from the Node request itself (read-body.ts readIncoming).
    { path: "/invocations", route: "/invocations", chunked: false, declared: 5_000_000 },
    { path: "/v2/models/model/infer", route: "/v2/models/:name/infer", chunked: false, declared: 5_000_000 },
  ])("$path (chunked: $chunked, declared: $declared) → counted as aborted, logged at info without a stack", async ({ path, route, chunked, declared }) => {
    const before = lines().length;
    await uploadThenLeave(path, chunked, declared);
    const line = await vi.waitUntil(
      () =>
        lines()
          .slice(before)
          .find((l) => l["path"] === path),
      { timeout: 2_000 },
    );
    expect(line).toMatchObject({ level: 30, status: "aborted", msg: expect.stringContaining("the client closed the connection") });
    expect(
      lines()
        .slice(before)
        .filter((l) => (l["level"] as number) >= 40 || "err" in l),
    ).toEqual([]);
    const text = await metrics.registry.metrics();
    expect(text).toMatch(new RegExp(`pipeserve_http_requests_total\\{route="${route.replace(/[/:]/g, "\\$&")}",method="POST",status="aborted"\\} [1-9]`));
    expect(text).not.toContain('status="500"');
  });

  it("a body of megabytes (read from the Node request) is read whole, to its last byte", async () => {
    const rows = Array.from({ length: 120_000 }, (_, i) => [i, 0.5]);
    const body = JSON.stringify({ dataframe_split: { columns: ["a", "b"], data: rows } });
    expect(body.length).toBeGreaterThan(2 ** 20);
    const res = await fetch(`http://127.0.0.1:${running.port}/invocations`, { method: "POST", headers: { "Content-Type": "application/json" }, body });
    expect(res.status).toBe(200);
    const { predictions } = (await res.json()) as { predictions: { a: number }[] };
    expect(predictions).toHaveLength(rows.length);
    expect(predictions.at(-1)?.a).toBe(rows.length - 1);
  });

  it("leaves the server serving", async () => {
    const res = await fetch(`http://127.0.0.1:${running.port}/invocations`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: '{"dataframe_split": {"columns": ["a", "b"], "data": [[1, 0.5]]}}',
    });
    expect(res.status).toBe(200);
  });
});
