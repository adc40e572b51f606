import { describe, expect, it } from "vitest";
import type { DataFrame } from "danfojs-node";
import {
  COPY_MODES,
  DataCatalog,
  DatasetError,
  MemoryDataset,
  SequentialRunner,
  isDataFrame,
  node,
  pipeline,
  type CopyMode,
  type CopyModeSpec,
} from "../../src/index.js";
import { copyData, copyModeFor, inferCopyMode, parseCopyMode, parseCopyModeSpec } from "../../src/runtime/index.js";
import { loadDanfo } from "../../src/tabular/index.js";
import { expectThrows, frameColumns, penguinsFrame } from "./helpers.js";

class Encoder {
  constructor(readonly vocab: Map<string, number>) {}
  encode(word: string): number {
    return this.vocab.get(word) ?? -1;
  }
}

describe("copyData", () => {
  it("assign hands out the same reference", () => {
    for (const value of [penguinsFrame(), [1, 2], { a: { b: 1 } }, new Float64Array([1, 2])]) {
      expect(copyData(value, "assign")).toBe(value);
    }
  });

  // Each row: a kind of value; a shallow copy is a new container whose items are shared.
  it.each<{ kind: string; make: () => unknown; inner: (v: never) => unknown }>([
    { kind: "an array", make: () => [{ id: 1 }, { id: 2 }], inner: (v: { id: number }[]) => v[0] },
    { kind: "an object (spread)", make: () => ({ weights: [1, 2], bias: 0.5 }), inner: (v: { weights: number[] }) => v.weights },
    { kind: "a class instance", make: () => new Encoder(new Map([["a", 1]])), inner: (v: Encoder) => v.vocab },
    { kind: "a Map", make: () => new Map([["k", { deep: true }]]), inner: (v: Map<string, unknown>) => v.get("k") },
  ])("copy makes a shallow copy of $kind", ({ make, inner }) => {
    const original = make();
    const copied = copyData(original, "copy");
    expect(copied).not.toBe(original);
    expect(copied).toEqual(original);
    expect(Object.getPrototypeOf(copied)).toBe(Object.getPrototypeOf(original));
    expect(inner(copied as never)).toBe(inner(original as never));
  });

  it.each<{ kind: string; make: () => unknown; inner: (v: never) => unknown }>([
    { kind: "an array", make: () => [{ id: 1 }, { id: 2 }], inner: (v: { id: number }[]) => v[0] },
    { kind: "an object", make: () => ({ weights: [1, 2], nested: { bias: 0.5 } }), inner: (v: { nested: object }) => v.nested },
    { kind: "a class instance", make: () => new Encoder(new Map([["a", 1]])), inner: (v: Encoder) => v.vocab },
    { kind: "a Map", make: () => new Map([["k", { deep: true }]]), inner: (v: Map<string, unknown>) => v.get("k") },
    { kind: "a Set", make: () => new Set([{ deep: true }]), inner: (v: Set<unknown>) => [...v][0] },
    { kind: "a Date inside an object", make: () => ({ at: new Date("2024-05-01T00:00:00Z") }), inner: (v: { at: Date }) => v.at },
  ])("deepcopy makes a full clone of $kind", ({ make, inner }) => {
    const original = make();
    const cloned = copyData(original, "deepcopy");
    expect(cloned).not.toBe(original);
    expect(cloned).toEqual(original);
    expect(Object.getPrototypeOf(cloned)).toBe(Object.getPrototypeOf(original));
    expect(inner(cloned as never)).not.toBe(inner(original as never));
    expect(inner(cloned as never)).toEqual(inner(original as never));
  });

  it("deepcopy keeps class instances working and cycles intact", () => {
    const encoder = copyData(new Encoder(new Map([["penguin", 7]])), "deepcopy");
    expect(encoder).toBeInstanceOf(Encoder);
    expect(encoder.encode("penguin")).toBe(7);
    const cyclic: { self?: unknown; name: string } = { name: "loop" };
    cyclic.self = cyclic;
    const cloned = copyData(cyclic, "deepcopy");
    expect(cloned).not.toBe(cyclic);
    expect(cloned.self).toBe(cloned);
  });

  it.each<CopyMode>(["copy", "deepcopy"])("%s slices a typed array into its own buffer", (mode) => {
    const original = new Float32Array([1.5, 2.5, 3.5]);
    const copied = copyData(original, mode);
    expect(copied).toBeInstanceOf(Float32Array);
    expect(copied).toEqual(original);
    expect(copied.buffer).not.toBe(original.buffer);
    copied[0] = 99;
    expect(original[0]).toBe(1.5);
  });

  it.each<CopyMode>(["copy", "deepcopy"])("%s of a DataFrame is still a DataFrame, with the same data, index and dtypes", (mode) => {
    const { DataFrame } = loadDanfo<typeof import("danfojs-node")>();
    const original = new DataFrame({ species: ["Adelie", "Gentoo"], mass: [3750, 5700], ok: [true, false] }, { index: ["a", "b"] });
    const copied = copyData(original, mode);
    expect(copied).not.toBe(original);
    expect(copied).toBeInstanceOf(DataFrame);
    expect(isDataFrame(copied)).toBe(true);
    expect(frameColumns(copied)).toEqual(frameColumns(original));
    expect(copied.index).toEqual(["a", "b"]);
    expect(copied.dtypes).toEqual(original.dtypes);
    copied.addColumn("added", [1, 2], { inplace: true });
    expect(original.columns).toEqual(["species", "mass", "ok"]);
  });

  it("deepcopy of a DataFrame clones object cells; copy shares them", () => {
    const { DataFrame } = loadDanfo<typeof import("danfojs-node")>();
    const original = new DataFrame({ meta: [{ k: 1 }, { k: 2 }] });
    const cell = (frame: DataFrame): unknown => (frame.getColumnData as unknown as unknown[][])[0]?.[0];
    expect(cell(copyData(original, "copy"))).toBe(cell(original));
    expect(cell(copyData(original, "deepcopy"))).not.toBe(cell(original));
    expect(cell(copyData(original, "deepcopy"))).toEqual({ k: 1 });
  });

  it.each([0, "text", null, undefined, true])("every mode passes the primitive %s through", (value) => {
    for (const mode of COPY_MODES) expect(copyData(value, mode)).toBe(value);
  });
});

