// The tracking store's behaviour: run lifecycle, params, metrics, tags, keys, experiments, search,
// and the errors a caller sees for bad input.
import { readdir, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { FileStore, NotFoundError, StoreError } from "../../src/store/index.js";
import { expectRejects, readText, sleep, useTempDir } from "./helpers.js";

const tmp = useTempDir("pipeserve-filestore-");
const storeRoot = (): string => join(tmp(), "mlruns");
const openStore = (): Promise<FileStore> => FileStore.open(storeRoot());

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

describe("run lifecycle", () => {
  it("starts RUNNING with no end time, and getRunInfo reads it back", async () => {
    const store = await openStore();
    const before = Date.now();
    const run = await store.createRun({ runName: "baseline", userId: "ada" });
    expect(run).toMatchObject({ runName: "baseline", experimentId: "0", userId: "ada", status: "RUNNING", endTime: null, lifecycleStage: "active" });
    expect(run.startTime).toBeGreaterThanOrEqual(before);
    expect(await store.getRunInfo(run.runId)).toEqual(run);
    expect(await store.artifactDir(run.runId)).toBe(join(storeRoot(), "0", run.runId, "artifacts"));
  });

  it("names a run after its id when no name is given", async () => {
    const store = await openStore();
    const run = await store.createRun();
    expect(run.runName).toBe(`run-${run.runId.slice(0, 8)}`);
  });

  it.each(["FINISHED", "FAILED", "KILLED"] as const)("ends RUNNING → %s with an end time", async (status) => {
    const store = await openStore();
    const run = await store.createRun();
    const ended = await store.endRun(run.runId, status);
    expect(ended.status).toBe(status);
    expect(ended.endTime).toBeGreaterThanOrEqual(run.startTime);
    expect(await store.getRunInfo(run.runId)).toEqual(ended);
  });

  it("ends FINISHED by default", async () => {
    const store = await openStore();
    const run = await store.createRun();
    expect((await store.endRun(run.runId)).status).toBe("FINISHED");
  });

  it("is readable through a second store opened on the same folder", async () => {
    const store = await openStore();
    const run = await store.createRun({ runName: "shared" });
    await store.logParam(run.runId, "k", "v");
    const other = await openStore();
    const seen = await other.getRun(run.runId);
    expect(seen.info.runName).toBe("shared");
    expect(seen.params).toEqual({ k: "v" });
  });
});

describe("getRun", () => {
  it("returns params, tags (with mlflow.runName and mlflow.user) and the latest point of each metric", async () => {
    const store = await openStore();
    const run = await store.createRun({ runName: "r", userId: "ada", tags: { team: "ml" } });
    await store.logParams(run.runId, { lr: 0.01, model: "tree", depth: 3 });
    await store.setTags(run.runId, { stage: "dev" });
    // step wins over timestamp; among equal steps the later timestamp wins, whatever the file order.
    await store.logMetric(run.runId, "loss", 0.9, { step: 0, timestamp: 100 });
    await store.logMetric(run.runId, "loss", 0.5, { step: 2, timestamp: 300 });
    await store.logMetric(run.runId, "loss", 0.7, { step: 1, timestamp: 900 });
    await store.logMetric(run.runId, "loss", 0.4, { step: 2, timestamp: 200 });
    await store.logMetric(run.runId, "acc", 0.8, { step: 5, timestamp: 10 });
    const got = await store.getRun(run.runId);
    expect(got.info.runId).toBe(run.runId);
    expect(got.params).toEqual({ lr: "0.01", model: "tree", depth: "3" });
    expect(got.tags).toEqual({ "mlflow.runName": "r", "mlflow.user": "ada", team: "ml", stage: "dev" });
    expect(got.metrics).toEqual({
      loss: { step: 2, timestamp: 300, value: 0.5 },
      acc: { step: 5, timestamp: 10, value: 0.8 },
    });
  });

  it("returns the full metric history in logging order", async () => {
    const store = await openStore();
    const run = await store.createRun();
    for (let step = 0; step < 5; step++) await store.logMetric(run.runId, "loss", 1 / (step + 1), { step, timestamp: 1000 + step });
    const history = await store.getMetricHistory(run.runId, "loss");
    expect(history).toEqual([0, 1, 2, 3, 4].map((step) => ({ step, timestamp: 1000 + step, value: 1 / (step + 1) })));
    expect(await store.getMetricHistory(run.runId, "never-logged")).toEqual([]);
  });

  it("ignores a writer's leftover temp file in params/ but keeps keys that start with a dot", async () => {
    const store = await openStore();
    const run = await store.createRun();
    await store.logParam(run.runId, ".hidden", "kept");
    await store.logParam(run.runId, "lr", "0.1");
    await writeFile(join(storeRoot(), "0", run.runId, "params", ".lr.0123456789ab.tmp"), "0.2");
    expect((await store.getRun(run.runId)).params).toEqual({ ".hidden": "kept", lr: "0.1" });
  });
});

describe("params", () => {
  it("accepts the same value again", async () => {
    const store = await openStore();
    const run = await store.createRun();
    await store.logParam(run.runId, "lr", 0.1);
    await store.logParam(run.runId, "lr", 0.1);
    await store.logParam(run.runId, "lr", "0.1");
    expect((await store.getRun(run.runId)).params).toEqual({ lr: "0.1" });
  });

  it("refuses another value for a logged key, naming the key and both values", async () => {
    const store = await openStore();
    const run = await store.createRun();
    await store.logParam(run.runId, "lr", 0.1);
    await expectRejects(store.logParam(run.runId, "lr", 0.2), StoreError, 'Param "lr" was already logged as "0.1"; params cannot change (tried "0.2").');
    expect(await readText(storeRoot(), "0", run.runId, "params", "lr")).toBe("0.1");
  });
});

describe("keys", () => {
  it.each([
    ["param", "params"],
    ["metric", "metrics"],
    ["tag", "tags"],
  ] as const)("turns '/' in a %s key into sub-folders", async (kind, folder) => {
    const store = await openStore();
    const run = await store.createRun();
    const key = "eval/test/auc";
    if (kind === "param") await store.logParam(run.runId, key, "1");
    if (kind === "metric") await store.logMetric(run.runId, key, 1, { timestamp: 5 });
    if (kind === "tag") await store.setTag(run.runId, key, "1");
    const dir = join(storeRoot(), "0", run.runId, folder);
    expect((await stat(join(dir, "eval", "test"))).isDirectory()).toBe(true);
    expect(await readdir(join(dir, "eval", "test"))).toEqual(["auc"]);
    const got = await store.getRun(run.runId);
    const section = kind === "param" ? got.params : kind === "tag" ? got.tags : got.metrics;
    expect(Object.keys(section)).toContain(key);
  });

  const badKeys: [string, string][] = [
    ["../x", "climbs out of its folder"],
    ["a/../../x", "climbs out through a middle part"],
    ["", "is empty"],
    ["a//b", "has an empty path part"],
    ["a/./b", "has a '.' path part"],
    ["/abs", "starts with a slash"],
    ["a/", "ends with a slash"],
    ["a\\b", "holds a backslash"],
    ["x".repeat(251), "is longer than 250 characters"],
  ];

  it.each(badKeys)("rejects the key %j, which %s", async (key) => {
    const store = await openStore();
    const run = await store.createRun();
    const shown = JSON.stringify(key);
    await expectRejects(store.logParam(run.runId, key, "v"), StoreError, `Invalid param name ${shown}: use letters, digits, _ - . / and spaces`);
    await expectRejects(store.logMetric(run.runId, key, 1), StoreError, `Invalid metric name ${shown}`);
    await expectRejects(store.setTag(run.runId, key, "v"), StoreError, `Invalid tag name ${shown}`);
    await expectRejects(store.getMetricHistory(run.runId, key), StoreError, `Invalid metric name ${shown}`);
    expect(await exists(join(storeRoot(), "0", run.runId, "x"))).toBe(false);
    expect(await exists(join(storeRoot(), "0", "x"))).toBe(false);
  });

  it("rejects a metric value that is no number, naming it", async () => {
    const store = await openStore();
    const run = await store.createRun();
    await expectRejects(store.logMetric(run.runId, "acc", "0.5" as unknown as number), StoreError, 'Metric "acc" must be a number, got "0.5".');
  });

  // Found by an audit: NaN was refused, where MLflow logs it (a metric undefined for a split).
  it("logs NaN as MLflow's file store writes it (nan), and reads it back", async () => {
    const store = await openStore();
    const run = await store.createRun();
    await store.logMetric(run.runId, "auc", Number.NaN, { timestamp: 5, step: 0 });
    expect(await readText(join(storeRoot(), "0", run.runId, "metrics", "auc"))).toBe("5 nan 0\n");
    expect((await store.getRun(run.runId)).metrics["auc"]?.value).toBeNaN();
  });
});

describe("experiments", () => {
  it("getOrCreateExperiment creates once, then returns the same experiment", async () => {
    const store = await openStore();
    const a = await store.getOrCreateExperiment("penguins");
    const b = await store.getOrCreateExperiment("penguins");
    expect(b).toEqual(a);
    expect((await store.listExperiments()).map((e) => e.name)).toEqual(["Default", "penguins"]);
  });

  it("getExperiment finds an experiment by id or by name", async () => {
    const store = await openStore();
    const exp = await store.getOrCreateExperiment("penguins");
    expect(await store.getExperiment(exp.experimentId)).toEqual(exp);
    expect(await store.getExperiment("penguins")).toEqual(exp);
    expect((await store.getExperiment("0")).name).toBe("Default");
    expect((await store.getExperiment("Default")).experimentId).toBe("0");
    expect(await store.getExperimentByName("nope")).toBeUndefined();
  });

  it("getExperiment names the experiments that exist when none matches", async () => {
    const store = await openStore();
    const exp = await store.getOrCreateExperiment("penguins");
    await expectRejects(
      store.getExperiment("pengiuns"),
      NotFoundError,
      `No experiment named or numbered "pengiuns". Experiments: Default (0), penguins (${exp.experimentId}).`,
    );
  });

  it.each([
    ["", "empty"],
    ["   ", "blank"],
  ])("getOrCreateExperiment rejects the name %j (%s)", async (name) => {
    const store = await openStore();
    await expectRejects(store.getOrCreateExperiment(name), StoreError, "An experiment name must be a non-empty string.");
  });

  it("createRun refuses an experiment that does not exist", async () => {
    const store = await openStore();
    await expectRejects(store.createRun({ experimentId: "123" }), NotFoundError, 'Experiment "123" does not exist.');
  });

  it.each([
    ["../other/0", "climbs into another store"],
    ["models", "is the registry folder"],
    [".trash", "is the trash folder"],
  ])("createRun and searchRuns refuse the experiment id %j, which %s", async (experimentId) => {
    // A second store beside this one, whose Default experiment the id would reach.
    await FileStore.open(join(tmp(), "other"));
    const store = await openStore();
    await expectRejects(store.createRun({ experimentId }), NotFoundError, `Experiment "${experimentId}" does not exist.`);
    await expectRejects(store.searchRuns({ experimentIds: [experimentId] }), NotFoundError, `Experiment "${experimentId}" does not exist.`);
    expect((await readdir(join(tmp(), "other", "0"))).filter((n) => n !== "meta.yaml")).toEqual([]);
  });
});

describe("searchRuns", () => {
  it("lists the runs of an experiment newest first", async () => {
    const store = await openStore();
    const exp = await store.getOrCreateExperiment("search");
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      ids.push((await store.createRun({ experimentId: exp.experimentId, runName: `r${i}` })).runId);
      await sleep(3);
    }
    const other = await store.createRun({ runName: "in default" });
    const found = await store.searchRuns({ experimentIds: [exp.experimentId] });
    expect(found.map((r) => r.runId)).toEqual([...ids].reverse());
    expect(found.map((r) => r.runName)).toEqual(["r2", "r1", "r0"]);
    expect(found.every((r) => r.experimentId === exp.experimentId)).toBe(true);
    expect((await store.searchRuns()).map((r) => r.runId)).toEqual([other.runId, ...[...ids].reverse()]);
    expect(await store.searchRuns({ experimentIds: ["0"] })).toEqual([await store.getRunInfo(other.runId)]);
  });

  it("refuses an unknown experiment", async () => {
    const store = await openStore();
    await expectRejects(store.searchRuns({ experimentIds: ["42"] }), NotFoundError, 'Experiment "42" does not exist.');
  });
});

