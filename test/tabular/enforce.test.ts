import { describe, expect, it } from "vitest";
import {
  FormatError,
  SchemaError,
  enforceParams,
  enforceSchema,
  parseCsv,
  tableFromColumns,
  type ColumnSpec,
  type ColumnType,
  type ParamSpec,
} from "../../src/tabular/index.js";
import { expectError } from "./expect-error.js";

const AB: ColumnSpec[] = [
  { name: "a", type: "long", required: true },
  { name: "b", type: "double", required: true },
];

const col = (type: ColumnType, required = true): ColumnSpec[] => [{ name: "a", type, required }];

describe("enforceSchema: columns", () => {
  it("returns the very same table when it already fits (no copies on the hot path)", () => {
    const table = tableFromColumns({ a: [1, 2], b: new Float64Array([0.5, 1]) });
    const result = enforceSchema(table, AB);
    expect(result.table).toBe(table);
    expect(result.droppedColumns).toEqual([]);
  });

  it("puts columns in signature order and reuses their arrays", () => {
    const table = tableFromColumns({ b: new Float64Array([0.5]), a: [1] });
    const { table: out } = enforceSchema(table, AB);
    expect(out.names).toEqual(["a", "b"]);
    expect(out.columns[0]).toBe(table.columns[1]);
    expect(out.columns[1]).toBe(table.columns[0]);
  });

  it("hands double columns on as Float64Array and integer columns as Int32Array when no value is missing; other types stay plain", () => {
    const specs: ColumnSpec[] = [
      { name: "d", type: "double", required: true },
      { name: "i", type: "integer", required: true },
      { name: "l", type: "long", required: true },
      { name: "f", type: "float", required: true },
      { name: "o", type: "double", required: false },
    ];
    const { table } = enforceSchema(tableFromColumns({ d: [1, 2.5], i: [3, -4], l: [5, 6], f: [0.1, 7], o: [1, null] }), specs);
    expect(table.columns[0]).toBeInstanceOf(Float64Array);
    expect(Array.from(table.columns[0] ?? [])).toEqual([1, 2.5]);
    expect(table.columns[1]).toBeInstanceOf(Int32Array);
    expect(Array.from(table.columns[1] ?? [])).toEqual([3, -4]);
    expect(Array.isArray(table.columns[2])).toBe(true);
    // NB: a Float32Array would round 0.1; float columns keep what was sent, as before.
    expect(table.columns[3]).toStrictEqual([0.1, 7]);
    expect(table.columns[4]).toStrictEqual([1, null]);
  });

  it("takes typed-array columns as they are where the type holds their numbers, and checks them value by value where it may not", () => {
    const f64 = new Float64Array([1, 2]);
    const i32 = new Int32Array([1, 2]);
    expect(enforceSchema(tableFromColumns({ a: f64 }), col("double")).table.columns[0]).toBe(f64);
    expect(enforceSchema(tableFromColumns({ a: i32 }), col("integer")).table.columns[0]).toBe(i32);
    expect(enforceSchema(tableFromColumns({ a: new Int16Array([7]) }), col("integer")).table.columns[0]).toStrictEqual(new Int32Array([7]));
    expect(enforceSchema(tableFromColumns({ a: i32 }), col("double")).table.columns[0]).toStrictEqual(new Float64Array([1, 2]));
    expect(enforceSchema(tableFromColumns({ a: new Float64Array([3, 4]) }), col("integer")).table.columns[0]).toStrictEqual(new Int32Array([3, 4]));
    expectError(
      () => enforceSchema(tableFromColumns({ a: new Float64Array([1.5]) }), col("integer")),
      SchemaError,
      /row 0 holds 1.5, which is not a whole number/,
    );
    expectError(() => enforceSchema(tableFromColumns({ a: new Uint32Array([2 ** 31]) }), col("integer")), SchemaError, /out of the int32 range/);
    expectError(() => enforceSchema(tableFromColumns({ a: new Float64Array([1e300]) }), col("float")), SchemaError, /float32 range/);
    expectError(() => enforceSchema(tableFromColumns({ a: new Float64Array([1]) }), col("string")), SchemaError, /row 0 holds 1/);
    expect(enforceSchema(tableFromColumns({ a: new Float64Array(0) }), col("string")).table.columns[0]).toStrictEqual([]);
  });

  it("drops extra columns and names them", () => {
    const table = tableFromColumns({ x: ["foo"], a: [1], b: [0.5], y: [null] });
    const result = enforceSchema(table, AB);
    expect(result.table).toEqual({ names: ["a", "b"], columns: [[1], [0.5]], numRows: 1 });
    expect(result.droppedColumns).toEqual(["x", "y"]);
  });

  it("adds a missing optional column filled with null", () => {
    const specs: ColumnSpec[] = [...AB, { name: "c", type: "string", required: false }];
    const { table } = enforceSchema(tableFromColumns({ a: [1, 2], b: [1, 2] }), specs);
    expect(table.names).toEqual(["a", "b", "c"]);
    expect(table.columns[2]).toEqual([null, null]);
  });

  it.each([
    ["one required column", { a: [1] }, "Model is missing inputs ['b']."],
    ["both, in signature order", { z: [1] }, "Model is missing inputs ['a', 'b']. Note that there were extra inputs: ['z']."],
    ["one, with extras", { a: [1], c: [1], "it's": [2] }, `Model is missing inputs ['b']. Note that there were extra inputs: ['c', "it's"].`],
  ])("refuses a table missing %s with MLflow's message", (_, columns, message) => {
    const error = expectError(() => enforceSchema(tableFromColumns(columns), AB), SchemaError, message);
    expect(error.message).toBe(message);
    expect(error.code).toBe("INVALID_PARAMETER_VALUE");
  });

  it("treats null in an optional column as a missing value, for every type", () => {
    const types: ColumnType[] = ["boolean", "integer", "long", "float", "double", "string", "binary", "datetime"];
    for (const type of types) {
      const table = tableFromColumns({ a: [null, null] });
      expect(enforceSchema(table, col(type, false)).table, type).toBe(table);
    }
  });

  it("turns undefined (a hole) into null without touching the input", () => {
    const input = [1, undefined, 3];
    const { table } = enforceSchema({ names: ["a"], columns: [input], numRows: 3 }, col("long", false));
    expect(table.columns[0]).toEqual([1, null, 3]);
    expect(input).toEqual([1, undefined, 3]);
  });

  it.each([
    ["whole numbers into long", "long", [1, -2, 0, 9007199254740991], [1, -2, 0, 9007199254740991]],
    ["whole numbers into integer", "integer", [2147483647, -2147483648], [2147483647, -2147483648]],
    ["whole numbers into double (integer → double)", "double", [1, 2], [1, 2]],
    ["whole numbers into float", "float", [1, 2.5], [1, 2.5]],
    ["NaN and infinities into double", "double", [Number.NaN, Number.POSITIVE_INFINITY], [Number.NaN, Number.POSITIVE_INFINITY]],
    ["safe bigints into long", "long", [5n, -5n], [5, -5]],
    ["int64 bigints beyond 2^53 into long, kept exact", "long", [2n ** 62n], [2n ** 62n]],
    ["safe bigints into double (long → double, lossless)", "double", [2n ** 53n], [2 ** 53]],
    ["unicode strings", "string", ["Ærø 🐧", "", "\u0000"], ["Ærø 🐧", "", "\u0000"]],
    ["booleans", "boolean", [true, false], [true, false]],
    [
      "ISO dates (no zone read as UTC)",
      "datetime",
      ["2021-01-01 00:00:00", "2021-01-01", "2021-01-01T10:20:30.123Z"],
      [new Date(Date.UTC(2021, 0, 1)), new Date(Date.UTC(2021, 0, 1)), new Date(Date.UTC(2021, 0, 1, 10, 20, 30, 123))],
    ],
    ["ISO dates with an offset", "datetime", ["2021-01-01T02:00:00+02:00", "0099-12-31"], [new Date(Date.UTC(2021, 0, 1)), new Date("0099-12-31T00:00:00Z")]],
    [
      "base64 text (and MLflow's encodebytes newline)",
      "binary",
      ["AQID", "AQID\n", "", "AQ"],
      [new Uint8Array([1, 2, 3]), new Uint8Array([1, 2, 3]), new Uint8Array([]), new Uint8Array([1])],
    ],
  ] as const)("accepts %s", (_, type, values, expected) => {
    const { table } = enforceSchema(tableFromColumns({ a: values }), col(type));
    expect(table.columns[0]).toEqual(expected);
  });

  it("copies a typed-array column into a plain array when it converts a value", () => {
    const input = new BigInt64Array([1n, -2n]);
    const { table } = enforceSchema({ names: ["a"], columns: [input as unknown as bigint[]], numRows: 2 }, col("long"));
    expect(table.columns[0]).toEqual([1, -2]);
    const doubles = new Float64Array([0.5, 1]);
    const same = { names: ["a"], columns: [doubles as unknown as number[]], numRows: 2 };
    expect(enforceSchema(same, col("double")).table).toBe(same);
  });

  it("keeps Date and Uint8Array cells as they are", () => {
    const when = new Date(0);
    const bytes = new Uint8Array([1]);
    const table = tableFromColumns({ t: [when], b: [bytes] });
    const specs: ColumnSpec[] = [
      { name: "t", type: "datetime", required: true },
      { name: "b", type: "binary", required: true },
    ];
    expect(enforceSchema(table, specs).table).toBe(table);
  });

  it("converts a copy and leaves the input column as it was", () => {
    const input = ["2021-01-01", null];
    const table = { names: ["a"], columns: [input], numRows: 2 };
    const { table: out } = enforceSchema(table, col("datetime", false));
    expect(out.columns[0]).not.toBe(input);
    expect(input).toEqual(["2021-01-01", null]);
  });

  type Bad = [string, ColumnType, unknown, typeof FormatError | typeof SchemaError, string];
  it.each<Bad>([
    // Values MLflow cannot convert either → BAD_REQUEST, worded as MLflow's parse-time error.
    [
      "a string into long",
      "long",
      "abc",
      FormatError,
      `Failed to convert column a to type 'int64'. Column a is long: row 0 holds "abc" (a string); expected a whole number`,
    ],
    ["a numeric string into long", "long", "1", FormatError, `Failed to convert column a to type 'int64'. Column a is long: row 0 holds "1" (a string)`],
    [
      "a string into double",
      "double",
      "0.5",
      FormatError,
      `Data is not compatible with model signature. Failed to convert column a to type 'float64'. Column a is double: row 0 holds "0.5" (a string); expected a number. Send JSON numbers, without quotes.`,
    ],
    ["a string into integer", "integer", "x", FormatError, "to type 'int32'. Column a is integer"],
    ["an object into double", "double", { x: 1 }, FormatError, `row 0 holds {"x":1} (an object)`],
    ["a list into string", "string", [1], FormatError, "row 0 holds [1] (a list)"],
    [
      "null into a required long",
      "long",
      null,
      FormatError,
      `Failed to convert column a to type 'int64'. Column a is long: row 0 holds null, a missing value (as is a bare NaN token in JSON), but the column is required. Send a value in every row, or declare column a optional`,
    ],
    [
      "null into a required double",
      "double",
      null,
      FormatError,
      "row 0 holds null, a missing value (as is a bare NaN token in JSON), but the column is required",
    ],
    [
      "null into a required string",
      "string",
      null,
      FormatError,
      "row 0 holds null, a missing value (as is a bare NaN token in JSON), but the column is required",
    ],
    [
      "text that is no date",
      "datetime",
      "yesterday",
      FormatError,
      `to type 'datetime64[ns]'. Column a is datetime: row 0 holds "yesterday" (a string); expected an ISO-8601 date-time`,
    ],
    ["a date that does not exist", "datetime", "2021-02-29", FormatError, `row 0 holds "2021-02-29" (a string)`],
    [
      "text that is no base64",
      "binary",
      "not base64!",
      FormatError,
      `to type 'bytes'. Column a is binary: row 0 holds "not base64!" (a string); expected base64-encoded bytes`,
    ],
    ["a number into binary", "binary", 5, FormatError, "row 0 holds 5; expected base64-encoded bytes"],
    // Values MLflow would silently mangle → INVALID_PARAMETER_VALUE.
    [
      "1.7 into long (MLflow truncates to 1)",
      "long",
      1.7,
      SchemaError,
      "Incompatible input types for column a. Its row 0 holds 1.7, which is not a whole number; column a is long (int64)",
    ],
    ["1.5 into integer", "integer", 1.5, SchemaError, "pipeserve does not truncate: round the value before sending it, or declare the column double."],
    ["NaN into long", "long", Number.NaN, SchemaError, "row 0 holds NaN, which is not a whole number"],
    [
      "2^53 + 1 into long",
      "long",
      9007199254740993,
      SchemaError,
      "row 0 holds 9007199254740992, which is beyond the whole numbers a JSON number keeps exactly",
    ],
    ["-2^60 into long", "long", -(2 ** 60), SchemaError, "Send such ids as strings in a string column."],
    ["2^31 into integer", "integer", 2147483648, SchemaError, "row 0 holds 2147483648, which is out of the int32 range; column a is integer (int32)"],
    ["a bigint beyond int64 into long", "long", 2n ** 64n, SchemaError, "row 0 holds 18446744073709551616 (a bigint)"],
    ["a bigint beyond 2^53 into double", "double", 2n ** 60n, SchemaError, "which a double cannot hold exactly"],
    ["1e39 into float", "float", 1e39, SchemaError, "row 0 holds 1e+39, which is out of the float32 range"],
    ["true into long (MLflow reads 1)", "long", true, SchemaError, "row 0 holds true (a boolean), which pipeserve does not reinterpret"],
    [
      "a number into string (MLflow passes it on)",
      "string",
      95120,
      SchemaError,
      `row 0 holds 95120, which pipeserve does not reinterpret; column a is string (str), which takes a string. Send JSON strings (quoted), e.g. "95120".`,
    ],
    ["a boolean into string", "string", false, SchemaError, "row 0 holds false (a boolean)"],
    [
      '"false" into boolean (MLflow reads true)',
      "boolean",
      "false",
      SchemaError,
      `row 0 holds "false" (a string), which pipeserve does not reinterpret; column a is boolean (bool), which takes true or false. Send JSON true or false, without quotes.`,
    ],
    ["0 into boolean", "boolean", 0, SchemaError, "row 0 holds 0, which pipeserve does not reinterpret"],
    ["1 into boolean", "boolean", 1, SchemaError, "row 0 holds 1,"],
    ["epoch milliseconds into datetime", "datetime", 1609459200000, SchemaError, "which could be seconds or milliseconds since 1970"],
  ])("refuses %s", (_, type, value, errorClass, message) => {
    const error = expectError(() => enforceSchema(tableFromColumns({ a: [value] }), col(type)), errorClass, message);
    expect(error.code).toBe(errorClass === FormatError ? "BAD_REQUEST" : "INVALID_PARAMETER_VALUE");
  });

  it("names the first bad row", () => {
    expectError(() => enforceSchema(tableFromColumns({ a: [1, 2, 3.5, 4.5] }), col("long")), SchemaError, "row 2 holds 3.5");
  });

  it("accepts a table with no rows and gives an empty request the signature's columns", () => {
    const emptyWithColumns = tableFromColumns({ b: [], a: [] });
    expect(enforceSchema(emptyWithColumns, AB).table).toEqual({ names: ["a", "b"], columns: [[], []], numRows: 0 });
    const noColumns = { names: [], columns: [], numRows: 0 };
    expect(enforceSchema(noColumns, AB)).toEqual({ table: { names: ["a", "b"], columns: [[], []], numRows: 0 }, droppedColumns: [] });
  });

  it('maps a bare single column named "0" onto a one-column named signature', () => {
    const table = tableFromColumns({ "0": ["x", "y"] });
    const { table: out } = enforceSchema(table, [{ name: "text", type: "string", required: true }]);
    expect(out).toEqual({ names: ["text"], columns: [["x", "y"]], numRows: 2 });
    expect(out.columns[0]).toBe(table.columns[0]);
  });

  it('does not map a column named "0" when the signature has more than one column', () => {
    expectError(
      () => enforceSchema(tableFromColumns({ "0": [1] }), AB),
      SchemaError,
      "Model is missing inputs ['a', 'b']. Note that there were extra inputs: ['0'].",
    );
  });

  it("checks an empty signature as nothing to check", () => {
    const table = tableFromColumns({ a: [1] });
    expect(enforceSchema(table, []).table).toBe(table);
  });
});

