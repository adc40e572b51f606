// modelify(): packages a plain inference pipeline from artifacts that already exist (here the
// fixture's artifacts/weights.json), into a new run or an existing one, and registers it.
import { mkdir, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import {
  FileStore,
  ModelLoadError,
  ModelRegistry,
  NotFoundError,
  PackagingError,
  PipeserveError,
  loadModel,
  modelify,
  runProject,
  type ColumnTable,
} from "../../src/index.js";
import { copyProject, readJson, readYaml11, rejects, sha256Of, tempDir } from "./helpers.js";
import { loggedModelDir } from "../fixtures/model-dir.js";

let project: string;
let tracking: string;

beforeAll(async () => {
  project = await copyProject("modelify");
  tracking = await tempDir("pipeserve-tracking-");
});

describe("modelify()", () => {
  it("packages into a new FINISHED run, with the existing artifact byte for byte, and registers it", async () => {
    const result = await modelify({
      projectDir: project,
      pipelineName: "inference",
      inputName: "instances",
      trackingUri: tracking,
      registeredModelName: "modelified",
    });
    expect(result.modelUri).toBe(`runs:/${result.runId}/model`);
    expect(result.registeredVersion).toEqual({ name: "modelified", version: 1 });
    const store = await FileStore.open(tracking);
    const run = await store.getRun(result.runId);
    expect(run.info.status).toBe("FINISHED");
    expect(run.tags["pipeserve.modelify"]).toBe("inference");
    const dir = await loggedModelDir(store.root, result.runId);
    const pipelineJson = await readJson(join(dir, "pipeline.json"));
    expect(pipelineJson.artifacts.weights.sha256).toBe(await sha256Of(join(project, "artifacts", "weights.json")));
    expect(pipelineJson.parameters).toEqual({ bias: 0.25 });
    const m = await readYaml11(join(dir, "MLmodel"));
    expect(m["flavors"]["pipeserve"]).toMatchObject({ input_name: "instances", output_name: "predictions", copy_mode: "assign", runner: "SequentialRunner" });
    expect(JSON.parse(m["signature"]["inputs"])).toEqual([{ type: "double", name: "x", required: true }]);
    expect(JSON.parse(m["signature"]["params"])[0]).toEqual({ name: "bias", default: 0.25, shape: null, type: "double" });

    const model = await loadModel("models:/modelified/1", { trackingUri: tracking });
    try {
      expect(((await model.predict({ x: [1, 2] })) as ColumnTable).columns[0]).toEqual([3.25, 5.25]);
    } finally {
      await model.close();
    }
  });

  it("packages into an existing run, under another artifact path and copy mode, leaving the run's status alone", async () => {
    const trained = await runProject({ projectDir: project, pipelineName: "train", trackingUri: tracking });
    expect(trained.modelUri).toBeUndefined();
    const result = await modelify({
      projectDir: project,
      pipelineName: "inference",
      inputName: "instances",
      trackingUri: tracking,
      runId: trained.runId,
      artifactPath: "served",
      copyMode: "deepcopy",
    });
    expect(result).toEqual({ runId: trained.runId, modelUri: `runs:/${trained.runId}/served`, modelId: expect.stringMatching(/^m-[0-9a-f]{32}$/) });
    const store = await FileStore.open(tracking);
    // The model is the run's LoggedModel named "served"; the run's own artifacts stay empty.
    expect(await readdir(await store.artifactDir(trained.runId))).toEqual([]);
    const served = await loggedModelDir(tracking, trained.runId, "served");
    expect((await store.getLoggedModel(result.modelId)).name).toBe("served");
    const m = await readYaml11(join(served, "MLmodel"));
    expect(m).toMatchObject({ run_id: trained.runId, model_id: result.modelId, artifact_path: (await store.getLoggedModel(result.modelId)).artifactLocation });
    expect(m["flavors"]["pipeserve"]["copy_mode"]).toBe("deepcopy");
    // The weights the `train` run just wrote, not the ones the fixture shipped with.
    const weights = await readFile(join(project, "artifacts", "weights.json"), "utf8");
    expect(JSON.parse(weights).slope).not.toBe(2);
    expect(await readFile(join(served, "artifacts", "weights.json"), "utf8")).toBe(weights);
    expect((await store.getRun(trained.runId)).info.status).toBe("FINISHED");
  });

  it.each([
    [
      "an input name that is not an input",
      { pipelineName: "inference", inputName: "rows" },
      ['--input-name "rows" is not an input of pipeline "inference"', "Its inputs: [instances, weights, params:bias]"],
    ],
    [
      "a pipeline with two outputs",
      { pipelineName: "two_outputs", inputName: "instances" },
      ['Pipeline "two_outputs" must have exactly one output', "[predictions, rows]"],
    ],
    [
      "an unknown pipeline",
      { pipelineName: "inferense", inputName: "instances" },
      ['has no pipeline "inferense"', "Pipelines: [train, inference, two_outputs]"],
    ],
  ])("rejects %s before creating a run", async (_why, options, messages) => {
    const store = await tempDir("pipeserve-tracking-");
    await rejects(modelify({ projectDir: project, trackingUri: store, ...options }), PackagingError, ...messages);
    expect(await readdir(store)).toEqual([]);
  });

  it.each([
    [
      "no sample input for it in the catalog",
      (text: string) => text.replace(/^instances:\n(?: {2}.*\n)+/m, ""),
      ['the catalog has no "instances": add it to conf/catalog.yml'],
    ],
    [
      "a sample input that cannot be read",
      (text: string) => text.replace("data/instances.csv", "data/missing.csv"),
      ['Could not read the sample input "instances" (conf/catalog.yml), which modelify infers the signature from'],
    ],
  ])("rejects %s before creating a run, saying where it goes", async (_why, edit, messages) => {
    const own = await copyProject("modelify");
    const catalog = join(own, "conf", "catalog.yml");
    await writeFile(catalog, edit(await readFile(catalog, "utf8")));
    const store = await tempDir("pipeserve-tracking-");
    const error = await rejects(
      modelify({ projectDir: own, pipelineName: "inference", inputName: "instances", trackingUri: store }),
      PackagingError,
      ...messages,
    );
    expect(error.code).toBe("NO_EXAMPLE");
    expect(await readdir(store)).toEqual([]);
  });

  it("rejects a run id that is not in the store", async () => {
    await rejects(
      modelify({ projectDir: project, pipelineName: "inference", inputName: "instances", trackingUri: tracking, runId: "0123456789abcdef0123456789abcdef" }),
      NotFoundError,
      'Run "0123456789abcdef0123456789abcdef" is not in the store',
    );
  });

  it("a packaging that fails leaves a FAILED LoggedModel; packaging into the run again works, and runs:/ reaches the READY one", async () => {
    const trained = await runProject({ projectDir: project, pipelineName: "train", trackingUri: tracking });
    const weights = join(project, "artifacts", "weights.json");
    const saved = await readFile(weights);
    const options = {
      projectDir: project,
      pipelineName: "inference",
      inputName: "instances",
      trackingUri: tracking,
      runId: trained.runId,
      artifactPath: "retry",
    };
    // NB: a folder where the artifact's file should be fails the packaging after the LoggedModel is made
    // (a missing file is refused before any run or model is made).
    await rm(weights);
    await mkdir(weights);
    try {
      await rejects(modelify(options), PipeserveError, "weights");
    } finally {
      await rm(weights, { recursive: true });
      await writeFile(weights, saved);
    }
    const store = await FileStore.open(tracking);
    const mine = async () => (await store.searchLoggedModels()).filter((m) => m.sourceRunId === trained.runId && m.name === "retry");
    const [failed] = await mine();
    expect(failed).toMatchObject({ status: "FAILED", statusMessage: expect.stringContaining("weights") });
    // Until a packaging succeeds, runs:/ says the one there failed, and why.
    await rejects(
      loadModel(`runs:/${trained.runId}/retry`, { trackingUri: tracking }),
      ModelLoadError,
      `runs:/${trained.runId}/retry: run ${trained.runId} began packaging the model "retry" (${failed?.modelId}), and that failed: `,
      "weights",
      "Train it again with `pipeserve run`.",
    );
    const again = await modelify(options);
    expect((await mine()).map((m) => [m.modelId, m.status])).toEqual([
      [again.modelId, "READY"],
      [failed?.modelId, "FAILED"],
    ]);
    const model = await loadModel(`runs:/${trained.runId}/retry`, { trackingUri: tracking });
    try {
      expect(model.metadata.modelId).toBe(again.modelId);
    } finally {
      await model.close();
    }
  });

  it("refuses a second model at the same path of a run", async () => {
    const first = await modelify({ projectDir: project, pipelineName: "inference", inputName: "instances", trackingUri: tracking });
    await rejects(
      modelify({ projectDir: project, pipelineName: "inference", inputName: "instances", trackingUri: tracking, runId: first.runId }),
      PackagingError,
      `Run ${first.runId} already has a model named "model" (runs:/${first.runId}/model); models are immutable.`,
    );
    expect((await new ModelRegistry(tracking).listModels()).map((m) => m.name)).toEqual(["modelified"]);
  });
});
