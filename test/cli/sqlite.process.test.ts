// The whole path over an MLflow SQL store: `pipeserve run --tracking-uri sqlite:///…` trains the
// linear fixture project into a new database (created with MLflow 3.6's schema), packages and
// registers the model; `pipeserve models alias` points an alias at the version; then the built
// `pipeserve serve -m models:/linear-model@prod --tracking-uri sqlite:///…` answers /invocations
// over real HTTP on an ephemeral port, with the fitted line. And the database MLflow 3.6 wrote
// (test/fixtures/mlflow-reference/sqlite): `serve -m models:/penguins-via-mlflow/1` serves the
// pipeserve model MLflow registered there from the run's file:// artifacts.
import { readFile, rm } from "node:fs/promises";
import { dirname, join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { copyReferenceSqlite, REFERENCE_SQL } from "../fixtures/mlflow-reference.js";
import { http, ServeProcess } from "../server/fixtures/server-process.js";
import { copyProject, ok, readJson, tempDir, useBuiltBin } from "./helpers.js";

useBuiltBin();

let project: string;
let dir: string;
beforeAll(async () => {
  project = await copyProject("linear");
  dir = await tempDir("pipeserve-sqlite-cli-");
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("run, alias and serve over sqlite:///", () => {
  it("trains into a new database, registers, aliases, and serves models:/linear-model@prod over HTTP", async () => {
    const db = join(dir, "mlflow.db");
    const uri = `sqlite:///${db}`;
    const stdout = await ok(["run", "--project", project, "--pipeline", "training", "--tracking-uri", uri, "--params", "scale=2"]);
    const runId = /^Run ([0-9a-f]{32}) finished \(experiment \d+\)\.$/m.exec(stdout)?.[1] as string;
    expect(runId).toBeDefined();
    expect(stdout).toContain("Registered: models:/linear-model/1");
    expect(await ok(["models", "alias", "linear-model", "prod", "1", "--tracking-uri", uri])).toContain("models:/linear-model@prod → version 1");

    // What MLflow would read: the run FINISHED, its LoggedModel READY (2) and linked, the version's source models:/m-….
    const sql = new Database(db, { readonly: true });
    try {
      expect(sql.prepare("SELECT status, source_type, experiment_id FROM runs WHERE run_uuid = ?").get(runId)).toEqual({
        status: "FINISHED",
        source_type: "UNKNOWN",
        experiment_id: 0,
      });
      const model = sql.prepare("SELECT model_id, status FROM logged_models WHERE source_run_id = ?").get(runId) as { model_id: string; status: number };
      expect(model.status).toBe(2);
      expect(sql.prepare("SELECT source_type, destination_type FROM inputs WHERE source_id = ? AND destination_id = ?").get(runId, model.model_id)).toEqual({
        source_type: "RUN_OUTPUT",
        destination_type: "MODEL_OUTPUT",
      });
      expect(sql.prepare("SELECT source, run_id FROM model_versions WHERE name = 'linear-model'").all()).toEqual([
        { source: `models:/${model.model_id}`, run_id: runId },
      ]);
      expect(sql.prepare("SELECT alias, version FROM registered_model_aliases").all()).toEqual([{ alias: "prod", version: 1 }]);
    } finally {
      sql.close();
    }

    const weights = (await readJson(join(project, "data", "weights.json"))) as { slope: number; intercept: number };
    const server = new ServeProcess(["serve", "-m", "models:/linear-model@prod", "-p", "0", "--tracking-uri", uri]);
    try {
      const { url } = await server.serving();
      const body = JSON.stringify({ dataframe_split: { columns: ["x", "group"], data: [[1, "a"]] } });
      const res = await http(`${url}/invocations`, { body, headers: { "Content-Type": "application/json" } });
      expect(res.status, res.body).toBe(200);
      const { predictions } = JSON.parse(res.body) as { predictions: Record<string, number>[] };
      expect(Object.values(predictions[0] ?? {})[0]).toBeCloseTo((weights.slope + weights.intercept) * 2 + 0.5, 10);
      const meta = JSON.parse((await http(`${url}/metadata`)).body) as Record<string, unknown>;
      expect(meta).toMatchObject({ name: "linear-model", version: "1", run_id: runId });
    } finally {
      await server.stop();
    }
  }, 120_000);
});

describe("serve over the database MLflow wrote", () => {
  it("serves models:/penguins-via-mlflow/1 over HTTP and predicts its own serving example", async () => {
    const ref = await copyReferenceSqlite();
    const server = new ServeProcess(["serve", "-m", "models:/penguins-via-mlflow/1", "-p", "0", "--tracking-uri", ref.uri]);
    try {
      const { url } = await server.serving();
      const body = await readFile(join(ref.root, "mlartifacts", "1", REFERENCE_SQL.importRunId, "artifacts", "model", "serving_input_example.json"), "utf8");
      const res = await http(`${url}/invocations`, { body, headers: { "Content-Type": "application/json" } });
      expect(res.status, res.body).toBe(200);
      const { predictions } = JSON.parse(res.body) as { predictions: { species: string; probability: number }[] };
      expect(predictions.map((p) => p.species)).toEqual(["Adelie", "Gentoo", "Gentoo", "Gentoo", "Chinstrap"]);
      expect(JSON.parse((await http(`${url}/metadata`)).body)).toMatchObject({ name: "penguins-via-mlflow", version: "1", run_id: expect.any(String) });
    } finally {
      await server.stop();
      await rm(dirname(ref.root), { recursive: true, force: true });
    }
  }, 60_000);
});
