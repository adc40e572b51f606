// Real processes writing one new sqlite:/// database at once, as parallel training jobs do: all
// of them create the database at the same moment (one makes the schema, the others find it made),
// one experiment per name, every metric point kept, and version numbers claimed inside BEGIN
// IMMEDIATE transactions, so no two processes ever register the same number.
import { spawn, type ChildProcess } from "node:child_process";
import { access, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import Database from "better-sqlite3";
import { expect, it } from "vitest";
import { openRegistryStore, openTrackingStore } from "../../src/store/index.js";
import { REFERENCE_SQLITE } from "../fixtures/mlflow-reference.js";
import { sleep, useTempDir } from "./helpers.js";

const WORKERS = 3;
const POINTS = 20;
const VERSIONS = 8;

const storeModule = pathToFileURL(fileURLToPath(new URL("../../src/store/index.ts", import.meta.url))).href;
const tsxLoader = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href;

const tmp = useTempDir("pipeserve-sql-concurrency-");

// Each worker waits at a barrier (the "go" file), then opens the database that does not exist yet.
const workerSource = `
import { access, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { openRegistryStore, openTrackingStore } from ${JSON.stringify(storeModule)};

const [uri, barrier, index] = process.argv.slice(2) as [string, string, string];
await writeFile(join(barrier, "ready-" + index), "");
for (;;) {
  try {
    await access(join(barrier, "go"));
    break;
  } catch {
    await new Promise((r) => setTimeout(r, 2));
  }
}
const store = await openTrackingStore(uri);
const registry = await openRegistryStore(uri);
const exp = await store.getOrCreateExperiment("shared");
const run = await store.createRun({ experimentId: exp.experimentId, runName: "worker-" + index });
const versions: number[] = [];
for (let i = 0; i < ${VERSIONS}; i++) {
  await store.logMetric(run.runId, "loss", i / 7, { step: i });
  versions.push((await registry.createVersion("m", "runs:/" + run.runId + "/model", { runId: run.runId, tags: { worker: index } })).version);
}
for (let step = ${VERSIONS}; step < ${POINTS}; step++) await store.logMetric(run.runId, "loss", step / 7, { step });
await store.endRun(run.runId);
await store.close();
await registry.close();
process.stdout.write(JSON.stringify({ experimentId: exp.experimentId, runId: run.runId, versions }));
`;

interface WorkerResult {
  experimentId: string;
  runId: string;
  versions: number[];
}

function runWorker(script: string, uri: string, barrier: string, index: number): { child: ChildProcess; result: Promise<WorkerResult> } {
  const child = spawn(process.execPath, ["--import", tsxLoader, script, uri, barrier, String(index)], { stdio: ["ignore", "pipe", "pipe"] });
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
    const ready = await Promise.all(
      names.map((n) =>
        access(join(dir, n)).then(
          () => true,
          () => false,
        ),
      ),
    );
    if (ready.every(Boolean)) return;
    if (Date.now() > deadline) throw new Error("workers never became ready");
    await sleep(10);
  }
}

it(`${WORKERS} processes create one database and register versions at once: no duplicate, no gap`, async () => {
  const path = join(tmp(), "mlflow.db");
  const uri = `sqlite:///${path}`;
  const script = join(tmp(), "worker.mts");
  await writeFile(script, workerSource);

  const workers = Array.from({ length: WORKERS }, (_, i) => runWorker(script, uri, tmp(), i));
  const all = Promise.all(workers.map((w) => w.result));
  let done: WorkerResult[];
  try {
    // A worker that dies before the barrier must fail the test, not leave it waiting.
    await Promise.race([
      waitForFiles(
        tmp(),
        Array.from({ length: WORKERS }, (_, i) => `ready-${i}`),
        30_000,
      ),
      all.then(() => undefined),
    ]);
    await writeFile(join(tmp(), "go"), "");
    done = await all;
  } finally {
    for (const { child } of workers) if (child.exitCode === null && child.signalCode === null) child.kill();
    await Promise.allSettled(workers.map((w) => w.result));
  }

  // Versions 1..24, each claimed by exactly one process, in the table as in the answers.
  const claimed = done.flatMap((d) => d.versions).sort((a, b) => a - b);
  expect(claimed).toEqual(Array.from({ length: WORKERS * VERSIONS }, (_, i) => i + 1));
  const registry = await openRegistryStore(uri, undefined, { create: false });
  const store = await openTrackingStore(uri, { create: false });
  try {
    const versions = await registry.listVersions("m");
    expect(versions.map((v) => v.version)).toEqual(claimed);
    for (const [i, d] of done.entries()) for (const n of d.versions) expect(versions[n - 1]).toMatchObject({ runId: d.runId, tags: { worker: String(i) } });

    // One "shared" experiment, whichever process created it; every point of every run.
    expect((await store.listExperiments()).map((e) => e.name)).toEqual(["Default", "shared"]);
    expect(new Set(done.map((d) => d.experimentId))).toEqual(new Set(["1"]));
    for (const { runId } of done) {
      expect((await store.getMetricHistory(runId, "loss")).map((p) => p.step)).toEqual(Array.from({ length: POINTS }, (_, i) => i));
      expect((await store.getRun(runId)).info.status).toBe("FINISHED");
    }
  } finally {
    await store.close();
    await registry.close();
  }

  // The schema was made once, whole: as MLflow's, one alembic row, one Default experiment.
  const db = new Database(path, { readonly: true });
  const ref = new Database(join(REFERENCE_SQLITE, "mlflow.db"), { readonly: true });
  try {
    const master = (d: Database.Database): unknown[] => d.prepare("SELECT type, name, sql FROM sqlite_master ORDER BY type, name").all();
    expect(master(db)).toEqual(master(ref));
    expect(db.prepare("SELECT COUNT(*) AS n FROM alembic_version").get()).toEqual({ n: 1 });
    expect(db.prepare("SELECT COUNT(*) AS n FROM experiments WHERE name = 'Default'").get()).toEqual({ n: 1 });
    expect(db.pragma("integrity_check")).toEqual([{ integrity_check: "ok" }]);
  } finally {
    db.close();
    ref.close();
  }
}, 90_000);
