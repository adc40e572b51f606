import { isUtf8 } from "node:buffer";
import { type ColumnTable, keepColumns, tableFromRecords } from "./column-table.js";
import { holdsNaN, nanAsMissing } from "./json-parse.js";
import { parseJsonWithin } from "./json-text.js";
import { type BlockCounter, BlockEnds, type TextBlock, isRegularFile, readBlocks } from "./text-blocks.js";

const LF = 10;

/**
 * Cuts a JSON Lines file into blocks of `rowsPerBlock` lines that are not blank, or fewer whole
 * chunks of `chunkRows` once a block holds 8 MiB (the last may have fewer), each ending after a
 * line feed (a JSON text holds none unescaped). Each block says its line feeds, so that its
 * lines are numbered as over the whole file. Only a regular file (not a pipe) is cut: undefined
 * otherwise. Yields `{ rest: offset }` for a block that would pass `maxBlockBytes`.
 */
export async function jsonLinesBlocks(
  path: string,
  rowsPerBlock: number,
  chunkRows: number,
  maxBlockBytes?: number,
): Promise<AsyncGenerator<TextBlock | { rest: number }> | undefined> {
  if (!(await isRegularFile(path))) return undefined;
  return readBlocks(path, 0, new LineCounter(new BlockEnds(rowsPerBlock, chunkRows, maxBlockBytes)), maxBlockBytes);
}

/** Whether `bytes[start, end)` are only the whitespace `String#trim` removes that is ASCII (a blank line, skipped). */
function blankLine(bytes: Uint8Array, start: number, end: number): boolean {
  for (let j = start; j < end; j++) {
    const c = bytes[j] as number;
    if (c !== 32 && (c < 9 || c > 13)) return false;
  }
  return true;
}

/**
 * Counts the lines of JSON Lines that are not blank. NB: a line of other whitespace (U+00A0, a
 * byte-order mark) counts here but is skipped by the reader: the block's count then differs, and
 * `jsonLinesBlockTables` gives it to the one pass.
 */
class LineCounter implements BlockCounter {
  readonly #ends: BlockEnds;
  #pos = 0;
  #lineStart = 0;
  rows = 0;
  lines = 0;

  constructor(ends: BlockEnds) {
    this.#ends = ends;
  }

  find(bytes: Uint8Array, length: number): number {
    let i = this.#pos;
    let found = -1;
    for (;;) {
      const lf = bytes.indexOf(LF, i);
      if (lf < 0 || lf >= length) {
        i = length;
        break;
      }
      this.lines++;
      if (!blankLine(bytes, this.#lineStart, lf)) this.rows++;
      i = this.#lineStart = lf + 1;
      if (this.#ends.endsAt(this.rows, i)) {
        found = i;
        break;
      }
    }
    this.#pos = i;
    return found;
  }

  trailing(bytes: Uint8Array, length: number): boolean {
    return !blankLine(bytes, this.#lineStart, length);
  }

  shift(at: number): void {
    this.#pos -= at;
    this.#lineStart -= at;
    this.rows = 0;
    this.lines = 0;
  }
}

/**
 * The tables of a JSON Lines block's records, `chunkRows` rows each (the last may have fewer), as
 * `readTableChunks` makes them (a chunk whose lines held a bare `NaN` reads it as missing), only
 * `columns` if given; and the block's line feeds (the lines before the next block). `undefined` when the one pass is to read the block: a line that is not a
 * JSON object (its error names the line), a lone `\r` (a line end to that reader), or another
 * number of records than `rows`.
 */
export function jsonLinesBlockTables(
  bytes: Uint8Array,
  rows: number,
  chunkRows: number,
  columns?: readonly string[],
): { tables: ColumnTable[]; lines: number } | undefined {
  // NB: bytes that are not UTF-8 are the one pass's to refuse, naming their line.
  if (!isUtf8(bytes)) return undefined;
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("utf8");
  if (/\r(?!\n)/.test(text)) return undefined;
  const tables: ColumnTable[] = [];
  let records: unknown[] = [];
  let nan = false;
  const only = columns ? new Set(columns) : undefined;
  const take = (): void => {
    tables.push(keepColumns(nan ? nanAsMissing(tableFromRecords(records)) : tableFromRecords(records), only));
    records = [];
    nan = false;
  };
  let count = 0;
  const lines = text.split("\n");
  for (const line of lines) {
    const trimmed = line.trim();
    if (trimmed === "") continue;
    let record: unknown;
    try {
      record = parseJsonWithin(trimmed);
    } catch {
      return undefined;
    }
    if (record === null || typeof record !== "object" || Array.isArray(record)) return undefined;
    if (holdsNaN(record)) nan = true;
    records.push(record);
    count++;
    if (records.length === chunkRows) take();
  }
  if (records.length > 0) take();
  return count === rows ? { tables, lines: lines.length - 1 } : undefined;
}
