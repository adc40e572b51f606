// The access log and request metrics (request-log.ts): a finished request is counted in the metrics
// in the event-loop turn after its response, and its access-log line is written with the others of
// the next LOG_FLUSH_MS (one write, not one per turn); flushRequestLogs (serve, on exit) writes the
// waiting lines at once, so none is lost when the process ends before their timer.
import { pino } from "pino";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { LOG_FLUSH_MS, RequestLog, flushRequestLogs } from "../../src/server/request-log.js";
import { ServerMetrics } from "../../src/server/index.js";

function logged(): { lines: Record<string, unknown>[]; log: RequestLog; metrics: ServerMetrics } {
  const lines: Record<string, unknown>[] = [];
  const logger = pino({ level: "info", base: { pid: 7 } }, { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) });
  const metrics = new ServerMetrics();
  return { lines, log: new RequestLog(logger, metrics), metrics };
}

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
const requestsCounted = async (metrics: ServerMetrics): Promise<number> =>
  Number(/^pipeserve_http_requests_total\{[^}]*status="200"[^}]*\} (\d+)$/m.exec(await metrics.registry.metrics())?.[1] ?? 0);

describe("RequestLog", () => {
  // NB: setTimeout faked (setImmediate left real): a busy machine's pause cannot fire the 10 ms timer early.
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("counts a request in the next turn and writes its line with the others of the next 10 ms", async () => {
    const { lines, log, metrics } = logged();
    log.add({ reqId: "a", route: "/invocations", method: "POST", path: "/invocations", status: 200, seconds: 0.001 });
    await turn();
    log.add({ reqId: "b", route: "/invocations", method: "POST", path: "/invocations", status: 200, seconds: 0.002 });
    await turn();
    expect(await requestsCounted(metrics)).toBe(2);
    vi.advanceTimersByTime(LOG_FLUSH_MS - 1);
    expect(lines).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(lines.map((l) => [l["reqId"], l["msg"], l["status"], l["pid"]])).toEqual([
      ["a", "request", 200, 7],
      ["b", "request", 200, 7],
    ]);
  });

  it("flushRequestLogs writes every waiting line at once (serve calls it as the process exits)", async () => {
    const first = logged();
    const second = logged();
    first.log.add({ reqId: "x", route: "/ping", method: "GET", path: "/ping", status: 200, seconds: 0 });
    second.log.add({ reqId: "y", route: "/ping", method: "GET", path: "/ping", status: 499, seconds: 0 });
    await turn();
    expect([first.lines, second.lines]).toEqual([[], []]);
    flushRequestLogs();
    expect(first.lines.map((l) => l["reqId"])).toEqual(["x"]);
    expect(second.lines.map((l) => [l["reqId"], l["status"]])).toEqual([["y", "aborted"]]);
    // Nothing is written twice when the timer fires after.
    vi.advanceTimersByTime(LOG_FLUSH_MS);
    expect(first.lines).toHaveLength(1);
  });

  it("flush() counts and writes what was added in this very turn", async () => {
    const { lines, log, metrics } = logged();
    log.add({ reqId: "now", route: "/invocations", method: "POST", path: "/invocations", status: 200, seconds: 0.003 });
    log.flush();
    expect(await requestsCounted(metrics)).toBe(1);
    expect(lines.map((l) => l["reqId"])).toEqual(["now"]);
  });
});

describe("serveApp's stop writes the access lines still waiting for their timer", () => {
  it("a request answered just before stop() has its line once stop() resolves", async () => {
    const { buildModel } = await import("./fixtures/models.js");
    const { capturingLogger } = await import("./fixtures/http.js");
    const { createApp, serveApp, ServerState } = await import("../../src/server/index.js");
    const model = await buildModel("echo", null);
    const { logger, lines } = capturingLogger();
    const state = new ServerState();
    const app = createApp(model, { logger, state });
    const running = await serveApp(app as never, { port: 0, host: "127.0.0.1", state, logger, onStopped: () => undefined });
    // NB: setTimeout faked, so the lines' 10 ms timer never fires by itself: only stop() can write them.
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    try {
      const res = await fetch(`http://127.0.0.1:${running.port}/ping`, { headers: { "X-Request-Id": "before-stop" } });
      await res.text();
      await running.stop();
      expect(lines().filter((l) => l["msg"] === "request" && l["reqId"] === "before-stop")).toHaveLength(1);
    } finally {
      vi.useRealTimers();
    }
  });
});
