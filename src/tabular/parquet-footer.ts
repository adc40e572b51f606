/**
 * The figures of a Parquet footer that the request limits need (rows and leaf columns) and that
 * `predict` plans its threads' jobs by (each row group's rows), read from the bytes, without parquet-wasm.
 *
 * NB: parquet-wasm's `ParquetFile.fromFile(blob)`, the only reader of its that exposes metadata,
 * leaks: every call leaves wasm-bindgen closures in the module's externref table (about 1.7 KB of
 * JavaScript heap that no collection frees), so a server reading the footer of each Parquet body
 * with it grew without bound (bench/soak). The footer is Thrift's compact protocol
 * (https://github.com/apache/thrift/blob/master/doc/specs/thrift-compact-protocol.md); only
 * `FileMetaData.schema` (field 2), `num_rows` (field 3) and each row group's `num_rows` (field 4's
 * field 3, which must add up to it) are read, the rest is skipped.
 */
import { constants } from "node:fs";
import { open } from "node:fs/promises";
import { FormatError } from "./errors.js";

/** Compact-protocol types (the low nibble of a field header or list header). */
const BOOL_TRUE = 1;
const BOOL_FALSE = 2;
const BYTE = 3;
const I16 = 4;
const I32 = 5;
const I64 = 6;
const DOUBLE = 7;
const BINARY = 8;
const LIST = 9;
const SET = 10;
const MAP = 11;
const STRUCT = 12;
/** Nesting a footer may use: Parquet's own is a handful of levels; more is a hostile file. */
const MAX_DEPTH = 64;

class CompactReader {
  #at: number;
  readonly #bytes: Uint8Array;
  readonly #end: number;

  constructor(bytes: Uint8Array, start: number, end: number) {
    this.#bytes = bytes;
    this.#at = start;
    this.#end = end;
  }

  byte(): number {
    if (this.#at >= this.#end) throw new Error("the footer ends inside a value");
    return this.#bytes[this.#at++] as number;
  }

  /** An unsigned varint, exact up to 2^53. */
  varint(): number {
    let value = 0;
    for (let scale = 1; ; scale *= 128) {
      const b = this.byte();
      value += (b & 0x7f) * scale;
      if (b < 0x80) return value;
      if (scale > 2 ** 56) throw new Error("a varint is longer than 64 bits");
    }
  }

  zigzag(): number {
    const v = this.varint();
    return v % 2 === 0 ? v / 2 : -(v + 1) / 2;
  }

  /** Calls `field` with each field's id and type; it reads the value or calls `skip`. */
  struct(field: (id: number, type: number) => void): void {
    let id = 0;
    for (;;) {
      const header = this.byte();
      if (header === 0) return;
      id = header >> 4 === 0 ? this.zigzag() : id + (header >> 4);
      field(id, header & 0x0f);
    }
  }

  list(): { size: number; type: number } {
    const header = this.byte();
    return { size: header >> 4 === 15 ? this.varint() : header >> 4, type: header & 0x0f };
  }

  /** Skips a value of `type`. NB: a bool field holds its value in its header; a bool in a list takes a byte. */
  skip(type: number, depth = 0, inList = false): void {
    if (depth > MAX_DEPTH) throw new Error(`values nest more than ${MAX_DEPTH} levels deep`);
    if (type === BOOL_TRUE || type === BOOL_FALSE) {
      if (inList) this.byte();
    } else if (type === BYTE) this.byte();
    else if (type === I16 || type === I32 || type === I64) this.varint();
    else if (type === DOUBLE || type === BINARY) this.#advance(type === DOUBLE ? 8 : this.varint());
    else if (type === LIST || type === SET) {
      const { size, type: of } = this.list();
      for (let i = 0; i < size; i++) this.skip(of, depth + 1, true);
    } else if (type === MAP) {
      const size = this.varint();
      const kinds = size > 0 ? this.byte() : 0;
      for (let i = 0; i < size; i++) {
        this.skip(kinds >> 4, depth + 1, true);
        this.skip(kinds & 0x0f, depth + 1, true);
      }
    } else if (type === STRUCT) this.struct((_id, t) => this.skip(t, depth + 1));
    else throw new Error(`unknown compact-protocol type ${type}`);
  }

  #advance(n: number): void {
    if (n > this.#end - this.#at) throw new Error("the footer ends inside a value");
    this.#at += n;
  }
}

/** What a Parquet footer declares: its rows, its leaf columns and each row group's rows. */
export interface ParquetFooter {
  rows: number;
  columns: number;
  groups: number[];
}

const PAR1 = [0x50, 0x41, 0x52, 0x31];
const hasMagic = (bytes: Uint8Array, at: number): boolean => PAR1.every((b, i) => bytes[at + i] === b);

/**
 * The rows and leaf columns a Parquet file's footer declares.
 * @throws FormatError (400) when the bytes do not end with a readable Parquet footer.
 */
export function readParquetFooter(bytes: Uint8Array): { rows: number; columns: number } {
  const n = bytes.byteLength;
  if (n < 12 || !hasMagic(bytes, 0) || !hasMagic(bytes, n - 4))
    throw new FormatError(`Could not read the Parquet data: ${n} bytes that do not start and end with "PAR1".`);
  const length = new DataView(bytes.buffer, bytes.byteOffset, n).getUint32(n - 8, true);
  if (length > n - 12) throw new FormatError(`Could not read the Parquet data: its footer says ${length} bytes of metadata, but the file has ${n}.`);
  const { rows, columns } = parseFooter(bytes, n - 8 - length, n - 8);
  return { rows, columns };
}

/**
 * What a Parquet file's footer declares, reading only its first 4 bytes and its footer (of a regular
 * file: a named pipe, a device or a folder is refused). NB: a file
 * this reads may still hold pages (or a footer) parquet-wasm cannot decode: its readers say so.
 * @throws FormatError (without the file's name) for a file that does not end with a readable Parquet
 * footer; the file system's errors as they are.
 */
export async function readParquetFileFooter(path: string): Promise<ParquetFooter> {
  // NB: opened without waiting (a named pipe's open waits for a writer, for ever if none comes), and
  // only a regular file is read: what is looked at is what was opened.
  const file = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const stats = await file.stat();
    if (!stats.isFile()) throw new FormatError("Could not read the Parquet data: it is not a regular file.");
    const size = stats.size;
    const read = async (at: number, length: number): Promise<Uint8Array> => {
      const bytes = new Uint8Array(length);
      // NB: a read may return fewer bytes than asked (a footer over 2 GiB always does): read on.
      for (let done = 0; done < length; ) {
        const { bytesRead } = await file.read(bytes, done, length - done, at + done);
        if (bytesRead === 0) throw new FormatError(`Could not read the Parquet data: the file ended at ${at + done} bytes, before its footer did.`);
        done += bytesRead;
      }
      return bytes;
    };
    if (size < 12) throw new FormatError(`Could not read the Parquet data: ${size} bytes that do not start and end with "PAR1".`);
    const head = await read(0, 4);
    const tail = await read(size - 8, 8);
    if (!hasMagic(head, 0) || !hasMagic(tail, 4))
      throw new FormatError(`Could not read the Parquet data: ${size} bytes that do not start and end with "PAR1".`);
    const length = new DataView(tail.buffer).getUint32(0, true);
    if (length > size - 12) throw new FormatError(`Could not read the Parquet data: its footer says ${length} bytes of metadata, but the file has ${size}.`);
    const metadata = await read(size - 8 - length, length);
    return parseFooter(metadata, 0, length);
  } finally {
    await file.close();
  }
}

