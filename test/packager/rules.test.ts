// runProject() checks every pipelineMl rule before the first training node runs, and before a run
// is created: each fixture below breaks one rule, and its training node writes a marker file
// ($PIPESERVE_TEST_MARKER) that must not exist afterwards. A run that fails once it has started
// (a throwing training node, an inference pipeline that fails on the example) ends FAILED, with
// no model and no registered version.
import { existsSync } from "node:fs";
import { readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  DatasetError,
  FileStore,
  ModelLoadError,
  ModelRegistry,
  NodeError,
  NotFoundError,
  PackagingError,
  StoreError,
  loadModel,
  runProject,
} from "../../src/index.js";
import { copyProject, rejects, tempDir } from "./helpers.js";

let marker: string;
let tracking: string;

beforeEach(async () => {
  marker = join(await tempDir("pipeserve-marker-"), "trained");
  tracking = join(await tempDir("pipeserve-tracking-"), "mlruns");
  process.env["PIPESERVE_TEST_MARKER"] = marker;
});
afterEach(async () => {
  delete process.env["PIPESERVE_TEST_MARKER"];
  await rm(marker, { force: true });
});

type ErrorClass = typeof PackagingError | typeof DatasetError;
type RuleCase = [why: string, project: string, pipeline: string, cls: ErrorClass, code: string, messages: string[]];

const RULES: RuleCase[] = [
  [
    "an artifact that is not in the catalog (it would live only in memory)",
    "broken",
    "memory_artifact",
    PackagingError,
    "INVALID_PIPELINE_ML",
    ["cannot be packaged", '"unsaved_stats" is not in the catalog, so it would live only in memory', "add it to catalog.yml with a file type"],
  ],
  [
    "an artifact declared as a MemoryDataset",
    "broken",
    "declared_memory",
    PackagingError,
    "INVALID_PIPELINE_ML",
    ['"stats_mem" is a MemoryDataset, which keeps nothing after the run', "declare it in catalog.yml with a file type and a filepath"],
  ],
  [
    "an inference pipeline with two outputs",
    "rules-two-outputs",
    "training",
    PackagingError,
    "INVALID_PROJECT",
    ["must have exactly one output", "[predictions, explanation]", "Combine them in a final node"],
  ],
  [
    "an inputName that is not an inference input",
    "rules-bad-input-name",
    "training",
    PackagingError,
    "INVALID_PROJECT",
    ['inputName "features" is not an input of the inference pipeline', "[instances, stats]", "set inputName to"],
  ],
  [
    "an inference input training does not produce",
    "rules-orphan-input",
    "training",
    PackagingError,
    "INVALID_PROJECT",
    ["Inference input(s) [lookup]", "nor an output of the training pipeline"],
  ],
  [
    "an inference params: input that parameters.yml does not define",
    "broken",
    "missing_param",
    PackagingError,
    "MISSING_INPUTS",
    ['Pipeline "missing_param" needs [params:thresold], which neither catalog.yml nor parameters.yml provide'],
  ],
  [
    "an artifact file dataset without a filepath",
    "rules-missing-filepath",
    "training",
    DatasetError,
    "INVALID_DATASET",
    ['Dataset "stats" of type JsonArtifactDataset needs a "filepath" string'],
  ],
];

describe("rules are checked before any training node runs and before a run is created", () => {
  it.each(RULES)("rejects %s", async (_why, name, pipelineName, cls, code, messages) => {
    const project = await copyProject(name);
    const error = await rejects<PackagingError | DatasetError>(runProject({ projectDir: project, pipelineName, trackingUri: tracking }), cls, ...messages);
    expect((error as PackagingError).code).toBe(code);
    expect(existsSync(marker), "a training node ran").toBe(false);
    expect(existsSync(tracking), "a run store was created").toBe(false);
    expect(await readdir(join(project, "data"))).toEqual(["raw.csv"]);
  });

  it("names the project file when a rule breaks at import time, and keeps the rule's error as the cause", async () => {
    const project = await copyProject("rules-two-outputs");
    const error = await rejects(
      runProject({ projectDir: project, pipelineName: "training", trackingUri: tracking }),
      PackagingError,
      `Importing ${join(project, "pipelines.ts")} failed`,
    );
    expect(error.cause).toBeInstanceOf(PackagingError);
    expect((error.cause as PackagingError).code).toBe("INVALID_PIPELINE_ML");
  });
});

