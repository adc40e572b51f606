import { ERROR_CODES } from "../errors/index.js";
import type { ColumnSpec, ColumnType, ParamSpec, Signature } from "../tabular/index.js";

/** A JSON Schema (2020-12, OpenAPI 3.1's dialect) as a plain object. */
export type JsonSchema = Record<string, unknown>;

const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;
const FLOAT32_MAX = 3.4028234663852886e38;

/**
 * The JSON Schema of one value of each MLflow type, as the signature enforcement accepts it over
 * JSON: `integer` within int32, `long` within the integers a JSON number keeps exactly, `float`
 * within float32, `binary` as base64 text, `datetime` as ISO-8601 text.
 */
const TYPE_SCHEMAS: Readonly<Record<ColumnType, JsonSchema>> = {
  boolean: { type: "boolean" },
  integer: { type: "integer", format: "int32", minimum: INT32_MIN, maximum: INT32_MAX },
  long: { type: "integer", format: "int64", minimum: Number.MIN_SAFE_INTEGER, maximum: Number.MAX_SAFE_INTEGER },
  float: { type: "number", format: "float", minimum: -FLOAT32_MAX, maximum: FLOAT32_MAX },
  double: { type: "number", format: "double" },
  string: { type: "string" },
  binary: { type: "string", contentEncoding: "base64", description: "bytes, base64-encoded" },
  datetime: {
    type: "string",
    format: "date-time",
    description: 'an ISO-8601 date-time; a date alone ("2021-01-01") or a time without an offset (read as UTC) is accepted too',
  },
};

/** The schema of one value of `type`; `nullable` adds `null` (a missing value). */
export function typeSchema(type: ColumnType, nullable: boolean): JsonSchema {
  const schema = { ...TYPE_SCHEMAS[type] };
  if (nullable) schema["type"] = [schema["type"], "null"];
  return schema;
}

/** A column's value: its type, `null` allowed only when the column is optional. */
export function columnSchema(spec: ColumnSpec): JsonSchema {
  return { ...typeSchema(spec.type, !spec.required), ...(spec.name !== undefined ? { title: spec.name } : {}) };
}

/** A column's name in a request; an unnamed (positional) column goes by its position. */
export function columnName(spec: ColumnSpec, i: number): string {
  return spec.name ?? String(i);
}

/** Whether the signature names its input columns (an unnamed one checks only count and position). */
function named(inputs: readonly ColumnSpec[]): boolean {
  return inputs.every((c) => c.name !== undefined);
}

/** An object of one property per column, `each` giving the property's schema; optional columns may be left out, extra ones are dropped. */
function columnsObject(inputs: readonly ColumnSpec[], each: (spec: ColumnSpec) => JsonSchema): JsonSchema {
  const properties = Object.fromEntries(inputs.map((c, i) => [columnName(c, i), each(c)]));
  const required = inputs.flatMap((c, i) => (c.required ? [columnName(c, i)] : []));
  return { type: "object", properties, ...(required.length > 0 ? { required } : {}), description: "Extra columns are dropped." };
}

/** One row as an object (`dataframe_records`, `instances`). */
function rowObject(inputs: readonly ColumnSpec[] | null): JsonSchema {
  if (!inputs || !named(inputs)) return { type: "object", description: "One row: column name → value." };
  return columnsObject(inputs, columnSchema);
}

/** `dataframe_split`: `columns`, row arrays in `data`, an optional `index`. */
export function dataframeSplitSchema(inputs: readonly ColumnSpec[] | null): JsonSchema {
  const row: JsonSchema = inputs
    ? {
        type: "array",
        prefixItems: inputs.map(columnSchema),
        description: "One row: its values in the order `columns` names them (the signature's order shown).",
      }
    : { type: "array", description: "One row: its values in the order `columns` names them." };
  const names = inputs && named(inputs) ? { items: { type: "string", enum: inputs.map(columnName) }, uniqueItems: true } : { items: { type: "string" } };
  return {
    type: "object",
    properties: {
      columns: { type: "array", ...names },
      data: { type: "array", items: row },
      index: { type: "array", description: "Row labels: ignored, but their count must equal the number of rows." },
    },
    required: ["data"],
    additionalProperties: false,
  };
}

/** `dataframe_records`: a list of row objects; a key missing from a row is a missing value. */
export function dataframeRecordsSchema(inputs: readonly ColumnSpec[] | null): JsonSchema {
  return { type: "array", items: rowObject(inputs) };
}

