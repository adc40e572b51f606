import { parse } from "csv-parse/sync";
import { stringify } from "csv-stringify/sync";
import type { Cell, ColumnTable } from "./column-table.js";
import { FormatError } from "./errors.js";

const NUMBER = /^[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$/;

/**
 * A decimal number, `NaN` or ±`inf`/`infinity` (any case) written as text, or `undefined`: the one
 * reading of numbers in text, for CSV cells and for text typed by a signature.
 */
export function parseNumberText(text: string): number | undefined {
  const c = text.charCodeAt(0);
  if (((c >= 48 && c <= 57) || c === 45 || c === 43 || c === 46) && NUMBER.test(text)) return Number(text);
  switch (text.toLowerCase()) {
    case "nan":
      return Number.NaN;
    case "inf":
    case "+inf":
    case "infinity":
    case "+infinity":
      return Number.POSITIVE_INFINITY;
    case "-inf":
    case "-infinity":
      return Number.NEGATIVE_INFINITY;
    default:
      return undefined;
  }
}

/**
 * Turns one CSV cell into a value: empty is missing (`null`), a number (see `parseNumberText`) is
 * a number, `true`/`false` (any case) is a boolean, anything else a string. Every cell is read
 * alone, so a file read in chunks gives the same values as read whole.
 */
export function inferCsvCell(raw: string): Cell {
  if (raw === "") return null;
  const n = parseNumberText(raw);
  if (n !== undefined) return n;
  const lower = raw.toLowerCase();
  if (lower === "true") return true;
  if (lower === "false") return false;
  return raw;
}

export interface CsvParseOptions {
  /** Field delimiter, `,` by default. */
  delimiter?: string;
  /** Keep every cell as its raw string (empty cells still become `null`). */
  raw?: boolean;
}

/** Builds columns from parsed CSV records whose first row is the header. */
export function tableFromCsvRecords(header: readonly string[], rows: readonly string[][], raw: boolean, firstLine = 2): ColumnTable {
  const seen = new Set<string>();
  for (const name of header) {
    if (seen.has(name)) throw new FormatError(`The CSV header names the column "${name}" twice. Column names must be unique.`);
    seen.add(name);
  }
  const columns: Cell[][] = header.map(() => new Array<Cell>(rows.length));
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r] as string[];
    if (row.length !== header.length) {
      throw new FormatError(`CSV line ${firstLine + r} has ${row.length} fields but the header has ${header.length}.`);
    }
    for (let c = 0; c < header.length; c++) {
      const cell = row[c] as string;
      (columns[c] as Cell[])[r] = raw ? (cell === "" ? null : cell) : inferCsvCell(cell);
    }
  }
  return { names: [...header], columns, numRows: rows.length };
}

/** Parses CSV text with a header row into a table. */
export function parseCsv(text: string | Uint8Array, options: CsvParseOptions = {}): ColumnTable {
  let records: string[][];
  try {
    records = parse(typeof text === "string" ? text : Buffer.from(text.buffer, text.byteOffset, text.byteLength), {
      delimiter: options.delimiter ?? ",",
      bom: true,
      relax_column_count: true,
      skip_empty_lines: true,
    }) as string[][];
  } catch (cause) {
    throw new FormatError(`Could not parse the CSV input: ${(cause as Error).message}`, { cause });
  }
  const [header, ...rows] = records;
  if (!header) throw new FormatError("The CSV input is empty: it needs a header row naming the columns.");
  return tableFromCsvRecords(header, rows, options.raw ?? false);
}

/** Formats one value for CSV: missing is an empty cell, dates ISO-8601, bytes base64. */
export function formatCsvCell(value: Cell): string {
  if (value === null || value === undefined) return "";
  if (typeof value === "number") return Number.isFinite(value) ? String(value) : Number.isNaN(value) ? "" : value > 0 ? "inf" : "-inf";
  if (typeof value === "string") return value;
  if (typeof value === "boolean" || typeof value === "bigint") return String(value);
  if (value instanceof Date) return value.toISOString();
  if (value instanceof Uint8Array) return Buffer.from(value).toString("base64");
  return JSON.stringify(value);
}

/** Writes a table as CSV text with a header row. `header: false` leaves it out (for appending chunks). */
export function toCsv(table: ColumnTable, options: { header?: boolean } = {}): string {
  const rows: string[][] = [];
  if (options.header ?? true) rows.push([...table.names]);
  for (let r = 0; r < table.numRows; r++) rows.push(table.columns.map((c) => formatCsvCell(c[r])));
  return stringify(rows);
}
