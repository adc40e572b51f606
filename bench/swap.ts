// Made with: npm run build && npx tsx bench/run.ts swap   (or `npm run bench -- swap`)
/**
 * bench/swap — what promoting a model costs the requests being served (issue 17, hot swap).
 *
 * Trains models/penguins twice into a temp run store (version 1 with the default parameters,
 * version 2 with another seed, so the two are different artifacts), points `champion` at 1 and
 * starts the built `pipeserve serve -m models:/penguins@champion --watch 0.1` (one worker, access
 * log at info into a file, as bench/server does). Then SWAP_CONNECTIONS (16) keep-alive clients in
 * this process send the single-row body of shared/bench-data/req_1row.json back to back, every
 * response recorded (start, headers, end, status, X-Pipeserve-Model-Version, one prediction), while
 * SWAP_ROUNDS (3) rounds each run two windows of SWAP_WINDOW_SECONDS (5), taking turns:
 * - a swap window: 1 s in, `pipeserve models alias penguins champion <the other version>` (the CLI,
 *   a child process); versions go 1 → 2 → 1 …;
 * - a steady window: 1 s in, the same CLI command naming the version already served (the alias
 *   does not move), so both windows carry the same extra process on the same two cores and differ
 *   only by the swap.
 * An untimed second of load separates windows, so a window does not start on the tail of the last.
 * A window's requests are those that STARTED in it.
 *
 * Measured, in the one run:
 * 1. swap time: from the alias command returning to the first response that names the new version
 *    (its headers), and the server's own share from its log (the "now names version" line to the
 *    "Serving version" line: load, verify every sha256, warm up);
 * 2. p50/p99/max latency and failures (non-200, socket error, or not one prediction) of each
 *    window; the swap windows' p99 over the steady windows' p99, pooled (all swap windows' requests
 *    against all steady windows') and per round; and the same for the requests started from the
 *    alias command's start to 1 s after it returned (where a swap's cost concentrates; a 5 s window
 *    dilutes it);
 * 3. the server's RSS (`pipeserve_process_resident_memory_bytes` on /metrics, the median of 5
 *    scrapes 200 ms apart, under the same load) after the warm-up, after each window (the first
 *    window is steady, so after it is just before the first swap), and after the last swap plus
 *    SWAP_SETTLE_SECONDS (3); heap used beside it.
 *
 * NB: the load generator shares the two cores with the server (and with the CLI, and whatever else
 * runs on the machine): the figures compare windows of one run, not machines.
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { type FileHandle, mkdtemp, open, readFile, rm } from "node:fs/promises";
import { Agent, request as httpRequest } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { benchData, bin, freePort, median, report, round, trainPenguins, waitForHttp } from "./harness.js";

const CONNECTIONS = Number(process.env["SWAP_CONNECTIONS"] ?? 16);
const ROUNDS = Number(process.env["SWAP_ROUNDS"] ?? 3);
const WINDOW_MS = Number(process.env["SWAP_WINDOW_SECONDS"] ?? 5) * 1000;
const SETTLE_MS = Number(process.env["SWAP_SETTLE_SECONDS"] ?? 3) * 1000;
/** When, into a window, the alias command starts. */
const MOVE_AT_MS = 1000;
/** Untimed load between windows. */
const GAP_MS = 1000;
const WARMUP_MS = 3000;
/** How long past its window a swap may take before the run gives up on it. */
const SWAP_TIMEOUT_MS = 20_000;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, Math.max(0, ms)));

interface Sample {
  start: number;
  /** When the response's headers arrived (NaN on a socket error). */
  headersAt: number;
  end: number;
  status: number;
  version: string | null;
  ok: boolean;
}

