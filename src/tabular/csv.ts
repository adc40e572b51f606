import type { Cell, ColumnTable } from "./column-table.js";
import { csvParseSync } from "./csv-parse-lib.js";
import { plainCsvRecords } from "./csv-plain.js";
import { CsvScan } from "./csv-scan.js";
import { CSV_PARSE_OPTIONS, type RecordWithInfo, recordLines } from "./csv-stream.js";
import { FormatError } from "./errors.js";
import { utf8Text } from "./json-text.js";
import { type TableLimits, checkTableSize, joinParts, nextTurn } from "./limits.js";

// NB: no two parts can take the same digits: `\d+\.?\d*` could split a run of digits n ways, and a
// long cell of digits that is no number ("1111…1x") took the engine's backtracking n² steps (a
// 90 KB body held the server for 5 s).
const NUMBER = /^[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?$/;
/** Powers of ten up to 10^15, each exact in a double. */
const POW10 = Array.from({ length: 16 }, (_, k) => 10 ** k);

/**
 * A decimal number, `NaN` or ±`inf`/`infinity` (any case) written as text, or `undefined`: the one
 * reading of numbers in text, for CSV cells and for text typed by a signature.
 */
export function parseNumberText(text: string): number | undefined {
  // NB: most cells are a sign, digits and a point: read here (~5× faster than the regular
  // expression and Number()). With at most 15 digits the digits make an exact integer, divided by an
  // exact power of ten: one rounding, the correctly rounded value Number() gives.
  const n = text.length;
  let i = 0;
  let c = text.charCodeAt(0);
  const negative = c === 45;
  if (negative || c === 43) i = 1;
  let digits = 0;
  let mantissa = 0;
  let fraction = -1;
  for (; i < n; i++) {
    c = text.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      mantissa = mantissa * 10 + (c - 48);
      digits++;
      if (fraction >= 0) fraction++;
    } else if (c === 46 && fraction < 0) fraction = 0;
    else break;
  }
  if (i === n && digits > 0 && digits <= 15) {
    const value = fraction > 0 ? mantissa / (POW10[fraction] as number) : mantissa;
    return negative ? -value : value;
  }
  c = text.charCodeAt(0);
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
 * Turns one CSV cell into a value: empty and `NaN` (any case) are missing (`null`, as a bare `NaN`
 * token is in JSON), a number (see `parseNumberText`) is a number, `true`/`false` (any case) is a
 * boolean, anything else a string. Every cell is read alone, so a file read in chunks gives the
 * same values as read whole.
 */
export function inferCsvCell(raw: string): Cell {
  if (raw === "") return null;
  const n = parseNumberText(raw);
  if (n !== undefined) return Number.isNaN(n) ? null : n;
  const lower = raw.toLowerCase();
  if (lower === "true") return true;
  if (lower === "false") return false;
  return raw;
}

/**
 * A table of CSV text (read with `raw`) typed column by column, as pandas reads a file: a column
 * whose every value is a number becomes numbers, one of true/false values booleans, and any other
 * keeps its text as written ("007", "1.50" and all). NB: found by an audit: typed cell by cell, a
 * column of codes such as 1, 2, X12 mixed numbers and text, and training failed after its nodes ran
 * ("Cannot infer a type for input column"), where pandas reads such a column as text.
 */
export function typeCsvColumns(table: ColumnTable): ColumnTable {
  const columns = table.columns.map((column) => {
    const typed: Cell[] = new Array(column.length);
    let kind: string | undefined;
    for (let i = 0; i < column.length; i++) {
      const text = column[i] as Cell;
      if (text === null || text === undefined) {
        typed[i] = null;
        continue;
      }
      const value = typeof text === "string" ? inferCsvCell(text) : text;
      // NB: NaN text is missing in any column, as pandas reads it (found by a review: it made a text column raw).
      if (value === null) {
        typed[i] = null;
        continue;
      }
      const valueKind = typeof value;
      if (kind === undefined) kind = valueKind;
      else if (kind !== valueKind) return asText(column);
      typed[i] = value;
    }
    return typed;
  });
  return { ...table, columns };
}

/** A CSV column of mixed kinds as its text, its NaN cells missing (as pandas reads an object column). */
function asText(column: ArrayLike<Cell>): Cell[] {
  return Array.from(column, (text) => (text === null || text === undefined || (typeof text === "string" && inferCsvCell(text) === null) ? null : text));
}

export interface CsvParseOptions {
  /** Field delimiter, `,` by default. */
  delimiter?: string;
  /** Keep every cell as its raw string (empty cells still become `null`). */
  raw?: boolean;
  /** Refuse more rows or cells than these (a LimitError, 413), counted before any record is built. */
  limits?: TableLimits;
}

function checkCsvHeader(header: readonly string[]): void {
  const seen = new Set<string>();
  for (const name of header) {
    if (seen.has(name)) throw new FormatError(`The CSV header names the column "${name}" twice. Column names must be unique.`);
    seen.add(name);
  }
}

/**
 * Writes parsed CSV records into `columns`. A ragged record's message names its line as csv-parse
 * counted it (`recordLines`), else as `firstLine` numbers the first record.
 */
function putCsvRecords(columns: Cell[][], width: number, rows: readonly string[][], raw: boolean, firstLine: number): void {
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r] as string[];
    if (row.length !== width) {
      throw new FormatError(`CSV line ${recordLines.get(row) ?? firstLine + r} has ${row.length} fields but the header has ${width}.`);
    }
    for (let c = 0; c < width; c++) {
      const cell = row[c] as string;
      (columns[c] as Cell[])[r] = raw ? (cell === "" ? null : cell) : inferCsvCell(cell);
    }
  }
}

