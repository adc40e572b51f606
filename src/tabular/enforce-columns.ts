import { decodeBase64, hasSubMillisecondFraction, parseIsoDateTime } from "./cell-codecs.js";
import { isNumericArray, type Cell, type Column, type ColumnTable, type NumericArray } from "./column-table.js";
import { parseNumberText } from "./csv.js";
import { EXACT_IN_DOUBLE, FLOAT32_MAX, INT32_MAX, INT32_MIN, INT64_MAX, INT64_MIN, SAFE_MAX, SAFE_MIN, isMissing } from "./enforce-common.js";
import { FormatError, SchemaError } from "./errors.js";
import { MLFLOW_WORDING, mlflowConversion, mlflowIncompatible, pyList, showValue } from "./messages.js";
import type { ColumnSpec, ColumnType } from "./signature.js";

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
  /**
   * The cells came typed, from Arrow IPC or Parquet: values are checked as JSON values are, and a
   * refusal says how to send the column's type in Arrow (not "Send JSON numbers").
   */
  fromArrow?: boolean;
  /** Added to row numbers in error messages (a chunk's first row in a larger input). */
  rowOffset?: number;
}

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

/** How to write each type right in a CSV cell (a CSV body or file); an optional column's also says how to leave it empty. */
const FIX_IN_TEXT: Readonly<Record<ColumnType, string>> = {
  boolean: "Write true or false in that cell",
  integer: "Write a whole number in that cell",
  long: "Write a whole number in that cell",
  float: "Write a number in that cell",
  double: "Write a number in that cell",
  string: "Write text in that cell",
  binary: "Write the bytes base64-encoded in that cell",
  datetime: "Write ISO-8601 text such as 2021-01-01T00:00:00 or 2021-01-01 in that cell",
};

/** What a `long` column takes from Arrow or Parquet: an int64 column keeps whole numbers a float column cannot. */
const LONG_FROM_ARROW = `a whole number (to ±${Number.MAX_SAFE_INTEGER} in a float column, to ±2^63 in an int64 column)`;

/** How to send each type right in an Arrow IPC or Parquet column. */
const FIX_IN_ARROW: Readonly<Record<ColumnType, string>> = {
  boolean: "Send the column as Arrow booleans (bool).",
  integer: "Send the column as Arrow integers (int32 or narrower), or floats that hold whole numbers.",
  long: "Send the column as Arrow integers (int64 or narrower), or floats that hold whole numbers.",
  float: "Send the column as Arrow numbers (float32, float64 or integers).",
  double: "Send the column as Arrow numbers (float64, float32 or integers).",
  string: "Send the column as Arrow strings (utf8 or large_utf8).",
  binary: "Send the column as Arrow binary, or as base64 text.",
  datetime: 'Send the column as an Arrow timestamp or date, or as ISO-8601 text such as "2021-01-01T00:00:00".',
};

/** Where a table's cells came from: JSON values, CSV text, or typed Arrow/Parquet columns (which say how to send a type right). */
type CellSource = "json" | "text" | "arrow";

/*
 * Two kinds of refusal, mirroring MLflow's two stages:
 * - a value MLflow cannot convert either (a string into a number column, null in a required
 *   column, text that is no date or base64, an object) → FormatError, code BAD_REQUEST, worded as
 *   MLflow's "Failed to convert column a to type 'int64'" (the conformance cases pin the code);
 * - a value MLflow would silently mangle (1.7 truncated into a long, "false" read as true, a number
 *   passed into a string column, an int64 beyond 2^53) → SchemaError, INVALID_PARAMETER_VALUE.
 * Both carry the refused value as data: {column, row, expected, received}.
 */

/**
 * One column being checked: what its errors name, and the copy of its values made at the first
 * value that changes (none while every value is already right).
 */
class ColumnCheck {
  readonly values: readonly Cell[];
  readonly numRows: number;
  readonly column: string;
  readonly type: ColumnType;
  readonly required: boolean;
  readonly fromText: boolean;
  readonly source: CellSource;
  /** Added to a position to give the row a message names. */
  readonly base: number;
  private out: Cell[] | undefined;

  constructor(values: readonly Cell[], numRows: number, column: string, spec: ColumnSpec, source: CellSource, base: number) {
    this.values = values;
    this.numRows = numRows;
    this.column = column;
    this.type = spec.type;
    this.required = spec.required;
    this.source = source;
    this.fromText = source === "text";
    this.base = base;
  }