describe("unknown and malformed run ids", () => {
  const missing = "0123456789abcdef0123456789abcdef";
  const calls: [string, (s: FileStore, id: string) => Promise<unknown>][] = [
    ["getRun", (s, id) => s.getRun(id)],
    ["getRunInfo", (s, id) => s.getRunInfo(id)],
    ["endRun", (s, id) => s.endRun(id)],
    ["logParam", (s, id) => s.logParam(id, "k", "v")],
    ["logMetric", (s, id) => s.logMetric(id, "k", 1)],
    ["setTag", (s, id) => s.setTag(id, "k", "v")],
    ["artifactDir", (s, id) => s.artifactDir(id)],
  ];

  it.each(calls)("%s on a run that is not in the store says where it looked and how to list runs", async (_name, call) => {
    const store = await openStore();
    await expectRejects(call(store, missing), NotFoundError, `Run "${missing}" is not in the store at ${storeRoot()}. List runs with \`pipeserve runs list\`.`);
  });

  it.each([
    ["abc", "too short"],
    ["0123456789ABCDEF0123456789ABCDEF", "upper case"],
    ["../0/0123456789abcdef0123456789abc", "a path"],
    ["0123456789abcdef0123456789abcdeg", "not hex"],
  ])("rejects the malformed run id %j (%s) with the accepted form", async (runId) => {
    const store = await openStore();
    await expectRejects(store.getRun(runId), NotFoundError, `"${runId}" is not a run id: run ids are 32 hexadecimal characters.`);
    await expectRejects(store.logParam(runId, "k", "v"), NotFoundError, "run ids are 32 hexadecimal characters");
  });

  it("has stable error codes", async () => {
    const store = await openStore();
    const notFound = await expectRejects(store.getRun(missing), NotFoundError, missing);
    expect(notFound).toBeInstanceOf(StoreError);
    expect(notFound.code).toBe("RESOURCE_DOES_NOT_EXIST");
    const run = await store.createRun();
    const bad = await expectRejects(store.logParam(run.runId, "", "v"), StoreError, "Invalid param name");
    expect(bad.code).toBe("INVALID_PARAMETER_VALUE");
  });
});