/** Reads `FileMetaData` from `bytes[start, end)`. @throws FormatError for metadata that is not a readable footer. */
function parseFooter(bytes: Uint8Array, start: number, end: number): ParquetFooter {
  const reader = new CompactReader(bytes, start, end);
  let rows: number | undefined;
  let columns = 0;
  const groups: number[] = [];
  try {
    reader.struct((id, type) => {
      if (id === 3 && type === I64) rows = reader.zigzag();
      else if (id === 4 && type === LIST) {
        // NB: each RowGroup's num_rows (field 3), summed: a file-level count that lies (1 row over
        // millions) passed the limits, and the decoder, whose batches it caps, made a batch per row.
        // NB: a field given twice counts once, its last value, as parquet-wasm reads it.
        const { size, type: of } = reader.list();
        groups.length = 0;
        for (let i = 0; i < size; i++) {
          if (of !== STRUCT) throw new Error("the row groups are not a list of structs");
          let groupRows = 0;
          reader.struct((field, t) => {
            if (field === 3 && t === I64) groupRows = reader.zigzag();
            else reader.skip(t, 1);
          });
          if (groupRows < 0) throw new Error(`row group ${i} holds ${groupRows} rows`);
          groups.push(groupRows);
        }
      } else if (id === 2 && type === LIST) {
        // NB: leaf columns are the schema elements without `num_children` (field 5); the root has it.
        const { size, type: of } = reader.list();
        columns = 0;
        for (let i = 0; i < size; i++) {
          if (of !== STRUCT) throw new Error("the schema is not a list of elements");
          let leaf = true;
          reader.struct((field, t) => {
            if (field === 5) leaf = false;
            reader.skip(t, 1);
          });
          if (leaf) columns++;
        }
      } else reader.skip(type);
    });
  } catch (cause) {
    throw new FormatError(`Could not read the Parquet data: ${(cause as Error).message}.`, { cause });
  }
  if (rows === undefined || rows < 0) throw new FormatError("Could not read the Parquet data: its footer has no valid row count.");
  const groupRows = groups.reduce((a, b) => a + b, 0);
  if (groupRows !== rows)
    throw new FormatError(`Could not read the Parquet data: its footer says ${rows} rows, but its row groups hold ${groupRows}: the file is damaged.`);
  return { rows, columns, groups };
}
