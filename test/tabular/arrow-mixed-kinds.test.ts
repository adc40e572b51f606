/**
 * A column's values must be of its Arrow type's kind. apache-arrow's builders wrote any other value
 * without a word: "x" as NaN and `true` as 1 in a Float64 column, 2.5 as 2 and 2^40 as 0 in an
 * Int32 column, 1e300 as Infinity in a Float32 one (found by a review). That came about for a column
 * of mixed kinds (its type is its first value's), and in `predict`'s Arrow and Parquet files, whose
 * columns take the types of the first rows written. Such a value is now refused, naming it: a 406
 * over HTTP (the answer exists as JSON), and a failed run that leaves no file in `predict`. A
 * column with text among other kinds is a text column, whichever comes first.
 */
import { readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { DataType } from "apache-arrow";
import { describe, expect, it } from "vitest";
import { FormatError, decodeArrowIpc, encodeArrowIpc, fromArrow, loadModel, predictFile, toArrow, type Cell } from "../../src/index.js";
import { parquetToArrow } from "../../src/tabular/index.js";
import { arrowLib } from "../../src/tabular/index.js";
import { useServedModel } from "../server/fixtures/http.js";
import { SIGNATURES, buildModel, packageBehaviour } from "../server/fixtures/models.js";
import { tempDir } from "../batch/helpers.js";

const A = arrowLib();
const ARROW = "application/vnd.apache.arrow.stream";

const column = (values: Cell[], type?: DataType) => () => toArrow({ names: ["c"], columns: [values], numRows: values.length }, type ? { c: type } : {});

describe("toArrow refuses a value its column's type cannot hold", () => {
  it.each<[string, Cell[], DataType | undefined, string]>([
    ["a boolean among numbers", [1.5, true], undefined, "holds true, which an Arrow Float64 column cannot hold (numbers)"],
    ["a number among booleans", [true, 1], undefined, "holds 1, which an Arrow Bool column cannot hold (true or false)"],
    ["a date among numbers", [1.5, new Date(0)], undefined, "holds the date 1970-01-01T00:00:00.000Z, which an Arrow Float64 column cannot hold (numbers)"],
    [
      "a fraction in an Int32 column",
      [1, 2.5],
      new A.Int32(),
      "holds 2.5, which an Arrow Int32 column cannot hold (whole numbers from -2147483648 to 2147483647)",
    ],
    [
      "2^40 in an Int32 column",
      [1, 2 ** 40],
      new A.Int32(),
      "holds 1099511627776, which an Arrow Int32 column cannot hold (whole numbers from -2147483648 to 2147483647)",
    ],
    ["-1 in a Uint8 column", [-1], new A.Uint8(), "holds -1, which an Arrow Uint8 column cannot hold (whole numbers from 0 to 255)"],
    ["1e300 in a Float32 column", [1e300], new A.Float32(), "holds 1e+300, which an Arrow Float32 column cannot hold (numbers within ±3.4028234663852886e+38)"],
    ["text in a Float32 column", ["x"], new A.Float32(), 'holds "x", which an Arrow Float32 column cannot hold (numbers within ±3.4028234663852886e+38)'],
    ["2^60 as a bigint in a Float64 column", [2n ** 60n], new A.Float64(), "holds 1152921504606846976, which an Arrow Float64 column cannot hold (numbers)"],
  ])("%s: a FormatError naming the column and the value", (_why, values, type, says) => {
    expect(column(values, type)).toThrow(FormatError);
    expect(column(values, type)).toThrow(`Column "c" ${says}, so it cannot be written as Arrow or Parquet`);
  });

  it.each<[string, Cell[], DataType, Cell[]]>([
    ["whole numbers in Int32, with missing values", [1, null, -5, undefined], new A.Int32(), [1, null, -5, null]],
    [
      "numbers, NaN and Infinity in Float64",
      [1.5, Number.NaN, Number.POSITIVE_INFINITY, null],
      new A.Float64(),
      [1.5, Number.NaN, Number.POSITIVE_INFINITY, null],
    ],
    [
      "Float32's largest and Infinity in Float32",
      [3.4028234663852886e38, Number.NEGATIVE_INFINITY],
      new A.Float32(),
      [3.4028234663852886e38, Number.NEGATIVE_INFINITY],
    ],
    ["a bigint within 2^53 in Float64", [2n ** 50n], new A.Float64(), [2 ** 50]],
    // An invalid Date is missing, as JSON (null) and CSV (an empty cell) write it, and pandas its NaT.
    ["an invalid Date among dates, as missing", [new Date(5), new Date(Number.NaN)], new A.TimestampMillisecond(), [new Date(5), null]],
    [
      "dates, ISO text and milliseconds in a Timestamp",
      [new Date(5), "1970-01-01T00:00:00.007Z", 9],
      new A.TimestampMillisecond(),
      [new Date(5), new Date(7), new Date(9)],
    ],
  ])("%s: written as they are", (_why, values, type, back) => {
    const table = column(values, type)();
    expect(String(table.schema.fields[0]?.type)).toBe(String(type));
    expect(fromArrow(decodeArrowIpc(encodeArrowIpc(table))).columns[0]).toEqual(back);
  });
});

describe("text among other kinds, and 64-bit integers read from Arrow", () => {
  // Found by a review: ["x", 1.5] was written as text and [1.5, "x"] refused.
  it.each<[string, Cell[]]>([
    ["text after a number", [1.5, "x", null]],
    ["text before a number", ["x", 1.5, null]],
  ])("%s: a text column, whichever comes first", (_why, values) => {
    const table = column(values)();
    expect(String(table.schema.fields[0]?.type)).toBe("Utf8");
    expect(fromArrow(decodeArrowIpc(encodeArrowIpc(table))).columns[0]).toEqual(values.map((v) => (v === null ? null : String(v))));
  });

  // Found by a review: read from Arrow, such a column holds numbers and bigints past 2^53; typed by its first value (Float64) it was refused.
  it("a 64-bit integer column read from Arrow is written back as Int64, every digit kept", () => {
    const read = fromArrow(decodeArrowIpc(encodeArrowIpc(new A.Table({ id: A.vectorFromArray([1n, 2n ** 60n + 1n], new A.Int64()) }) as never)));
    const table = toArrow(read);
    expect(String(table.schema.fields[0]?.type)).toBe("Int64");
    expect(fromArrow(decodeArrowIpc(encodeArrowIpc(table))).columns[0]).toEqual([1, 2n ** 60n + 1n]);
  });
});

describe("served: an Arrow answer with a column of mixed kinds", () => {
  const served = useServedModel(() => buildModel("echo", null));

  it("is a text column; the same answer as JSON keeps both values", async () => {
    const body = JSON.stringify({ dataframe_split: { columns: ["a"], data: [[1.5], ["x"]] } });
    const asArrow = await fetch(served.url, { method: "POST", headers: { "content-type": "application/json", accept: ARROW }, body });
    expect(asArrow.status).toBe(200);
    expect(fromArrow(decodeArrowIpc(new Uint8Array(await asArrow.arrayBuffer()))).columns[0]).toEqual(["1.5", "x"]);
    const asJson = await fetch(served.url, { method: "POST", headers: { "content-type": "application/json" }, body });
    expect(await asJson.json()).toEqual({ predictions: [{ a: 1.5 }, { a: "x" }] });
  });
});

describe("served: an invalid Date in the answer is missing in every format, as pandas writes NaT", () => {
  const served = useServedModel(() => buildModel("dates_of", SIGNATURES.ab, { rowWise: true }));
  const body = JSON.stringify({
    dataframe_split: {
      columns: ["a", "b"],
      data: [
        [5, 1],
        [13, 1],
      ],
    },
  });
  const ask = (accept: string) => fetch(served.url, { method: "POST", headers: { "content-type": "application/json", accept }, body });

  it("JSON null, a CSV empty cell, an Arrow null (CSV answered a 500 from JavaScript's 'Invalid time value')", async () => {
    expect(await (await ask("application/json")).json()).toEqual({ predictions: [{ when: "1970-01-01T00:00:00.005000" }, { when: null }] });
    const csv = await ask("text/csv");
    expect(csv.status).toBe(200);
    expect(await csv.text()).toBe('when\n1970-01-01T00:00:00.005Z\n""\n');
    const arrow = await ask(ARROW);
    expect(arrow.status).toBe(200);
    expect(fromArrow(decodeArrowIpc(new Uint8Array(await arrow.arrayBuffer()))).columns[0]).toEqual([new Date(5), null]);
  });
});

describe("predict into Arrow or Parquet: a later chunk's value of another kind than the first rows'", () => {
  it.each(["parquet", "arrow"] as const)("%s: the run fails naming the column, the value and why its type is fixed; no file is left", async (format) => {
    const model = await loadModel(await packageBehaviour("pass_columns", null, { rowWise: true }));
    try {
      const dir = await tempDir();
      const input = join(dir, "in.jsonl");
      await writeFile(input, ['{"a": 1, "b": 1.5}', '{"a": 2, "b": 2.5}', '{"a": 3, "b": "x"}'].join("\n") + "\n");
      const output = join(dir, `out.${format}`);
      const error = await predictFile(model, { input, output, chunkRows: 2 }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(FormatError);
      expect((error as Error).message).toContain('Column "b" holds "x", which an Arrow Float64 column cannot hold (numbers)');
      expect((error as Error).message).toContain("The rows written first gave the column its type: a column has one type in an Arrow or Parquet file.");
      expect(await readdir(dir)).toEqual(["in.jsonl"]);
    } finally {
      await model.close();
    }
  });
});

describe("predict into Arrow or Parquet: the output signature's numeric types, as a served Arrow answer has them", () => {
  it.each(["parquet", "arrow"] as const)("%s: a long output column is Int64 and a double one Float64 (it was Float64 for both)", async (format) => {
    const model = await loadModel(await packageBehaviour("pass_columns", SIGNATURES.abParams, { rowWise: true }));
    try {
      const dir = await tempDir();
      const input = join(dir, "in.csv");
      await writeFile(input, "a,b\n1,0.5\n2,1.5\n3,2\n");
      const output = join(dir, `out.${format}`);
      await predictFile(model, { input, output, chunkRows: 2 });
      const { readFile } = await import("node:fs/promises");
      const bytes = new Uint8Array(await readFile(output));
      const table = format === "arrow" ? decodeArrowIpc(bytes) : parquetToArrow(bytes);
      expect(table.schema.fields.map((f) => [f.name, String(f.type)])).toEqual([
        ["a", "Int64"],
        ["b", "Float64"],
      ]);
    } finally {
      await model.close();
    }
  });
});
