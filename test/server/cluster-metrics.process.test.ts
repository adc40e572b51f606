/**
 * `/metrics` of `pipeserve serve -w 2`, over REAL sockets and REAL processes (the built CLI): every
 * scrape answers with the sum of both workers' figures, whichever worker takes the connection (seen
 * by the pid on the scrape's log line); counters never fall, neither when a worker is killed and
 * started again nor when one is too busy to answer in time; the served version reads 1, not 2.
 */
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { runProject } from "../../src/index.js";
import { useBuiltBin } from "../fixtures/cli.js";
import { tempDir } from "../batch/helpers.js";
import { SIGNATURES, packageBehaviour } from "./fixtures/models.js";
import { REPO, ServeProcess, http, invoke, type LogLine } from "./fixtures/server-process.js";

useBuiltBin();

// NB: the scaler over plain columns: each worker would otherwise load danfojs (~3 s of CPU).
const SCALER = join(REPO, "test", "fixtures", "projects", "scaler-columns");

let tracking: string;
let echoDir: string;
let spinDir: string;
const running: ServeProcess[] = [];

function serve(...args: string[]): ServeProcess {
  const p = new ServeProcess(["serve", "-p", "0", "-w", "2", "--tracking-uri", tracking, ...args]);
  running.push(p);
  return p;
}

const rows = (delayMs: number): Record<string, unknown> => ({
  dataframe_split: { columns: ["a", "b"], data: [[1, 0.5]] },
  params: { delay_ms: delayMs },
});

/** A series' value in Prometheus text: `name{labels}` exactly as written, or `name` alone. */
function series(text: string, name: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.slice(name.length + 1));
}

