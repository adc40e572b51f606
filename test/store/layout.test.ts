// The files the store writes, checked byte for byte against MODEL_FORMAT.md §2 and the
// "Checked against MLflow 3.6" list: these are what MLflow's own UI and client read.
import { readdir, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { FileStore, ModelRegistry, StoreError } from "../../src/store/index.js";
import { REFERENCE, REFERENCE_FILESTORE } from "../fixtures/mlflow-reference.js";
import { MLFLOW_EXPERIMENT_ID, expectRejects, parseAsMlflow, readText, readYamlFile, sleep, topLevelKeys, useTempDir } from "./helpers.js";

const tmp = useTempDir("pipeserve-layout-");
const storeRoot = (): string => join(tmp(), "mlruns");

const EXPERIMENT_KEYS = ["artifact_location", "creation_time", "experiment_id", "last_update_time", "lifecycle_stage", "name"];
const RUN_KEYS = [
  "artifact_uri",
  "end_time",
  "entry_point_name",
  "experiment_id",
  "lifecycle_stage",
  "run_id",
  "run_name",
  "source_name",
  "source_type",
  "source_version",
  "start_time",
  "status",
  "tags",
  "user_id",
];
// The registry and LoggedModel files are checked against those MLflow 3.6 itself wrote (test/fixtures/mlflow-reference).
const REF = join(REFERENCE_FILESTORE, "mlruns");
const refKeys = async (...parts: string[]): Promise<string[]> => topLevelKeys(await readText(REF, ...parts));
const MODEL_KEYS = await refKeys("models", "ref", "meta.yaml");
const VERSION_KEYS = await refKeys("models", "ref", "version-1", "meta.yaml");
const LOGGED_MODEL_KEYS = await refKeys(REFERENCE.experimentId, "models", REFERENCE.modelId, "meta.yaml");
const RUN_OUTPUT_KEYS = await refKeys(REFERENCE.experimentId, REFERENCE.referenceRunId, "outputs", REFERENCE.modelId, "meta.yaml");

async function isDir(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined))?.isDirectory() ?? false;
}

