import { decodeBase64, hasSubMillisecondFraction, parseIsoDateTime } from "./cell-codecs.js";
import { parseNumberText } from "./csv.js";
import type { Cell, ColumnTable } from "./column-table.js";
import { FormatError, SchemaError } from "./errors.js";
import { pyList, pythonTypeName, showValue } from "./messages.js";
import type { ColumnSpec, ColumnType, ParamSpec, ParamType } from "./signature.js";

/** What `enforceSchema` hands back: the table in signature order, and the input columns it left out. */
export interface EnforcedTable {
  table: ColumnTable;
  droppedColumns: string[];
}

/** Options of `enforceSchema`. */
export interface EnforceOptions {
  /**
   * The cells are text (a CSV body parsed with `parseCsv(text, { raw: true })`): strings are
   * parsed for `integer`/`long`/`float`/`double` columns (decimal numbers, `nan`, `inf`) and
   * `boolean` columns (`true`/`false`, any case). Without it a string in such a column is refused,
   * as a JSON string is.
   */
  fromText?: boolean;
  /** Added to row numbers in error messages (a chunk's first row in a larger input). */
  rowOffset?: number;
}

/** What `enforceParams` hands back: every declared param (defaults filled), and the unknown keys it ignored. */
export interface EnforcedParams {
  params: Record<string, unknown>;
  ignored: string[];
}

const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;
const FLOAT32_MAX = 3.4028234663852886e38;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const SAFE_MIN = BigInt(Number.MIN_SAFE_INTEGER);
const SAFE_MAX = BigInt(Number.MAX_SAFE_INTEGER);
/** Every integer of magnitude up to 2^53 is exact in a double. */
const EXACT_IN_DOUBLE = 2n ** 53n;

/** numpy's name for each type, as MLflow's conversion errors print it. */
const NUMPY_DTYPES: Readonly<Record<ColumnType, string>> = {
  boolean: "bool",
  integer: "int32",
  long: "int64",
  float: "float32",
  double: "float64",
  string: "str",
  binary: "bytes",
  datetime: "datetime64[ns]",
};

/** What each type accepts, in words. */
const EXPECTED: Readonly<Record<ColumnType, string>> = {
  boolean: "true or false",
  integer: `a whole number from ${INT32_MIN} to ${INT32_MAX}`,
  long: `a whole number from ${Number.MIN_SAFE_INTEGER} to ${Number.MAX_SAFE_INTEGER} (the integers a JSON number keeps exactly)`,
  float: "a number",
  double: "a number",
  string: "a string",
  binary: "base64-encoded bytes",
  datetime: 'an ISO-8601 date-time such as "2021-01-01T00:00:00" or "2021-01-01"',
};

/** How to send each type right. */
const FIX: Readonly<Record<ColumnType, string>> = {
  boolean: "Send JSON true or false, without quotes.",
  integer: "Send JSON numbers, without quotes.",
  long: "Send JSON numbers, without quotes.",
  float: "Send JSON numbers, without quotes.",
  double: "Send JSON numbers, without quotes.",
  string: 'Send JSON strings (quoted), e.g. "95120".',
  binary: "Send the bytes base64-encoded.",
  datetime: 'Send ISO-8601 text such as "2021-01-01T00:00:00" or "2021-01-01".',
};

/*
 * Two kinds of refusal, mirroring MLflow's two stages:
 * - a value MLflow cannot convert either (a string into a number column, null in a required
 *   column, text that is no date or base64, an object) → FormatError, code BAD_REQUEST, worded as
 *   MLflow's "Failed to convert column a to type 'int64'" (the conformance cases pin the code);
 * - a value MLflow would silently mangle (1.7 truncated into a long, "false" read as true, a number
 *   passed into a string column, an int64 beyond 2^53) → SchemaError, INVALID_PARAMETER_VALUE.
 */
function conversionError(column: string, type: ColumnType, row: number, value: unknown, why: string, fix: string): FormatError {
  return new FormatError(
    `Data is not compatible with model signature. Failed to convert column ${column} to type '${NUMPY_DTYPES[type]}' (${type}): ` +
      `row ${row} holds ${showValue(value)}${why}. ${fix}`,
    { data: { column, row, expected: type, received: value } },
  );
}

