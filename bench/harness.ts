/**
 * Tiny helpers shared by the benchmarks: time a function over many iterations after a warm-up,
 * write results as JSON under bench/results/, and train and start the penguins model for the
 * benchmarks that drive a real `pipeserve serve` (server, soak).
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { createServer, type AddressInfo } from "node:net";
import { dirname, join } from "node:path";

export const root = join(import.meta.dirname, "..");
/** The built CLI (`npm run bench` builds first). */
export const bin = join(root, "dist", "cli", "bin.js");
/**
 * The fixed workloads (shared/bench-data/README.md): `shared/bench-data` in the nearest folder above
 * the clone that has one — beside a clone, or beside the folder of its git worktrees.
 */
export const benchData = findBenchData(dirname(root));

function findBenchData(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    const candidate = join(dir, "shared", "bench-data");
    if (existsSync(candidate)) return candidate;
    if (dirname(dir) === dir) return join(from, "shared", "bench-data");
  }
}

export interface Timing {
  /** Mean time of one iteration, in microseconds. */
  meanUs: number;
  /** Median of the per-batch means, in microseconds (robust to a noisy neighbour). */
  medianUs: number;
  iterations: number;
}

/** Runs `fn` `warmup` times, then `batches` batches of `perBatch` calls, and reports the time of one call. */
export async function measure(fn: () => unknown, options: { warmup?: number; batches?: number; perBatch?: number } = {}): Promise<Timing> {
  const { warmup = 200, batches = 15, perBatch = 200 } = options;
  for (let i = 0; i < warmup; i++) await fn();
  const means: number[] = [];
  let total = 0;
  for (let b = 0; b < batches; b++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < perBatch; i++) await fn();
    const ns = Number(process.hrtime.bigint() - start);
    total += ns;
    means.push(ns / perBatch / 1000);
  }
  means.sort((a, b) => a - b);
  return { meanUs: total / (batches * perBatch) / 1000, medianUs: means[Math.floor(means.length / 2)] as number, iterations: batches * perBatch };
}

/** Writes a benchmark's results to bench/results/<name>.json and prints them (unless `print` is false). */
export async function report(name: string, results: unknown, options: { print?: boolean } = {}): Promise<string> {
  const dir = join(import.meta.dirname, "results");
  await mkdir(dir, { recursive: true });
  const body = { bench: name, node: process.version, date: new Date().toISOString(), results };
  const file = join(dir, `${name}.json`);
  await writeFile(file, JSON.stringify(body, null, 2) + "\n");
  if (options.print ?? true) console.log(JSON.stringify(body, null, 2));
  return file;
}

/**
 * Trains models/penguins into the run store `tracking`, registering it as the next version of
 * models:/penguins (1 in a fresh store); `params` are `key=value` overrides (`--params`).
 */
export function trainPenguins(tracking: string, params: readonly string[] = []): void {
  const train = spawnSync(
    process.execPath,
    [
      bin,
      "run",
      "--project",
      join(root, "models", "penguins"),
      "--pipeline",
      "__default__",
      "--tracking-uri",
      tracking,
      ...params.flatMap((p) => ["--params", p]),
    ],
    { encoding: "utf8" },
  );
  if (train.status !== 0) throw new Error(`Training failed: ${train.stderr}`);
}

/** A port free now on 127.0.0.1 (for a child to listen on). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Waits until GET /ping answers 200 on `port` (10 s at most). */
export async function waitForHttp(port: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/ping`)).ok) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`Nothing answered on port ${port}.`);
}

/** Milliseconds from spawning `serve` to its first 200 on POST /invocations. */
export async function timeToFirstPrediction(args: string[], env: NodeJS.ProcessEnv, body: string, binPath = bin): Promise<number> {
  const port = await freePort();
  const started = performance.now();
  const child: ChildProcess = spawn(process.execPath, [binPath, "serve", ...args, "-p", String(port), "--log-level", "warn"], {
    env: { ...process.env, ...env },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`serve ${args.join(" ")} exited: ${stderr}`);
      if (performance.now() - started > 60_000) throw new Error(`serve ${args.join(" ")} answered nothing in 60 s: ${stderr}`);
      try {
        const r = await fetch(`http://127.0.0.1:${port}/invocations`, { method: "POST", headers: { "Content-Type": "application/json" }, body });
        if (r.status === 200) return performance.now() - started;
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 10));
    }
  } finally {
    child.kill("SIGTERM");
    await new Promise((r) => child.once("close", r));
  }
}

export const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
export const round = (x: number, d = 0): number => Math.round(x * 10 ** d) / 10 ** d;
