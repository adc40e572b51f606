import { isUtf8 } from "node:buffer";
import { utf8Cut } from "./csv-stream.js";
import { NotUtf8Error } from "./errors.js";

/** What to do with text that is not UTF-8, for messages. */
export const SAVE_AS_UTF8 = "Save it as UTF-8 (e.g. iconv -f latin1 -t utf-8).";

const LF = 10;
const CR = 13;
const NONE = new Uint8Array(0);

/**
 * The bytes of a text input (CSV, JSON Lines) as they come, checked to be UTF-8 on the way.
 * NB: found by an audit: a Latin-1 "Dréam" was read as "Dr\uFFFDam" without a word and predicted
 * otherwise, where `serve` refuses the same bytes with a 400. A stream opening with FF FE (UTF-16,
 * which csv-parse reads) is passed on unchecked. Checked with `buffer.isUtf8` (~40× faster than a
 * fatal TextDecoder, which makes a string of every piece): the bytes of a character cut at a
 * piece's end are checked with the next piece.
 * @param linesBefore lines before the first byte (a tail of a file), so the message numbers lines as over the whole.
 * @param name the file's path, for the message.
 * @throws NotUtf8Error naming the line (`\n`, `\r\n` or `\r` ends one) of the first byte sequence UTF-8 does not allow.
 */
export async function* checkedUtf8(
  input: AsyncIterable<Uint8Array | string> | Iterable<Uint8Array | string>,
  linesBefore = 0,
  name?: string,
): AsyncGenerator<Uint8Array | string> {
  let lines = linesBefore;
  let lastCR = false;
  /** Bytes not checked yet: a character cut at the last piece's end, or the stream's first byte. */
  let carry: Uint8Array = NONE;
  let opening = true;
  let skip = false;
  for await (const piece of input) {
    if (typeof piece !== "string" && !skip) {
      const data = carry.length > 0 ? Buffer.concat([carry, piece]) : piece;
      carry = NONE;
      if (opening && data.length < 2) carry = Uint8Array.from(data);
      else {
        if (opening) skip = data[0] === 0xff && data[1] === 0xfe;
        opening = false;
        if (!skip) {
          const cut = utf8Cut(data);
          const whole = data.subarray(0, cut);
          if (!isUtf8(whole)) throw notUtf8(whole, lines, lastCR, name);
          const counted = lineEnds(whole, lastCR);
          lines += counted.ends;
          lastCR = counted.lastCR;
          carry = Uint8Array.from(data.subarray(cut));
        }
      }
    }
    yield piece;
  }
  if (!skip && carry.length > 0 && !isUtf8(carry)) throw notUtf8(carry, lines, lastCR, name);
}

/** The line ends in `bytes` (`\n`, `\r\n` and `\r` each one), `lastCR` saying whether the byte before them was a `\r`. */
function lineEnds(bytes: Uint8Array, lastCR: boolean): { ends: number; lastCR: boolean } {
  let ends = 0;
  for (let at = bytes.indexOf(CR); at >= 0; at = bytes.indexOf(CR, at + 1)) ends++;
  for (let at = bytes.indexOf(LF); at >= 0; at = bytes.indexOf(LF, at + 1)) if (!(at === 0 ? lastCR : bytes[at - 1] === CR)) ends++;
  return { ends, lastCR: bytes.length > 0 ? bytes[bytes.length - 1] === CR : lastCR };
}

/** The error for `bytes` (which hold the first bad sequence), `lines` line ends coming before them. */
function notUtf8(bytes: Uint8Array, lines: number, lastCR: boolean, name: string | undefined): NotUtf8Error {
  const at = firstInvalid(bytes);
  const line = lines + lineEnds(bytes.subarray(0, at), lastCR).ends + 1;
  return new NotUtf8Error(
    `The input${name === undefined ? "" : ` ${name}`} is not valid UTF-8: line ${line} holds bytes UTF-8 does not allow (${hex(bytes.subarray(at, at + 4))}), as Latin-1 or Windows-1252 text does. ${SAVE_AS_UTF8}`,
  );
}

/** Where the first byte sequence UTF-8 does not allow starts in `bytes` (where one starts that they end inside). */
function firstInvalid(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i] as number;
    const size = b < 0x80 ? 1 : b >= 0xc2 && b <= 0xdf ? 2 : b >= 0xe0 && b <= 0xef ? 3 : b >= 0xf0 && b <= 0xf4 ? 4 : 0;
    if (size === 0 || i + size > bytes.length || (size > 1 && !isUtf8(bytes.subarray(i, i + size)))) return i;
    i += size;
  }
  return i;
}

function hex(bytes: Uint8Array): string {
  return [...bytes].map((b) => b.toString(16).toUpperCase().padStart(2, "0")).join(" ");
}
