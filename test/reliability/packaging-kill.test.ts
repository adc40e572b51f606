// A `pipeserve run` killed with SIGKILL in the middle of packaging leaves no visible half model:
// the model is the run's MLflow 3 LoggedModel, assembled under
// `<experiment>/models/<model_id>/.artifacts.<pid>-<machine>-<started>.<hex>.partial` and renamed
// into that LoggedModel's `artifacts/` only when complete, so after the kill `artifacts/` is either
// absent (the LoggedModel stays PENDING) or complete; the next `run` (or `modelify`, `import`)
// removes the folder its killed writer left, there or in runs' artifacts, and leaves alone those
// whose writer still runs. The `slow-package` fixture writes a large artifact, so packaging takes long enough to
// be caught while the .partial folder exists. The killed run is the built bin in a real process;
// the checks after it run in-process.
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { existsSync } from "node:fs";
import { mkdir, readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { FileStore, ModelLoadError, ModelRegistry, NotFoundError, loadModel } from "../../src/index.js";
import { writerTag } from "../../src/util/index.js";
import { rejects } from "../packager/helpers.js";
import { copyProject, fails, ok, readJson, sha256Of, spawnBin, tempDir, useBuiltBin } from "../cli/helpers.js";

useBuiltBin();

const PARTIAL = /^\.artifacts\.\d+-[0-9a-f]{6}-[0-9a-z]+\.[0-9a-f]{12}\.partial$/;

/** The first `.partial` folder in any LoggedModel's folder of the Default experiment, if one exists now. */
async function findPartial(tracking: string): Promise<{ modelId: string; partial: string } | undefined> {
  const models = join(tracking, "0", "models");
  if (!existsSync(models)) return undefined;
  for (const modelId of await readdir(models)) {
    const partial = (await readdir(join(models, modelId)).catch(() => [])).find((n) => PARTIAL.test(n));
    if (partial) return { modelId, partial };
  }
  return undefined;
}

let project: string;
beforeAll(async () => {
  project = await copyProject("slow-package");
});

describe("SIGKILL while packaging", () => {
  it("leaves no visible half model, registers nothing, and the store stays usable", async () => {
    const tracking = await tempDir("pipeserve-tracking-");
    const child = spawnBin(["run", "--project", project, "--pipeline", "training", "--tracking-uri", tracking, "--params", "blob_mb=150"]);
    let stderr = "";
    child.stderr?.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.on("exit", (code, signal) => resolve({ code, signal })),
    );
    let done = false;
    void exited.then(() => (done = true));

    let caught: { modelId: string; partial: string } | undefined;
    const deadline = Date.now() + 60_000;
    while (!done && Date.now() < deadline) {
      caught = await findPartial(tracking);
      if (caught) {
        child.kill("SIGKILL");
        break;
      }
      await new Promise((r) => setTimeout(r, 3));
    }
    if (!caught) child.kill("SIGKILL");
    const { signal } = await exited;
    expect(caught, `packaging finished before a .partial folder was seen (stderr: ${stderr})`).toBeDefined();
    expect(signal).toBe("SIGKILL");
    const { modelId, partial } = caught as { modelId: string; partial: string };
    expect(partial.startsWith(`.artifacts.${child.pid}-`), `the partial names its writer: ${partial}`).toBe(true);

    const store = await FileStore.open(tracking);
    const runId = (await store.getLoggedModel(modelId)).sourceRunId as string;
    const loggedDir = join(tracking, "0", "models", modelId);
    const modelDir = join(loggedDir, "artifacts");
    expect(await readdir(await store.artifactDir(runId)), "the run's own artifacts stay empty").toEqual([]);
    if (existsSync(modelDir)) {
      // The rename won the race: then the model must be whole.
      const pipelineJson = await readJson(join(modelDir, "pipeline.json"));
      expect(existsSync(join(modelDir, "MLmodel"))).toBe(true);
      for (const a of Object.values<{ path: string; sha256: string }>(pipelineJson.artifacts)) expect(await sha256Of(join(modelDir, a.path))).toBe(a.sha256);
    } else {
      expect(
        (await readdir(loggedDir)).filter((n) => n.startsWith(".")).every((n) => PARTIAL.test(n)),
        "only temp folders beside the LoggedModel's meta.yaml",
      ).toBe(true);
      // Killed before its files were whole: the LoggedModel never became READY.
      expect((await store.getLoggedModel(modelId)).status).toBe("PENDING");
      await rejects(
        loadModel(`runs:/${runId}/model`, { trackingUri: tracking }),
        ModelLoadError,
        `of run ${runId} is not whole yet: its packaging has not finished, or was stopped.`,
      );
      await rejects(new ModelRegistry(tracking).getModel("slow-model"), NotFoundError, 'Registered model "slow-model" does not exist');
      await fails(["inspect", "-m", `runs:/${runId}/model`, "--tracking-uri", tracking], 1, [
        "is not whole yet: its packaging has not finished, or was stopped.",
      ]);
    }
    // The process died: the run was never marked FINISHED.
    expect((await store.getRunInfo(runId)).status).toBe("RUNNING");

    // The store is still usable: the next run packages and registers normally.
    const next = JSON.parse(await ok(["run", "--project", project, "--pipeline", "training", "--tracking-uri", tracking, "--json"]));
    expect(next.modelUri).toBe(`runs:/${next.runId}/model`);
    // …and removes the half model folder the killed run left: its writer is gone.
    expect(await findPartial(tracking)).toBeUndefined();
    expect(existsSync(join(loggedDir, partial))).toBe(false);
    const model = await loadModel("models:/slow-model/latest", { trackingUri: tracking });
    try {
      expect(model.metadata.runId).toBe(next.runId);
      const out = (await model.predict({ x: [1.5], y: [0] })) as { columns: unknown[][] };
      expect(out.columns[1]).toEqual([1024 * 1024]);
    } finally {
      await model.close();
    }
    // …and ends the killed run KILLED (its writer is gone), not RUNNING for ever.
    const runs = JSON.parse(await ok(["runs", "list", "--json", "--tracking-uri", tracking]));
    expect(runs.map((r: { status: string }) => r.status).sort()).toEqual(["FINISHED", "KILLED"]);
  }, 90_000);
});

