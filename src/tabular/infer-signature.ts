/** Signatures inferred from example data, as the packager does after a training run. */
import type { DataType } from "apache-arrow";
import { arrowLib, isArrowTable } from "./arrow-lib.js";
import { isPlainObject } from "../util/index.js";
import { checkColumnTable, isColumnTable, isColumnsObject } from "./as-table.js";
import { int64FieldsOf } from "./arrow.js";
import { type Cell, type ColumnTable, setKey } from "./column-table.js";
import { fromDataFrame, isDataFrame, isSeries } from "./dataframe.js";
import { SchemaError } from "./errors.js";
import { showValue } from "./messages.js";
import { COLUMN_TYPES, type ColumnSpec, type ColumnType, PARAM_TYPES, type ParamSpec, type ParamType, type Signature } from "./signature.js";

/**
 * The type of one non-missing value, or undefined when no column type holds it. A JS number is a
 * double; `wholeNumbers: "long"` types whole ones `long` (params, whose YAML spelling says which).
 */
function typeOfValue(value: unknown, wholeNumbers: "long" | "double" = "double"): ColumnType | undefined {
  switch (typeof value) {
    case "number":
      return wholeNumbers === "long" && Number.isSafeInteger(value) ? "long" : "double";
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
 * Infers one column spec. NaN counts as a missing value (as pandas does). A column with no value
 * at all is `string` and optional. A typed array's element type is its column type.
 */
function inferColumnSpec(values: ArrayLike<Cell>, name: string | undefined, where: string): ColumnSpec {
  if (ArrayBuffer.isView(values)) {
    const typed = typedArrayType(values);
    if (typed !== undefined) return typedColumnSpec(values as ArrayLike<number | bigint>, typed, name);
  }
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
  const spec: ColumnSpec = type === undefined ? { type: "string", required: false } : { type, required };
  if (name !== undefined) spec.name = name;
  return spec;
}

/** The spec of a typed-array column: its element type; optional when a float array holds NaN. */
function typedColumnSpec(values: ArrayLike<number | bigint>, type: ColumnType, name: string | undefined): ColumnSpec {
  let required = true;
  if (type === "double" || type === "float") {
    for (let r = 0; r < values.length; r++) {
      if (Number.isNaN(values[r])) {
        required = false;
        break;
      }
    }
  }
  return name === undefined ? { type, required } : { type, required, name };
}

function typedArrayType(value: ArrayBufferView): ColumnType | undefined {
  if (value instanceof Float64Array) return "double";
  if (value instanceof Float32Array) return "float";
  if (value instanceof BigInt64Array || value instanceof BigUint64Array || value instanceof Uint32Array) return "long";
  if (value instanceof Int32Array || value instanceof Int16Array || value instanceof Int8Array) return "integer";
  if (value instanceof Uint16Array || value instanceof Uint8Array || value instanceof Uint8ClampedArray) return "integer";
  return undefined;
}

function inferTableSpecs(table: ColumnTable, part: string, declared: Readonly<Record<string, ColumnType>> = {}): ColumnSpec[] {
  return table.names.map((name, i) => {
    const spec = inferColumnSpec(table.columns[i] as Cell[], name, `${part} column "${name}"`);
    const type = Object.hasOwn(declared, name) ? declared[name] : undefined;
    return type === undefined ? spec : { ...spec, type };
  });
}

/**
 * Column types the data declares itself, beyond what its values say: integer and float widths of
 * typed-array columns (an object of `Int32Array`s…) and of Arrow fields (Int32 → `integer`,
 * Int64 → `long`, Float32 → `float`…). Plain JS numbers declare nothing: they are doubles.
 */
export function declaredColumnTypes(data: unknown): Record<string, ColumnType> {
  const declared: Record<string, ColumnType> = {};
  if (isArrowTable(data)) {
    for (const field of data.schema.fields) {
      const type = arrowColumnType(field.type as DataType);
      if (type !== undefined) declared[field.name] = type;
    }
  } else if (isColumnTable(data)) {
    // NB: a table read from Arrow or Parquet: its typed-array columns say their own types; its 64-bit integers are numbers.
    for (const [name, type] of Object.entries(int64FieldsOf(data))) setKey(declared, name, arrowColumnType(type) as ColumnType);
  } else if (isPlainObject(data)) {
    for (const [name, column] of Object.entries(data)) {
      if (!ArrayBuffer.isView(column)) continue;
      const type = typedArrayType(column);
      if (type !== undefined) declared[name] = type;
    }
  }
  return declared;
}

function arrowColumnType(type: DataType): ColumnType | undefined {
  const { DataType, Precision } = arrowLib();
  if (DataType.isInt(type)) return type.bitWidth < 32 || (type.bitWidth === 32 && type.isSigned) ? "integer" : "long";
  if (DataType.isFloat(type)) return type.precision === Precision.DOUBLE ? "double" : "float";
  return undefined;
}

/** A row object of a list of rows: a mapping, not a value a column holds (a date, bytes). */
function isRowObject(value: unknown): value is Record<string, unknown> {
  return isPlainObject(value) && !ArrayBuffer.isView(value) && !(value instanceof Date);
}

/** Output specs from whatever the pipeline returned, or null when its shape has no column schema. */
function inferOutputSpecs(output: unknown): ColumnSpec[] | null {
  if (output === undefined || output === null) return null;
  if (isColumnTable(output)) return inferTableSpecs(checkColumnTable(output, "The inference pipeline's output"), "output");
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
      const t = Array.isArray(element) ? undefined : typeOfValue(element, "long");
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
  const type = typeOfValue(value, "long");
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
 * Column types from the values: JS numbers → `double`, whole or not (JavaScript has no integer
 * type, and a column typed `long` because its sample held whole numbers would refuse 97.5 later),
 * strings → `string`, booleans → `boolean`, `Date` → `datetime`, `Uint8Array` → `binary`, bigint →
 * `long`; typed-array columns by their element type (`Int32Array` → `integer`, `Float32Array` →
 * `float`…), and `options.declared` (see `declaredColumnTypes`) for the input's columns. A column
 * with any `null` (or NaN) is `required: false`. A column with no value at all (all null, or no
 * rows) is `string`, optional: pass an example with values to get a better type.
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
export function inferSignature(
  input: ColumnTable,
  output?: ColumnTable | unknown,
  params?: Record<string, unknown>,
  options: { declared?: Readonly<Record<string, ColumnType>> } = {},
): Signature {
  const paramSpecs = params === undefined ? [] : Object.keys(params).map((name) => inferParamSpec(name, params[name]));
  return {
    inputs: inferTableSpecs(input, "input", options.declared),
    outputs: inferOutputSpecs(output),
    params: paramSpecs.length > 0 ? paramSpecs : null,
  };
}
