import { describe, expect, it } from "vitest";
import type { DataFrame } from "danfojs-node";
import { Node, PipelineError, node, type NodeFunction, type NodeIO } from "../../src/index.js";
import { expectRejects, expectThrows, frameColumns, penguinsFrame } from "./helpers.js";

describe("node() inputs", () => {
  // Each row: how inputs are declared, the arguments the function must receive.
  it.each<{ why: string; inputs: NodeIO; expected: unknown[] }>([
    { why: "a string passes one dataset", inputs: "a", expected: [1] },
    { why: "an array passes datasets by position", inputs: ["b", "a"], expected: [2, 1] },
    { why: "a record passes one object of argument → dataset", inputs: { left: "a", right: "b" }, expected: [{ left: 1, right: 2 }] },
    { why: "null passes nothing", inputs: null, expected: [] },
    { why: "a repeated dataset is passed at each position", inputs: ["a", "a"], expected: [1, 1] },
  ])("$why", async ({ inputs, expected }) => {
    let received: unknown[] = [];
    const n = node(
      (...args: unknown[]) => {
        received = args;
        return "done";
      },
      { inputs, outputs: "out", name: "probe" },
    );
    await expect(n.run({ a: 1, b: 2 })).resolves.toEqual({ out: "done" });
    expect(received).toEqual(expected);
  });

  it("records the dataset names it reads, in argument order, without duplicates", () => {
    expect(node(() => 0, { inputs: ["b", "a", "b"], outputs: "x" }).inputNames).toEqual(["b", "a"]);
    expect(node(() => 0, { inputs: { p: "params:alpha", f: "frame" }, outputs: "x" }).inputNames).toEqual(["params:alpha", "frame"]);
    expect(node(() => 0, { inputs: null, outputs: "x" }).inputNames).toEqual([]);
  });
});

describe("node() outputs", () => {
  it.each<{ why: string; outputs: NodeIO; returned: unknown; expected: Record<string, unknown> }>([
    { why: "a string stores the whole return value", outputs: "out", returned: [1, 2], expected: { out: [1, 2] } },
    { why: "an array destructures the returned array by position", outputs: ["first", "second"], returned: ["x", "y"], expected: { first: "x", second: "y" } },
    {
      why: "a record destructures the returned object by key",
      outputs: { mean: "mean_mass", n: "n_rows" },
      returned: { n: 3, mean: 4.5, ignored: true },
      expected: { mean_mass: 4.5, n_rows: 3 },
    },
    { why: "null stores nothing", outputs: null, returned: "thrown away", expected: {} },
  ])("$why", async ({ outputs, returned, expected }) => {
    const n = node(() => returned, { inputs: null, outputs, name: "probe" });
    expect(n.outputNames).toEqual(Object.keys(expected));
    await expect(n.run({})).resolves.toEqual(expected);
  });

  it("awaits an async function", async () => {
    const n = node(
      async (a: number, b: number) => {
        await new Promise((resolve) => setImmediate(resolve));
        return [a + b, a * b];
      },
      { inputs: ["a", "b"], outputs: ["sum", "product"], name: "arith" },
    );
    await expect(n.run({ a: 3, b: 4 })).resolves.toEqual({ sum: 7, product: 12 });
  });

  it("passes real DataFrames in and out", async () => {
    const addKg = (frame: DataFrame): DataFrame => {
      const kg = (frame.column("body_mass_g").values as number[]).map((g) => g / 1000);
      return frame.addColumn("body_mass_kg", kg, { inplace: false }) as DataFrame;
    };
    const n = node(addKg, { inputs: "penguins", outputs: "with_kg", name: "add_kg" });
    const input = penguinsFrame();
    const { with_kg } = await n.run({ penguins: input });
    expect(frameColumns(with_kg)["body_mass_kg"]).toEqual([3.75, 4.5, 3.5, 5.7, 3.625]);
    expect(input.columns).not.toContain("body_mass_kg");
  });

  // Each row: declared outputs, what the function wrongly returns, the message that names the node and says what to return.
  it.each<{ why: string; outputs: NodeIO; returned: unknown; message: string }>([
    {
      why: "array outputs, too few values",
      outputs: ["a", "b"],
      returned: [1],
      message: 'Node "split" declares 2 outputs [a, b] but returned an array of 1. Return an array of 2 values.',
    },
    {
      why: "array outputs, too many values",
      outputs: ["a", "b"],
      returned: [1, 2, 3],
      message: 'Node "split" declares 2 outputs [a, b] but returned an array of 3. Return an array of 2 values.',
    },
    {
      why: "array outputs, not an array",
      outputs: ["a", "b"],
      returned: { a: 1, b: 2 },
      message: 'Node "split" declares 2 outputs [a, b] but returned an object. Return an array of 2 values.',
    },
    {
      why: "record outputs, an array",
      outputs: { x: "a", y: "b" },
      returned: [1, 2],
      message: 'Node "split" declares outputs {x, y} but returned an array of 2. Return an object with those keys.',
    },
    {
      why: "record outputs, null",
      outputs: { x: "a", y: "b" },
      returned: null,
      message: 'Node "split" declares outputs {x, y} but returned null. Return an object with those keys.',
    },
    {
      why: "record outputs, a number",
      outputs: { x: "a" },
      returned: 42,
      message: 'Node "split" declares outputs {x} but returned a number. Return an object with those keys.',
    },
    {
      why: "record outputs, a missing key",
      outputs: { x: "a", y: "b" },
      returned: { x: 1, z: 2 },
      message: 'Node "split" returned an object without the output keys [y]; it has [x, z].',
    },
  ])("rejects a return value that does not match the outputs: $why", async ({ outputs, returned, message }) => {
    const n = node(async () => returned, { inputs: null, outputs, name: "split" });
    const error = await expectRejects(n.run({}), PipelineError, message);
    expect(error.code).toBe("OUTPUT_MISMATCH");
  });
});