function missingValueError(column: string, type: ColumnType, row: number, value: unknown): FormatError {
  return conversionError(
    column,
    type,
    row,
    value,
    ", but the column is required",
    `Send a value in every row, or declare column ${column} optional ("required": false) in the signature.`,
  );
}

function wrongKindError(column: string, type: ColumnType, row: number, value: unknown): FormatError {
  return conversionError(column, type, row, value, `; expected ${EXPECTED[type]}`, FIX[type]);
}

function incompatibleError(column: string, type: ColumnType, row: number, value: unknown, why: string, fix: string): SchemaError {
  return new SchemaError(
    `Incompatible input types for column ${column}: row ${row} holds ${showValue(value)}, ${why}; ` +
      `column ${column} is ${type} (${NUMPY_DTYPES[type]}), which takes ${EXPECTED[type]}. ${fix}`,
    { data: { column, row, expected: type, received: value } },
  );
}

function ambiguousError(column: string, type: ColumnType, row: number, value: unknown): SchemaError {
  return incompatibleError(column, type, row, value, "which pipeserve does not reinterpret", FIX[type]);
}

function integerError(column: string, type: "integer" | "long", row: number, value: number | bigint): SchemaError {
  if (typeof value === "number" && !Number.isInteger(value)) {
    return incompatibleError(
      column,
      type,
      row,
      value,
      "which is not a whole number",
      "pipeserve does not truncate: round the value before sending it, or declare the column double.",
    );
  }
  if (type === "integer") {
    return incompatibleError(column, type, row, value, "which is out of the int32 range", "Declare the column long, or send smaller values.");
  }
  return incompatibleError(
    column,
    type,
    row,
    value,
    "which is beyond the whole numbers a JSON number keeps exactly (the digits may already have changed in parsing)",
    "Send such ids as strings in a string column.",
  );
}

/** Reads a CSV-style number; `undefined` when the text is not one. */
function numberFromText(text: string): number | undefined {
  return parseNumberText(text.trim());
}

/**
 * Checks one column against its type. Returns the input array itself when every value is already
 * right (no copy, no allocation), else a copy with the converted values.
 */
