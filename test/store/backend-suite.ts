/**
 * The one suite every tracking backend passes (issue 13: "the same suite of store tests runs
 * against all three backends"): experiments, runs with params, metrics and tags, MLflow 3
 * LoggedModels and their run links, artifacts written and read back through the store's
 * repository, and the registry (versions, aliases, tags). Each backend's test file calls
 * `describeBackend` with how to open a fresh, empty store of its kind; nothing here knows which.
 */
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { NotFoundError, type RegistryStore, StoreError, type TrackingStore, joinArtifactUri } from "../../src/store/index.js";

/** A fresh, empty store of one backend, and how to put it away. */
export interface OpenedBackend {
  tracking: TrackingStore;
  registry: RegistryStore;
  /** Closes both and removes what the backend made. */
  dispose(): Promise<void>;
}

async function rejectsWith(promise: Promise<unknown>, cls: abstract new (...args: never[]) => Error, message: string | RegExp): Promise<void> {
  let thrown: unknown;
  try {
    await promise;
  } catch (error) {
    thrown = error;
  }
  expect(thrown, "expected a rejection").toBeInstanceOf(cls);
  if (typeof message === "string") expect((thrown as Error).message).toContain(message);
  else expect((thrown as Error).message).toMatch(message);
}

/** Writes a small model-like folder: two files, one in a subfolder. */
async function fillFolder(dir: string, marker: string): Promise<void> {
  await mkdir(join(dir, "artifacts"), { recursive: true });
  await writeFile(join(dir, "MLmodel"), `flavors: {}\nmarker: ${marker}\n`);
  await writeFile(join(dir, "artifacts", "weights.json"), JSON.stringify({ marker, w: [1, 2, 3] }));
}