/** One POST /invocations on a keep-alive connection of `agent`, recorded whatever happens. */
function post(agent: Agent, port: number, body: string): Promise<Sample> {
  return new Promise((resolve) => {
    const start = performance.now();
    const fail = (): void => resolve({ start, headersAt: Number.NaN, end: performance.now(), status: 0, version: null, ok: false });
    const req = httpRequest(
      {
        host: "127.0.0.1",
        port,
        path: "/invocations",
        method: "POST",
        agent,
        headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) },
      },
      (res) => {
        const headersAt = performance.now();
        const header = res.headers["x-pipeserve-model-version"];
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("error", fail);
        res.on("end", () => {
          const end = performance.now();
          let ok = res.statusCode === 200;
          if (ok) {
            try {
              ok = (JSON.parse(Buffer.concat(chunks).toString("utf8")) as { predictions?: unknown[] }).predictions?.length === 1;
            } catch {
              ok = false;
            }
          }
          resolve({ start, headersAt, end, status: res.statusCode ?? 0, version: typeof header === "string" ? header : null, ok });
        });
      },
    );
    req.on("error", fail);
    req.end(body);
  });
}

interface Load {
  samples: Sample[];
  /** Per client, when its request in flight started (NaN between requests). */
  inFlight: number[];
  stop: () => Promise<void>;
}

/** `connections` clients sending one request after another until `stop()`; every answer kept. */
function startLoad(port: number, body: string, connections: number): Load {
  const agent = new Agent({ keepAlive: true, maxSockets: connections });
  const samples: Sample[] = [];
  const inFlight: number[] = Array.from({ length: connections }, () => Number.NaN);
  let going = true;
  const loops = Array.from({ length: connections }, async (_, client) => {
    while (going) {
      inFlight[client] = performance.now();
      const sample = await post(agent, port, body);
      inFlight[client] = Number.NaN;
      samples.push(sample);
    }
  });
  return {
    samples,
    inFlight,
    stop: async () => {
      going = false;
      await Promise.all(loops);
      agent.destroy();
    },
  };
}

/** The q-quantile (nearest rank) of already sorted values. */
const quantile = (sorted: readonly number[], q: number): number => sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)] as number;

interface WindowStats {
  requests: number;
  failures: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

function stats(samples: readonly Sample[]): WindowStats {
  const ms = samples.map((s) => s.end - s.start).sort((a, b) => a - b);
  return {
    requests: samples.length,
    failures: samples.filter((s) => !s.ok).length,
    p50Ms: round(quantile(ms, 0.5), 2),
    p99Ms: round(quantile(ms, 0.99), 2),
    maxMs: round(ms.at(-1) ?? Number.NaN, 1),
  };
}

/** The figures of the server's /metrics named, by exact series name. */
async function scrape(port: number, names: readonly string[]): Promise<number[]> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  return names.map((name) => Number(new RegExp(`^${name.replace(/[{}"]/g, "\\$&")} (\\S+)$`, "m").exec(text)?.[1] ?? Number.NaN));
}

const RSS = "pipeserve_process_resident_memory_bytes";
const HEAP = "pipeserve_nodejs_heap_size_used_bytes";

/** RSS and heap used in MB: the median of 5 scrapes 200 ms apart. */
async function memory(port: number): Promise<{ rssMb: number; heapUsedMb: number }> {
  const rss: number[] = [];
  const heap: number[] = [];
  for (let i = 0; i < 5; i++) {
    if (i > 0) await sleep(200);
    const [r, h] = await scrape(port, [RSS, HEAP]);
    rss.push(r as number);
    heap.push(h as number);
  }
  return { rssMb: round(median(rss) / 2 ** 20, 1), heapUsedMb: round(median(heap) / 2 ** 20, 1) };
}

/** `pipeserve models alias penguins champion <version>` as a child process (the load keeps running). */
function moveAlias(tracking: string, version: number): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [bin, "models", "alias", "penguins", "champion", String(version), "--tracking-uri", tracking], (error, _stdout, stderr) =>
      error ? reject(new Error(`models alias failed: ${stderr}`)) : resolve(),
    );
  });
}

interface Round {
  kind: "swap" | "steady";
  from: number;
  to: number;
  aliasCommandMs: number;
  /** Alias command returned → first response naming the new version (swap windows). */
  swapMs?: number;
  /** Alias command returned → last response naming the old version. */
  lastOldResponseMs?: number;
  swapInsideWindow?: boolean;
  latency: WindowStats;
  /** The requests started from the alias command's start to 1 s after it returned. */
  nearMove: WindowStats;
  memoryAfter: { rssMb: number; heapUsedMb: number };
}

