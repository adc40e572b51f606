// Reads every entity of the SQL store MLflow 3.6 wrote (test/fixtures/mlflow-reference/sqlite),
// copied to a temp folder with /ROOT rewritten: experiments (sequential integer ids), both runs
// (dotted params, the metric history without FileStore's duplicate step-0 line, latest_metrics,
// the `inputs` row linking the LoggedModel), the LoggedModel (integer status, params, tags, metrics
// with their run), every registered model, version (no model_id column: read from the models:/m-…
// source) and alias; then loads and predicts models:/penguins-via-mlflow/1 from it. Expected
// values are the ones MLflow's own API returned (sqlite/manifest.json). Reading changes no byte.
import { createHash } from "node:crypto";
import { readFile, rm } from "node:fs/promises";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadModel } from "../../src/index.js";
import { resolveModelUri } from "../../src/loader/index.js";
import { type RegistryStore, type TrackingStore, openRegistryStore, openTrackingStore } from "../../src/store/index.js";
import { copyReferenceSqlite, REFERENCE_SQL as REF, REFERENCE_SQLITE, type ReferenceSqlite } from "../fixtures/mlflow-reference.js";

interface Manifest {
  registered_models: Record<
    string,
    { aliases: Record<string, number>; tags: Record<string, string>; description: string | null; versions: Record<string, unknown>[] }
  >;
  checks: {
    get_logged_model: {
      name: string;
      status: string;
      model_type: string;
      source_run_id: string;
      params: Record<string, string>;
      tags: Record<string, string>;
      metrics: [string, number, number, string][];
    };
    "get_metric_history(reference-run, accuracy) [step, value, timestamp, model_id?]": [number, number, number][];
  };
}

let ref: ReferenceSqlite;
let manifest: Manifest;
let store: TrackingStore;
let registry: RegistryStore;
let digestBefore: string;

const digest = async (path: string): Promise<string> =>
  createHash("sha256")
    .update(await readFile(path))
    .digest("hex");

beforeAll(async () => {
  ref = await copyReferenceSqlite();
  manifest = JSON.parse((await readFile(join(REFERENCE_SQLITE, "manifest.json"), "utf8")).replaceAll("/ROOT", ref.root)) as Manifest;
  digestBefore = await digest(ref.db);
  store = await openTrackingStore(ref.uri, { create: false });
  registry = await openRegistryStore(ref.uri, undefined, { create: false });
});

afterAll(async () => {
  await store?.close();
  await registry?.close();
  await rm(dirname(ref.root), { recursive: true, force: true });
});

const uri = (...parts: string[]): string => pathToFileURL(join(ref.root, "mlartifacts", ...parts)).href;

describe("experiments", () => {
  it("lists Default (0) and reference (1), integer ids read as strings, with artifact locations and tags", async () => {
    const experiments = await store.listExperiments();
    expect(experiments.map((e) => [e.experimentId, e.name, e.artifactLocation])).toEqual([
      ["0", "Default", uri("0")],
      [REF.experimentId, "reference", uri("1")],
    ]);
    expect(await store.getExperiment("reference")).toMatchObject({ experimentId: "1", lifecycleStage: "active", tags: { "pipeserve.purpose": "reference" } });
    expect((await store.getExperiment("1")).name).toBe("reference");
  });
});

describe("runs", () => {
  it("lists both runs of the experiment, newest first", async () => {
    const runs = await store.searchRuns({ experimentIds: [REF.experimentId] });
    expect(runs.map((r) => [r.runId, r.runName, r.status])).toEqual([
      [REF.importRunId, "penguins-import", "FINISHED"],
      [REF.referenceRunId, "reference-run", "FINISHED"],
    ]);
  });

  it("reads the reference run: dotted params, tags (the source is in mlflow.source.*), latest_metrics, its LoggedModel output", async () => {
    const run = await store.getRun(REF.referenceRunId);
    expect(run.info).toMatchObject({ experimentId: "1", userId: "root", runName: "reference-run", artifactUri: uri("1", REF.referenceRunId, "artifacts") });
    expect(run.params).toEqual({
      "model.lr": "0.01",
      "model.epochs": "20",
      "model.hidden.units": "16",
      seed: "42",
      "data.path": "penguins.json",
      optimizer: "adam",
    });
    expect(run.tags).toMatchObject({
      team: "pipeserve",
      "stage.name": "reference",
      "model.family": "pyfunc",
      "mlflow.note.content": "Reference run for pipeserve",
      "mlflow.source.type": "LOCAL",
      "mlflow.source.name": "gen_store.py",
    });
    expect(run.metrics).toEqual({
      accuracy: { timestamp: 1796396231646, value: 0.9, step: 4 },
      loss: { timestamp: 1796396231646, value: 0.2, step: 4 },
      "val.accuracy": { timestamp: 1796396231663, value: 0.87, step: 4 },
      "test.accuracy": { timestamp: 1796396232299, value: 0.93, step: 0 },
    });
    expect(run.outputs).toEqual([{ modelId: REF.modelId, step: 0 }]);
    expect(await store.getRunOutputs(REF.referenceRunId)).toEqual([{ modelId: REF.modelId, step: 0 }]);
  });

  it("returns the metric history as MLflow's get_metric_history did", async () => {
    const history = await store.getMetricHistory(REF.referenceRunId, "accuracy");
    expect(history.map((p) => [p.step, p.value, p.timestamp])).toEqual(
      manifest.checks["get_metric_history(reference-run, accuracy) [step, value, timestamp, model_id?]"],
    );
  });

  it("reads the run that holds a pipeserve model as plain artifacts", async () => {
    const run = await store.getRun(REF.importRunId);
    expect(run.params).toEqual({ origin: "pipeserve" });
    expect(run.metrics).toEqual({});
    expect(run.outputs).toEqual([]);
    expect(await store.artifacts.localFolder(`${run.info.artifactUri}/model`)).toBe(join(ref.root, "mlartifacts", "1", REF.importRunId, "artifacts", "model"));
  });
});

