import { z } from "zod";
import { isPlainObject } from "../util/index.js";
import { formatIsoDateTimePython } from "./cell-codecs.js";
import type { Cell, ColumnTable } from "./column-table.js";
import { fromDataFrame, isDataFrame, isSeries } from "./dataframe.js";
import { checkParamValue } from "./enforce.js";
import { SchemaError } from "./errors.js";
import { isColumnTable, isColumnsObject } from "./as-table.js";
import { showValue } from "./messages.js";

/** MLflow's column types, in MLflow's order. */
export const COLUMN_TYPES = ["boolean", "integer", "long", "float", "double", "string", "binary", "datetime"] as const;

/** An MLflow column type: `integer` is int32, `long` int64, `float` float32, `double` float64. */
export type ColumnType = (typeof COLUMN_TYPES)[number];

/** The types a param may have: every column type but `binary`. */
export const PARAM_TYPES = ["boolean", "integer", "long", "float", "double", "string", "datetime"] as const;

/** An MLflow param type. */
export type ParamType = (typeof PARAM_TYPES)[number];

/** One input or output column. Without `name` the column is positional (an unnamed schema). */
export interface ColumnSpec {
  name?: string;
  type: ColumnType;
  required: boolean;
}

/**
 * One runtime param. `default` holds the value the pipeline gets when a request leaves the param
 * out (`Date`s for `datetime`, a list for `shape: [-1]`, or `null`).
 */
export interface ParamSpec {
  name: string;
  type: ParamType;
  default: unknown;
  shape: null | [-1];
}

/** A model signature: input columns, output columns and params; each part may be absent (`null`). */
export interface Signature {
  inputs: ColumnSpec[] | null;
  outputs: ColumnSpec[] | null;
  params: ParamSpec[] | null;
}

/** A signature as `MLmodel` stores it: each part a JSON string written by Python's `json.dumps`, or null. */
export interface MlflowSignature {
  inputs: string | null;
  outputs: string | null;
  params: string | null;
}

const ColumnSpecJson = z.looseObject({
  type: z.string(),
  name: z.string().optional(),
  required: z.boolean().optional(),
});

const ParamSpecJson = z.looseObject({
  name: z.string(),
  type: z.string(),
  default: z.unknown(),
  shape: z.unknown(),
});

const MlflowSignatureJson = z.looseObject({
  inputs: z.string().nullish(),
  outputs: z.string().nullish(),
  params: z.string().nullish(),
});

const isColumnType = (type: string): type is ColumnType => (COLUMN_TYPES as readonly string[]).includes(type);
const isParamType = (type: string): type is ParamType => (PARAM_TYPES as readonly string[]).includes(type);

// ---------------------------------------------------------------------------------------------
// Writing: Python json.dumps, byte for byte
// ---------------------------------------------------------------------------------------------

const NON_ASCII = /[\u007f-\uffff]/g;

