// The three signature modes of logModel (an MLflow JSON signature taken as given, none, "auto"),
// heavy packages kept out of the bundle and listed in environment.json, and packageModel() /
// writeModel() called directly: bad signatures, missing artifact files, an existing target.
import { readFile, readdir } from "node:fs/promises";
import { createRequire } from "node:module";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import {
  FileStore,
  PackagingError,
  PipelineML,
  loadModel,
  loadProject,
  node,
  pipeline,
  pipelineMl,
  pipeserveVersion,
  runProject,
  signatureFromMlflow,
  signatureToMlflow,
  isDataFrame,
  asColumnTable,
  type ColumnTable,
  type LogModelOptions,
  type Pipeline,
  type Project,
} from "../../src/index.js";
import { packageModel, projectCatalog } from "../../src/packager/index.js";
import { copyProject, listFiles, readJson, readYaml11, rejects, tempDir } from "./helpers.js";
import { loggedModelDir } from "../fixtures/model-dir.js";

const EXPLICIT = {
  inputs: '[{"type": "double", "name": "x", "required": true}, {"type": "double", "name": "y", "required": false}]',
  outputs: '[{"type": "double", "name": "y", "required": true}]',
  params: '[{"name": "factor", "default": 3.0, "shape": null, "type": "double"}]',
};

let project: string;
let tracking: string;
const modelDirs: Record<string, string> = {};
let mean: number;

beforeAll(async () => {
  project = await copyProject("signatures");
  tracking = await tempDir("pipeserve-tracking-");
  const store = await FileStore.open(tracking);
  for (const name of ["explicit", "none", "auto"]) {
    const { runId } = await runProject({ projectDir: project, pipelineName: name, trackingUri: tracking });
    modelDirs[name] = await loggedModelDir(store.root, runId);
  }
  mean = ((await readJson(join(project, "data", "stats.json"))) as { mean: number }).mean;
});

describe("signature given explicitly (MLflow's JSON form)", () => {
  it("is written exactly as given", async () => {
    const m = await readYaml11(join(modelDirs["explicit"] as string, "MLmodel"));
    expect(m["signature"]).toEqual(EXPLICIT);
    expect(signatureToMlflow(signatureFromMlflow(m["signature"]))).toEqual(EXPLICIT);
  });

  it("with exampleRows: 0 saves no input example", async () => {
    const dir = modelDirs["explicit"] as string;
    expect(await listFiles(dir)).toEqual(["MLmodel", "artifacts/stats.json", "code/pipeline.mjs", "environment.json", "pipeline.json"]);
    expect((await readYaml11(join(dir, "MLmodel")))["saved_input_example_info"]).toBeUndefined();
  });

  it("is what the loaded model enforces: its param default applies, its optional column may be left out", async () => {
    const model = await loadModel(modelDirs["explicit"] as string);
    try {
      expect(model.signature?.params?.map((p) => [p.name, p.default])).toEqual([["factor", 3]]);
      const out = (await model.predict({ x: [mean + 1, mean + 2] })) as ColumnTable;
      expect(out.columns[0]).toEqual([3, 6]);
    } finally {
      await model.close();
    }
  });
});

describe("signature: false", () => {
  it("writes no signature, but still an input example, and a serving example without params", async () => {
    const dir = modelDirs["none"] as string;
    const m = await readYaml11(join(dir, "MLmodel"));
    expect(m["signature"]).toBeUndefined();
    expect(m["saved_input_example_info"]).toMatchObject({ artifact_path: "input_example.json" });
    const serving = await readJson(join(dir, "serving_input_example.json"));
    expect(Object.keys(serving)).toEqual(["dataframe_split"]);
  });

  it("loads and predicts with no enforcement, the packaged param value applying", async () => {
    const model = await loadModel(modelDirs["none"] as string);
    try {
      expect(model.signature).toBeNull();
      const out = (await model.predict({ x: [mean + 1] })) as ColumnTable;
      expect(out.columns[0]).toEqual([2]);
    } finally {
      await model.close();
    }
  });
});