// biome-ignore lint/complexity/noExcessiveLinesPerFunction: TODO(issue 16) split this function
function enforceColumn(values: readonly Cell[], numRows: number, column: string, spec: ColumnSpec, fromText: boolean, base = 0): Cell[] {
  const { type, required } = spec;
  let out: Cell[] | undefined;
  const set = (row: number, value: Cell): void => {
    // Array.prototype.slice also copies a typed-array column (BigInt64Array...) into a plain array.
    out ??= Array.prototype.slice.call(values, 0, numRows) as Cell[];
    out[row] = value;
  };
  switch (type) {
    case "integer":
    case "long": {
      const int32 = type === "integer";
      for (let r = 0; r < numRows; r++) {
        const v = values[r];
        if (typeof v === "number") {
          if (Number.isSafeInteger(v) && (!int32 || (v >= INT32_MIN && v <= INT32_MAX))) continue;
          throw integerError(column, type, base + r, v);
        }
        if (v === null || v === undefined) {
          if (required) throw missingValueError(column, type, base + r, v);
          if (v === undefined) set(r, null);
          continue;
        }
        if (typeof v === "string" && fromText) {
          if (v.trim() === "") {
            if (required) throw missingValueError(column, type, base + r, v);
            set(r, null);
            continue;
          }
          const n = numberFromText(v);
          if (n === undefined) throw wrongKindError(column, type, base + r, v);
          if (!Number.isSafeInteger(n) || (int32 && (n < INT32_MIN || n > INT32_MAX))) throw integerError(column, type, base + r, n);
          set(r, n);
          continue;
        }
        if (typeof v === "bigint") {
          if (v >= SAFE_MIN && v <= SAFE_MAX) {
            const n = Number(v);
            if (!int32 || (n >= INT32_MIN && n <= INT32_MAX)) {
              set(r, n);
              continue;
            }
          } else if (!int32 && v >= INT64_MIN && v <= INT64_MAX) {
            continue; // an exact int64 (from Arrow) stays a bigint
          }
          throw integerError(column, type, base + r, v);
        }
        if (typeof v === "boolean") throw ambiguousError(column, type, base + r, v);
        throw wrongKindError(column, type, base + r, v);
      }
      break;
    }
    case "float":
    case "double": {
      const float32 = type === "float";
      for (let r = 0; r < numRows; r++) {
        const v = values[r];
        if (typeof v === "number") {
          if (!float32 || !(Math.abs(v) > FLOAT32_MAX) || !Number.isFinite(v)) continue;
          throw incompatibleError(column, type, base + r, v, "which is out of the float32 range", "Declare the column double.");
        }
        if (v === null || v === undefined) {
          if (required) throw missingValueError(column, type, base + r, v);
          if (v === undefined) set(r, null);
          continue;
        }
        if (typeof v === "string" && fromText) {
          if (v.trim() === "") {
            if (required) throw missingValueError(column, type, base + r, v);
            set(r, null);
            continue;
          }
          const n = numberFromText(v);
          if (n === undefined) throw wrongKindError(column, type, base + r, v);
          if (float32 && Math.abs(n) > FLOAT32_MAX && Number.isFinite(n)) {
            throw incompatibleError(column, type, base + r, n, "which is out of the float32 range", "Declare the column double.");
          }
          set(r, n);
          continue;
        }
        if (typeof v === "bigint") {
          if (v >= -EXACT_IN_DOUBLE && v <= EXACT_IN_DOUBLE) {
            set(r, Number(v));
            continue;
          }
          throw incompatibleError(column, type, base + r, v, "which a double cannot hold exactly", "Declare the column long.");
        }
        if (typeof v === "boolean") throw ambiguousError(column, type, base + r, v);
        throw wrongKindError(column, type, base + r, v);
      }
      break;
    }
    case "boolean": {
      for (let r = 0; r < numRows; r++) {
        const v = values[r];
        if (v === true || v === false) continue;
        if (v === null || v === undefined) {
          if (required) throw missingValueError(column, type, base + r, v);
          if (v === undefined) set(r, null);
          continue;
        }
        if (typeof v === "string" && fromText) {
          const lower = v.trim().toLowerCase();
          if (lower === "true" || lower === "false") {
            set(r, lower === "true");
            continue;
          }
          if (lower === "") {
            if (required) throw missingValueError(column, type, base + r, v);
            set(r, null);
            continue;
          }
        }
        if (typeof v === "object" && !(v instanceof Date) && !(v instanceof Uint8Array)) throw wrongKindError(column, type, base + r, v);
        throw ambiguousError(column, type, base + r, v);
      }
      break;
    }
    case "string": {
      for (let r = 0; r < numRows; r++) {
        const v = values[r];
        if (typeof v === "string") continue;
        if (v === null || v === undefined) {
          if (required) throw missingValueError(column, type, base + r, v);
          if (v === undefined) set(r, null);
          continue;
        }
        if (typeof v === "object" && !(v instanceof Date) && !(v instanceof Uint8Array)) throw wrongKindError(column, type, base + r, v);
        throw ambiguousError(column, type, base + r, v);
      }
      break;
    }
    case "datetime": {
      for (let r = 0; r < numRows; r++) {
        const v = values[r];
        if (v instanceof Date) {
          if (Number.isNaN(v.getTime())) throw wrongKindError(column, type, base + r, v);
          continue;
        }
        if (v === null || v === undefined) {
          if (required) throw missingValueError(column, type, base + r, v);
          if (v === undefined) set(r, null);
          continue;
        }
        if (typeof v === "string") {
          if (fromText && v.trim() === "") {
            if (required) throw missingValueError(column, type, base + r, v);
            set(r, null);
            continue;
          }
          const date = parseIsoDateTime(v);
          if (date === null) throw wrongKindError(column, type, base + r, v);
          if (hasSubMillisecondFraction(v))
            throw incompatibleError(
              column,
              type,
              base + r,
              v,
              "whose fraction of a second is finer than a millisecond, which pipeserve's dates cannot hold",
              "Round it to milliseconds (at most 3 digits after the seconds).",
            );
          set(r, date);
          continue;
        }
        if (typeof v === "number" || typeof v === "bigint") {
          throw incompatibleError(column, type, base + r, v, "which could be seconds or milliseconds since 1970", FIX[type]);
        }
        throw wrongKindError(column, type, base + r, v);
      }
      break;
    }
    case "binary": {
      for (let r = 0; r < numRows; r++) {
        const v = values[r];
        if (v instanceof Uint8Array) continue;
        if (v === null || v === undefined) {
          if (required) throw missingValueError(column, type, base + r, v);
          if (v === undefined) set(r, null);
          continue;
        }
        if (typeof v === "string") {
          const bytes = decodeBase64(v);
          if (bytes === null) throw wrongKindError(column, type, base + r, v);
          set(r, bytes);
          continue;
        }
        throw wrongKindError(column, type, base + r, v);
      }
      break;
    }
  }
  return out ?? (values as Cell[]);
}

