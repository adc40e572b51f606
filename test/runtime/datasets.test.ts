import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { existsSync } from "node:fs";
import { mkdir, readFile, readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { Table } from "apache-arrow";
import type { DataFrame } from "danfojs-node";
import {
  ArrowDataset,
  BinaryDataset,
  CsvDataset,
  DataCatalog,
  DatasetError,
  FormatError,
  JsonArtifactDataset,
  JsonDataset,
  MemoryDataset,
  ParquetDataset,
  SequentialRunner,
  node,
  pipeline,
  tableToColumns,
  toArrow,
  type ColumnTable,
  type Dataset,
  type TabularDatasetOptions,
} from "../../src/index.js";
import { CATALOG_DATASET_TYPES } from "../../src/runtime/index.js";
import { isColumnTable, loadDanfo } from "../../src/tabular/index.js";
import { expectRejects, expectThrows, frameColumns, makeTempDir, mixedFrame, penguinsFrame } from "./helpers.js";

let tmp: Awaited<ReturnType<typeof makeTempDir>>;
beforeEach(async () => {
  tmp = await makeTempDir();
});
afterEach(async () => {
  await tmp.remove();
});

type TabularClass = new (options: TabularDatasetOptions) => CsvDataset | JsonDataset | ParquetDataset | ArrowDataset;

/** Each tabular dataset, its file extension, and a check that the file on disk really is that format. */
const TABULAR: { type: string; Dataset: TabularClass; ext: string; isFormat: (bytes: Buffer) => boolean }[] = [
  { type: "CsvDataset", Dataset: CsvDataset, ext: "csv", isFormat: (b) => b.toString("utf8").startsWith("id,name,score,flag\n") },
  { type: "JsonDataset", Dataset: JsonDataset, ext: "json", isFormat: (b) => Array.isArray(JSON.parse(b.toString("utf8"))) },
  {
    type: "ParquetDataset",
    Dataset: ParquetDataset,
    ext: "parquet",
    isFormat: (b) => b.subarray(0, 4).toString() === "PAR1" && b.subarray(-4).toString() === "PAR1",
  },
  { type: "ArrowDataset", Dataset: ArrowDataset, ext: "arrow", isFormat: (b) => b.subarray(0, 6).toString() === "ARROW1" },
];

const MIXED_COLUMNS = {
  id: [1, 2, 3, 4],
  name: ["Zoë", "北京 🐧", null, 'naïve, "quoted"'],
  score: [1.5, null, -2.25, 1e-3],
  flag: [true, false, null, true],
};

describe.each(TABULAR)("$type", ({ Dataset, ext, isFormat }) => {
  it("round-trips a DataFrame with nulls, unicode strings, numbers and booleans through a real file", async () => {
    const filepath = join(tmp.path, `mixed.${ext}`);
    const dataset = new Dataset({ filepath });
    await expect(dataset.exists()).resolves.toBe(false);
    await dataset.save(mixedFrame());
    await expect(dataset.exists()).resolves.toBe(true);
    expect(isFormat(await readFile(filepath))).toBe(true);

    const loaded = await dataset.load();
    expect(loaded).toBeInstanceOf(loadDanfo<typeof import("danfojs-node")>().DataFrame);
    expect(frameColumns(loaded)).toEqual(MIXED_COLUMNS);
  });

  it("writes atomically into folders it creates, leaving no temporary files", async () => {
    const filepath = join(tmp.path, "deep", "er", `penguins.${ext}`);
    const dataset = new Dataset({ filepath });
    await dataset.save(penguinsFrame());
    await dataset.save(penguinsFrame());
    expect(await readdir(join(tmp.path, "deep", "er"))).toEqual([`penguins.${ext}`]);
    expect(frameColumns(await dataset.load())).toEqual(frameColumns(penguinsFrame()));
  });

  it.each<{ why: string; data: () => unknown }>([
    {
      why: "an array of row objects",
      data: () => [
        { id: 1, name: "Zoë" },
        { id: 2, name: null },
      ],
    },
    { why: "an object of columns", data: () => ({ id: [1, 2], name: ["Zoë", null] }) },
    {
      why: "a ColumnTable",
      data: () => ({
        names: ["id", "name"],
        columns: [
          [1, 2],
          ["Zoë", null],
        ],
        numRows: 2,
      }),
    },
    {
      why: "an Arrow table",
      data: () =>
        toArrow({
          names: ["id", "name"],
          columns: [
            [1, 2],
            ["Zoë", null],
          ],
          numRows: 2,
        }),
    },
  ])("saves $why", async ({ data }) => {
    const dataset = new Dataset({ filepath: join(tmp.path, `other.${ext}`) });
    await dataset.save(data());
    expect(frameColumns(await dataset.load())).toEqual({ id: [1, 2], name: ["Zoë", null] });
  });

  it('loads a ColumnTable with load_args { as: "table" }', async () => {
    const dataset = new Dataset({ filepath: join(tmp.path, `mixed.${ext}`), loadArgs: { as: "table" } });
    await dataset.save(mixedFrame());
    const loaded = await dataset.load();
    expect(isColumnTable(loaded)).toBe(true);
    expect(tableToColumns(loaded as ColumnTable)).toEqual(MIXED_COLUMNS);
    expect(dataset.describe()).toEqual({ filepath: join(tmp.path, `mixed.${ext}`), as: "table" });
  });

  it('loads an Arrow table with load_args { as: "arrow" }', async () => {
    const dataset = new Dataset({ filepath: join(tmp.path, `mixed.${ext}`), loadArgs: { as: "arrow" } });
    await dataset.save(mixedFrame());
    const loaded = await dataset.load();
    expect(loaded).toBeInstanceOf(Table);
    const table = loaded as Table;
    expect(table.numRows).toBe(4);
    expect(table.schema.fields.map((f) => f.name)).toEqual(["id", "name", "score", "flag"]);
    expect(table.getChild("name")?.toArray()).toEqual(MIXED_COLUMNS.name);
  });

  it("reports a missing file as a DatasetError naming the dataset, keeping the cause", async () => {
    const filepath = join(tmp.path, `missing.${ext}`);
    const error = await expectRejects(
      new Dataset({ filepath }).load(),
      DatasetError,
      `Failed to load data from ${Dataset.name}(filepath=${filepath}, as=dataframe): ENOENT`,
    );
    expect(error.code).toBe("DATASET_LOAD_FAILED");
    expect((error.cause as NodeJS.ErrnoException).code).toBe("ENOENT");
  });

  it("refuses to save something that is not a table, naming the dataset", async () => {
    const filepath = join(tmp.path, `bad.${ext}`);
    const error = await expectRejects(
      new Dataset({ filepath }).save(42),
      DatasetError,
      `Failed to save data to ${Dataset.name}(filepath=${filepath}, as=dataframe): Expected tabular data (a DataFrame, an Arrow table, an array of row objects or an object of columns), got number.`,
    );
    expect(error.code).toBe("DATASET_SAVE_FAILED");
    expect(error.cause).toBeInstanceOf(FormatError);
    expect(existsSync(filepath)).toBe(false);
  });

  it("rejects an unknown load_args.as", () => {
    const filepath = join(tmp.path, `x.${ext}`);
    const error = expectThrows(
      () => new Dataset({ filepath, loadArgs: { as: "pandas" as never } }),
      DatasetError,
      `Invalid load_args.as "pandas" for ${filepath}. Use one of: dataframe, table, arrow.`,
    );
    expect(error.code).toBe("INVALID_DATASET");
  });
});

describe("CsvDataset load_args", () => {
  it.each<{ why: string; text: string; loadArgs: TabularDatasetOptions["loadArgs"]; expected: Record<string, unknown[]> }>([
    { why: "a semicolon delimiter", text: "a;b\n1;x\n2;\n", loadArgs: { delimiter: ";" }, expected: { a: [1, 2], b: ["x", null] } },
    {
      why: "raw strings keep leading zeros",
      text: "zip,ok\n01234,true\n,false\n",
      loadArgs: { raw: true },
      expected: { zip: ["01234", null], ok: ["true", "false"] },
    },
    { why: "inferred cells by default", text: "zip,ok\n01234,TRUE\n,false\n", loadArgs: {}, expected: { zip: [1234, null], ok: [true, false] } },
    // Found by an audit: typed cell by cell, such a column mixed numbers and text and training failed.
    {
      why: "a column of numbers and text as its text, as pandas does; the other columns typed",
      text: "code,n\n1.50,1\nX12,2\n,3\n",
      loadArgs: {},
      expected: { code: ["1.50", "X12", null], n: [1, 2, 3] },
    },
    { why: "pandas' sep as the delimiter", text: "a;b\n1;x\n", loadArgs: { sep: ";" } as never, expected: { a: [1], b: ["x"] } },
    // Found by a review: NaN made a boolean or text column raw text; pandas reads it as missing anywhere.
    {
      why: "NaN as missing in any column, a mixed one included",
      text: "name,flag,code\nalice,true,1\nNaN,NaN,NaN\nbob,false,X1\n",
      loadArgs: {},
      expected: { name: ["alice", null, "bob"], flag: [true, null, false], code: ["1", null, "X1"] },
    },
  ])("reads $why", async ({ text, loadArgs, expected }) => {
    const filepath = join(tmp.path, "input.csv");
    await writeFile(filepath, text);
    const catalog = DataCatalog.fromConfig({ input: { type: "CsvDataset", filepath, ...(loadArgs ? { load_args: loadArgs } : {}) } }, { baseDir: tmp.path });
    expect(frameColumns(await catalog.load("input"))).toEqual(expected);
  });
});

// Found by a review: load_args' sep was read but not written, so a dataset saved and loaded again was one column.
describe("a CSV dataset with sep", () => {
  it("saves with it, and loads what it saved; save_args may repeat it", async () => {
    const filepath = join(tmp.path, "semi.csv");
    const catalog = DataCatalog.fromConfig(
      { d: { type: "pandas.CSVDataset", filepath, load_args: { sep: ";", as: "table" }, save_args: { sep: ";", index: false } } },
      { baseDir: tmp.path },
    );
    await catalog.save("d", { a: [1, 2], b: ["x;y", "z"] });
    expect(await readFile(filepath, "utf8")).toBe('a;b\n1;"x;y"\n2;z\n');
    expect(await catalog.load("d")).toEqual({
      names: ["a", "b"],
      columns: [
        [1, 2],
        ["x;y", "z"],
      ],
      numRows: 2,
    });
  });

  it("save_args with another sep than the one it loads with are refused", () => {
    expectThrows(
      () => DataCatalog.fromConfig({ d: { type: "CsvDataset", filepath: "d.csv", load_args: { sep: ";" }, save_args: { sep: "," } } }, { baseDir: tmp.path }),
      DatasetError,
      'Dataset "d" has save_args [sep], which pipeserve does not use',
    );
  });
});

describe("a catalog filepath written as a file:// URL", () => {
  it("is that path (it was a folder named file: inside the project)", async () => {
    const filepath = join(tmp.path, "elsewhere", "in.csv");
    await mkdir(join(tmp.path, "elsewhere"));
    await writeFile(filepath, "a\n1\n");
    const catalog = DataCatalog.fromConfig(
      { input: { type: "CsvDataset", filepath: pathToFileURL(filepath).href, load_args: { as: "table" } } },
      { baseDir: join(tmp.path, "project") },
    );
    expect(catalog.describeDataset("input")).toBe(`CsvDataset, ${filepath}`);
    expect(((await catalog.load("input")) as { columns: unknown[] }).columns).toEqual([[1]]);
  });
});

describe("BinaryDataset", () => {
  it("round-trips raw bytes through a real file", async () => {
    const bytes = Uint8Array.from({ length: 256 }, (_, i) => i);
    const filepath = join(tmp.path, "models", "model.onnx");
    const dataset = new BinaryDataset({ filepath });
    await dataset.save(bytes);
    expect(new Uint8Array(await readFile(filepath))).toEqual(bytes);
    const loaded = await dataset.load();
    expect(loaded).toBeInstanceOf(Uint8Array);
    expect(loaded).toEqual(bytes);
    expect(dataset.describe()).toEqual({ filepath });
  });

  it("accepts a Buffer", async () => {
    const dataset = new BinaryDataset({ filepath: join(tmp.path, "b.bin") });
    await dataset.save(Buffer.from("héllo", "utf8"));
    expect(Buffer.from(await dataset.load()).toString("utf8")).toBe("héllo");
  });

  it.each<{ why: string; data: unknown; seen: string }>([
    { why: "a string", data: "bytes?", seen: "string" },
    { why: "an array of numbers", data: [1, 2, 3], seen: "object" },
  ])("refuses $why", async ({ data, seen }) => {
    const filepath = join(tmp.path, "b.bin");
    await expectRejects(
      new BinaryDataset({ filepath }).save(data as Uint8Array),
      DatasetError,
      `BinaryDataset saves bytes (a Uint8Array or Buffer), got ${seen}.`,
    );
    expect(existsSync(filepath)).toBe(false);
  });
});

/** A fitted object as a training run would produce it. */
class StandardScaler {
  constructor(
    readonly mean: number[],
    readonly scale: number[],
  ) {}
  static fit(rows: number[][]): StandardScaler {
    const cols = rows[0]?.map((_, c) => rows.map((r) => r[c] as number)) ?? [];
    const mean = cols.map((c) => c.reduce((a, b) => a + b, 0) / c.length);
    const scale = cols.map((c, i) => Math.sqrt(c.reduce((a, b) => a + (b - (mean[i] as number)) ** 2, 0) / c.length));
    return new StandardScaler(mean, scale);
  }
  transform(row: number[]): number[] {
    return row.map((v, i) => (v - (this.mean[i] as number)) / (this.scale[i] as number));
  }
  toJSON(): unknown {
    return { kind: "StandardScaler", mean: this.mean, scale: this.scale };
  }
}

describe("JsonArtifactDataset", () => {
  it("round-trips a fitted object through JSON, rebuilt by a reviver", async () => {
    const fitted = StandardScaler.fit([
      [39.1, 3750],
      [46.1, 4500],
      [50.0, 5700],
    ]);
    const filepath = join(tmp.path, "artifacts", "scaler.json");
    const dataset = new JsonArtifactDataset<StandardScaler>({
      filepath,
      reviver: (_key, value) => {
        const v = value as { kind?: string; mean: number[]; scale: number[] };
        return v?.kind === "StandardScaler" ? new StandardScaler(v.mean, v.scale) : value;
      },
    });
    await dataset.save(fitted);
    expect(JSON.parse(await readFile(filepath, "utf8"))).toEqual({ kind: "StandardScaler", mean: fitted.mean, scale: fitted.scale });
    const loaded = await dataset.load();
    expect(loaded).toBeInstanceOf(StandardScaler);
    expect(loaded.transform([46.1, 4500])).toEqual(fitted.transform([46.1, 4500]));
  });

  it("round-trips plain nested data, unicode included", async () => {
    const data = {
      vocab: { 北京: 0, Zoë: 1 },
      weights: [
        [0.5, -1],
        [null, 2],
      ],
      fitted: true,
    };
    const dataset = new JsonArtifactDataset({ filepath: join(tmp.path, "vocab.json") });
    await dataset.save(data);
    await expect(dataset.load()).resolves.toEqual(data);
  });

  it("refuses a value JSON cannot hold", async () => {
    const dataset = new JsonArtifactDataset({ filepath: join(tmp.path, "nothing.json") });
    await expectRejects(dataset.save(undefined), DatasetError, "JsonArtifactDataset cannot save undefined as JSON.");
    await expect(dataset.exists()).resolves.toBe(false);
  });

  it.each<[string, unknown, string, string]>([
    ["a weight that is NaN (a missing parameter)", { features: ["x"], weights: [Number.NaN, 1], bias: 0 }, "NaN", "weights[0]"],
    ["a nested -Infinity", { layers: [{ bias: 1 }, { bias: Number.NEGATIVE_INFINITY }] }, "-Infinity", "layers[1].bias"],
    ["a key that is no identifier", { "per class": { adelie: Number.POSITIVE_INFINITY } }, "Infinity", '["per class"].adelie'],
    ["a Float64Array", { w: new Float64Array([1, Number.NaN]) }, "NaN", "w[1]"],
    ["what toJSON returns", { scaler: { toJSON: () => ({ scale: Number.NaN }) } }, "NaN", "scaler.scale"],
    ["the value itself", Number.NaN, "NaN", "the top level"],
  ])("refuses NaN and ±Infinity, which JSON would write as null: %s", async (_why, data, shown, path) => {
    const filepath = join(tmp.path, "non-finite", "model.json");
    const error = await expectRejects(
      new JsonArtifactDataset({ filepath }).save(data),
      DatasetError,
      `JsonArtifactDataset(filepath=${filepath}) cannot save ${shown} at ${path}: JSON has no NaN or Infinity, and would hold null there.`,
    );
    expect(error.code).toBe("DATASET_SAVE_FAILED");
    expect(error.message).toContain("fix the node that produced it");
    expect(existsSync(filepath), "nothing written").toBe(false);
  });

  it("in what a codec encodes, refuses NaN but keeps ±Infinity, which libraries' own JSON forms hold (ml-cart's gains of -Infinity)", async () => {
    const filepath = join(tmp.path, "codec-nan.json");
    const codec = { encode: (m: { w: number }) => ({ maxDepth: Number.POSITIVE_INFINITY, weights: [m.w] }), decode: (s: unknown) => s as { w: number } };
    const dataset = new JsonArtifactDataset({ filepath, codec, codecName: "box" });
    await expectRejects(dataset.save({ w: Number.NaN }), DatasetError, "cannot save NaN at weights[0] (of what the codec encoded): JSON has no NaN,");
    expect(existsSync(filepath), "nothing written").toBe(false);
    await dataset.save({ w: 1 });
    expect(JSON.parse(await readFile(filepath, "utf8"))).toEqual({ maxDepth: null, weights: [1] });
  });

  it('still saves nulls and the text "null" as they are', async () => {
    const data = { missing: null, word: "null", list: [null, 1] };
    const dataset = new JsonArtifactDataset({ filepath: join(tmp.path, "nulls.json") });
    await dataset.save(data);
    await expect(dataset.load()).resolves.toEqual(data);
  });

  it("reports invalid JSON on load as a DatasetError with the parse error as cause", async () => {
    const filepath = join(tmp.path, "broken.json");
    await writeFile(filepath, "{ not json");
    const error = await expectRejects(
      new JsonArtifactDataset({ filepath }).load(),
      DatasetError,
      `Failed to load data from JsonArtifactDataset(filepath=${filepath}):`,
    );
    expect(error.cause).toBeInstanceOf(SyntaxError);
  });
});

describe("MemoryDataset", () => {
  it("is empty until saved, and empty again once released", async () => {
    const dataset = new MemoryDataset<number[]>();
    expect(dataset.exists()).toBe(false);
    const error = expectThrows(() => dataset.load(), DatasetError, "Data for MemoryDataset has not been saved yet.");
    expect(error.code).toBe("DATASET_EMPTY");
    dataset.save([1, 2]);
    expect(dataset.exists()).toBe(true);
    expect(dataset.load()).toEqual([1, 2]);
    expect(dataset.describe()).toEqual({ data: "Array", copyMode: undefined });
    dataset.release();
    expect(dataset.exists()).toBe(false);
  });

  it("holds data given to the constructor, null and undefined included", () => {
    expect(new MemoryDataset({ data: null }).load()).toBeNull();
    expect(new MemoryDataset({ data: undefined }).exists()).toBe(true);
  });
});

describe("file datasets need a filepath", () => {
  it.each([
    ["CsvDataset", () => new CsvDataset({ filepath: "" })],
    ["ParquetDataset", () => new ParquetDataset({} as never)],
    ["BinaryDataset", () => new BinaryDataset({ filepath: 3 } as never)],
    ["JsonArtifactDataset", () => new JsonArtifactDataset({ filepath: "" })],
  ] as const)("%s", (name, make) => {
    const error = expectThrows(make, DatasetError, `${name} needs a "filepath".`);
    expect(error.code).toBe("INVALID_DATASET");
  });
});

describe("every dataset offers load, save, exists and describe", () => {
  it.each<[string, (dir: string) => Dataset, unknown]>([
    ["MemoryDataset", () => new MemoryDataset(), { a: 1 }],
    ["CsvDataset", (dir) => new CsvDataset({ filepath: join(dir, "t.csv") }), [{ a: 1 }]],
    ["JsonDataset", (dir) => new JsonDataset({ filepath: join(dir, "t.json") }), [{ a: 1 }]],
    ["ParquetDataset", (dir) => new ParquetDataset({ filepath: join(dir, "t.parquet") }), [{ a: 1 }]],
    ["ArrowDataset", (dir) => new ArrowDataset({ filepath: join(dir, "t.arrow") }), [{ a: 1 }]],
    ["BinaryDataset", (dir) => new BinaryDataset({ filepath: join(dir, "t.bin") }), new Uint8Array([1])],
    ["JsonArtifactDataset", (dir) => new JsonArtifactDataset({ filepath: join(dir, "t.json") }), { a: 1 }],
  ])("%s", async (_name, make, data) => {
    const dataset = make(tmp.path);
    expect(await dataset.exists()).toBe(false);
    await dataset.save(data);
    expect(await dataset.exists()).toBe(true);
    expect(await dataset.load()).toBeDefined();
    expect(typeof dataset.describe()).toBe("object");
  });
});

describe("DataCatalog.fromConfig", () => {
  it("builds every dataset type from a Kedro-like catalog.yml, resolving relative paths against baseDir", async () => {
    const yaml = `
_csv: &csv
  type: CsvDataset
  load_args:
    delimiter: ";"

raw_penguins:
  <<: *csv
  filepath: data/01_raw/penguins.csv
features:
  type: pandas.ParquetDataset
  filepath: data/04_feature/features.parquet
features_arrow:
  type: ArrowDataset
  filepath: data/04_feature/features.arrow
  load_args:
    as: arrow
report:
  type: JsonDataset
  filepath: data/08_reporting/report.json
  metadata:
    owner: team
model:
  type: BinaryDataset
  filepath: /absolute/model.onnx
scaler:
  type: json.JSONDataset
  filepath: data/06_models/scaler.json
cache:
  type: MemoryDataset
  copy_mode: assign
`;
    const catalog = DataCatalog.fromYaml(yaml, { baseDir: tmp.path, params: { threshold: 4000 } });
    expect(catalog.list().filter((n) => !n.startsWith("param"))).toEqual(["raw_penguins", "features", "features_arrow", "report", "model", "scaler", "cache"]);
    expect(catalog.get("raw_penguins")).toBeInstanceOf(CsvDataset);
    expect(catalog.get("features")).toBeInstanceOf(ParquetDataset);
    expect(catalog.get("features_arrow")).toBeInstanceOf(ArrowDataset);
    expect(catalog.get("report")).toBeInstanceOf(JsonDataset);
    expect(catalog.get("model")).toBeInstanceOf(BinaryDataset);
    expect(catalog.get("scaler")).toBeInstanceOf(JsonArtifactDataset);
    expect((catalog.get("cache") as MemoryDataset).copyMode).toBe("assign");
    expect(catalog.get("raw_penguins")?.describe()).toEqual({ filepath: join(tmp.path, "data/01_raw/penguins.csv"), as: "dataframe" });
    expect(catalog.get("model")?.describe()).toEqual({ filepath: "/absolute/model.onnx" });
    expect((catalog.get("features_arrow") as ArrowDataset).loadAs).toBe("arrow");
    expect(await catalog.load("params:threshold")).toBe(4000);

    // A real run through the configured files: CSV with `;` in, Parquet and JSON out.
    await mkdir(join(tmp.path, "data/01_raw"), { recursive: true });
    await writeFile(join(tmp.path, "data/01_raw/penguins.csv"), "species;body_mass_g\nAdelie;3750\nGentoo;5700\nChinstrap;\n");
    const p = pipeline([
      node(
        (frame: DataFrame, threshold: number) => {
          const mass = frame.column("body_mass_g").values as (number | null)[];
          return frame.addColumn("heavy", mass.map((m) => (m === null ? null : m > threshold)) as boolean[], { inplace: false });
        },
        { inputs: ["raw_penguins", "params:threshold"], outputs: "features", name: "flag_heavy" },
      ),
      node((frame: DataFrame) => [{ rows: frame.shape[0] }], { inputs: "features", outputs: "report", name: "report" }),
    ]);
    await expect(new SequentialRunner().run(p, catalog)).resolves.toEqual({});
    expect(frameColumns(await new ParquetDataset({ filepath: join(tmp.path, "data/04_feature/features.parquet") }).load())).toEqual({
      species: ["Adelie", "Gentoo", "Chinstrap"],
      body_mass_g: [3750, 5700, null],
      heavy: [false, true, null],
    });
    expect(JSON.parse(await readFile(join(tmp.path, "data/08_reporting/report.json"), "utf8"))).toEqual([{ rows: 3 }]);
  });

  it("accepts an empty config", () => {
    expect(DataCatalog.fromConfig(null, { baseDir: tmp.path, params: { a: 1 } }).list()).toEqual(["parameters", "params:a"]);
  });

  it("knows the Kedro spellings of the dataset types", () => {
    expect(CATALOG_DATASET_TYPES).toEqual(
      expect.arrayContaining([
        "MemoryDataset",
        "CsvDataset",
        "ParquetDataset",
        "pandas.CSVDataset",
        "pandas.ParquetDataset",
        "pandas.FeatherDataset",
        "json.JSONDataset",
      ]),
    );
  });

  // Each row: a bad catalog.yml entry, and the message that names the dataset and what to change.
  it.each<{ why: string; config: unknown; code: string; message: string }>([
    {
      why: "an unknown type",
      config: { raw: { type: "pandas.ExcelDataset", filepath: "raw.xlsx" } },
      code: "INVALID_CATALOG",
      message: `Catalog entry "raw" has unknown type "pandas.ExcelDataset". Use one of: ${CATALOG_DATASET_TYPES.join(", ")}.`,
    },
    {
      why: "no type",
      config: { raw: { filepath: "raw.csv" } },
      code: "INVALID_CATALOG",
      message: 'Catalog entry "raw" has unknown type undefined. Use one of: MemoryDataset,',
    },
    {
      why: "a missing filepath",
      config: { features: { type: "ParquetDataset" } },
      code: "INVALID_DATASET",
      message: 'Dataset "features" of type ParquetDataset needs a "filepath" string.',
    },
    {
      why: "a filepath that is not a string",
      config: { features: { type: "CsvDataset", filepath: 42 } },
      code: "INVALID_DATASET",
      message: 'Dataset "features" of type CsvDataset needs a "filepath" string.',
    },
    {
      why: "an unknown key (a typo of load_args)",
      config: { raw: { type: "CsvDataset", filepath: "raw.csv", load_arg: { delimiter: ";" } } },
      code: "INVALID_DATASET",
      message: 'Dataset "raw" has unknown key(s) [load_arg]. Allowed: type, filepath, load_args, save_args, metadata.',
    },
    {
      why: "an unknown key on a MemoryDataset",
      config: { cache: { type: "MemoryDataset", copymode: "copy" } },
      code: "INVALID_DATASET",
      message: 'Dataset "cache" has unknown key(s) [copymode]. MemoryDataset takes copy_mode.',
    },
    {
      why: "a bad copy mode",
      config: { scaler: { type: "MemoryDataset", copy_mode: "cpy" } },
      code: "INVALID_COPY_MODE",
      message: 'Invalid copy mode "cpy" for dataset "scaler". Use one of: assign, copy, deepcopy.',
    },
    {
      why: "a copy mode map on one dataset",
      config: { scaler: { type: "MemoryDataset", copy_mode: { default: "copy" } } },
      code: "INVALID_COPY_MODE",
      message: 'Invalid copy mode {"default":"copy"} for dataset "scaler". Use one of: assign, copy, deepcopy.',
    },
    {
      why: "load_args that are not a mapping",
      config: { raw: { type: "CsvDataset", filepath: "raw.csv", load_args: "sep=;" } },
      code: "INVALID_DATASET",
      message: 'Dataset "raw": load_args must be a mapping.',
    },
    // Found by an audit: these were ignored without a word (sep: ";" read a ;-separated file as one column).
    {
      why: "load_args a CSV does not take (pandas' encoding)",
      config: { raw: { type: "CsvDataset", filepath: "raw.csv", load_args: { encoding: "latin-1", as: "table" } } },
      code: "INVALID_DATASET",
      message: 'Dataset "raw" has load_args pipeserve does not take: [encoding]. CsvDataset takes [as, delimiter, sep, raw].',
    },
    {
      why: "load_args a Parquet file does not take",
      config: { raw: { type: "pandas.ParquetDataset", filepath: "raw.parquet", load_args: { columns: ["a"] } } },
      code: "INVALID_DATASET",
      message: 'Dataset "raw" has load_args pipeserve does not take: [columns]. pandas.ParquetDataset takes [as].',
    },
    {
      why: "save_args it would not use",
      config: { out: { type: "CsvDataset", filepath: "out.csv", save_args: { index: false, sep: ";" } } },
      code: "INVALID_DATASET",
      message: 'Dataset "out" has save_args [sep], which pipeserve does not use: it writes each format one way.',
    },
    // Found by an audit: written to a folder named "s3:" inside the project.
    {
      why: "a filepath on s3://",
      config: { raw: { type: "CsvDataset", filepath: "s3://bucket/raw.csv" } },
      code: "INVALID_DATASET",
      message: 'Dataset "raw": filepath s3://bucket/raw.csv is on s3://, which pipeserve cannot read or write; it reads local files (a path, or file://).',
    },
    {
      why: "an entry that is not a mapping",
      config: { raw: "data/raw.csv" },
      code: "INVALID_CATALOG",
      message: 'Catalog entry "raw" must be a mapping with a "type".',
    },
    {
      why: "a config that is a list",
      config: [{ raw: { type: "CsvDataset" } }],
      code: "INVALID_CATALOG",
      message: "The catalog config must be a mapping of dataset name → { type, filepath, ... }.",
    },
  ])("rejects $why", ({ config, code, message }) => {
    const error = expectThrows(() => DataCatalog.fromConfig(config, { baseDir: tmp.path }), DatasetError, message);
    expect(error.code).toBe(code);
  });

  it("rejects YAML that does not parse, keeping the parser's error", () => {
    const error = expectThrows(() => DataCatalog.fromYaml("raw: [1,\n b", { baseDir: tmp.path }), DatasetError, /^The catalog YAML is not valid: /);
    expect(error.code).toBe("INVALID_CATALOG");
    expect(error.cause).toBeInstanceOf(Error);
  });

  it.each<{ why: string; copyMode: unknown; message: string }>([
    { why: "a misspelt mode", copyMode: "cpy", message: 'Invalid copy mode "cpy". Use one of: assign, copy, deepcopy.' },
    {
      why: "a bad mode in a map",
      copyMode: { scaler: "deep", default: "copy" },
      message: 'Invalid copy mode "deep" for dataset "scaler". Use one of: assign, copy, deepcopy.',
    },
    { why: "a number", copyMode: 1, message: "Invalid copy mode 1. Use one of assign, copy, deepcopy, or an object of dataset name → mode." },
  ])("rejects a catalog copy mode that is $why", ({ copyMode, message }) => {
    const error = expectThrows(() => DataCatalog.fromConfig({}, { baseDir: tmp.path, copyMode: copyMode as never }), DatasetError, message);
    expect(error.code).toBe("INVALID_COPY_MODE");
  });
});