/** Builds columns from parsed CSV records whose first row is the header. */
export function tableFromCsvRecords(header: readonly string[], rows: readonly string[][], raw: boolean, firstLine = 2): ColumnTable {
  checkCsvHeader(header);
  const columns: Cell[][] = header.map(() => new Array<Cell>(rows.length));
  putCsvRecords(columns, header.length, rows, raw, firstLine);
  return { names: [...header], columns, numRows: rows.length };
}

/** The text csv-parse reads in `bytes` (UTF-8, bad bytes as U+FFFD), or `undefined` for bytes it reads as UTF-16 (after FF FE). */
function utf8ForCsv(bytes: Uint8Array): string | undefined {
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return undefined;
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("utf8");
}

/**
 * The records of CSV text, header first: by uDSV when the text is plain (see PlainCsvCheck), else by
 * csv-parse, noting the line each record ends on (`linesBefore` line ends precede the text).
 */
function csvRecords(text: string | Uint8Array, delimiter: string, linesBefore = 0): string[][] {
  const decoded = typeof text === "string" ? text : utf8ForCsv(text);
  const plain = decoded === undefined ? undefined : plainCsvRecords(decoded, delimiter);
  if (plain) return plain;
  try {
    const parsed = csvParseSync()(typeof text === "string" ? text : Buffer.from(text.buffer, text.byteOffset, text.byteLength), {
      delimiter,
      ...CSV_PARSE_OPTIONS,
      info: true,
    }) as unknown as RecordWithInfo[];
    return parsed.map(({ record, info }) => {
      recordLines.set(record, linesBefore + info.lines);
      return record;
    });
  } catch (cause) {
    throw new FormatError(`Could not parse the CSV input: ${(cause as Error).message}`, { cause });
  }
}

const EMPTY_CSV = "The CSV input is empty: it needs a header row naming the columns.";

/**
 * Parses CSV text with a header row into a table. With `limits`, the text's records are counted
 * first (quote-aware), so a body with too many rows or cells is refused before any is built.
 */
export function parseCsv(text: string | Uint8Array, options: CsvParseOptions = {}): ColumnTable {
  const delimiter = options.delimiter ?? ",";
  if (options.limits && delimiter.length === 1) {
    const bytes = typeof text === "string" ? Buffer.from(text, "utf8") : text;
    const scan = new CsvScan(bytes, delimiter, options.limits);
    scan.run(bytes.length);
    scan.finish();
  }
  const [header, ...rows] = csvRecords(text, delimiter);
  if (!header) throw new FormatError(EMPTY_CSV);
  // NB: the scan and csv-parse may read a lone \r differently: the limits hold for what was parsed.
  if (options.limits) checkTableSize(rows.length, header.length, options.limits, "CSV");
  return tableFromCsvRecords(header, rows, options.raw ?? false);
}

/** CSV request bodies of at least this many bytes are counted and parsed in slices. */
const SLICED_CSV_MIN = 1 << 20;
/** Bytes counted per event-loop turn, and about as many parsed per turn, at line ends. */
const CSV_SLICE = 1 << 18;
const CSV_CHUNK = 1 << 18;

/**
 * `parseCsv` for a request body (UTF-8 bytes, comma-delimited) of any size, without holding the
 * event loop for long: a megabyte or more is counted a slice per turn (refused as soon as a limit
 * is passed), then decoded and parsed a quarter megabyte of whole records at a time, so other
 * requests are answered meanwhile.
 * @throws FormatError (400) for bytes that are not UTF-8 or not CSV; LimitError (413) past the limits.
 */
