import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FileStore, runProject } from "../../src/index.js";
import { loggedModelDir } from "../fixtures/model-dir.js";

const project = join(import.meta.dirname, "..", "fixtures", "projects", "scaler");
let tracking: string;
beforeAll(async () => {
  tracking = await mkdtemp(join(tmpdir(), "pipeserve-float-params-"));
});
afterAll(async () => {
  await rm(tracking, { recursive: true, force: true });
});

describe("parameters written as decimals", () => {
  it("are logged with their .0 (margin: 0.0), integers as integers (seed: 42), and typed double in the signature", async () => {
    const result = await runProject({ projectDir: project, pipelineName: "training", trackingUri: tracking });
    const store = await FileStore.open(tracking);
    const runDir = join(await store.artifactDir(result.runId), "..");
    expect(await readFile(join(runDir, "params", "margin"), "utf8")).toBe("0.0");
    expect(await readFile(join(runDir, "params", "seed"), "utf8")).toBe("42");
    const mlmodel = await readFile(join(await loggedModelDir(tracking, result.runId), "MLmodel"), "utf8");
    expect(mlmodel).toContain('{"name": "margin", "default": 0.0, "shape": null, "type": "double"}');
  });

  it("keep their .0 when given as an override (--params margin=1.0)", async () => {
    const result = await runProject({ projectDir: project, pipelineName: "training", trackingUri: tracking, params: ["margin=1.0"] });
    const runDir = join(await (await FileStore.open(tracking)).artifactDir(result.runId), "..");
    expect(await readFile(join(runDir, "params", "margin"), "utf8")).toBe("1.0");
  });

  it("follow the override's own text (--params margin=1 logs 1)", async () => {
    const result = await runProject({ projectDir: project, pipelineName: "training", trackingUri: tracking, params: ["margin=1"] });
    const runDir = join(await (await FileStore.open(tracking)).artifactDir(result.runId), "..");
    expect(await readFile(join(runDir, "params", "margin"), "utf8")).toBe("1");
  });
});