describe("inferCopyMode (Kedro's rule when no mode is given)", () => {
  it.each<{ kind: string; value: () => unknown; mode: CopyMode }>([
    { kind: "a DataFrame", value: penguinsFrame, mode: "copy" },
    { kind: "an array", value: () => [1, 2], mode: "copy" },
    { kind: "a typed array", value: () => new Int32Array(2), mode: "copy" },
    { kind: "an object", value: () => ({ a: 1 }), mode: "deepcopy" },
    { kind: "a class instance", value: () => new Encoder(new Map()), mode: "deepcopy" },
    { kind: "a number", value: () => 1, mode: "assign" },
    { kind: "null", value: () => null, mode: "assign" },
  ])("$kind → $mode", ({ value, mode }) => {
    expect(inferCopyMode(value())).toBe(mode);
  });
});

describe("parsing copy modes", () => {
  it.each<{ spec: unknown; expected: CopyModeSpec }>([
    { spec: "assign", expected: "assign" },
    { spec: "deepcopy", expected: "deepcopy" },
    { spec: { scaler: "assign", default: "copy" }, expected: { scaler: "assign", default: "copy" } },
    { spec: {}, expected: {} },
  ])("accepts $spec", ({ spec, expected }) => {
    expect(parseCopyModeSpec(spec)).toEqual(expected);
  });

  // Each row: a bad spec and the message naming the bad value, the accepted forms and the dataset.
  it.each<{ why: string; parse: () => unknown; message: string }>([
    { why: "a misspelt mode", parse: () => parseCopyMode("cpy"), message: 'Invalid copy mode "cpy". Use one of: assign, copy, deepcopy.' },
    {
      why: "a misspelt mode for a dataset",
      parse: () => parseCopyMode("cpy", "scaler"),
      message: 'Invalid copy mode "cpy" for dataset "scaler". Use one of: assign, copy, deepcopy.',
    },
    { why: "the wrong case", parse: () => parseCopyModeSpec("Copy"), message: 'Invalid copy mode "Copy". Use one of: assign, copy, deepcopy.' },
    {
      why: "a bad entry in a map",
      parse: () => parseCopyModeSpec({ model: "shallow" }),
      message: 'Invalid copy mode "shallow" for dataset "model". Use one of: assign, copy, deepcopy.',
    },
    {
      why: "a list",
      parse: () => parseCopyModeSpec(["copy"]),
      message: 'Invalid copy mode ["copy"]. Use one of assign, copy, deepcopy, or an object of dataset name → mode.',
    },
    {
      why: "null",
      parse: () => parseCopyModeSpec(null),
      message: "Invalid copy mode null. Use one of assign, copy, deepcopy, or an object of dataset name → mode.",
    },
    {
      why: "a bad mode on a MemoryDataset",
      parse: () => new MemoryDataset({ copyMode: "clone" as CopyMode }),
      message: 'Invalid copy mode "clone". Use one of: assign, copy, deepcopy.',
    },
    {
      why: "a bad mode in a catalog map",
      parse: () => new DataCatalog({}, { copyMode: { default: "none" as CopyMode } }),
      message: 'Invalid copy mode "none" for dataset "default".',
    },
  ])("rejects $why", ({ parse, message }) => {
    const error = expectThrows(parse, DatasetError, message);
    expect(error.code).toBe("INVALID_COPY_MODE");
  });

  it.each<{ spec: CopyModeSpec | undefined; dataset: string; expected: CopyMode | undefined }>([
    { spec: "deepcopy", dataset: "anything", expected: "deepcopy" },
    { spec: { scaler: "assign", default: "copy" }, dataset: "scaler", expected: "assign" },
    { spec: { scaler: "assign", default: "copy" }, dataset: "features", expected: "copy" },
    { spec: { scaler: "assign" }, dataset: "features", expected: undefined },
    { spec: undefined, dataset: "features", expected: undefined },
  ])("copyModeFor($spec, $dataset) → $expected", ({ spec, dataset, expected }) => {
    expect(copyModeFor(spec, dataset)).toBe(expected);
  });
});