/** Every series of metric `name` whose labels include `labels`: its labels and value. */
function seriesOf(text: string, name: string, labels: Record<string, string>): { labels: Record<string, string>; value: number }[] {
  const out: { labels: Record<string, string>; value: number }[] = [];
  for (const line of text.split("\n")) {
    const m = /^([a-z_]+)\{(.*)\} (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const found = Object.fromEntries([...(m[2] as string).matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => found[k] === v)) out.push({ labels: found, value: Number(m[3]) });
  }
  return out;
}

const INVOCATIONS_OK = 'pipeserve_http_requests_total{route="/invocations",method="POST",status="200"}';

/** GET /metrics on a fresh connection, and the pid of the worker that answered (from its request log line). */
async function scrape(p: ServeProcess, url: string, id: string): Promise<{ text: string; pid: number }> {
  const res = await http(`${url}/metrics`, { headers: { "X-Request-Id": id } });
  expect(res.status, res.body).toBe(200);
  const line = await p.waitForLogs(`the log line of ${id}`, (lines) => lines.find((l) => l.msg === "request" && l["reqId"] === id));
  return { text: res.body, pid: (line as LogLine).pid };
}

/**
 * Waits until `n` predictions have their log line: a request is counted, in the log and the
 * metrics alike, as its response leaves, which may be a moment after the client has read it.
 */
async function waitCounted(p: ServeProcess, n: number): Promise<void> {
  await p.waitForLogs(`${n} logged predictions`, (lines) =>
    lines.filter((l) => l.msg === "request" && l["path"] === "/invocations").length >= n ? true : undefined,
  );
}

beforeAll(async () => {
  tracking = await tempDir("pipeserve-cluster-metrics-");
  const trained = await runProject({ projectDir: SCALER, pipelineName: "training", trackingUri: tracking, typecheck: false });
  if (!trained.modelUri) throw new Error("the scaler packaged no model");
  [echoDir, spinDir] = await Promise.all([packageBehaviour("sleep", SIGNATURES.sleepParams), packageBehaviour("spin", SIGNATURES.sleepParams)]);
}, 120_000);

afterEach(async () => {
  await Promise.all(running.splice(0).map((p) => p.stop()));
});

describe("serve -w 2: /metrics sums the workers", () => {
  it("every scrape, whichever worker answers it, counts every worker's requests to each model; the served version reads 1", async () => {
    const p = serve("-m", "scaler=models:/scaler-model/1", "-m", `echo=${echoDir}`);
    const { url, pids } = await p.serving(2);
    const workers = new Set(pids);
    // Each request on a new connection: the cluster hands connections to the workers in turn.
    const REQUESTS = 12;
    const answeredBy = new Set<number>();
    for (let i = 0; i < REQUESTS; i++) {
      const id = `r-${i}`;
      const model = i % 3 === 0 ? "scaler" : "echo";
      const body = model === "scaler" ? { dataframe_split: { columns: ["x"], data: [[4.449]] } } : rows(0);
      expect(
        (await http(`${url}/models/${model}/invocations`, { headers: { "Content-Type": "application/json", "X-Request-Id": id }, body: JSON.stringify(body) }))
          .status,
      ).toBe(200);
      answeredBy.add((await p.waitForLogs(`the log line of ${id}`, (lines) => lines.find((l) => l.msg === "request" && l["reqId"] === id))).pid);
    }
    expect(answeredBy).toEqual(workers);

    const scrapedBy = new Set<number>();
    for (let i = 0; i < 8 && (i < 4 || scrapedBy.size < 2); i++) {
      const { text, pid } = await scrape(p, url, `scrape-${i}`);
      scrapedBy.add(pid);
      const requests = (model: string) => seriesOf(text, "pipeserve_http_requests_total", { model, method: "POST", status: "200" });
      expect(
        requests("scaler").map((s) => s.value),
        `scrape ${i}, by worker ${pid}`,
      ).toEqual([REQUESTS / 3]);
      expect(
        requests("echo").map((s) => s.value),
        `scrape ${i}, by worker ${pid}`,
      ).toEqual([(REQUESTS * 2) / 3]);
      // Histograms are summed bucket by bucket.
      const latency = seriesOf(text, "pipeserve_http_request_duration_seconds_count", { model: "echo", status: "200" });
      expect(latency.map((s) => s.value)).toEqual([(REQUESTS * 2) / 3]);
      expect(series(text, "pipeserve_cluster_workers")).toBe(2);
      // NB: both workers serve version 1: by max, not summed to 2.
      expect(seriesOf(text, "pipeserve_model_served", { model: "scaler" })).toEqual([{ labels: { version: "1", model: "scaler" }, value: 1 }]);
      // The scrape itself is in flight in the worker answering it; nothing else runs.
      expect(series(text, "pipeserve_http_requests_in_flight")).toBe(1);
    }
    expect(scrapedBy).toEqual(workers);
  });

  it("a worker killed and started again keeps its counts in the sum: the counters do not fall", async () => {
    const p = serve("-m", echoDir);
    const { url, pids } = await p.serving(2);
    const REQUESTS = 10;
    for (let i = 0; i < REQUESTS; i++) expect((await invoke(url, rows(0))).status).toBe(200);
    await waitCounted(p, REQUESTS);
    const before = await scrape(p, url, "before");
    expect(series(before.text, INVOCATIONS_OK)).toBe(REQUESTS);
    expect(series(before.text, "pipeserve_cluster_worker_restarts_total")).toBe(0);

    process.kill(pids[0] as number, "SIGKILL");
    await p.waitForLogs("the primary's note of the death", (lines) => lines.find((l) => l.msg === "A worker stopped unexpectedly; starting another"));
    // While the new worker loads its model, a scrape does not wait for it: it has served nothing yet.
    const started = Date.now();
    const loading = await scrape(p, url, "while-loading");
    expect(Date.now() - started).toBeLessThan(1_500);
    expect(series(loading.text, INVOCATIONS_OK)).toBe(REQUESTS);
    await p.waitForLogs("the restarted worker's Serving line", (lines) => {
      const serving = lines.filter((l) => l.msg === "Serving");
      return serving.length >= 3 ? serving : undefined;
    });
    for (let i = 0; i < 4; i++) {
      const { text } = await scrape(p, url, `after-${i}`);
      expect(series(text, INVOCATIONS_OK), `scrape ${i} after the restart`).toBe(REQUESTS);
      expect(series(text, "pipeserve_cluster_worker_restarts_total")).toBe(1);
      expect(series(text, "pipeserve_cluster_workers")).toBe(2);
    }
    expect((await invoke(url, rows(0))).status).toBe(200);
    await waitCounted(p, REQUESTS + 1);
    expect(series((await scrape(p, url, "later")).text, INVOCATIONS_OK)).toBe(REQUESTS + 1);
  });

  it("a worker too busy to answer counts with its last figures, and the scrape answers within the collect timeout", async () => {
    const p = serve("-m", spinDir);
    const { url } = await p.serving(2);
    const REQUESTS = 6;
    for (let i = 0; i < REQUESTS; i++) expect((await invoke(url, rows(0))).status).toBe(200);
    await waitCounted(p, REQUESTS);
    expect(series((await scrape(p, url, "first")).text, INVOCATIONS_OK)).toBe(REQUESTS);

    // One worker computes for 4.5 s without yielding; of the next two connections, one goes to each worker.
    const SPIN_MS = 4_500;
    const spinning = invoke(url, rows(SPIN_MS));
    await new Promise((r) => setTimeout(r, 300));
    const started = Date.now();
    const first = await Promise.race([0, 1].map((i) => http(`${url}/metrics`, { headers: { "X-Request-Id": `busy-${i}` } })));
    const elapsed = Date.now() - started;
    expect(first.status).toBe(200);
    // The free worker's scrape: the primary waited its 2 s for the busy worker, then used its last figures.
    expect(elapsed).toBeGreaterThanOrEqual(1_500);
    expect(elapsed).toBeLessThan(SPIN_MS - 1_000);
    expect(series(first.body, INVOCATIONS_OK)).toBe(REQUESTS);
    expect(series(first.body, "pipeserve_cluster_workers")).toBe(2);
    expect((await spinning).status).toBe(200);
  });
});

describe("the primary's side", () => {
  it("asking a worker that died a moment ago (not yet seen to: its channel still reads as connected) ends the ask; the primary does not stop", () => {
    const fixture = join(REPO, "test", "server", "fixtures", "cluster-collect.mjs");
    const run = spawnSync(process.execPath, [fixture, join(REPO, "dist", "server", "cluster-metrics.js")], { encoding: "utf8", timeout: 30_000 });
    expect(run.stderr).not.toContain("EPIPE");
    expect([run.status, run.stdout.trim()], run.stderr).toEqual([0, "collected"]);
  });
});
