import { FormatError } from "./errors.js";

/**
 * A value in a column: numbers, strings, booleans, dates, bytes, big integers, and `null` for a
 * missing value. Anything else (nested objects, arrays) may pass through untouched.
 */
export type Cell = number | string | boolean | bigint | Date | Uint8Array | null | unknown;

/** A typed array of numbers: how a numeric column without missing values may travel. */
export type NumericArray = Float64Array | Float32Array | Int32Array | Int16Array | Int8Array | Uint32Array | Uint16Array | Uint8Array;

/**
 * One column's values: a plain array of cells, or a typed array of numbers (a numeric column
 * without missing values, e.g. an Arrow vector's own buffer). Index it and read `length`; use
 * `columnValues` for a plain array.
 */
export type Column = Cell[] | NumericArray;

/**
 * The light in-memory table every conversion goes through: column names in order, one array per
 * column, all of `numRows` length. Building one costs next to nothing, so request parsing,
 * signature enforcement and output encoding work on it, and a danfojs DataFrame or an Arrow table
 * is built only where someone needs one.
 */
export interface ColumnTable {
  readonly names: readonly string[];
  readonly columns: readonly Column[];
  readonly numRows: number;
}

/** True for a typed array of numbers (not a DataView, not a BigInt64Array). */
export function isNumericArray(value: unknown): value is NumericArray {
  return ArrayBuffer.isView(value) && !(value instanceof DataView) && !(value instanceof BigInt64Array) && !(value instanceof BigUint64Array);
}

/** A column as a plain array: itself when it is one, a copy of a typed array's numbers otherwise. */
export function columnValues(column: Column): Cell[] {
  return Array.isArray(column) ? column : Array.from(column);
}

/** A table whose columns are all plain arrays (typed arrays copied), for code that wants `Cell[]`. */
export function withPlainColumns(table: ColumnTable): ColumnTable {
  if (table.columns.every((c) => Array.isArray(c))) return table;
  return { names: table.names, columns: table.columns.map(columnValues), numRows: table.numRows };
}

/** Builds a table from parallel names and columns, checking every column has the same length. */
export function createTable(names: readonly string[], columns: readonly Column[]): ColumnTable {
  if (names.length !== columns.length) {
    throw new FormatError(`Got ${names.length} column names for ${columns.length} columns.`);
  }
  const seen = new Set<string>();
  for (const name of names) {
    if (seen.has(name)) throw new FormatError(`Duplicate column name "${name}". Column names must be unique.`);
    seen.add(name);
  }
  const numRows = columns[0]?.length ?? 0;
  columns.forEach((column, i) => {
    if (column.length !== numRows) {
      throw new FormatError(`Column "${names[i]}" has ${column.length} values but column "${names[0]}" has ${numRows}. All columns must have the same length.`);
    }
  });
  return { names, columns, numRows };
}

/** A table from an object of columns, in the object's key order. */
export function tableFromColumns(data: Readonly<Record<string, readonly Cell[] | NumericArray>>): ColumnTable {
  const names = Object.keys(data);
  return createTable(
    names,
    names.map((n) => {
      const column = data[n] as readonly Cell[] | NumericArray;
      return isNumericArray(column) ? column : Array.from(column);
    }),
  );
}

/** A table from row arrays; every row must have `names.length` cells. */
export function tableFromRows(names: readonly string[], rows: readonly (readonly Cell[])[]): ColumnTable {
  const columns: Cell[][] = names.map(() => new Array<Cell>(rows.length));
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r] as readonly Cell[];
    if (!Array.isArray(row)) throw new FormatError(`Row ${r} is not an array of values.`);
    if (row.length !== names.length) {
      throw new FormatError(`Row ${r} has ${row.length} values but there are ${names.length} columns.`);
    }
    for (let c = 0; c < names.length; c++) (columns[c] as Cell[])[r] = row[c];
  }
  return { names, columns, numRows: rows.length };
}

