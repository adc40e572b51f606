// runProject() end to end on the `linear` fixture (a small training + inference pipeline): one
// tracked run trains, logs params / metrics / tags, packages the inference pipeline as the run's
// MLflow 3 LoggedModel (its model directory is the LoggedModel's artifacts/) and registers it.
// The model directory is checked file by file against MODEL_FORMAT.md, the MLmodel is parsed back
// (YAML 1.1, as PyYAML reads it) into the same signature, and the mlruns/ tree — run, LoggedModel,
// registry — is checked against the store MLflow 3.6 itself wrote (test/fixtures/mlflow-reference).
import { readFile, readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { isMap, isScalar, parseDocument, Scalar, visit } from "yaml";
import {
  FileStore,
  ModelRegistry,
  loadModel,
  pipeserveVersion,
  runProject,
  signatureFromMlflow,
  signatureToMlflow,
  type ColumnTable,
  type RunProjectResult,
} from "../../src/index.js";
import { FORMAT_VERSION } from "../../src/packager/index.js";
import { REFERENCE, REFERENCE_FILESTORE } from "../fixtures/mlflow-reference.js";
import { loggedModelDir } from "../fixtures/model-dir.js";
import { copyProject, gitHead, hasPyYaml, listFiles, pyYamlLoad, readJson, readYaml11, sha256Of, tempDir } from "./helpers.js";

interface Weights {
  slope: number;
  intercept: number;
}

let project: string;
let tracking: string;
let result: RunProjectResult;
let modelDir: string;
let runDir: string;
let modelId: string;
/** The LoggedModel's folder: meta.yaml, params/, metrics/, tags/ and artifacts/ (the model directory). */
let loggedDir: string;

/** The reference store MLflow 3.6 wrote, as committed (only its structure and keys are compared, no ids). */
const REF = join(REFERENCE_FILESTORE, "mlruns");
const REF_MODEL = join(REF, REFERENCE.experimentId, "models", REFERENCE.modelId);
const REF_RUN = join(REF, REFERENCE.experimentId, REFERENCE.referenceRunId);
const keysOf = async (file: string): Promise<string[]> => Object.keys(await readYaml11(file));

beforeAll(async () => {
  project = await copyProject("linear");
  tracking = await tempDir("pipeserve-tracking-");
  result = await runProject({
    projectDir: project,
    pipelineName: "training",
    trackingUri: tracking,
    params: ["scale=2.5"],
    command: "run --pipeline training",
  });
  const store = await FileStore.open(tracking);
  runDir = await store.runDir(result.runId);
  modelDir = await loggedModelDir(tracking, result.runId);
  loggedDir = join(modelDir, "..");
  modelId = result.modelId as string;
});

const EXPECTED_SIGNATURE = {
  inputs: '[{"type": "double", "name": "x", "required": true}, {"type": "string", "name": "group", "required": true}]',
  outputs: '[{"type": "double", "name": "y_hat", "required": true}]',
  params:
    '[{"name": "scale", "default": 2.5, "shape": null, "type": "double"}, {"name": "post.offset", "default": 0.5, "shape": null, "type": "double"}, {"name": "runner", "default": "SequentialRunner", "shape": null, "type": "string"}]',
};

/** Strips JSON string literals, so the punctuation left can be checked for Python's spacing. */
const punctuation = (json: string): string => json.replace(/"(?:[^"\\]|\\.)*"/g, '""');

