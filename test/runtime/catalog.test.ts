import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { ConcurrentRunner, CsvDataset, DataCatalog, DatasetError, MemoryDataset, SequentialRunner, node, pipeline, type Hooks } from "../../src/index.js";
import { expectRejects, expectThrows, frameColumns, makeTempDir, penguinsFrame } from "./helpers.js";

const params = {
  alpha: 0.5,
  model: { layers: { hidden: 16, dropout: 0.1 }, name: "mlp" },
  features: ["bill_length_mm", "body_mass_g"],
};

let tmp: Awaited<ReturnType<typeof makeTempDir>>;
beforeEach(async () => {
  tmp = await makeTempDir();
});
afterEach(async () => {
  await tmp.remove();
});

describe("DataCatalog load / save / has / list", () => {
  it("loads and saves through registered datasets, a real file included", async () => {
    const path = join(tmp.path, "penguins.csv");
    const catalog = new DataCatalog({ penguins: new CsvDataset({ filepath: path }), counter: new MemoryDataset({ data: 1 }) });
    await catalog.save("penguins", penguinsFrame());
    expect(existsSync(path)).toBe(true);
    expect(frameColumns(await catalog.load("penguins"))).toEqual(frameColumns(penguinsFrame()));
    expect(await catalog.load("counter")).toBe(1);
    await catalog.save("counter", 2);
    expect(await catalog.load("counter")).toBe(2);
  });

  it("saving to an unregistered name creates a MemoryDataset", async () => {
    const catalog = new DataCatalog();
    expect(catalog.has("scores")).toBe(false);
    await catalog.save("scores", [0.1, 0.9]);
    expect(catalog.get("scores")).toBeInstanceOf(MemoryDataset);
    expect(catalog.has("scores")).toBe(true);
    await expect(catalog.exists("scores")).resolves.toBe(true);
    expect(await catalog.load("scores")).toEqual([0.1, 0.9]);
  });

  it("has() knows datasets and parameters that resolve", () => {
    const catalog = new DataCatalog({ raw: new MemoryDataset() }, { params });
    expect.soft(catalog.has("raw")).toBe(true);
    expect.soft(catalog.has("parameters")).toBe(true);
    expect.soft(catalog.has("params:alpha")).toBe(true);
    expect.soft(catalog.has("params:model.layers.hidden")).toBe(true);
    expect.soft(catalog.has("params:model.layers.width")).toBe(false);
    expect.soft(catalog.has("params:model.name.length")).toBe(false);
    expect.soft(catalog.has("cooked")).toBe(false);
  });

  it("list() names the datasets, then parameters with nested keys dotted", () => {
    const catalog = new DataCatalog({ raw: new MemoryDataset(), model: new MemoryDataset() }, { params: { alpha: 1, model: { layers: { hidden: 16 } } } });
    expect(catalog.list()).toEqual(["raw", "model", "parameters", "params:alpha", "params:model", "params:model.layers", "params:model.layers.hidden"]);
  });

  it("exists() is false for an empty memory dataset or a missing file, true for a parameter", async () => {
    const catalog = new DataCatalog({ empty: new MemoryDataset(), file: new CsvDataset({ filepath: join(tmp.path, "nope.csv") }) }, { params });
    await expect(catalog.exists("empty")).resolves.toBe(false);
    await expect(catalog.exists("file")).resolves.toBe(false);
    await expect(catalog.exists("params:alpha")).resolves.toBe(true);
    await expect(catalog.exists("unknown")).resolves.toBe(false);
  });

  it("loading an unknown dataset is an error naming it and the known datasets", async () => {
    const catalog = new DataCatalog({ raw: new MemoryDataset({ data: 1 }), model: new MemoryDataset({ data: 2 }) });
    const error = await expectRejects(catalog.load("features"), DatasetError, 'Dataset "features" is not in the catalog. Known datasets: [raw, model].');
    expect(error.code).toBe("DATASET_NOT_FOUND");
  });

  it.each(["parameters", "params:alpha"])("refuses to save to the parameter %s", async (name) => {
    const catalog = new DataCatalog({}, { params });
    const error = await expectRejects(catalog.save(name, 1), DatasetError, `Cannot save to "${name}": parameters are read-only inputs.`);
    expect(error.code).toBe("READ_ONLY");
  });

  it("release() empties a memory dataset", async () => {
    const catalog = new DataCatalog({ cache: new MemoryDataset({ data: [1, 2] }) });
    catalog.release("cache");
    await expect(catalog.exists("cache")).resolves.toBe(false);
    catalog.release("not-there");
  });
});

