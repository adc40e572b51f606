import type { Table } from "apache-arrow";
import type { DataFrame } from "./dataframe-types.js";
import { toArrow } from "./arrow.js";
import { tableToColumns, tableToRecords, withPlainColumns, type Cell, type Column, type ColumnTable } from "./column-table.js";
import { toDataFrame } from "./dataframe.js";
import { FormatError } from "./errors.js";

import { INPUT_TYPES, type InputType } from "../util/index.js";

export { INPUT_TYPES, type InputType };

/** Checks an input type named in a model or by a user. */
export function parseInputType(value: unknown): InputType {
  if (typeof value === "string" && (INPUT_TYPES as readonly string[]).includes(value)) return value as InputType;
  throw new FormatError(`Invalid input type ${JSON.stringify(value)}. Use one of: ${INPUT_TYPES.join(", ")}.`);
}

/**
 * How a `columns` input hands numeric columns to nodes: `typed` as typed arrays where they travel
 * as such (numbers without missing values), `plain` always as plain arrays.
 */
export const COLUMN_ARRAYS = ["typed", "plain"] as const;
export type ColumnArrays = (typeof COLUMN_ARRAYS)[number];

/**
 * Builds what the pipeline's input dataset receives, once, from the request's table. For
 * `columns`, `arrays: "plain"` copies typed-array columns into plain arrays.
 */
export function toInputType(
  table: ColumnTable,
  type: InputType,
  arrays: ColumnArrays = "typed",
): DataFrame | Record<string, Column> | Record<string, Cell>[] | Table {
  switch (type) {
    case "dataframe":
      return toDataFrame(table);
    case "columns":
      return tableToColumns(arrays === "plain" ? withPlainColumns(table) : table);
    case "records":
      return tableToRecords(table);
    case "arrow":
      return toArrow(table);
  }
}