/** A JSON string literal as Python's `json.dumps` writes it (`ensure_ascii`: non-ASCII as `\uXXXX`). */
function pyJsonString(text: string): string {
  return JSON.stringify(text).replace(NON_ASCII, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/**
 * Python's `repr(float)`: the shortest round-tripping digits (as JS), but fixed notation only for
 * exponents -4 to 15, a `.0` on whole numbers, and two-digit exponents (`1e-05`, `1e+16`).
 */
function pyFloatRepr(value: number): string {
  if (Object.is(value, -0)) return "-0.0";
  const [mantissa = "", exponentText = "0"] = value.toExponential().split("e");
  const exponent = Number(exponentText);
  const sign = mantissa.startsWith("-") ? "-" : "";
  const digits = mantissa.replace("-", "").replace(".", "");
  if (exponent >= -4 && exponent <= 15) {
    if (exponent < 0) return `${sign}0.${"0".repeat(-exponent - 1)}${digits}`;
    const whole = digits.slice(0, exponent + 1).padEnd(exponent + 1, "0");
    const fraction = digits.slice(exponent + 1);
    return `${sign}${whole}.${fraction === "" ? "0" : fraction}`;
  }
  const head = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
  const exp = Math.abs(exponent).toString().padStart(2, "0");
  return `${sign}${head}e${exponent < 0 ? "-" : "+"}${exp}`;
}

/** One param value as `json.dumps` writes it, given the param's type (floats keep their `.0`). */
function pyJsonValue(value: unknown, type: ParamType, where: string): string {
  if (value === null || value === undefined) return "null";
  if (Array.isArray(value)) return `[${value.map((v) => pyJsonValue(v, type, where)).join(", ")}]`;
  switch (typeof value) {
    case "string":
      return pyJsonString(value);
    case "boolean":
      return value ? "true" : "false";
    case "bigint":
      return value.toString();
    case "number":
      if (!Number.isFinite(value)) {
        throw new SchemaError(`${where} has the default ${value}, which JSON cannot carry. Use a finite number or null.`);
      }
      if (type === "float" || type === "double") return pyFloatRepr(value);
      return Number.isSafeInteger(value) ? String(value) : BigInt(value).toString();
    default:
      if (value instanceof Date) return pyJsonString(formatIsoDateTimePython(value));
      throw new SchemaError(`${where} has the default ${showValue(value)}, which a param cannot hold. Use a ${type} value.`);
  }
}

function columnSpecToJson(spec: ColumnSpec): string {
  const name = spec.name === undefined ? "" : `, "name": ${pyJsonString(spec.name)}`;
  return `{"type": ${pyJsonString(spec.type)}${name}, "required": ${spec.required ? "true" : "false"}}`;
}

function paramSpecToJson(spec: ParamSpec): string {
  const where = `Param "${spec.name}"`;
  const check = checkParamValue(spec.type, spec.shape, spec.default);
  if (!check.ok) throw new SchemaError(`${where} has an invalid default: ${check.reason}. Fix the default or the param's type.`);
  const shape = spec.shape === null ? "null" : "[-1]";
  return `{"name": ${pyJsonString(spec.name)}, "default": ${pyJsonValue(spec.default, spec.type, where)}, "shape": ${shape}, "type": ${pyJsonString(spec.type)}}`;
}

/**
 * The signature as `MLmodel` stores it, byte for byte what MLflow writes: JSON strings with
 * Python's `json.dumps` spacing (`", "`, `": "`) and `ensure_ascii` escapes; column specs keyed
 * `type`, `name`, `required` (no `name` when unnamed); param specs keyed `name`, `default`,
 * `shape`, `type`. Defaults of `float`/`double` params are written as Python floats (`1.0`, not
 * `1`), those of `datetime` params as Python's `isoformat()` of the UTC time
 * (`"2023-06-26T00:00:00"`). Empty or null parts are written as `null`.
 *
 * @throws SchemaError for a param default that does not fit its type, or that JSON cannot carry (NaN).
 */
export function signatureToMlflow(signature: Signature): MlflowSignature {
  const columns = (specs: ColumnSpec[] | null): string | null => (specs && specs.length > 0 ? `[${specs.map(columnSpecToJson).join(", ")}]` : null);
  return {
    inputs: columns(signature.inputs),
    outputs: columns(signature.outputs),
    params: signature.params && signature.params.length > 0 ? `[${signature.params.map(paramSpecToJson).join(", ")}]` : null,
  };
}

// ---------------------------------------------------------------------------------------------
// Reading
// ---------------------------------------------------------------------------------------------

function parseJsonPart(text: string, part: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (cause) {
    throw new SchemaError(`signature.${part} is not valid JSON (${(cause as Error).message}). It must be the JSON string MLflow writes.`, {
      cause,
    });
  }
}

function zodProblem(error: z.ZodError): string {
  return z.prettifyError(error).replace(/\n/g, " ");
}

function parseColumnSpecs(text: string, part: "inputs" | "outputs"): ColumnSpec[] {
  const parsed = z.array(ColumnSpecJson).safeParse(parseJsonPart(text, part));
  if (!parsed.success) {
    throw new SchemaError(`signature.${part} is not a list of column specs like {"type": "long", "name": "a", "required": true}: ${zodProblem(parsed.error)}`);
  }
  const specs = parsed.data.map((raw, i): ColumnSpec => {
    const where = `signature.${part}[${i}]${raw.name === undefined ? "" : ` ("${raw.name}")`}`;
    if (raw.type === "tensor") {
      throw new SchemaError(
        `${where} is a tensor spec. pipeserve signatures are column-based: declare one column per input, typed ${COLUMN_TYPES.join(", ")}.`,
      );
    }
    if (!isColumnType(raw.type)) {
      throw new SchemaError(`${where} has the unknown type "${raw.type}". Use one of: ${COLUMN_TYPES.join(", ")}.`);
    }
    const spec: ColumnSpec = { type: raw.type, required: raw.required ?? true };
    if (raw.name !== undefined) spec.name = raw.name;
    return spec;
  });
  const named = specs.filter((s) => s.name !== undefined).length;
  if (named !== 0 && named !== specs.length) {
    throw new SchemaError(`signature.${part} mixes named and unnamed columns. Name every column, or none (a positional schema).`);
  }
  const seen = new Set<string>();
  for (const spec of specs) {
    if (spec.name === undefined) continue;
    if (seen.has(spec.name)) throw new SchemaError(`signature.${part} declares the column "${spec.name}" twice. Column names must be unique.`);
    seen.add(spec.name);
  }
  return specs;
}

function parseParamSpecs(text: string): ParamSpec[] {
  const parsed = z.array(ParamSpecJson).safeParse(parseJsonPart(text, "params"));
  if (!parsed.success) {
    throw new SchemaError(
      `signature.params is not a list of param specs like {"name": "threshold", "default": 0.5, "shape": null, "type": "double"}: ${zodProblem(parsed.error)}`,
    );
  }
  const seen = new Set<string>();
  return parsed.data.map((raw): ParamSpec => {
    const where = `signature.params "${raw.name}"`;
    if (seen.has(raw.name)) throw new SchemaError(`${where} is declared twice. Param names must be unique.`);
    seen.add(raw.name);
    if (!isParamType(raw.type)) {
      const note = raw.type === "binary" ? " (binary is not a param type)" : "";
      throw new SchemaError(`${where} has the unknown type "${raw.type}"${note}. Use one of: ${PARAM_TYPES.join(", ")}.`);
    }
    let shape: null | [-1];
    if (raw.shape === null || raw.shape === undefined) shape = null;
    else if (Array.isArray(raw.shape) && raw.shape.length === 1 && raw.shape[0] === -1) shape = [-1];
    else throw new SchemaError(`${where} has the shape ${JSON.stringify(raw.shape)}. Use null (a single value) or [-1] (a list).`);
    const check = checkParamValue(raw.type, shape, raw.default ?? null);
    if (!check.ok) throw new SchemaError(`${where} has an invalid default: ${check.reason}. Fix the default in the signature.`);
    return { name: raw.name, type: raw.type, default: check.value, shape };
  });
}

/**
 * Reads the `signature` mapping of an `MLmodel` (`{inputs, outputs, params}`, each a JSON string
 * or null; a missing part is null). Defaults are checked against their params' types and
 * converted as a request value would be (`datetime` defaults become `Date`s).
 *
 * @throws SchemaError naming the part and the fix for invalid JSON, a wrong shape, an unknown
 *   type (tensor specs; `binary` params), mixed named/unnamed columns, duplicate names, a bad
 *   shape or a default that does not fit its type.
 */
export function signatureFromMlflow(value: unknown): Signature {
  const parsed = MlflowSignatureJson.safeParse(value);
  if (!parsed.success) {
    throw new SchemaError(
      `The MLmodel signature must be a mapping {inputs, outputs, params} of JSON strings (or null), as MLflow writes it: ${zodProblem(parsed.error)}`,
    );
  }
  const { inputs, outputs, params } = parsed.data;
  return {
    inputs: inputs === null || inputs === undefined ? null : parseColumnSpecs(inputs, "inputs"),
    outputs: outputs === null || outputs === undefined ? null : parseColumnSpecs(outputs, "outputs"),
    params: params === null || params === undefined ? null : parseParamSpecs(params),
  };
}

// ---------------------------------------------------------------------------------------------
// Inference
// ---------------------------------------------------------------------------------------------

/** The column type of one non-missing value, or undefined when no column type holds it. */
function typeOfValue(value: unknown): ColumnType | undefined {
  switch (typeof value) {
    case "number":
      return Number.isSafeInteger(value) ? "long" : "double";
    case "bigint":
      return "long";
    case "string":
      return "string";
    case "boolean":
      return "boolean";
    default:
      if (value instanceof Date) return "datetime";
      if (value instanceof Uint8Array) return "binary";
      return undefined;
  }
}

const NUMERIC: ReadonlySet<ColumnType> = new Set(["integer", "long", "float", "double"]);

/** The type that holds two numeric types (`long` + `double` → `double`). */
function widen(a: ColumnType, b: ColumnType): ColumnType {
  if (a === b) return a;
  const order: ColumnType[] = ["integer", "long", "float", "double"];
  return order.indexOf(a) > order.indexOf(b) ? a : b;
}

/**
 * Infers one column spec. NaN counts as a missing value (as pandas does) and makes the column
 * `double`. A column with no value at all is `string` and optional.
 */
function inferColumnSpec(values: ArrayLike<Cell>, name: string | undefined, where: string): ColumnSpec {
  let type: ColumnType | undefined;
  let firstRow = -1;
  let required = true;
  for (let r = 0; r < values.length; r++) {
    const value = values[r];
    if (value === null || value === undefined) {
      required = false;
      continue;
    }
    if (typeof value === "number" && Number.isNaN(value)) required = false;
    const t = typeOfValue(value);
    if (t === undefined) {
      throw new SchemaError(`Cannot infer a type for ${where}: row ${r} holds ${showValue(value)}. Columns hold ${COLUMN_TYPES.join(", ")} values.`);
    }
    if (type === undefined) {
      type = t;
      firstRow = r;
    } else if (t !== type) {
      if (!NUMERIC.has(t) || !NUMERIC.has(type)) {
        throw new SchemaError(
          `Cannot infer a type for ${where}: row ${firstRow} holds ${showValue(values[firstRow])} but row ${r} holds ${showValue(value)}. Make the column hold one type.`,
        );
      }
      type = widen(type, t);
    }
  }
  // NB: whole numbers with gaps are `double`, as pandas (and so MLflow) types an int column with NaN;
  // a client may then send 181.5 where training only saw 181.
  if (!required && (type === "long" || type === "integer")) type = "double";
  const spec: ColumnSpec = type === undefined ? { type: "string", required: false } : { type, required };
  if (name !== undefined) spec.name = name;
  return spec;
}

function typedArrayType(value: ArrayBufferView): ColumnType | undefined {
  if (value instanceof Float64Array) return "double";
  if (value instanceof Float32Array) return "float";
  if (value instanceof BigInt64Array || value instanceof BigUint64Array || value instanceof Uint32Array) return "long";
  if (value instanceof Int32Array || value instanceof Int16Array || value instanceof Int8Array) return "integer";
  if (value instanceof Uint16Array || value instanceof Uint8Array || value instanceof Uint8ClampedArray) return "integer";
  return undefined;
}

function inferTableSpecs(table: ColumnTable, part: string): ColumnSpec[] {
  return table.names.map((name, i) => inferColumnSpec(table.columns[i] as Cell[], name, `${part} column "${name}"`));
}

/** A row object of a list of rows: a mapping, not a value a column holds (a date, bytes). */
function isRowObject(value: unknown): value is Record<string, unknown> {
  return isPlainObject(value) && !ArrayBuffer.isView(value) && !(value instanceof Date);
}

/** Output specs from whatever the pipeline returned, or null when its shape has no column schema. */
function inferOutputSpecs(output: unknown): ColumnSpec[] | null {
  if (output === undefined || output === null) return null;
  if (isColumnTable(output)) return inferTableSpecs(output, "output");
  if (isDataFrame(output)) return inferTableSpecs(fromDataFrame(output), "output");
  if (isColumnsObject(output)) return Object.keys(output).map((name) => inferColumnSpec(output[name] as ArrayLike<Cell>, name, `output column "${name}"`));
  if (isSeries(output)) {
    const values = output.values as Cell[];
    return [inferColumnSpec(values, undefined, "the output series")];
  }
  if (ArrayBuffer.isView(output) && !(output instanceof DataView)) {
    const type = typedArrayType(output);
    return type === undefined ? null : [{ type, required: true }];
  }
  if (Array.isArray(output)) {
    if (output.length > 0 && output.every(isRowObject)) {
      const names: string[] = [];
      const seen = new Set<string>();
      for (const row of output as Record<string, unknown>[]) {
        for (const key of Object.keys(row)) {
          if (seen.has(key)) continue;
          seen.add(key);
          names.push(key);
        }
      }
      return names.map((name) =>
        inferColumnSpec(
          output.map((row: Record<string, Cell>) => row[name] ?? null),
          name,
          `output column "${name}"`,
        ),
      );
    }
    if (output.some((v) => typeof v === "object" && v !== null && !(v instanceof Date) && !(v instanceof Uint8Array))) return null;
    return [inferColumnSpec(output as Cell[], undefined, "the output list")];
  }
  return null;
}

function inferParamSpec(name: string, value: unknown): ParamSpec {
  const where = `param "${name}"`;
  if (value === null || value === undefined) return { name, type: "string", default: null, shape: null };
  if (Array.isArray(value)) {
    if (value.length === 0) {
      throw new SchemaError(
        `Cannot infer the element type of ${where} from an empty list. Give it at least one element, or declare the params schema by hand.`,
      );
    }
    let type: ParamType | undefined;
    for (const element of value) {
      const t = Array.isArray(element) ? undefined : typeOfValue(element);
      if (t === undefined || t === "binary") {
        throw new SchemaError(`Cannot infer a type for ${where}: it holds ${showValue(element)}. Params are scalars or 1-D lists of scalars.`);
      }
      if (type !== undefined && t !== type && !(NUMERIC.has(t) && NUMERIC.has(type))) {
        throw new SchemaError(`Cannot infer a type for ${where}: its list mixes ${type} and ${t} values. Make every element one type.`);
      }
      type = type === undefined ? t : (widen(type, t) as ParamType);
    }
    return { name, type: type as ParamType, default: value, shape: [-1] };
  }
  const type = typeOfValue(value);
  if (type === undefined || type === "binary") {
    throw new SchemaError(
      `Cannot infer a type for ${where}: it holds ${showValue(value)}. Params are scalars (${PARAM_TYPES.join(", ")}) or 1-D lists of them; split nested params into separate keys.`,
    );
  }
  return { name, type, default: value, shape: null };
}

/**
 * Infers a signature from example data, as the packager does after a training run.
 *
 * Column types from the values: whole JS numbers (safe integers) → `long`, other numbers →
 * `double` (a column mixing both is `double`), strings → `string`, booleans → `boolean`, `Date` →
 * `datetime`, `Uint8Array` → `binary`, bigint → `long`. A column with any `null` (or NaN) is
 * `required: false`. A column with no value at all (all null, or no rows) is `string`, optional:
 * pass an example with values to get a better type.
 *
 * `output` may be a `ColumnTable`, a danfojs DataFrame or Series, a typed array, a list of row
 * objects or a list of scalars (one unnamed column); anything else gives `outputs: null`.
 *
 * Params from their values, which become the defaults: whole numbers → `long`, other numbers →
 * `double`, strings, booleans, `Date` → `datetime`; lists → `shape: [-1]` with the elements' type;
 * `null` → a `string` param defaulting to `null`.
 *
 * @throws SchemaError for a column mixing types (other than numbers), a value no column type
 *   holds (objects, lists), and params that are objects, nested or empty lists, or bytes.
 */
export function inferSignature(input: ColumnTable, output?: ColumnTable | unknown, params?: Record<string, unknown>): Signature {
  const paramSpecs = params === undefined ? [] : Object.keys(params).map((name) => inferParamSpec(name, params[name]));
  return {
    inputs: inferTableSpecs(input, "input"),
    outputs: inferOutputSpecs(output),
    params: paramSpecs.length > 0 ? paramSpecs : null,
  };
}