function emptyColumn(numRows: number): Cell[] {
  return new Array<Cell>(numRows).fill(null);
}

/** The positional case: the i-th column is checked against the i-th spec, names are kept. */
function enforcePositional(table: ColumnTable, inputs: readonly ColumnSpec[], fromText: boolean, base: number): EnforcedTable {
  const { names, columns, numRows } = table;
  if (names.length === 0 && numRows === 0) {
    return { table: { names: inputs.map((_, i) => String(i)), columns: inputs.map(() => []), numRows: 0 }, droppedColumns: [] };
  }
  if (names.length < inputs.length) {
    throw new SchemaError(
      `Model inference is missing inputs. The model signature declares ${inputs.length} inputs but the provided value only has ` +
        `${names.length} inputs (${pyList(names)}). Note: the inputs were not named in the signature so we can only verify their count. ` +
        `Send ${inputs.length} columns, in the signature's order.`,
    );
  }
  let changed = names.length !== inputs.length;
  const outColumns = inputs.map((spec, i) => {
    const input = columns[i] as Cell[];
    const enforced = enforceColumn(input, numRows, names[i] as string, spec, fromText, base);
    if (enforced !== input) changed = true;
    return enforced;
  });
  const droppedColumns = names.slice(inputs.length);
  if (!changed) return { table, droppedColumns };
  return { table: { names: names.slice(0, inputs.length), columns: outColumns, numRows }, droppedColumns };
}

/**
 * Checks a table against the signature's input columns (PROTOCOL.md §3) and returns the table the
 * model receives: the signature's columns in the signature's order, values converted where the
 * widening is safe (integer → long/float/double, long → double when exact, ISO text → `Date` for
 * `datetime`, base64 text → `Uint8Array` for `binary`). Extra columns are dropped and named in
 * `droppedColumns`; a missing optional column is added, filled with `null`; `null` in an optional
 * column is a missing value.
 *
 * Unnamed (positional) specs check only the count and position of the columns; the input's names
 * are kept and columns past the signature's count are dropped. A table holding one column named
 * `"0"` (what `parseJsonRequest` builds from a bare array or scalar) against a one-column named
 * signature is that column, renamed. A table with no columns and no rows (`"dataframe_records": []`)
 * becomes the signature's columns, empty (positional ones named `"0"`, `"1"`, ...).
 *
 * NB: on the request hot path. One pass per column; a column whose values are already right is
 * passed on as the same array, and when nothing changes the input table itself is returned.
 * Input arrays are never written to.
 *
 * @throws SchemaError (INVALID_PARAMETER_VALUE) for a missing required column
 *   (`Model is missing inputs ['b'].`), too few positional columns, and values MLflow would
 *   silently mangle: a non-whole number or out-of-range number for `integer`/`long`, anything but
 *   `true`/`false` for `boolean`, a non-string for `string`, a boolean for a number column.
 * @throws FormatError (BAD_REQUEST) for values that cannot be converted at all, as MLflow answers
 *   them (`Failed to convert column a to type 'int64'`): a string for a number column, `null` in a
 *   required column, text that is no ISO date or no base64, objects and lists.
 */
