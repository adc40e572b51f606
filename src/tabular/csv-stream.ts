import { Readable } from "node:stream";
import type { Parser } from "udsv";
import { csvParseStream } from "./csv-parse-lib.js";
import { PlainCsvCheck, parsePlainRecords, plainCsvParser } from "./csv-plain.js";

/**
 * How pipeserve calls csv-parse: the reading every CSV path keeps. NB: every line end ends a record
 * (`\r\n`, `\n`, a lone `\r`), not only the first one seen: a file of CRLF lines with LF lines
 * appended (by another tool) was read as records that ran over their line ends.
 */
export const CSV_PARSE_OPTIONS = { bom: true, relax_column_count: true, skip_empty_lines: true, record_delimiter: ["\r\n", "\n", "\r"] };

/**
 * The line (from 1) each record csv-parse read ends on, for messages about the record: blank lines
 * and line ends inside quotes make it differ from the record's place. NB: as csv-parse counts
 * lines, a `\r\n` inside quotes counts two. Records uDSV read are not here (its records are never
 * ragged: text with one is not plain).
 */
export const recordLines = new WeakMap<readonly string[], number>();

/** What csv-parse gives for each record with `info: true`. */
export interface RecordWithInfo {
  record: string[];
  info: { lines: number };
}

/** Records handed on per batch when csv-parse reads. */
const FALLBACK_BATCH = 4096;

/**
 * Where bytes may be cut so that decoding the two parts gives the text decoding the whole gives:
 * before the last byte that may start a UTF-8 sequence, if only continuation bytes follow it
 * (a byte outside 0x80–0xBF always starts afresh in a decoder, so cutting before one is safe).
 */
export function utf8Cut(bytes: Uint8Array): number {
  let p = bytes.length - 1;
  const stop = Math.max(0, bytes.length - 4);
  while (p >= stop && ((bytes[p] as number) & 0xc0) === 0x80) p--;
  return p >= 0 && (bytes[p] as number) >= 0xc0 ? p : bytes.length;
}

/** Where the bytes after the `n`th line feed start (no bad byte hides one: U+FFFD never stands for one). */
function afterLineFeeds(bytes: Uint8Array, n: number): number {
  let at = 0;
  for (let i = 0; i < n; i++) at = bytes.indexOf(10, at) + 1;
  return at;
}

type Chunks = AsyncIterator<Uint8Array | string>;

/** csv-parse over `head`, then the rest of `chunks`, after `lines` (line ends already read, so its messages number lines as over the whole). */
async function* csvParseBatches(head: readonly Uint8Array[], chunks: Chunks, lines: string): AsyncGenerator<string[][]> {
  async function* bytes(): AsyncGenerator<Uint8Array | string> {
    if (lines !== "") yield Buffer.from(lines);
    for (const part of head) if (part.length > 0) yield part;
    for (let next = await chunks.next(); !next.done; next = await chunks.next()) yield next.value;
  }
  const source = Readable.from(bytes());
  const parser = csvParseStream()({ ...CSV_PARSE_OPTIONS, info: true });
  // NB: pipe() does not pass a read error on (ENOENT, EISDIR): unheard, it would crash the process.
  source.once("error", (error) => parser.destroy(error));
  source.pipe(parser);
  let batch: string[][] = [];
  for await (const { record, info } of parser as AsyncIterable<RecordWithInfo>) {
    recordLines.set(record, info.lines);
    batch.push(record);
    if (batch.length === FALLBACK_BATCH) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length > 0) yield batch;
}

const LF_BYTE = 10;
const CR_BYTE = 13;

/**
 * The records of a CSV byte stream (header first), in batches, as csv-parse streams them with
 * CSV_PARSE_OPTIONS: the same records and the same errors. Plain text (see `PlainCsvCheck`) is
 * parsed by uDSV, several times faster; from the first piece that is not plain on, csv-parse reads
 * the rest, told first as many line ends as were read, so its messages name the same lines.
 */
export async function* csvRecordBatches(input: AsyncIterable<Uint8Array | string>): AsyncGenerator<string[][]> {
  const chunks: Chunks = input[Symbol.asyncIterator]();
  const check = new PlainCsvCheck(",");
  let parser: Parser | undefined;
  let text = "";
  let held: Uint8Array = new Uint8Array(0);
  // NB: the bytes `text` was decoded from: csv-parse must get them, not `text` encoded again, where U+FFFD stands for bad bytes.
  let raw: Uint8Array = new Uint8Array(0);
  let atStart = true;
  let consumedLines = 0;
  let consumedFeeds = 0;
  let ended = false;
  /** Pieces read since the last one with a line feed (see below). */
  let waiting: Uint8Array[] = [];
  try {
    while (!ended) {
      const next = await chunks.next();
      let bytes: Uint8Array;
      if (next.done) {
        ended = true;
        bytes = waiting.length > 0 ? Buffer.concat([held, ...waiting]) : held;
        waiting = [];
      } else {
        const value = typeof next.value === "string" ? Buffer.from(next.value) : next.value;
        // NB: a piece without a line end ends no record: it waits, with those before it, for one
        // that has. Added to the pending text and checked one by one, each piece copied the whole
        // pending record again: one record of 20 MB took 20 s (found by an audit). A carriage
        // return counts: text of `\r` line ends is handed to csv-parse as it streams.
        if (value.indexOf(LF_BYTE) < 0 && value.indexOf(CR_BYTE) < 0) {
          waiting.push(value);
          continue;
        }
        bytes = held.length > 0 || waiting.length > 0 ? Buffer.concat([held, ...waiting, value]) : value;
        waiting = [];
      }
      if (atStart && text === "") {
        // NB: csv-parse reads a stream opening with FF FE (a UTF-16 byte-order mark) as UTF-16.
        if (bytes.length < 2 && !ended) {
          held = bytes;
          continue;
        }
        if (bytes[0] === 0xff && bytes[1] === 0xfe) {
          yield* csvParseBatches([bytes], chunks, "");
          return;
        }
      }
      const cut = ended ? bytes.length : utf8Cut(bytes);
      const decoded = bytes.subarray(0, cut);
      text += Buffer.from(decoded.buffer, decoded.byteOffset, decoded.byteLength).toString("utf8");
      raw = raw.length > 0 ? Buffer.concat([raw, decoded]) : decoded;
      held = bytes.subarray(cut);
      check.run(text);
      if (ended) check.finish();
      if (!check.plain) {
        yield* csvParseBatches([raw, held], chunks, (check.lineEnd ?? "\n").repeat(consumedLines));
        return;
      }
      if (check.lastEnd === 0) continue;
      const lineEnd = check.lineEnd ?? "\n";
      parser ??= check.width >= 0 ? plainCsvParser(",", lineEnd, check.width) : undefined;
      const records = parser ? parsePlainRecords(parser, text.slice(0, check.lastEnd), lineEnd, atStart, ended) : [];
      atStart = false;
      text = text.slice(check.lastEnd);
      raw = raw.subarray(ended ? raw.length : afterLineFeeds(raw, check.feedsAtLastEnd - consumedFeeds));
      consumedLines = check.linesAtLastEnd;
      consumedFeeds = check.feedsAtLastEnd;
      check.consume();
      if (records.length > 0) yield records;
    }
  } finally {
    await chunks.return?.();
  }
}