describe("the run", () => {
  it("returns the run id, the model URI and the registered version", () => {
    expect(result.runId).toMatch(/^[0-9a-f]{32}$/);
    expect(result.experimentId).toBe("0");
    expect(result.modelUri).toBe(`runs:/${result.runId}/model`);
    expect(result.modelId).toMatch(/^m-[0-9a-f]{32}$/);
    expect(result.registeredVersion).toEqual({ name: "linear-model", version: 1 });
  });

  it("ends FINISHED", async () => {
    const run = await (await FileStore.open(tracking)).getRun(result.runId);
    expect(run.info.status).toBe("FINISHED");
    expect(run.info.endTime).toBeGreaterThanOrEqual(run.info.startTime);
  });

  it("logs the parameters flattened with dots, overrides applied, as raw values", async () => {
    const run = await (await FileStore.open(tracking)).getRun(result.runId);
    expect(run.params).toEqual({ scale: "2.5", "post.offset": "0.5", "model.intercept": "true", "model.tol": "0.001", features: '["x","group"]' });
    // NB: no trailing newline: MLflow would read "0.5\n" as the value.
    expect(await readFile(join(runDir, "params", "post.offset"), "utf8")).toBe("0.5");
  });

  it("logs the metrics a node saved to the MetricsDataset, with its prefix and steps", async () => {
    const run = await (await FileStore.open(tracking)).getRun(result.runId);
    expect(Object.keys(run.metrics).sort()).toEqual(["eval.mse", "eval.r2"]);
    expect(run.metrics["eval.r2"]?.value).toBeGreaterThan(0.99);
    expect(run.metrics["eval.r2"]?.step).toBe(0);
    expect(run.metrics["eval.mse"]?.value).toBeLessThan(0.05);
    expect(run.metrics["eval.mse"]?.step).toBe(3);
    for (const key of ["eval.r2", "eval.mse"]) {
      expect(await readFile(join(runDir, "metrics", key), "utf8")).toMatch(/^\d{13} -?\d+(\.\d+)?(e-?\d+)? \d+\n$/);
    }
  });

  it("tags the pipeline, the source file and the command", async () => {
    const run = await (await FileStore.open(tracking)).getRun(result.runId);
    expect(run.tags).toMatchObject({
      "pipeserve.pipeline": "training",
      "pipeserve.project": project,
      "pipeserve.command": "run --pipeline training",
      "mlflow.source.name": join(project, "pipelines.ts"),
      "mlflow.source.type": "LOCAL",
      "mlflow.runName": run.info.runName,
    });
    // The copy sits in the OS temp folder, outside any git work tree.
    expect(run.tags["mlflow.source.git.commit"]).toBeUndefined();
  });

  it.skipIf(gitHead() === undefined)("tags the git commit when the project is inside a git repository", async () => {
    const inRepo = await copyProject("linear", { inRepo: true });
    const store = await tempDir("pipeserve-tracking-");
    const plain = await runProject({ projectDir: inRepo, pipelineName: "plain", trackingUri: store });
    const run = await (await FileStore.open(store)).getRun(plain.runId);
    expect(run.tags["mlflow.source.git.commit"]).toBe(gitHead());
    expect(run.tags["pipeserve.pipeline"]).toBe("plain");
    expect(plain.modelUri).toBeUndefined();
    expect(await readdir(join(await (await FileStore.open(store)).runDir(plain.runId), "artifacts"))).toEqual([]);
  });
});

