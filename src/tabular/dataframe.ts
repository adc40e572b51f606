import { createRequire } from "node:module";
import type { DataFrame, Series } from "danfojs-node";
import { setKey, type Cell, type ColumnTable } from "./column-table.js";

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
    typeof value === "object" &&
    value !== null &&
    "$isSeries" in value &&
    (value as { $isSeries: unknown }).$isSeries === false &&
    "getColumnData" in value
  );
}

/** True for a danfojs Series. */
export function isSeries(value: unknown): value is Series {
  return typeof value === "object" && value !== null && "$isSeries" in value && (value as { $isSeries: unknown }).$isSeries === true;
}

/** Builds a danfojs DataFrame from a table; an empty table keeps its column names. */
export function toDataFrame(table: ColumnTable): DataFrame {
  const { DataFrame } = loadDanfo();
  if (table.numRows === 0) return new DataFrame([], { columns: [...table.names] });
  const data: Record<string, Cell[]> = {};
  // NB: own keys: a column may be named `__proto__`.
  table.names.forEach((n, i) => setKey(data, n, table.columns[i] as Cell[]));
  return new DataFrame(data as never);
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
  const data: Record<string, unknown[]> = {};
  const columns = frame.getColumnData as unknown as unknown[][];
  names.forEach((n, i) => {
    const column = columns[i] ?? [];
    setKey(data, n, deep ? structuredClone(column) : Array.from(column));
  });
  return new DataFrame(data as never, {
    index: [...(frame.index as (string | number)[])],
    dtypes: [...(frame.dtypes as string[])] as never,
  });
}