  set(r: number, value: Cell): void {
    // Array.prototype.slice also copies a typed-array column (BigInt64Array...) into a plain array.
    this.out ??= Array.prototype.slice.call(this.values, 0, this.numRows) as Cell[];
    this.out[r] = value;
  }

  /** The input array itself when nothing changed, else the copy. */
  result(): Cell[] {
    return this.out ?? (this.values as Cell[]);
  }

  /** A missing value: refused in a required column, else `null`. */
  missing(r: number, v: Cell | undefined): void {
    if (this.required) {
      throw this.conversionError(
        r,
        v,
        // NB: a bare NaN token in JSON is read as null: say so, since the client may have sent one.
        v === null
          ? this.source === "arrow"
            ? ", a missing value, but the column is required"
            : ", a missing value (as is a bare NaN token in JSON), but the column is required"
          : typeof v === "string" && v.trim() !== ""
            ? ", which a CSV cell holds for a missing value, but the column is required"
            : ", but the column is required",
        `Send a value in every row, or declare column ${this.column} optional ("required": false) in the signature.`,
      );
    }
    if (v !== null) this.set(r, null);
  }

  /** The number in a number column's text cell (CSV). */
  parseNumber(r: number, text: string): number {
    const n = parseNumberText(text.trim());
    if (n === undefined) throw this.wrongKindError(r, text);
    return n;
  }

  conversionError(r: number, value: unknown, why: string, fix: string): FormatError {
    const { column, type } = this;
    const row = this.base + r;
    // MLflow's words: a JSON body's refusal (cast_df_types_according_to_schema), or a CSV body's (pandas.read_csv with the signature's types).
    const mlflow = this.fromText
      ? `${MLFLOW_WORDING.csvParse} Failed to convert column ${column} to type '${NUMPY_DTYPES[type]}'.`
      : mlflowConversion(column, NUMPY_DTYPES[type]);
    return new FormatError(`${mlflow} Column ${column} is ${type}: row ${row} holds ${showValue(value)}${why}. ${fix}`, {
      data: { column, row, expected: type, received: value },
    });
  }

  /** What this column's type takes, in words (a long from Arrow: an int64 keeps more than a JSON number). */
  get expected(): string {
    return this.source === "arrow" && this.type === "long" ? LONG_FROM_ARROW : EXPECTED[this.type];
  }

  /** How to send this column's type right: in JSON, in an Arrow or Parquet column, or in a CSV cell. */
  get fix(): string {
    if (this.source === "arrow") return FIX_IN_ARROW[this.type];
    if (!this.fromText) return FIX[this.type];
    return `${FIX_IN_TEXT[this.type]}${this.required ? "" : " (an empty cell, NA or NaN for a missing value)"}.`;
  }

  wrongKindError(r: number, value: unknown): FormatError {
    return this.conversionError(r, value, `; expected ${this.expected}`, this.fix);
  }

  incompatibleError(r: number, value: unknown, why: string, fix: string): SchemaError {
    const { column, type } = this;
    const row = this.base + r;
    return new SchemaError(
      `${mlflowIncompatible(column)} Its row ${row} holds ${showValue(value)}, ${why}; ` +
        `column ${column} is ${type} (${NUMPY_DTYPES[type]}), which takes ${this.expected}. ${fix}`,
      { data: { column, row, expected: type, received: value } },
    );
  }

  ambiguousError(r: number, value: unknown): SchemaError {
    return this.incompatibleError(r, value, "which pipeserve does not reinterpret", this.fix);
  }

  /** A value of the wrong kind for a number column: a boolean is ambiguous, anything else cannot be converted. */
  notANumberError(r: number, value: unknown): FormatError | SchemaError {
    return typeof value === "boolean" ? this.ambiguousError(r, value) : this.wrongKindError(r, value);
  }

  /** A value of the wrong kind for a boolean or string column: an object or list cannot be converted, a scalar is ambiguous. */
  notAScalarError(r: number, value: unknown): FormatError | SchemaError {
    return typeof value === "object" && !(value instanceof Date) && !(value instanceof Uint8Array)
      ? this.wrongKindError(r, value)
      : this.ambiguousError(r, value);
  }