describe("FileStore.open", () => {
  it("creates 0/meta.yaml (Default), .trash/ and models/", async () => {
    await FileStore.open(storeRoot());
    expect(await isDir(join(storeRoot(), ".trash"))).toBe(true);
    expect(await isDir(join(storeRoot(), "models"))).toBe(true);
    const { data } = await readYamlFile(storeRoot(), "0", "meta.yaml");
    expect(data["name"]).toBe("Default");
    expect(data["experiment_id"]).toBe("0");
  });

  it("leaves no folder at the root that MLflow would misread as an experiment", async () => {
    // NB: MLflow lists every sub-folder of the root except .trash and models as an experiment,
    // and its search_experiments fails outright on a folder name that is not a valid id.
    const store = await FileStore.open(storeRoot());
    const exp = await store.getOrCreateExperiment("layout");
    await store.createRun({ experimentId: exp.experimentId });
    const registry = new ModelRegistry(storeRoot());
    await registry.createVersion("m", "runs:/x/model");
    const folders = (await readdir(storeRoot(), { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name);
    expect(folders.sort()).toEqual([".trash", "0", exp.experimentId, "models"].sort());
    for (const name of folders.filter((n) => n !== ".trash" && n !== "models")) expect(name).toMatch(MLFLOW_EXPERIMENT_ID);
  });

  it("is idempotent: opening an existing store rewrites nothing", async () => {
    await FileStore.open(storeRoot());
    const before = await readText(storeRoot(), "0", "meta.yaml");
    await sleep(5);
    await FileStore.open(storeRoot());
    expect(await readText(storeRoot(), "0", "meta.yaml")).toBe(before);
  });
});

describe("experiment meta.yaml", () => {
  it("has MLflow's keys, sorted, with the Default experiment id quoted", async () => {
    await FileStore.open(storeRoot());
    const { raw, data } = await readYamlFile(storeRoot(), "0", "meta.yaml");
    expect(topLevelKeys(raw)).toEqual(EXPERIMENT_KEYS);
    expect(Object.keys(data).sort()).toEqual(EXPERIMENT_KEYS);
    expect(raw).toMatch(/^experiment_id: (["'])0\1$/m);
    expect(data).toMatchObject({ experiment_id: "0", name: "Default", lifecycle_stage: "active" });
    expect(data["artifact_location"]).toBe(pathToFileURL(join(storeRoot(), "0")).href);
    expect(data["artifact_location"]).toMatch(/^file:\/\/\//);
    expect(Number.isInteger(data["creation_time"])).toBe(true);
    expect(data["last_update_time"]).toBe(data["creation_time"]);
  });

  it("gives a new experiment an 18-digit id, quoted in the file so readers keep it a string", async () => {
    const store = await FileStore.open(storeRoot());
    const exp = await store.getOrCreateExperiment("penguins");
    expect(exp.experimentId).toMatch(/^[1-9]\d{17}$/);
    const { raw, data } = await readYamlFile(storeRoot(), exp.experimentId, "meta.yaml");
    expect(topLevelKeys(raw)).toEqual(EXPERIMENT_KEYS);
    expect(raw).toMatch(new RegExp(`^experiment_id: (["'])${exp.experimentId}\\1$`, "m"));
    expect(data["experiment_id"]).toBe(exp.experimentId);
    expect(data["name"]).toBe("penguins");
    expect(data["artifact_location"]).toBe(pathToFileURL(join(storeRoot(), exp.experimentId)).href);
    expect(typeof data["creation_time"]).toBe("number");
    expect(Number.isInteger(data["creation_time"])).toBe(true);
  });

  it.each([
    ["yes", "a YAML 1.1 boolean"],
    ["off", "a YAML 1.1 boolean"],
    ["2024-11-22", "a YAML 1.1 date"],
    ["1:30", "a YAML 1.1 base-60 integer"],
    ["1_000", "a YAML 1.1 integer with separators"],
    ["0.5", "a float"],
    ["null", "null"],
    ["None", "the bare word MLflow uses for 'no stage'"],
  ])("keeps the name %j a string for MLflow's YAML 1.1 reader (%s)", async (name) => {
    const store = await FileStore.open(storeRoot());
    const exp = await store.getOrCreateExperiment(name);
    const run = await store.createRun({ experimentId: exp.experimentId, runName: name });
    expect(parseAsMlflow(await readText(storeRoot(), exp.experimentId, "meta.yaml"))["name"]).toBe(name);
    expect(parseAsMlflow(await readText(storeRoot(), exp.experimentId, run.runId, "meta.yaml"))["run_name"]).toBe(name);
    expect((await store.getExperiment(name)).experimentId).toBe(exp.experimentId);
    expect((await store.getRunInfo(run.runId)).runName).toBe(name);
  });
});

describe("run meta.yaml", () => {
  it("has MLflow's keys, sorted, with integer status 1 while running", async () => {
    const store = await FileStore.open(storeRoot());
    const run = await store.createRun({ runName: "first", userId: "ada" });
    expect(run.runId).toMatch(/^[0-9a-f]{32}$/);
    const { raw, data } = await readYamlFile(storeRoot(), "0", run.runId, "meta.yaml");
    expect(topLevelKeys(raw)).toEqual(RUN_KEYS);
    expect(Object.keys(data).sort()).toEqual(RUN_KEYS);
    expect(data).toEqual({
      artifact_uri: pathToFileURL(join(storeRoot(), "0", run.runId, "artifacts")).href,
      end_time: null,
      entry_point_name: "",
      experiment_id: "0",
      lifecycle_stage: "active",
      run_id: run.runId,
      run_name: "first",
      source_name: "",
      source_type: 4,
      source_version: "",
      start_time: run.startTime,
      status: 1,
      tags: [],
      user_id: "ada",
    });
    expect(raw).toMatch(/^experiment_id: (["'])0\1$/m);
    expect(raw).toMatch(/^status: 1$/m);
    expect(raw).toMatch(/^source_type: 4$/m);
    expect(Number.isInteger(data["start_time"])).toBe(true);
    expect(await isDir(join(storeRoot(), "0", run.runId, "artifacts"))).toBe(true);
  });

  it.each([
    ["FINISHED", 3],
    ["FAILED", 4],
    ["KILLED", 5],
  ] as const)("writes status %s as the integer %i, with an integer end_time", async (status, code) => {
    const store = await FileStore.open(storeRoot());
    const run = await store.createRun();
    await store.endRun(run.runId, status);
    const { raw, data } = await readYamlFile(storeRoot(), "0", run.runId, "meta.yaml");
    expect(raw).toMatch(new RegExp(`^status: ${code}$`, "m"));
    expect(data["status"]).toBe(code);
    expect(Number.isInteger(data["end_time"])).toBe(true);
    expect(data["end_time"] as number).toBeGreaterThanOrEqual(data["start_time"] as number);
    expect(topLevelKeys(raw)).toEqual(RUN_KEYS);
  });
});

describe("value files", () => {
  it("writes params and tags raw, with no trailing newline", async () => {
    const store = await FileStore.open(storeRoot());
    const run = await store.createRun({ runName: "r1", userId: "ada", tags: { "mlflow.source.name": "train.ts" } });
    await store.logParam(run.runId, "threshold", 0.5);
    await store.logParam(run.runId, "model", "logistic regression");
    await store.setTag(run.runId, "stage", "dev");
    const dir = join(storeRoot(), "0", run.runId);
    expect(await readText(dir, "params", "threshold")).toBe("0.5");
    expect(await readText(dir, "params", "model")).toBe("logistic regression");
    expect(await readText(dir, "tags", "stage")).toBe("dev");
    expect(await readText(dir, "tags", "mlflow.runName")).toBe("r1");
    expect(await readText(dir, "tags", "mlflow.user")).toBe("ada");
    expect(await readText(dir, "tags", "mlflow.source.name")).toBe("train.ts");
  });

  it("writes one '<int ms> <value> <int step>' line per metric point", async () => {
    const store = await FileStore.open(storeRoot());
    const run = await store.createRun();
    await store.logMetric(run.runId, "accuracy", 0.97, { timestamp: 1732248769123, step: 0 });
    await store.logMetric(run.runId, "accuracy", 0.98, { timestamp: 1732248769456.9, step: 1.7 });
    await store.logMetric(run.runId, "accuracy", 0.99);
    const text = await readText(storeRoot(), "0", run.runId, "metrics", "accuracy");
    const lines = text.split("\n");
    expect(lines.pop()).toBe("");
    expect(lines[0]).toBe("1732248769123 0.97 0");
    expect(lines[1]).toBe("1732248769456 0.98 1");
    expect(lines[2]).toMatch(/^\d{13} 0\.99 0$/);
  });

  it.each([
    [1, "1.0", "an integral value reads as a Python float"],
    [-3, "-3.0", "negative integral"],
    [0, "0.0", "zero"],
    [0.97, "0.97", "shortest round-trip digits"],
    [0.1 + 0.2, "0.30000000000000004", "no rounding"],
    [1.5e300, "1.5e+300", "exponent form"],
    [Infinity, "inf", "Python's spelling of infinity"],
    [-Infinity, "-inf", "Python's spelling of minus infinity"],
  ])("writes the metric value %d as %j (%s) and reads it back", async (value, text) => {
    const store = await FileStore.open(storeRoot());
    const run = await store.createRun();
    await store.logMetric(run.runId, "m", value, { timestamp: 1000, step: 2 });
    expect(await readText(storeRoot(), "0", run.runId, "metrics", "m")).toBe(`1000 ${text} 2\n`);
    expect((await store.getRun(run.runId)).metrics["m"]).toEqual({ timestamp: 1000, value, step: 2 });
  });
});

describe("a deleted run's meta.yaml", () => {
  it("is as `mlflow runs delete` leaves it: lifecycle_stage deleted and an integer deleted_time, both undone by restore", async () => {
    const store = await FileStore.open(storeRoot());
    const run = await store.createRun();
    await store.endRun(run.runId);
    const before = Date.now();
    await store.deleteRun(run.runId);
    const deleted = await readYamlFile(storeRoot(), "0", run.runId, "meta.yaml");
    expect(topLevelKeys(deleted.raw)).toEqual(["artifact_uri", "deleted_time", ...RUN_KEYS.slice(1)]);
    expect(deleted.data["lifecycle_stage"]).toBe("deleted");
    expect(Number.isInteger(deleted.data["deleted_time"])).toBe(true);
    expect(deleted.data["deleted_time"] as number).toBeGreaterThanOrEqual(before);
    expect(deleted.data["status"]).toBe(3);
    await store.restoreRun(run.runId);
    const restored = await readYamlFile(storeRoot(), "0", run.runId, "meta.yaml");
    expect(topLevelKeys(restored.raw)).toEqual(RUN_KEYS);
    expect(restored.data["lifecycle_stage"]).toBe("active");
  });
});

describe("registry files", () => {
  it("a deleted version keeps its folder with current_stage Deleted_Internal, as MLflow's FileStore leaves it", async () => {
    const store = await FileStore.open(storeRoot());
    const run = await store.createRun();
    const registry = new ModelRegistry(storeRoot());
    await registry.createVersion("penguins", `runs:/${run.runId}/model`, { runId: run.runId });
    await registry.setAlias("penguins", "champion", 1);
    await registry.deleteVersion("penguins", 1);
    const { raw, data } = await readYamlFile(storeRoot(), "models", "penguins", "version-1", "meta.yaml");
    expect(topLevelKeys(raw)).toEqual(VERSION_KEYS);
    expect(raw).toMatch(/^current_stage: Deleted_Internal$/m);
    expect(data["source"]).toBe(`runs:/${run.runId}/model`);
    const model = await readYamlFile(storeRoot(), "models", "penguins", "meta.yaml");
    expect(model.data["aliases"]).toEqual({});
    expect(await readdir(join(storeRoot(), "models", "penguins", "aliases"))).toEqual([]);
  });

  it("writes the model and version meta.yaml with MLflow's keys, current_stage: None and an integer version", async () => {
    const store = await FileStore.open(storeRoot());
    const run = await store.createRun();
    const registry = new ModelRegistry(storeRoot());
    await registry.createVersion("penguins", `runs:/${run.runId}/model`, { runId: run.runId });

    const model = await readYamlFile(storeRoot(), "models", "penguins", "meta.yaml");
    expect(topLevelKeys(model.raw)).toEqual(MODEL_KEYS);
    expect(model.data["name"]).toBe("penguins");
    // As MLflow writes them: no aliases is an empty mapping, no description is null.
    expect(model.raw).toMatch(/^aliases: \{\}$/m);
    expect(model.data).toMatchObject({ aliases: {}, description: null, deployment_job_id: null, deployment_job_state: null });
    expect(Number.isInteger(model.data["creation_timestamp"])).toBe(true);
    expect(Number.isInteger(model.data["last_updated_timestamp"])).toBe(true);

    const { raw, data } = await readYamlFile(storeRoot(), "models", "penguins", "version-1", "meta.yaml");
    expect(topLevelKeys(raw)).toEqual(VERSION_KEYS);
    expect(raw).toMatch(/^current_stage: None$/m);
    expect(raw).toMatch(/^status: READY$/m);
    expect(raw).toMatch(/^version: 1$/m);
    // As MLflow 3.6's client registers (mlflow-reference's versions): no user. It was the OS user's name.
    expect(raw).toMatch(/^user_id: null$/m);
    expect(data).toMatchObject({
      current_stage: "None",
      name: "penguins",
      run_id: run.runId,
      source: `runs:/${run.runId}/model`,
      status: "READY",
      version: 1,
      // null where MLflow writes null (the reference's version-1/meta.yaml)
      description: null,
      run_link: null,
      status_message: null,
      deployment_job_state: null,
      model_id: null,
    });
    expect(raw).toMatch(/^description: null$/m);
    expect(raw).toMatch(/^run_link: null$/m);
    expect(Number.isInteger(data["creation_timestamp"])).toBe(true);
  });

  it("writes storage_location as a file:// URI, and model_id for a LoggedModel's version", async () => {
    const registry = new ModelRegistry(storeRoot());
    const dir = join(storeRoot(), "0", "models", "m-0123456789abcdef0123456789abcdef", "artifacts");
    await registry.createVersion("m", "models:/m-0123456789abcdef0123456789abcdef", { storageLocation: dir, modelId: "m-0123456789abcdef0123456789abcdef" });
    await registry.createVersion("m", "runs:/abc/model", { storageLocation: pathToFileURL(dir).href });
    const v1 = (await readYamlFile(storeRoot(), "models", "m", "version-1", "meta.yaml")).data;
    expect(v1).toMatchObject({ storage_location: pathToFileURL(dir).href, model_id: "m-0123456789abcdef0123456789abcdef", run_id: null });
    expect((await readYamlFile(storeRoot(), "models", "m", "version-2", "meta.yaml")).data["storage_location"]).toBe(pathToFileURL(dir).href);
    expect(await registry.getVersion("m", 1)).toMatchObject({ modelId: "m-0123456789abcdef0123456789abcdef", storageLocation: pathToFileURL(dir).href });
  });

  it("writes an alias file holding the bare version number", async () => {
    const registry = new ModelRegistry(storeRoot());
    await registry.createVersion("m", "runs:/a/model");
    await registry.createVersion("m", "runs:/b/model");
    await registry.setAlias("m", "champion", 2);
    expect(await readText(storeRoot(), "models", "m", "aliases", "champion")).toBe("2");
  });

  it("keeps meta.yaml's aliases as MLflow's {alias: version} mapping beside the alias files", async () => {
    const registry = new ModelRegistry(storeRoot());
    await registry.createVersion("m", "runs:/a/model");
    await registry.createVersion("m", "runs:/b/model");
    await registry.setAlias("m", "champion", 1);
    await registry.setAlias("m", "challenger", 2);
    const { raw, data } = await readYamlFile(storeRoot(), "models", "m", "meta.yaml");
    // The reference writes `challenger: '2'`: versions as strings, keys sorted.
    expect(data["aliases"]).toEqual({ challenger: "2", champion: "1" });
    expect(raw).toMatch(/^ {2}challenger: ["']2["']$/m);
    expect(topLevelKeys(raw)).toEqual(MODEL_KEYS);
    await registry.deleteAlias("m", "challenger");
    expect((await readYamlFile(storeRoot(), "models", "m", "meta.yaml")).data["aliases"]).toEqual({ champion: "1" });
  });
});

describe("LoggedModel files (MLflow 3)", () => {
  it("writes meta.yaml with the keys of the reference's, status 1 (PENDING) then 2 (READY)", async () => {
    const store = await FileStore.open(storeRoot());
    const exp = await store.getOrCreateExperiment("lm");
    const run = await store.createRun({ experimentId: exp.experimentId });
    const model = await store.createLoggedModel(exp.experimentId, { name: "model", sourceRunId: run.runId, params: { lr: "0.1" }, tags: { t: "v" } });
    expect(model.modelId).toMatch(/^m-[0-9a-f]{32}$/);
    const dir = join(storeRoot(), exp.experimentId, "models", model.modelId);
    const pending = await readYamlFile(dir, "meta.yaml");
    expect(topLevelKeys(pending.raw)).toEqual(LOGGED_MODEL_KEYS);
    expect(pending.raw).toMatch(new RegExp(`^experiment_id: (["'])${exp.experimentId}\\1$`, "m"));
    expect(pending.data).toEqual({
      artifact_location: `${pathToFileURL(join(storeRoot(), exp.experimentId)).href}/models/${model.modelId}/artifacts`,
      creation_timestamp: model.creationTimestamp,
      experiment_id: exp.experimentId,
      last_updated_timestamp: model.creationTimestamp,
      model_id: model.modelId,
      model_type: null,
      name: "model",
      source_run_id: run.runId,
      status: 1,
      status_message: null,
    });
    expect(await readText(dir, "params", "lr")).toBe("0.1");
    expect(await readText(dir, "tags", "t")).toBe("v");
    await store.finalizeLoggedModel(model.modelId, "READY");
    const ready = await readYamlFile(dir, "meta.yaml");
    expect(topLevelKeys(ready.raw)).toEqual(LOGGED_MODEL_KEYS);
    expect(ready.raw).toMatch(/^status: 2$/m);
  });

  it("finds a LoggedModel's files at its artifact_location, and refuses one that is not a local folder", async () => {
    const store = await FileStore.open(storeRoot());
    const model = await store.createLoggedModel("0");
    expect(await store.loggedModelArtifactDir(model.modelId)).toBe(join(storeRoot(), "0", "models", model.modelId, "artifacts"));
    const meta = join(storeRoot(), "0", "models", model.modelId, "meta.yaml");
    await writeFile(meta, (await readText(meta)).replace(/^artifact_location: .*$/m, "artifact_location: s3://bucket/models/x/artifacts"));
    await expectRejects(
      store.loggedModelArtifactDir(model.modelId),
      StoreError,
      "keeps its files at s3://bucket/models/x/artifacts, which is not a local folder",
    );
  });

  it("writes model metric lines with the run id as a 4th column, and the run's outputs link as the reference's", async () => {
    const store = await FileStore.open(storeRoot());
    const run = await store.createRun();
    const model = await store.createLoggedModel("0", { sourceRunId: run.runId });
    await store.logLoggedModelMetric(model.modelId, "accuracy", { value: 1, timestamp: 1796396223284, step: 0, runId: run.runId });
    expect(await readText(storeRoot(), "0", "models", model.modelId, "metrics", "accuracy")).toBe(`1796396223284 1.0 0 ${run.runId}\n`);
    await store.logRunOutput(run.runId, { modelId: model.modelId, step: 0 });
    const link = await readYamlFile(storeRoot(), "0", run.runId, "outputs", model.modelId, "meta.yaml");
    expect(topLevelKeys(link.raw)).toEqual(RUN_OUTPUT_KEYS);
    expect(link.data).toEqual({
      destination_id: model.modelId,
      destination_type: "MODEL_OUTPUT",
      source_id: model.modelId,
      source_type: "RUN_OUTPUT",
      step: 0,
      tags: {},
    });
  });
});
