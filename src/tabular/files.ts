import { readFile } from "node:fs/promises";
import { basename, extname } from "node:path";
import { writeFileAtomic } from "../util/index.js";
import { decodeArrowIpc, encodeArrowIpc, fromArrow, toArrow } from "./arrow.js";
import { tableFromRecords, tableToRecords, type ColumnTable } from "./column-table.js";
import { parseCsv, toCsv, type CsvParseOptions } from "./csv.js";
import { FormatError } from "./errors.js";
import { parseJsonLines, toJsonLines } from "./json-lines.js";
import { holdsNaN, nanAsMissing, parseJsonText } from "./json-parse.js";
import { toJsonValue } from "./json-values.js";
import { arrowToParquet, parquetToArrow } from "./parquet.js";

/** The file formats tables are read from and written to. */
export const TABLE_FORMATS = ["csv", "json", "jsonl", "parquet", "arrow", "arrows"] as const;
export type TableFormat = (typeof TABLE_FORMATS)[number];

const EXTENSIONS: Readonly<Record<string, TableFormat>> = {
  ".csv": "csv",
  ".json": "json",
  ".jsonl": "jsonl",
  ".ndjson": "jsonl",
  ".parquet": "parquet",
  ".pq": "parquet",
  ".arrow": "arrow",
  ".feather": "arrow",
  ".ipc": "arrow",
  ".arrows": "arrows",
};

/** The format a file name implies, or an error listing the known extensions. */
export function formatFromPath(path: string): TableFormat {
  const format = EXTENSIONS[extname(path).toLowerCase()];
  if (!format) {
    throw new FormatError(
      `Cannot tell the format of "${basename(path)}" from its extension. Use one of ${Object.keys(EXTENSIONS).join(", ")}, or name the format.`,
    );
  }
  return format;
}

/** Checks a format name given by a user. */
export function parseTableFormat(name: string): TableFormat {
  if ((TABLE_FORMATS as readonly string[]).includes(name)) return name as TableFormat;
  throw new FormatError(`Unknown table format "${name}". Use one of: ${TABLE_FORMATS.join(", ")}.`);
}

/** Decodes a whole table from bytes of the given format. */
export function decodeTable(bytes: Uint8Array, format: TableFormat, options: CsvParseOptions = {}): ColumnTable {
  switch (format) {
    case "csv":
      return parseCsv(bytes, options);
    case "jsonl":
      return parseJsonLines(Buffer.from(bytes).toString("utf8"));
    case "json": {
      let value: unknown;
      try {
        value = parseJsonText(Buffer.from(bytes).toString("utf8"));
      } catch (cause) {
        throw new FormatError(`Invalid JSON: ${(cause as Error).message}`, { cause });
      }
      if (!Array.isArray(value)) throw new FormatError("A JSON table file must hold an array of row objects.");
      // A bare NaN token (as Python's json writes a missing float) is a missing value.
      return holdsNaN(value) ? nanAsMissing(tableFromRecords(value)) : tableFromRecords(value);
    }
    case "parquet":
      return fromArrow(parquetToArrow(bytes));
    case "arrow":
    case "arrows":
      return fromArrow(decodeArrowIpc(bytes));
  }
}

/** Encodes a whole table in the given format (a CSV with `options.delimiter`, `,` by default). */
export function encodeTable(table: ColumnTable, format: TableFormat, options: Pick<CsvParseOptions, "delimiter"> = {}): Uint8Array | string {
  switch (format) {
    case "csv":
      return toCsv(table, options.delimiter === undefined ? {} : { delimiter: options.delimiter });
    case "jsonl":
      return toJsonLines(table);
    case "json":
      return JSON.stringify(toJsonValue(tableToRecords(table)));
    case "parquet":
      return arrowToParquet(toArrow(table));
    case "arrow":
      return encodeArrowIpc(toArrow(table), "file");
    case "arrows":
      return encodeArrowIpc(toArrow(table), "stream");
  }
}

/** Reads a whole table file; the format comes from the extension unless given. */
export async function readTableFile(path: string, format: TableFormat = formatFromPath(path), options: CsvParseOptions = {}): Promise<ColumnTable> {
  return decodeTable(await readFile(path), format, options);
}

/** Writes a whole table file atomically; the format comes from the extension unless given (a CSV with `options.delimiter`). */
export async function writeTableFile(
  path: string,
  table: ColumnTable,
  format: TableFormat = formatFromPath(path),
  options: Pick<CsvParseOptions, "delimiter"> = {},
): Promise<void> {
  await writeFileAtomic(path, encodeTable(table, format, options));
}
