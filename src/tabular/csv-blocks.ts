import { isUtf8 } from "node:buffer";
import { open } from "node:fs/promises";
import { type ColumnTable, keepColumns } from "./column-table.js";
import { inputFileError } from "./file-access.js";
import { type BlockCounter, BlockEnds, type TextBlock, isRegularFile, readBlocks } from "./text-blocks.js";
import { tableFromCsvRecords } from "./csv.js";
import { type CsvLineEnd, PlainCsvCheck, parsePlainRecords, plainCsvParser, plainCsvRecords } from "./csv-plain.js";

const QUOTE = 34;
const LF = 10;
const CR = 13;

/**
 * A CSV file's header, read apart so that its records can be cut into blocks that parse alone
 * (`csvBlocks`), each in another thread (`csvBlockTables`).
 */
export interface CsvHead {
  /** The header's names. */
  header: string[];
  /** The line end the header ends with: every block must use it too, or it is not plain. */
  lineEnd: CsvLineEnd;
  /** The header's text, line end included (with blank lines before it, and a byte-order mark, if any). */
  text: string;
  /** Where the records start: the header's length in bytes. */
  offset: number;
  /** Lines in `text`, as csv-parse counts them in its messages. */
  lines: number;
}

/** The most bytes read looking for the header's end. */
const MAX_HEAD_BYTES = 1 << 20;

/**
 * Reads a CSV file's header, if the file can be cut into blocks: a regular file (not a pipe) of
 * UTF-8 whose header is plain (see `PlainCsvCheck`), of at least two columns with names that
 * differ, ends with a line end within its first megabyte, and is followed by more text.
 * `undefined` otherwise: the file is then read in one pass (`readTableChunks`), as always, which
 * refuses what is to be refused with its own message.
 */
export async function readCsvHead(path: string): Promise<CsvHead | undefined> {
  if (!(await isRegularFile(path))) return undefined;
  const file = await open(path, "r").catch((error: unknown) => Promise.reject(inputFileError(path, error)));
  try {
    const buffer = Buffer.allocUnsafe(MAX_HEAD_BYTES);
    const { bytesRead } = await file.read(buffer, 0, MAX_HEAD_BYTES, 0);
    const bytes = buffer.subarray(0, bytesRead);
    // NB: csv-parse reads a file opening with FF FE as UTF-16.
    if (bytes[0] === 0xff && bytes[1] === 0xfe) return undefined;
    const end = headerEnd(bytes);
    if (end < 0 || end === bytes.length) return undefined;
    const text = bytes.subarray(0, end).toString("utf8");
    const check = new PlainCsvCheck(",");
    check.run(text);
    if (!check.plain || check.lastEnd !== text.length || check.width < 2 || check.lineEnd === undefined) return undefined;
    const header = plainCsvRecords(text, ",")?.[0];
    if (header?.length !== check.width || new Set(header).size !== header.length) return undefined;
    return { header, lineEnd: check.lineEnd, text, offset: end, lines: check.linesAtLastEnd };
  } finally {
    await file.close();
  }
}

/** Where the first record (the header) ends: after its line end outside quotes; -1 if not within `bytes`. */
function headerEnd(bytes: Uint8Array): number {
  let inQuotes = false;
  // NB: a UTF-8 byte-order mark is no data: a line of only one is blank.
  let recordStart = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
  for (let i = recordStart; i < bytes.length; i++) {
    const c = bytes[i];
    if (inQuotes) {
      if (c === QUOTE) inQuotes = false;
    } else if (c === QUOTE) inQuotes = true;
    else if (c === LF) {
      if (!blankLine(bytes, recordStart, i)) return i + 1;
      recordStart = i + 1;
    }
  }
  return -1;
}

/** Whether the bytes of a line (from `start` to its line feed at `lf`) are empty, or only a `\r`. */
function blankLine(bytes: Uint8Array, start: number, lf: number): boolean {
  return lf === start || (lf === start + 1 && bytes[start] === CR);
}

/**
 * Cuts a CSV file's records (after `head`) into blocks of `rowsPerBlock` records, or fewer whole
 * chunks of `chunkRows` once a block holds 8 MiB (the last block may have fewer), each ending
 * after a line feed outside quotes. The count is of line feeds outside quotes ending a line that
 * is not blank: in plain text, its records; in other text it may not be, which `csvBlockTables`
 * finds. Yields `{ rest: offset }` instead of a block when a block would pass `maxBlockBytes`
 * (text without line feeds, a quote left open): from there the file is to be read in one pass.
 */
export function csvBlocks(
  path: string,
  head: CsvHead,
  rowsPerBlock: number,
  chunkRows: number,
  maxBlockBytes?: number,
): AsyncGenerator<TextBlock | { rest: number }> {
  return readBlocks(path, head.offset, new RecordCounter(new BlockEnds(rowsPerBlock, chunkRows, maxBlockBytes)), maxBlockBytes);
}

