import { describe, expect, it } from "vitest";
import { Node, Pipeline, PipelineError, node, pipeline } from "../../src/index.js";
import { isParameterInput } from "../../src/runtime/index.js";
import { expectThrows } from "./helpers.js";

const id = (x: unknown): unknown => x;
const pair = (x: unknown, y: unknown): unknown => [x, y];
const named = (inputs: { features: unknown; alpha: unknown }): unknown => inputs;

/**
 * raw ─▶ clean ─▶ cleaned ─▶ featurize ─▶ features ─▶ train ─▶ model
 *         ▲ params:clean.min_rows                       ▲ params:alpha
 * features + model ─▶ evaluate ─▶ score
 */
function trainingNodes(): Node[] {
  return [
    node(pair, { inputs: ["raw", "params:clean.min_rows"], outputs: "cleaned", name: "clean", tags: ["prep"] }),
    node(id, { inputs: "cleaned", outputs: "features", name: "featurize", tags: ["prep", "features"] }),
    node(named, { inputs: { features: "features", alpha: "params:alpha" }, outputs: "model", name: "train", tags: "training" }),
    node(pair, { inputs: ["features", "model"], outputs: { value: "score" }, name: "evaluate", tags: ["training", "report"] }),
  ];
}

const names = (p: Pipeline): string[] => p.nodes.map((n) => n.name);

describe("pipeline()", () => {
  it("orders nodes topologically, whatever order they are given in", () => {
    const p = pipeline([...trainingNodes()].reverse());
    expect(names(p)).toEqual(["clean", "featurize", "train", "evaluate"]);
  });

  it("keeps the given order between nodes that do not depend on each other", () => {
    const p = pipeline([
      node(id, { inputs: "a", outputs: "c", name: "second" }),
      node(id, { inputs: "a", outputs: "b", name: "first" }),
      node(pair, { inputs: ["b", "c"], outputs: "d", name: "join" }),
    ]);
    expect(names(p)).toEqual(["second", "first", "join"]);
  });

  it("accepts nodes and pipelines, flattening nested pipelines", () => {
    const [clean, featurize, train, evaluate] = trainingNodes() as [Node, Node, Node, Node];
    const prep = pipeline([clean, featurize]);
    const p = pipeline([pipeline([evaluate]), prep, train]);
    expect(p).toBeInstanceOf(Pipeline);
    expect(names(p)).toEqual(["clean", "featurize", "train", "evaluate"]);
    expect(p.nodes.every((n) => n instanceof Node)).toBe(true);
  });

  it("is the same as new Pipeline()", () => {
    expect(names(new Pipeline(trainingNodes()))).toEqual(names(pipeline(trainingNodes())));
  });

  it("lists free inputs (parameters included) in first-use order and free outputs", () => {
    const p = pipeline(trainingNodes());
    expect(p.inputs()).toEqual(["raw", "params:clean.min_rows", "params:alpha"]);
    expect(p.outputs()).toEqual(["score"]);
    expect(p.datasets()).toEqual(["raw", "params:clean.min_rows", "cleaned", "features", "params:alpha", "model", "score"]);
  });

  it("knows who produces and who reads each dataset", () => {
    const p = pipeline(trainingNodes());
    expect(p.producerOf("features")?.name).toBe("featurize");
    expect(p.producerOf("raw")).toBeUndefined();
    expect(p.consumersOf("features").map((n) => n.name)).toEqual(["train", "evaluate"]);
    expect(p.consumersOf("score")).toEqual([]);
  });

  it("describes its graph as data and lists its tags", () => {
    const p = pipeline(trainingNodes());
    expect(p.tags()).toEqual(["prep", "features", "training", "report"]);
    expect(p.describe()[2]).toEqual({ name: "train", inputs: { features: "features", alpha: "params:alpha" }, outputs: "model", tags: ["training"] });
    expect(String(p)).toBe("Pipeline([clean, featurize, train, evaluate])");
  });

  it("is immutable", () => {
    const p = pipeline(trainingNodes());
    expect(Object.isFrozen(p)).toBe(true);
    expect(Object.isFrozen(p.nodes)).toBe(true);
    expectThrows(() => (p.nodes as Node[]).push(node(id, { inputs: "x", outputs: "y" })), TypeError, /not extensible|read only|Cannot add/);
  });

  it("an empty pipeline has no inputs, outputs or nodes", () => {
    const p = pipeline([]);
    expect([p.nodes, p.inputs(), p.outputs()]).toEqual([[], [], []]);
  });
});

