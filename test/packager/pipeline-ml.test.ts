// pipelineMl() binds a training and an inference pipeline and enforces ARCHITECTURE.md's rules
// when built (inputName is an inference input, one output, every other input a training output or
// a params: input) and, against the catalog, before anything runs (artifacts persisted by files).
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  DataCatalog,
  DatasetError,
  JsonArtifactDataset,
  MemoryDataset,
  MetricsDataset,
  PackagingError,
  PipelineML,
  node,
  pipeline,
  pipelineMl,
  type PipelineMlOptions,
} from "../../src/index.js";
import { applyParamOverrides, flattenParams } from "../../src/packager/index.js";
import { throws } from "./helpers.js";

const fit = (raw: unknown) => ({ rows: Array.isArray(raw) ? raw.length : 0 });
const encode = (raw: unknown) => ({ encoded: raw !== undefined });
const select = (raw: unknown) => raw;
const predict = (instances: unknown, model: unknown, encoder: unknown, threshold: unknown) => ({ instances, model, encoder, threshold });
const explain = (instances: unknown) => ({ instances });

const training = pipeline([
  node(fit, { inputs: "raw", outputs: "model", name: "fit" }),
  node(encode, { inputs: "raw", outputs: "encoder", name: "encode" }),
  node(select, { inputs: "raw", outputs: "instances", name: "select" }),
]);
const inference = pipeline([node(predict, { inputs: ["instances", "model", "encoder", "params:threshold"], outputs: "predictions", name: "predict" })]);

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "pipeserve-pipeline-ml-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("pipelineMl(): a valid binding", () => {
  const ml = pipelineMl({ training, inference, inputName: "instances" });

  it("is a PipelineML that behaves as its training pipeline", () => {
    expect(ml).toBeInstanceOf(PipelineML);
    expect(ml.nodes.map((n) => n.name).sort()).toEqual(["encode", "fit", "select"]);
    expect(ml.inputs()).toEqual(["raw"]);
    expect(Object.isFrozen(ml)).toBe(true);
  });

  it("knows its output, artifacts and params inputs", () => {
    expect(ml.outputName).toBe("predictions");
    expect(ml.artifactNames()).toEqual(["model", "encoder"]);
    expect(ml.parameterInputs()).toEqual(["params:threshold"]);
  });

  it("has the documented defaults", () => {
    expect(ml.copyMode).toBe("assign");
    expect(ml.runner).toBe("SequentialRunner");
    expect(ml.inputType).toBe("dataframe");
    expect(ml.rowWise).toBe(false);
    expect(ml.logModel).toEqual({});
  });

  it("keeps the options it was given", () => {
    const custom = pipelineMl({
      training,
      inference,
      inputName: "instances",
      copyMode: { model: "deepcopy", default: "copy" },
      runner: "ConcurrentRunner",
      inputType: "columns",
      rowWise: true,
      logModel: { artifactPath: "clf", registeredModelName: "clf", signature: false, exampleRows: 2 },
    });
    expect(custom.copyMode).toEqual({ model: "deepcopy", default: "copy" });
    expect(custom.runner).toBe("ConcurrentRunner");
    expect(custom.inputType).toBe("columns");
    expect(custom.rowWise).toBe(true);
    expect(custom.logModel).toEqual({ artifactPath: "clf", registeredModelName: "clf", signature: false, exampleRows: 2 });
  });
});

type BadCase = [why: string, options: Partial<PipelineMlOptions>, messages: (string | RegExp)[]];

describe("pipelineMl(): each broken rule is an error that says which dataset and what to change", () => {
  const bad: BadCase[] = [
    [
      "inputName is not an input of inference",
      { inputName: "features" },
      [
        'inputName "features" is not an input of the inference pipeline',
        "[instances, model, encoder, params:threshold]",
        "set inputName to the one that receives the request's data",
      ],
    ],
    ["inputName is a training output that inference never reads", { inputName: "raw" }, ['inputName "raw" is not an input of the inference pipeline']],
    [
      "inference has two outputs",
      { inference: pipeline([...inference.nodes, node(explain, { inputs: "instances", outputs: "explanation", name: "explain" })]) },
      ["must have exactly one output", "it has 2: [predictions, explanation]", "Combine them in a final node"],
    ],
    [
      "inference reads an input training does not produce",
      { inference: pipeline([node(predict, { inputs: ["instances", "model", "vocabulary", "params:threshold"], outputs: "predictions", name: "predict" })]) },
      ["Inference input(s) [vocabulary]", 'neither the inputName "instances", a params: input, nor an output of the training pipeline'],
    ],
    ["an unknown inputType", { inputType: "tensor" as never }, ['Invalid inputType "tensor"', "dataframe, columns, records, arrow"]],
    [
      "an unknown default runner",
      { runner: "ParallelRunner" },
      ['Invalid default runner "ParallelRunner"', "SequentialRunner, ConcurrentRunner, WorkerRunner"],
    ],
    [
      "a signature that is neither auto, false nor MLflow JSON",
      { logModel: { signature: "inferred" as never } },
      ['logModel.signature is "inferred"', 'It may be "auto", false, overrides'],
    ],
    ["training that is not a pipeline", { training: [] as never }, ["needs a `training` and an `inference` pipeline"]],
  ];

  it.each(bad)("rejects %s", (_why, overrides, messages) => {
    const error = throws(() => pipelineMl({ training, inference, inputName: "instances", ...overrides }), PackagingError, ...messages);
    expect(error.code).toBe("INVALID_PIPELINE_ML");
  });

  it("rejects an invalid copy mode, naming the dataset and the accepted modes", () => {
    const error = throws(
      () => pipelineMl({ training, inference, inputName: "instances", copyMode: { model: "cpy" } as never }),
      DatasetError,
      '"cpy"',
      "model",
      "assign, copy, deepcopy",
    );
    expect(error.code).toBe("INVALID_COPY_MODE");
  });
});

