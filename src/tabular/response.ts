import type { Cell, ColumnTable } from "./column-table.js";
import { fromDataFrame, isDataFrame, isSeries } from "./dataframe.js";
import { isColumnTable, isColumnsObject } from "./as-table.js";
import { toJsonValue } from "./json-values.js";

/** One cell as JSON: a fast path for finite numbers, strings, booleans and null; `toJsonValue` for the rest. */
function cellJson(value: Cell): string {
  switch (typeof value) {
    case "number":
      return Number.isFinite(value) ? `${value}` : "null";
    case "string":
      return JSON.stringify(value);
    case "boolean":
      return value ? "true" : "false";
    case "undefined":
      return "null";
    default:
      return value === null ? "null" : (JSON.stringify(toJsonValue(value)) ?? "null");
  }
}

const UTF8 = new TextEncoder();

/**
 * Row objects as JSON in UTF-8, written straight from the columns into one buffer (no row objects,
 * no string of the whole): `open`, the rows separated by commas, then `close`. NB: a string grown
 * cell by cell is a rope of ~5 pieces a row, which the HTTP layer then flattened (to measure its
 * bytes) and encoded: for 10,000 rows of the penguins model's answer, ~1 ms to build and ~2.5 ms
 * more to send, against ~1.5 ms for the bytes here.
 */
function recordsJsonBytes(names: readonly string[], columns: readonly ArrayLike<Cell>[], numRows: number, open: string, close: string): Uint8Array {
  // NB: a DataFrame's column names may be numbers: a JSON key is text, quoted.
  const keys = names.map((name, c) => `${c === 0 ? "{" : ","}${JSON.stringify(String(name))}:`);
  const width = names.length;
  let keyChars = 0;
  for (const key of keys) keyChars += key.length;
  // NB: room for a row of short cells; a bigger answer grows the buffer by doubling.
  let bytes = new Uint8Array(Math.min(open.length + close.length + numRows * (keyChars + width * 20 + 3), 1 << 24) + 16);
  let at = 0;
  /** Writes `text` as UTF-8 at `at`, growing the buffer when it may not fit. */
  const put = (text: string): void => {
    if (bytes.length - at < text.length * 3) {
      const grown = new Uint8Array(Math.max(bytes.length * 2, at + text.length * 3));
      grown.set(bytes.subarray(0, at));
      bytes = grown;
    }
    // NB: ASCII (numbers, keys, most text) is copied here: cheaper than a native call per cell.
    let j = 0;
    for (; j < text.length; j++) {
      const code = text.charCodeAt(j);
      if (code >= 0x80) break;
      bytes[at + j] = code;
    }
    at += j === text.length ? j : UTF8.encodeInto(text, bytes.subarray(at)).written;
  };
  put(open);
  // NB: a column of labels repeats its values: the JSON of the last one is kept.
  let lastText: string | undefined;
  let lastJson = "";
  for (let r = 0; r < numRows; r++) {
    if (r > 0) put(",");
    if (width === 0) put("{");
    for (let c = 0; c < width; c++) {
      put(keys[c] as string);
      const value = (columns[c] as ArrayLike<Cell>)[r];
      if (typeof value === "string") {
        if (value !== lastText) {
          lastText = value;
          lastJson = JSON.stringify(value);
        }
        put(lastJson);
      } else put(cellJson(value));
    }
    put("}");
  }
  put(close);
  return bytes.subarray(0, at);
}

/**
 * Row objects as a JSON array (a string), written straight from the columns (no row objects are
 * built). NB: one growing string is about twice as fast to build as joining per-row strings, but is
 * a rope: measuring or encoding it flattens it first (see recordsJsonBytes), which costs more per
 * row the longer the rope. An answer of fewer than BYTES_ANSWER_MIN_ROWS rows is cheaper this way
 * than as bytes (one row: ~0.6 µs against ~2 µs, with its encoding; even at ~400 rows).
 */
function recordsJson(names: readonly string[], columns: readonly ArrayLike<Cell>[], numRows: number): string {
  if (numRows === 0) return "[]";
  if (names.length === 0) return `[${new Array<string>(numRows).fill("{}").join(",")}]`;
  // NB: a DataFrame's column names may be numbers: a JSON key is text, quoted.
  const keys = names.map((name, c) => `${c === 0 ? "{" : ","}${JSON.stringify(String(name))}:`);
  const width = names.length;
  let out = "[";
  for (let r = 0; r < numRows; r++) {
    if (r > 0) out += ",";
    for (let c = 0; c < width; c++) out += (keys[c] as string) + cellJson((columns[c] as ArrayLike<Cell>)[r]);
    out += "}";
  }
  return `${out}]`;
}