describe("bad input to runProject", () => {
  it("an unknown pipeline name lists the project's pipelines", async () => {
    const project = await copyProject("linear");
    const error = await rejects(
      runProject({ projectDir: project, pipelineName: "trainig", trackingUri: tracking }),
      PackagingError,
      'has no pipeline "trainig"',
      "Pipelines: [training, plain]",
    );
    expect(error.code).toBe("UNKNOWN_PIPELINE");
    expect(existsSync(tracking)).toBe(false);
  });

  it("a bad --params entry says how to write one", async () => {
    const project = await copyProject("linear");
    const error = await rejects(
      runProject({ projectDir: project, pipelineName: "training", trackingUri: tracking, params: ["scale"] }),
      PackagingError,
      'Invalid --params entry "scale"',
      "key=value",
    );
    expect(error.code).toBe("INVALID_PARAMS");
    expect(existsSync(tracking)).toBe(false);
  });

  it("a folder that does not exist", async () => {
    const missing = join(await tempDir(), "nowhere");
    await rejects(
      runProject({ projectDir: missing, pipelineName: "training", trackingUri: tracking }),
      PackagingError,
      `Project folder ${missing} does not exist`,
    );
  });

  it("a folder without pipelines.ts", async () => {
    const empty = await tempDir("pipeserve-empty-project-");
    await rejects(
      runProject({ projectDir: empty, pipelineName: "training", trackingUri: tracking }),
      PackagingError,
      "has no pipelines file",
      "add pipelines.ts exporting `pipelines`",
    );
  });

  it("a tracking URI whose scheme is no store", async () => {
    const project = await copyProject("linear");
    await rejects(
      runProject({ projectDir: project, pipelineName: "plain", trackingUri: "databricks://workspace" }),
      StoreError,
      'the scheme "databricks:" is not one pipeserve can use',
      "Supported: a folder (./mlruns, file:///abs/path), sqlite:///path.db",
    );
  });
});

describe("a run that fails after it started", () => {
  async function expectNoModel(runId: string): Promise<void> {
    const store = await FileStore.open(tracking);
    const run = await store.getRun(runId);
    expect(run.info.status).toBe("FAILED");
    expect(run.info.endTime).not.toBeNull();
    expect(await readdir(await store.artifactDir(runId)), "the run's artifacts").toEqual([]);
    await rejects(loadModel(`runs:/${runId}/model`, { trackingUri: tracking }), ModelLoadError, `runs:/${runId}/model: run ${runId} `, "failed");
    await rejects(new ModelRegistry(tracking).getModel("failing-model"), NotFoundError, 'Registered model "failing-model" does not exist');
  }

  async function onlyRun(): Promise<string> {
    const runs = await (await FileStore.open(tracking)).searchRuns();
    expect(runs).toHaveLength(1);
    return (runs[0] as { runId: string }).runId;
  }

  it("a training node that throws: FAILED, nothing packaged, nothing registered", async () => {
    const project = await copyProject("broken");
    const error = await rejects(
      runProject({ projectDir: project, pipelineName: "diverging", trackingUri: tracking }),
      NodeError,
      'Node "train" failed: diverged: loss is NaN',
    );
    expect(error.nodeName).toBe("train");
    expect(existsSync(marker), "the first training node ran").toBe(true);
    const runId = await onlyRun();
    await expectNoModel(runId);
    const run = await (await FileStore.open(tracking)).getRun(runId);
    expect(run.tags["pipeserve.pipeline"]).toBe("diverging");
  });

  it("an inference pipeline that fails on the input example: FAILED, nothing packaged, nothing registered", async () => {
    const project = await copyProject("broken");
    const error = await rejects(
      runProject({ projectDir: project, pipelineName: "bad_inference", trackingUri: tracking }),
      PackagingError,
      "Running the inference pipeline on the input example failed, so it would fail when served",
      'Node "reject" failed: inference cannot handle 4 rows',
    );
    expect(error.code).toBe("INFERENCE_CHECK_FAILED");
    expect(existsSync(marker), "training ran to the end").toBe(true);
    await expectNoModel(await onlyRun());
  });
});
