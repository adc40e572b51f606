import { tableFromArrays } from "apache-arrow";
import { describe, expect, it } from "vitest";
import {
  SchemaError,
  asColumnTable,
  declaredColumnTypes,
  inferSignature,
  signatureFromMlflow,
  signatureToMlflow,
  tableFromColumns,
  type ParamSpec,
  type Signature,
} from "../../src/tabular/index.js";
import { expectError } from "./expect-error.js";

/** Strings exactly as MLflow 3.6 writes them into MLmodel (from the conformance cases and MODEL_FORMAT.md). */
const MLFLOW_INPUTS_AB = '[{"type": "long", "name": "a", "required": true}, {"type": "double", "name": "b", "required": true}]';
const MLFLOW_INPUTS_OPTIONAL = '[{"type": "string", "name": "island", "required": true}, {"type": "double", "name": "bill_length_mm", "required": false}]';
const MLFLOW_INPUTS_UNNAMED = '[{"type": "string", "required": true}]';
const MLFLOW_PARAMS =
  '[{"name": "str_param", "default": "str_a", "shape": null, "type": "string"}, {"name": "int_param", "default": 1, "shape": null, "type": "integer"}, ' +
  '{"name": "bool_param", "default": true, "shape": null, "type": "boolean"}, {"name": "double_param", "default": 1.0, "shape": null, "type": "double"}, ' +
  '{"name": "float_param", "default": 0.5, "shape": null, "type": "float"}, {"name": "long_param", "default": 100, "shape": null, "type": "long"}, ' +
  '{"name": "datetime_param", "default": "2023-06-26T00:00:00", "shape": null, "type": "datetime"}, ' +
  '{"name": "str_list", "default": ["a", "b", "c"], "shape": [-1], "type": "string"}, ' +
  '{"name": "double_array", "default": [1.0, 2.0], "shape": [-1], "type": "double"}]';
const MLFLOW_RUNNER_PARAM = '[{"name": "runner", "default": "SequentialRunner", "shape": null, "type": "string"}]';

