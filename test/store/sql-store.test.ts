// A database pipeserve creates is MLflow 3.6's own: the same sqlite_master as the one MLflow
// migrated (test/fixtures/mlflow-reference/sqlite/mlflow.db), alembic revision bf29a5ff90ea, the
// Default experiment 0 with its artifacts beside the database; rows written as MLflow writes them.
// What is not such a database (another alembic version, someone else's schema, a file that is not
// SQLite, a folder, a missing file with create:false) is refused with a message naming it, and left
// byte for byte as it was.
import { createHash } from "node:crypto";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { MLFLOW_ALEMBIC_VERSION, NotFoundError, StoreError, openRegistryStore, openTrackingStore } from "../../src/store/index.js";
import { REFERENCE_SQLITE } from "../fixtures/mlflow-reference.js";
import { rejects } from "../packager/helpers.js";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "pipeserve-sql-store-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

type Master = { type: string; name: string; tbl_name: string; sql: string | null };
function master(path: string): Master[] {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    return db.prepare("SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name").all() as Master[];
  } finally {
    db.close();
  }
}

function rows(path: string, sql: string): Record<string, unknown>[] {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    return db.prepare(sql).all() as Record<string, unknown>[];
  } finally {
    db.close();
  }
}

const digest = async (path: string): Promise<string> =>
  createHash("sha256")
    .update(await readFile(path))
    .digest("hex");

