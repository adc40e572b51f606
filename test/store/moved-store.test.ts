/**
 * A file store that moved (copied to another machine, restored elsewhere, mounted at another path
 * in a container, as the Dockerfile's `docker run -v "$PWD/mlruns:/app/mlruns"` does): its
 * meta.yaml files still hold the absolute `file://` paths of the old place. Every way of naming
 * the model — runs:/, models:/<model_id>, models:/NAME/VERSION, models:/NAME@alias — loads the
 * copy inside the moved store, and the CLI reads it there too. Real files, a real training run.
 */
import { cp, readFile, rename } from "node:fs/promises";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { FileStore, ModelRegistry, loadModel, runProject } from "../../src/index.js";
import { tempDir } from "../batch/helpers.js";
import { REPO_ROOT, runMain } from "../fixtures/cli.js";

const SCALER = join(REPO_ROOT, "test", "fixtures", "projects", "scaler-columns");

let moved: string;
let runId: string;
let modelId: string;

beforeAll(async () => {
  const first = join(await tempDir("pipeserve-first-place-"), "mlruns");
  const trained = await runProject({ projectDir: SCALER, pipelineName: "training", trackingUri: first, typecheck: false });
  runId = trained.runId;
  modelId = trained.modelId as string;
  await new ModelRegistry(first).setAlias("scaler-model", "champion", 1);
  // The store moves; nothing is left at the old place.
  moved = join(await tempDir("pipeserve-second-place-"), "mlruns");
  await cp(first, moved, { recursive: true });
  await rename(first, `${first}-gone`);
}, 120_000);

describe("a file store that moved", () => {
  it("still records the old place (as MLflow writes it)", async () => {
    const meta = await readFile(join(moved, "models", "scaler-model", "version-1", "meta.yaml"), "utf8");
    expect(meta).toContain("pipeserve-first-place-");
    expect(meta).not.toContain("pipeserve-second-place-");
  });

  it.each(["runs:/RUN/model", "models:/MODEL", "models:/scaler-model/1", "models:/scaler-model@champion", "models:/scaler-model/latest"])(
    "%s loads the model inside the moved store",
    async (template) => {
      const uri = template.replace("RUN", runId).replace("MODEL", modelId);
      const model = await loadModel(uri, { trackingUri: moved });
      try {
        expect(model.metadata.modelId).toBe(modelId);
        const output = await model.predict({ names: ["x"], columns: [[4.449]], numRows: 1 });
        expect(output).toMatchObject({ names: ["label", "score"], columns: [[1], [expect.any(Number)]], numRows: 1 });
      } finally {
        await model.close();
      }
    },
  );

  it("its runs and LoggedModels name the moved folders", async () => {
    const store = await FileStore.open(moved);
    expect((await store.getRunInfo(runId)).artifactUri).toContain("pipeserve-second-place-");
    expect((await store.getLoggedModel(modelId)).artifactLocation).toContain("pipeserve-second-place-");
  });

  it("a change to a run or a LoggedModel there keeps the recorded place: the store still reads right where it came from", async () => {
    const store = await FileStore.open(moved);
    await store.deleteRun(runId);
    await store.restoreRun(runId);
    const other = await store.createRun({ experimentId: "0" });
    await store.endRun(other.runId, "FINISHED");
    const runMeta = await readFile(join(moved, "0", runId, "meta.yaml"), "utf8");
    expect(runMeta).toContain("pipeserve-first-place-");
    expect(runMeta).not.toContain("pipeserve-second-place-");
    // A new run records its own place, the moved store's.
    expect(await readFile(join(moved, "0", other.runId, "meta.yaml"), "utf8")).toContain("pipeserve-second-place-");
    await store.finalizeLoggedModel(modelId, "READY");
    const modelMeta = await readFile(join(moved, "0", "models", modelId, "meta.yaml"), "utf8");
    expect(modelMeta).toContain("pipeserve-first-place-");
    expect(modelMeta).not.toContain("pipeserve-second-place-");
    expect((await store.getRunInfo(runId)).artifactUri).toContain("pipeserve-second-place-");
  });

  it("pipeserve inspect reads the model there", async () => {
    const r = await runMain(["inspect", "-m", "models:/scaler-model/1", "--tracking-uri", moved]);
    expect(r.code, r.stderr.toString()).toBe(0);
    expect(r.stdout.toString()).toContain(modelId);
  });
});

describe("a SQLite store that moved with its mlartifacts/", () => {
  it("loads its registered model from the new place", async () => {
    const firstDir = await tempDir("pipeserve-sql-first-");
    const trained = await runProject({
      projectDir: SCALER,
      pipelineName: "training",
      trackingUri: `sqlite:///${join(firstDir, "mlflow.db")}`,
      typecheck: false,
    });
    const secondDir = join(await tempDir("pipeserve-sql-second-"), "store");
    await cp(firstDir, secondDir, { recursive: true });
    await rename(firstDir, `${firstDir}-gone`);
    const trackingUri = `sqlite:///${join(secondDir, "mlflow.db")}`;
    for (const uri of [`runs:/${trained.runId}/model`, `models:/${trained.modelId}`, "models:/scaler-model/1"]) {
      const model = await loadModel(uri, { trackingUri });
      try {
        expect(model.metadata.modelId, uri).toBe(trained.modelId);
      } finally {
        await model.close();
      }
    }
  });
});
