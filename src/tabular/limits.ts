import type { Cell, ColumnTable } from "./column-table.js";
import { LimitError } from "./errors.js";

/**
 * Bounds on the work one request may cause, checked while its body is decoded (before the table
 * is built, or as it is built), so a body under the byte limit can still not hold more rows or
 * cells than the server is willing to materialise. The server's `--max-rows` and `--max-cells`.
 */
export interface TableLimits {
  /** Rows a request may hold. */
  readonly maxRows: number;
  /** Cells (rows × columns, or values in a JSON body) a request may hold. */
  readonly maxCells: number;
}

/** The server's defaults: 1,000,000 rows and 20,000,000 cells per request. */
export const DEFAULT_LIMITS: TableLimits = { maxRows: 1_000_000, maxCells: 20_000_000 };

/** No bounds: what library callers get unless they pass limits. */
export const NO_LIMITS: TableLimits = { maxRows: Number.POSITIVE_INFINITY, maxCells: Number.POSITIVE_INFINITY };

/** A count as messages print it: `13,000,000`. */
export function formatCount(n: number): string {
  return n.toLocaleString("en-US");
}

const FIX_ROWS = "Send the rows in smaller requests, or start the server with a larger --max-rows.";
const FIX_CELLS = "Send fewer rows or columns per request, or start the server with a larger --max-cells.";

/** The refusal of a request with more than `maxRows` rows; `figure` says how many it has (`13,000,000`, `more than 1,000,000`). */
export function tooManyRows(figure: string, limits: TableLimits, where?: string): LimitError {
  const place = where ? ` (${where})` : "";
  return new LimitError(`The request has ${figure} rows${place}; the limit is ${formatCount(limits.maxRows)} rows per request (--max-rows). ${FIX_ROWS}`);
}

/** The refusal of a request with more than `maxCells` cells; `figure` says how many it has. */
export function tooManyCells(figure: string, limits: TableLimits, where?: string): LimitError {
  const place = where ? ` (${where})` : "";
  return new LimitError(`The request has ${figure} cells${place}; the limit is ${formatCount(limits.maxCells)} cells per request (--max-cells). ${FIX_CELLS}`);
}

/** Lets the event loop run other work (I/O, timers, other requests) before the caller goes on. */
export function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * Checks a table's size before it is built: `rows` rows of `columns` columns.
 * @throws LimitError (413) naming the figure, the limit and the flag that raises it.
 */
export function checkTableSize(rows: number, columns: number, limits: TableLimits, where?: string): void {
  if (rows > limits.maxRows) throw tooManyRows(formatCount(rows), limits, where);
  // NB: a table with no rows still holds its column names: a header of 30 million names is no request either.
  if (Math.max(rows, 1) * columns <= limits.maxCells) return;
  throw tooManyCells(
    rows === 0
      ? `${formatCount(columns)} columns (and no rows): at least ${formatCount(columns)}`
      : `${formatCount(rows)} rows × ${formatCount(columns)} columns = ${formatCount(rows * columns)}`,
    limits,
  );
}

/** Cells copied per event-loop turn by `joinParts`. */
const JOIN_SLICE = 1 << 17;

/**
 * Stacks tables read in slices into one, yielding to the event loop every JOIN_SLICE cells:
 * columns in first-seen order, missing values where a part lacks a column. NB: each column is
 * allocated whole and filled by index. Growing it row by row copies it whenever it outgrows its
 * store, and `Array.prototype.concat` is slow in any process that loaded apache-arrow (its vectors
 * set Symbol.isConcatSpreadable, which turns off V8's fast path): both held the event loop for a
 * quarter second or more per million rows.
 */
export async function joinParts(parts: readonly ColumnTable[]): Promise<ColumnTable> {
  const names: string[] = [];
  const seen = new Set<string>();
  for (const part of parts) {
    for (const name of part.names) {
      if (seen.has(name)) continue;
      seen.add(name);
      names.push(name);
    }
  }
  const numRows = parts.reduce((n, part) => n + part.numRows, 0);
  const indexes = parts.map((part) => new Map(part.names.map((name, i) => [name, i])));
  const columns: Cell[][] = [];
  let sinceTurn = 0;
  for (const name of names) {
    const column = new Array<Cell>(numRows);
    let at = 0;
    for (let p = 0; p < parts.length; p++) {
      const part = parts[p] as ColumnTable;
      const values = part.columns[indexes[p]?.get(name) ?? -1] as Cell[] | undefined;
      for (let r = 0; r < part.numRows; r++) column[at + r] = values ? values[r] : null;
      at += part.numRows;
      sinceTurn += part.numRows;
      if (sinceTurn >= JOIN_SLICE) {
        sinceTurn = 0;
        await nextTurn();
      }
    }
    columns.push(column);
  }
  return { names, columns, numRows };
}
