import { initParser, type Parser, type Schema } from "udsv";

const QUOTE = 34;
const LF = 10;
const CR = 13;
const BOM = 0xfeff;

const FIELD_START = 0;
const UNQUOTED = 1;
const QUOTED = 2;
/** Inside quotes, just after a quote: an escaped quote if another follows, else the field's end. */
const QUOTE_IN_QUOTED = 3;

/** The line end a plain CSV text uses throughout, once seen. */
export type CsvLineEnd = "\n" | "\r\n";

/**
 * A resumable pass over CSV text that tells whether it is *plain*: text that uDSV and csv-parse
 * (with `bom`, `relax_column_count`, `skip_empty_lines`, as pipeserve calls it) read alike. Plain
 * is: one line end throughout (every one `\n`, or every one `\r\n`, inside quotes too); quotes
 * only at a field's start, closed before a delimiter, a line end or the end, `""` inside; every
 * record as wide as the header. A header of one field (a text of one column) is plain only without
 * any quote and without an empty line but the last (NB: uDSV splits no quoted field there, drops
 * a record of one quoted empty field, and keeps an empty line as a record). Anything else (a ragged row, a stray quote, an unclosed quote, a
 * lone `\r`) is not plain, and is read by csv-parse, which raises its errors with its messages.
 * It notes where the last whole record ends, so text read in pieces is parsed up to there.
 */
export class PlainCsvCheck {
  readonly #delimiter: number;
  #text = "";
  #pos = 0;
  #state = FIELD_START;
  #fields = 1;
  #content = false;
  #crPending = false;
  /** `\n` or `\r\n` once the first line end is seen. */
  lineEnd: CsvLineEnd | undefined;
  /** Fields of the header, once it has ended. */
  width = -1;
  /** False once the text is seen not to be plain. */
  plain = true;
  /** Where the text after the last whole record starts (0 if none yet). */
  lastEnd = 0;
  /**
   * Lines before `lastEnd`, from the first text given, as csv-parse counts them in its messages:
   * NB: one per line end, but two per `\r\n` inside quotes (it steps over the `\n` of a record's end only).
   */
  linesAtLastEnd = 0;
  /** Line feeds before `lastEnd`, from the first text given. */
  feedsAtLastEnd = 0;
  #lines = 0;
  #feeds = 0;
  /** Whether a quote or a byte-order mark past the start has been seen (a text of one column with one is not plain). */
  #quoted = false;
  /** Whether an empty line came before the header (one column: not plain either). */
  #blankFirst = false;

