/**
 * The server's lifecycle over REAL sockets and REAL processes: the built CLI
 * (`node dist/cli/bin.js serve`, which `npm test` builds first) serving a packaged model on a
 * free port (`-p 0`, the port read from the "Serving" log line): predictions over TCP, `-w 2`
 * spreading requests over two worker processes (seen by the pid on each request's log line),
 * SIGTERM draining in-flight requests while refusing new connections and exiting 0, a model that
 * cannot load, and bad flags.
 */
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { appendFile, cp, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { SIGNATURES, packageBehaviour } from "./fixtures/models.js";
import { CLI, REPO, ServeProcess, http, invoke, tryConnect, type LogLine } from "./fixtures/server-process.js";

const AB_ROWS = [
  { a: 1, b: 0.5 },
  { a: 2, b: 1.5 },
];
const body = (delayMs: number): Record<string, unknown> => ({
  dataframe_split: {
    columns: ["a", "b"],
    data: [
      [1, 0.5],
      [2, 1.5],
    ],
  },
  params: { delay_ms: delayMs },
});

let modelDir: string;
let scratch: string;
const running: ServeProcess[] = [];

function serve(...args: string[]): ServeProcess {
  const p = new ServeProcess(["serve", "-m", modelDir, "-p", "0", ...args]);
  running.push(p);
  return p;
}

/** Resolves with the exit, or kills the process and fails after `ms` (a process that should end but hangs). */
async function exitWithin(p: ServeProcess, ms: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const error = new Error(`pipeserve did not exit within ${ms} ms.\nstdout:\n${p.stdout}\nstderr:\n${p.stderr}`);
      void p.stop().finally(() => reject(error));
    }, ms);
  });
  try {
    return await Promise.race([p.exited, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function requestLine(lines: LogLine[], reqId: string): LogLine | undefined {
  return lines.find((l) => l.msg === "request" && l["reqId"] === reqId);
}

/** The newest modification time of any file under `dir`. */
function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) newest = Math.max(newest, statSync(join(entry.parentPath, entry.name)).mtimeMs);
  }
  return newest;
}

/**
 * Waits until the server has `expected` requests in flight besides the poll itself, read from the
 * in-flight gauge of `/metrics` (with -w N, every worker's summed).
 */
async function waitInFlight(url: string, expected: number): Promise<void> {
  let gauge = 0;
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    const res = await http(`${url}/metrics`);
    gauge = Number(/^pipeserve_http_requests_in_flight (\d+)$/m.exec(res.body)?.[1] ?? 1) - 1;
    if (gauge >= expected) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`Fewer than ${expected} requests reached the server: ${gauge} in flight`);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

beforeAll(async () => {
  // `npm test` builds before vitest runs; a bare `vitest run` may not have.
  if (!existsSync(CLI)) execFileSync("npm", ["run", "build"], { cwd: REPO, stdio: "inherit" });
  else if (newestSource(join(REPO, "src")) > statSync(CLI).mtimeMs) {
    // NB: not rebuilt here (a build takes longer than this whole file); say so, since these tests run the built CLI.
    console.warn(
      "lifecycle.test.ts: dist/ is older than src/; these tests run the built CLI. Run `npm run build` (npm test does) to test the current sources.",
    );
  }
  modelDir = await packageBehaviour("sleep", SIGNATURES.sleepParams);
  scratch = await mkdtemp(join(tmpdir(), "pipeserve-lifecycle-"));
});

afterEach(async () => {
  await Promise.all(running.splice(0).map((p) => p.stop()));
});

afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