describe("MemoryDataset copy modes", () => {
  it("assign hands every load the stored object itself", () => {
    const frame = penguinsFrame();
    const dataset = new MemoryDataset({ data: frame, copyMode: "assign" });
    expect(dataset.load()).toBe(frame);
    expect(dataset.load()).toBe(dataset.load());
  });

  it("copy and deepcopy hand out a fresh copy on every load and keep their own copy on save", () => {
    for (const copyMode of ["copy", "deepcopy"] as const) {
      const data = [{ id: 1 }];
      const dataset = new MemoryDataset({ copyMode });
      dataset.save(data);
      data.push({ id: 2 });
      expect(dataset.load()).toEqual([{ id: 1 }]);
      expect(dataset.load()).not.toBe(dataset.load());
    }
  });

  it("without a mode, infers one from the data", () => {
    const frame = penguinsFrame();
    const nested = { a: { b: 1 } };
    const frames = new MemoryDataset({ data: frame });
    const objects = new MemoryDataset({ data: nested });
    expect(frames.copyMode).toBeUndefined();
    expect(frames.load()).not.toBe(frame);
    expect(isDataFrame(frames.load())).toBe(true);
    expect((objects.load() as typeof nested).a).not.toBe(nested.a);
    expect(new MemoryDataset({ data: 5 }).load()).toBe(5);
  });
});

/** A node that changes its input in place and reports whether an earlier run already had. */
function touchFrame(frame: DataFrame): boolean {
  const seen = frame.columns.includes("touched");
  frame.addColumn("touched", new Array(frame.shape[0]).fill(true), { inplace: true });
  return seen;
}

/** A node that pushes into a nested list of its input and reports the list's length before. */
function touchConfig(config: { model: { layers: number[] } }): number {
  const before = config.model.layers.length;
  config.model.layers.push(before + 1);
  return before;
}

