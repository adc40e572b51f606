// Reads every entity of the FileStore MLflow 3.6 wrote (test/fixtures/mlflow-reference), copied
// to a temp folder with /ROOT rewritten: experiments (a random 18-digit id), both runs (dotted
// params, stepped metrics with MLflow 3's duplicate step-0 lines, the outputs link), the LoggedModel
// (params, tags, metrics with a run-id column), every registered model, version and alias. The
// expected values are the ones MLflow's own API returned (filestore/manifest.json).
import { readFile, rm } from "node:fs/promises";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FileStore, ModelRegistry } from "../../src/store/index.js";
import { copyReferenceStore, REFERENCE, REFERENCE_FILESTORE, type ReferenceStore } from "../fixtures/mlflow-reference.js";

interface Manifest {
  registered_models: Record<
    string,
    { aliases: Record<string, string>; tags: Record<string, string>; description: string | null; versions: Record<string, unknown>[] }
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

let ref: ReferenceStore;
let manifest: Manifest;
let store: FileStore;
let registry: ModelRegistry;

beforeAll(async () => {
  ref = await copyReferenceStore();
  manifest = JSON.parse(await readFile(join(REFERENCE_FILESTORE, "manifest.json"), "utf8")) as Manifest;
  store = await FileStore.openExisting(ref.mlruns);
  registry = new ModelRegistry(ref.mlruns);
});

afterAll(async () => {
  await rm(dirname(ref.root), { recursive: true, force: true });
});

const uri = (...parts: string[]): string => pathToFileURL(join(ref.mlruns, ...parts)).href;

describe("experiments", () => {
  it("lists Default and the experiment with a random 18-digit id, kept a string, with its tags", async () => {
    const experiments = await store.listExperiments();
    expect(experiments.map((e) => [e.experimentId, e.name])).toEqual([
      ["0", "Default"],
      [REFERENCE.experimentId, "reference"],
    ]);
    expect(await store.getExperiment("reference")).toMatchObject({
      experimentId: "633354520410376484",
      artifactLocation: uri(REFERENCE.experimentId),
      lifecycleStage: "active",
      tags: { "pipeserve.purpose": "reference" },
    });
  });
});

describe("runs", () => {
  it("lists both runs of the experiment, newest first", async () => {
    const runs = await store.searchRuns({ experimentIds: [REFERENCE.experimentId] });
    expect(runs.map((r) => [r.runId, r.runName, r.status])).toEqual([
      [REFERENCE.importRunId, "penguins-import", "FINISHED"],
      [REFERENCE.referenceRunId, "reference-run", "FINISHED"],
    ]);
  });

  it("reads the reference run: dotted params, tags, the latest point of each metric by step, and its LoggedModel output", async () => {
    const run = await store.getRun(REFERENCE.referenceRunId);
    expect(run.info).toMatchObject({
      experimentId: REFERENCE.experimentId,
      userId: "root",
      artifactUri: uri(REFERENCE.experimentId, REFERENCE.referenceRunId, "artifacts"),
    });
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
    });
    // NB: the files end with a second step-0 line (log_model's re-log): the latest is still step 4.
    expect(run.metrics).toEqual({
      accuracy: { timestamp: 1796396223291, value: 0.9, step: 4 },
      loss: { timestamp: 1796396223291, value: 0.2, step: 4 },
      "val.accuracy": { timestamp: 1796396223292, value: 0.87, step: 4 },
      "test.accuracy": { timestamp: 1796396223671, value: 0.93, step: 0 },
    });
    expect(run.outputs).toEqual([{ modelId: REFERENCE.modelId, step: 0 }]);
  });

  it("returns the metric history as MLflow does, duplicates included", async () => {
    const history = await store.getMetricHistory(REFERENCE.referenceRunId, "accuracy");
    expect(history.map((p) => [p.step, p.value, p.timestamp])).toEqual(
      manifest.checks["get_metric_history(reference-run, accuracy) [step, value, timestamp, model_id?]"],
    );
  });