describe("signatureFromMlflow / signatureToMlflow", () => {
  it.each([
    ["named inputs", { inputs: MLFLOW_INPUTS_AB, outputs: null, params: null }],
    ["optional inputs and outputs", { inputs: MLFLOW_INPUTS_OPTIONAL, outputs: MLFLOW_INPUTS_AB, params: null }],
    ["unnamed inputs", { inputs: MLFLOW_INPUTS_UNNAMED, outputs: null, params: null }],
    ["every param type, float defaults written 1.0", { inputs: MLFLOW_INPUTS_UNNAMED, outputs: null, params: MLFLOW_PARAMS }],
    ["the runner param", { inputs: MLFLOW_INPUTS_AB, outputs: null, params: MLFLOW_RUNNER_PARAM }],
  ])("round-trips MLflow's own text byte for byte: %s", (_, mlflow) => {
    expect(signatureToMlflow(signatureFromMlflow(mlflow))).toEqual(mlflow);
  });

  it("reads column specs, params and their defaults", () => {
    const sig = signatureFromMlflow({ inputs: MLFLOW_INPUTS_OPTIONAL, outputs: null, params: MLFLOW_PARAMS });
    expect(sig.inputs).toEqual([
      { type: "string", name: "island", required: true },
      { type: "double", name: "bill_length_mm", required: false },
    ]);
    expect(sig.outputs).toBeNull();
    const byName = new Map(sig.params?.map((p) => [p.name, p]));
    expect(byName.get("double_array")).toEqual({ name: "double_array", type: "double", default: [1, 2], shape: [-1] });
    expect(byName.get("datetime_param")?.default).toEqual(new Date(Date.UTC(2023, 5, 26)));
  });

  it("reads a missing params part as null and a missing required flag as true (older MLmodel files)", () => {
    const sig = signatureFromMlflow({ inputs: '[{"type": "long", "name": "a"}]', outputs: null });
    expect(sig).toEqual({ inputs: [{ type: "long", name: "a", required: true }], outputs: null, params: null });
  });

  it("leaves out the name of an unnamed column", () => {
    const sig: Signature = { inputs: [{ type: "string", required: false }], outputs: null, params: null };
    expect(signatureToMlflow(sig).inputs).toBe('[{"type": "string", "required": false}]');
  });

  const param = (type: ParamSpec["type"], value: unknown, shape: ParamSpec["shape"] = null): string | null =>
    signatureToMlflow({ inputs: null, outputs: null, params: [{ name: "p", type, default: value, shape }] }).params;

  it.each([
    ["double", 1, "1.0"],
    ["double", 0.5, "0.5"],
    ["double", -2.5, "-2.5"],
    ["double", 123.456, "123.456"],
    ["double", 0.0001, "0.0001"],
    ["double", 0.00001, "1e-05"],
    ["double", 1e15, "1000000000000000.0"],
    ["double", 1e16, "1e+16"],
    ["double", 1.5e300, "1.5e+300"],
    ["double", -0, "-0.0"],
    ["float", 3, "3.0"],
    ["long", 100, "100"],
    ["integer", -7, "-7"],
    ["boolean", false, "false"],
    ["string", 'Ærø 🐧 "q"\n', '"\\u00c6r\\u00f8 \\ud83d\\udc27 \\"q\\"\\n"'],
    ["datetime", new Date(Date.UTC(2023, 5, 26)), '"2023-06-26T00:00:00"'],
    ["datetime", new Date(Date.UTC(2023, 5, 26, 1, 2, 3, 45)), '"2023-06-26T01:02:03.045000"'],
    ["string", null, "null"],
  ] as const)("writes a %s default %j as Python's json.dumps does: %s", (type, value, text) => {
    expect(param(type, value)).toBe(`[{"name": "p", "default": ${text}, "shape": null, "type": "${type}"}]`);
  });

  it("writes list defaults with Python spacing and float formatting", () => {
    expect(param("double", [1, 2.5], [-1])).toBe('[{"name": "p", "default": [1.0, 2.5], "shape": [-1], "type": "double"}]');
    expect(param("long", [], [-1])).toBe('[{"name": "p", "default": [], "shape": [-1], "type": "long"}]');
  });

  it("writes empty or missing parts as null", () => {
    expect(signatureToMlflow({ inputs: [], outputs: null, params: [] })).toEqual({ inputs: null, outputs: null, params: null });
  });

  it.each([
    ["a NaN default", "double", Number.NaN, "which JSON cannot carry"],
    ["a default of the wrong type", "long", 1.5, 'Param "p" has an invalid default: got 1.5, expected a whole number'],
    ["a string default for a number", "double", "1", 'got "1" (a string), expected a number'],
  ] as const)("refuses to write %s", (_, type, value, message) => {
    expectError(() => param(type, value), SchemaError, message);
  });

  it.each([
    ["invalid JSON", { inputs: "[{", outputs: null }, "signature.inputs is not valid JSON"],
    ["a YAML list instead of a JSON string", { inputs: [{ type: "long" }] }, "must be a mapping {inputs, outputs, params} of JSON strings"],
    ["not a mapping", "inputs", "must be a mapping"],
    ["a spec without type", { inputs: '[{"name": "a"}]' }, "signature.inputs is not a list of column specs"],
    [
      "an unknown column type",
      { inputs: '[{"type": "int64", "name": "a", "required": true}]' },
      'signature.inputs[0] ("a") has the unknown type "int64". Use one of: boolean, integer',
    ],
    [
      "a tensor spec",
      { inputs: '[{"type": "tensor", "tensor-spec": {"dtype": "float32", "shape": [-1, 3]}}]' },
      "is a tensor spec. pipeserve signatures are column-based",
    ],
    [
      "an array column type",
      { outputs: '[{"type": "array", "items": {"type": "long"}, "name": "a"}]' },
      'signature.outputs[0] ("a") has the unknown type "array"',
    ],
    ["named and unnamed columns", { inputs: '[{"type": "long", "name": "a"}, {"type": "long"}]' }, "mixes named and unnamed columns"],
    ["a duplicate column", { inputs: '[{"type": "long", "name": "a"}, {"type": "double", "name": "a"}]' }, 'declares the column "a" twice'],
    [
      "a binary param",
      { params: '[{"name": "p", "default": null, "shape": null, "type": "binary"}]' },
      'has the unknown type "binary" (binary is not a param type)',
    ],
    ["an unknown param type", { params: '[{"name": "p", "default": 1, "shape": null, "type": "int"}]' }, 'signature.params "p" has the unknown type "int"'],
    [
      "a 2-D param shape",
      { params: '[{"name": "p", "default": [1], "shape": [2], "type": "long"}]' },
      "has the shape [2]. Use null (a single value) or [-1] (a list)",
    ],
    [
      "a default that breaks its type",
      { params: '[{"name": "p", "default": 1.5, "shape": null, "type": "long"}]' },
      'signature.params "p" has an invalid default: got 1.5',
    ],
    [
      "a scalar default for a list param",
      { params: '[{"name": "p", "default": 1, "shape": [-1], "type": "long"}]' },
      "expected a list (shape [-1]) of long values",
    ],
    [
      "a duplicate param",
      { params: '[{"name": "p", "default": 1, "shape": null, "type": "long"}, {"name": "p", "default": 2, "shape": null, "type": "long"}]' },
      "is declared twice",
    ],
    ["params that are not a list", { params: '{"name": "p"}' }, "signature.params is not a list of param specs"],
  ])("rejects %s with a SchemaError naming the fix", (_, value, message) => {
    const error = expectError(() => signatureFromMlflow(value), SchemaError, message);
    expect(error.code).toBe("INVALID_PARAMETER_VALUE");
  });
});

