// Several real processes logging into one store at once, as parallel training jobs do: one
// experiment per name, no lost or torn metric lines, no shared version numbers, no temp files left.
import { spawn, type ChildProcess } from "node:child_process";
import { access, readdir, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { expect, it } from "vitest";
import { FileStore, ModelRegistry } from "../../src/store/index.js";
import { MLFLOW_EXPERIMENT_ID, parseAsMlflow, readText, sleep, useTempDir, walk } from "./helpers.js";

const WORKERS = 4;
const POINTS = 50;
const PARAMS = 20;
const VERSIONS = 5;

const storeModule = pathToFileURL(fileURLToPath(new URL("../../src/store/index.ts", import.meta.url))).href;
const tsxLoader = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href;

const tmp = useTempDir("pipeserve-concurrency-");

// Each worker waits at a barrier (the "go" file) so that all of them open the store, create the
// experiment and register versions at the same moment.
const workerSource = `
import { access, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { FileStore, ModelRegistry } from ${JSON.stringify(storeModule)};

const [root, barrier, index] = process.argv.slice(2) as [string, string, string];
await writeFile(join(barrier, "ready-" + index), "");
for (;;) {
  try {
    await access(join(barrier, "go"));
    break;
  } catch {
    await new Promise((r) => setTimeout(r, 2));
  }
}
const store = await FileStore.open(root);
const exp = await store.getOrCreateExperiment("shared");
const run = await store.createRun({ experimentId: exp.experimentId, runName: "worker-" + index });
for (let step = 0; step < ${POINTS}; step++) await store.logMetric(run.runId, "loss", step / 7, { step });
for (let i = 0; i < ${PARAMS}; i++) await store.logParam(run.runId, "p" + i, index + "-" + i);
const registry = new ModelRegistry(root);
const versions: number[] = [];
for (let i = 0; i < ${VERSIONS}; i++) versions.push((await registry.createVersion("m", "runs:/" + run.runId + "/model", { runId: run.runId })).version);
await store.endRun(run.runId);
process.stdout.write(JSON.stringify({ experimentId: exp.experimentId, runId: run.runId, versions }));
`;

interface WorkerResult {
  experimentId: string;
  runId: string;
  versions: number[];
}

function runWorker(script: string, root: string, barrier: string, index: number): { child: ChildProcess; result: Promise<WorkerResult> } {
  const child = spawn(process.execPath, ["--import", tsxLoader, script, root, barrier, String(index)], { stdio: ["ignore", "pipe", "pipe"] });
  const result = new Promise<WorkerResult>((resolve, reject) => {
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.on("error", reject);
    child.on("close", (code) => {
      if (code !== 0) reject(new Error(`worker ${index} exited with ${code}:\n${stderr}`));
      else resolve(JSON.parse(stdout) as WorkerResult);
    });
  });
  return { child, result };
}

async function waitForFiles(dir: string, names: string[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const missing = [];
    for (const name of names)
      if (
        !(await access(join(dir, name)).then(
          () => true,
          () => false,
        ))
      )
        missing.push(name);
    if (missing.length === 0) return;
    if (Date.now() > deadline) throw new Error(`workers never became ready: ${missing.join(", ")}`);
    await sleep(10);
  }
}

it(`keeps ${WORKERS} processes logging into one store consistent`, async () => {
  const root = join(tmp(), "mlruns");
  const script = join(tmp(), "worker.mts");
  await writeFile(script, workerSource);

  const workers = Array.from({ length: WORKERS }, (_, i) => runWorker(script, root, tmp(), i));
  const all = Promise.all(workers.map((w) => w.result));
  let done: WorkerResult[];
  try {
    // A worker that dies before the barrier must fail the test, not leave it waiting.
    await Promise.race([
      waitForFiles(
        tmp(),
        Array.from({ length: WORKERS }, (_, i) => `ready-${i}`),
        20_000,
      ),
      all.then(() => undefined),
    ]);
    await writeFile(join(tmp(), "go"), "");
    done = await all;
  } finally {
    for (const { child } of workers) if (child.exitCode === null && child.signalCode === null) child.kill();
    await Promise.allSettled(workers.map((w) => w.result));
  }

  // One experiment named "shared", whichever process created it.
  const store = await FileStore.open(root);
  const shared = (await store.listExperiments()).filter((e) => e.name === "shared");
  expect(shared).toHaveLength(1);
  const experimentId = shared[0]?.experimentId ?? "";
  expect(new Set(done.map((d) => d.experimentId))).toEqual(new Set([experimentId]));
  const metas = await Promise.all(
    (await readdir(root)).filter((n) => /^\d+$/.test(n)).map(async (n) => parseAsMlflow(await readText(root, n, "meta.yaml"))["name"]),
  );
  expect(metas.filter((name) => name === "shared")).toHaveLength(1);

  // Four runs, each with 50 whole metric lines and 20 params.
  const runs = await store.searchRuns({ experimentIds: [experimentId] });
  expect(runs.map((r) => r.runId).sort()).toEqual(done.map((d) => d.runId).sort());
  for (const { runId } of done) {
    const text = await readText(root, experimentId, runId, "metrics", "loss");
    const lines = text.split("\n");
    expect(lines.pop()).toBe("");
    expect(lines).toHaveLength(POINTS);
    lines.forEach((line, step) => expect(line).toMatch(new RegExp(`^\\d{13} -?\\d+\\.\\d+(e-?\\d+)? ${step}$`)));
    const run = await store.getRun(runId);
    expect(run.info.status).toBe("FINISHED");
    expect(Object.keys(run.params)).toHaveLength(PARAMS);
    expect(run.metrics["loss"]).toMatchObject({ step: POINTS - 1, value: (POINTS - 1) / 7 });
  }

  // Versions 1..20, each claimed by exactly one process, each meta.yaml whole.
  const claimed = done.flatMap((d) => d.versions).sort((a, b) => a - b);
  expect(claimed).toEqual(Array.from({ length: WORKERS * VERSIONS }, (_, i) => i + 1));
  const registry = new ModelRegistry(root);
  const versions = await registry.listVersions("m");
  expect(versions.map((v) => v.version)).toEqual(claimed);
  for (const d of done) {
    for (const n of d.versions) {
      const meta = parseAsMlflow(await readText(root, "models", "m", `version-${n}`, "meta.yaml"));
      expect(meta).toMatchObject({ version: n, run_id: d.runId, source: `runs:/${d.runId}/model`, status: "READY", current_stage: "None" });
    }
  }
  expect(parseAsMlflow(await readText(root, "models", "m", "meta.yaml"))["name"]).toBe("m");
  expect((await registry.getLatestVersion("m")).version).toBe(WORKERS * VERSIONS);

  // Nothing left behind: no temp files, no locks, no folder MLflow would misread as an experiment.
  const everything = await walk(root);
  expect(everything.filter((p) => /\.tmp\/?$/.test(p))).toEqual([]);
  expect(everything.filter((p) => /lock/i.test(p))).toEqual([]);
  const folders = (await readdir(root, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name);
  expect(folders.filter((n) => n !== ".trash" && n !== "models" && !MLFLOW_EXPERIMENT_ID.test(n))).toEqual([]);
}, 30_000);
