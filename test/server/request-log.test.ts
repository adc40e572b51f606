// The access log and request metrics (request-log.ts): a finished request is counted in the metrics
// in the event-loop turn after its response, and its access-log line is written with the others of
// the next LOG_FLUSH_MS (one write, not one per turn); flushRequestLogs (serve, on exit) writes the
// waiting lines at once, so none is lost when the process ends before their timer.
import { pino } from "pino";
import { describe, expect, it } from "vitest";
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
  it("counts a request in the next turn and writes its line with the others of the next 10 ms", async () => {
    const { lines, log, metrics } = logged();
    log.add({ reqId: "a", route: "/invocations", method: "POST", path: "/invocations", status: 200, seconds: 0.001 });
    await turn();
    log.add({ reqId: "b", route: "/invocations", method: "POST", path: "/invocations", status: 200, seconds: 0.002 });
    await turn();
    expect(await requestsCounted(metrics)).toBe(2);
    expect(lines).toEqual([]);
    await new Promise((resolve) => setTimeout(resolve, LOG_FLUSH_MS + 20));
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
    await new Promise((resolve) => setTimeout(resolve, LOG_FLUSH_MS + 20));
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