describe("a new database", () => {
  it("has exactly the schema MLflow 3.6 migrated to: every table and index, as sqlite_master spells them", async () => {
    const path = join(dir, "mlflow.db");
    await (await openTrackingStore(`sqlite:///${path}`)).close();
    const fresh = master(path);
    expect(fresh).toEqual(master(join(REFERENCE_SQLITE, "mlflow.db")));
    expect(fresh.filter((m) => m.type === "table")).toHaveLength(34);
    expect(fresh.filter((m) => m.type === "index")).toHaveLength(69);
  });

  it("records alembic revision bf29a5ff90ea and the Default experiment 0, its artifacts in mlartifacts/ beside the database", async () => {
    const path = join(dir, "sub", "mlflow.db");
    const store = await openTrackingStore(`sqlite:///${path}`);
    try {
      expect(rows(path, "SELECT * FROM alembic_version")).toEqual([{ version_num: MLFLOW_ALEMBIC_VERSION }]);
      expect(MLFLOW_ALEMBIC_VERSION).toBe("bf29a5ff90ea");
      expect(await store.listExperiments()).toMatchObject([
        { experimentId: "0", name: "Default", artifactLocation: `${pathToFileURL(join(dir, "sub", "mlartifacts")).href}/0`, lifecycleStage: "active" },
      ]);
      const exp = await store.getOrCreateExperiment("next");
      expect(exp.experimentId).toBe("1");
      expect((await store.getOrCreateExperiment("after")).experimentId).toBe("2");
      expect(rows(path, "PRAGMA journal_mode")).toEqual([{ journal_mode: "delete" }]);
    } finally {
      await store.close();
    }
  });

  it("writes rows as MLflow's SQL store does", async () => {
    const path = join(dir, "mlflow.db");
    const store = await openTrackingStore(`sqlite:///${path}`);
    const registry = await openRegistryStore(`sqlite:///${path}`);
    try {
      const exp = await store.getOrCreateExperiment("rows");
      const run = await store.createRun({ experimentId: exp.experimentId, runName: "r", tags: { "mlflow.source.type": "LOCAL" } });
      await store.logMetric(run.runId, "loss", 0.5, { step: 0, timestamp: 10 });
      await store.logMetric(run.runId, "loss", 0.3, { step: 2, timestamp: 5 });
      await store.logMetric(run.runId, "loss", 0.9, { step: 1, timestamp: 20 });
      await store.logMetric(run.runId, "loss", 0.9, { step: 1, timestamp: 20 });
      await store.logMetric(run.runId, "big", Infinity, { step: 0, timestamp: 1 });
      const model = await store.createLoggedModel(exp.experimentId, { sourceRunId: run.runId, params: { lr: "0.1" } });
      await store.logRunOutput(run.runId, { modelId: model.modelId, step: 0 });
      await store.logLoggedModelMetric(model.modelId, "acc", { value: 0.9, timestamp: 7, step: 0 });
      await store.finalizeLoggedModel(model.modelId, "READY");
      await store.endRun(run.runId);
      const mv = await registry.createVersion("m", `models:/${model.modelId}`, { runId: run.runId, modelId: model.modelId, storageLocation: "/abs/files" });
      await registry.setAlias("m", "prod", 1);

      expect(rows(path, "SELECT name, status, source_type, source_name, lifecycle_stage, experiment_id, end_time IS NOT NULL AS ended FROM runs")).toEqual([
        { name: "r", status: "FINISHED", source_type: "UNKNOWN", source_name: "", lifecycle_stage: "active", experiment_id: 1, ended: 1 },
      ]);
      expect(rows(path, 'SELECT "key", value FROM tags ORDER BY "key"').map((r) => r["key"])).toEqual(["mlflow.runName", "mlflow.source.type", "mlflow.user"]);
      expect(rows(path, "SELECT COUNT(*) AS n FROM metrics WHERE \"key\" = 'loss'")).toEqual([{ n: 3 }]);
      expect(rows(path, 'SELECT "key", value, step, timestamp, is_nan FROM latest_metrics ORDER BY "key"')).toEqual([
        { key: "big", value: 1.7976931348623157e308, step: 0, timestamp: 1, is_nan: 0 },
        { key: "loss", value: 0.3, step: 2, timestamp: 5, is_nan: 0 },
      ]);
      expect(rows(path, "SELECT status, lifecycle_stage, experiment_id FROM logged_models")).toEqual([
        { status: 2, lifecycle_stage: "active", experiment_id: 1 },
      ]);
      expect(rows(path, "SELECT source_type, source_id, destination_type, destination_id, step FROM inputs")).toEqual([
        { source_type: "RUN_OUTPUT", source_id: run.runId, destination_type: "MODEL_OUTPUT", destination_id: model.modelId, step: 0 },
      ]);
      expect(rows(path, "SELECT metric_name, run_id, experiment_id FROM logged_model_metrics")).toEqual([
        { metric_name: "acc", run_id: run.runId, experiment_id: 1 },
      ]);
      expect(rows(path, "SELECT name, version, source, run_id, status, current_stage, storage_location, user_id FROM model_versions")).toEqual([
        {
          name: "m",
          version: 1,
          source: `models:/${model.modelId}`,
          run_id: run.runId,
          status: "READY",
          current_stage: "None",
          storage_location: "file:///abs/files",
          user_id: null,
        },
      ]);
      expect(rows(path, "SELECT alias, version, name FROM registered_model_aliases")).toEqual([{ alias: "prod", version: 1, name: "m" }]);
      // No model_id column: the version's LoggedModel comes back from its source.
      expect(mv.modelId).toBe(model.modelId);
      expect((await store.getRun(run.runId)).metrics["big"]?.value).toBe(1.7976931348623157e308);
    } finally {
      await store.close();
      await registry.close();
    }
  });
});

describe("deleting, as MLflow's SqlAlchemyStore does", () => {
  it("a run: lifecycle_stage 'deleted' with deleted_time, cleared by restore; a version: Deleted_Internal, redacted, its aliases gone", async () => {
    const path = join(dir, "mlflow.db");
    const store = await openTrackingStore(`sqlite:///${path}`);
    const registry = await openRegistryStore(`sqlite:///${path}`);
    try {
      const run = await store.createRun();
      await store.deleteRun(run.runId);
      expect(rows(path, "SELECT lifecycle_stage, deleted_time IS NOT NULL AS has_time FROM runs")).toEqual([{ lifecycle_stage: "deleted", has_time: 1 }]);
      await store.restoreRun(run.runId);
      expect(rows(path, "SELECT lifecycle_stage, deleted_time FROM runs")).toEqual([{ lifecycle_stage: "active", deleted_time: null }]);

      await registry.createVersion("m", `runs:/${run.runId}/model`, { runId: run.runId, description: "first" });
      await registry.setAlias("m", "prod", 1);
      await registry.deleteVersion("m", 1);
      expect(rows(path, "SELECT version, current_stage, source, run_id, run_link, description FROM model_versions")).toEqual([
        {
          version: 1,
          current_stage: "Deleted_Internal",
          source: "REDACTED-SOURCE-PATH",
          run_id: "REDACTED-RUN-ID",
          run_link: "REDACTED-RUN-LINK",
          description: null,
        },
      ]);
      expect(rows(path, "SELECT COUNT(*) AS n FROM registered_model_aliases")).toEqual([{ n: 0 }]);
    } finally {
      await store.close();
      await registry.close();
    }
  });
});

