import { createRequire } from "node:module";
import type * as Danfojs from "danfojs-node";
import type { Cell, ColumnTable } from "./column-table.js";
import type { DataFrame, Series } from "./dataframe-types.js";
import { FormatError } from "./errors.js";

// NB: danfojs-node's types are used inside this module only; what it exports names pipeserve's own
// DataFrame and Series (dataframe-types.ts), so pipeserve's .d.ts files never import danfojs-node's.
type Danfo = typeof Danfojs;
type DanfoFrame = Danfojs.DataFrame;

let danfo: Danfo | undefined;

function danfoModule(): Danfo {
  danfo ??= createRequire(import.meta.url)("danfojs-node") as Danfo;
  return danfo;
}

/**
 * The danfojs-node module, loaded on first use. Typed by the caller, who may have danfojs-node's
 * types: `loadDanfo<typeof import("danfojs-node")>()`.
 *
 * NB: loading danfojs pulls in TensorFlow.js (≈0.6 s); models that take plain columns, records or
 * Arrow never pay for it.
 */
export function loadDanfo<T = unknown>(): T {
  return danfoModule() as T;
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
    const { DataFrame } = danfoModule();
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
export function toDataFrame<F extends DataFrame = DataFrame>(table: ColumnTable): F {
  if (table.numRows > 0 && table.names.length === 0)
    throw new FormatError(`The input has ${table.numRows} rows but no columns; a DataFrame needs at least one column.`);
  const names = reservedNames();
  const clash = table.names.find((name) => names.has(name));
  if (clash !== undefined) {
    throw new FormatError(
      `The column "${clash}" cannot be a DataFrame column: danfojs makes each column a property of its frame, and "${clash}" is one the frame uses itself. Rename the column.`,
    );
  }
  return frameOfColumns<F>(table.names, table.columns, table.numRows);
}

/** A danfojs frame as pipeserve's DataFrame type names it (it is one: see dataframe-types.ts). */
const asFrame = <F extends DataFrame = DataFrame>(frame: DanfoFrame): F => frame as unknown as F;

/**
 * A danfojs DataFrame of named columns, in their order (see `toDataFrame`), optionally with an
 * index and dtypes (to rebuild a frame exactly).
 */
export function frameOfColumns<F extends DataFrame = DataFrame>(
  names: readonly string[],
  columns: readonly ArrayLike<unknown>[],
  numRows: number,
  options: { index?: (string | number)[]; dtypes?: string[] } = {},
): F {
  const { DataFrame } = danfoModule();
  if (numRows === 0 || names.length === 0) return asFrame<F>(new DataFrame([], { columns: [...names] }));
  return asFrame<F>(
    new DataFrame(rowsOf(columns, numRows) as never, {
      columns: [...names],
      ...(options.index ? { index: options.index } : {}),
      ...(options.dtypes ? { dtypes: options.dtypes as never } : {}),
    }),
  );
}

/** The columns of a danfojs DataFrame as a table (cells are shared, arrays are fresh). */
export function fromDataFrame(frame: DataFrame): ColumnTable {
  const names = [...(frame.columns as string[])];
  if (frame.shape[0] === 0) return { names, columns: names.map(() => []), numRows: 0 };
  const data = (frame as unknown as DanfoFrame).getColumnData as unknown as Cell[][];
  return { names, columns: data.map((c) => Array.from(c)), numRows: frame.shape[0] as number };
}

/**
 * A copy of a DataFrame that is still a DataFrame of this danfojs (danfojs' own `copy()` returns
 * an instance of its base class). `deep` also clones object cells.
 */
export function cloneDataFrame<F extends DataFrame>(frame: F, deep: boolean): F {
  const { DataFrame } = danfoModule();
  const names = [...(frame.columns as string[])];
  if (frame.shape[0] === 0) return asFrame<F>(new DataFrame([], { columns: names }));
  const columns = ((frame as unknown as DanfoFrame).getColumnData as unknown as unknown[][]).map((column) => (deep ? structuredClone(column) : column));
  return frameOfColumns<F>(names, columns, frame.shape[0] as number, {
    index: [...(frame.index as (string | number)[])],
    dtypes: [...(frame.dtypes as string[])],
  });
}
