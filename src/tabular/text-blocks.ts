import { open, stat } from "node:fs/promises";
import { inputFileError } from "./file-access.js";

/** Some whole records of a text file (CSV, JSON Lines), to be parsed apart, in another thread. */
export interface TextBlock {
  /** The block's bytes, in a buffer of their own (to be moved to another thread). */
  bytes: Uint8Array;
  /** Where the block starts in the file. */
  offset: number;
  /** Its records, as the counter counted them (blank lines are none). */
  rows: number;
  /** Its line feeds, when the counter counts them (JSON Lines); 0 otherwise. */
  lines: number;
}

/** Finds where blocks end in bytes that grow at their end (as a file is read) and are cut at their start (as blocks are taken). */
export interface BlockCounter {
  /** Records counted since the last cut. */
  readonly rows: number;
  /** Line feeds counted since the last cut (0 when not counted). */
  readonly lines: number;
  /** Scans on, in `bytes[0, length)`; where the block since the last cut ends (after a line feed), or -1 when the bytes end before. */
  find(bytes: Uint8Array, length: number): number;
  /** Whether the bytes after the last line feed, up to `length` (the file's end), hold a record. */
  trailing(bytes: Uint8Array, length: number): boolean;
  /** The bytes before `at` (where a block ended) were cut off. */
  shift(at: number): void;
}

/** Bytes read from a file at a time. */
const READ_BYTES = 1 << 20;
/** Bytes after which a block ends at the next chunk's end, however few its records (wide rows). */
const BLOCK_BYTES = 8 << 20;
/** The most bytes a block may reach before the rest of the file is handed to one pass. */
const MAX_BLOCK_BYTES = 64 << 20;

/**
 * Where blocks end: after `rowsPerBlock` records, or after a whole number of chunks of `chunkRows`
 * once a block holds 8 MiB (less with a lower `maxBlockBytes`), however few its records (wide rows).
 * NB: blocks of whole chunks are predicted in the chunks one thread makes, so the output is the same.
 */
export class BlockEnds {
  readonly #rowsPerBlock: number;
  readonly #chunkRows: number;
  readonly #blockBytes: number;

  constructor(rowsPerBlock: number, chunkRows: number, maxBlockBytes = MAX_BLOCK_BYTES) {
    this.#rowsPerBlock = rowsPerBlock;
    this.#chunkRows = chunkRows;
    this.#blockBytes = Math.min(BLOCK_BYTES, maxBlockBytes);
  }

  /** Whether a block of `rows` records that has reached byte `at` ends there. */
  endsAt(rows: number, at: number): boolean {
    return rows === this.#rowsPerBlock || (at >= this.#blockBytes && rows > 0 && rows % this.#chunkRows === 0);
  }
}

/**
 * Cuts a file, from byte `start`, into blocks where `counter` finds their ends. Yields
 * `{ rest: offset }` instead of a block when one would pass `maxBlockBytes` (text without line
 * feeds, a quote left open): from there the file is to be read in one pass. Memory holds one block
 * and one read; every byte is copied twice at most (into the buffer, out into its block).
 */
export async function* readBlocks(
  path: string,
  start: number,
  counter: BlockCounter,
  maxBlockBytes = MAX_BLOCK_BYTES,
): AsyncGenerator<TextBlock | { rest: number }> {
  const file = await open(path, "r").catch((error: unknown) => Promise.reject(inputFileError(path, error)));
  try {
    // NB: one buffer, grown by doubling: the bytes read and not yet taken by a block are `buffer[0, length)`.
    let buffer = Buffer.allocUnsafe(2 * READ_BYTES);
    let length = 0;
    /** Where `buffer` starts in the file. */
    let offset = start;
    let position = start;
    for (;;) {
      if (buffer.length - length < READ_BYTES) {
        const grown = Buffer.allocUnsafe(Math.max(2 * buffer.length, length + READ_BYTES));
        buffer.copy(grown, 0, 0, length);
        buffer = grown;
      }
      const { bytesRead } = await file.read(buffer, length, READ_BYTES, position).catch((error: unknown) => Promise.reject(inputFileError(path, error)));
      position += bytesRead;
      if (bytesRead === 0) {
        const pending = buffer.subarray(0, length);
        // NB: the last record may end without a line end.
        const rows = counter.rows + (counter.trailing(pending, length) ? 1 : 0);
        if (rows > 0) yield { bytes: own(pending), offset, rows, lines: counter.lines };
        return;
      }
      length += bytesRead;
      // NB: a view of the bytes read, so that no search runs on into the buffer's unread end.
      for (let end = counter.find(buffer.subarray(0, length), length); end >= 0; end = counter.find(buffer.subarray(0, length), length)) {
        yield { bytes: own(buffer.subarray(0, end)), offset, rows: counter.rows, lines: counter.lines };
        buffer.copyWithin(0, end, length);
        length -= end;
        offset += end;
        counter.shift(end);
      }
      if (length > maxBlockBytes) {
        yield { rest: offset };
        return;
      }
    }
  } finally {
    await file.close();
  }
}

/**
 * Whether `path` is a regular file, which can be cut into blocks. NB: blocks are read at their
 * places in the file, which a pipe or a terminal has not; and a named pipe opened to look would
 * end its writer (EPIPE) before the one pass reads it, so it is looked at with `stat` only.
 */
export async function isRegularFile(path: string): Promise<boolean> {
  return (await stat(path).catch((error: unknown) => Promise.reject(inputFileError(path, error)))).isFile();
}

/** A copy of bytes in an ArrayBuffer of their own (a slice of a pooled Buffer cannot be moved to a thread). */
function own(bytes: Uint8Array): Uint8Array {
  const copy = new Uint8Array(bytes.length);
  copy.set(bytes);
  return copy;
}