  /** @param atStart the text starts the input: a byte-order mark there is no data. */
  constructor(delimiter: string, atStart = true) {
    this.#delimiter = delimiter.charCodeAt(0);
    if (delimiter.length !== 1 || this.#delimiter === QUOTE || this.#delimiter === LF || this.#delimiter === CR || this.#delimiter >= 0x80) this.plain = false;
    this.#atStart = atStart;
  }

  #atStart: boolean;

  /** Reads on to the end of `text`, which is the text given before plus more. */
  run(text: string): void {
    this.#text = text;
    if (!this.plain) return;
    let i = this.#pos;
    if (this.#atStart && i === 0 && text.length > 0) {
      this.#atStart = false;
      if (text.charCodeAt(0) === BOM) i = 1;
    }
    const n = text.length;
    const delimiter = this.#delimiter;
    let state = this.#state;
    for (; i < n; i++) {
      const c = text.charCodeAt(i);
      if (this.#crPending) {
        this.#crPending = false;
        if (c !== LF) return this.#fail();
      } else if (c === LF) {
        if (this.lineEnd === "\r\n") return this.#fail();
        this.lineEnd = "\n";
      }
      if (c === BOM) {
        // NB: uDSV drops a byte-order mark that starts a piece of text it is given: one column's record may be only that.
        this.#quoted = true;
        if (this.width === 1) return this.#fail();
      }
      if (c === CR) {
        if (this.lineEnd === "\n") return this.#fail();
        this.lineEnd = "\r\n";
        this.#crPending = true;
        continue;
      }
      if (c === LF) {
        this.#feeds++;
        if (state === QUOTED) {
          this.#lines += this.lineEnd === "\r\n" ? 2 : 1;
          continue;
        }
        this.#lines++;
        state = FIELD_START;
        if (!this.#endRecord(false)) return this.#fail();
        this.lastEnd = i + 1;
        this.linesAtLastEnd = this.#lines;
        this.feedsAtLastEnd = this.#feeds;
      } else if (c === QUOTE) {
        // NB: one column is read by uDSV without quotes (it finds no delimiter to split on): plain only without any.
        this.#quoted = true;
        if (this.width === 1) return this.#fail();
        if (state === FIELD_START) {
          state = QUOTED;
          this.#content = true;
        } else if (state === QUOTED) state = QUOTE_IN_QUOTED;
        else if (state === QUOTE_IN_QUOTED) state = QUOTED;
        else return this.#fail();
      } else if (c === delimiter) {
        if (state === QUOTED) continue;
        this.#fields++;
        this.#content = true;
        state = FIELD_START;
      } else if (state === FIELD_START) {
        state = UNQUOTED;
        this.#content = true;
      } else if (state === QUOTE_IN_QUOTED) return this.#fail();
    }
    this.#state = state;
    this.#pos = i;
  }

  /** The text has ended: the last record may end without a line end. */
  finish(): void {
    if (!this.plain) return;
    if (this.#crPending || this.#state === QUOTED || !this.#endRecord(true)) return this.#fail();
    this.lastEnd = this.#text.length;
    this.linesAtLastEnd = this.#lines;
    this.feedsAtLastEnd = this.#feeds;
  }

  /** Forgets the text before `lastEnd` (it was parsed): positions count from there on. */
  consume(): void {
    this.#pos -= this.lastEnd;
    this.lastEnd = 0;
  }

  #fail(): void {
    this.plain = false;
  }

  /**
   * Ends a record; false when the text is not plain there. `atEnd`: the text's end, where an empty
   * record is no line (the last line end's).
   */
  #endRecord(atEnd: boolean): boolean {
    const fields = this.#fields;
    const content = this.#content;
    this.#fields = 1;
    this.#content = false;
    // NB: an empty line is skipped by both, but uDSV keeps one as a record of one empty field when the text has one column.
    if (!content) {
      if (this.width < 0 && !atEnd) this.#blankFirst = true;
      return atEnd || this.width !== 1;
    }
    if (this.width < 0) {
      this.width = fields;
      return fields >= 2 || (!this.#quoted && !this.#blankFirst);
    }
    return fields === this.width;
  }
}

/** A uDSV parser of string records for plain CSV of this shape. */
export function plainCsvParser(delimiter: string, lineEnd: CsvLineEnd, width: number): Parser {
  // NB: encl and esc left out, so uDSV looks for quotes per text and takes its split-only path when there are none.
  const schema = {
    skip: 0,
    col: delimiter,
    row: lineEnd,
    trim: false,
    cols: Array.from({ length: width }, (_, i) => ({ name: String(i), type: "s" as const, repl: { empty: undefined, null: undefined, NaN: undefined } })),
  } as unknown as Schema;
  return initParser(schema);
}

/**
 * Parses whole records of plain CSV (as `PlainCsvCheck` found them) into string records.
 * `atStart`: the text starts the input, where uDSV drops a byte-order mark; elsewhere one is data.
 */
export function parsePlainRecords(parser: Parser, text: string, lineEnd: CsvLineEnd, atStart: boolean, ended: boolean): string[][] {
  let piece = text;
  // NB: uDSV drops a leading U+FEFF from every text it parses; after a line end (an empty line, skipped) it is kept.
  if (!atStart && piece.charCodeAt(0) === BOM) piece = lineEnd + piece;
  // NB: the last record may have no line end; uDSV reads one that has.
  if (ended && piece.length > 0 && !piece.endsWith("\n")) piece += lineEnd;
  return parser.stringArrs(piece) as string[][];
}

/**
 * The records of a whole CSV text, header first, if the text is plain (see `PlainCsvCheck`);
 * `undefined` when it is not, for the caller to read it with csv-parse.
 */
export function plainCsvRecords(text: string, delimiter: string): string[][] | undefined {
  // NB: csv-parse reads a string as its UTF-8 bytes, where a lone surrogate becomes U+FFFD.
  if (!(text as unknown as { isWellFormed(): boolean }).isWellFormed()) return undefined;
  const check = new PlainCsvCheck(delimiter);
  check.run(text);
  check.finish();
  if (!check.plain) return undefined;
  if (check.width < 0) return [];
  const lineEnd = check.lineEnd ?? "\n";
  return parsePlainRecords(plainCsvParser(delimiter, lineEnd, check.width), text, lineEnd, true, true);
}
