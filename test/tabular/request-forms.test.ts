import { describe, expect, it } from "vitest";
import { FormatError, MLFLOW_WORDING, SchemaError, enforceSchema, parseJsonRequest, type ColumnSpec } from "../../src/tabular/index.js";
import { expectError } from "./expect-error.js";

const AB_TABLE = {
  names: ["a", "b"],
  columns: [
    [1, 2],
    [0.5, 1.5],
  ],
  numRows: 2,
};

describe("parseJsonRequest: the four forms", () => {
  it.each([
    [
      "dataframe_split",
      {
        dataframe_split: {
          columns: ["a", "b"],
          index: [0, 1],
          data: [
            [1, 0.5],
            [2, 1.5],
          ],
        },
      },
    ],
    [
      "dataframe_split",
      {
        dataframe_split: {
          columns: ["a", "b"],
          data: [
            [1, 0.5],
            [2, 1.5],
          ],
        },
      },
    ],
    [
      "dataframe_records",
      {
        dataframe_records: [
          { a: 1, b: 0.5 },
          { a: 2, b: 1.5 },
        ],
      },
    ],
    [
      "instances",
      {
        instances: [
          { a: 1, b: 0.5 },
          { a: 2, b: 1.5 },
        ],
      },
    ],
    [
      "inputs",
      {
        inputs: [
          { a: 1, b: 0.5 },
          { a: 2, b: 1.5 },
        ],
      },
    ],
    ["inputs", { inputs: { a: [1, 2], b: [0.5, 1.5] } }],
    ["instances", { instances: { a: [1, 2], b: [0.5, 1.5] } }],
  ])("reads %s %j", (form, body) => {
    expect(parseJsonRequest(JSON.stringify(body))).toEqual({ table: AB_TABLE, params: null, form });
  });

  it('reads dataframe_split without columns as positional columns "0", "1", ...', () => {
    const { table } = parseJsonRequest('{"dataframe_split": {"data": [[1, "x"], [2, "y"]]}}');
    expect(table).toEqual({
      names: ["0", "1"],
      columns: [
        [1, 2],
        ["x", "y"],
      ],
      numRows: 2,
    });
  });

  it("reads numeric column names as strings (pandas integer columns)", () => {
    expect(parseJsonRequest('{"dataframe_split": {"columns": [0, 1], "data": [[5.1, 3.5]]}}').table.names).toEqual(["0", "1"]);
  });

  it("reads empty frames", () => {
    expect(parseJsonRequest('{"dataframe_split": {"columns": ["a", "b"], "data": []}}').table).toEqual({
      names: ["a", "b"],
      columns: [[], []],
      numRows: 0,
    });
    expect(parseJsonRequest('{"dataframe_split": {"data": []}}').table).toEqual({ names: [], columns: [], numRows: 0 });
    expect(parseJsonRequest('{"dataframe_records": []}').table).toEqual({ names: [], columns: [], numRows: 0 });
    expect(parseJsonRequest('{"inputs": []}').table).toEqual({ names: [], columns: [], numRows: 0 });
    expect(parseJsonRequest('{"inputs": {}}').table).toEqual({ names: [], columns: [], numRows: 0 });
  });

  it("reads a key missing from a record as null, columns in first-seen order", () => {
    const { table } = parseJsonRequest('{"dataframe_records": [{"a": 1}, {"b": "x", "a": 2}, {}]}');
    expect(table).toEqual({
      names: ["a", "b"],
      columns: [
        [1, 2, null],
        [null, "x", null],
      ],
      numRows: 3,
    });
  });

  it("reads an object of scalars as one row", () => {
    expect(parseJsonRequest('{"inputs": {"a": 1, "b": "x"}}').table).toEqual({ names: ["a", "b"], columns: [[1], ["x"]], numRows: 1 });
  });

  it("reads a list of row lists as positional columns", () => {
    expect(parseJsonRequest('{"instances": [[1, 2], [3, 4]]}').table).toEqual({
      names: ["0", "1"],
      columns: [
        [1, 3],
        [2, 4],
      ],
      numRows: 2,
    });
  });

  it.each([
    ["a bare list of scalars", '{"inputs": ["a", "b"]}', ["a", "b"]],
    ["a bare scalar", '{"inputs": "a"}', ["a"]],
    ["a bare null", '{"instances": null}', [null]],
    ["a list of scalars with nulls", '{"instances": [1, null, 3]}', [1, null, 3]],
  ])('reads %s as one column named "0"', (_, body, values) => {
    expect(parseJsonRequest(body).table).toEqual({ names: ["0"], columns: [values], numRows: values.length });
  });

  it("names a bare column after the one schema column when the caller passes it", () => {
    expect(parseJsonRequest('{"inputs": ["a", "b"]}', ["text"]).table.names).toEqual(["text"]);
    expect(parseJsonRequest('{"inputs": ["a", "b"]}', ["x", "y"]).table.names).toEqual(["0"]);
  });

  it("lets enforceSchema take a bare list against a one-column named signature", () => {
    const specs: ColumnSpec[] = [{ name: "text", type: "string", required: true }];
    const { table } = enforceSchema(parseJsonRequest('{"inputs": ["a", "b"]}').table, specs);
    expect(table).toEqual({ names: ["text"], columns: [["a", "b"]], numRows: 2 });
  });

  it("keeps unicode strings, nulls and big numbers as JSON.parse reads them", () => {
    const { table } = parseJsonRequest('{"dataframe_split": {"columns": ["s", "n"], "data": [["Ærø 🐧 \\u00e9", 9007199254740993], [null, -0.0]]}}');
    expect(table.columns).toEqual([
      ["Ærø 🐧 é", null],
      [9007199254740992, -0],
    ]);
  });

  it("refuses a big integer for a long column after parsing, naming the column", () => {
    const specs: ColumnSpec[] = [{ name: "id", type: "long", required: true }];
    const { table } = parseJsonRequest('{"dataframe_records": [{"id": 12345678901234567890}]}');
    expectError(() => enforceSchema(table, specs), SchemaError, "Incompatible input types for column id. Its row 0 holds 12345678901234567000");
  });

  it("ignores other top-level keys", () => {
    expect(parseJsonRequest('{"inputs": [1], "id": "abc", "columns": ["x"]}').table.names).toEqual(["0"]);
  });

  it("reads the params, null and absent params as null", () => {
    expect(parseJsonRequest('{"inputs": [1], "params": {"threshold": 0.5, "runner": "SequentialRunner"}}').params).toEqual({
      threshold: 0.5,
      runner: "SequentialRunner",
    });
    expect(parseJsonRequest('{"inputs": [1], "params": null}').params).toBeNull();
    expect(parseJsonRequest('{"inputs": [1]}').params).toBeNull();
  });

  it("reads UTF-8 bytes, a leading BOM and an already parsed body", () => {
    const text = '\ufeff{"inputs": {"a": [1, 2], "b": [0.5, 1.5]}}';
    expect(parseJsonRequest(new TextEncoder().encode(text)).table).toEqual(AB_TABLE);
    expect(parseJsonRequest(text).table).toEqual(AB_TABLE);
    expect(parseJsonRequest({ inputs: { a: [1, 2], b: [0.5, 1.5] } }).table).toEqual(AB_TABLE);
  });

  it("builds 10,000 rows quickly", () => {
    const rows = Array.from({ length: 10_000 }, (_, i) => ["Torgersen", 39.1 + i, i % 2 === 0 ? null : 18.7, i]);
    const body = JSON.stringify({ dataframe_split: { columns: ["island", "x", "y", "n"], data: rows } });
    const started = performance.now();
    const { table } = parseJsonRequest(body);
    expect(performance.now() - started).toBeLessThan(500);
    expect(table.numRows).toBe(10_000);
    expect(table.columns[3]?.[9_999]).toBe(9_999);
  });
});