describe("DataCatalog add / addFeedDict / derive", () => {
  it("addFeedDict registers each value as a memory dataset", async () => {
    const catalog = new DataCatalog();
    catalog.addFeedDict({ penguins: penguinsFrame(), threshold: 4000 });
    expect(catalog.get("penguins")).toBeInstanceOf(MemoryDataset);
    expect(frameColumns(await catalog.load("penguins"))).toEqual(frameColumns(penguinsFrame()));
    expect(await catalog.load("threshold")).toBe(4000);
  });

  it("refuses to replace a dataset unless asked to", async () => {
    const catalog = new DataCatalog({ raw: new MemoryDataset({ data: "old" }) });
    const error = expectThrows(
      () => catalog.addFeedDict({ raw: "new" }),
      DatasetError,
      'Dataset "raw" is already in the catalog; pass { replace: true } to replace it.',
    );
    expect(error.code).toBe("DATASET_EXISTS");
    expectThrows(() => catalog.add("raw", new MemoryDataset()), DatasetError, 'Dataset "raw" is already in the catalog');
    catalog.addFeedDict({ raw: "new" }, { replace: true });
    expect(await catalog.load("raw")).toBe("new");
  });

  it("derive() shares datasets, swaps parameters and adds a feed without touching the parent", async () => {
    const shared = new MemoryDataset({ data: "artifact" });
    const parent = new DataCatalog({ scaler: shared }, { params: { alpha: 1 } });
    const child = parent.derive({ params: { alpha: 2 }, feed: { input: [1, 2, 3] } });
    expect(child.get("scaler")).toBe(shared);
    expect(await child.load("params:alpha")).toBe(2);
    expect(await child.load("input")).toEqual([1, 2, 3]);
    expect(await parent.load("params:alpha")).toBe(1);
    expect(parent.has("input")).toBe(false);
  });
});

describe("parameters", () => {
  const catalog = new DataCatalog({}, { params });

  it.each<{ name: string; expected: unknown }>([
    { name: "params:alpha", expected: 0.5 },
    { name: "params:model", expected: params.model },
    { name: "params:model.layers", expected: { hidden: 16, dropout: 0.1 } },
    { name: "params:model.layers.dropout", expected: 0.1 },
    { name: "params:model.name", expected: "mlp" },
    { name: "params:features", expected: ["bill_length_mm", "body_mass_g"] },
    { name: "parameters", expected: params },
  ])("$name resolves from the parameters", async ({ name, expected }) => {
    await expect(catalog.load(name)).resolves.toEqual(expected);
  });

  it("hands out copies of object parameters, so a node cannot change them for later runs", async () => {
    const layers = (await catalog.load("params:model.layers")) as { hidden: number };
    layers.hidden = 999;
    const all = (await catalog.load("parameters")) as typeof params;
    all.model.name = "changed";
    expect(await catalog.load("params:model.layers.hidden")).toBe(16);
    expect(await catalog.load("params:model.name")).toBe("mlp");
  });

  // Each row: a parameter that does not resolve, and why.
  it.each<{ why: string; key: string }>([
    { why: "no such top-level key", key: "beta" },
    { why: "no such nested key", key: "model.layers.width" },
    { why: "a path through a scalar", key: "alpha.value" },
    { why: "a path through an array", key: "features.0" },
    { why: "an inherited property", key: "toString" },
  ])("an unknown parameter is an error naming it ($why)", async ({ key }) => {
    const error = await expectRejects(catalog.load(`params:${key}`), DatasetError, `Parameter "${key}" is not defined. Known parameters: [`);
    expect(error.message).toContain("[alpha, model, model.layers, model.layers.hidden, model.layers.dropout, model.name, features].");
    expect(error.code).toBe("UNKNOWN_PARAMETER");
  });

  it("params: inputs reach the nodes of a run", async () => {
    const p = pipeline([
      node((layers: { hidden: number }, alpha: number, all: typeof params) => `${layers.hidden}/${alpha}/${all.model.name}`, {
        inputs: ["params:model.layers", "params:alpha", "parameters"],
        outputs: "summary",
        name: "summarise_params",
      }),
    ]);
    await expect(new SequentialRunner().run(p, catalog)).resolves.toEqual({ summary: "16/0.5/mlp" });
  });
});

describe("inputs nobody provides", () => {
  // Each row: the pipeline's free inputs that the catalog cannot serve.
  it.each<{ why: string; inputs: string[]; missing: string }>([
    { why: "a dataset", inputs: ["raw", "params:alpha"], missing: "raw" },
    { why: "a parameter", inputs: ["present", "params:model.depth"], missing: "params:model.depth" },
    { why: "several", inputs: ["raw", "present", "params:beta"], missing: "raw, params:beta" },
  ])("are an error naming them before any node runs ($why)", async ({ inputs, missing }) => {
    const calls: string[] = [];
    const p = pipeline([
      node(() => calls.push("first"), { inputs: null, outputs: "unrelated", name: "first" }),
      node((...args: unknown[]) => calls.push(`needs ${args.length}`), { inputs, outputs: "out", name: "needs" }),
    ]);
    const catalog = new DataCatalog({ present: new MemoryDataset({ data: 1 }) }, { params: { alpha: 1 } });
    const hooks: Hooks = { beforePipelineRun: () => void calls.push("beforePipelineRun"), beforeNodeRun: () => void calls.push("beforeNodeRun") };
    for (const runner of [new SequentialRunner(), new ConcurrentRunner()]) {
      const error = await expectRejects(
        runner.run(p, catalog, { hooks }),
        DatasetError,
        `Pipeline input(s) [${missing}] are not provided: add them to the catalog (catalog.yml or a feed dict) or to the parameters before running.`,
      );
      expect(error.code).toBe("MISSING_INPUTS");
    }
    expect(calls).toEqual([]);
  });
});