describe("pipeline() validation", () => {
  // Each row: a bad graph, and a message that names the culprit and the fix.
  it.each<{ why: string; build: () => unknown; code: string; message: string | RegExp }>([
    {
      why: "two nodes produce one dataset",
      build: () => pipeline([node(id, { inputs: "a", outputs: "model", name: "fit_a" }), node(id, { inputs: "b", outputs: "model", name: "fit_b" })]),
      code: "DUPLICATE_OUTPUT",
      message: 'Dataset "model" is an output of both "fit_a" and "fit_b". Each dataset may be produced by one node only.',
    },
    {
      why: "a duplicate output appears only when two pipelines are joined",
      build: () => pipeline([node(id, { inputs: "a", outputs: "x", name: "one" })]).plus(pipeline([node(id, { inputs: "b", outputs: "x", name: "two" })])),
      code: "DUPLICATE_OUTPUT",
      message: 'Dataset "x" is an output of both "one" and "two".',
    },
    {
      why: "two nodes share a name",
      build: () => pipeline([node(id, { inputs: "a", outputs: "b", name: "step" }), node(id, { inputs: "b", outputs: "c", name: "step" })]),
      code: "DUPLICATE_NODE",
      message: 'Two nodes are named "step". Node names must be unique: pass a distinct `name` to one of them.',
    },
    {
      why: "the same node is given twice",
      build: () => {
        const n = node(id, { inputs: "a", outputs: "b", name: "once" });
        return pipeline([n, pipeline([n])]);
      },
      code: "DUPLICATE_NODE",
      message: 'Two nodes are named "once".',
    },
    {
      why: "two nodes form a cycle",
      build: () =>
        pipeline([
          node(id, { inputs: "raw", outputs: "start", name: "entry" }),
          node(pair, { inputs: ["start", "b"], outputs: "a", name: "ping" }),
          node(id, { inputs: "a", outputs: "b", name: "pong" }),
        ]),
      code: "CYCLE",
      message: "The pipeline has a cycle: ping → a → pong → b → ping. Break it so that no node depends on its own output.",
    },
    {
      why: "a node reads its own output",
      build: () => pipeline([node(id, { inputs: "x", outputs: "x", name: "loop" })]),
      code: "CYCLE",
      message: "The pipeline has a cycle: loop → x → loop.",
    },
    {
      why: "a cycle has a node downstream of it, which the message leaves out",
      build: () =>
        pipeline([
          node(id, { inputs: "instances", outputs: "model", name: "fit" }),
          node(id, { inputs: "model", outputs: "metrics", name: "evaluate" }),
          node(id, { inputs: "model", outputs: "instances", name: "features" }),
        ]),
      code: "CYCLE",
      message: /^The pipeline has a cycle: fit → model → features → instances → fit\. Break it/,
    },
    {
      why: "the node downstream of a cycle comes first, and the cycle's nodes read other data too",
      build: () =>
        pipeline([
          node(id, { inputs: "model", outputs: "report", name: "report" }),
          node(pair, { inputs: ["raw", "instances"], outputs: "model", name: "fit" }),
          node(pair, { inputs: ["params:k", "model"], outputs: "instances", name: "features" }),
        ]),
      code: "CYCLE",
      message: /^The pipeline has a cycle: fit → model → features → instances → fit\. /,
    },
    {
      why: "two cycles: one of them, whole, is named",
      build: () =>
        pipeline([
          node(id, { inputs: "b", outputs: "a", name: "one" }),
          node(id, { inputs: "a", outputs: "b", name: "two" }),
          node(id, { inputs: "d", outputs: "c", name: "three" }),
          node(id, { inputs: "c", outputs: "d", name: "four" }),
        ]),
      code: "CYCLE",
      message: /^The pipeline has a cycle: one → a → two → b → one\. /,
    },
    {
      why: "an item is neither a node nor a pipeline",
      build: () => pipeline([node(id, { inputs: "a", outputs: "b" }), { name: "fake" } as unknown as Node]),
      code: "PIPELINE_ERROR",
      message: "pipeline() takes nodes and pipelines; got object.",
    },
  ])("rejects a pipeline where $why", ({ build, code, message }) => {
    const error = expectThrows(build, PipelineError, message);
    expect(error.code).toBe(code);
  });
});