/**
 * A table from row objects. Columns appear in first-seen order; a key missing from a row is a
 * missing value (`null`).
 */
export function tableFromRecords(records: readonly unknown[]): ColumnTable {
  const index = new Map<string, number>();
  const columns: Cell[][] = [];
  for (let r = 0; r < records.length; r++) {
    const record = records[r];
    if (record === null || typeof record !== "object" || Array.isArray(record)) {
      throw new FormatError(`Record ${r} is not an object of column values.`);
    }
    for (const key in record) {
      let c = index.get(key);
      if (c === undefined) {
        c = columns.length;
        index.set(key, c);
        columns.push(new Array<Cell>(records.length).fill(null));
      }
      (columns[c] as Cell[])[r] = (record as Record<string, Cell>)[key];
    }
  }
  return { names: [...index.keys()], columns, numRows: records.length };
}

/** Row objects from a table, keys in column order. */
export function tableToRecords(table: ColumnTable): Record<string, Cell>[] {
  const out = new Array<Record<string, Cell>>(table.numRows);
  const { names, columns } = table;
  for (let r = 0; r < table.numRows; r++) {
    const row: Record<string, Cell> = {};
    for (let c = 0; c < names.length; c++) setKey(row, names[c] as string, (columns[c] as Column)[r]);
    out[r] = row;
  }
  return out;
}

/** An object of columns from a table (the columns are shared, not copied; typed arrays stay typed). */
export function tableToColumns(table: ColumnTable): Record<string, Column> {
  const out: Record<string, Column> = {};
  table.names.forEach((n, i) => setKey(out, n, table.columns[i] as Column));
  return out;
}

/** The table's columns whose names are in `names` (every column without), in the table's order. */
export function keepColumns(table: ColumnTable, names: ReadonlySet<string> | undefined): ColumnTable {
  if (!names) return table;
  const keep = table.names.map((name, i) => [name, i] as const).filter(([name]) => names.has(name));
  return { names: keep.map(([name]) => name), columns: keep.map(([, i]) => table.columns[i] as Column), numRows: table.numRows };
}

/** Rows `start` (inclusive) to `end` (exclusive) of a table. */
export function sliceTable(table: ColumnTable, start: number, end: number): ColumnTable {
  const columns = table.columns.map((c) => c.slice(start, end));
  return { names: table.names, columns, numRows: columns[0]?.length ?? Math.max(0, Math.min(end, table.numRows) - start) };
}

/** Stacks tables with the same column names, in order. */
export function concatTables(tables: readonly ColumnTable[]): ColumnTable {
  const first = tables[0];
  if (!first) return { names: [], columns: [], numRows: 0 };
  const key = first.names.join("\u0000");
  for (const t of tables) {
    if (t.names.join("\u0000") !== key) {
      throw new FormatError(`Cannot stack tables with columns [${t.names.join(", ")}] and [${first.names.join(", ")}].`);
    }
  }
  const columns = first.names.map((_, c) => concatColumns(tables.map((t) => t.columns[c] as Column)));
  return { names: first.names, columns, numRows: tables.reduce((n, t) => n + t.numRows, 0) };
}

/**
 * Columns one after another: a typed array when all are typed arrays of one kind, a plain array
 * otherwise (typed arrays' numbers copied into it).
 */
export function concatColumns(parts: readonly Column[]): Column {
  const first = parts[0];
  if (first !== undefined && !Array.isArray(first) && parts.every((p) => p.constructor === first.constructor)) {
    const out = new (first.constructor as new (n: number) => NumericArray)(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts as NumericArray[]) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }
  const out: Cell[] = [];
  for (const p of parts) for (let i = 0; i < p.length; i++) out.push(p[i]);
  return out;
}

/** Sets a key that may be any column name: `__proto__` becomes an own key, not the prototype. */
export function setKey(target: Record<string, unknown>, key: string, value: unknown): void {
  if (key === "__proto__") Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  else target[key] = value;
}
