// Model URIs over the FileStore MLflow 3.6 wrote (test/fixtures/mlflow-reference): the pipeserve
// model MLflow registered from run artifacts (`source`: an absolute file:// URI) loads and
// predicts; every way to reach the LoggedModel MLflow logged — its `models:/m-<id>`, the registry
// versions `mlflow.register_model` pointed at it, the alias, the run's `runs:/<run>/model` — leads
// to its files, and those are refused because it is a pyfunc model, by its flavor, not its URI.
import { rm } from "node:fs/promises";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ModelLoadError, ModelRegistry, NotFoundError, loadModel } from "../../src/index.js";
import { resolveModelUri } from "../../src/loader/index.js";
import { copyReferenceStore, REFERENCE, type ReferenceStore } from "../fixtures/mlflow-reference.js";
import { rejects } from "./helpers.js";

let ref: ReferenceStore;
let loggedModelDir: string;
let importedModelDir: string;

beforeAll(async () => {
  ref = await copyReferenceStore();
  loggedModelDir = join(ref.mlruns, REFERENCE.experimentId, "models", REFERENCE.modelId, "artifacts");
  importedModelDir = join(ref.mlruns, REFERENCE.experimentId, REFERENCE.importRunId, "artifacts", "model");
});

afterAll(async () => {
  await rm(dirname(ref.root), { recursive: true, force: true });
});

const PENGUINS = {
  columns: ["island", "bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g", "sex"],
  data: [
    ["Torgersen", 38.6, 17, 188, 2900, "FEMALE"],
    ["Biscoe", 46.5, 14.4, 217, 4900, "FEMALE"],
    ["Dream", 52.7, 19.8, 197, 3725, "MALE"],
  ],
};

describe("the pipeserve model MLflow registered (penguins-via-mlflow)", () => {
  it.each([["models:/penguins-via-mlflow/1"], ["models:/penguins-via-mlflow/latest"], [`runs:/${REFERENCE.importRunId}/model`]])(
    "%s loads from the run's artifacts and predicts",
    async (uri) => {
      const model = await loadModel(uri, { trackingUri: ref.mlruns });
      try {
        expect(model.dir).toBe(importedModelDir);
        // The model takes and returns plain columns (input_type: columns).
        const out = (await model.predict({ dataframe_split: PENGUINS })) as { species: string[]; probability: number[] };
        expect(Object.keys(out)).toEqual(["species", "probability"]);
        expect(out.species).toEqual(["Adelie", "Gentoo", "Chinstrap"]);
        for (const p of out.probability) expect(p).toBeGreaterThan(0.5);
      } finally {
        await model.close();
      }
    },
  );

  it("warns that the version has no pipeserve digest tag (MLflow registered it), and loads", async () => {
    const warnings: string[] = [];
    const model = await loadModel("models:/penguins-via-mlflow/1", { trackingUri: ref.mlruns, onWarning: (w) => warnings.push(w) });
    await model.close();
    expect(warnings.join("\n")).toContain("records no pipeserve.pipeline_sha256 tag");
  });
});

describe("the LoggedModel MLflow logged (a python_function model)", () => {
  const ways: [string, string][] = [
    ["its own URI", `models:/${REFERENCE.modelId}`],
    ["the alias of version 1 (source models:/m-…)", "models:/ref@champion"],
    ["version 2, which register_model resolved from runs:/ to models:/m-…", "models:/ref/2"],
    ["the latest version", "models:/ref/latest"],
    ["the run's runs:/<run>/model (the run has no model/ artifacts: MLflow 3 looks the name up)", `runs:/${REFERENCE.referenceRunId}/model`],
  ];

  it.each(ways)("%s resolves to the LoggedModel's artifacts", async (_way, uri) => {
    const resolved = await resolveModelUri(uri, { trackingUri: ref.mlruns });
    expect(resolved.dir).toBe(loggedModelDir);
    expect(resolved.modelId).toBe(REFERENCE.modelId);
    expect(resolved.runId).toBe(REFERENCE.referenceRunId);
  });

  it.each(ways)("%s is refused for its flavor, naming the flavor it has", async (_way, uri) => {
    const error = await rejects(
      loadModel(uri, { trackingUri: ref.mlruns }),
      ModelLoadError,
      `The model at ${loggedModelDir} has no pipeserve flavor (it has: python_function)`,
    );
    expect(error.code).toBe("UNSUPPORTED_FLAVOR");
  });

  it("an unknown LoggedModel id is a NotFoundError naming it", async () => {
    const id = "m-00000000000000000000000000000000";
    const error = await rejects(loadModel(`models:/${id}`, { trackingUri: ref.mlruns }), NotFoundError, `LoggedModel "${id}" is not in the store at`);
    expect(error.code).toBe("RESOURCE_DOES_NOT_EXIST");
  });

  it("a version whose LoggedModel is in no experiment of this store is read from its storage_location", async () => {
    const registry = new ModelRegistry(ref.mlruns);
    const id = "m-11111111111111111111111111111111";
    await registry.createVersion("elsewhere", `models:/${id}`, { modelId: id, storageLocation: pathToFileURL(importedModelDir).href });
    const resolved = await resolveModelUri("models:/elsewhere/1", { trackingUri: ref.mlruns });
    expect(resolved).toMatchObject({ dir: importedModelDir, modelId: id, registeredName: "elsewhere", version: 1 });
  });

  it("a version pointing at another registered model is still refused", async () => {
    const registry = new ModelRegistry(ref.mlruns);
    await registry.createVersion("loop", "models:/ref/1");
    const error = await rejects(
      loadModel("models:/loop/1", { trackingUri: ref.mlruns }),
      ModelLoadError,
      'Version 1 of "loop" points at another registered model (models:/ref/1)',
    );
    // NB: the registry's data, not the caller's URI: not INVALID_URI, which the command line reports as a usage error (exit 2).
    expect(error.code).toBe("MODEL_LOAD_ERROR");
  });
});
