import type { Table } from "apache-arrow";
import type { DataFrame } from "./dataframe-types.js";
import { toArrow } from "./arrow.js";
import { tableToColumns, tableToRecords, type Cell, type ColumnTable } from "./column-table.js";
import { toDataFrame } from "./dataframe.js";
import { FormatError } from "./errors.js";

import { INPUT_TYPES, type InputType } from "../util/index.js";

export { INPUT_TYPES, type InputType };

/** Checks an input type named in a model or by a user. */
export function parseInputType(value: unknown): InputType {
  if (typeof value === "string" && (INPUT_TYPES as readonly string[]).includes(value)) return value as InputType;
  throw new FormatError(`Invalid input type ${JSON.stringify(value)}. Use one of: ${INPUT_TYPES.join(", ")}.`);
}

/** Builds what the pipeline's input dataset receives, once, from the request's table. */
export function toInputType(table: ColumnTable, type: InputType): DataFrame | Record<string, Cell[]> | Record<string, Cell>[] | Table {
  switch (type) {
    case "dataframe":
      return toDataFrame(table);
    case "columns":
      return tableToColumns(table);
    case "records":
      return tableToRecords(table);
    case "arrow":
      return toArrow(table);
  }
}