describe('signature: "auto"', () => {
  it("infers inputs from the input data, params from params: inputs (with the runner), outputs from a trial prediction", async () => {
    const dir = modelDirs["auto"] as string;
    const signature = signatureFromMlflow((await readYaml11(join(dir, "MLmodel")))["signature"]);
    expect(signature.inputs?.map((c) => [c.name, c.type, c.required])).toEqual([
      ["x", "double", true],
      ["y", "double", true],
    ]);
    expect(signature.outputs?.map((c) => c.name)).toEqual(["y"]);
    expect(signature.params?.map((p) => [p.name, p.type, p.default])).toEqual([
      ["factor", "double", 2],
      ["runner", "string", "SequentialRunner"],
    ]);
  });

  it("saves exampleRows rows as the example", async () => {
    const example = await readJson(join(modelDirs["auto"] as string, "input_example.json"));
    expect(example).toEqual({
      columns: ["x", "y"],
      data: [
        [1.5, 3.9],
        [2.5, 6.1],
      ],
    });
  });
});

describe("heavy packages stay external and are listed in environment.json", () => {
  let dir: string;
  let project: Project;

  beforeAll(async () => {
    const copy = await copyProject("danfo-env");
    const store = await tempDir("pipeserve-tracking-");
    const { runId } = await runProject({ projectDir: copy, pipelineName: "training", trackingUri: store });
    dir = await loggedModelDir(store, runId);
    project = await loadProject(copy);
  });

  it("lists danfojs-node with the version installed here", async () => {
    const installed = (createRequire(import.meta.url)("danfojs-node/package.json") as { version: string }).version;
    expect(await readJson(join(dir, "environment.json"))).toEqual({ node: ">=20", packages: { "danfojs-node": installed, pipeserve: pipeserveVersion() } });
  });

  it("keeps danfojs out of the bundle: the code reaches it through the host, with no bare import", async () => {
    const code = await readFile(join(dir, "code", "pipeline.mjs"), "utf8");
    expect(code).toContain('.require("danfojs-node")');
    expect(code).not.toMatch(/from\s*["']danfojs-node["']/);
    expect(code).not.toMatch(/(?<![.\w])require\(["']danfojs-node["']\)/);
    expect(code.length).toBeLessThan(50_000);
  });

  it("loads and predicts with the host's danfojs", async () => {
    const model = await loadModel(dir);
    try {
      expect(model.inputType).toBe("dataframe");
      const out = await model.predict({ x: [4, 5], y: [0, 0] });
      expect(isDataFrame(out)).toBe(true);
      expect(asColumnTable(out).names).toEqual(["centered"]);
      expect(asColumnTable(out).columns[0]).toEqual([1, 2]);
    } finally {
      await model.close();
    }
  });

  it("the project's pipelineMl is this runtime's PipelineML (pipeserve reached the project through the host)", () => {
    expect(project.pipelines["training"]).toBeInstanceOf(PipelineML);
  });
});

describe("packageModel() and writeModel() directly", () => {
  let project: Project;
  let base: PipelineML;

  beforeAll(async () => {
    project = await loadProject(await copyProject("signatures"));
    base = project.pipelines["auto"] as PipelineML;
  });

  const EXAMPLE = { x: [1, 2] };
  const withLogModel = (logModel: LogModelOptions): PipelineML =>
    pipelineMl({ training: base.training, inference: base.inference, inputName: base.inputName, inputType: base.inputType, logModel });

  async function pack(ml: PipelineML, target: string, exampleData: unknown = EXAMPLE): Promise<void> {
    await packageModel({
      ml,
      pipelinesFile: project.pipelinesFile,
      pipelineName: "auto",
      catalog: projectCatalog(project, project.parameters),
      params: project.parameters,
      exampleData,
      target,
    });
  }

  it.each([
    ["inputs that are not JSON", { inputs: "[{type: double}]", outputs: null }, "logModel.signature is not a valid MLflow signature"],
    [
      "an unknown column type",
      { inputs: '[{"type": "decimal", "name": "x", "required": true}]', outputs: null },
      "logModel.signature is not a valid MLflow signature",
    ],
    [
      "a binary param",
      { inputs: null, outputs: null, params: '[{"name": "k", "default": "eA==", "shape": null, "type": "binary"}]' },
      "logModel.signature is not a valid MLflow signature",
    ],
  ])("rejects an explicit signature with %s, writing nothing", async (_why, signature, message) => {
    const target = join(await tempDir(), "model");
    const error = await rejects(pack(withLogModel({ signature }), target), PackagingError, message);
    expect(error.code).toBe("INVALID_SIGNATURE");
    expect(await readdir(join(target, ".."))).toEqual([]);
  });

  it('"auto" without sample data says how to give some', async () => {
    const target = join(await tempDir(), "model");
    const error = await rejects(
      pack(withLogModel({ signature: "auto" }), target, null),
      PackagingError,
      'signature "auto" needs sample data for "instances"',
      "or give logModel.signature (or false)",
    );
    expect(error.code).toBe("NO_EXAMPLE");
  });

  it("an artifact file training did not write: names it and leaves no half model", async () => {
    const target = join(await tempDir(), "model");
    const error = await rejects(pack(withLogModel({ signature: false }), target), PackagingError, 'Artifact "stats" should be at', "training did not write it");
    expect(error.code).toBe("MISSING_ARTIFACT");
    expect(await readdir(join(target, ".."))).toEqual([]);
  });

  it("refuses to overwrite a model: models are immutable", async () => {
    const ml = withLogModel({ signature: false });
    await runProject({ projectDir: project.dir, pipelineName: "none", trackingUri: await tempDir() });
    const target = join(await tempDir(), "model");
    await pack(ml, target);
    expect(await listFiles(target)).toContain("MLmodel");
    const m = await readYaml11(join(target, "MLmodel"));
    // Saved outside a run: no run_id and no artifact_path.
    expect(m["run_id"]).toBeUndefined();
    expect(m["artifact_path"]).toBeUndefined();
    const error = await rejects(pack(ml, target), PackagingError, `A model already exists at ${target}`, "Use another artifact path or run");
    expect(error.code).toBe("MODEL_EXISTS");
  });
});

describe("an explicit signature is checked against the pipeline before anything is written", () => {
  let trained: Project;
  beforeAll(async () => {
    // NB: the project trained at the top of this file, so the artifacts exist and the pipeline runs.
    trained = await loadProject(project);
  });
  const withLogModel = (logModel: LogModelOptions): PipelineML => {
    const base = trained.pipelines["auto"] as PipelineML;
    return pipelineMl({ training: base.training, inference: base.inference, inputName: base.inputName, inputType: base.inputType, logModel });
  };
  const pack = (ml: PipelineML, target: string): Promise<void> =>
    packageModel({
      ml,
      pipelinesFile: trained.pipelinesFile,
      pipelineName: "auto",
      catalog: projectCatalog(trained, trained.parameters),
      params: trained.parameters,
      exampleData: { x: [1, 2] },
      target,
    });

  it.each([
    [
      "inputs the sample data does not fit",
      { inputs: '[{"type": "string", "name": "x", "required": true}]', outputs: null },
      ['The sample data of "instances" does not fit logModel.signature\'s inputs', "column x"],
    ],
    [
      "an output of another type",
      { inputs: EXPLICIT.inputs, outputs: '[{"type": "string", "name": "y", "required": true}]' },
      ["The inference output on the sample data does not match logModel.signature's outputs", "column y"],
    ],
    [
      "an output the pipeline does not return",
      { inputs: EXPLICIT.inputs, outputs: '[{"type": "double", "name": "score", "required": true}]' },
      ["does not match logModel.signature's outputs", "score"],
    ],
  ])("rejects an explicit signature with %s before writing anything, saying how to fix it", async (_why, signature, messages) => {
    const target = join(await tempDir(), "model");
    const error = await rejects(pack(withLogModel({ signature }), target), PackagingError, ...messages, 'signature: "auto"');
    expect(error.code).toBe("SIGNATURE_MISMATCH");
    expect(await readdir(join(target, ".."))).toEqual([]);
  });

  it("takes an explicit signature that describes the pipeline (a declared optional output may be absent)", async () => {
    const target = join(await tempDir(), "model");
    const outputs = '[{"type": "double", "name": "y", "required": true}, {"type": "string", "name": "note", "required": false}]';
    await pack(withLogModel({ signature: { inputs: EXPLICIT.inputs, outputs } }), target);
    expect((await readYaml11(join(target, "MLmodel")))["signature"]).toMatchObject({ outputs });
  });
});

describe("signature overrides, params and the inference check (what a TypeScript user writes)", () => {
  let trained: Project;
  beforeAll(async () => {
    trained = await loadProject(project);
  });
  const bind = (logModel: LogModelOptions, inference?: Pipeline): PipelineML => {
    const base = trained.pipelines["auto"] as PipelineML;
    return pipelineMl({ training: base.training, inference: inference ?? base.inference, inputName: base.inputName, inputType: base.inputType, logModel });
  };
  const pack = async (ml: PipelineML, exampleData: unknown = { x: [307, 350, 318] }): Promise<{ target: string; signature: Record<string, string | null> }> => {
    const target = join(await tempDir(), "model");
    await packageModel({
      ml,
      pipelinesFile: trained.pipelinesFile,
      pipelineName: "auto",
      catalog: projectCatalog(trained, trained.parameters),
      params: trained.parameters,
      floatParams: trained.floatParams,
      exampleData,
      target,
    });
    return { target, signature: (await readYaml11(join(target, "MLmodel")))["signature"] as Record<string, string | null> };
  };
  const columns = (json: string | null | undefined): unknown => JSON.parse(json ?? "null");

  it("infers double for whole JS numbers, so the served model takes 97.5 in a column whose sample was whole", async () => {
    const { target, signature } = await pack(bind({ signature: "auto" }));
    expect(columns(signature["inputs"])).toEqual([{ type: "double", name: "x", required: true }]);
    const model = await loadModel(target);
    try {
      const out = (await model.predict({ x: [97.5] })) as ColumnTable;
      expect(out.columns[0]).toEqual([(97.5 - mean) * 2]);
    } finally {
      await model.close();
    }
  });

  // Found by an audit: the inputs were inferred from the first 10,000 rows, so a column missing a
  // value only further on was required, and the model refused rows of its own training data.
  it("infers the inputs from every row: a value missing only at row 10,006 makes the column optional, and the model takes that row", async () => {
    const x: (number | null)[] = Array.from({ length: 10_010 }, (_, i) => 300 + (i % 50));
    x[10_005] = null;
    const { target, signature } = await pack(bind({ signature: "auto" }), { x });
    expect(columns(signature["inputs"])).toEqual([{ type: "double", name: "x", required: false }]);
    const model = await loadModel(target);
    try {
      expect(((await model.predict({ x: [307, null] })) as ColumnTable).numRows).toBe(2);
    } finally {
      await model.close();
    }
  });

  it("types an Int32Array column integer: the data declares it", async () => {
    const { signature } = await pack(bind({ signature: "auto" }), { x: new Int32Array([307, 350]) });
    expect(columns(signature["inputs"])).toEqual([{ type: "integer", name: "x", required: true }]);
  });

  it("overrides change only what they name; params stay inferred, the runner param included", async () => {
    const ml = bind({ signature: { inputs: { x: { type: "long", required: false } }, params: { factor: { default: 5 } } } });
    const { target, signature } = await pack(ml);
    expect(columns(signature["inputs"])).toEqual([{ type: "long", name: "x", required: false }]);
    expect(columns(signature["outputs"])).toEqual([{ type: "double", name: "y", required: true }]);
    expect(columns(signature["params"])).toEqual([
      { name: "factor", type: "double", default: 5, shape: null },
      { name: "runner", type: "string", default: "SequentialRunner", shape: null },
    ]);
    const model = await loadModel(target);
    try {
      await expect(model.predict({ x: [1.5] })).rejects.toThrow(/column x/);
      expect(((await model.predict({ x: [mean + 1] })) as ColumnTable).columns[0]).toEqual([5]);
    } finally {
      await model.close();
    }
  });

  it.each([
    [
      "a column the data does not have",
      { inputs: { Cylinders: "long" } },
      'logModel.signature.inputs names "Cylinders", which the input data does not have; it has [x]',
    ],
    [
      "an output the pipeline does not return",
      { outputs: { score: "double" } },
      'logModel.signature.outputs names "score", which the inference output does not have; it has [y]',
    ],
    [
      "a param the pipeline does not read",
      { params: { depth: "long" } },
      'logModel.signature.params names "depth", which the inference pipeline does not read (it reads factor)',
    ],
    ["a param default of the wrong type", { params: { factor: { default: "high" } } }, "logModel.signature's overrides do not make a valid signature"],
  ] as const)("refuses an override naming %s, writing nothing", async (_why, signature, message) => {
    const target = join(await tempDir(), "model");
    const ml = bind({ signature: signature as never });
    const error = await rejects(
      packageModel({
        ml,
        pipelinesFile: trained.pipelinesFile,
        pipelineName: "auto",
        catalog: projectCatalog(trained, trained.parameters),
        params: trained.parameters,
        floatParams: trained.floatParams,
        exampleData: { x: [1, 2] },
        target,
      }),
      PackagingError,
      message,
    );
    expect(error.code).toBe("INVALID_SIGNATURE");
    expect(await readdir(join(target, ".."))).toEqual([]);
  });

  it("refuses an override the training data does not fit (long for a column holding 97.5)", async () => {
    const error = await rejects(
      pack(bind({ signature: { inputs: { x: "long" } } }), { x: [307, 97.5] }),
      PackagingError,
      "does not fit logModel.signature's inputs",
      "97.5",
    );
    expect(error.code).toBe("SIGNATURE_MISMATCH");
  });

  it("an MLflow JSON signature without params gets the params inferred (else every runtime param would be ignored)", async () => {
    const { signature } = await pack(bind({ signature: { inputs: EXPLICIT.inputs, outputs: EXPLICIT.outputs } }));
    expect(columns(signature["params"])).toEqual([
      { name: "factor", type: "double", default: 2, shape: null },
      { name: "runner", type: "string", default: "SequentialRunner", shape: null },
    ]);
    expect(signature["inputs"]).toBe(EXPLICIT.inputs);
  });

  it.each([
    ["an MLflow JSON signature with no outputs", { inputs: EXPLICIT.inputs, outputs: null }],
    ["signature: false", false],
    ["overrides", { inputs: { x: "double" } }],
  ] as const)("runs the inference pipeline on the example with %s: one that always throws is never packaged", async (_why, signature) => {
    const boom = pipeline([
      node(
        (_instances: unknown, _stats: unknown) => {
          throw new Error("always fails");
        },
        { inputs: ["instances", "stats"], outputs: "predictions", name: "boom" },
      ),
    ]);
    const target = join(await tempDir(), "model");
    const ml = bind({ signature: signature as never }, boom);
    const error = await rejects(
      packageModel({
        ml,
        pipelinesFile: trained.pipelinesFile,
        pipelineName: "auto",
        catalog: projectCatalog(trained, trained.parameters),
        params: trained.parameters,
        floatParams: trained.floatParams,
        exampleData: { x: [1, 2] },
        target,
      }),
      PackagingError,
      "Running the inference pipeline on the input example failed",
      "always fails",
    );
    expect(error.code).toBe("INFERENCE_CHECK_FAILED");
    expect(await readdir(join(target, ".."))).toEqual([]);
  });
});