export async function parseCsvInSlices(bytes: Uint8Array, options: { raw?: boolean; limits?: TableLimits } = {}): Promise<ColumnTable> {
  if (bytes.length < SLICED_CSV_MIN) return parseCsv(utf8Text(bytes), options);
  const scan = new CsvScan(bytes, ",", options.limits, CSV_CHUNK);
  for (let until = CSV_SLICE; !scan.done; until += CSV_SLICE) {
    scan.run(Math.min(until, bytes.length));
    await nextTurn();
  }
  scan.finish();
  let header: string[] | undefined;
  const parts: ColumnTable[] = [];
  let numRows = 0;
  let from = 0;
  let linesBefore = 0;
  for (const end of [...scan.bounds, bytes.length]) {
    // NB: chunks end at line ends, never inside a UTF-8 sequence.
    const slice = bytes.subarray(from, end);
    const records = csvRecords(utf8Text(slice), ",", linesBefore);
    linesBefore += lineEnds(slice);
    from = end;
    if (!header) {
      header = records.shift();
      if (!header) continue;
      checkCsvHeader(header);
    }
    // NB: the scan's count is csv-parse's unless a lone \r reads differently: the limits still hold.
    if (options.limits) checkTableSize(numRows + records.length, header.length, options.limits, "CSV");
    const columns: Cell[][] = header.map(() => new Array<Cell>(records.length));
    putCsvRecords(columns, header.length, records, options.raw ?? false, 2 + numRows);
    parts.push({ names: header, columns, numRows: records.length });
    numRows += records.length;
    await nextTurn();
  }
  if (!header) throw new FormatError(EMPTY_CSV);
  return parts.length === 0 ? { names: [...header], columns: header.map(() => []), numRows: 0 } : joinParts(parts);
}

/** How many line ends `bytes` holds, as an editor counts lines: `\r\n`, `\n` and a lone `\r` each one. */
function lineEnds(bytes: Uint8Array): number {
  let n = 0;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    if (b === 10 || (b === 13 && bytes[i + 1] !== 10)) n++;
  }
  return n;
}

/**
 * Formats one value for CSV: missing is an empty cell, dates ISO-8601, bytes base64. An invalid
 * Date is missing, as JSON writes it (null) and pandas its NaT: it threw JavaScript's bare "Invalid
 * time value" and failed the run or the answer.
 */
export function formatCsvCell(value: Cell): string {
  if (value === null || value === undefined) return "";
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? "" : value.toISOString();
  if (typeof value === "number") return Number.isFinite(value) ? String(value) : Number.isNaN(value) ? "" : value > 0 ? "inf" : "-inf";
  if (typeof value === "string") return value;
  if (typeof value === "boolean" || typeof value === "bigint") return String(value);
  if (value instanceof Uint8Array) return Buffer.from(value).toString("base64");
  return JSON.stringify(value);
}

const NEEDS_QUOTES = /[",\r\n]/;

/** One CSV field as csv-stringify writes it by default: quoted (quotes doubled) when it holds a quote, a comma or a line end. */
function csvField(text: string): string {
  return NEEDS_QUOTES.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/**
 * Writes a table as CSV text with a header row. `header: false` leaves it out (for appending chunks).
 * NB: the text csv-stringify writes (fields quoted when they must be, `\n` after every record),
 * built directly: csv-stringify cost as much as the whole prediction of a 100k-row file.
 */
export function toCsv(table: ColumnTable, options: { header?: boolean; delimiter?: string } = {}): string {
  if (options.delimiter !== undefined && options.delimiter !== ",") return toDelimited(table, options.delimiter, options.header ?? true);
  const columns = table.columns;
  const width = columns.length;
  let out = (options.header ?? true) ? `${width === 1 ? lonelyField(csvField(table.names[0] as string)) : table.names.map(csvField).join(",")}\n` : "";
  for (let r = 0; r < table.numRows; r++) {
    let line = "";
    for (let c = 0; c < width; c++) {
      const value = (columns[c] as Cell[])[r];
      // NB: a number's text never needs quotes.
      const text = typeof value === "number" && Number.isFinite(value) ? String(value) : csvField(formatCsvCell(value));
      line = c === 0 ? text : `${line},${text}`;
    }
    out += `${width === 1 ? lonelyField(line) : line}\n`;
  }
  return out;
}

/**
 * `toCsv` with another delimiter (a catalog's `sep: ";"`): a field is quoted when it holds the
 * delimiter, a quote or a line end. Not on a request's path: the fast path above is for commas.
 */
function toDelimited(table: ColumnTable, delimiter: string, header: boolean): string {
  const field = (text: string): string => (text.includes(delimiter) || NEEDS_QUOTES.test(text) ? `"${text.replaceAll('"', '""')}"` : text);
  const record = (fields: string[]): string => `${fields.length === 1 ? lonelyField(fields[0] as string) : fields.join(delimiter)}\n`;
  let out = header ? record(table.names.map(field)) : "";
  for (let r = 0; r < table.numRows; r++) out += record(table.columns.map((column) => field(formatCsvCell((column as Cell[])[r] as Cell))));
  return out;
}

/**
 * The field of a one-column record: an empty one is written `""`, as Python's csv module and
 * pandas write it. NB: written bare, the record was a blank line, which readers (pandas, and
 * pipeserve itself) skip: the rows after it moved up one (found by an audit).
 */
function lonelyField(text: string): string {
  return text === "" ? '""' : text;
}
