import type { InputCells } from "./chunk-jobs.js";
import { FormatError, SchemaError, enforceSchema, sliceTable, tableToRecords, toJsonValue, type ColumnSpec, type ColumnTable } from "../tabular/index.js";

/** A bad input row: its number in the input (from 0) and why it was refused. */
export interface BadRow {
  row: number;
  error: Error;
}

/** Whether an error is the input's fault (a value or a column the signature refuses), not the model's. */
export function isBadInput(error: unknown): error is FormatError | SchemaError {
  return error instanceof FormatError || error instanceof SchemaError;
}

/**
 * The bad rows of a chunk (by position in it) and the error for each, worded and numbered (from 1)
 * as checking that row alone words it. A refused value's error names its row (`data.row`), so the
 * chunk is checked in halves, not row by row: a range that passes is good as a whole; one that
 * fails gives up the row its error names, and the rest of the range is checked again, split in
 * the middle so that many bad rows cost O(n log n), not O(n²).
 *
 * NB: enforcement goes column by column in signature order and row by row within a column, and
 * a value's check does not depend on the other rows; so the first refusal in a range is the first
 * refusal of its row, the one checking the row alone gives. A refusal without a row (a missing
 * column) is the same for every row: each row of the range gets it, as each would alone.
 */
function findBadRows(table: ColumnTable, inputs: readonly ColumnSpec[], cells: InputCells, firstRow: number): Map<number, Error> {
  const bad = new Map<number, Error>();
  const check = (start: number, end: number): void => {
    if (start >= end) return;
    try {
      enforceSchema(sliceTable(table, start, end), inputs, { ...cells, rowOffset: firstRow + start + 1 });
      return;
    } catch (error) {
      if (!isBadInput(error)) throw error;
      if (error.data === undefined) {
        for (let r = start; r < end; r++) bad.set(r, error);
        return;
      }
      const at = error.data.row - firstRow - 1;
      if (!(at >= start && at < end)) throw error;
      bad.set(at, error);
      const middle = (start + end) >>> 1;
      if (at < middle) {
        check(start, at);
        check(at + 1, middle);
        check(middle, end);
      } else {
        check(start, middle);
        check(middle, at);
        check(at + 1, end);
      }
    }
  };
  check(0, table.numRows);
  return bad;
}

/**
 * Sorts a chunk that failed validation into good rows and bad rows (each with its error, in row
 * order, numbered in the input from 0). Without input columns in the signature no row is bad.
 */
export function splitBadRows(
  table: ColumnTable,
  inputs: readonly ColumnSpec[] | undefined,
  cells: InputCells,
  firstRow: number,
): { good: ColumnTable; bad: BadRow[] } {
  const errors = inputs ? findBadRows(table, inputs, cells, firstRow) : new Map<number, Error>();
  const keep: number[] = [];
  for (let r = 0; r < table.numRows; r++) if (!errors.has(r)) keep.push(r);
  const bad = [...errors].sort(([a], [b]) => a - b).map(([r, error]) => ({ row: firstRow + r, error }));
  const good: ColumnTable = { names: table.names, columns: table.columns.map((c) => keep.map((r) => c[r])), numRows: keep.length };
  return { good, bad };
}

/** The lines of OUTPUT.errors.jsonl for a chunk's bad rows: the row (from 1), the error and the row's data. */
export function badRowLines(table: ColumnTable, firstRow: number, bad: readonly BadRow[]): string {
  const lines = bad.map(({ row, error }) => {
    const record = tableToRecords(sliceTable(table, row - firstRow, row - firstRow + 1))[0];
    return JSON.stringify({ row: row + 1, error: error.message, data: toJsonValue(record) });
  });
  return lines.join("\n") + "\n";
}
