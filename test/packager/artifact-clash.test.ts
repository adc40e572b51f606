import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PackagingError } from "../../src/index.js";
import { writeModel } from "../../src/packager/index.js";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "pipeserve-clash-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("artifact file names", () => {
  it("refuses two artifacts that would land on one file, and writes no model", async () => {
    await writeFile(join(dir, "one.json"), "1");
    await writeFile(join(dir, "two.json"), "2");
    const contents: Parameters<typeof writeModel>[1] = {
      nodes: [],
      inputName: "instances",
      outputName: "predictions",
      copyMode: "assign",
      runner: "SequentialRunner",
      inputType: "dataframe",
      rowWise: false,
      artifacts: { "a b": { source: join(dir, "one.json"), type: "JsonArtifactDataset" }, a_b: { source: join(dir, "two.json"), type: "JsonArtifactDataset" } },
      parameters: {},
      bundle: { code: "export const inference = null;", packages: {} },
      signature: null,
    };
    const error = await writeModel(join(dir, "model"), contents).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PackagingError);
    expect((error as Error).message).toBe('Artifacts "a b" and "a_b" would both be stored as artifacts/a_b.json. Rename one of the datasets.');
    expect((await readdir(dir)).sort()).toEqual(["one.json", "two.json"]);
  });
});