describe("enforceSchema: positional (unnamed) signatures", () => {
  const specs: ColumnSpec[] = [
    { type: "string", required: true },
    { type: "double", required: true },
  ];

  it("checks columns by position and keeps their names", () => {
    const table = tableFromColumns({ x: ["a"], y: new Float64Array([1]) });
    expect(enforceSchema(table, specs).table).toBe(table);
  });

  it("drops columns past the signature's count", () => {
    const result = enforceSchema(tableFromColumns({ x: ["a"], y: [1], z: [true] }), specs);
    expect(result.table).toEqual({ names: ["x", "y"], columns: [["a"], [1]], numRows: 1 });
    expect(result.droppedColumns).toEqual(["z"]);
  });

  it("gives an empty request the signature's positional columns", () => {
    expect(enforceSchema({ names: [], columns: [], numRows: 0 }, specs).table).toEqual({ names: ["0", "1"], columns: [[], []], numRows: 0 });
  });

  it("refuses too few columns", () => {
    expectError(
      () => enforceSchema(tableFromColumns({ x: ["a"] }), specs),
      SchemaError,
      "Model inference is missing inputs. The model signature declares 2 inputs but the provided value only has 1 inputs (['x']). Note: the inputs were not named in the signature so we can only verify their count.",
    );
  });

  it("checks the types by position", () => {
    expectError(() => enforceSchema(tableFromColumns({ x: ["a"], y: ["b"] }), specs), FormatError, "Failed to convert column y to type 'float64'");
  });
});

