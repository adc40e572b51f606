import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BatchError, FormatError, loadModel, predictFile, type PipelineModel } from "../../src/index.js";
import { SCALER_PROJECT, XS, tempDir, useTrainedModel, writeInput, xTable } from "./helpers.js";

const trained = useTrainedModel(SCALER_PROJECT);
let model: PipelineModel;
beforeAll(async () => {
  model = await loadModel(trained().modelDir);
});
afterAll(async () => {
  await model.close();
});

describe("an output folder that does not exist", () => {
  it.each(["csv", "parquet", "arrow", "jsonl", "json"] as const)("%s: a clear error, no crash, nothing written", async (format) => {
    const dir = await tempDir();
    const input = await writeInput(join(dir, "in.csv"), xTable(XS), "csv");
    const output = join(dir, "missing", `out.${format}`);
    const run = predictFile(model, { input, output });
    await expect(run).rejects.toThrow(/the folder .*missing does not exist\. Create it first\./);
    await expect(predictFile(model, { input, output })).rejects.toSatisfy((e) => e instanceof FormatError || e instanceof BatchError);
    expect(await readdir(dir)).toEqual(["in.csv"]);
  });
});