describe("what is refused, and left as it was", () => {
  it('a new model whose name holds "@" (models:/a@b/1 would read as an alias): StoreError, no row written', async () => {
    const path = join(dir, "mlflow.db");
    const registry = await openRegistryStore(`sqlite:///${path}`);
    try {
      await rejects(registry.createVersion("team@prod", "runs:/a/model", { runId: "a" }), StoreError, '"@" would read as an alias');
      await rejects(registry.ensureModel("team@prod"), StoreError, '"@" would read as an alias');
      expect(rows(path, "SELECT COUNT(*) AS n FROM registered_models")).toEqual([{ n: 0 }]);
    } finally {
      await registry.close();
    }
  });

  it("a missing database with create:false: NotFoundError naming the path, nothing created", async () => {
    const path = join(dir, "missing.db");
    await rejects(openTrackingStore(`sqlite:///${path}`, { create: false }), NotFoundError, path);
    await rejects(openRegistryStore(`sqlite:///${path}`, undefined, { create: false }), NotFoundError, path);
    expect(await readdir(dir)).toEqual([]);
  });

  it("a database at another alembic version: the message names both versions", async () => {
    const path = join(dir, "old.db");
    const db = new Database(path);
    db.exec(
      "CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL, CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num)); INSERT INTO alembic_version VALUES ('1b5f0d9ad7c1');",
    );
    db.close();
    const before = await digest(path);
    const error = await rejects(openTrackingStore(`sqlite:///${path}`), StoreError, "1b5f0d9ad7c1", MLFLOW_ALEMBIC_VERSION, "never migrates");
    expect(error.message).toContain(path);
    await rejects(openRegistryStore(`sqlite:///${path}`), StoreError, "1b5f0d9ad7c1", MLFLOW_ALEMBIC_VERSION);
    expect(await digest(path)).toBe(before);
    expect(await readdir(dir)).toEqual(["old.db"]);
  });

  it("an SQLite database that is not MLflow's (no alembic_version)", async () => {
    const path = join(dir, "app.db");
    const db = new Database(path);
    db.exec("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)");
    db.close();
    const before = await digest(path);
    await rejects(openTrackingStore(`sqlite:///${path}`), StoreError, "not an MLflow one", MLFLOW_ALEMBIC_VERSION);
    expect(await digest(path)).toBe(before);
  });

  it("a file that is not SQLite", async () => {
    const path = join(dir, "notes.db");
    await writeFile(path, "these are notes, not a database\n".repeat(200));
    const before = await digest(path);
    await rejects(openTrackingStore(`sqlite:///${path}`), StoreError, `${path} is not an SQLite database`);
    expect(await digest(path)).toBe(before);
    expect(await readdir(dir)).toEqual(["notes.db"]);
  });

  it("a folder", async () => {
    await mkdir(join(dir, "folder.db"));
    await rejects(openTrackingStore(`sqlite:///${join(dir, "folder.db")}`), StoreError, "is a folder");
    expect(await readdir(join(dir, "folder.db"))).toEqual([]);
  });

  it("sqlite:// without a path (an in-memory database would keep nothing)", async () => {
    await rejects(openTrackingStore("sqlite://"), StoreError, "sqlite:///");
    await rejects(openRegistryStore("sqlite://"), StoreError, "sqlite:///");
  });
});