describe("inferSignature", () => {
  it("infers column types and optional columns from the values", () => {
    const input = tableFromColumns({
      id: [1, 2, 3],
      score: [0.5, 1, 2],
      name: ["Ærø 🐧", "b", null],
      flag: [true, false, true],
      when: [new Date(0), null, new Date(1)],
      blob: [new Uint8Array([1]), new Uint8Array([2]), new Uint8Array([])],
      big: [10n, 2n ** 62n, 3n],
      empty: [null, null, null],
      nan: [1, Number.NaN, 2],
      huge: [1, 2 ** 60, 3],
    });
    expect(inferSignature(input).inputs).toEqual([
      { name: "id", type: "double", required: true },
      { name: "score", type: "double", required: true },
      { name: "name", type: "string", required: false },
      { name: "flag", type: "boolean", required: true },
      { name: "when", type: "datetime", required: false },
      { name: "blob", type: "binary", required: true },
      { name: "big", type: "long", required: true },
      { name: "empty", type: "string", required: false },
      { name: "nan", type: "double", required: false },
      { name: "huge", type: "double", required: true },
    ]);
  });

  it("types JS numbers double even when every one is whole: a whole-number sample must not refuse 97.5 later", () => {
    const input = tableFromColumns({ Displacement: [307, 350, 318], Cylinders: [8, 8, 8] });
    expect(inferSignature(input).inputs).toEqual([
      { name: "Displacement", type: "double", required: true },
      { name: "Cylinders", type: "double", required: true },
    ]);
  });

  it("takes integer and float widths from what the data declares: typed-array columns and Arrow fields", () => {
    const columns = { n: new Int32Array([1, 2]), big: new BigInt64Array([1n, 2n]), f: new Float32Array([0.5, Number.NaN]), x: [1, 2] };
    const declared = declaredColumnTypes(columns);
    expect(declared).toEqual({ n: "integer", big: "long", f: "float" });
    expect(inferSignature(asColumnTable(columns), undefined, undefined, { declared }).inputs).toEqual([
      { name: "n", type: "integer", required: true },
      { name: "big", type: "long", required: true },
      { name: "f", type: "float", required: false },
      { name: "x", type: "double", required: true },
    ]);
    const arrow = tableFromArrays({
      i8: Int8Array.from([1]),
      i64: BigInt64Array.from([5n]),
      u32: Uint32Array.from([7]),
      f64: Float64Array.from([1]),
      s: ["a"],
    });
    expect(declaredColumnTypes(arrow)).toEqual({ i8: "integer", i64: "long", u32: "long", f64: "double" });
    expect(inferSignature(asColumnTable(arrow), undefined, undefined, { declared: declaredColumnTypes(arrow) }).inputs?.map((c) => c.type)).toEqual([
      "integer",
      "long",
      "long",
      "double",
      "string",
    ]);
    expect(declaredColumnTypes([{ a: 1 }])).toEqual({});
  });

  it("gives a table with no rows string, optional columns (there is nothing to infer from)", () => {
    expect(inferSignature(tableFromColumns({ a: [] })).inputs).toEqual([{ name: "a", type: "string", required: false }]);
  });

  it.each([
    ["strings and numbers", { a: ["x", 1] }, 'Cannot infer a type for input column "a": row 0 holds "x" (a string) but row 1 holds 1'],
    ["booleans and numbers", { a: [true, 0] }, "row 0 holds true (a boolean) but row 1 holds 0"],
    ["objects", { a: [{ x: 1 }] }, 'Cannot infer a type for input column "a": row 0 holds {"x":1} (an object)'],
    ["lists", { a: [null, [1, 2]] }, "row 1 holds [1,2] (a list)"],
  ])("rejects a column of %s", (_, columns, message) => {
    expectError(() => inferSignature(tableFromColumns(columns)), SchemaError, message);
  });

  it.each([
    ["no output", undefined, null],
    [
      "a table",
      tableFromColumns({ species: ["Adelie"], p: [0.9] }),
      [
        { name: "species", type: "string", required: true },
        { name: "p", type: "double", required: true },
      ],
    ],
    [
      "row objects",
      [{ y: 1 }, { y: 2, z: "a" }],
      [
        { name: "y", type: "double", required: true },
        { name: "z", type: "string", required: false },
      ],
    ],
    ["a list of scalars", [0.5, 1.5], [{ type: "double", required: true }]],
    ["a Float32Array", new Float32Array([1, 2]), [{ type: "float", required: true }]],
    ["an Int32Array", new Int32Array([1, 2]), [{ type: "integer", required: true }]],
    [
      "an object of typed-array columns",
      { label: new Int32Array([1, 0]), p: new Float64Array([0.5, Number.NaN]) },
      [
        { name: "label", type: "integer", required: true },
        { name: "p", type: "double", required: false },
      ],
    ],
    ["a list of lists (no column schema)", [[1, 2]], null],
    ["a plain object (no column schema)", { a: 1 }, null],
  ])("infers outputs from %s", (_, output, expected) => {
    expect(inferSignature(tableFromColumns({ a: [1] }), output).outputs).toEqual(expected);
  });

  it("infers params from their values, which become the defaults", () => {
    const when = new Date(Date.UTC(2024, 0, 2));
    const sig = inferSignature(tableFromColumns({ a: [1] }), undefined, {
      threshold: 0.5,
      n: 3,
      name: "x",
      flag: true,
      when,
      ids: [1, 2],
      weights: [1, 2.5],
      tags: ["a"],
      seed: null,
    });
    expect(sig.params).toEqual([
      { name: "threshold", type: "double", default: 0.5, shape: null },
      { name: "n", type: "long", default: 3, shape: null },
      { name: "name", type: "string", default: "x", shape: null },
      { name: "flag", type: "boolean", default: true, shape: null },
      { name: "when", type: "datetime", default: when, shape: null },
      { name: "ids", type: "long", default: [1, 2], shape: [-1] },
      { name: "weights", type: "double", default: [1, 2.5], shape: [-1] },
      { name: "tags", type: "string", default: ["a"], shape: [-1] },
      { name: "seed", type: "string", default: null, shape: null },
    ]);
    expect(inferSignature(tableFromColumns({ a: [1] })).params).toBeNull();
  });

  it.each([
    ["a nested object", { opts: { depth: 3 } }, 'Cannot infer a type for param "opts": it holds {"depth":3} (an object)'],
    ["an empty list", { ids: [] }, 'Cannot infer the element type of param "ids" from an empty list'],
    ["a nested list", { m: [[1]] }, 'Cannot infer a type for param "m": it holds [1] (a list)'],
    ["a mixed list", { m: [1, "a"] }, "its list mixes long and string values"],
    ["bytes", { b: new Uint8Array([1]) }, 'Cannot infer a type for param "b": it holds 1 bytes'],
  ])("rejects a param holding %s", (_, params, message) => {
    expectError(() => inferSignature(tableFromColumns({ a: [1] }), undefined, params), SchemaError, message);
  });

  it("writes what it infers so that reading it back gives the same signature", () => {
    const input = tableFromColumns({ island: ["Biscoe", null], mass: [3750, 3800.5], male: [true, false] });
    const sig = inferSignature(input, [0.1, 0.2], { threshold: 1, when: new Date(Date.UTC(2020, 1, 29, 12)), ids: [1, 2] });
    const written = signatureToMlflow(sig);
    expect(written.inputs).toBe(
      '[{"type": "string", "name": "island", "required": false}, {"type": "double", "name": "mass", "required": true}, {"type": "boolean", "name": "male", "required": true}]',
    );
    expect(written.params).toBe(
      '[{"name": "threshold", "default": 1, "shape": null, "type": "long"}, {"name": "when", "default": "2020-02-29T12:00:00", "shape": null, "type": "datetime"}, {"name": "ids", "default": [1, 2], "shape": [-1], "type": "long"}]',
    );
    expect(signatureFromMlflow(written)).toEqual(sig);
  });
});