/** `inputs`: columns of values, one row of scalars, a list of row objects, or (one column) a bare list or value. */
export function inputsSchema(inputs: readonly ColumnSpec[] | null): JsonSchema {
  if (!inputs || !named(inputs)) return { description: "Columns (name → list of values), one row (name → value), a list of row objects, or a bare list." };
  const forms: JsonSchema[] = [
    { ...columnsObject(inputs, (c) => ({ type: "array", items: columnSchema(c) })), title: "columns", description: "Column name → its values, one per row." },
    { ...columnsObject(inputs, columnSchema), title: "one row", description: "Column name → the value of a single row." },
    { ...dataframeRecordsSchema(inputs), title: "rows" },
  ];
  const only = inputs.length === 1 ? (inputs[0] as ColumnSpec) : undefined;
  if (only) forms.push({ type: "array", items: columnSchema(only), title: "bare list" }, { ...columnSchema(only), title: "bare value" });
  return { anyOf: forms };
}

/** `instances`: a list of row objects, or any form `inputs` takes. */
export function instancesSchema(inputs: readonly ColumnSpec[] | null): JsonSchema {
  return { anyOf: [dataframeRecordsSchema(inputs), inputsSchema(inputs)] };
}

/** A param default as JSON (a `Date` as ISO text). */
export function jsonDefault(value: unknown): unknown {
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map(jsonDefault);
  return value;
}

/** One param: its type (and a 1-D list for `shape: [-1]`), its default; `runner` names the allowed runners. */
export function paramSchema(spec: ParamSpec, runnerNames: readonly string[]): JsonSchema {
  const scalar = spec.name === "runner" && spec.type === "string" ? { type: ["string", "null"], enum: [...runnerNames, null] } : typeSchema(spec.type, true);
  const schema: JsonSchema = spec.shape ? { type: ["array", "null"], items: scalar } : { ...scalar };
  if (spec.default !== null && spec.default !== undefined) schema["default"] = jsonDefault(spec.default);
  schema["description"] =
    spec.name === "runner" ? "The runner for this request." : `${spec.type}${spec.shape ? " list" : ""} param; left out or null: the default.`;
  return schema;
}

/** The `params` object: every declared param, unknown keys ignored (and named in X-Pipeserve-Ignored-Params). */
export function paramsSchema(signature: Signature | null, runnerNames: readonly string[]): JsonSchema {
  const params = signature?.params;
  if (!params || params.length === 0) return { type: ["object", "null"], description: "The model declares no params: any given are ignored." };
  return {
    type: ["object", "null"],
    properties: Object.fromEntries(params.map((p) => [p.name, paramSchema(p, runnerNames)])),
    description: "Runtime params; each one left out gets its default. Unknown keys are ignored and named in X-Pipeserve-Ignored-Params.",
  };
}

/** An `/invocations` JSON body: exactly one of the four MLflow forms, and `params`. */
export function invocationsBodySchema(signature: Signature | null): JsonSchema {
  const inputs = signature?.inputs ?? null;
  const forms: [string, JsonSchema][] = [
    ["dataframe_split", dataframeSplitSchema(inputs)],
    ["dataframe_records", dataframeRecordsSchema(inputs)],
    ["instances", instancesSchema(inputs)],
    ["inputs", inputsSchema(inputs)],
  ];
  const params = { $ref: "#/components/schemas/Params" };
  return {
    oneOf: forms.map(([key, schema]) => ({ type: "object", title: key, properties: { [key]: schema, params }, required: [key] })),
    description: "Exactly one of dataframe_split, dataframe_records, instances, inputs; and optionally params.",
  };
}

/** `{"predictions": ...}`: rows of the output signature's columns, or anything when the model declares none. */
export function predictionsSchema(outputs: readonly ColumnSpec[] | null): JsonSchema {
  // NB: every output column may be null: NaN and ±Infinity are written as null.
  const row: JsonSchema | undefined = outputs
    ? { type: "object", properties: Object.fromEntries(outputs.map((c, i) => [columnName(c, i), typeSchema(c.type, true)])) }
    : undefined;
  const predictions: JsonSchema = row
    ? { type: "array", items: row, description: "One object per row, in the output signature's column order." }
    : { description: "The pipeline's output: a table as row objects, a list as nested lists, anything else as is." };
  return { type: "object", properties: { predictions }, required: ["predictions"] };
}

/** The MLflow error body, `error_code` one of every code a reply may carry. */
export function errorBodySchema(): JsonSchema {
  return {
    type: "object",
    properties: {
      error_code: { type: "string", enum: [...ERROR_CODES.http] },
      message: { type: "string" },
      stack_trace: { type: "string", description: "Only when the server runs with --debug." },
    },
    required: ["error_code", "message"],
  };
}
