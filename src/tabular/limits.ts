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