describe("the LoggedModel", () => {
  it("reads what MLflow's get_logged_model returned: name, status (integer 2), type, source run, params, tags, metrics", async () => {
    const expected = manifest.checks.get_logged_model;
    const model = await store.getLoggedModel(REF.modelId);
    expect(model).toMatchObject({
      modelId: REF.modelId,
      name: expected.name,
      status: expected.status,
      modelType: expected.model_type,
      sourceRunId: expected.source_run_id,
      experimentId: "1",
      statusMessage: null,
      artifactLocation: uri("1", "models", REF.modelId, "artifacts"),
      params: expected.params,
      tags: expected.tags,
    });
    expect(model.metrics.map((m) => [m.key, m.value, m.step, m.runId]).sort()).toEqual([...expected.metrics].sort());
  });

  it("is found by its experiment and by its run and name (runs:/<run>/model in MLflow 3)", async () => {
    expect((await store.searchLoggedModels()).map((m) => m.modelId)).toEqual([REF.modelId]);
    expect((await store.findRunLoggedModel(REF.referenceRunId, "model"))?.modelId).toBe(REF.modelId);
    expect(await store.findRunLoggedModel(REF.importRunId, "model")).toBeUndefined();
  });
});

describe("the registry", () => {
  it("lists both registered models with their descriptions, tags and aliases (integer versions)", async () => {
    const models = await registry.listModels();
    expect(models.map((m) => m.name)).toEqual(["penguins-via-mlflow", "ref"]);
    for (const model of models) {
      const expected = manifest.registered_models[model.name];
      expect(model.description, model.name).toBe(expected?.description ?? "");
      expect(model.tags, model.name).toEqual(expected?.tags);
      expect(model.aliases, model.name).toEqual(expected?.aliases);
      expect(model.latestVersion, model.name).toBe(expected?.versions.length);
    }
  });

  it.each([
    ["ref", 1],
    ["ref", 2],
    ["penguins-via-mlflow", 1],
  ])("reads %s version %i as MLflow's get_model_version returned it, with the LoggedModel its source names", async (name, version) => {
    const expected = manifest.registered_models[name]?.versions[version - 1] as Record<string, unknown>;
    const mv = await registry.getVersion(name, version);
    expect(mv).toMatchObject({
      name,
      version,
      source: expected["source"],
      runId: expected["run_id"],
      status: expected["status"],
      aliases: expected["get_model_version.aliases"],
      tags: expected["tags"],
      description: "",
      storageLocation: (manifest as unknown as { download_uris: Record<string, string> }).download_uris[`${name}/${version}`],
    });
    // NB: MLflow returns model_id None here (no column); the source models:/m-… still names the LoggedModel.
    expect(mv.modelId).toBe(name === "ref" ? REF.modelId : undefined);
  });

  it.each([
    ["champion", 1],
    ["challenger", 2],
  ])("resolves alias %s to version %i", async (alias, version) => {
    expect((await registry.getVersionByAlias("ref", alias)).version).toBe(version);
  });
});

describe("model URIs over the database", () => {
  it("models:/penguins-via-mlflow/1 loads the pipeserve model from the run's artifacts and predicts", async () => {
    const model = await loadModel("models:/penguins-via-mlflow/1", { trackingUri: ref.uri });
    try {
      expect(model.dir).toBe(join(ref.root, "mlartifacts", "1", REF.importRunId, "artifacts", "model"));
      const out = (await model.predict({
        dataframe_split: {
          columns: ["island", "bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g", "sex"],
          data: [
            ["Torgersen", 38.6, 17, 188, 2900, "FEMALE"],
            ["Biscoe", 46.5, 14.4, 217, 4900, "FEMALE"],
          ],
        },
      })) as { species: string[] };
      expect(out.species).toEqual(["Adelie", "Gentoo"]);
    } finally {
      await model.close();
    }
  });

  it("models:/ref@champion reaches the LoggedModel's files through its models:/m-… source", async () => {
    const resolved = await resolveModelUri("models:/ref@champion", { trackingUri: ref.uri });
    expect(resolved.dir).toBe(join(ref.root, "mlartifacts", "1", "models", REF.modelId, "artifacts"));
    expect(resolved.modelId).toBe(REF.modelId);
    await resolved.cleanup();
  });

  it("reading changed no byte of the database", async () => {
    expect(await digest(ref.db)).toBe(digestBefore);
  });
});