export function enforceSchema(table: ColumnTable, inputs: readonly ColumnSpec[], options: EnforceOptions = {}): EnforcedTable {
  const fromText = options.fromText ?? false;
  const { names, columns, numRows } = table;
  if (inputs.length === 0) return { table, droppedColumns: [] };
  const base = options.rowOffset ?? 0;
  if (inputs[0]?.name === undefined) return enforcePositional(table, inputs, fromText, base);

  if (names.length === 0 && numRows === 0) {
    return { table: { names: inputs.map((s) => s.name as string), columns: inputs.map(() => []), numRows: 0 }, droppedColumns: [] };
  }

  const index = new Map<string, number>();
  for (let i = 0; i < names.length; i++) index.set(names[i] as string, i);
  const only = inputs[0] as ColumnSpec;
  const onlyName = only.name as string;
  if (inputs.length === 1 && names.length === 1 && names[0] === "0" && !index.has(onlyName)) {
    const enforced = enforceColumn(columns[0] as Cell[], numRows, onlyName, only, fromText, base);
    return { table: { names: [onlyName], columns: [enforced], numRows }, droppedColumns: [] };
  }

  let missing: string[] | undefined;
  for (const spec of inputs) {
    if (spec.required && !index.has(spec.name as string)) (missing ??= []).push(spec.name as string);
  }
  const wanted = new Set(inputs.map((s) => s.name as string));
  const droppedColumns = names.filter((n) => !wanted.has(n));
  if (missing) {
    const note = droppedColumns.length > 0 ? ` Note that there were extra inputs: ${pyList(droppedColumns)}.` : "";
    throw new SchemaError(`Model is missing inputs ${pyList(missing)}.${note}`);
  }

  let changed = names.length !== inputs.length;
  const outNames = new Array<string>(inputs.length);
  const outColumns = new Array<Cell[]>(inputs.length);
  for (let i = 0; i < inputs.length; i++) {
    const spec = inputs[i] as ColumnSpec;
    const name = spec.name as string;
    const at = index.get(name);
    outNames[i] = name;
    if (at === undefined) {
      outColumns[i] = emptyColumn(numRows);
      changed = true;
      continue;
    }
    if (at !== i) changed = true;
    const input = columns[at] as Cell[];
    const enforced = enforceColumn(input, numRows, name, spec, fromText, base);
    if (enforced !== input) changed = true;
    outColumns[i] = enforced;
  }
  if (!changed) return { table, droppedColumns };
  return { table: { names: outNames, columns: outColumns, numRows }, droppedColumns };
}

/** The outcome of checking one param value: the value to use, or why it was refused. */
export type ParamCheck = { ok: true; value: unknown } | { ok: false; reason: string };

const PARAM_EXPECTED: Readonly<Record<ParamType, string>> = {
  boolean: "true or false",
  integer: "a whole number (int32)",
  long: "a whole number",
  float: "a number",
  double: "a number",
  string: "a string",
  datetime: 'an ISO-8601 date-time string such as "2023-06-26T00:00:00"',
};

function checkScalarParam(type: ParamType, value: unknown): ParamCheck {
  switch (type) {
    case "string":
      if (typeof value === "string") return { ok: true, value };
      break;
    case "boolean":
      if (typeof value === "boolean") return { ok: true, value };
      break;
    case "integer":
      if (typeof value === "number" && Number.isInteger(value) && value >= INT32_MIN && value <= INT32_MAX) return { ok: true, value };
      if (typeof value === "bigint" && value >= BigInt(INT32_MIN) && value <= BigInt(INT32_MAX)) return { ok: true, value: Number(value) };
      break;
    case "long":
      if (typeof value === "number" && Number.isInteger(value)) {
        if (Number.isSafeInteger(value)) return { ok: true, value };
        return { ok: false, reason: `got ${showValue(value)}, beyond the whole numbers a JSON number keeps exactly; expected ${PARAM_EXPECTED[type]}` };
      }
      if (typeof value === "bigint" && value >= INT64_MIN && value <= INT64_MAX) {
        return { ok: true, value: value >= SAFE_MIN && value <= SAFE_MAX ? Number(value) : value };
      }
      break;
    case "float":
    case "double":
      if (typeof value === "number") {
        // NB: JSON numbers beyond a double's range parse as Infinity; a float32 param overflows sooner.
        if (value === Infinity || value === -Infinity)
          return { ok: false, reason: `got a number beyond the range of a double; expected ${PARAM_EXPECTED[type]}` };
        if (type === "float" && Math.abs(value) > FLOAT32_MAX)
          return { ok: false, reason: `got ${showValue(value)}, out of the float32 range (±3.4e38); expected ${PARAM_EXPECTED[type]}` };
        return { ok: true, value };
      }
      if (typeof value === "bigint" && value >= SAFE_MIN && value <= SAFE_MAX) return { ok: true, value: Number(value) };
      break;
    case "datetime":
      if (value instanceof Date && !Number.isNaN(value.getTime())) return { ok: true, value };
      if (typeof value === "string") {
        const date = parseIsoDateTime(value);
        if (date !== null && hasSubMillisecondFraction(value))
          return { ok: false, reason: `got ${showValue(value)}, finer than a millisecond, which pipeserve's dates cannot hold; round it to milliseconds` };
        if (date !== null) return { ok: true, value: date };
      }
      break;
  }
  return { ok: false, reason: `got ${showValue(value)}, expected ${PARAM_EXPECTED[type]}` };
}