  integerError(r: number, value: number | bigint): SchemaError {
    if (typeof value === "number" && !Number.isInteger(value)) {
      return this.incompatibleError(
        r,
        value,
        "which is not a whole number",
        "pipeserve does not truncate: round the value before sending it, or declare the column double.",
      );
    }
    if (this.type === "integer") return this.incompatibleError(r, value, "which is out of the int32 range", "Declare the column long, or send smaller values.");
    if (this.source === "arrow" && typeof value === "number") {
      return this.incompatibleError(
        r,
        value,
        "which is beyond the whole numbers a float column keeps exactly (2^53)",
        "Send the column as Arrow int64, which keeps every whole number to 2^63, or such ids as strings in a string column.",
      );
    }
    return this.incompatibleError(
      r,
      value,
      "which is beyond the whole numbers a JSON number keeps exactly (the digits may already have changed in parsing)",
      "Send such ids as strings in a string column.",
    );
  }

  float32Error(r: number, value: number): SchemaError {
    return this.incompatibleError(r, value, "which is out of the float32 range", "Declare the column double.");
  }
}

/** Whether a number is a whole number an `integer` (int32) or `long` column keeps exactly. */
function fitsInteger(n: number, int32: boolean): boolean {
  return Number.isSafeInteger(n) && (!int32 || (n >= INT32_MIN && n <= INT32_MAX));
}

/** Whether a number overflows a `float` (float32) column; infinities and NaN do not. */
function overflowsFloat32(n: number): boolean {
  return Math.abs(n) > FLOAT32_MAX && Number.isFinite(n);
}

/** A bigint (from Arrow) in an integer column: a number when it is exact, an int64 kept as a bigint. */
function integerFromBigInt(c: ColumnCheck, r: number, v: bigint, int32: boolean): void {
  if (v >= SAFE_MIN && v <= SAFE_MAX) {
    const n = Number(v);
    if (int32 && (n < INT32_MIN || n > INT32_MAX)) throw c.integerError(r, v);
    c.set(r, n);
  } else if (int32 || v < INT64_MIN || v > INT64_MAX) {
    throw c.integerError(r, v);
  }
}

function checkIntegers(c: ColumnCheck, int32: boolean): void {
  const { values, numRows, fromText } = c;
  for (let r = 0; r < numRows; r++) {
    const v = values[r];
    if (typeof v === "number") {
      if (fitsInteger(v, int32)) continue;
      throw c.integerError(r, v);
    }
    if (isMissing(v, fromText)) c.missing(r, v);
    else if (typeof v === "string" && fromText) {
      const n = c.parseNumber(r, v);
      if (!fitsInteger(n, int32)) throw c.integerError(r, n);
      c.set(r, n);
    } else if (typeof v === "bigint") integerFromBigInt(c, r, v, int32);
    else throw c.notANumberError(r, v);
  }
}

function checkFloats(c: ColumnCheck, float32: boolean): void {
  const { values, numRows, fromText } = c;
  for (let r = 0; r < numRows; r++) {
    const v = values[r];
    if (typeof v === "number") {
      if (!float32 || !overflowsFloat32(v)) continue;
      throw c.float32Error(r, v);
    }
    if (isMissing(v, fromText)) c.missing(r, v);
    else if (typeof v === "string" && fromText) {
      const n = c.parseNumber(r, v);
      if (float32 && overflowsFloat32(n)) throw c.float32Error(r, n);
      c.set(r, n);
    } else if (typeof v === "bigint") {
      if (v < -EXACT_IN_DOUBLE || v > EXACT_IN_DOUBLE) throw c.incompatibleError(r, v, "which a double cannot hold exactly", "Declare the column long.");
      c.set(r, Number(v));
    } else throw c.notANumberError(r, v);
  }
}

function checkBooleans(c: ColumnCheck): void {
  const { values, numRows, fromText } = c;
  for (let r = 0; r < numRows; r++) {
    const v = values[r];
    if (v === true || v === false) continue;
    if (typeof v === "string" && fromText) {
      const lower = v.trim().toLowerCase();
      if (lower === "true" || lower === "false") {
        c.set(r, lower === "true");
        continue;
      }
    }
    if (isMissing(v, fromText)) c.missing(r, v);
    else throw c.notAScalarError(r, v);
  }
}

function checkStrings(c: ColumnCheck): void {
  const { values, numRows } = c;
  for (let r = 0; r < numRows; r++) {
    const v = values[r];
    if (typeof v === "string") continue;
    if (isMissing(v)) c.missing(r, v);
    else throw c.notAScalarError(r, v);
  }
}