describe("enforceSchema: text cells (CSV)", () => {
  const specs: ColumnSpec[] = [
    { name: "zip", type: "string", required: true },
    { name: "n", type: "long", required: true },
    { name: "x", type: "double", required: false },
    { name: "ok", type: "boolean", required: false },
    { name: "t", type: "datetime", required: false },
  ];

  it("parses strings for number and boolean columns and keeps string columns as text", () => {
    const table = parseCsv("zip,n,x,ok,t\n95120,1,0.5,TRUE,2021-01-01\n00501,-2,,false,\n", { raw: true });
    const { table: out } = enforceSchema(table, specs, { fromText: true });
    expect(out.columns).toEqual([
      ["95120", "00501"],
      [1, -2],
      [0.5, null],
      [true, false],
      [new Date(Date.UTC(2021, 0, 1)), null],
    ]);
  });

  it.each([
    [
      "a word in a number column",
      "zip,n\n1,many\n",
      FormatError,
      `Failed to convert column n to type 'int64'. Column n is long: row 0 holds "many" (a string)`,
    ],
    ["a decimal in a long column", "zip,n\n1,1.5\n", SchemaError, "row 0 holds 1.5, which is not a whole number"],
    ["an empty cell in a required column", "zip,n\n1, \n", FormatError, "but the column is required"],
    ["a word in a boolean column", "zip,n,ok\n1,1,yes\n", SchemaError, `row 0 holds "yes" (a string)`],
  ])("refuses %s", (_, csv, errorClass, message) => {
    expectError(() => enforceSchema(parseCsv(csv, { raw: true }), specs, { fromText: true }), errorClass, message);
  });
});

