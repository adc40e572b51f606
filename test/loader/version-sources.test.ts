// A registered version loads only what its run and its LoggedModel allow, whatever its source says,
// over the folder store and a SQLite database alike. Found by an audit:
// - a version registered from a run's files (a folder or file:// source, as MLflow's register_model
//   records one) loaded after its run was deleted, though `runs delete` says it will not;
// - a LoggedModel whose packaging FAILED was refused as runs:/ but loaded as models:/m-<id> and as
//   a registered version;
// - a LoggedModel that MLflow deleted (SQLite lifecycle_stage) still loaded;
// - models:/NAME/Latest was refused, where MLflow takes "latest" in any case.
import Database from "better-sqlite3";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { ModelLoadError, loadModel, runProject } from "../../src/index.js";
import { NotFoundError, openRegistryStore, openTrackingStore } from "../../src/store/index.js";
import { copyProject, tempDir } from "../cli/helpers.js";

describe.each([["file"], ["sqlite"]])("over the %s store", (kind) => {
  let tracking: string;
  let runId: string;
  let modelId: string;
  let modelDir: string;

  beforeAll(async () => {
    const dir = await tempDir("pipeserve-version-sources-");
    tracking = kind === "file" ? join(dir, "mlruns") : `sqlite:///${join(dir, "mlflow.db")}`;
    const result = await runProject({ projectDir: await copyProject("linear"), pipelineName: "training", trackingUri: tracking, typecheck: false });
    runId = result.runId;
    modelId = result.modelId as string;
    const store = await openTrackingStore(tracking);
    try {
      const location = (await store.getLoggedModel(modelId)).artifactLocation;
      modelDir = location.startsWith("file:") ? new URL(location).pathname : location;
    } finally {
      await store.close();
    }
  }, 60_000);

  /** Registers `source` as a new version of `name` (recording the run), returning its number. */
  async function register(name: string, source: string): Promise<number> {
    const registry = await openRegistryStore(tracking);
    try {
      return (await registry.createVersion(name, source, { runId })).version;
    } finally {
      await registry.close();
    }
  }

  async function withStore<T>(fn: (store: Awaited<ReturnType<typeof openTrackingStore>>) => Promise<T>): Promise<T> {
    const store = await openTrackingStore(tracking);
    try {
      return await fn(store);
    } finally {
      await store.close();
    }
  }

  const loads = async (uri: string, options: { allowDeleted?: boolean } = {}): Promise<void> => {
    const model = await loadModel(uri, { trackingUri: tracking, ...options });
    await model.close();
  };

  it("models:/NAME/latest in any case, as MLflow reads it", async () => {
    for (const latest of ["latest", "Latest", "LATEST"]) await loads(`models:/linear-model/${latest}`);
  });

  it("a version registered from the run's folder (a path and a file:// URI) is refused once the run is deleted, unless --allow-deleted", async () => {
    const byPath = await register("by-path", modelDir);
    const byUrl = await register("by-url", pathToFileURL(modelDir).href);
    await loads(`models:/by-path/${byPath}`);
    await withStore((store) => store.deleteRun(runId));
    try {
      for (const uri of [`models:/by-path/${byPath}`, `models:/by-url/${byUrl}`, "models:/by-url/latest"]) {
        const error = await loadModel(uri, { trackingUri: tracking }).catch((e: unknown) => e);
        expect(error, uri).toBeInstanceOf(ModelLoadError);
        expect((error as ModelLoadError).code).toBe("RUN_DELETED");
        expect((error as Error).message).toContain(`belongs to run ${runId}, which was deleted. Restore it with \`pipeserve runs restore ${runId}\``);
        await loads(uri, { allowDeleted: true });
      }
    } finally {
      await withStore((store) => store.restoreRun(runId));
    }
    await loads(`models:/by-url/${byUrl}`);
  });

  it("a LoggedModel whose packaging failed is refused as models:/m-<id> and as a registered version, as runs:/ refuses it", async () => {
    const other = await runProject({ projectDir: await copyProject("linear"), pipelineName: "training", trackingUri: tracking, typecheck: false });
    const failed = other.modelId as string;
    await withStore((store) => store.finalizeLoggedModel(failed, "FAILED", "the disk filled up"));
    const version = await register("failed-model", `models:/${failed}`);
    for (const uri of [`runs:/${other.runId}/model`, `models:/${failed}`, `models:/failed-model/${version}`]) {
      const error = await loadModel(uri, { trackingUri: tracking }).catch((e: unknown) => e);
      expect(error, uri).toBeInstanceOf(ModelLoadError);
      expect((error as Error).message).toContain(`began packaging the model "model" (${failed}), and that failed: the disk filled up. Train it again`);
    }
  });

  it.runIf(kind === "sqlite")("a LoggedModel MLflow deleted (lifecycle_stage) is not found", async () => {
    const other = await runProject({ projectDir: await copyProject("linear"), pipelineName: "training", trackingUri: tracking, typecheck: false });
    const db = new Database(tracking.slice("sqlite:///".length));
    try {
      db.prepare("UPDATE logged_models SET lifecycle_stage = 'deleted' WHERE model_id = ?").run(other.modelId);
    } finally {
      db.close();
    }
    const error = await loadModel(`models:/${other.modelId}`, { trackingUri: tracking }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NotFoundError);
    expect((error as Error).message).toContain(`LoggedModel "${other.modelId}" was deleted from the database`);
  });
});
