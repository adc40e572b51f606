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
  let body: string;
  if (isColumnTable(output)) body = recordsJson(output.names, output.columns, output.numRows);
  else if (isDataFrame(output)) body = tableToRecordsJson(fromDataFrame(output));
  else if (isSeries(output)) {
    // NB: a name may be a number; a JSON key is text.
    const name = String((output.columns as string[] | undefined)?.[0] ?? "0");
    const values = output.values as Cell[];
    body = recordsJson([name], [values], values.length);
  } else if (isColumnsObject(output)) {
    const names = Object.keys(output);
    body = recordsJson(
      names,
      names.map((n) => output[n] as ArrayLike<Cell>),
      (output[names[0] as string] as ArrayLike<Cell>).length,
    );
  } else if (ArrayBuffer.isView(output) && !(output instanceof DataView)) {
    body = JSON.stringify(Array.from(output as unknown as ArrayLike<unknown>, (v) => toJsonValue(v)));
  } else body = JSON.stringify(toJsonValue(output)) ?? "null";
  return `{"predictions":${body}}`;
}

/** Answers of at least this many rows are sent as bytes (`encodePredictionsUtf8`), smaller ones as a string (see recordsJson). */
export const BYTES_ANSWER_MIN_ROWS = 512;

/**
 * The `/invocations` JSON answer as the server sends it: `encodePredictions`' text, as UTF-8 bytes
 * for a table of BYTES_ANSWER_MIN_ROWS rows or more, as a string for a smaller one or another output.
 */
export function encodePredictionsBody(output: unknown): string | Uint8Array {
  let rows = 0;
  if (isColumnTable(output)) rows = output.numRows;
  else if (isColumnsObject(output)) rows = (Object.values(output)[0] as ArrayLike<Cell> | undefined)?.length ?? 0;
  else if (isDataFrame(output)) rows = output.shape[0] as number;
  else if (isSeries(output)) rows = (output.values as ArrayLike<Cell>).length;
  return rows >= BYTES_ANSWER_MIN_ROWS ? encodePredictionsUtf8(output) : encodePredictions(output);
}

/** `encodePredictions`, in UTF-8: what the server sends (a string's bytes cost more to measure and encode than to write here). */
export function encodePredictionsUtf8(output: unknown): Uint8Array {
  const open = '{"predictions":[';
  const close = "]}";
  if (isColumnTable(output)) return recordsJsonBytes(output.names, output.columns, output.numRows, open, close);
  if (isDataFrame(output)) {
    const table = fromDataFrame(output);
    return recordsJsonBytes(table.names, table.columns, table.numRows, open, close);
  }
  if (isSeries(output)) {
    // NB: a name may be a number; a JSON key is text.
    const name = String((output.columns as string[] | undefined)?.[0] ?? "0");
    const values = output.values as Cell[];
    return recordsJsonBytes([name], [values], values.length, open, close);
  }
  if (isColumnsObject(output)) {
    const names = Object.keys(output);
    return recordsJsonBytes(
      names,
      names.map((n) => output[n] as ArrayLike<Cell>),
      (output[names[0] as string] as ArrayLike<Cell>).length,
      open,
      close,
    );
  }
  let body: string;
  if (ArrayBuffer.isView(output) && !(output instanceof DataView)) {
    body = JSON.stringify(Array.from(output as unknown as ArrayLike<unknown>, (v) => toJsonValue(v)));
  } else body = JSON.stringify(toJsonValue(output)) ?? "null";
  return UTF8.encode(`{"predictions":${body}}`);
}
