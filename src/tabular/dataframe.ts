import { createRequire } from "node:module";
import type { DataFrame, Series } from "danfojs-node";
import type { Cell, ColumnTable } from "./column-table.js";
import { FormatError } from "./errors.js";

type Danfo = typeof import("danfojs-node");

let danfo: Danfo | undefined;

/**
 * The danfojs-node module, loaded on first use.
 *
 * NB: loading danfojs pulls in TensorFlow.js (≈0.6 s); models that take plain columns, records or
 * Arrow never pay for it.
 */
export function loadDanfo(): Danfo {
  danfo ??= createRequire(import.meta.url)("danfojs-node") as Danfo;
  return danfo;
}

/** True for a danfojs DataFrame (from this or any other copy of danfojs). */
export function isDataFrame(value: unknown): value is DataFrame {
  return (
    typeof value === "object" && value !== null && "$isSeries" in value && (value as { $isSeries: unknown }).$isSeries === false && "getColumnData" in value
  );
}

/** True for a danfojs Series. */
export function isSeries(value: unknown): value is Series {
  return typeof value === "object" && value !== null && "$isSeries" in value && (value as { $isSeries: unknown }).$isSeries === true;
}

/** Row arrays of columns, for danfojs. */
function rowsOf(columns: readonly ArrayLike<unknown>[], numRows: number): unknown[][] {
  const rows = new Array<unknown[]>(numRows);
  for (let r = 0; r < numRows; r++) {
    const row = new Array<unknown>(columns.length);
    for (let c = 0; c < columns.length; c++) row[c] = (columns[c] as ArrayLike<unknown>)[r];
    rows[r] = row;
  }
  return rows;
}

let reserved: ReadonlySet<string> | undefined;

/**
 * Column names a DataFrame cannot hold. NB: danfojs makes each column a property of its frame, so a
 * column named after a member the frame reads its own data through — `columns`, `getColumnData`,
 * the `$`-prefixed internals — replaces that member, and the frame breaks (`columns`: an endless
 * recursion on first use).
 */
function reservedNames(): ReadonlySet<string> {
  if (!reserved) {
    const names = new Set(["columns", "getColumnData"]);
    const { DataFrame } = loadDanfo();
    for (let o: object | null = new DataFrame([[0]], { columns: ["a"] }); o && o !== Object.prototype; o = Object.getPrototypeOf(o) as object | null) {
      for (const name of Object.getOwnPropertyNames(o)) if (name.startsWith("$")) names.add(name);
    }
    reserved = names;
  }
  return reserved;
}

/**
 * Builds a danfojs DataFrame from a table, columns in the table's order; an empty table keeps its
 * column names.
 * NB: from rows and a column list, never an object of columns: an object puts whole-number names
 * ("2019") first, and a column named `constructor` or `__proto__` confuses danfojs.
 * @throws FormatError for rows without any column, or a column named after a member danfojs reads
 * its frame through (`columns`, `$data`, ...): a DataFrame cannot hold them.
 */
export function toDataFrame(table: ColumnTable): DataFrame {
  if (table.numRows > 0 && table.names.length === 0)
    throw new FormatError(`The input has ${table.numRows} rows but no columns; a DataFrame needs at least one column.`);
  const names = reservedNames();
  const clash = table.names.find((name) => names.has(name));
  if (clash !== undefined) {
    throw new FormatError(
      `The column "${clash}" cannot be a DataFrame column: danfojs makes each column a property of its frame, and "${clash}" is one the frame uses itself. Rename the column.`,
    );
  }
  return frameOfColumns(table.names, table.columns, table.numRows);
}

/**
 * A danfojs DataFrame of named columns, in their order (see `toDataFrame`), optionally with an
 * index and dtypes (to rebuild a frame exactly).
 */
export function frameOfColumns(
  names: readonly string[],
  columns: readonly ArrayLike<unknown>[],
  numRows: number,
  options: { index?: (string | number)[]; dtypes?: string[] } = {},
): DataFrame {
  const { DataFrame } = loadDanfo();
  if (numRows === 0 || names.length === 0) return new DataFrame([], { columns: [...names] });
  return new DataFrame(rowsOf(columns, numRows) as never, {
    columns: [...names],
    ...(options.index ? { index: options.index } : {}),
    ...(options.dtypes ? { dtypes: options.dtypes as never } : {}),
  });
}

/** The columns of a danfojs DataFrame as a table (cells are shared, arrays are fresh). */
export function fromDataFrame(frame: DataFrame): ColumnTable {
  const names = [...(frame.columns as string[])];
  if (frame.shape[0] === 0) return { names, columns: names.map(() => []), numRows: 0 };
  const data = frame.getColumnData as unknown as Cell[][];
  return { names, columns: data.map((c) => Array.from(c)), numRows: frame.shape[0] as number };
}

/**
 * A copy of a DataFrame that is still a DataFrame of this danfojs (danfojs' own `copy()` returns
 * an instance of its base class). `deep` also clones object cells.
 */
export function cloneDataFrame(frame: DataFrame, deep: boolean): DataFrame {
  const { DataFrame } = loadDanfo();
  const names = [...(frame.columns as string[])];
  if (frame.shape[0] === 0) return new DataFrame([], { columns: names });
  const columns = (frame.getColumnData as unknown as unknown[][]).map((column) => (deep ? structuredClone(column) : column));
  return frameOfColumns(names, columns, frame.shape[0] as number, {
    index: [...(frame.index as (string | number)[])],
    dtypes: [...(frame.dtypes as string[])],
  });
}
