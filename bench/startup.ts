/**
 * bench/startup (issue 15 §1): how long pipeserve takes to start, as a user meets it, beside
 * `node -e 0` (a bare Node start) in the same run, the cases alternating within each round:
 *
 * - `pipeserve --version` and `--help`, spawn to exit (targets: < 150 ms above bare node);
 * - `import("pipeserve")` (dist/index.js) in a fresh node, spawn to exit;
 * - `serve -m <penguins folder>`, spawn to the first 200 on POST /invocations (target < 600 ms);
 * - `predict` of a 1,000-row CSV (the first rows of shared/bench-data/input_100k.csv) with
 *   penguins, spawn to exit (target < 500 ms);
 * - `serve` of a model whose nodes work on danfojs DataFrames (test/fixtures/projects/danfo-env),
 *   reported apart: loading danfojs-node (TensorFlow.js) alone takes most of a second;
 * - serve and predict again with tsc's modules unbundled (built beside dist/ for the run), against
 *   the bundle `npm run build` makes of the bin (scripts/bundle-cli.mjs).
 *
 *   npm run bench -- startup            STARTUP_ROUNDS=9 for more rounds (default 7)
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { benchData, bin, median, report, root, round, timeToFirstPrediction } from "./harness.js";

const ROUNDS = Number(process.env["STARTUP_ROUNDS"] ?? 7);

/** Milliseconds from spawning `node ...args` to its exit (which must be 0). */
function timeToExit(args: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, args, { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
    child.once("close", (code) => (code === 0 ? resolve(performance.now() - started) : reject(new Error(`node ${args.join(" ")} failed: ${stderr}`))));
  });
}

/** Trains a project into `tracking` and returns its model folder (the path `serve -m` takes). */
function train(project: string, pipeline: string, tracking: string): string {
  const run = spawnSync(process.execPath, [bin, "run", "--project", project, "--pipeline", pipeline, "--no-typecheck", "--tracking-uri", tracking, "--json"], {
    encoding: "utf8",
  });
  if (run.status !== 0) throw new Error(`Training ${project} failed: ${run.stderr}`);
  const modelUri = (JSON.parse(run.stdout) as { modelUri: string }).modelUri;
  const inspect = spawnSync(process.execPath, [bin, "inspect", "-m", modelUri, "--json", "--tracking-uri", tracking], { encoding: "utf8" });
  if (inspect.status !== 0) throw new Error(`inspect failed: ${inspect.stderr}`);
  return (JSON.parse(inspect.stdout) as { dir: string }).dir;
}

/** tsc's modules of the package, unbundled, built into `outDir` (beside dist/, so that their relative lookups hold); its bin. */
function buildUnbundled(outDir: string): string {
  const tsc = spawnSync(process.execPath, [join(root, "node_modules", "typescript", "bin", "tsc"), "-p", "tsconfig.build.json", "--outDir", outDir], {
    cwd: root,
    encoding: "utf8",
  });
  if (tsc.status !== 0) throw new Error(`tsc failed: ${tsc.stdout}${tsc.stderr}`);
  return join(outDir, "cli", "bin.js");
}

export async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "pipeserve-bench-startup-"));
  const unbundledDir = join(root, "dist-unbundled-bench");
  try {
    const unbundled = buildUnbundled(unbundledDir);
    const tracking = join(dir, "mlruns");
    const penguins = train(join(root, "models", "penguins"), "__default__", tracking);
    const danfo = train(join(root, "test", "fixtures", "projects", "danfo-env"), "training", tracking);
    const csv = join(dir, "in-1000.csv");
    const lines = (await readFile(join(benchData, "input_100k.csv"), "utf8")).split("\n");
    await writeFile(csv, `${lines.slice(0, 1001).join("\n")}\n`);
    const penguinsBody = await readFile(join(benchData, "req_1row.json"), "utf8");
    const danfoBody = JSON.stringify({ dataframe_records: [{ x: 1 }] });
    const out = join(dir, "out.csv");

    const cases: Record<string, () => Promise<number>> = {
      "node -e 0 (baseline)": () => timeToExit(["-e", "0"]),
      "pipeserve --version": () => timeToExit([bin, "--version"]),
      "pipeserve --help": () => timeToExit([bin, "--help"]),
      'import("pipeserve")': () => timeToExit(["--input-type=module", "-e", `await import(${JSON.stringify(join(root, "dist", "index.js"))})`]),
      "serve penguins → first 200": () => timeToFirstPrediction(["-m", penguins], {}, penguinsBody),
      "predict penguins, 1,000-row CSV": () => timeToExit([bin, "predict", "-m", penguins, "-i", csv, "-o", out]),
      "serve danfojs model → first 200": () => timeToFirstPrediction(["-m", danfo], {}, danfoBody),
      "serve penguins → first 200, unbundled": () => timeToFirstPrediction(["-m", penguins], {}, penguinsBody, unbundled),
      "predict penguins, 1,000-row CSV, unbundled": () => timeToExit([unbundled, "predict", "-m", penguins, "-i", csv, "-o", out]),
    };
    const times: Record<string, number[]> = Object.fromEntries(Object.keys(cases).map((k) => [k, []]));
    // NB: the cases alternate within each round, so a slow moment of the shared machine hits them all alike.
    for (let r = 0; r < ROUNDS; r++) for (const [name, run] of Object.entries(cases)) times[name]!.push(await run());

    const node = median(times["node -e 0 (baseline)"]!);
    const results = Object.fromEntries(
      Object.entries(times).map(([name, ms]) => [
        name,
        { medianMs: round(median(ms)), minMs: round(Math.min(...ms)), aboveBareNodeMs: round(median(ms) - node), ratioToBareNode: round(median(ms) / node, 2) },
      ]),
    );
    const at = (name: string): number => median(times[name]!);
    await report("startup", {
      rounds: ROUNDS,
      results,
      bundleAgainstUnbundled: {
        serve: round(at("serve penguins → first 200, unbundled") / at("serve penguins → first 200"), 2),
        predict: round(at("predict penguins, 1,000-row CSV, unbundled") / at("predict penguins, 1,000-row CSV"), 2),
      },
      targets: {
        "--version above bare node < 150 ms": round(at("pipeserve --version") - node) < 150,
        "--help above bare node < 150 ms": round(at("pipeserve --help") - node) < 150,
        "serve penguins → first 200 < 600 ms": at("serve penguins → first 200") < 600,
        "predict 1,000-row CSV < 500 ms": at("predict penguins, 1,000-row CSV") < 500,
      },
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
    await rm(unbundledDir, { recursive: true, force: true });
  }
}