/** An ISO-8601 text cell of a datetime column, as a `Date`. */
function dateFromText(c: ColumnCheck, r: number, v: string): Date {
  const date = parseIsoDateTime(v);
  if (date === null) throw c.wrongKindError(r, v);
  if (hasSubMillisecondFraction(v)) {
    throw c.incompatibleError(
      r,
      v,
      "whose fraction of a second is finer than a millisecond, which pipeserve's dates cannot hold",
      "Round it to milliseconds (at most 3 digits after the seconds).",
    );
  }
  return date;
}

function checkDatetimes(c: ColumnCheck): void {
  const { values, numRows, fromText } = c;
  for (let r = 0; r < numRows; r++) {
    const v = values[r];
    if (v instanceof Date) {
      if (Number.isNaN(v.getTime())) throw c.wrongKindError(r, v);
      continue;
    }
    if (isMissing(v, fromText)) c.missing(r, v);
    else if (typeof v === "string") c.set(r, dateFromText(c, r, v));
    else if (typeof v === "number" || typeof v === "bigint") {
      throw c.incompatibleError(r, v, "which could be seconds or milliseconds since 1970", c.source === "arrow" ? FIX_IN_ARROW.datetime : FIX.datetime);
    } else throw c.wrongKindError(r, v);
  }
}

function checkBinaries(c: ColumnCheck): void {
  const { values, numRows } = c;
  for (let r = 0; r < numRows; r++) {
    const v = values[r];
    if (v instanceof Uint8Array) continue;
    if (isMissing(v)) c.missing(r, v);
    else if (typeof v === "string") {
      const bytes = decodeBase64(v);
      if (bytes === null) throw c.wrongKindError(r, v);
      c.set(r, bytes);
    } else throw c.wrongKindError(r, v);
  }
}

/**
 * A typed-array column that needs no check for its type: numbers of a kind the type holds exactly
 * (the array itself, or a copy into the type's own array). Undefined when its values must be
 * checked one by one (a Float64Array in an integer column…) or the type takes no numbers.
 */
function acceptTypedColumn(values: NumericArray, type: ColumnType): NumericArray | undefined {
  const small = values instanceof Int16Array || values instanceof Int8Array || values instanceof Uint16Array || values instanceof Uint8Array;
  switch (type) {
    case "double":
      return values instanceof Float64Array ? values : new Float64Array(values);
    case "float":
      return values instanceof Float32Array ? values : small ? new Float32Array(values) : undefined;
    case "integer":
      return values instanceof Int32Array ? values : small ? new Int32Array(values) : undefined;
    case "long":
      return small || values instanceof Int32Array || values instanceof Uint32Array ? values : undefined;
    default:
      return undefined;
  }
}

/**
 * A checked number column as a typed array when it is one of the numbers that travel so: `double`
 * (Float64Array) and `integer` (Int32Array) columns without a missing value. `float` and `long`
 * columns stay plain arrays (a Float32Array would round what was sent; a long is a whole number a
 * double array would call fractional).
 */
function typedIfNumeric(values: Column, type: ColumnType): Column {
  if (type !== "double" && type !== "integer") return values;
  // NB: the constructors, not `.from`: `from` walks the iterator protocol, the constructor copies an array directly.
  if (isNumericArray(values))
    return type === "double"
      ? values instanceof Float64Array
        ? values
        : new Float64Array(values)
      : values instanceof Int32Array
        ? values
        : new Int32Array(values);
  for (let r = 0; r < values.length; r++) if (typeof values[r] !== "number") return values;
  return type === "double" ? new Float64Array(values as number[]) : new Int32Array(values as number[]);
}

/**
 * Checks one column against its type. Returns the input array itself when every value is already
 * right (no copy, no allocation), else a copy with the converted values; a `double` or `integer`
 * column without missing values comes back as a typed array (see `typedIfNumeric`).
 */
