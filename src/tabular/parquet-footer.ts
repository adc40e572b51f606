/**
 * The two figures of a Parquet footer the request limits need — rows and leaf columns — read from
 * the bytes, without parquet-wasm.
 *
 * NB: parquet-wasm's `ParquetFile.fromFile(blob)`, the only reader of its that exposes metadata,
 * leaks: every call leaves wasm-bindgen closures in the module's externref table (about 1.7 KB of
 * JavaScript heap that no collection frees), so a server reading the footer of each Parquet body
 * with it grew without bound (bench/soak). The footer is Thrift's compact protocol
 * (https://github.com/apache/thrift/blob/master/doc/specs/thrift-compact-protocol.md); only
 * `FileMetaData.schema` (field 2), `num_rows` (field 3) and each row group's `num_rows` (field 4's
 * field 3, which must add up to it) are read, the rest is skipped.
 */
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

/**
 * The rows and leaf columns a Parquet file's footer declares.
 * @throws FormatError (400) when the bytes do not end with a readable Parquet footer.
 */
export function readParquetFooter(bytes: Uint8Array): { rows: number; columns: number } {
  const n = bytes.byteLength;
  const magic = (at: number): boolean => bytes[at] === 0x50 && bytes[at + 1] === 0x41 && bytes[at + 2] === 0x52 && bytes[at + 3] === 0x31;
  if (n < 12 || !magic(0) || !magic(n - 4)) throw new FormatError(`Could not read the Parquet data: ${n} bytes that do not start and end with "PAR1".`);
  const length = new DataView(bytes.buffer, bytes.byteOffset, n).getUint32(n - 8, true);
  if (length > n - 12) throw new FormatError(`Could not read the Parquet data: its footer says ${length} bytes of metadata, but the file has ${n}.`);
  const reader = new CompactReader(bytes, n - 8 - length, n - 8);
  let rows: number | undefined;
  let columns = 0;
  let groupRows = 0;
  try {
    reader.struct((id, type) => {
      if (id === 3 && type === I64) rows = reader.zigzag();
      else if (id === 4 && type === LIST) {
        // NB: each RowGroup's num_rows (field 3), summed: a file-level count that lies (1 row over
        // millions) passed the limits, and the decoder, whose batches it caps, made a batch per row.
        const { size, type: of } = reader.list();
        for (let i = 0; i < size; i++) {
          if (of !== STRUCT) throw new Error("the row groups are not a list of structs");
          reader.struct((field, t) => {
            if (field === 3 && t === I64) groupRows += reader.zigzag();
            else reader.skip(t, 1);
          });
        }
      } else if (id === 2 && type === LIST) {
        // NB: leaf columns are the schema elements without `num_children` (field 5); the root has it.
        const { size, type: of } = reader.list();
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
  if (groupRows !== rows)
    throw new FormatError(`Could not read the Parquet data: its footer says ${rows} rows, but its row groups hold ${groupRows}: the file is damaged.`);
  return { rows, columns };
}