/** MLflow's words for each refused param (`ParamSpec.validate_type_and_shape`), before the spec. */
const F = "Failed to validate type and shape for ";

const PARAMS: ParamSpec[] = [
  { name: "str_param", type: "string", default: "str_a", shape: null },
  { name: "int_param", type: "integer", default: 1, shape: null },
  { name: "bool_param", type: "boolean", default: true, shape: null },
  { name: "double_param", type: "double", default: 1, shape: null },
  { name: "float_param", type: "float", default: 0.5, shape: null },
  { name: "long_param", type: "long", default: 100, shape: null },
  { name: "datetime_param", type: "datetime", default: new Date(Date.UTC(2023, 5, 26)), shape: null },
  { name: "str_list", type: "string", default: ["a", "b", "c"], shape: [-1] },
  { name: "double_array", type: "double", default: [1, 2], shape: [-1] },
  { name: "seed", type: "long", default: null, shape: null },
];

const DEFAULTS = {
  str_param: "str_a",
  int_param: 1,
  bool_param: true,
  double_param: 1,
  float_param: 0.5,
  long_param: 100,
  datetime_param: new Date(Date.UTC(2023, 5, 26)),
  str_list: ["a", "b", "c"],
  double_array: [1, 2],
  seed: null,
};

describe("enforceSchema: typed cells (Arrow IPC, Parquet)", () => {
  // NB: the cells are checked as JSON values are; only the advice differs: an Arrow or Parquet client has no JSON to fix.
  it.each<[ColumnType, unknown, string]>([
    ["double", "0.5", "Send the column as Arrow numbers (float64, float32 or integers)."],
    ["long", "7", "Send the column as Arrow integers (int64 or narrower), or floats that hold whole numbers."],
    ["integer", "7", "Send the column as Arrow integers (int32 or narrower), or floats that hold whole numbers."],
    ["boolean", "yes", "Send the column as Arrow booleans (bool)."],
    ["string", 12, "Send the column as Arrow strings (utf8 or large_utf8)."],
    ["datetime", 1_700_000_000_000, "Send the column as an Arrow timestamp or date"],
  ])("a %s column refused says how to send it in Arrow, not in JSON", (type, value, fix) => {
    const table = tableFromColumns({ a: [value] });
    let message = "";
    try {
      enforceSchema(table, col(type), { fromArrow: true });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain(fix);
    expect(message).not.toMatch(/JSON (numbers|strings|true)|ISO-8601 text such as "2021-01-01T00:00:00" or "2021-01-01"\./);
    // The same cell in a JSON request keeps the JSON advice.
    expect(() => enforceSchema(table, col(type))).toThrow(/Send (JSON|ISO-8601)/);
  });

  it("no word of JSON in the other refusals: a missing value in a required column, a float past 2^53 in a long column", () => {
    const refusal = (values: unknown[], type: ColumnType): string => {
      try {
        enforceSchema(tableFromColumns({ a: values }), col(type), { fromArrow: true });
      } catch (error) {
        return (error as Error).message;
      }
      return "accepted";
    };
    const missing = refusal([1, null], "double");
    expect(missing).toContain("row 1 holds null, a missing value, but the column is required");
    expect(missing).not.toContain("JSON");
    const big = refusal([2 ** 60], "long");
    expect(big).toContain("which is beyond the whole numbers a float column keeps exactly (2^53)");
    expect(big).toContain("Send the column as Arrow int64");
    expect(big).not.toContain("JSON");
  });

  it("values are checked as JSON values are: whole floats pass into a long column, strings into a double column do not", () => {
    expect(enforceSchema(tableFromColumns({ a: new Float64Array([1, 2]) }), col("long"), { fromArrow: true }).table.columns[0]).toEqual([1, 2]);
    expect(() => enforceSchema(tableFromColumns({ a: ["1"] }), col("double"), { fromArrow: true })).toThrow(FormatError);
  });
});

describe("enforceParams", () => {
  it.each([
    ["null", null],
    ["undefined", undefined],
    ["an empty object", {}],
    ["null values", { str_param: null, long_param: null }],
  ])("fills every default when params are %s", (_, params) => {
    expect(enforceParams(params, PARAMS)).toEqual({ params: DEFAULTS, ignored: [] });
  });

  it("hands out fresh copies of list and date defaults", () => {
    const first = enforceParams(null, PARAMS).params;
    (first["str_list"] as string[]).push("mutated");
    (first["datetime_param"] as Date).setUTCFullYear(1999);
    expect(enforceParams(null, PARAMS).params).toEqual(DEFAULTS);
  });

  it("accepts exact types and widenings, and converts ISO text to dates", () => {
    const { params } = enforceParams(
      {
        str_param: "Ærø 🐧",
        int_param: 2,
        bool_param: false,
        double_param: 2, // integer → double
        float_param: 7, // integer → float
        long_param: 1.0, // an integral number is a long (MLflow refuses the lexical 1.0)
        datetime_param: "2024-01-02T03:04:05",
        str_list: [],
        double_array: [3, 4.5],
        seed: 9007199254740991,
      },
      PARAMS,
    );
    expect(params).toEqual({
      str_param: "Ærø 🐧",
      int_param: 2,
      bool_param: false,
      double_param: 2,
      float_param: 7,
      long_param: 1,
      datetime_param: new Date(Date.UTC(2024, 0, 2, 3, 4, 5)),
      str_list: [],
      double_array: [3, 4.5],
      seed: 9007199254740991,
    });
  });

  it.each([
    [
      "1.5 for long",
      { long_param: 1.5 },
      `${F}'long_param': long (default: 100), error: Can not safely convert \`<class 'float'>\` to \`long\` for value \`1.5\`: got 1.5, expected a whole number`,
    ],
    [
      "2^53 + 1 for long",
      { seed: 9007199254740993 },
      `${F}'seed': long (default: None), error: got 9007199254740992, beyond the whole numbers a JSON number keeps exactly`,
    ],
    [
      '"1" for a number',
      { double_param: "1" },
      `${F}'double_param': double (default: 1.0), error: Can not safely convert \`<class 'str'>\` to \`double\` for value \`1\`: got "1" (a string), expected a number`,
    ],
    [
      "true for a number",
      { float_param: true },
      `${F}'float_param': float (default: 0.5), error: Can not safely convert \`<class 'bool'>\` to \`float\` for value \`True\`: got true (a boolean)`,
    ],
    [
      "1 for a string",
      { str_param: 1 },
      `${F}'str_param': string (default: str_a), error: Can not safely convert \`<class 'int'>\` to \`string\` for value \`1\`: got 1, expected a string`,
    ],
    [
      '"true" for a boolean',
      { bool_param: "true" },
      `${F}'bool_param': boolean (default: True), error: Can not safely convert \`<class 'str'>\` to \`boolean\` for value \`true\`: got "true" (a string), expected true or false`,
    ],
    [
      "2^31 for integer",
      { int_param: 2147483648 },
      `${F}'int_param': integer (default: 1), error: Can not safely convert \`<class 'int'>\` to \`integer\` for value \`2147483648\`: got 2147483648, expected a whole number (int32)`,
    ],
    [
      "text that is no date",
      { datetime_param: "soon" },
      `${F}'datetime_param': datetime (default: 2023-06-26 00:00:00), error: Failed to convert value \`soon\` from type \`<class 'str'>\` to \`datetime\`: got "soon" (a string), expected an ISO-8601 date-time string`,
    ],
    [
      "a scalar for a list",
      { str_list: "a" },
      `Value must be a 1D array with shape (-1,) for param 'str_list': string (default: ['a', 'b', 'c']) (shape: (-1,)), received str with ndim 0: got "a" (a string), expected a list (shape [-1]) of string values`,
    ],
    [
      "a list for a scalar",
      { long_param: [1] },
      `${F}'long_param': long (default: 100), error: Value must be a scalar for type \`long\`, got \`[1]\`: got [1] (a list), expected a single value: a whole number`,
    ],
    [
      "a bad list element",
      { str_list: ["a", 2] },
      `${F}'str_list': string (default: ['a', 'b', 'c']) (shape: (-1,)), error: Can not safely convert \`<class 'int'>\` to \`string\` for value \`2\`: element 1 of the list got 2, expected a string`,
    ],
    [
      "a 2-D list",
      { double_array: [[1]] },
      `Value must be a 1D array with shape (-1,) for param 'double_array': double (default: [1.0, 2.0]) (shape: (-1,)), received list with ndim 2: got [[1]] (a list)`,
    ],
    [
      "an object",
      { str_param: { a: 1 } },
      `${F}'str_param': string (default: str_a), error: Value must be a scalar for type \`string\`, got \`{'a': 1}\`: got {"a":1} (an object), expected a string`,
    ],
  ])("refuses %s", (_, params, message) => {
    const error = expectError(() => enforceParams(params, PARAMS), SchemaError, message);
    expect(error.message.startsWith("Invalid parameters found: ")).toBe(true);
    expect(error.message).toMatch(/Fix these values, or leave them out to use the defaults\.$/);
  });

  it("lists every bad value in one message", () => {
    expectError(
      () => enforceParams({ long_param: 1.5, str_param: 1, bool_param: "true", unknown: 1 }, PARAMS),
      SchemaError,
      `Invalid parameters found: ${F}'str_param': string (default: str_a), error: Can not safely convert \`<class 'int'>\` to \`string\` for value \`1\`: got 1, expected a string; ` +
        `${F}'bool_param': boolean (default: True), error: Can not safely convert \`<class 'str'>\` to \`boolean\` for value \`true\`: got "true" (a string), expected true or false; ` +
        `${F}'long_param': long (default: 100), error: Can not safely convert \`<class 'float'>\` to \`long\` for value \`1.5\`: got 1.5, expected a whole number.`,
    );
  });

  it("ignores unknown keys and names them", () => {
    expect(enforceParams({ invalid_param: "value", str_param: "s", thresold: 0.3 }, PARAMS)).toEqual({
      params: { ...DEFAULTS, str_param: "s" },
      ignored: ["invalid_param", "thresold"],
    });
  });

  it("ignores every key for a model without a params schema", () => {
    expect(enforceParams({ str_param: "string", int_array: [1, 2, 3] }, null)).toEqual({ params: {}, ignored: ["str_param", "int_array"] });
    expect(enforceParams(null, null)).toEqual({ params: {}, ignored: [] });
  });

  it("passes the reserved runner param on, with or without a params schema", () => {
    expect(enforceParams({ runner: "ConcurrentRunner", x: 1 }, null)).toEqual({ params: { runner: "ConcurrentRunner" }, ignored: ["x"] });
    expect(enforceParams({ runner: "WorkerRunner" }, PARAMS).params["runner"]).toBe("WorkerRunner");
    expect(enforceParams({ runner: null }, null)).toEqual({ params: {}, ignored: [] });
  });

  it("refuses a runner that is not a name", () => {
    expectError(
      () => enforceParams({ runner: 5 }, null),
      SchemaError,
      `Invalid parameters found: 'runner' got 5, expected the name of a runner such as "SequentialRunner"`,
    );
  });

  it("gives a declared runner param its default", () => {
    const schema: ParamSpec[] = [{ name: "runner", type: "string", default: "SequentialRunner", shape: null }];
    expect(enforceParams(undefined, schema).params).toEqual({ runner: "SequentialRunner" });
    expectError(
      () => enforceParams({ runner: ["x"] }, schema),
      SchemaError,
      `for 'runner': string (default: SequentialRunner), error: Value must be a scalar for type \`string\`, got \`['x']\`: got ["x"] (a list), expected a single value: a string`,
    );
  });

  it.each([
    ["a list", [1, 2, 3], "Parameters must be a dictionary. Got type 'list'."],
    ["a string", "x", "Parameters must be a dictionary. Got type 'str'."],
    ["a number", 1, "Parameters must be a dictionary. Got type 'int'."],
  ])("refuses params that are %s", (_, params, message) => {
    expectError(() => enforceParams(params as unknown as Record<string, unknown>, PARAMS), SchemaError, message);
  });
});