/**
 * Checks one param value against its type and shape: the exact type or a widening (integer →
 * long → float → double; an integral number is fine for `long`/`integer`), ISO text → `Date` for
 * `datetime`; `shape: [-1]` takes a 1-D list whose every element passes. `null` passes (a
 * missing value). Used for request params and for defaults read from `MLmodel`.
 */
export function checkParamValue(type: ParamType, shape: null | readonly [-1], value: unknown): ParamCheck {
  if (value === null) return { ok: true, value: null };
  if (shape === null) {
    if (Array.isArray(value)) return { ok: false, reason: `got ${showValue(value)}, expected a single value: ${PARAM_EXPECTED[type]}` };
    return checkScalarParam(type, value);
  }
  if (!Array.isArray(value)) {
    return { ok: false, reason: `got ${showValue(value)}, expected a list (shape [-1]) of ${type} values` };
  }
  let out: unknown[] | undefined;
  for (let i = 0; i < value.length; i++) {
    const element: unknown = value[i];
    const check = checkScalarParam(type, element);
    if (!check.ok) return { ok: false, reason: `element ${i} of the list ${check.reason}` };
    if (check.value !== element) (out ??= value.slice())[i] = check.value;
  }
  return { ok: true, value: out ?? value.slice() };
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A fresh copy of a default, so a node that changes its param cannot change the next request's. */
function freshDefault(value: unknown): unknown {
  if (value instanceof Date) return new Date(value.getTime());
  if (Array.isArray(value)) return value.map(freshDefault);
  return value;
}

/**
 * Checks request params against the model's params schema (PROTOCOL.md §4) and returns what the
 * pipeline receives: every declared param, in schema order, with the request's value or its
 * default (a key given as `null` also takes the default). Unknown keys are ignored and named in
 * `ignored` (for the `X-Pipeserve-Ignored-Params` header and the log). A model without a params
 * schema (`schema` null) ignores every key.
 *
 * `runner` is reserved: when given and not declared, it is passed on as-is in `params` (a string
 * is required); whether the runner is allowed is checked elsewhere. When declared, it is checked
 * like any other param and gets its default.
 *
 * @throws SchemaError (INVALID_PARAMETER_VALUE) when params is not an object
 *   (`Parameters must be a dictionary. Got type 'list'.`), and listing every bad value at once:
 *   `Invalid parameters found: 'long_param' got 1.5, expected a whole number; ...`.
 */
export function enforceParams(params: Record<string, unknown> | null | undefined, schema: readonly ParamSpec[] | null): EnforcedParams {
  if (params !== null && params !== undefined && !isPlainObject(params)) {
    throw new SchemaError(`Parameters must be a dictionary. Got type '${pythonTypeName(params)}'. Send params as a JSON object such as {"threshold": 0.5}.`);
  }
  const given: Record<string, unknown> = params ?? {};
  const out: Record<string, unknown> = {};
  const ignored: string[] = [];
  const problems: string[] = [];
  const declared = new Set<string>();
  for (const spec of schema ?? []) {
    declared.add(spec.name);
    const value = Object.hasOwn(given, spec.name) ? given[spec.name] : undefined;
    if (value === undefined || value === null) {
      out[spec.name] = freshDefault(spec.default ?? null);
      continue;
    }
    const check = checkParamValue(spec.type, spec.shape, value);
    if (check.ok) out[spec.name] = check.value;
    else problems.push(`'${spec.name}' ${check.reason}`);
  }
  for (const key of Object.keys(given)) {
    if (declared.has(key)) continue;
    if (key === "runner") {
      const runner = given[key];
      if (runner === null || runner === undefined) continue;
      if (typeof runner === "string") out[key] = runner;
      else problems.push(`'runner' got ${showValue(runner)}, expected the name of a runner such as "SequentialRunner"`);
      continue;
    }
    ignored.push(key);
  }
  if (problems.length > 0) {
    throw new SchemaError(`Invalid parameters found: ${problems.join("; ")}. Fix these values, or leave them out to use the defaults.`);
  }
  return { params: out, ignored };
}
