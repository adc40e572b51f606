import { NotUtf8Error } from "./errors.js";

const LF = 10;

/**
 * The bytes of a text input (CSV, JSON Lines) as they come, checked to be UTF-8 on the way.
 * NB: found by an audit: a Latin-1 "Dréam" was read as "Dr\uFFFDam" without a word and predicted
 * otherwise, where `serve` refuses the same bytes with a 400. A stream opening with FF FE (UTF-16,
 * which csv-parse reads) is passed on unchecked.
 * @param linesBefore lines before the first byte (a tail of a file), so the message numbers lines as over the whole.
 * @param name the file's path, for the message.
 * @throws NotUtf8Error naming the line of the first byte sequence UTF-8 does not allow.
 */
export async function* checkedUtf8(
  input: AsyncIterable<Uint8Array | string> | Iterable<Uint8Array | string>,
  linesBefore = 0,
  name?: string,
): AsyncGenerator<Uint8Array | string> {
  const decoder = new TextDecoder("utf-8", { fatal: true });
  let lines = linesBefore;
  let first = true;
  let skip = false;
  let tail: Uint8Array = new Uint8Array(0);
  for await (const chunk of input) {
    if (typeof chunk === "string" || skip) {
      yield chunk;
      continue;
    }
    if (first && chunk.length > 0) {
      first = false;
      skip = chunk[0] === 0xff && chunk[1] === 0xfe;
    }
    if (!skip) {
      try {
        decoder.decode(chunk, { stream: true });
      } catch {
        throw notUtf8(Buffer.concat([tail, chunk]), lines - countLineFeeds(tail), name);
      }
      lines += countLineFeeds(chunk);
      // NB: the last 3 bytes seen (across chunks), so that a sequence begun before a chunk and broken in it is placed.
      const seen = chunk.length >= 3 ? chunk : Buffer.concat([tail, chunk]);
      tail = seen.subarray(Math.max(0, seen.length - 3));
    }
    yield chunk;
  }
  if (!skip) {
    try {
      decoder.decode();
    } catch {
      throw notUtf8(tail, lines - countLineFeeds(tail), name);
    }
  }
}

function countLineFeeds(bytes: Uint8Array): number {
  let n = 0;
  for (let at = bytes.indexOf(LF); at >= 0; at = bytes.indexOf(LF, at + 1)) n++;
  return n;
}

/** The error for `bytes` (which hold the first bad sequence), `lines` line feeds coming before them. */
function notUtf8(bytes: Uint8Array, lines: number, name: string | undefined): NotUtf8Error {
  const at = firstInvalid(bytes);
  const line = lines + countLineFeeds(bytes.subarray(0, at)) + 1;
  return new NotUtf8Error(
    `The input${name === undefined ? "" : ` ${name}`} is not valid UTF-8: line ${line} holds bytes UTF-8 does not allow (${hex(bytes.subarray(at, at + 4))}), as Latin-1 or Windows-1252 text does. Save it as UTF-8 (e.g. iconv -f latin1 -t utf-8).`,
  );
}

/** Where the first byte sequence UTF-8 does not allow starts in `bytes` (their length when it ends inside one). */
function firstInvalid(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i] as number;
    const size = b < 0x80 ? 1 : b >= 0xc2 && b <= 0xdf ? 2 : b >= 0xe0 && b <= 0xef ? 3 : b >= 0xf0 && b <= 0xf4 ? 4 : 0;
    if (size === 0) return i;
    if (size > 1) {
      if (i + size > bytes.length) return i;
      const decoded = bytes.subarray(i, i + size);
      try {
        new TextDecoder("utf-8", { fatal: true }).decode(decoded);
      } catch {
        return i;
      }
    }
    i += size;
  }
  return i;
}

function hex(bytes: Uint8Array): string {
  return [...bytes].map((b) => b.toString(16).toUpperCase().padStart(2, "0")).join(" ");
}