describe("a node that mutates its input", () => {
  const frames = pipeline([node(touchFrame, { inputs: "penguins", outputs: "had_been_touched", name: "touch_frame" })]);
  const configs = pipeline([node(touchConfig, { inputs: "config", outputs: "layers_before", name: "touch_config" })]);

  async function runTwice(p: typeof frames, catalog: DataCatalog): Promise<unknown[]> {
    const runner = new SequentialRunner();
    const first = await runner.run(p, catalog);
    const second = await runner.run(p, catalog);
    return [...Object.values(first), ...Object.values(second)];
  }

  // Each row: a copy mode, the data, and what the second run sees.
  it.each<{ why: string; p: typeof frames; copyMode: CopyMode; data: () => unknown; results: unknown[] }>([
    { why: "a DataFrame under assign leaks into the next run", p: frames, copyMode: "assign", data: penguinsFrame, results: [false, true] },
    { why: "a DataFrame under copy does not", p: frames, copyMode: "copy", data: penguinsFrame, results: [false, false] },
    { why: "a DataFrame under deepcopy does not", p: frames, copyMode: "deepcopy", data: penguinsFrame, results: [false, false] },
    { why: "a nested object under assign leaks", p: configs, copyMode: "assign", data: () => ({ model: { layers: [1, 2] } }), results: [2, 3] },
    { why: "a nested object under copy (shallow) still leaks", p: configs, copyMode: "copy", data: () => ({ model: { layers: [1, 2] } }), results: [2, 3] },
    { why: "a nested object under deepcopy does not", p: configs, copyMode: "deepcopy", data: () => ({ model: { layers: [1, 2] } }), results: [2, 2] },
  ])("$why", async ({ p, copyMode, data, results }) => {
    const name = p.inputs()[0] as string;
    const original = data();
    const catalog = new DataCatalog({ [name]: new MemoryDataset({ data: original, copyMode }) });
    expect(await runTwice(p, catalog)).toEqual(results);
    if (isDataFrame(original)) expect(original.columns.includes("touched")).toBe(copyMode === "assign");
  });

  it("one catalog mode applies to every feed dict", async () => {
    const catalog = new DataCatalog({}, { copyMode: "assign" });
    catalog.addFeedDict({ penguins: penguinsFrame(), config: { model: { layers: [1] } } });
    expect((catalog.get("penguins") as MemoryDataset).copyMode).toBe("assign");
    expect((catalog.get("config") as MemoryDataset).copyMode).toBe("assign");
    expect(await runTwice(frames, catalog)).toEqual([false, true]);
    expect(await runTwice(configs, catalog)).toEqual([1, 2]);
  });

  it("a per-dataset map with a default picks each dataset's mode", async () => {
    const catalog = new DataCatalog({}, { copyMode: { config: "deepcopy", default: "assign" } });
    catalog.addFeedDict({ penguins: penguinsFrame(), config: { model: { layers: [1] } } });
    expect((catalog.get("config") as MemoryDataset).copyMode).toBe("deepcopy");
    expect((catalog.get("penguins") as MemoryDataset).copyMode).toBe("assign");
    expect(await runTwice(frames, catalog)).toEqual([false, true]);
    expect(await runTwice(configs, catalog)).toEqual([1, 1]);
  });

  it("a map without a default leaves other datasets to inference (a DataFrame is copied)", async () => {
    const catalog = new DataCatalog({}, { copyMode: { config: "assign" } });
    catalog.addFeedDict({ penguins: penguinsFrame() });
    expect((catalog.get("penguins") as MemoryDataset).copyMode).toBeUndefined();
    expect(await runTwice(frames, catalog)).toEqual([false, false]);
  });

  it("the catalog mode also guards intermediate datasets between two consumers in one run", async () => {
    // `touch_frame` runs before `read_columns`; both read the intermediate `penguins_kg`.
    const p = pipeline([
      node(
        (frame: DataFrame) =>
          frame.addColumn(
            "kg",
            (frame.column("body_mass_g").values as number[]).map((g) => g / 1000),
            { inplace: false },
          ),
        {
          inputs: "penguins",
          outputs: "penguins_kg",
          name: "add_kg",
        },
      ),
      node(touchFrame, { inputs: "penguins_kg", outputs: "had_been_touched", name: "touch_frame" }),
      node((frame: DataFrame) => [...frame.columns], { inputs: "penguins_kg", outputs: "columns", name: "read_columns" }),
    ]);
    const columnsSeen = async (copyMode: CopyMode): Promise<unknown> => {
      const catalog = new DataCatalog({}, { copyMode });
      catalog.addFeedDict({ penguins: penguinsFrame() });
      return (await new SequentialRunner().run(p, catalog))["columns"];
    };
    expect(await columnsSeen("assign")).toEqual(["species", "bill_length_mm", "body_mass_g", "kg", "touched"]);
    expect(await columnsSeen("copy")).toEqual(["species", "bill_length_mm", "body_mass_g", "kg"]);
    expect(await columnsSeen("deepcopy")).toEqual(["species", "bill_length_mm", "body_mass_g", "kg"]);
  });

  it("saves to unregistered names follow the catalog mode", async () => {
    const catalog = new DataCatalog({}, { copyMode: { cache: "deepcopy", default: "assign" } });
    const cached = { deep: { value: 1 } };
    await catalog.save("cache", cached);
    await catalog.save("other", cached);
    cached.deep.value = 2;
    expect(await catalog.load("cache")).toEqual({ deep: { value: 1 } });
    expect(await catalog.load("other")).toBe(cached);
  });
});