describe("PipelineML.checkCatalog(): artifacts must outlive the run", () => {
  const ml = pipelineMl({ training, inference, inputName: "instances" });
  const file = (name: string) => new JsonArtifactDataset({ filepath: join(dir, `${name}.json`) });

  it("accepts artifacts persisted by file datasets", () => {
    expect(() => ml.checkCatalog(new DataCatalog({ model: file("model"), encoder: file("encoder") }))).not.toThrow();
  });

  const bad: [why: string, datasets: () => Record<string, any>, messages: string[]][] = [
    [
      "an artifact missing from the catalog",
      () => ({ model: file("model") }),
      ['"encoder" is not in the catalog, so it would live only in memory', "add it to catalog.yml with a file type"],
    ],
    [
      "an artifact declared as a MemoryDataset",
      () => ({ model: new MemoryDataset(), encoder: file("encoder") }),
      ['"model" is a MemoryDataset, which keeps nothing after the run', "with a file type and a filepath"],
    ],
    ["an artifact declared as a MetricsDataset", () => ({ model: file("model"), encoder: new MetricsDataset() }), ['"encoder" is a MetricsDataset']],
    ["both artifacts in memory, reported together", () => ({}), ['"model" is not in the catalog', '"encoder" is not in the catalog']],
  ];

  it.each(bad)("rejects %s", (_why, datasets, messages) => {
    const error = throws(() => ml.checkCatalog(new DataCatalog(datasets())), PackagingError, "The inference pipeline cannot be packaged", ...messages);
    expect(error.code).toBe("INVALID_PIPELINE_ML");
  });
});

describe("parameters: overrides and flattening", () => {
  const base = { scale: 1, post: { offset: 0.5 }, model: { intercept: true, tol: 0.001 }, features: ["x"], name: "base", seed: null };

  it.each([
    ["a nested key", ["post.offset=0.75"], { post: { offset: 0.75 } }],
    ["YAML scalars", ["model.intercept=false", "scale=2.5"], { scale: 2.5, model: { intercept: false, tol: 0.001 } }],
    ["a string that YAML would not read", ["name=a: b: c"], { name: "a: b: c" }],
    ["text for a text parameter, as written (not the number YAML reads)", ["name=007"], { name: "007" }],
    ["a list in YAML's flow form", ["features=[x, y]"], { features: ["x", "y"] }],
    ["anything for a parameter declared null", ["seed=42"], { seed: 42 }],
    ["null, written out", ["scale=null"], { scale: null }],
    ["several in one entry, separated by commas as Kedro writes them", ["scale=3,model.tol=0.1"], { scale: 3, model: { intercept: true, tol: 0.1 } }],
    ["a comma inside a value, when a piece after it is no key=value", ["name=a,b"], { name: "a,b" }],
  ])("applies %s", (_why, overrides, expected) => {
    expect(applyParamOverrides(base, overrides)).toMatchObject(expected);
  });

  it("never mutates the parameters it is given", () => {
    applyParamOverrides(base, ["post.offset=9"]);
    expect(base.post.offset).toBe(0.5);
  });

  it.each([
    ["no equals sign", "scale", 'Invalid --params entry "scale": write key=value'],
    ["an empty key", "=3", 'Invalid --params entry "=3"'],
    ["an empty path part", "post..offset=1", 'Invalid parameter name "post..offset"'],
    ["a typo of a declared name", "scael=2", '--params scael=2: the project declares no parameter "scael" (conf/parameters.yml). Did you mean "scale"?'],
    ["a new nested key", "model.depth=3", 'no parameter "model.depth" (conf/parameters.yml). Its parameters: scale, post.offset, model.intercept, model.tol'],
    ["a word for a number", "scale=abc", '--params scale=abc: "scale" is a number in conf/parameters.yml (1); "abc" is not.'],
    ["a number for a boolean", "model.intercept=1", '"model.intercept" is a boolean in conf/parameters.yml (true); "1" is not.'],
    ["a scalar for a list", "features=x", '"features" is a list in conf/parameters.yml (["x"]); "x" is not.'],
    ["an empty value", "scale=", '--params scale=: give a value after "=" (write null for none).'],
  ])("rejects %s", (_why, entry, message) => {
    const error = throws(() => applyParamOverrides(base, [entry]), PackagingError, message);
    expect(error.code).toBe("INVALID_PARAMS");
  });

  it("flattens nested parameters with dots; lists stay leaves", () => {
    expect(flattenParams(base)).toEqual({
      scale: 1,
      "post.offset": 0.5,
      "model.intercept": true,
      "model.tol": 0.001,
      features: ["x"],
      name: "base",
      seed: null,
    });
  });
});