/** One timed window: the alias command 1 s in (to the version served, or to `to`), load throughout. */
async function runWindow(
  load: Load,
  tracking: string,
  port: number,
  kind: "swap" | "steady",
  from: number,
  to: number,
): Promise<{ round: Round; samples: Sample[]; nearMove: Sample[] }> {
  const t0 = performance.now();
  const end = t0 + WINDOW_MS;
  await sleep(MOVE_AT_MS);
  const spawned = performance.now();
  await moveAlias(tracking, to);
  const returned = performance.now();
  await sleep(end - performance.now());
  const inWindow = (): Sample[] => load.samples.filter((s) => s.start >= t0 && s.start < end);
  const round_: Omit<Round, "memoryAfter" | "latency" | "nearMove"> = { kind, from, to, aliasCommandMs: round(returned - spawned) };
  if (kind === "swap") {
    const deadline = performance.now() + SWAP_TIMEOUT_MS;
    let first: Sample | undefined;
    for (;;) {
      first = load.samples.find((s) => s.version === String(to) && s.headersAt >= spawned);
      if (first || performance.now() > deadline) break;
      await sleep(50);
    }
    if (!first) throw new Error(`No response named version ${to} within ${SWAP_TIMEOUT_MS} ms of the window's end.`);
    // Samples are pushed in the order they complete: the earliest headers among the new version's,
    // the latest among the old one's (a loop: the run holds too many samples to spread into Math.min).
    let firstAt = Number.POSITIVE_INFINITY;
    let lastOldAt = Number.NEGATIVE_INFINITY;
    for (const s of load.samples) {
      if (s.version === String(to) && s.headersAt >= spawned && s.headersAt < firstAt) firstAt = s.headersAt;
      if (s.version === String(from) && s.headersAt > lastOldAt) lastOldAt = s.headersAt;
    }
    round_.swapMs = round(firstAt - returned, 1);
    round_.lastOldResponseMs = round(lastOldAt - returned, 1);
    round_.swapInsideWindow = firstAt < end;
  }
  // Requests started before the window's end may still be running: wait for them (a stalled one is the point).
  while (load.inFlight.some((t) => t < end)) await sleep(10);
  const samples = inWindow();
  // The requests started from the alias command's start to 1 s after it returned: where a swap's cost would show.
  const nearMove = samples.filter((s) => s.start >= spawned && s.start < returned + 1000);
  return { round: { ...round_, latency: stats(samples), nearMove: stats(nearMove), memoryAfter: await memory(port) }, samples, nearMove };
}

/** From the server's log: "now names version" → "Serving version" (load, verify, warm up), per swap. */
async function serverSwapTimes(logPath: string): Promise<number[]> {
  const lines = (await readFile(logPath, "utf8"))
    .split("\n")
    .filter((l) => l.includes("names version") || l.includes("Serving version"))
    .map((l) => JSON.parse(l) as { time: number; msg: string });
  const out: number[] = [];
  let began: number | undefined;
  for (const line of lines) {
    if (line.msg.includes("now names version")) began = line.time;
    else if (line.msg.startsWith("Serving version") && began !== undefined) {
      out.push(line.time - began);
      began = undefined;
    }
  }
  return out;
}