describe("pipeserve serve", () => {
  it("serves predictions over a real socket on the port -p 0 picked, logging each request with its id and pid", async () => {
    const p = serve();
    const { url, port, pids } = await p.serving();
    expect(url).toBe(`http://127.0.0.1:${port}`);
    expect(port).toBeGreaterThan(0);
    expect(pids).toEqual([p.child.pid]);

    const ping = await http(`${url}/ping`);
    expect([ping.status, ping.body]).toEqual([200, "\n"]);
    expect(await http(`${url}/v2/health/ready`)).toMatchObject({ status: 200, body: '{"ready":true}' });

    const res = await invoke(url, body(0), { "X-Request-Id": "life-1" });
    expect(res.status).toBe(200);
    expect(res.headers["x-request-id"]).toBe("life-1");
    expect(JSON.parse(res.body)).toEqual({ predictions: AB_ROWS });
    const logged = await p.waitForLogs("the request's log line", (lines) => requestLine(lines, "life-1"));
    expect(logged).toMatchObject({ pid: p.child.pid, method: "POST", path: "/invocations", status: 200 });

    const bad = await invoke(url, { nope: 1 }, { "X-Request-Id": "life-bad" });
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.body)).toMatchObject({ error_code: "BAD_REQUEST" });

    // NB: at once: the access line may still wait for its 10 ms timer; the exit writes it all the same.
    p.child.kill("SIGTERM");
    expect(await exitWithin(p, 10_000)).toEqual({ code: 0, signal: null });
    expect(requestLine(p.logs(), "life-bad")).toMatchObject({ status: 400, path: "/invocations" });
  });

  it("takes `mlflow models serve`'s command line: -t, and --env-manager/--no-conda/--install-mlflow ignored with a note", async () => {
    const p = serve("--env-manager", "conda", "--no-conda", "--install-mlflow", "-t", "0.2");
    const { url } = await p.serving();
    expect(p.stderr).toContain("pipeserve: ignoring --env-manager conda, --no-conda, --install-mlflow: pipeserve needs no Python environment");
    expect((await invoke(url, body(0))).status).toBe(200);
    // -t is --timeout: a prediction of 1 s is past a 0.2 s timeout.
    const late = await invoke(url, body(1_000));
    expect([late.status, JSON.parse(late.body).error_code]).toEqual([504, "DEADLINE_EXCEEDED"]);
  });

  it("reads MLflow's MLFLOW_SCORING_SERVER_REQUEST_TIMEOUT as the timeout when neither -t nor PIPESERVE_TIMEOUT is given", async () => {
    const p = new ServeProcess(["serve", "-m", modelDir, "-p", "0"], { MLFLOW_SCORING_SERVER_REQUEST_TIMEOUT: "0.2" });
    running.push(p);
    const { url } = await p.serving();
    expect((await invoke(url, body(0))).status).toBe(200);
    const late = await invoke(url, body(1_000));
    expect([late.status, JSON.parse(late.body).error_code]).toEqual([504, "DEADLINE_EXCEEDED"]);
  });

  it("-w 2 serves from two worker processes sharing the port, and stops them all on SIGTERM", async () => {
    const p = serve("-w", "2");
    const { url, pids } = await p.serving(2);
    const workers = [...new Set(pids)];
    expect(workers).toHaveLength(2);
    expect(workers).not.toContain(p.child.pid);
    expect(p.logs().find((l) => l.msg === "Started workers")).toMatchObject({ pid: p.child.pid, workers: 2 });

    // Each request on a new connection; the cluster hands connections to the workers in turn.
    const seen = new Set<number>();
    for (let i = 0; i < 40 && seen.size < 2; i++) {
      const id = `w2-${i}`;
      const res = await invoke(url, body(0), { "X-Request-Id": id });
      expect(res.status).toBe(200);
      expect(JSON.parse(res.body)).toEqual({ predictions: AB_ROWS });
      seen.add((await p.waitForLogs(`the log line of ${id}`, (lines) => requestLine(lines, id))).pid);
    }
    expect([...seen].sort()).toEqual(workers.sort());

    // The primary forwards SIGTERM; each worker drains what it is running before it exits.
    const inFlight = [0, 1, 2, 3].map((i) => invoke(url, body(1_500), { "X-Request-Id": `w2-slow-${i}` }));
    await waitInFlight(url, 4);
    p.child.kill("SIGTERM");
    for (const res of await Promise.all(inFlight)) expect([res.status, JSON.parse(res.body)]).toEqual([200, { predictions: AB_ROWS }]);
    expect(await exitWithin(p, 10_000)).toEqual({ code: 0, signal: null });
    expect(p.logs().find((l) => l.msg === "Stopping workers")).toMatchObject({ pid: p.child.pid, signal: "SIGTERM" });
    const drained = new Set([0, 1, 2, 3].map((i) => requestLine(p.logs(), `w2-slow-${i}`)?.pid));
    expect([...drained].every((pid) => pid !== undefined && workers.includes(pid))).toBe(true);
    for (const pid of workers) expect(alive(pid), `worker ${pid} should be gone`).toBe(false);
  });

  it("on SIGTERM refuses new connections, finishes every in-flight request with 200, then exits 0", async () => {
    const p = serve();
    const { url } = await p.serving();
    const inFlight = [0, 1, 2].map((i) => invoke(url, body(2_000), { "X-Request-Id": `slow-${i}` }));
    const settled: string[] = [];
    inFlight.forEach(
      (r, i) =>
        void r.then(
          () => settled.push(`slow-${i}`),
          () => settled.push(`slow-${i}`),
        ),
    );
    // The three requests are in the pipeline (each sleeps 2 s there) before the signal.
    await waitInFlight(url, 3);
    expect(settled).toEqual([]);

    p.child.kill("SIGTERM");
    // Until the signal is handled a connection may still be taken (or, in the race, reset); then the port is closed.
    let outcome = "connected";
    const deadline = Date.now() + 1_000;
    while (outcome !== "ECONNREFUSED" && Date.now() < deadline) {
      outcome = await tryConnect(url);
      if (outcome !== "ECONNREFUSED") await new Promise((r) => setTimeout(r, 25));
    }
    expect(outcome).toBe("ECONNREFUSED");
    expect(settled, "the slow requests were still running when new connections were refused").toEqual([]);

    const responses = await Promise.all(inFlight);
    for (const res of responses) {
      expect(res.status).toBe(200);
      expect(JSON.parse(res.body)).toEqual({ predictions: AB_ROWS });
    }
    expect(await exitWithin(p, 10_000)).toEqual({ code: 0, signal: null });
    const lines = p.logs();
    expect(lines.find((l) => l.msg === "Signal received")).toMatchObject({ signal: "SIGTERM" });
    expect(lines.some((l) => l.msg.startsWith("Stopping: no new connections"))).toBe(true);
    for (const i of [0, 1, 2]) expect(requestLine(lines, `slow-${i}`)).toMatchObject({ status: 200 });
  });
});

