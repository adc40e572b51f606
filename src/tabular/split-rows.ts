import { isColumnTable, isColumnsObject } from "./as-table.js";
import { setKey, sliceTable, type Cell, type ColumnTable } from "./column-table.js";
import { fromDataFrame, isDataFrame, isSeries } from "./dataframe.js";

function sliceColumnsObject(output: Record<string, ArrayLike<unknown>>, start: number, end: number): Record<string, unknown> {
  const part: Record<string, unknown> = {};
  for (const key of Object.keys(output)) setKey(part, key, (output[key] as unknown as { slice(s: number, e: number): unknown }).slice(start, end));
  return part;
}

function splitTable(table: ColumnTable, counts: readonly number[]): ColumnTable[] {
  const parts: ColumnTable[] = [];
  let start = 0;
  for (const n of counts) {
    parts.push(sliceTable(table, start, start + n));
    start += n;
  }
  return parts;
}

/**
 * The output of one run over several stacked inputs, split back into one output per input:
 * `counts[i]` rows for input `i`, in order. Each part is of a kind that `encodePredictions`,
 * `outputToTable` and the tensor encoder write exactly as they would the output of that input's
 * rows alone: a `ColumnTable` stays one, a DataFrame or Series becomes a `ColumnTable` of the same
 * columns, an object of columns stays one, a list or typed array is sliced.
 *
 * @returns `undefined` when the output is not row-aligned: not one of those kinds, or its number of
 *   rows is not the sum of `counts` (then the inputs must be run one by one).
 */
export function splitRows(output: unknown, counts: readonly number[]): unknown[] | undefined {
  let total = 0;
  for (const n of counts) total += n;
  if (isColumnTable(output)) return output.numRows === total ? splitTable(output, counts) : undefined;
  if (isDataFrame(output)) return (output.shape[0] as number) === total ? splitTable(fromDataFrame(output), counts) : undefined;
  if (isSeries(output)) {
    const values = Array.from(output.values as Cell[]);
    if (values.length !== total) return undefined;
    const name = String((output.columns as string[] | undefined)?.[0] ?? "0");
    return splitTable({ names: [name], columns: [values], numRows: total }, counts);
  }
  let sliceable: { slice(start: number, end: number): unknown; length: number } | undefined;
  let columns: Record<string, ArrayLike<unknown>> | undefined;
  if (Array.isArray(output) || (ArrayBuffer.isView(output) && !(output instanceof DataView))) sliceable = output as unknown as typeof sliceable;
  else if (isColumnsObject(output)) columns = output;
  else return undefined;
  const length = sliceable ? sliceable.length : (Object.values(columns as object)[0] as ArrayLike<unknown>).length;
  if (length !== total) return undefined;
  const parts: unknown[] = [];
  let start = 0;
  for (const n of counts) {
    parts.push(sliceable ? sliceable.slice(start, start + n) : sliceColumnsObject(columns as Record<string, ArrayLike<unknown>>, start, start + n));
    start += n;
  }
  return parts;
}
