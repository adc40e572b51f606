// Made with: npm run build && npx tsx bench/run.ts onnx   (or `npm run bench -- onnx`)
/**
 * bench/onnx — the model from Python beside the hand-written one (issue 20): models/penguins-onnx
 * (a scikit-learn random forest in ONNX, run by onnxruntime-node) and models/penguins (a logistic
 * regression in TypeScript), both packaged into one temp run store and served by the built bin
 * in turn, one server at a time, in the same run:
 * 1. one-row requests/s at ONNX_CONNECTIONS (32) connections (adaptive batching on, as served by
 *    default), ONNX_ROUNDS (3) rounds alternating the two models, ONNX_SECONDS (5) each;
 * 2. 10,000-row request latency (shared/bench-data/req_10000rows.json), median of ONNX_TIMES (20);
 * 3. `pipeserve predict` over shared/bench-data/input_100k.csv: rows/s, wall time of the process;
 * 4. session creation: OnnxModel.fromBytes on the .onnx file: the first in this process (it loads
 *    onnxruntime's native library), then the median of 10.
 * The figures compare the two models on the one machine in the one run, not machines.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import autocannon from "autocannon";
import { OnnxModel } from "../src/index.js";
import { benchData, bin, freePort, median, report, root, round, trainPenguins, waitForHttp } from "./harness.js";

const CONNECTIONS = Number(process.env["ONNX_CONNECTIONS"] ?? 32);
const ROUNDS = Number(process.env["ONNX_ROUNDS"] ?? 3);
const SECONDS = Number(process.env["ONNX_SECONDS"] ?? 5);
const TIMES = Number(process.env["ONNX_TIMES"] ?? 20);

type Which = "handwritten" | "onnx";
const URIS: Record<Which, string> = { handwritten: "models:/penguins/1", onnx: "models:/penguins-onnx/1" };

async function serve(uri: string, tracking: string): Promise<{ port: number; child: ChildProcess }> {
  const port = await freePort();
  const child = spawn(process.execPath, [bin, "serve", "-m", uri, "-p", String(port), "--tracking-uri", tracking, "--log-level", "warn"], { stdio: "ignore" });
  await waitForHttp(port);
  return { port, child };
}

async function stop(child: ChildProcess): Promise<void> {
  child.kill("SIGTERM");
  await new Promise((r) => child.once("close", r));
}

async function requestsPerSecond(port: number, body: string): Promise<{ requestsPerSec: number; p99Ms: number; non2xx: number }> {
  const result = await autocannon({
    url: `http://127.0.0.1:${port}/invocations`,
    method: "POST",
    headers: { "content-type": "application/json" },
    body,
    connections: CONNECTIONS,
    duration: SECONDS,
  });
  return { requestsPerSec: Math.round(result.requests.average), p99Ms: result.latency.p99, non2xx: result.non2xx + result.errors };
}

async function latency(port: number, body: string): Promise<number> {
  const ms: number[] = [];
  for (let i = -3; i < TIMES; i++) {
    const t0 = performance.now();
    const res = await fetch(`http://127.0.0.1:${port}/invocations`, { method: "POST", headers: { "content-type": "application/json" }, body });
    await res.arrayBuffer();
    if (res.status !== 200) throw new Error(`10,000 rows answered ${res.status}`);
    if (i >= 0) ms.push(performance.now() - t0);
  }
  return round(median(ms), 1);
}

function batch(uri: string, tracking: string, out: string): { seconds: number; rowsPerSec: number } {
  const input = join(benchData, "input_100k.csv");
  const t0 = performance.now();
  const run = spawnSync(process.execPath, [bin, "predict", "-m", uri, "--tracking-uri", tracking, "-i", input, "-o", out], { encoding: "utf8" });
  const seconds = (performance.now() - t0) / 1000;
  if (run.status !== 0) throw new Error(`predict ${uri} failed: ${run.stderr}`);
  return { seconds: round(seconds, 2), rowsPerSec: Math.round(100_000 / seconds) };
}

export async function main(): Promise<void> {
  const tracking = await mkdtemp(join(tmpdir(), "pipeserve-bench-onnx-"));
  try {
    trainPenguins(tracking);
    const packaged = spawnSync(
      process.execPath,
      [
        bin,
        "modelify",
        "--project",
        join(root, "models", "penguins-onnx"),
        "--pipeline",
        "inference",
        "--input-name",
        "instances",
        "--input-type",
        "columns",
        "--row-wise",
        "--registered-model-name",
        "penguins-onnx",
        "--tracking-uri",
        tracking,
      ],
      { encoding: "utf8" },
    );
    if (packaged.status !== 0) throw new Error(`modelify failed: ${packaged.stderr}`);
    const one = await readFile(join(benchData, "req_1row.json"), "utf8");
    const tenK = await readFile(join(benchData, "req_10000rows.json"), "utf8");

    const rps: Record<Which, number[]> = { handwritten: [], onnx: [] };
    const p99: Record<Which, number[]> = { handwritten: [], onnx: [] };
    const tenKMs: Record<Which, number[]> = { handwritten: [], onnx: [] };
    let failures = 0;
    for (let r = 0; r < ROUNDS; r++) {
      for (const which of (r % 2 === 0 ? ["handwritten", "onnx"] : ["onnx", "handwritten"]) as Which[]) {
        const { port, child } = await serve(URIS[which], tracking);
        try {
          const load = await requestsPerSecond(port, one);
          rps[which].push(load.requestsPerSec);
          p99[which].push(load.p99Ms);
          failures += load.non2xx;
          tenKMs[which].push(await latency(port, tenK));
        } finally {
          await stop(child);
        }
      }
    }
    const out = await mkdtemp(join(tmpdir(), "pipeserve-bench-onnx-out-"));
    const batchFigures = {
      handwritten: batch(URIS.handwritten, tracking, join(out, "h.csv")),
      onnx: batch(URIS.onnx, tracking, join(out, "o.csv")),
    };
    await rm(out, { recursive: true, force: true });

    const bytes = await readFile(join(root, "models", "penguins-onnx", "model", "penguins_rf.onnx"));
    const sessionMs: number[] = [];
    let firstSessionMs = 0;
    for (let i = -2; i < 10; i++) {
      const t0 = performance.now();
      const model = await OnnxModel.fromBytes(bytes);
      if (i === -2) firstSessionMs = performance.now() - t0;
      if (i >= 0) sessionMs.push(performance.now() - t0);
      await model.close();
    }

    const summary = (which: Which) => ({
      oneRowRequestsPerSec: median(rps[which]),
      oneRowP99Ms: median(p99[which]),
      tenThousandRowsMs: median(tenKMs[which]),
      batch: batchFigures[which],
    });
    await report("onnx", {
      connections: CONNECTIONS,
      rounds: ROUNDS,
      secondsPerRound: SECONDS,
      handwritten: summary("handwritten"),
      onnx: summary("onnx"),
      ratios: {
        oneRowRequestsPerSec: round(median(rps.onnx) / median(rps.handwritten), 2),
        tenThousandRowsLatency: round(median(tenKMs.onnx) / median(tenKMs.handwritten), 2),
        batchRowsPerSec: round(batchFigures.onnx.rowsPerSec / batchFigures.handwritten.rowsPerSec, 2),
      },
      // NB: the first includes loading onnxruntime's native library into the process.
      sessionCreationMs: { first: round(firstSessionMs, 1), median: round(median(sessionMs), 1), min: round(Math.min(...sessionMs), 1) },
      failures,
    });
  } finally {
    await rm(tracking, { recursive: true, force: true });
  }
}