/** A node process that idles until killed: a writer that still runs. */
async function idleProcess(): Promise<ChildProcess> {
  const child = spawn(process.execPath, ["-e", "setInterval(() => {}, 1000)"], { stdio: "ignore" });
  await once(child, "spawn");
  return child;
}

describe("half model folders left in runs' artifacts and LoggedModels' folders", () => {
  it.each([
    ["run", (project: string, tracking: string) => ["run", "--project", project, "--pipeline", "training", "--tracking-uri", tracking]],
    ["import", (_project: string, tracking: string, archive: string) => ["import", archive, "--tracking-uri", tracking]],
  ] as const)(
    "%s removes those whose writer is gone and leaves those whose writer still runs",
    async (_command, args) => {
      const project = await copyProject("scaler");
      const tracking = await tempDir("pipeserve-tracking-");
      const first = JSON.parse(await ok(["run", "--project", project, "--pipeline", "training", "--tracking-uri", tracking, "--json"]));
      const archive = join(await tempDir("pipeserve-archive-"), "model.tar.gz");
      await ok(["export", "-m", first.modelUri, "-o", archive, "--tracking-uri", tracking]);
      const artifacts = await (await FileStore.open(tracking)).artifactDir(first.runId);
      const loggedDir = join(tracking, "0", "models", first.modelId);
      const gone = await idleProcess();
      const goneTag = writerTag(gone.pid);
      gone.kill("SIGKILL");
      await once(gone, "exit");
      const writer = await idleProcess();
      try {
        const stale = `.model.${goneTag}.0123456789ab.partial`;
        const live = `.model.${writerTag(writer.pid)}.0123456789ab.partial`;
        const nested = join("nested", `.deep.${goneTag}.0123456789ab.partial`);
        // Older stores' models sat in runs' artifacts (and `import` still writes there) …
        for (const name of [stale, live, nested]) {
          await mkdir(join(artifacts, name, "artifacts"), { recursive: true });
          await writeFile(join(artifacts, name, "artifacts", "model.json"), "{}");
        }
        // … and packaging assembles a LoggedModel's files beside its meta.yaml.
        const staleLogged = `.artifacts.${goneTag}.0123456789ab.partial`;
        const liveLogged = `.artifacts.${writerTag(writer.pid)}.0123456789ab.partial`;
        for (const name of [staleLogged, liveLogged]) await mkdir(join(loggedDir, name, "artifacts"), { recursive: true });
        await ok(args(project, tracking, archive));
        expect((await readdir(artifacts)).sort()).toEqual([live, "nested"]);
        expect(await readdir(join(artifacts, "nested"))).toEqual([]);
        expect((await readdir(loggedDir)).sort()).toEqual([liveLogged, "artifacts", "meta.yaml", "metrics", "params", "tags"]);
      } finally {
        writer.kill("SIGKILL");
      }
    },
    60_000,
  );
});