describe("a model that cannot be loaded", () => {
  it("a path that is no model → exit 1 with one clear line on stderr, and never serves", async () => {
    const missing = join(scratch, "no-such-model");
    const p = new ServeProcess(["serve", "-m", missing, "-p", "0"]);
    running.push(p);
    expect((await exitWithin(p, 15_000)).code).toBe(1);
    expect(p.stderr).toContain(`pipeserve: ${missing} resolves to`);
    expect(p.stderr).toContain("which is not a model directory (it does not exist)");
    expect(p.stderr).not.toMatch(/\n\s+at /);
    expect(p.logs().some((l) => l.msg === "Serving")).toBe(false);
  });

  describe("a model whose code was changed after packaging", () => {
    let tampered: string;
    beforeAll(async () => {
      tampered = join(scratch, "tampered");
      await cp(modelDir, tampered, { recursive: true });
      await appendFile(join(tampered, "code", "pipeline.mjs"), "\nglobalThis.__tampered = true;\n");
    });

    it("→ exit 1 naming the file and the integrity check", async () => {
      const p = new ServeProcess(["serve", "-m", tampered, "-p", "0"]);
      running.push(p);
      expect((await exitWithin(p, 15_000)).code).toBe(1);
      expect(p.stderr).toContain("pipeserve: The code bundle (code/pipeline.mjs) does not match its recorded sha256");
      expect(p.stderr).toContain("Re-package the model");
      expect(p.logs().some((l) => l.msg === "Serving")).toBe(false);
    });

    it("with -w 2 → the workers report it, and the whole server exits non-zero instead of restarting them forever", async () => {
      const p = new ServeProcess(["serve", "-m", tampered, "-p", "0", "-w", "2"]);
      running.push(p);
      const exit = await exitWithin(p, 20_000);
      expect(exit.code).not.toBe(0);
      expect(exit.code).not.toBeNull();
      const lines = p.logs();
      expect(lines.find((l) => l.msg === `Cannot load ${tampered}`)).toMatchObject({ level: 60 });
      expect(lines.some((l) => l.msg === "The worker could not load the model; stopping.")).toBe(true);
      expect(lines.some((l) => l.msg === "Serving")).toBe(false);
    });
  });
});