describe("parseJsonRequest: the bare NaN, Infinity and -Infinity tokens MLflow's client writes", () => {
  // As ScoringServerClient / convert_input_example_to_serving_input write a DataFrame with missing numbers.
  const SPLIT = '{"dataframe_split": {"columns": ["island", "bill", "depth", "flipper", "mass", "sex"], "data": [["Biscoe", NaN, NaN, 230.0, NaN, null]]}}';

  it("reads NaN in a column as a missing value (null), as pandas does", () => {
    expect(parseJsonRequest(SPLIT).table).toEqual({
      names: ["island", "bill", "depth", "flipper", "mass", "sex"],
      columns: [["Biscoe"], [null], [null], [230], [null], [null]],
      numRows: 1,
    });
  });

  it.each([
    ["dataframe_split", '{"dataframe_split": {"columns": ["x", "y"], "data": [[NaN, Infinity], [-Infinity, 1]]}}'],
    ["dataframe_records", '{"dataframe_records": [{"x": NaN, "y": Infinity}, {"x": -Infinity, "y": 1}]}'],
    ["instances", '{"instances": [{"x": NaN, "y": Infinity}, {"x": -Infinity, "y": 1}]}'],
    ["inputs (columns)", '{"inputs": {"x": [NaN, -Infinity], "y": [Infinity, 1]}}'],
  ])("in %s: NaN is null, ±Infinity the doubles", (_form, body) => {
    const { table } = parseJsonRequest(body);
    expect(table).toEqual({
      names: ["x", "y"],
      columns: [
        [null, -Infinity],
        [Infinity, 1],
      ],
      numRows: 2,
    });
    // As bytes, and once parsed (what the server hands over), the same.
    expect(parseJsonRequest(new TextEncoder().encode(body)).table).toEqual(table);
  });

  it("reads one row of scalars, a bare list and a bare scalar the same way", () => {
    expect(parseJsonRequest('{"inputs": {"x": NaN, "y": -Infinity}}').table.columns).toEqual([[null], [-Infinity]]);
    expect(parseJsonRequest('{"inputs": [1.5, NaN, Infinity]}', ["x"]).table.columns).toEqual([[1.5, null, Infinity]]);
    expect(parseJsonRequest('{"inputs": NaN}', ["x"]).table.columns).toEqual([[null]]);
  });

  it("keeps NaN and ±Infinity as numbers in params (NaN for a double param), and the tokens inside strings as strings", () => {
    const parsed = parseJsonRequest('{"inputs": {"s": ["NaN", "Infinity", "-Infinity NaN"]}, "params": {"t": NaN, "u": [Infinity, -Infinity], "v": "NaN"}}');
    expect(parsed.table.columns).toEqual([["NaN", "Infinity", "-Infinity NaN"]]);
    expect(parsed.params).toEqual({ t: Number.NaN, u: [Infinity, -Infinity], v: "NaN" });
  });

  it("ignores a NaN in the index or the column names (they are no cells)", () => {
    const { table } = parseJsonRequest('{"dataframe_split": {"index": [NaN], "columns": ["a"], "data": [[1]]}}');
    expect(table).toEqual({ names: ["a"], columns: [[1]], numRows: 1 });
  });

  it("makes NaN missing before the signature is enforced: refused in a required column like null, null in an optional one", () => {
    const specs: ColumnSpec[] = [
      { name: "a", type: "long", required: false },
      { name: "b", type: "double", required: true },
    ];
    expect(enforceSchema(parseJsonRequest('{"inputs": {"a": [NaN], "b": [Infinity]}}').table, specs).table.columns).toEqual([[null], [Infinity]]);
    expectError(() => enforceSchema(parseJsonRequest('{"inputs": {"a": [1], "b": [NaN]}}').table, specs), FormatError, "row 0 holds null");
  });
});

