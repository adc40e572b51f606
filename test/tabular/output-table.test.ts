import { describe, expect, it } from "vitest";
import {
  FormatError,
  decodeArrowIpc,
  encodeArrowIpc,
  fromArrow,
  fromDataFrame,
  inferSignature,
  tableToColumns,
  tableToRecords,
  toArrow,
  toDataFrame,
} from "../../src/index.js";
import { cloneDataFrame, enforceSchema, outputToTable } from "../../src/tabular/index.js";

describe("outputToTable", () => {
  it.each([
    ["a typed array", Float64Array.from([1.5, 2]), { names: ["0"], columns: [[1.5, 2]], numRows: 2 }],
    ["a list of values", [1, "a", null], { names: ["0"], columns: [[1, "a", null]], numRows: 3 }],
    [
      "an object of columns",
      { a: [1, 2], b: ["x", "y"] },
      {
        names: ["a", "b"],
        columns: [
          [1, 2],
          ["x", "y"],
        ],
        numRows: 2,
      },
    ],
    ["row objects", [{ a: 1 }, { a: 2 }], { names: ["a"], columns: [[1, 2]], numRows: 2 }],
  ])("reads %s as a table", (_, output, table) => {
    expect(outputToTable(output)).toEqual(table);
  });

  it("names the one column as asked (Open Inference Protocol: output-0)", () => {
    expect(outputToTable([1, 2], "output-0").names).toEqual(["output-0"]);
  });

  it("refuses a value that is no table", () => {
    expect(() => outputToTable(42)).toThrow(FormatError);
    expect(() => outputToTable(42)).toThrow(/Expected tabular data/);
  });

  it.each([
    [
      "more names than columns",
      { names: ["score", "label"], columns: [[0.5]], numRows: 1 },
      "with 2 names [score, label] but 1 columns: give one column per name",
    ],
    ["a column shorter than numRows", { names: ["score"], columns: [[0.5]], numRows: 3 }, 'whose column "score" holds 1 values while numRows is 3'],
    ["a column that is no array", { names: ["score"], columns: [0.5], numRows: 1 }, 'whose column "score" is no array'],
    ["a numRows that is no count", { names: [], columns: [], numRows: -1 }, "whose numRows is -1, not a count of rows"],
  ])("refuses a ColumnTable built by hand with %s, saying what does not fit (not a TypeError deep inside)", (_, table, message) => {
    expect(() => outputToTable(table)).toThrow(FormatError);
    expect(() => outputToTable(table)).toThrow(message);
    expect(() => inferSignature(outputToTable({ x: [1] }), table)).toThrow(
      `The inference pipeline's output is a ColumnTable ${message.replace(/^(with|whose)/, "$1")}`,
    );
  });
});

describe("a column named __proto__", () => {
  const table = { names: ["__proto__", "b"], columns: [[1], [2]], numRows: 1 };

  it("is an own key of row objects, not their prototype", () => {
    const [row] = tableToRecords(table);
    expect(Object.keys(row!)).toEqual(["__proto__", "b"]);
    expect(Object.getPrototypeOf(row)).toBe(Object.prototype);
    expect(JSON.stringify(row)).toBe('{"__proto__":1,"b":2}');
  });

  it("is an own key of the columns object", () => {
    const columns = tableToColumns(table);
    expect(Object.keys(columns)).toEqual(["__proto__", "b"]);
    expect(Object.getPrototypeOf(columns)).toBe(Object.prototype);
  });
});

describe("numbers written as text", () => {
  it.each([
    ["1.5", 1.5, 1.5],
    ["-2e3", -2000, -2000],
    // NB: NaN is a number to parseNumberText, but a missing value in a CSV cell (as the bare NaN token is in JSON).
    ["NaN", Number.NaN, null],
    ["+Infinity", Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY],
    ["-inf", Number.NEGATIVE_INFINITY, Number.NEGATIVE_INFINITY],
    ["007x", undefined, "007x"],
  ])("%j reads the same in CSV cells and in signature-typed text", async (text, number, cell) => {
    const { parseNumberText, inferCsvCell } = await import("../../src/tabular/index.js");
    expect(parseNumberText(text)).toEqual(number);
    expect(inferCsvCell(text)).toEqual(cell);
    if (number === undefined) return;
    const typed = enforceSchema({ names: ["x"], columns: [[text]], numRows: 1 }, [{ name: "x", type: "double", required: false }], { fromText: true });
    expect(Array.from(typed.table.columns[0] as ArrayLike<unknown>)).toEqual([cell]);
  });

  it("survives Arrow: written as a column of its own and read back", () => {
    const back = fromArrow(
      decodeArrowIpc(
        encodeArrowIpc(
          toArrow({
            names: ["__proto__", "b"],
            columns: [
              ["x", "y"],
              [1.5, 2],
            ],
            numRows: 2,
          }),
        ),
      ),
    );
    expect(back).toEqual({
      names: ["__proto__", "b"],
      columns: [
        ["x", "y"],
        [1.5, 2],
      ],
      numRows: 2,
    });
  });

  it("survives a danfojs DataFrame, and a deep copy of one", () => {
    const table = {
      names: ["__proto__", "b"],
      columns: [
        ["x", "y"],
        [1.5, 2],
      ],
      numRows: 2,
    };
    const frame = toDataFrame(table);
    expect(frame.columns).toEqual(["__proto__", "b"]);
    expect(fromDataFrame(frame)).toEqual(table);
    expect(fromDataFrame(cloneDataFrame(frame, true))).toEqual(table);
  });
});

describe("toJsonValue", () => {
  it("keeps a __proto__ key as a key (a column may be named so), and makes its values JSON-safe", async () => {
    const { toJsonValue } = await import("../../src/tabular/index.js");
    const row = JSON.parse('{"__proto__": 1, "a": 2}') as Record<string, unknown>;
    row["b"] = Number.NaN;
    const out = toJsonValue(row) as Record<string, unknown>;
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(JSON.stringify(out)).toBe('{"__proto__":1,"a":2,"b":null}');
  });
});
