import { NO_LIMITS, type TableLimits, checkTableSize, formatCount, tooManyCells, tooManyRows } from "./limits.js";

const QUOTE = 34;
const LF = 10;
const CR = 13;

/**
 * One pass over CSV (UTF-8 bytes) that reads only its records' structure (quotes, delimiters, line ends),
 * never a field: it counts the rows after the header and their cells, refusing as soon as
 * `limits` are passed (a 413 before any record is built), and, when `chunkBytes` is given, notes
 * the line ends outside quotes where the text may be cut into chunks that parse alone. Blank
 * lines are no records (as csv-parse's `skip_empty_lines`). It does not validate: csv-parse does.
 */
export class CsvScan {
  readonly #bytes: Uint8Array;
  readonly #delimiter: number;
  readonly #limits: TableLimits;
  readonly #chunkBytes: number;
  #pos = 0;
  #inQuotes = false;
  /** The current record's fields so far, and whether it has any content (blank lines are skipped). */
  #fields = 1;
  #content = false;
  #chunkStart = 0;
  /** The header's fields, once it is read. */
  width = -1;
  rows = 0;
  cells = 0;
  /** Where chunks may start (after a line end outside quotes), if `chunkBytes` was given. */
  readonly bounds: number[] = [];

  constructor(bytes: Uint8Array, delimiter: string, limits: TableLimits = NO_LIMITS, chunkBytes = 0) {
    this.#bytes = bytes;
    this.#delimiter = delimiter.charCodeAt(0);
    this.#limits = limits;
    this.#chunkBytes = chunkBytes;
  }

  get done(): boolean {
    return this.#pos >= this.#bytes.length;
  }

  /** Scans on to `until`. */
  run(until: number): void {
    const bytes = this.#bytes;
    const delimiter = this.#delimiter;
    let i = this.#pos;
    for (; i < until; i++) {
      const c = bytes[i] as number;
      if (this.#inQuotes) {
        // NB: an escaped quote ("") closes and reopens.
        if (c === QUOTE) this.#inQuotes = false;
      } else if (c === QUOTE) {
        this.#inQuotes = true;
        this.#content = true;
      } else if (c === delimiter) {
        this.#fields++;
        this.#content = true;
      } else if (c === LF) this.#endRecord(i + 1);
      else if (c === CR) {
        if (bytes[i + 1] !== LF) this.#endRecord(-1);
      } else this.#content = true;
    }
    this.#pos = i;
  }

  /** Counts the last record, if the text does not end with a line end. */
  finish(): void {
    this.#endRecord(-1);
  }

  /** Ends the current record; `next` is where the next one starts, if a chunk may start there. */
  #endRecord(next: number): void {
    if (this.#content) {
      if (this.width < 0) {
        this.width = this.#fields;
        checkTableSize(0, this.width, this.#limits, "the CSV header");
      } else {
        this.cells += this.#fields;
        if (++this.rows > this.#limits.maxRows)
          throw tooManyRows(`more than ${formatCount(this.#limits.maxRows)}`, this.#limits, "CSV records after the header");
        if (this.cells > this.#limits.maxCells)
          throw tooManyCells(`more than ${formatCount(this.#limits.maxCells)}`, this.#limits, "CSV fields after the header");
      }
    }
    this.#fields = 1;
    this.#content = false;
    if (this.#chunkBytes > 0 && next > 0 && next - this.#chunkStart >= this.#chunkBytes) {
      this.bounds.push(next);
      this.#chunkStart = next;
    }
  }
}