// Concurrent: each process ends by itself (exitWithin kills one that hangs), so none is left to afterEach.
describe.concurrent("bad flags → exit 2 with a message, before anything loads", () => {
  it.each([
    { flags: ["-p", "abc"], message: 'pipeserve: --port must be a whole number, got "abc".' },
    { flags: ["-p", "70000"], message: "pipeserve: --port must be between 0 and 65535, got 70000." },
    { flags: ["--max-body", "0"], message: 'pipeserve: --max-body must be a size such as 100mb, 512kb or 1048576, got "0".' },
    { flags: ["--max-body", "lots"], message: 'pipeserve: --max-body must be a size such as 100mb, 512kb or 1048576, got "lots".' },
    { flags: ["--log-level", "loud"], message: 'pipeserve: --log-level must be one of fatal, error, warn, info, debug, trace, silent; got "loud".' },
    { flags: ["-w", "0"], message: "pipeserve: --workers must be between 1 and 256, got 0." },
    { flags: ["--timeout", "-1"], message: 'pipeserve: --timeout must be a positive number of seconds, got "-1".' },
    { flags: ["--max-queue", "0"], message: "pipeserve: --max-queue must be between 1 and" },
    { flags: ["--max-batch-rows", "0"], message: "pipeserve: --max-batch-rows must be between 1 and" },
    { flags: ["--max-batch-rows", "many"], message: 'pipeserve: --max-batch-rows must be a whole number, got "many".' },
    {
      flags: ["--allow-runner", "./runners.mjs"],
      message: 'pipeserve: --allow-runner takes module#Export, e.g. ./runners.mjs#GpuRunner; got "./runners.mjs".',
    },
    { flags: ["--bogus"], message: "error: unknown option '--bogus'" },
    { flags: ["--enable-mlserver"], message: "pipeserve: --enable-mlserver is not needed: pipeserve serves the Open Inference Protocol" },
    { flags: ["-t", "0"], message: 'pipeserve: --timeout must be a positive number of seconds, got "0".' },
  ])("$flags", async ({ flags, message }) => {
    const p = new ServeProcess(["serve", "-m", modelDir, "-p", "0", ...flags]);
    expect(await exitWithin(p, 15_000)).toEqual({ code: 2, signal: null });
    expect(p.stderr).toContain(message);
    expect(p.stderr).not.toMatch(/\n\s+at /);
    expect(p.logs().some((l) => l.msg === "Serving")).toBe(false);
  });

  it("no -m at all", async () => {
    const p = new ServeProcess(["serve", "-p", "0"]);
    expect(await exitWithin(p, 15_000)).toEqual({ code: 2, signal: null });
    expect(p.stderr).toContain("error: required option '-m, --model-uri <uri>' not specified");
  });
});