export async function main(): Promise<void> {
  const tracking = await mkdtemp(join(tmpdir(), "pipeserve-bench-swap-"));
  let child: ChildProcess | undefined;
  let logFile: FileHandle | undefined;
  try {
    trainPenguins(tracking);
    trainPenguins(tracking, ["seed=7"]);
    await moveAlias(tracking, 1);
    const logPath = join(tracking, "serve.log");
    logFile = await open(logPath, "w");
    const port = await freePort();
    child = spawn(
      process.execPath,
      [bin, "serve", "-m", "models:/penguins@champion", "--watch", "0.1", "--tracking-uri", tracking, "-p", String(port), "-w", "1", "--log-level", "info"],
      { stdio: ["ignore", logFile.fd, "inherit"] },
    );
    await waitForHttp(port);
    const body = await readFile(join(benchData, "req_1row.json"), "utf8");

    const load = startLoad(port, body, CONNECTIONS);
    await sleep(WARMUP_MS);
    const afterWarmup = await memory(port);
    const windows: { round: Round; samples: Sample[]; nearMove: Sample[] }[] = [];
    let served = 1;
    for (let r = 0; r < ROUNDS; r++) {
      // Taking turns; which comes first alternates too, so neither kind always follows the other.
      const order: ("swap" | "steady")[] = r % 2 === 0 ? ["steady", "swap"] : ["swap", "steady"];
      for (const kind of order) {
        await sleep(GAP_MS);
        const to = kind === "swap" ? 3 - served : served;
        windows.push(await runWindow(load, tracking, port, kind, served, to));
        served = to;
      }
    }
    await sleep(SETTLE_MS);
    const afterSwaps = await memory(port);
    await load.stop();
    // A labelled counter has no series until first counted: absent is 0.
    const swapsCounted = (await scrape(port, ['pipeserve_model_swaps_total{result="swapped"}', 'pipeserve_model_swaps_total{result="failed"}'])).map((n) =>
      Number.isNaN(n) ? 0 : n,
    ) as [number, number];
    const allFailures = load.samples.filter((s) => !s.ok).length;

    // Pooled: every request of the windows of one kind (a percentile of the union, not an average of percentiles).
    const pooled = (kind: "swap" | "steady"): WindowStats => stats(windows.filter((w) => w.round.kind === kind).flatMap((w) => w.samples));
    const swapPooled = pooled("swap");
    const nearSwap = stats(windows.filter((w) => w.round.kind === "swap").flatMap((w) => w.nearMove));
    const nearSteady = stats(windows.filter((w) => w.round.kind === "steady").flatMap((w) => w.nearMove));
    const steadyPooled = pooled("steady");
    const rounds = windows.map((w) => w.round);
    const swapRounds = rounds.filter((r) => r.kind === "swap");
    const steadyRounds = rounds.filter((r) => r.kind === "steady");
    await report("swap", {
      model: "models/penguins: version 1 (defaults) and 2 (seed=7), served as models:/penguins@champion --watch 0.1, one worker",
      connections: CONNECTIONS,
      windowSeconds: WINDOW_MS / 1000,
      rounds: ROUNDS,
      swapMs: swapRounds.map((r) => r.swapMs),
      medianSwapMs: median(swapRounds.map((r) => r.swapMs as number)),
      serverLoadVerifyWarmupMs: await serverSwapTimes(logPath),
      latency: {
        swapWindows: swapPooled,
        steadyWindows: steadyPooled,
        ratioP99SwapToSteady: round(swapPooled.p99Ms / steadyPooled.p99Ms, 2),
        ratioP50SwapToSteady: round(swapPooled.p50Ms / steadyPooled.p50Ms, 2),
        // Round by round (the swap and steady windows of one round are back to back).
        // The second after the alias command (from its start), where a swap's cost concentrates: swap windows against steady ones.
        nearMoveSwap: nearSwap,
        nearMoveSteady: nearSteady,
        ratioP99NearMoveSwapToSteady: round(nearSwap.p99Ms / nearSteady.p99Ms, 2),
        ratioP99PerRound: swapRounds.map((r, i) => round(r.latency.p99Ms / (steadyRounds[i] as Round).latency.p99Ms, 2)),
      },
      // The first run saw RSS still rising under load after the 3 s warm-up (90 → 107 MB by the end of
      // the first window, before any swap): the level to return to is the one just before the first swap.
      memory: {
        afterWarmup,
        beforeFirstSwap: (rounds[0] as Round).memoryAfter,
        afterSwaps,
        perWindow: rounds.map((r) => ({ kind: r.kind, to: r.to, ...r.memoryAfter })),
      },
      swapsCounted: { swapped: swapsCounted[0], failed: swapsCounted[1] },
      failuresWholeRun: allFailures,
      requestsWholeRun: load.samples.length,
      windows: rounds,
    });
  } finally {
    child?.kill("SIGTERM");
    if (child && child.exitCode === null) await new Promise((r) => child?.once("close", r));
    await logFile?.close();
    await rm(tracking, { recursive: true, force: true });
  }
}