describe("node() names and tags", () => {
  function scale(frame: unknown, _k?: unknown): unknown {
    return frame;
  }

  it("defaults the name to func([inputs]) -> [outputs]", () => {
    expect(node(scale, { inputs: ["raw", "params:k"], outputs: ["scaled"] }).name).toBe("scale([raw,params:k]) -> [scaled]");
    expect(node(() => 1, { inputs: null, outputs: null }).name).toBe("<anonymous>([]) -> []");
  });

  it("keeps a given name, and String(node) is the name", () => {
    const n = node(scale, { inputs: "raw", outputs: "scaled", name: "scale_features" });
    expect(n.name).toBe("scale_features");
    expect(String(n)).toBe("scale_features");
  });

  it.each<{ tags: string | string[] | undefined; expected: string[] }>([
    { tags: undefined, expected: [] },
    { tags: "training", expected: ["training"] },
    { tags: ["training", "features", "training"], expected: ["training", "features"] },
  ])("normalises tags $tags to $expected", ({ tags, expected }) => {
    const n = node(scale, { inputs: "raw", outputs: "scaled", ...(tags === undefined ? {} : { tags }) });
    expect(n.tags).toEqual(expected);
  });

  it("tag() returns a new node with more tags and leaves the original alone", () => {
    const n = node(scale, { inputs: "raw", outputs: "scaled", name: "s", tags: "a" });
    const tagged = n.tag("b", "a");
    expect(tagged).toBeInstanceOf(Node);
    expect(tagged).not.toBe(n);
    expect(tagged.tags).toEqual(["a", "b"]);
    expect(tagged.name).toBe("s");
    expect(n.tags).toEqual(["a"]);
  });

  it("is immutable", () => {
    const n = node(scale, { inputs: "raw", outputs: "scaled", name: "s" });
    expect(Object.isFrozen(n)).toBe(true);
    expectThrows(
      () => {
        (n as { name: string }).name = "other";
      },
      TypeError,
      /read only|read-only|Cannot assign/,
    );
  });
});

describe("node() validation", () => {
  // Each row: a bad declaration and the message that says what is accepted.
  it.each<{ why: string; func: unknown; inputs: unknown; outputs: unknown; message: string }>([
    { why: "not a function", func: "scale", inputs: "a", outputs: "b", message: "node() needs a function, got string." },
    {
      why: "inputs is a number",
      func: () => 0,
      inputs: 3,
      outputs: "b",
      message: 'Node "bad": inputs must be a dataset name, an array of names, an object of argument → name, or null.',
    },
    {
      why: "an input name is empty",
      func: () => 0,
      inputs: ["a", ""],
      outputs: "b",
      message: 'Node "bad": every inputs must be a non-empty dataset name.',
    },
    {
      why: "a keyword output is not a string",
      func: () => 0,
      inputs: "a",
      outputs: { x: 1 },
      message: 'Node "bad": outputs must be a dataset name, an array of names, an object of argument → name, or null.',
    },
    {
      why: "an output is named twice",
      func: () => 0,
      inputs: "a",
      outputs: ["b", "c", "b"],
      message: 'Node "bad" names an output twice: [b, c, b].',
    },
  ])("rejects $why", ({ func, inputs, outputs, message }) => {
    const error = expectThrows(() => node(func as NodeFunction, { inputs: inputs as NodeIO, outputs: outputs as NodeIO, name: "bad" }), PipelineError, message);
    expect(error.code).toBe("PIPELINE_ERROR");
  });
});
