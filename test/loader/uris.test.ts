// Every model URI form the loader accepts loads the same model, and every URI that leads nowhere
// fails with an error naming what was asked for and what exists nearby.
import { existsSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { join, relative } from "node:path";
import { pathToFileURL } from "node:url";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { ModelLoadError, ModelRegistry, NotFoundError, loadModel, type PipelineModel } from "../../src/index.js";
import { createModelArchive } from "../../src/store/index.js";
import { expectedScaler, rejects, scalerBody, tempDir, useScalerModel } from "./helpers.js";

const trained = useScalerModel();
const XS = [0.5, 3, 4];
let archive: string;

beforeAll(async () => {
  await new ModelRegistry(trained().trackingDir).setAlias("scaler-model", "champion", 1);
  archive = join(await tempDir("pipeserve-archive-"), "scaler.tar.gz");
  await createModelArchive(trained().modelDir, archive);
});

afterEach(() => {
  vi.unstubAllEnvs();
});

/** Loads, predicts, closes; returns the prediction and the model (closed). */
async function predictOnce(
  uri: string,
  options: Parameters<typeof loadModel>[1] = { trackingUri: trained().trackingDir },
): Promise<{ output: unknown; model: PipelineModel }> {
  const model = await loadModel(uri, options);
  try {
    return { output: await model.predict(scalerBody(XS)), model };
  } finally {
    await model.close();
  }
}

describe("each URI form loads the model and predicts the same output", () => {
  const forms: [string, () => string][] = [
    ["runs:/<id>/model", () => `runs:/${trained().runId}/model`],
    ["models:/<name>/<version>", () => "models:/scaler-model/1"],
    ["models:/<name>/latest", () => "models:/scaler-model/latest"],
    ["models:/<name>@<alias>", () => "models:/scaler-model@champion"],
    ["an absolute directory path", () => trained().modelDir],
    ["a relative directory path", () => relative(process.cwd(), trained().modelDir)],
    ["a file:// URL", () => pathToFileURL(trained().modelDir).href],
    ["a .tar.gz archive", () => archive],
    ["a file:// URL of a .tar.gz archive", () => pathToFileURL(archive).href],
  ];

  it.each(forms)("%s", async (_form, uri) => {
    const { output, model } = await predictOnce(uri());
    expect(output).toEqual(await expectedScaler(trained().modelDir, XS));
    expect(model.uri).toBe(uri());
    expect(model.metadata.runId).toBe(trained().runId);
  });

  it("records the registered name and version for models:/ URIs", async () => {
    for (const uri of ["models:/scaler-model/1", "models:/scaler-model/latest", "models:/scaler-model@champion"]) {
      const { model } = await predictOnce(uri);
      expect(model.metadata).toMatchObject({ registeredName: "scaler-model", version: 1 });
      expect(model.dir).toBe(trained().modelDir);
    }
  });

  it("extracts an archive into a private temp folder that close() removes", async () => {
    const model = await loadModel(archive);
    expect(model.dir).not.toBe(trained().modelDir);
    expect(existsSync(join(model.dir, "MLmodel"))).toBe(true);
    await model.close();
    expect(existsSync(model.dir)).toBe(false);
  });
});

describe("URIs that lead nowhere name what was asked for and what exists", () => {
  const notFound: [string, () => string, (string | RegExp)[]][] = [
    [
      "an unknown run",
      () => "runs:/0123456789abcdef0123456789abcdef/model",
      ['Run "0123456789abcdef0123456789abcdef" is not in the store at', "pipeserve runs list"],
    ],
    ["a run id that is no run id", () => "runs:/not-a-run/model", ['"not-a-run" is not a run id', "32 hexadecimal characters"]],
    ["an unknown registered model", () => "models:/no-such-model/1", ['Registered model "no-such-model" does not exist', "Registered models: [scaler-model]"]],
    ["an unknown version", () => "models:/scaler-model/7", ['Model "scaler-model" has no version 7', "Versions: [1]"]],
    ["an unknown alias", () => "models:/scaler-model@staging", ['Model "scaler-model" has no alias "staging"', "Aliases: [champion → 1]"]],
  ];
  it.each(notFound)("%s → NotFoundError", async (_why, uri, messages) => {
    const error = await rejects(loadModel(uri(), { trackingUri: trained().trackingDir }), NotFoundError, ...messages);
    expect(error.code).toBe("RESOURCE_DOES_NOT_EXIST");
  });

  it("an artifact path the run does not have → ModelLoadError naming the URI and the folder", async () => {
    const uri = `runs:/${trained().runId}/elsewhere`;
    const error = await rejects(
      loadModel(uri, { trackingUri: trained().trackingDir }),
      ModelLoadError,
      `${uri} resolves to`,
      "which is not a model directory (it does not exist)",
    );
    expect(error.code).toBe("MODEL_NOT_FOUND");
  });

  it("a data file given as the model (serve -m input.csv) → ModelLoadError saying it is a file, not a model", async () => {
    const file = join(trained().trackingDir, "input.csv");
    await writeFile(file, "x\n1\n");
    const error = await rejects(loadModel(file), ModelLoadError, `${file} is a file, not a model`, "pipeserve predict -i");
    expect(error.message).not.toContain("does not exist");
    expect(error.code).toBe("MODEL_NOT_FOUND");
  });

  it.each([
    ["a path", () => join(trained().trackingDir, "no-model-here")],
    ["a file:// URL", () => pathToFileURL(join(trained().trackingDir, "no-model-here")).href],
  ])("a missing directory given as %s → ModelLoadError naming it", async (_why, uri) => {
    const error = await rejects(loadModel(uri()), ModelLoadError, "no-model-here", "is not a model directory (it does not exist)");
    expect(error.code).toBe("MODEL_NOT_FOUND");
  });
});

describe("malformed URIs and unknown schemes list the accepted forms", () => {
  const malformed: [string, string, (string | RegExp)[]][] = [
    ["empty", "", ["A model URI is required", "runs:/<run_id>/model", "models:/<name>@<alias>"]],
    ["blank", "   ", ["A model URI is required"]],
    ["runs:/ without a path", "runs:/0123456789abcdef0123456789abcdef", ["Invalid run URI", "runs:/<run_id>/<artifact_path>"]],
    ["runs: with nothing", "runs:", ["Invalid run URI", "runs:/<run_id>/<artifact_path>"]],
    ["runs:/ climbing out of the run", "runs:/0123456789abcdef0123456789abcdef/../../x", ["Invalid artifact path", "runs:/<run_id>/model"]],
    [
      "models:/ without a version",
      "models:/scaler-model",
      ["Invalid model URI", "models:/<name>/<version>, models:/<name>/latest, models:/<name>@<alias> or models:/<model_id>"],
    ],
    ["models:/ with too many parts", "models:/scaler-model/1/extra", ["Invalid model URI", "models:/<name>/<version>"]],
    ["models:/ with an empty alias", "models:/scaler-model@", ["Invalid model URI", "models:/<name>@<alias>"]],
    ["models:/ with a stage instead of a version", "models:/scaler-model/Production", ["Invalid model URI", "models:/<name>/latest"]],
    ["models:/ with version 0", "models:/scaler-model/0", ["Invalid model URI", "models:/<name>/<version>"]],
    [
      "an s3:// URI",
      "s3://bucket/model",
      ['Unknown model URI scheme "s3:"', "Use runs:/, models:/, file://, mlflow-artifacts:/ (with a tracking server), a path, or a .tar.gz archive."],
    ],
    ["an https:// URL", "https://example.com/model", ['Unknown model URI scheme "https:"', "Use runs:/, models:/, file://"]],
    ["a data: URL", "data:text/javascript,process.exit(1)", ['Unknown model URI scheme "data:"']],
    ["a node: specifier", "node:fs", ['Unknown model URI scheme "node:"']],
    [
      "a mlflow-artifacts: URI with a local tracking store",
      "mlflow-artifacts:/0/abc/artifacts/model",
      ["names files a tracking server keeps, but the tracking URI is a local store", "--tracking-uri http://"],
    ],
  ];
  it.each(malformed)("%s → ModelLoadError INVALID_URI", async (_why, uri, messages) => {
    const error = await rejects(loadModel(uri, { trackingUri: trained().trackingDir }), ModelLoadError, ...messages);
    expect(error.code).toBe("INVALID_URI");
  });

  it("a .tar.gz that is not an archive → ModelLoadError INVALID_ARCHIVE naming the file", async () => {
    const bogus = join(await tempDir(), "bogus.tar.gz");
    await writeFile(bogus, "not gzip at all");
    const error = await rejects(loadModel(bogus), ModelLoadError, `Cannot load ${bogus}`, "is not a readable .tar.gz archive");
    expect(error.code).toBe("INVALID_ARCHIVE");
  });
});

describe("the tracking URI", () => {
  it("comes from the option, ahead of MLFLOW_TRACKING_URI", async () => {
    const empty = await tempDir("pipeserve-empty-tracking-");
    vi.stubEnv("MLFLOW_TRACKING_URI", empty);
    const { output } = await predictOnce("models:/scaler-model@champion", { trackingUri: trained().trackingDir });
    expect(output).toEqual(await expectedScaler(trained().modelDir, XS));
    // Without the option the (empty) store from the environment is searched, and says so.
    await rejects(loadModel("models:/scaler-model@champion"), NotFoundError, 'Registered model "scaler-model" does not exist. Registered models: [].');
  });

  it("accepts a file:// tracking URI", async () => {
    const { output } = await predictOnce(`runs:/${trained().runId}/model`, { trackingUri: pathToFileURL(trained().trackingDir).href });
    expect(output).toEqual(await expectedScaler(trained().modelDir, XS));
  });

  it("falls back to MLFLOW_TRACKING_URI when no option is given", async () => {
    vi.stubEnv("MLFLOW_TRACKING_URI", trained().trackingDir);
    const { output } = await predictOnce("models:/scaler-model/latest", {});
    expect(output).toEqual(await expectedScaler(trained().modelDir, XS));
  });
});