function enforceColumn(input: Column, numRows: number, column: string, spec: ColumnSpec, source: CellSource, base = 0): Column {
  let values: Column = input;
  if (isNumericArray(input)) {
    const accepted = acceptTypedColumn(input, spec.type);
    if (accepted) return accepted;
    // NB: a type that takes no numbers refuses the first value (or takes an empty column as an empty list).
    if (spec.type !== "integer" && spec.type !== "long" && spec.type !== "float" && spec.type !== "double") values = Array.from(input);
  }
  const c = new ColumnCheck(values as readonly Cell[], numRows, column, spec, source, base);
  switch (spec.type) {
    case "integer":
    case "long":
      checkIntegers(c, spec.type === "integer");
      break;
    case "float":
    case "double":
      checkFloats(c, spec.type === "float");
      break;
    case "boolean":
      checkBooleans(c);
      break;
    case "string":
      checkStrings(c);
      break;
    case "datetime":
      checkDatetimes(c);
      break;
    case "binary":
      checkBinaries(c);
      break;
  }
  return typedIfNumeric(c.result(), spec.type);
}

function emptyColumn(numRows: number): Cell[] {
  return new Array<Cell>(numRows).fill(null);
}

/** The positional case: the i-th column is checked against the i-th spec, names are kept. */
function enforcePositional(table: ColumnTable, inputs: readonly ColumnSpec[], source: CellSource, base: number): EnforcedTable {
  const { names, columns, numRows } = table;
  if (names.length === 0 && numRows === 0) {
    return { table: { names: inputs.map((_, i) => String(i)), columns: inputs.map(() => []), numRows: 0 }, droppedColumns: [] };
  }
  if (names.length < inputs.length) {
    throw new SchemaError(
      `${MLFLOW_WORDING.missingPositional} The model signature declares ${inputs.length} inputs but the provided value only has ` +
        `${names.length} inputs (${pyList(names)}). Note: the inputs were not named in the signature so we can only verify their count. ` +
        `Send ${inputs.length} columns, in the signature's order.`,
    );
  }
  let changed = names.length !== inputs.length;
  const outColumns = inputs.map((spec, i) => {
    const input = columns[i] as Column;
    const enforced = enforceColumn(input, numRows, names[i] as string, spec, source, base);
    if (enforced !== input) changed = true;
    return enforced;
  });
  const droppedColumns = names.slice(inputs.length);
  if (!changed) return { table, droppedColumns };
  return { table: { names: names.slice(0, inputs.length), columns: outColumns, numRows }, droppedColumns };
}

/** The required columns of a named signature that a table with columns `names` lacks, in the signature's order. */
export function missingColumns(names: { has(name: string): boolean }, inputs: readonly ColumnSpec[]): string[] {
  return inputs.filter((spec) => spec.name !== undefined && spec.required && !names.has(spec.name)).map((spec) => spec.name as string);
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
  const source: CellSource = options.fromText ? "text" : options.fromArrow ? "arrow" : "json";
  const { names, columns, numRows } = table;
  if (inputs.length === 0) return { table, droppedColumns: [] };
  const base = options.rowOffset ?? 0;
  if (inputs[0]?.name === undefined) return enforcePositional(table, inputs, source, base);

  if (names.length === 0 && numRows === 0) {
    return { table: { names: inputs.map((s) => s.name as string), columns: inputs.map(() => []), numRows: 0 }, droppedColumns: [] };
  }

  const index = new Map<string, number>();
  for (let i = 0; i < names.length; i++) index.set(names[i] as string, i);
  const only = inputs[0] as ColumnSpec;
  const onlyName = only.name as string;
  if (inputs.length === 1 && names.length === 1 && names[0] === "0" && !index.has(onlyName)) {
    const enforced = enforceColumn(columns[0] as Column, numRows, onlyName, only, source, base);
    return { table: { names: [onlyName], columns: [enforced], numRows }, droppedColumns: [] };
  }

  const missing = missingColumns(index, inputs);
  const wanted = new Set(inputs.map((s) => s.name as string));
  const droppedColumns = names.filter((n) => !wanted.has(n));
  if (missing.length > 0) {
    const note = droppedColumns.length > 0 ? ` Note that there were extra inputs: ${pyList(droppedColumns)}.` : "";
    throw new SchemaError(`${MLFLOW_WORDING.missingInputs} ${pyList(missing)}.${note}`);
  }

  let changed = names.length !== inputs.length;
  const outNames = new Array<string>(inputs.length);
  const outColumns = new Array<Column>(inputs.length);
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
    const input = columns[at] as Column;
    const enforced = enforceColumn(input, numRows, name, spec, source, base);
    if (enforced !== input) changed = true;
    outColumns[i] = enforced;
  }
  if (!changed) return { table, droppedColumns };
  return { table: { names: outNames, columns: outColumns, numRows }, droppedColumns };
}