describe("the model directory (MODEL_FORMAT.md §1)", () => {
  it("holds exactly the documented files", async () => {
    expect(await listFiles(modelDir)).toEqual([
      "MLmodel",
      "artifacts/weights.json",
      "code/pipeline.mjs",
      "environment.json",
      "input_example.json",
      "pipeline.json",
      "serving_input_example.json",
    ]);
    // Assembled under a temp name, then renamed: nothing is left beside it. The run's own
    // artifacts/ stays empty, as in the reference store: the model lives in the LoggedModel.
    expect(modelDir).toBe(join(tracking, "0", "models", modelId, "artifacts"));
    expect((await readdir(loggedDir)).sort()).toEqual(["artifacts", "meta.yaml", "metrics", "params", "tags"]);
    expect(await readdir(join(runDir, "artifacts"))).toEqual([]);
  });

  describe("MLmodel", () => {
    it("is block-style YAML with every mapping's keys sorted", async () => {
      const doc = parseDocument(await readFile(join(modelDir, "MLmodel"), "utf8"), { version: "1.1" });
      expect(doc.errors).toEqual([]);
      let maps = 0;
      visit(doc, {
        Map(_, map) {
          maps++;
          expect(map.flow ?? false, "flow-style mapping").toBe(false);
          const keys = map.items.map((p) => String(isScalar(p.key) ? p.key.value : p.key));
          expect(keys).toEqual([...keys].sort());
        },
        Seq(_, seq) {
          expect(seq.flow ?? false, "flow-style sequence").toBe(false);
        },
      });
      expect(maps).toBeGreaterThanOrEqual(5);
      expect(isMap(doc.contents)).toBe(true);
    });

    it("has the top-level keys of the MLmodel MLflow 3 logged (the reference's), and the flavor fields", async () => {
      const m = await readYaml11(join(modelDir, "MLmodel"));
      const reference = await readYaml11(join(REF_MODEL, "artifacts", "MLmodel"));
      expect(Object.keys(m).sort()).toEqual(Object.keys(reference).sort());
      // As MLflow 3's log_model: artifact_path is the LoggedModel's artifact location, model_uuid its id.
      expect(m["artifact_path"]).toBe(pathToFileURL(modelDir).href);
      expect(m["run_id"]).toBe(result.runId);
      expect(m["model_id"]).toBe(modelId);
      expect(m["model_uuid"]).toBe(modelId);
      for (const key of ["is_signature_from_type_hint", "type_hint_from_example", "prompts"]) expect(m[key], key).toBe(reference[key]);
      expect(m["mlflow_version"]).toMatch(/^3\.\d+\.\d+/);
      expect(Object.keys(m["flavors"])).toEqual(["pipeserve"]);
      expect(m["flavors"]["pipeserve"]).toEqual({
        code: "code/pipeline.mjs",
        column_arrays: "typed",
        copy_mode: { default: "assign", weights: "deepcopy" },
        env: "environment.json",
        format_version: FORMAT_VERSION,
        input_name: "instances",
        input_type: "columns",
        output_name: "predictions",
        pipeline: "pipeline.json",
        pipeserve_version: pipeserveVersion(),
        row_wise: true,
        runner: "SequentialRunner",
      });
      expect(m["saved_input_example_info"]).toEqual({
        artifact_path: "input_example.json",
        pandas_orient: "split",
        serving_input_path: "serving_input_example.json",
        type: "dataframe",
      });
    });

    it("quotes utc_time_created: UTC, a space, microseconds, no Z", async () => {
      const text = await readFile(join(modelDir, "MLmodel"), "utf8");
      const line = text.split("\n").find((l) => l.startsWith("utc_time_created:"));
      expect(line).toMatch(/^utc_time_created: (['"])\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}\1$/);
      const created = (await readYaml11(join(modelDir, "MLmodel")))["utc_time_created"] as string;
      expect(typeof created).toBe("string");
      expect(Math.abs(Date.parse(`${created.slice(0, 23).replace(" ", "T")}Z`) - Date.now())).toBeLessThan(5 * 60_000);
    });

    it("writes the signature as MLflow's JSON strings, with Python's spacing and key order", async () => {
      const doc = parseDocument(await readFile(join(modelDir, "MLmodel"), "utf8"), { version: "1.1" });
      for (const key of ["inputs", "outputs", "params"]) {
        const node = doc.getIn(["signature", key], true);
        expect(node, key).toBeInstanceOf(Scalar);
        expect([Scalar.QUOTE_SINGLE, Scalar.QUOTE_DOUBLE]).toContain((node as Scalar).type);
      }
      const signature = (await readYaml11(join(modelDir, "MLmodel")))["signature"] as Record<string, string>;
      expect(signature).toEqual(EXPECTED_SIGNATURE);
      for (const text of Object.values(signature)) {
        const p = punctuation(text);
        expect(p).not.toMatch(/[,:](?! )/);
        expect(p).not.toMatch(/ [,:]/);
      }
      for (const column of [...JSON.parse(signature["inputs"] as string), ...JSON.parse(signature["outputs"] as string)])
        expect(Object.keys(column)).toEqual(["type", "name", "required"]);
      for (const param of JSON.parse(signature["params"] as string)) expect(Object.keys(param)).toEqual(["name", "default", "shape", "type"]);
    });

    it("parses back into the same signature (signatureFromMlflow → signatureToMlflow)", async () => {
      const signature = (await readYaml11(join(modelDir, "MLmodel")))["signature"] as { inputs: string; outputs: string; params: string };
      const parsed = signatureFromMlflow(signature);
      expect(parsed.inputs?.map((c) => [c.name, c.type, c.required])).toEqual([
        ["x", "double", true],
        ["group", "string", true],
      ]);
      expect(parsed.outputs?.map((c) => [c.name, c.type])).toEqual([["y_hat", "double"]]);
      expect(parsed.params?.map((p) => [p.name, p.type, p.default, p.shape])).toEqual([
        ["scale", "double", 2.5, null],
        ["post.offset", "double", 0.5, null],
        ["runner", "string", "SequentialRunner", null],
      ]);
      expect(signatureToMlflow(parsed)).toEqual(signature);
    });

    it("records model_size_bytes: every file of the model but MLmodel itself", async () => {
      const m = await readYaml11(join(modelDir, "MLmodel"));
      let total = 0;
      for (const file of await listFiles(modelDir)) if (file !== "MLmodel") total += (await stat(join(modelDir, file))).size;
      expect(m["model_size_bytes"]).toBe(total);
    });

    it.skipIf(!hasPyYaml())("reads in PyYAML (as MLflow does) with strings kept strings", () => {
      const [m] = pyYamlLoad([join(modelDir, "MLmodel")]);
      expect(typeof m.utc_time_created).toBe("string");
      expect(m.run_id).toBe(result.runId);
      expect(m.signature).toEqual(EXPECTED_SIGNATURE);
      expect(m.flavors.pipeserve.format_version).toBe(1);
      expect(m.flavors.pipeserve.row_wise).toBe(true);
    });
  });

  describe("pipeline.json", () => {
    it("describes the inference graph, parameters and code", async () => {
      const p = await readJson(join(modelDir, "pipeline.json"));
      expect(Object.keys(p)).toEqual(["format_version", "input_name", "output_name", "nodes", "artifacts", "parameters", "code"]);
      expect(p).toMatchObject({ format_version: FORMAT_VERSION, input_name: "instances", output_name: "predictions" });
      expect(p.nodes).toEqual([
        { name: "predict", inputs: ["instances", "weights", "params:scale", "params:post.offset"], outputs: "predictions", tags: ["inference"] },
      ]);
      expect(p.parameters).toEqual({ scale: 2.5, "post.offset": 0.5 });
      expect(p.code).toEqual({ path: "code/pipeline.mjs", export: "inference", sha256: await sha256Of(join(modelDir, "code", "pipeline.mjs")) });
    });

    it("lists every artifact with a sha256 and size that match the file, and the bytes training wrote", async () => {
      const p = await readJson(join(modelDir, "pipeline.json"));
      expect(Object.keys(p.artifacts)).toEqual(["weights"]);
      for (const [name, artifact] of Object.entries<{ type: string; path: string; sha256: string; bytes: number }>(p.artifacts)) {
        const file = join(modelDir, artifact.path);
        expect(artifact.type, name).toBe("JsonArtifactDataset");
        expect(artifact.sha256, name).toBe(await sha256Of(file));
        expect(artifact.bytes, name).toBe((await stat(file)).size);
      }
      expect(await readFile(join(modelDir, "artifacts", "weights.json"))).toEqual(await readFile(join(project, "data", "weights.json")));
    });
  });

  it("bundles the inference code into one ESM file that reaches pipeserve through the host", async () => {
    const code = await readFile(join(modelDir, "code", "pipeline.mjs"), "utf8");
    expect(code).not.toMatch(/^\s*import\s[^;]*from\s*["']pipeserve["']/m);
    expect(code).toMatch(/export\s*\{[^}]*\binference\b/);
    expect(code).toContain("function predict(");
    // NB: the pipelineMl itself is not exported: the loader imports only the inference pipeline.
    expect(code).not.toMatch(/export\s*\{[^}]*\bpipelines\b/);
    // NB: the source map that points a run's stacks into pipelines.ts is for training only: the packaged code carries none.
    expect(code).not.toContain("sourceMappingURL");
  });

  it("writes environment.json with the node range and pipeserve's version", async () => {
    expect(await readJson(join(modelDir, "environment.json"))).toEqual({ node: ">=20", packages: { pipeserve: pipeserveVersion() } });
  });

  it("saves a compact split input example: the first 5 rows of the input, index dropped", async () => {
    const text = await readFile(join(modelDir, "input_example.json"), "utf8");
    const example = JSON.parse(text);
    // Compact, and (x is a double column) whole values would be written 17.0: test/packager/example-json.test.ts.
    expect(text.replaceAll(/(\d)\.0(?=[,\]])/g, "$1")).toBe(JSON.stringify(example));
    expect(Object.keys(example)).toEqual(["columns", "data"]);
    expect(example.columns).toEqual(["x", "group"]);
    const raw = (await readFile(join(project, "data", "raw.csv"), "utf8")).trim().split("\n").slice(1, 6);
    expect(example.data).toEqual(raw.map((line) => line.split(",")).map(([x, group]) => [Number(x), group]));
  });

  it("saves a serving example: a ready /invocations body with 2-space indent and the params' defaults", async () => {
    const text = await readFile(join(modelDir, "serving_input_example.json"), "utf8");
    const body = JSON.parse(text);
    expect(text.replaceAll(/(\d)\.0(?=,?\n)/g, "$1")).toBe(JSON.stringify(body, null, 2));
    expect(body.dataframe_split).toEqual(await readJson(join(modelDir, "input_example.json")));
    expect(body.params).toEqual({ scale: 2.5, "post.offset": 0.5, runner: "SequentialRunner" });
  });
});

describe("loading what was packaged", () => {
  const expected = (w: Weights, xs: number[], scale: number, offset: number) => xs.map((x) => (w.slope * x + w.intercept) * scale + offset);

  it("predicts with the trained weights and the packaged param defaults", async () => {
    const w = (await readJson(join(project, "data", "weights.json"))) as Weights;
    expect(w.slope).toBeCloseTo(2, 1);
    const model = await loadModel(result.modelUri as string, { trackingUri: tracking });
    try {
      const out = (await model.predict({ x: [0, 1.5], group: ["a", "b"] })) as ColumnTable;
      expect(out.names).toEqual(["y_hat"]);
      expect(out.columns[0]).toEqual(expected(w, [0, 1.5], 2.5, 0.5));
      const shifted = (await model.predict({ x: [2], group: ["a"] }, { params: { "post.offset": 10 } })) as ColumnTable;
      expect(shifted.columns[0]).toEqual(expected(w, [2], 2.5, 10));
    } finally {
      await model.close();
    }
  });

  it("registers a version whose URI, latest and alias all resolve to this model", async () => {
    const registry = new ModelRegistry(tracking);
    const v1 = await registry.getVersion("linear-model", 1);
    // As mlflow.register_model records a logged model: source models:/<model_id>, never runs:/.
    expect(v1).toMatchObject({ name: "linear-model", version: 1, source: `models:/${modelId}`, runId: result.runId, modelId, status: "READY" });
    await registry.setAlias("linear-model", "champion", 1);
    for (const uri of ["models:/linear-model/1", "models:/linear-model/latest", "models:/linear-model@champion"]) {
      const model = await loadModel(uri, { trackingUri: tracking });
      try {
        expect(model.dir, uri).toBe(modelDir);
        expect(model.metadata.runId, uri).toBe(result.runId);
        expect(((await model.predict({ x: [1], group: ["a"] })) as ColumnTable).numRows, uri).toBe(1);
      } finally {
        await model.close();
      }
    }
  });

  it("a second run registers version 2 and leaves the first model untouched", async () => {
    const before = await sha256Of(join(modelDir, "MLmodel"));
    const second = await runProject({ projectDir: project, pipelineName: "training", trackingUri: tracking, params: ["scale=3.0"] });
    expect(second.registeredVersion).toEqual({ name: "linear-model", version: 2 });
    expect(second.runId).not.toBe(result.runId);
    expect(await sha256Of(join(modelDir, "MLmodel"))).toBe(before);
    const latest = await loadModel("models:/linear-model/latest", { trackingUri: tracking });
    const champion = await loadModel("models:/linear-model@champion", { trackingUri: tracking });
    try {
      expect(latest.metadata.runId).toBe(second.runId);
      expect(latest.parameters).toMatchObject({ scale: 3 });
      expect(champion.metadata.runId).toBe(result.runId);
    } finally {
      await latest.close();
      await champion.close();
    }
  });
});

describe("the LoggedModel (MLflow 3), laid out as the one MLflow 3.6 logged in the reference store", () => {
  it("has the reference's folders: meta.yaml, params/, metrics/, tags/, artifacts/", async () => {
    expect((await readdir(loggedDir)).sort()).toEqual((await readdir(REF_MODEL)).sort());
  });

  it("writes meta.yaml with the reference's keys: status 2 (READY), its name, experiment, source run and artifact location", async () => {
    const text = await readFile(join(loggedDir, "meta.yaml"), "utf8");
    const meta = await readYaml11(join(loggedDir, "meta.yaml"));
    expect(Object.keys(meta)).toEqual(await keysOf(join(REF_MODEL, "meta.yaml")));
    expect(meta).toMatchObject({
      model_id: modelId,
      name: "model",
      experiment_id: "0",
      source_run_id: result.runId,
      status: 2,
      status_message: null,
      model_type: null,
      artifact_location: pathToFileURL(modelDir).href,
    });
    expect(text).toMatch(/^experiment_id: (['"])0\1$/m);
    expect(meta["last_updated_timestamp"]).toBeGreaterThanOrEqual(meta["creation_timestamp"]);
  });

  it("links params as the reference does: the run's params, each a file", async () => {
    // In the reference, every param of the run is a param of its LoggedModel, with the same value.
    const refRunParams = await readdir(join(REF_RUN, "params"));
    expect(await readdir(join(REF_MODEL, "params"))).toEqual(expect.arrayContaining(refRunParams));
    const run = await (await FileStore.open(tracking)).getRun(result.runId);
    expect((await readdir(join(loggedDir, "params"))).sort()).toEqual(Object.keys(run.params).sort());
    for (const [key, value] of Object.entries(run.params)) expect(await readFile(join(loggedDir, "params", key), "utf8"), key).toBe(value);
  });

  it("links metrics as the reference does: the run's step-0 points, with the run id as a 4th column", async () => {
    const refLine = (await readFile(join(REF_MODEL, "metrics", "accuracy"), "utf8")).trim();
    expect(refLine).toMatch(new RegExp(`^\\d{13} \\S+ 0 ${REFERENCE.referenceRunId}$`));
    const store = await FileStore.open(tracking);
    const run = await store.getRun(result.runId);
    const model = await store.getLoggedModel(modelId);
    const expected = [];
    for (const key of Object.keys(run.metrics).sort()) {
      for (const p of await store.getMetricHistory(result.runId, key))
        if (p.step === 0) expected.push({ key, value: p.value, timestamp: p.timestamp, step: 0, runId: result.runId });
    }
    expect(expected.length).toBeGreaterThan(0);
    expect(model.metrics).toEqual(expected);
    for (const key of await readdir(join(loggedDir, "metrics"))) {
      expect(await readFile(join(loggedDir, "metrics", key), "utf8"), key).toMatch(new RegExp(`^(\\d{13} \\S+ 0 ${result.runId}\n)+$`));
    }
  });

  it("tags it as the reference's: who and what logged it (from the run), and the registered versions", async () => {
    const refTags = (await readdir(join(REF_MODEL, "tags"))).filter((t) => t.startsWith("mlflow."));
    const tags = await readdir(join(loggedDir, "tags"));
    expect(tags.sort()).toEqual(refTags.sort());
    const run = await (await FileStore.open(tracking)).getRun(result.runId);
    for (const key of ["mlflow.user", "mlflow.source.name", "mlflow.source.type"])
      expect(await readFile(join(loggedDir, "tags", key), "utf8")).toBe(run.tags[key]);
    // json.dumps' spacing, as in the reference's [{"name": "ref", "version": 1}, …]
    expect(await readFile(join(loggedDir, "tags", "mlflow.modelVersions"), "utf8")).toBe('[{"name": "linear-model", "version": 1}]');
  });

  it("links the run to it with outputs/<model_id>/meta.yaml, as the reference's run", async () => {
    const link = join(runDir, "outputs", modelId, "meta.yaml");
    const ref = join(REF_RUN, "outputs", REFERENCE.modelId, "meta.yaml");
    expect(await keysOf(link)).toEqual(await keysOf(ref));
    const refMeta = await readYaml11(ref);
    expect(await readYaml11(link)).toEqual({ ...refMeta, destination_id: modelId, source_id: modelId });
    expect((await (await FileStore.open(tracking)).getRun(result.runId)).outputs).toEqual([{ modelId, step: 0 }]);
  });

  it("is reached by runs:/<run_id>/model and models:/<model_id>", async () => {
    for (const uri of [`runs:/${result.runId}/model`, `models:/${modelId}`]) {
      const model = await loadModel(uri, { trackingUri: tracking });
      try {
        expect(model.dir, uri).toBe(modelDir);
        expect(model.metadata.modelId, uri).toBe(modelId);
      } finally {
        await model.close();
      }
    }
  });
});

describe("the mlruns/ tree (MODEL_FORMAT.md §2: what MLflow's FileStore reads)", () => {
  it("has .trash/, models/ and the Default experiment 0/ at its root, and nothing MLflow would misread", async () => {
    const root = (await readdir(tracking)).sort();
    expect(root).toEqual(expect.arrayContaining([".trash", "0", "models"]));
    for (const entry of root) expect(entry, "unexpected entry at the store root").toMatch(/^(\.trash|models|\d+)$/);
    const exp = await readYaml11(join(tracking, "0", "meta.yaml"));
    expect(Object.keys(exp)).toEqual(["artifact_location", "creation_time", "experiment_id", "last_update_time", "lifecycle_stage", "name"]);
    expect(exp).toMatchObject({ experiment_id: "0", name: "Default", lifecycle_stage: "active", artifact_location: expect.stringMatching(/^file:\/\//) });
  });

  it("writes the run's meta.yaml with MLflow's keys, integer status and a file:// artifact_uri", async () => {
    const text = await readFile(join(runDir, "meta.yaml"), "utf8");
    const meta = await readYaml11(join(runDir, "meta.yaml"));
    expect(Object.keys(meta)).toEqual([
      "artifact_uri",
      "end_time",
      "entry_point_name",
      "experiment_id",
      "lifecycle_stage",
      "run_id",
      "run_name",
      "source_name",
      "source_type",
      "source_version",
      "start_time",
      "status",
      "tags",
      "user_id",
    ]);
    expect(meta).toMatchObject({ run_id: result.runId, experiment_id: "0", status: 3, source_type: 4, lifecycle_stage: "active", tags: [] });
    expect(meta["artifact_uri"]).toBe(`file://${join(runDir, "artifacts")}`);
    expect(text).toMatch(/^experiment_id: (['"])0\1$/m);
    expect(text).toMatch(/^status: 3$/m);
  });

  it("writes tag and param values with no trailing newline", async () => {
    for (const dir of ["params", "tags"]) {
      for (const key of await readdir(join(runDir, dir))) expect(await readFile(join(runDir, dir, key), "utf8"), `${dir}/${key}`).not.toMatch(/\n$/);
    }
    // Dotted keys stay one file each (MLflow would make sub-folders only for "/").
    expect((await readdir(join(runDir, "params"))).sort()).toEqual(["features", "model.intercept", "model.tol", "post.offset", "scale"]);
  });

  it("lays out the registry: model meta, version meta with current_stage None, alias files holding the bare number", async () => {
    const modelRoot = join(tracking, "models", "linear-model");
    expect((await readdir(modelRoot)).sort()).toEqual(["aliases", "meta.yaml", "version-1", "version-2"]);
    expect(await keysOf(join(modelRoot, "meta.yaml"))).toEqual(await keysOf(join(REF, "models", "ref", "meta.yaml")));
    expect((await readYaml11(join(modelRoot, "meta.yaml")))["aliases"]).toEqual({ champion: "1" });
    const versionText = await readFile(join(modelRoot, "version-1", "meta.yaml"), "utf8");
    expect(versionText).toMatch(/^current_stage: None$/m);
    const version = await readYaml11(join(modelRoot, "version-1", "meta.yaml"));
    expect(Object.keys(version)).toEqual(await keysOf(join(REF, "models", "ref", "version-1", "meta.yaml")));
    expect(version).toMatchObject({
      name: "linear-model",
      version: 1,
      status: "READY",
      source: `models:/${modelId}`,
      model_id: modelId,
      run_id: result.runId,
      storage_location: pathToFileURL(modelDir).href,
      description: null,
      run_link: null,
    });
    expect(await readFile(join(modelRoot, "aliases", "champion"), "utf8")).toBe("1");
  });

  it.skipIf(!hasPyYaml())("reads in PyYAML with ids as strings and the stage as the word None", () => {
    const [runMeta, expMeta, versionMeta, loggedMeta, modelMeta] = pyYamlLoad([
      join(runDir, "meta.yaml"),
      join(tracking, "0", "meta.yaml"),
      join(tracking, "models", "linear-model", "version-1", "meta.yaml"),
      join(loggedDir, "meta.yaml"),
      join(tracking, "models", "linear-model", "meta.yaml"),
    ]);
    expect(loggedMeta).toMatchObject({ experiment_id: "0", status: 2, model_id: modelId, status_message: null, model_type: null });
    // As the reference's {challenger: '2', champion: '1'}: versions as strings.
    expect(modelMeta.aliases).toEqual({ champion: "1" });
    expect(versionMeta.model_id).toBe(modelId);
    expect(versionMeta.description).toBeNull();
    expect(runMeta.experiment_id).toBe("0");
    expect(runMeta.status).toBe(3);
    expect(expMeta.experiment_id).toBe("0");
    expect(versionMeta.current_stage).toBe("None");
    expect(versionMeta.version).toBe(1);
  });
});