/**
 * Counts the records of CSV bytes that grow at their end (as a file is read) and are cut at their
 * start (as blocks are taken): a record ends at a line feed outside quotes, unless its line is
 * blank. NB: found with `indexOf` (memchr), ~4× faster than a loop over every byte.
 */
class RecordCounter implements BlockCounter {
  readonly #ends: BlockEnds;
  /** Where the scan goes on from. */
  #pos = 0;
  /** Whether the scan is inside quotes (their end not read yet). */
  #inQuotes = false;
  /** The first quote at or after the scan (-1: none in the bytes given; -2: not looked for). */
  #nextQuote = -2;
  /** Where the current record starts. */
  recordStart = 0;
  /** Records ended since the last cut. */
  rows = 0;

  constructor(ends: BlockEnds) {
    this.#ends = ends;
  }

  /** Scans on, in `bytes[0, length)`; returns where the block since the last cut ends (after a line feed), or -1 when the bytes end before. */
  find(bytes: Uint8Array, length: number): number {
    let i = this.#pos;
    // NB: bytes read since the last scan may hold a quote.
    let quote = this.#nextQuote === -1 ? -2 : this.#nextQuote;
    let found = -1;
    for (;;) {
      if (this.#inQuotes) {
        // NB: an escaped quote ("") closes and reopens.
        const close = bytes.indexOf(QUOTE, i);
        if (close < 0 || close >= length) {
          i = length;
          break;
        }
        this.#inQuotes = false;
        i = close + 1;
        continue;
      }
      if (quote === -2 || (quote >= 0 && quote < i)) {
        quote = bytes.indexOf(QUOTE, i);
        if (quote >= length) quote = -1;
      }
      let lf = bytes.indexOf(LF, i);
      if (lf >= length) lf = -1;
      if (quote >= 0 && (lf < 0 || quote < lf)) {
        this.#inQuotes = true;
        i = quote + 1;
        continue;
      }
      if (lf < 0) {
        i = length;
        break;
      }
      if (!blankLine(bytes, this.recordStart, lf)) this.rows++;
      i = this.recordStart = lf + 1;
      if (this.#ends.endsAt(this.rows, i)) {
        found = i;
        break;
      }
    }
    this.#pos = i;
    this.#nextQuote = quote;
    return found;
  }

  /** Whether `bytes[recordStart, length)`, after the last line feed, hold a record (the file's last, without a line end). */
  trailing(bytes: Uint8Array, length: number): boolean {
    return length > 0 && !blankLine(bytes, this.recordStart, length);
  }

  /** CSV counts no lines here (csv-parse's count comes from the threads). */
  readonly lines = 0;

  /** The bytes before `at` (a record's start) were cut off: positions count from there, and records from 0. */
  shift(at: number): void {
    this.#pos -= at;
    this.recordStart -= at;
    if (this.#nextQuote >= 0) this.#nextQuote -= at;
    this.rows = 0;
  }
}

/**
 * The tables of a block's records, `chunkRows` rows each (the last may have fewer), with cells
 * as text (as `readTableChunks` with `raw`), only `columns` if given; and the block's line ends as
 * csv-parse counts lines (two for a `\r\n` inside quotes). `undefined` when the block is not plain CSV (see `PlainCsvCheck`) as
 * wide as the header, with the head's line end, or holds another number of records than `rows`:
 * it is then to be read, with the rest of the file, in one pass, which reads it as csv-parse does.
 */
export function csvBlockTables(
  bytes: Uint8Array,
  head: Pick<CsvHead, "header" | "lineEnd">,
  rows: number,
  chunkRows: number,
  columns?: readonly string[],
): { tables: ColumnTable[]; lines: number } | undefined {
  // NB: bytes that are not UTF-8 are the one pass's to refuse, naming their line.
  if (!isUtf8(bytes)) return undefined;
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("utf8");
  const width = head.header.length;
  const check = new PlainCsvCheck(",", false);
  check.width = width;
  check.lineEnd = head.lineEnd;
  check.run(text);
  const ended = !text.endsWith("\n");
  if (ended) check.finish();
  if (!check.plain || check.lastEnd !== text.length) return undefined;
  const records = parsePlainRecords(plainCsvParser(",", head.lineEnd, width), text, head.lineEnd, false, ended);
  if (records.length !== rows) return undefined;
  const only = columns ? new Set(columns) : undefined;
  const tables: ColumnTable[] = [];
  for (let at = 0; at < records.length; at += chunkRows)
    tables.push(keepColumns(tableFromCsvRecords(head.header, records.slice(at, at + chunkRows), true), only));
  return { tables, lines: check.linesAtLastEnd };
}
