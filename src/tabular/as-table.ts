import { isArrowTable } from "./arrow-lib.js";
import { fromArrow } from "./arrow.js";
import { isNumericArray, tableFromColumns, tableFromRecords, type Cell, type Column, type ColumnTable } from "./column-table.js";
import { fromDataFrame, isDataFrame, isSeries } from "./dataframe.js";
import { FormatError } from "./errors.js";

/** True for a `ColumnTable`. */
export function isColumnTable(value: unknown): value is ColumnTable {
  return (
    typeof value === "object" &&
    value !== null &&
    Array.isArray((value as ColumnTable).names) &&
    Array.isArray((value as ColumnTable).columns) &&
    typeof (value as ColumnTable).numRows === "number"
  );
}

/**
 * Checks a `ColumnTable` a node built by hand holds together: one column per name, each `numRows`
 * long. `what` names it in the message ("the inference output").
 * @throws FormatError naming what does not fit.
 */
export function checkColumnTable(table: ColumnTable, what = "the table"): ColumnTable {
  const { names, columns, numRows } = table;
  const fix = "give one column per name, each numRows long";
  if (!Number.isSafeInteger(numRows) || numRows < 0)
    throw new FormatError(`${what} is a ColumnTable whose numRows is ${String(numRows)}, not a count of rows.`);
  if (names.length !== columns.length)
    throw new FormatError(`${what} is a ColumnTable with ${names.length} names [${names.join(", ")}] but ${columns.length} columns: ${fix}.`);
  columns.forEach((column, i) => {
    const length = Array.isArray(column) || (ArrayBuffer.isView(column) && !(column instanceof DataView)) ? (column as ArrayLike<unknown>).length : undefined;
    if (length !== numRows)
      throw new FormatError(
        `${what} is a ColumnTable whose column "${String(names[i])}" ${length === undefined ? "is no array" : `holds ${length} values`} while numRows is ${numRows}: ${fix}.`,
      );
  });
  return table;
}

/**
 * True for a plain object of equal-length column arrays (`{ species: [...], probability: [...] }`):
 * what a pipeline with `inputType: "columns"` naturally returns, read as a table.
 */
export function isColumnsObject(value: unknown): value is Record<string, ArrayLike<unknown>> {
  if (value === null || typeof value !== "object" || Array.isArray(value) || ArrayBuffer.isView(value) || value instanceof Date) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  if (proto !== Object.prototype && proto !== null) return false;
  let length = -1;
  let keys = 0;
  for (const key in value) {
    const column = (value as Record<string, unknown>)[key];
    if (!Array.isArray(column) && !(ArrayBuffer.isView(column) && !(column instanceof DataView))) return false;
    const n = (column as ArrayLike<unknown>).length;
    if (length === -1) length = n;
    else if (n !== length) return false;
    keys++;
  }
  return keys > 0;
}

/**
 * Any tabular value as a `ColumnTable`: a danfojs DataFrame or Series, an Arrow table, a
 * `ColumnTable`, an array of row objects, or an object of column arrays.
 */
export function asColumnTable(value: unknown): ColumnTable {
  if (isColumnTable(value)) return checkColumnTable(value);
  if (isDataFrame(value)) return fromDataFrame(value);
  if (isSeries(value)) {
    const name = String((value.columns as string[] | undefined)?.[0] ?? "0");
    return { names: [name], columns: [Array.from(value.values as Cell[])], numRows: value.shape[0] as number };
  }
  if (isArrowTable(value)) return fromArrow(value);
  if (Array.isArray(value)) return tableFromRecords(value);
  if (value !== null && typeof value === "object" && Object.values(value).every((c) => Array.isArray(c) || ArrayBuffer.isView(c))) {
    return tableFromColumns(
      Object.fromEntries(Object.entries(value).map(([k, c]) => [k, Array.isArray(c) || isNumericArray(c) ? (c as Column) : Array.from(c as ArrayLike<Cell>)])),
    );
  }
  throw new FormatError(
    `Expected tabular data (a DataFrame, an Arrow table, an array of row objects or an object of columns), got ${value === null ? "null" : typeof value}.`,
  );
}

/**
 * A model's output as a table, for the formats that need one (CSV, Arrow, Parquet, tensors): a
 * list of plain values or a typed array becomes one column named `unnamed` (`"0"`, as MLflow names
 * an unnamed Series); anything tabular goes through `asColumnTable`.
 * @throws FormatError when the output is not tabular.
 */
export function outputToTable(output: unknown, unnamed = "0"): ColumnTable {
  if (isNumericArray(output)) return { names: [unnamed], columns: [output], numRows: output.length };
  if (ArrayBuffer.isView(output) && !(output instanceof DataView)) {
    const values = Array.from(output as unknown as ArrayLike<Cell>);
    return { names: [unnamed], columns: [values], numRows: values.length };
  }
  if (Array.isArray(output) && output.every((v) => v === null || typeof v !== "object" || v instanceof Date || v instanceof Uint8Array)) {
    return { names: [unnamed], columns: [output as Cell[]], numRows: output.length };
  }
  return asColumnTable(output);
}