export function describeBackend(kind: string, open: () => Promise<OpenedBackend>): void {
  describe(`the ${kind} store`, () => {
    let opened: OpenedBackend;
    let store: TrackingStore;
    let registry: RegistryStore;
    beforeEach(async () => {
      opened = await open();
      store = opened.tracking;
      registry = opened.registry;
    });
    afterEach(async () => {
      await opened.dispose();
    });

    describe("experiments", () => {
      it("has Default, creates one by name once, finds it by name and by id", async () => {
        const names = (await store.listExperiments()).map((e) => e.name);
        expect(names).toContain("Default");
        const a = await store.getOrCreateExperiment("churn");
        const again = await store.getOrCreateExperiment("churn");
        expect(again.experimentId).toBe(a.experimentId);
        expect((await store.getExperiment("churn")).experimentId).toBe(a.experimentId);
        expect((await store.getExperiment(a.experimentId)).name).toBe("churn");
        expect((await store.getExperimentByName("churn"))?.experimentId).toBe(a.experimentId);
        expect(await store.getExperimentByName("nope")).toBeUndefined();
        expect(a.lifecycleStage).toBe("active");
        await rejectsWith(store.getExperiment("no-such-experiment"), NotFoundError, "no-such-experiment");
      });
    });

    describe("runs", () => {
      it("logs params, metrics (with history) and tags, ends, and reads them back", async () => {
        const exp = await store.getOrCreateExperiment("runs");
        const run = await store.createRun({ experimentId: exp.experimentId, runName: "r1", tags: { team: "fraud" } });
        expect(run.status).toBe("RUNNING");
        expect(run.runId).toMatch(/^[0-9a-f]{32}$/);
        await store.logParam(run.runId, "model.lr", 0.01);
        await store.logParams(run.runId, { depth: 3, "model.name": "gbm" });
        await store.logMetric(run.runId, "loss", 0.5, { step: 0, timestamp: 1000 });
        await store.logMetric(run.runId, "loss", 0.25, { step: 1, timestamp: 2000 });
        await store.setTag(run.runId, "stage", "dev");
        await store.setTags(run.runId, { a: "1", b: "2" });
        const ended = await store.endRun(run.runId, "FINISHED");
        expect(ended.status).toBe("FINISHED");
        expect(ended.endTime).toBeGreaterThanOrEqual(ended.startTime);

        const read = await store.getRun(run.runId);
        expect(read.info).toMatchObject({ runId: run.runId, runName: "r1", experimentId: exp.experimentId, status: "FINISHED" });
        expect(read.params).toEqual({ "model.lr": "0.01", depth: "3", "model.name": "gbm" });
        expect(read.metrics["loss"]).toEqual({ value: 0.25, step: 1, timestamp: 2000 });
        expect(read.tags).toMatchObject({ team: "fraud", stage: "dev", a: "1", b: "2", "mlflow.runName": "r1" });
        const history = await store.getMetricHistory(run.runId, "loss");
        expect(history.map((p) => [p.step, p.value])).toEqual([
          [0, 0.5],
          [1, 0.25],
        ]);
        expect((await store.getRunInfo(run.runId)).status).toBe("FINISHED");
      });

      // Found by an audit: NaN was refused, where MLflow logs it in every store (and REST sends "NaN").
      it("logs NaN and infinities as metrics, and reads them back", async () => {
        const run = await store.createRun();
        await store.logMetric(run.runId, "auc", Number.NaN, { step: 0, timestamp: 1000 });
        await store.logMetric(run.runId, "gain", Number.POSITIVE_INFINITY, { step: 0, timestamp: 1000 });
        const read = await store.getRun(run.runId);
        expect(read.metrics["auc"]?.value).toBeNaN();
        expect(read.metrics["gain"]?.value).toBeGreaterThan(1e300);
      });

      it("searches runs by experiment, newest first", async () => {
        const a = await store.getOrCreateExperiment("search-a");
        const b = await store.getOrCreateExperiment("search-b");
        const first = await store.createRun({ experimentId: a.experimentId });
        await new Promise((r) => setTimeout(r, 5));
        const second = await store.createRun({ experimentId: a.experimentId });
        const other = await store.createRun({ experimentId: b.experimentId });
        const inA = await store.searchRuns({ experimentIds: [a.experimentId] });
        expect(inA.map((r) => r.runId)).toEqual([second.runId, first.runId]);
        const all = (await store.searchRuns()).map((r) => r.runId);
        expect(all).toEqual(expect.arrayContaining([first.runId, second.runId, other.runId]));
      });

      it("deletes and restores a run: searches leave a deleted run out unless asked, its data stays", async () => {
        const exp = await store.getOrCreateExperiment("lifecycle");
        const kept = await store.createRun({ experimentId: exp.experimentId });
        const gone = await store.createRun({ experimentId: exp.experimentId });
        await store.logParam(gone.runId, "alpha", 0.5);
        const deleted = await store.deleteRun(gone.runId);
        expect(deleted.lifecycleStage).toBe("deleted");
        expect((await store.getRunInfo(gone.runId)).lifecycleStage).toBe("deleted");
        expect((await store.getRun(gone.runId)).params).toEqual({ alpha: "0.5" });
        const ids = (view?: "active_only" | "deleted_only" | "all") =>
          store.searchRuns({ experimentIds: [exp.experimentId], ...(view ? { view } : {}) }).then((rs) => rs.map((r) => r.runId).sort());
        expect(await ids()).toEqual([kept.runId]);
        expect(await ids("active_only")).toEqual([kept.runId]);
        expect(await ids("deleted_only")).toEqual([gone.runId]);
        expect(await ids("all")).toEqual([kept.runId, gone.runId].sort());
        expect((await store.searchRuns()).map((r) => r.runId)).not.toContain(gone.runId);

        await rejectsWith(store.deleteRun(gone.runId), StoreError, /already deleted.*runs restore/);
        await rejectsWith(store.restoreRun(kept.runId), StoreError, "not deleted");
        expect((await store.restoreRun(gone.runId)).lifecycleStage).toBe("active");
        expect(await ids()).toEqual([kept.runId, gone.runId].sort());
        await rejectsWith(store.deleteRun("0123456789abcdef0123456789abcdef"), NotFoundError, "0123456789abcdef0123456789abcdef");
      });

      it("refuses an unknown run with NotFoundError", async () => {
        await rejectsWith(store.getRun("0123456789abcdef0123456789abcdef"), NotFoundError, "0123456789abcdef0123456789abcdef");
        await rejectsWith(store.logParam("0123456789abcdef0123456789abcdef", "a", 1), NotFoundError, "0123456789abcdef0123456789abcdef");
      });
    });

    describe("LoggedModels", () => {
      it("creates PENDING, links to the run, finalizes READY, keeps tags and metrics", async () => {
        const exp = await store.getOrCreateExperiment("models");
        const run = await store.createRun({ experimentId: exp.experimentId });
        await store.logParam(run.runId, "lr", 0.1);
        const model = await store.createLoggedModel(exp.experimentId, { name: "model", sourceRunId: run.runId, params: { lr: "0.1" }, tags: { t: "v" } });
        expect(model.modelId).toMatch(/^m-[0-9a-f]{32}$/);
        expect(model.status).toBe("PENDING");
        expect(model.name).toBe("model");
        await store.logRunOutput(run.runId, { modelId: model.modelId, step: 0 });
        await store.logLoggedModelMetric(model.modelId, "acc", { value: 0.9, timestamp: 1234, step: 0, runId: run.runId });
        await store.setLoggedModelTag(model.modelId, "mlflow.modelVersions", "[]");
        const ready = await store.finalizeLoggedModel(model.modelId, "READY");
        expect(ready.status).toBe("READY");

        const read = await store.getLoggedModel(model.modelId);
        expect(read).toMatchObject({ modelId: model.modelId, experimentId: exp.experimentId, sourceRunId: run.runId, status: "READY" });
        expect(read.params).toEqual({ lr: "0.1" });
        expect(read.tags).toMatchObject({ t: "v", "mlflow.modelVersions": "[]" });
        expect(read.metrics.map((m) => [m.key, m.value, m.step])).toEqual([["acc", 0.9, 0]]);
        expect((await store.getRunOutputs(run.runId)).map((o) => o.modelId)).toEqual([model.modelId]);
        expect((await store.findRunLoggedModel(run.runId, "model"))?.modelId).toBe(model.modelId);
        expect(await store.findRunLoggedModel(run.runId, "other")).toBeUndefined();
        expect((await store.searchLoggedModels({ experimentIds: [exp.experimentId] })).map((m) => m.modelId)).toEqual([model.modelId]);
      });

      it("a FAILED one records why; an unknown id is NotFoundError", async () => {
        const exp = await store.getOrCreateExperiment("failing");
        const model = await store.createLoggedModel(exp.experimentId, { name: "model" });
        const failed = await store.finalizeLoggedModel(model.modelId, "FAILED", "disk full");
        expect(failed.status).toBe("FAILED");
        await rejectsWith(store.getLoggedModel("m-0123456789abcdef0123456789abcdef"), NotFoundError, "m-0123456789abcdef0123456789abcdef");
      });
    });

    describe("artifacts", () => {
      it("a LoggedModel's folder written through the repository reads back byte for byte", async () => {
        const exp = await store.getOrCreateExperiment("artifacts");
        const model = await store.createLoggedModel(exp.experimentId, { name: "model" });
        expect(await store.artifacts.localFolder(model.artifactLocation)).toBeUndefined();
        const answer = await store.artifacts.writeFolder(model.artifactLocation, async (dir) => {
          await fillFolder(dir, model.modelId);
          return "written";
        });
        expect(answer).toBe("written");
        const dir = await store.artifacts.localFolder(model.artifactLocation);
        expect(dir).toBeDefined();
        expect(await readFile(join(dir as string, "MLmodel"), "utf8")).toContain(`marker: ${model.modelId}`);
        expect(JSON.parse(await readFile(join(dir as string, "artifacts", "weights.json"), "utf8"))).toEqual({ marker: model.modelId, w: [1, 2, 3] });
      });

      it("a run's artifacts under a sub-path, and nothing where nothing was written", async () => {
        const run = await store.createRun();
        const target = joinArtifactUri(run.artifactUri, "model");
        await store.artifacts.writeFolder(target, (dir) => fillFolder(dir, run.runId));
        const dir = await store.artifacts.localFolder(target);
        expect(await readFile(join(dir as string, "MLmodel"), "utf8")).toContain(run.runId);
        expect(await store.artifacts.localFolder(joinArtifactUri(run.artifactUri, "elsewhere"))).toBeUndefined();
      });
    });

    describe("the registry", () => {
      it("numbers versions from 1, tags them, points aliases, finds the latest", async () => {
        const run = await store.createRun();
        const v1 = await registry.createVersion("fraud", `runs:/${run.runId}/model`, {
          runId: run.runId,
          tags: { "pipeserve.pipeline_sha256": "ab".repeat(32) },
        });
        const v2 = await registry.createVersion("fraud", "models:/m-0123456789abcdef0123456789abcdef", {
          runId: run.runId,
          modelId: "m-0123456789abcdef0123456789abcdef",
        });
        expect([v1.version, v2.version]).toEqual([1, 2]);
        expect((await registry.getVersion("fraud", 1)).tags).toMatchObject({ "pipeserve.pipeline_sha256": "ab".repeat(32) });
        expect((await registry.getVersion("fraud", "2")).source).toBe("models:/m-0123456789abcdef0123456789abcdef");
        expect((await registry.getLatestVersion("fraud")).version).toBe(2);

        await registry.setAlias("fraud", "champion", 1);
        expect((await registry.getVersionByAlias("fraud", "champion")).version).toBe(1);
        expect((await registry.getModel("fraud")).aliases).toEqual({ champion: 1 });
        await registry.setAlias("fraud", "champion", "2");
        expect((await registry.getVersionByAlias("fraud", "champion")).version).toBe(2);
        expect((await registry.getVersion("fraud", 2)).aliases).toEqual(["champion"]);
        await registry.deleteAlias("fraud", "champion");
        await rejectsWith(registry.getVersionByAlias("fraud", "champion"), NotFoundError, "champion");

        expect((await registry.listVersions("fraud")).map((v) => v.version)).toEqual([1, 2]);
        const models = await registry.listModels();
        expect(models.map((m) => m.name)).toEqual(["fraud"]);
        expect(models[0]?.latestVersion).toBe(2);
      });

      it("deletes a version: reads no longer find it, its aliases go, its number is never given again", async () => {
        const run = await store.createRun();
        for (let i = 0; i < 3; i++) await registry.createVersion("churn", `runs:/${run.runId}/model`, { runId: run.runId });
        await registry.setAlias("churn", "champion", 3);
        await registry.setAlias("churn", "shadow", 2);
        const removed = await registry.deleteVersion("churn", 3);
        expect(removed.version).toBe(3);
        await rejectsWith(registry.getVersion("churn", 3), NotFoundError, /no version 3|version=3\)/);
        await rejectsWith(registry.getVersionByAlias("churn", "champion"), NotFoundError, "champion");
        expect((await registry.getModel("churn")).aliases).toEqual({ shadow: 2 });
        expect((await registry.listVersions("churn")).map((v) => v.version)).toEqual([1, 2]);
        expect((await registry.getLatestVersion("churn")).version).toBe(2);
        expect((await registry.listModels()).find((m) => m.name === "churn")?.latestVersion).toBe(2);
        await rejectsWith(registry.deleteVersion("churn", 3), NotFoundError, "3");
        expect((await registry.createVersion("churn", `runs:/${run.runId}/model`, { runId: run.runId })).version).toBe(4);
        await registry.deleteVersion("churn", 1);
        expect((await registry.listVersions("churn")).map((v) => v.version)).toEqual([2, 4]);
      });

      it("refuses unknown names and versions with NotFoundError", async () => {
        await rejectsWith(registry.getModel("missing"), NotFoundError, "missing");
        await registry.ensureModel("present");
        await rejectsWith(registry.getVersion("present", 7), NotFoundError, "7");
        await rejectsWith(registry.setAlias("present", "prod", 1), NotFoundError, "1");
      });
    });
  });
}
