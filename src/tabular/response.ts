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

/**
 * Row objects as a JSON array, written straight from the columns (no row objects are built).
 * NB: one growing string is about twice as fast here as joining per-row strings (V8 ropes).
 */
function recordsJson(names: readonly string[], columns: readonly ArrayLike<Cell>[], numRows: number): string {
  if (numRows === 0) return "[]";
  if (names.length === 0) return `[${new Array<string>(numRows).fill("{}").join(",")}]`;
  const keys = names.map((name, c) => `${c === 0 ? "{" : ","}${JSON.stringify(name)}:`);
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