/** The JSON text of a table as MLflow's records orientation: a list of row objects, column order kept. */
export function tableToRecordsJson(table: ColumnTable): string {
  return recordsJson(table.names, table.columns, table.numRows);
}

/**
 * A table's rows as MLflow's records orientation in UTF-8, without the list's brackets: the row
 * objects, separated by commas (nothing for no rows), for a writer that puts chunks into one list.
 */
export function tableToRecordsJsonBytes(table: ColumnTable): Uint8Array {
  return recordsJsonBytes(table.names, table.columns, table.numRows, "", "");
}

/**
 * The `/invocations` response body `{"predictions": P}` (PROTOCOL.md §5), compact JSON:
 * - a `ColumnTable` or a danfojs DataFrame → a list of row objects, in column order;
 * - a danfojs Series → `[{"<name>": v}, ...]` (`"0"` when unnamed), as MLflow writes a Series;
 * - a plain object of equal-length column arrays (what `inputType: "columns"` pipelines return) → row objects too;
 * - a list or a typed array → (nested) lists; NB: a top-level `Uint8Array` is a list of numbers,
 *   while a `Uint8Array` inside a table or list is binary, written as base64;
 * - anything else as is (`undefined` → `null`).
 * Everywhere NaN/±Infinity become `null`, dates ISO-8601 strings, bytes base64 (no trailing newline).
 *
 * NB: on the request hot path. Tables are written straight from their columns, with a fast path
 * for finite numbers, strings and booleans.
 */
export function encodePredictions(output: unknown): string {
  const records = recordsOf(output);
  return `{"predictions":${records ? recordsJson(records.names, records.columns, records.numRows) : otherJson(output)}}`;
}

/** The rows of an output the answer writes as row objects: a table, a DataFrame, a Series or an object of columns; undefined for another. */
function recordsOf(output: unknown): { names: readonly string[]; columns: readonly ArrayLike<Cell>[]; numRows: number } | undefined {
  if (isColumnTable(output)) return output;
  if (isDataFrame(output)) return fromDataFrame(output);
  if (isSeries(output)) {
    // NB: a name may be a number; a JSON key is text.
    const name = String((output.columns as string[] | undefined)?.[0] ?? "0");
    const values = output.values as Cell[];
    return { names: [name], columns: [values], numRows: values.length };
  }
  if (isColumnsObject(output)) {
    const names = Object.keys(output);
    return { names, columns: names.map((n) => output[n] as ArrayLike<Cell>), numRows: (output[names[0] as string] as ArrayLike<Cell>).length };
  }
  return undefined;
}

/** An output that is not rows, as JSON: a list or a typed array as (nested) lists, anything else as is. */
function otherJson(output: unknown): string {
  if (ArrayBuffer.isView(output) && !(output instanceof DataView))
    return JSON.stringify(Array.from(output as unknown as ArrayLike<unknown>, (v) => toJsonValue(v)));
  return JSON.stringify(toJsonValue(output)) ?? "null";
}

/** Answers of at least this many rows are sent as bytes (`encodePredictionsUtf8`), smaller ones as a string (see recordsJson). */
export const BYTES_ANSWER_MIN_ROWS = 512;

const OPEN = '{"predictions":[';
const CLOSE = "]}";

/**
 * The `/invocations` JSON answer as the server sends it: `encodePredictions`' text, as UTF-8 bytes
 * for rows of BYTES_ANSWER_MIN_ROWS or more, as a string for fewer or another output.
 */
export function encodePredictionsBody(output: unknown): string | Uint8Array {
  const records = recordsOf(output);
  if (!records) return `{"predictions":${otherJson(output)}}`;
  if (records.numRows >= BYTES_ANSWER_MIN_ROWS) return recordsJsonBytes(records.names, records.columns, records.numRows, OPEN, CLOSE);
  return `{"predictions":${recordsJson(records.names, records.columns, records.numRows)}}`;
}

/** `encodePredictions`, in UTF-8: what the server sends (a string's bytes cost more to measure and encode than to write here). */
export function encodePredictionsUtf8(output: unknown): Uint8Array {
  const records = recordsOf(output);
  return records ? recordsJsonBytes(records.names, records.columns, records.numRows, OPEN, CLOSE) : UTF8.encode(`{"predictions":${otherJson(output)}}`);
}
