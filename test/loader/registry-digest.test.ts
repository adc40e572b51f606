// Integrity is not authenticity (issue 14, item 12): the sha256 list lives in the model it
// protects, so code edited with every hash recomputed passes the model's own check. A registered
// version records the sha256 of its pipeline.json as a version tag; loading through models:/
// (version, alias, latest) and exporting from models:/ refuse a model whose pipeline.json is no
// longer that one, naming both digests, before any of its code runs. Loading the folder by path
// (or runs:/) still works: those name files, not a registered version.
import { appendFile, readFile } from "node:fs/promises";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { ModelLoadError, ModelRegistry, loadModel } from "../../src/index.js";
import { PIPELINE_SHA256_TAG } from "../../src/store/index.js";
import { fails } from "../cli/helpers.js";
import { SCALER_PROJECT, type TrainedModel, editJson, editMLmodel, rejects, sha256Of, tempDir, train } from "./helpers.js";

const MARK = "__pipeserveTamperedImports";
const imports = (): number => ((globalThis as Record<string, unknown>)[MARK] as number | undefined) ?? 0;

let trained: TrainedModel;
let registered: string;

beforeAll(async () => {
  trained = await train(SCALER_PROJECT, "training");
  registered = await sha256Of(join(trained.modelDir, "pipeline.json"));
  await new ModelRegistry(trained.trackingDir).setAlias("scaler-model", "champion", 1);
}, 60_000);

describe("registering", () => {
  it("records the sha256 of pipeline.json as a version tag, in MLflow's layout", async () => {
    const mv = await new ModelRegistry(trained.trackingDir).getVersion("scaler-model", 1);
    expect(mv.tags).toEqual({ [PIPELINE_SHA256_TAG]: registered });
    const raw = await readFile(join(trained.trackingDir, "models", "scaler-model", "version-1", "tags", PIPELINE_SHA256_TAG), "utf8");
    expect(raw).toBe(registered);
  });

  it("an untouched model loads through models:/ without a warning", async () => {
    const warnings: string[] = [];
    const model = await loadModel("models:/scaler-model/1", { trackingUri: trained.trackingDir, onWarning: (w) => warnings.push(w) });
    await model.close();
    expect(warnings).toEqual([]);
  });

  it("a version registered without the tag (by MLflow, or an older pipeserve) loads, with a warning that it cannot be checked", async () => {
    await new ModelRegistry(trained.trackingDir).createVersion("untagged", trained.modelUri, { runId: trained.runId });
    const warnings: string[] = [];
    const model = await loadModel("models:/untagged/1", { trackingUri: trained.trackingDir, onWarning: (w) => warnings.push(w) });
    await model.close();
    expect(warnings).toEqual([expect.stringContaining(`models:/untagged/1 (version 1 of registered model "untagged") records no ${PIPELINE_SHA256_TAG} tag`)]);
  });
});

describe("a registered model whose code was edited and every hash recomputed", () => {
  let tampered: string;

  beforeAll(async () => {
    const dir = trained.modelDir;
    // The edit runs as soon as the bundle is imported: it counts its own imports.
    await appendFile(join(dir, "code", "pipeline.mjs"), `\nglobalThis.${MARK} = (globalThis.${MARK} ?? 0) + 1;\n`);
    const codeSha = await sha256Of(join(dir, "code", "pipeline.mjs"));
    await editJson(join(dir, "pipeline.json"), (p) => {
      p["code"].sha256 = codeSha;
    });
    await editMLmodel(dir, (m) => {
      m["model_size_bytes"] = Number(m["model_size_bytes"] ?? 0) + 60;
    });
    tampered = await sha256Of(join(dir, "pipeline.json"));
  });

  it.each(["models:/scaler-model/1", "models:/scaler-model@champion", "models:/scaler-model/latest"])(
    "%s is refused, naming the expected and found digests, before its code runs",
    async (uri) => {
      const error = await rejects(
        loadModel(uri, { trackingUri: trained.trackingDir }),
        ModelLoadError,
        `Refusing to load ${uri}`,
        `expected sha256 ${registered}, found ${tampered}`,
        PIPELINE_SHA256_TAG,
        "changed after registration",
      );
      expect(error.code).toBe("REGISTRY_DIGEST_MISMATCH");
      expect(imports(), "the edited code ran").toBe(0);
    },
  );

  it("pipeserve export refuses it from models:/, so an archive cannot launder it into another store", async () => {
    const out = join(await tempDir(), "x.tar.gz");
    await fails(["export", "-m", "models:/scaler-model/1", "-o", out, "--tracking-uri", trained.trackingDir], 1, [`found ${tampered}`]);
  });

  it.each([
    ["its folder", () => trained.modelDir],
    ["runs:/", () => trained.modelUri],
  ])("still loads and runs by %s: integrity only, as the README says", async (_how, uri) => {
    const before = imports();
    const model = await loadModel(uri(), { trackingUri: trained.trackingDir });
    try {
      expect(imports(), "the edited code ran").toBe(before + 1);
      expect(await model.predict({ x: [1] })).toBeDefined();
    } finally {
      await model.close();
    }
  });
});
