// The store commands over the FileStore MLflow 3.6 wrote (test/fixtures/mlflow-reference, copied
// with /ROOT rewritten), in-process: `runs list/show` (an 18-digit experiment id, duplicate metric
// lines, the run's LoggedModel), `models list/versions/alias`, `inspect` of the pipeserve model
// MLflow registered, and `inspect`/`predict` refusing the pyfunc LoggedModel by its flavor.
import { readFile, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { copyReferenceStore, REFERENCE, type ReferenceStore } from "../fixtures/mlflow-reference.js";
import { fails, ok, tempDir } from "./helpers.js";

let ref: ReferenceStore;
const T = (): string[] => ["--tracking-uri", ref.mlruns];

beforeAll(async () => {
  ref = await copyReferenceStore();
});

afterAll(async () => {
  await rm(dirname(ref.root), { recursive: true, force: true });
});

const FLAVOR_REFUSAL = /has no pipeserve flavor \(it has: python_function\); pipeserve serves models packaged by pipeserve\./;

describe("pipeserve runs", () => {
  it("list: both runs, with the 18-digit experiment id in full", async () => {
    const lines = (await ok(["runs", "list", ...T()])).trim().split("\n");
    expect(lines[0]).toMatch(/^RUN ID\s+NAME\s+EXPERIMENT\s+STATUS\s+STARTED$/);
    expect(lines.slice(1)).toEqual([
      expect.stringMatching(new RegExp(`^${REFERENCE.importRunId}\\s+penguins-import\\s+${REFERENCE.experimentId}\\s+FINISHED\\s`)),
      expect.stringMatching(new RegExp(`^${REFERENCE.referenceRunId}\\s+reference-run\\s+${REFERENCE.experimentId}\\s+FINISHED\\s`)),
    ]);
    const json = JSON.parse(await ok(["runs", "list", "--experiment", "reference", "--json", ...T()]));
    expect(json.map((r: { experimentId: string }) => r.experimentId)).toEqual([REFERENCE.experimentId, REFERENCE.experimentId]);
  });

  it("show: dotted params, the latest metric by step despite the duplicate step-0 lines, tags, and the LoggedModel", async () => {
    const text = await ok(["runs", "show", REFERENCE.referenceRunId, ...T()]);
    expect(text).toContain(`Run ${REFERENCE.referenceRunId} (reference-run)`);
    expect(text).toContain(`experiment ${REFERENCE.experimentId}, FINISHED`);
    expect(text).toContain("  model.hidden.units = 16\n");
    expect(text).toContain("  accuracy = 0.9 (step 4)\n");
    expect(text).toContain("  loss = 0.2 (step 4)\n");
    expect(text).toContain("  test.accuracy = 0.93 (step 0)\n");
    expect(text).toContain("  mlflow.note.content = Reference run for pipeserve\n");
    expect(text).toMatch(new RegExp(`Logged models:\\n  models:/${REFERENCE.modelId} \\(model, READY\\)\\n$`));
    const json = JSON.parse(await ok(["runs", "show", REFERENCE.referenceRunId, "--json", ...T()]));
    expect(json.outputs).toEqual([{ modelId: REFERENCE.modelId, step: 0 }]);
    expect(json.metrics.accuracy).toEqual({ timestamp: 1796396223291, value: 0.9, step: 4 });
  });

  it("show: the run that holds a pipeserve model as plain artifacts", async () => {
    const text = await ok(["runs", "show", REFERENCE.importRunId, ...T()]);
    expect(text).toContain("  origin = pipeserve\n");
    expect(text).not.toContain("Logged models:");
  });
});

describe("pipeserve models", () => {
  it("list: both registered models, with ref's aliases", async () => {
    const lines = (await ok(["models", "list", ...T()])).trim().split("\n");
    expect(lines[0]).toMatch(/^NAME\s+LATEST\s+ALIASES\s+UPDATED$/);
    expect(lines[1]).toMatch(/^penguins-via-mlflow\s+1\s+-\s/);
    expect(lines[2]).toMatch(/^ref\s+2\s+(challenger→2, champion→1|champion→1, challenger→2)\s/);
  });

  it("versions: the sources MLflow recorded, models:/m-… and an absolute file:// URI", async () => {
    const refLines = (await ok(["models", "versions", "ref", ...T()])).trim().split("\n");
    expect(refLines[1]).toMatch(new RegExp(`^1\\s+champion\\s+${REFERENCE.referenceRunId}\\s+models:/${REFERENCE.modelId}\\s`));
    expect(refLines[2]).toMatch(new RegExp(`^2\\s+challenger\\s+${REFERENCE.referenceRunId}\\s+models:/${REFERENCE.modelId}\\s`));
    const penguins = JSON.parse(await ok(["models", "versions", "penguins-via-mlflow", "--json", ...T()]));
    expect(penguins).toHaveLength(1);
    expect(penguins[0]).toMatchObject({
      version: 1,
      runId: REFERENCE.importRunId,
      status: "READY",
      source: `file://${ref.mlruns}/${REFERENCE.experimentId}/${REFERENCE.importRunId}/artifacts/model`,
    });
    expect(penguins[0].modelId).toBeUndefined();
  });

  it("alias: moves an alias of the MLflow-written model, keeping meta.yaml's {alias: version} mapping in step", async () => {
    expect(await ok(["models", "alias", "ref", "champion", "2", ...T()])).toBe("models:/ref@champion → version 2\n");
    const meta = await readFile(join(ref.mlruns, "models", "ref", "meta.yaml"), "utf8");
    // MLflow quotes the versions '2' (PyYAML); pipeserve "2": both read back as strings.
    expect(meta).toMatch(/^aliases:\n {2}challenger: (['"])2\1\n {2}champion: (['"])2\2\n/m);
    expect(meta).toContain("description: reference model\n");
    expect(await ok(["models", "alias", "ref", "champion", "1", ...T()])).toBe("models:/ref@champion → version 1\n");
  });
});

describe("pipeserve inspect and predict", () => {
  it("inspect -m models:/penguins-via-mlflow/1: the pipeserve model MLflow registered", async () => {
    const text = await ok(["inspect", "-m", "models:/penguins-via-mlflow/1", ...T()]);
    expect(text).toContain(`  folder  ${join(ref.mlruns, REFERENCE.experimentId, REFERENCE.importRunId, "artifacts", "model")}`);
    expect(text).toContain("  bill_depth_mm: double (optional)");
    expect(text).toMatch(/1\. preprocess: instances, preprocessor → features_matrix/);
  });

  it.each([["models:/ref@champion"], ["models:/ref/2"], [`models:/${REFERENCE.modelId}`], [`runs:/${REFERENCE.referenceRunId}/model`]])(
    "inspect -m %s reaches the LoggedModel and refuses it for its flavor, not its URI",
    async (uri) => {
      const { stderr } = await fails(["inspect", "-m", uri, ...T()], 1, [
        FLAVOR_REFUSAL,
        join(ref.mlruns, REFERENCE.experimentId, "models", REFERENCE.modelId, "artifacts"),
      ]);
      expect(stderr).not.toContain("points at another registered model");
    },
  );

  it("predict -m models:/penguins-via-mlflow/1 predicts a file; -m models:/ref@champion is refused for its flavor", async () => {
    const dir = await tempDir("pipeserve-ref-predict-");
    const input = join(dir, "in.csv");
    await writeFile(input, "island,bill_length_mm,bill_depth_mm,flipper_length_mm,body_mass_g,sex\nBiscoe,46.5,14.4,217,4900,FEMALE\n");
    await ok(["predict", "-m", "models:/penguins-via-mlflow/1", "-i", input, "-o", join(dir, "out.csv"), ...T()]);
    expect((await readFile(join(dir, "out.csv"), "utf8")).split("\n")[1]).toMatch(/^Gentoo,/);
    await fails(["predict", "-m", "models:/ref@champion", "-i", input, "-o", join(dir, "ref.csv"), ...T()], 1, [FLAVOR_REFUSAL]);
  });
});