describe("parseJsonRequest: refusals", () => {
  const W = MLFLOW_WORDING;
  const JSON_ERROR = W.invalidJson;
  const NOTE = "IMPORTANT: The MLflow Model scoring protocol has changed in MLflow version 2.0. The MLflow 1.x body";

  // [why, body, MLflow's words the message starts with ("" where MLflow takes the body), pipeserve's explanation after them]
  it.each([
    ["malformed JSON", "this is,,,, not valid json", JSON_ERROR, "Unexpected token"],
    ["truncated JSON", '{"inputs": [1, 2', JSON_ERROR, "JSON"],
    ["a lower-case nan token (Python's json refuses it too)", '{"inputs": [nan]}', JSON_ERROR, "JSON"],
    ["a NaN token with a tail", '{"inputs": [NaNx]}', JSON_ERROR, "Unexpected token 'x' in JSON at position 15."],
    ["a signed NaN token", '{"inputs": [-NaN]}', JSON_ERROR, "JSON"],
    ["a +Infinity token", '{"inputs": [+Infinity]}', JSON_ERROR, "JSON"],
    ["invalid UTF-8", new Uint8Array([0x7b, 0xff, 0x7d]), JSON_ERROR, "The body is not valid UTF-8."],
    ["a top-level list", "[1]", W.notAnObject, ` Received a list. ${NOTE}`],
    ["a top-level number", "1", W.notAnObject, " Received unexpected input type '<class 'int'>'."],
    ["a top-level string", '"1"', W.notAnObject, " Received unexpected input type '<class 'str'>'."],
    ["null", "null", W.notAnObject, " Received unexpected input type '<class 'NoneType'>'."],
    ["an empty object", "{}", W.notOneForm, " Received dictionary with input fields: []."],
    [
      "two forms",
      '{"dataframe_records": [], "dataframe_split": {"data": []}}',
      W.notOneForm,
      " Received dictionary with input fields: ['dataframe_records', 'dataframe_split'].",
    ],
    ["instances with inputs", '{"instances": [], "inputs": []}', W.notOneForm, "['instances', 'inputs']"],
    [
      "the MLflow 1.x body",
      '{"columns": ["a", "b"], "data": [[1, 0.5]]}',
      W.notOneForm,
      `Received dictionary with input fields: ['columns', 'data']. ${NOTE} {"columns": [...], "data": [...]} is no longer accepted`,
    ],
    ["an LLM body", '{"input": "hello!", "random": "test"}', "", `The LLM fields "messages", "prompt" and "input" are not supported.`],
    ["records under dataframe_split", '{"dataframe_split": [{"0": 5.1}]}', W.splitNotAnObject, " Got list. Send "],
    ["a string under dataframe_split", '{"dataframe_split": "a,b"}', W.splitNotAnObject, " Got type <class 'str'>."],
    [
      "an unknown dataframe_split field",
      '{"dataframe_split": {"columns": ["a"], "data": [[1]], "dtype": "x"}}',
      W.splitFields,
      ` Got {'columns', 'data', 'dtype'}. dataframe_split has the unknown field(s) ['dtype']; it accepts only "data", "columns" and "index".`,
    ],
    ["dataframe_split without data", '{"dataframe_split": {"columns": ["a"]}}', W.splitFields, ` Got {'columns'}. dataframe_split has no "data"`],
    [
      "dataframe_split data that is an object",
      '{"dataframe_split": {"data": {"a": 1}}}',
      W.splitInvalid,
      ` dataframe_split.data must be a list of rows such as [[1, 0.5], [2, 1.5]]; got {"a":1} (an object).`,
    ],
    [
      "columns that are not a list",
      '{"dataframe_split": {"columns": "a", "data": []}}',
      W.splitInvalid,
      ` dataframe_split.columns must be a list of column names such as ["a", "b"]; got "a" (a string).`,
    ],
    ["duplicate columns", '{"dataframe_split": {"columns": ["a", "a"], "data": []}}', W.splitInvalid, ` dataframe_split.columns names the column "a" twice.`],
    [
      "a row that is not a list",
      '{"dataframe_split": {"columns": ["a"], "data": [[1], 2]}}',
      W.splitInvalid,
      " dataframe_split.data[1] is 2; each row must be a list of values such as [1, 0.5].",
    ],
    [
      "a short row",
      '{"dataframe_split": {"columns": ["a", "b"], "data": [[1, 2], [3]]}}',
      W.splitInvalid,
      " dataframe_split.data[1] has 1 values but there are 2 columns ['a', 'b']. Give every row one value per column.",
    ],
    [
      "ragged rows without columns",
      '{"dataframe_split": {"data": [[1, 2], [3, 4, 5]]}}',
      W.splitInvalid,
      " dataframe_split.data[1] has 3 values but there are 2 columns ['0', '1'].",
    ],
    [
      "an index longer than the rows",
      '{"dataframe_split": {"columns": ["a"], "index": [0, 1, 2], "data": [[1], [2]]}}',
      W.splitInvalid,
      ` dataframe_split.index has 3 labels but "data" has 2 rows. Give one label per row, or leave "index" out.`,
    ],
    [
      "an index shorter than the rows",
      '{"dataframe_split": {"index": [1, 2], "data": [[1], [2], [3]]}}',
      W.splitInvalid,
      ` dataframe_split.index has 2 labels but "data" has 3 rows.`,
    ],
    ["an index for no rows", '{"dataframe_split": {"columns": ["a"], "index": [0], "data": []}}', W.splitInvalid, " dataframe_split.index has 1 labels"],
    ["an index that is not a list", '{"dataframe_split": {"index": 0, "data": [[1]]}}', W.splitInvalid, " dataframe_split.index must be a list of row labels"],
    ["ragged instances rows", '{"instances": [[1, 2], [3]]}', "", "instances[1] has 1 values but there are 2 columns"],
    [
      "records that are not a list",
      '{"dataframe_records": {"a": [1]}}',
      W.recordsNotAList,
      ` Got dictionary. Send a list of row objects such as [{"a": 1, "b": 0.5}]; got {"a":[1]} (an object).`,
    ],
    ["records that are a string", '{"dataframe_records": "a"}', W.recordsNotAList, " Got type <class 'str'>."],
    [
      "a record that is not an object",
      '{"dataframe_records": [{"a": 1}, [1]]}',
      W.recordsInvalid,
      ` dataframe_records[1] is [1] (a list); each element must be an object of column values such as {"a": 1, "b": 0.5}.`,
    ],
    ["a mixed instances list", '{"instances": [{"a": 1}, 2]}', "", "instances[1] is 2; each element must be an object of column values"],
    [
      "scalars mixed with rows",
      '{"inputs": [1, [2]]}',
      "",
      "inputs[1] is [2] (a list) but inputs[0] is 1. Send a list of row objects, a list of row lists, or a list of scalars, not a mix.",
    ],
    [
      "columns of unequal length",
      '{"inputs": {"a": [1, 2], "b": [0.5]}}',
      W.columnLengths,
      `: inputs column "b" has 1 values but column "a" has 2. All columns must have the same length.`,
    ],
    [
      "instances columns of unequal length",
      '{"instances": {"a": [1, 2], "b": [0.5]}}',
      W.columnLengths,
      `: instances column "b" has 1 values but column "a" has 2. All columns must have the same length.`,
    ],
    ["list columns mixed with a scalar", '{"inputs": {"a": [1, 2], "b": 0.5}}', "", `inputs mixes list columns ("a") with a single value ("b").`],
  ])("refuses %s with a FormatError (BAD_REQUEST) in MLflow's words, then why", (_, body, mlflow, message) => {
    const error = expectError(() => parseJsonRequest(body), FormatError, `${mlflow}${message}`.startsWith(" ") ? `${mlflow}${message}` : message);
    expect(error.code).toBe("BAD_REQUEST");
    expect(error.message.startsWith(mlflow), error.message).toBe(true);
    if (mlflow === "") expect(error.message).not.toMatch(/^Invalid input\./);
  });

  it.each([
    ["a list", '{"inputs": [1], "params": [1, 2, 3]}', "Parameters must be a dictionary. Got type 'list'."],
    ["a string", '{"inputs": [1], "params": "a=1"}', "Parameters must be a dictionary. Got type 'str'."],
    ["a number", '{"inputs": [1], "params": 1.5}', "Parameters must be a dictionary. Got type 'float'."],
  ])("refuses params that are %s with a SchemaError (INVALID_PARAMETER_VALUE), as MLflow does", (_, body, message) => {
    const error = expectError(() => parseJsonRequest(body), SchemaError, message);
    expect(error.code).toBe("INVALID_PARAMETER_VALUE");
    // NB: for a model without a params schema (serve's and predict's JSON input alike), MLflow ignores them.
    expect(parseJsonRequest(body, undefined, undefined, { paramsDeclared: false })).toMatchObject({ params: null, table: { numRows: 1 } });
  });
});