describe("Pipeline filters", () => {
  const full = pipeline(trainingNodes());

  it.each<{ why: string; filter: (p: Pipeline) => Pipeline; expected: string[] }>([
    {
      why: "onlyNodesWithTags keeps nodes with any of the tags",
      filter: (p) => p.onlyNodesWithTags("features", "report"),
      expected: ["featurize", "evaluate"],
    },
    { why: "onlyNodesWithTags with an unused tag is empty", filter: (p) => p.onlyNodesWithTags("nope"), expected: [] },
    { why: "onlyNodes keeps the named nodes in topological order", filter: (p) => p.onlyNodes("evaluate", "clean"), expected: ["clean", "evaluate"] },
    { why: "fromInputs keeps everything downstream of a dataset", filter: (p) => p.fromInputs("features"), expected: ["train", "evaluate"] },
    { why: "fromInputs follows a parameter", filter: (p) => p.fromInputs("params:alpha"), expected: ["train", "evaluate"] },
    { why: "fromInputs from a free input keeps the whole chain", filter: (p) => p.fromInputs("raw"), expected: ["clean", "featurize", "train", "evaluate"] },
    { why: "toOutputs keeps everything upstream of a dataset", filter: (p) => p.toOutputs("features"), expected: ["clean", "featurize"] },
    { why: "toOutputs of several datasets takes the union", filter: (p) => p.toOutputs("cleaned", "model"), expected: ["clean", "featurize", "train"] },
    { why: "filters compose", filter: (p) => p.fromInputs("cleaned").toOutputs("model"), expected: ["featurize", "train"] },
  ])("$why", ({ filter, expected }) => {
    const filtered = filter(full);
    expect(filtered).toBeInstanceOf(Pipeline);
    expect(filtered).not.toBe(full);
    expect(names(filtered)).toEqual(expected);
    expect(names(full)).toEqual(["clean", "featurize", "train", "evaluate"]);
  });

  it("a filtered pipeline recomputes its free inputs and outputs", () => {
    const p = full.toOutputs("features");
    expect(p.inputs()).toEqual(["raw", "params:clean.min_rows"]);
    expect(p.outputs()).toEqual(["features"]);
    const q = full.fromInputs("features");
    expect(q.inputs()).toEqual(["features", "params:alpha"]);
    expect(q.outputs()).toEqual(["score"]);
  });

  it.each<{ why: string; filter: (p: Pipeline) => Pipeline; code: string; message: string }>([
    {
      why: "onlyNodes with an unknown name",
      filter: (p) => p.onlyNodes("train", "predict"),
      code: "UNKNOWN_NODE",
      message: "Unknown node(s) [predict]. The pipeline has [clean, featurize, train, evaluate].",
    },
    {
      why: "fromInputs with an unknown dataset",
      filter: (p) => p.fromInputs("features", "raw_data"),
      code: "UNKNOWN_DATASET",
      message: "Unknown input(s) [raw_data]: no node of the pipeline uses them.",
    },
    {
      why: "toOutputs with an unknown dataset",
      filter: (p) => p.toOutputs("predictions"),
      code: "UNKNOWN_DATASET",
      message: "Unknown output(s) [predictions]: no node of the pipeline uses them.",
    },
  ])("rejects $why, naming it", ({ filter, code, message }) => {
    const error = expectThrows(() => filter(full), PipelineError, message);
    expect(error.code).toBe(code);
  });
});

describe("Pipeline composition", () => {
  it("plus() joins two pipelines into one, connected through their datasets", () => {
    const [clean, featurize, train, evaluate] = trainingNodes() as [Node, Node, Node, Node];
    const joined = pipeline([train, evaluate]).plus(pipeline([clean, featurize]));
    expect(names(joined)).toEqual(["clean", "featurize", "train", "evaluate"]);
    expect(joined.inputs()).toEqual(["raw", "params:clean.min_rows", "params:alpha"]);
    expect(joined.outputs()).toEqual(["score"]);
  });

  it("keeps the pipeline source through plus(), filters and withSource()", () => {
    const source = { module: "file:///project/pipelines.js", exportName: "training" };
    const p = pipeline(trainingNodes(), { source });
    expect(p.source).toEqual(source);
    expect(p.onlyNodesWithTags("prep").source).toEqual(source);
    expect(p.toOutputs("model").source).toEqual(source);
    expect(p.plus(pipeline([node(id, { inputs: "score", outputs: "report", name: "report" })])).source).toEqual(source);
    const other = { module: "file:///elsewhere.js", exportName: "pipelines.inference" };
    const moved = pipeline(trainingNodes()).withSource(other);
    expect(moved.source).toEqual(other);
    expect(names(moved)).toEqual(names(p));
  });
});

describe("isParameterInput", () => {
  it.each([
    ["params:alpha", true],
    ["params:model.layers.0", true],
    ["parameters", true],
    ["params", false],
    ["my_params:x", false],
    ["features", false],
  ])("%s → %s", (name, expected) => {
    expect(isParameterInput(name)).toBe(expected);
  });
});
