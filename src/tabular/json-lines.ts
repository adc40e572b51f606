import { tableFromRecords, tableToRecords, type ColumnTable } from "./column-table.js";
import { FormatError, LimitError } from "./errors.js";
import { holdsNaN, nanAsMissing } from "./json-parse.js";
import { SLICED_JSON_MIN, parseJsonInSlices, parseJsonWithin } from "./json-text.js";
import { toJsonValue } from "./json-values.js";
import { NO_LIMITS, type TableLimits, checkTableSize, formatCount, joinParts, nextTurn, tooManyRows } from "./limits.js";

/** About this many bytes of JSON Lines are read per event-loop turn by `parseJsonLinesInSlices`. */
const LINES_SLICE = 1 << 18;
const LF = 10;

/** The error for a line that cannot be read, naming the line (a limit's error stays as it is). */
export function lineError(cause: unknown, lineNo: number): unknown {
  if (cause instanceof SyntaxError) return new FormatError(`JSON Lines line ${lineNo} is not valid JSON: ${cause.message}`, { cause });
  if (cause instanceof FormatError && !(cause instanceof LimitError)) return new FormatError(`JSON Lines line ${lineNo}: ${cause.message}`, { cause });
  return cause;
}

/** The rows of JSON Lines as they are read: refused as soon as there are more than `maxRows`. */
class LineRecords {
  readonly records: unknown[] = [];
  readonly #limits: TableLimits;
  /** Whether a line held a bare NaN token (a missing value). */
  #nan = false;

  constructor(limits: TableLimits) {
    this.#limits = limits;
  }

  add(record: unknown): void {
    if (this.records.length >= this.#limits.maxRows) throw tooManyRows(`more than ${formatCount(this.#limits.maxRows)}`, this.#limits, "lines of JSON Lines");
    if (holdsNaN(record)) this.#nan = true;
    this.records.push(record);
  }

  /** The table, once its size is known to be within the limits (every distinct key is a column of every row). */
  table(): ColumnTable {
    const keys = new Set<string>();
    for (const record of this.records) {
      if (record !== null && typeof record === "object" && !Array.isArray(record)) for (const key in record) keys.add(key);
    }
    checkTableSize(this.records.length, keys.size, this.#limits, "JSON Lines");
    const table = tableFromRecords(this.records);
    return this.#nan ? nanAsMissing(table) : table;
  }
}

/**
 * Parses JSON Lines (one row object per line; blank lines skipped) into a table. With `limits`,
 * refused past `maxRows` lines or `maxCells` cells; every line is refused past MAX_JSON_DEPTH levels of nesting.
 */
export function parseJsonLines(text: string, firstLine = 1, limits: TableLimits = NO_LIMITS): ColumnTable {
  const rows = new LineRecords(limits);
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] as string).trim();
    if (line === "") continue;
    try {
      rows.add(parseJsonWithin(line, limits));
    } catch (cause) {
      throw lineError(cause, firstLine + i);
    }
  }
  return rows.table();
}

/** Whether a line holds only whitespace (a blank line, skipped). */
function isBlank(line: Uint8Array): boolean {
  for (const b of line) if (b !== 32 && b !== 9 && b !== 13) return false;
  return true;
}

/** The rows of a big JSON Lines body, made into a table a slice of lines at a time. */
class LineParts {
  readonly parts: ColumnTable[] = [];
  readonly #limits: TableLimits;
  readonly #keys = new Set<string>();
  #records: unknown[] = [];
  #rows = 0;
  /** Whether a line since the last flush held a bare NaN token (a missing value). */
  #nan = false;

  constructor(limits: TableLimits) {
    this.#limits = limits;
  }

  add(record: unknown): void {
    const row = this.#rows + this.#records.length;
    if (row >= this.#limits.maxRows) throw tooManyRows(`more than ${formatCount(this.#limits.maxRows)}`, this.#limits, "lines of JSON Lines");
    if (record === null || typeof record !== "object" || Array.isArray(record)) throw new FormatError(`Record ${row} is not an object of column values.`);
    if (holdsNaN(record)) this.#nan = true;
    this.#records.push(record);
  }

  /** Makes the lines read since the last flush a table, once every distinct key so far is known to fit the limits. */
  flush(): void {
    for (const record of this.#records) for (const key in record as object) this.#keys.add(key);
    this.#rows += this.#records.length;
    checkTableSize(this.#rows, this.#keys.size, this.#limits, "JSON Lines");
    if (this.#records.length > 0) {
      const part = tableFromRecords(this.#records);
      this.parts.push(this.#nan ? nanAsMissing(part) : part);
    }
    this.#records = [];
    this.#nan = false;
  }
}

/**
 * `parseJsonLines` for a request body (UTF-8 bytes) of any size, letting the event loop run every
 * quarter megabyte or so (and inside a line of a megabyte or more), so other requests are answered
 * meanwhile. Each line is decoded alone: the whole body is never one string.
 */
export async function parseJsonLinesInSlices(bytes: Uint8Array, limits: TableLimits = NO_LIMITS): Promise<ColumnTable> {
  const rows = new LineParts(limits);
  let lineNo = 0;
  let sinceTurn = 0;
  for (let start = 0; start <= bytes.length; ) {
    let end = bytes.indexOf(LF, start);
    if (end === -1) end = bytes.length;
    const line = bytes.subarray(start, end);
    lineNo++;
    sinceTurn += end - start + 1;
    start = end + 1;
    if (isBlank(line)) continue;
    try {
      rows.add(line.length >= SLICED_JSON_MIN ? await parseJsonInSlices(line, limits) : parseJsonWithin(line, limits));
    } catch (cause) {
      throw lineError(cause, lineNo);
    }
    if (sinceTurn >= LINES_SLICE) {
      sinceTurn = 0;
      rows.flush();
      await nextTurn();
    }
  }
  rows.flush();
  return joinParts(rows.parts);
}

/** Writes a table as JSON Lines, one row object per line. */
export function toJsonLines(table: ColumnTable): string {
  let out = "";
  for (const record of tableToRecords(table)) out += JSON.stringify(toJsonValue(record)) + "\n";
  return out;
}
