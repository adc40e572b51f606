// `pipeserve modelify` (in-process, main with its own io): packages a plain inference pipeline from artifacts
// that already exist, into a new run or into the run that trained them, with --copy-mode,
// --artifact-path, --registered-model-name and --json; and its errors.
import { existsSync } from "node:fs";
import { readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { FileStore, loadModel, type ColumnTable } from "../../src/index.js";
import { copyProject, fails, ok, readJson, readYaml11, sha256Of, tempDir } from "./helpers.js";
import { loggedModelDir } from "../fixtures/model-dir.js";

let project: string;
let tracking: string;

beforeAll(async () => {
  project = await copyProject("modelify");
  tracking = await tempDir("pipeserve-tracking-");
});

const base = (): string[] => ["modelify", "--project", project, "--tracking-uri", tracking];

describe("pipeserve modelify: flags it cannot take", () => {
  // Found by an audit: a bad --registered-model-name was refused after the run was made and the
  // model logged (the run left FINISHED), and these exited 1.
  it.each([
    ["a --registered-model-name with a slash", ["--pipeline", "inference", "--registered-model-name", "a/b"], ["--registered-model-name: Invalid model name"]],
    ["an --artifact-path with a dot", ["--pipeline", "inference", "--artifact-path", "a.b"], ["--artifact-path: "]],
  ])("%s is a usage error (exit 2); no run is written", async (_why, args, messages) => {
    const store = join(await tempDir("pipeserve-tracking-"), "mlruns");
    await fails(["modelify", "--project", project, "--tracking-uri", store, "--input-name", "instances", ...args], 2, messages);
    expect(existsSync(store)).toBe(false);
  });
});

// Found by an audit: a missing artifact made a FAILED run (with no error recorded on it) and said
// "training did not write it", though modelify trains nothing.
it("an artifact whose file is missing: exit 1 naming it and its file, before any run is made", async () => {
  const copy = await copyProject("modelify");
  const weights = join(copy, "artifacts", "weights.json");
  await rm(weights);
  const store = join(await tempDir("pipeserve-tracking-"), "mlruns");
  await fails(["modelify", "--project", copy, "--tracking-uri", store, "--pipeline", "inference", "--input-name", "instances"], 1, [
    `Artifact "weights" should be at ${weights} (conf/catalog.yml), and there is no such file: modelify packages artifacts that exist already.`,
  ]);
  expect(existsSync(store)).toBe(false);
});

describe("pipeserve modelify", () => {
  it("packages into a new run, registers it, and prints the model URI", async () => {
    const stdout = await ok([...base(), "--pipeline", "inference", "--input-name", "instances", "--registered-model-name", "mod"]);
    const [, runId = "", modelId] = /^Model: runs:\/([0-9a-f]{32})\/model \(LoggedModel models:\/(m-[0-9a-f]{32})\)\n/.exec(stdout) ?? [];
    expect(runId).toMatch(/^[0-9a-f]{32}$/);
    expect(stdout).toBe(`Model: runs:/${runId}/model (LoggedModel models:/${modelId})\nRegistered: models:/mod/1\n`);
    const dir = await loggedModelDir(tracking, runId);
    expect((await readJson(join(dir, "pipeline.json"))).artifacts.weights.sha256).toBe(await sha256Of(join(project, "artifacts", "weights.json")));
    const model = await loadModel("models:/mod/1", { trackingUri: tracking });
    try {
      expect(((await model.predict({ x: [1] })) as ColumnTable).columns[0]).toEqual([3.25]);
    } finally {
      await model.close();
    }
  });

  it("packages into the run that trained the artifacts, with --run-id, --artifact-path, --copy-mode and --json", async () => {
    const trained = /Run ([0-9a-f]{32}) finished/.exec(
      await ok(["run", "--project", project, "--pipeline", "train", "--tracking-uri", tracking]),
    )?.[1] as string;
    const result = JSON.parse(
      await ok([
        ...base(),
        "--pipeline",
        "inference",
        "--input-name",
        "instances",
        "--run-id",
        trained,
        "--artifact-path",
        "serving",
        "--copy-mode",
        "deepcopy",
        "--json",
      ]),
    );
    expect(result).toEqual({ runId: trained, modelUri: `runs:/${trained}/serving`, modelId: expect.stringMatching(/^m-[0-9a-f]{32}$/) });
    // The model is the run's LoggedModel named "serving"; the run's own artifacts stay empty.
    expect(await readdir(await (await FileStore.open(tracking)).artifactDir(trained))).toEqual([]);
    const dir = await loggedModelDir(tracking, trained, "serving");
    const m = await readYaml11(join(dir, "MLmodel"));
    expect(m).toMatchObject({ run_id: trained, model_id: result.modelId, flavors: { pipeserve: { copy_mode: "deepcopy", input_name: "instances" } } });
    expect(m["artifact_path"]).toBe(pathToFileURL(dir).href);
  });

  it("--input-type and --row-wise are recorded in MLmodel and taken by the loaded model", async () => {
    const result = JSON.parse(await ok([...base(), "--pipeline", "inference", "--input-name", "instances", "--input-type", "columns", "--row-wise", "--json"]));
    const dir = await loggedModelDir(tracking, result.runId);
    expect((await readYaml11(join(dir, "MLmodel"))).flavors.pipeserve).toMatchObject({ input_type: "columns", row_wise: true });
    const model = await loadModel(result.modelUri, { trackingUri: tracking });
    try {
      expect([model.inputType, model.rowWise]).toEqual(["columns", true]);
      expect(((await model.predict({ x: [1, 2] })) as ColumnTable).numRows).toBe(2);
    } finally {
      await model.close();
    }
    const plain = JSON.parse(await ok([...base(), "--pipeline", "inference", "--input-name", "instances", "--json"]));
    const plainDir = await loggedModelDir(tracking, plain.runId);
    expect((await readYaml11(join(plainDir, "MLmodel"))).flavors.pipeserve).toMatchObject({ input_type: "dataframe", row_wise: false });
  });

  it.each([
    [
      "an unknown input type",
      ["--pipeline", "inference", "--input-name", "instances", "--input-type", "rows"],
      2,
      ["error: option '--input-type <type>' argument 'rows' is invalid", "dataframe, columns, records, arrow"],
    ],
    ["no --input-name", ["--pipeline", "inference"], 2, ["error: required option '--input-name <name>' not specified"]],
    [
      "an unknown copy mode",
      ["--pipeline", "inference", "--input-name", "instances", "--copy-mode", "cpy"],
      2,
      ["error: option '--copy-mode <mode>' argument 'cpy' is invalid", "assign, copy, deepcopy"],
    ],
    [
      "an input name that is not an input",
      ["--pipeline", "inference", "--input-name", "rows"],
      1,
      ['--input-name "rows" is not an input of pipeline "inference"', "Its inputs: [instances, weights, params:bias]"],
    ],
    ["a pipeline with two outputs", ["--pipeline", "two_outputs", "--input-name", "instances"], 1, ['Pipeline "two_outputs" must have exactly one output']],
    [
      "an unknown pipeline",
      ["--pipeline", "inferense", "--input-name", "instances"],
      2,
      ['has no pipeline "inferense"', "Pipelines: [train, inference, two_outputs]"],
    ],
    [
      "an unknown run id",
      ["--pipeline", "inference", "--input-name", "instances", "--run-id", "fedcba9876543210fedcba9876543210"],
      1,
      ['Run "fedcba9876543210fedcba9876543210" is not in the store'],
    ],
  ])("%s: non-zero exit and a clear message", async (_why, args, code, messages) => {
    const store = await tempDir("pipeserve-tracking-");
    await fails(["modelify", "--project", project, "--tracking-uri", store, ...(args as string[])], code as number, messages as string[]);
    const runs = await (await FileStore.open(store)).searchRuns();
    expect(runs, "a run was created").toEqual([]);
  });
});