  it("reads the run that holds a pipeserve model as plain artifacts (no metrics folder, no outputs)", async () => {
    const run = await store.getRun(REFERENCE.importRunId);
    expect(run.params).toEqual({ origin: "pipeserve" });
    expect(run.metrics).toEqual({});
    expect(run.outputs).toEqual([]);
    expect(await store.artifactDir(REFERENCE.importRunId)).toBe(join(ref.mlruns, REFERENCE.experimentId, REFERENCE.importRunId, "artifacts"));
  });
});

describe("the LoggedModel", () => {
  it("reads what MLflow's get_logged_model returned: name, status, type, source run, params, tags, metrics", async () => {
    const expected = manifest.checks.get_logged_model;
    const model = await store.getLoggedModel(REFERENCE.modelId);
    expect(model).toMatchObject({
      modelId: REFERENCE.modelId,
      name: expected.name,
      status: expected.status,
      modelType: expected.model_type,
      sourceRunId: expected.source_run_id,
      experimentId: REFERENCE.experimentId,
      statusMessage: null,
      artifactLocation: uri(REFERENCE.experimentId, "models", REFERENCE.modelId, "artifacts"),
      params: expected.params,
      tags: expected.tags,
    });
    expect(model.metrics.map((m) => [m.key, m.value, m.step, m.runId]).sort()).toEqual([...expected.metrics].sort());
  });

  it("is found by id, by its experiment, and by its run and name (what runs:/<run>/model means in MLflow 3)", async () => {
    expect(await store.loggedModelArtifactDir(REFERENCE.modelId)).toBe(join(ref.mlruns, REFERENCE.experimentId, "models", REFERENCE.modelId, "artifacts"));
    expect((await store.searchLoggedModels()).map((m) => m.modelId)).toEqual([REFERENCE.modelId]);
    expect((await store.findRunLoggedModel(REFERENCE.referenceRunId, "model"))?.modelId).toBe(REFERENCE.modelId);
    expect(await store.findRunLoggedModel(REFERENCE.importRunId, "model")).toBeUndefined();
  });
});

describe("the registry", () => {
  it("lists both registered models with their descriptions, tags and aliases", async () => {
    const models = await registry.listModels();
    expect(models.map((m) => m.name)).toEqual(["penguins-via-mlflow", "ref"]);
    for (const model of models) {
      const expected = manifest.registered_models[model.name];
      expect(model.description, model.name).toBe(expected?.description ?? "");
      expect(model.tags, model.name).toEqual(expected?.tags);
      expect(model.aliases, model.name).toEqual(Object.fromEntries(Object.entries(expected?.aliases ?? {}).map(([a, v]) => [a, Number(v)])));
      expect(model.latestVersion, model.name).toBe(expected?.versions.length);
    }
  });

  it.each([
    ["ref", 1],
    ["ref", 2],
    ["penguins-via-mlflow", 1],
  ])("reads %s version %i as MLflow's get_model_version returned it", async (name, version) => {
    const expected = manifest.registered_models[name]?.versions[version - 1] as Record<string, unknown>;
    const mv = await registry.getVersion(name, version);
    expect(mv).toMatchObject({
      name,
      version,
      source: String(expected["source"]).replace("/ROOT", ref.root),
      runId: expected["run_id"],
      status: expected["status"],
      aliases: expected["aliases"],
      tags: expected["tags"],
      description: "",
    });
    expect(mv.modelId ?? null).toBe(expected["model_id"]);
    expect(mv.storageLocation).toMatch(/^file:\/\/\//);
  });

  it.each([
    ["champion", 1],
    ["challenger", 2],
  ])("resolves alias %s to version %i", async (alias, version) => {
    expect((await registry.getVersionByAlias("ref", alias)).version).toBe(version);
  });

  it("keeps reading the aliases from meta.yaml's mapping when a store has no aliases/ folder", async () => {
    await rm(join(ref.mlruns, "models", "ref", "aliases"), { recursive: true });
    try {
      expect((await registry.getModel("ref")).aliases).toEqual({ champion: 1, challenger: 2 });
      expect((await registry.getVersionByAlias("ref", "champion")).version).toBe(1);
    } finally {
      // Setting an alias writes the files the mapping held first, so none is lost.
      await registry.setAlias("ref", "champion", 1);
      expect((await registry.getModel("ref")).aliases).toEqual({ champion: 1, challenger: 2 });
    }
  });
});
