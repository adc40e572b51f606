import type { DataType, RecordBatch, RecordBatchReader, Schema, Table, Vector } from "apache-arrow";
import { isAscii } from "node:buffer";
import { arrowFooter, arrowLib } from "./arrow-lib.js";
import { isNumericArray, setKey, type Cell, type Column, type ColumnTable, type NumericArray } from "./column-table.js";
import { FormatError, LimitError } from "./errors.js";
import { NO_LIMITS, type TableLimits, checkTableSize, formatCount, nextTurn } from "./limits.js";
import type { ColumnType } from "./signature.js";
import { LITTLE_ENDIAN } from "../util/index.js";

const SAFE_MAX = BigInt(Number.MAX_SAFE_INTEGER);
const SAFE_MIN = BigInt(Number.MIN_SAFE_INTEGER);
const INT64_MAX = 2n ** 63n - 1n;
const INT64_MIN = -(2n ** 63n);
const UINT64_MAX = 2n ** 64n - 1n;

/** Whether a vector holds plain numbers: floats of 32 and 64 bits, integers of up to 32 (Float16 holds raw bits). */
function isPlainNumberType(type: DataType): boolean {
  const { DataType, Precision } = arrowLib();
  return (DataType.isFloat(type) && type.precision !== Precision.HALF) || (DataType.isInt(type) && type.bitWidth <= 32);
}

/**
 * A vector of numbers without missing values as its typed array: the vector's own buffer when it
 * is one chunk (no copy), one copy of its chunks otherwise; undefined for other vectors.
 */
function typedColumnOf(vector: Vector | null, numRows: number): NumericArray | undefined {
  if (!vector || vector.nullCount !== 0 || !isPlainNumberType(vector.type as DataType)) return undefined;
  // NB: before toArray(), which copies each chunk's values into an array of the whole length: a
  // short chunk among several would leave zeros there, at the right length (review of 08702b9).
  for (const data of vector.data) checkChunkBuffers(data);
  const values = vector.toArray() as unknown;
  return isNumericArray(values) && values.length === numRows ? values : undefined;
}

/**
 * Writes one Arrow vector's values into `out` from index `at`: numbers (null where missing),
 * strings, 64-bit integers as numbers when they are safe, decimals as numbers, timestamps and dates
 * as `Date`s, other types as apache-arrow reads them.
 */
function writeColumn(vector: Vector | null, out: Cell[], at: number, numRows: number, dictionaries?: DictionaryCache): void {
  if (!vector) {
    out.fill(null, at, at + numRows);
    return;
  }
  const type = vector.type as DataType;
  const { DataType } = arrowLib();
  for (const data of vector.data) checkChunkBuffers(data);
  if (isPlainNumberType(type)) return numberColumn(vector, out, at);
  if ((DataType.isUtf8(type) || DataType.isLargeUtf8(type)) && utf8Column(vector, out, at)) return;
  if ((DataType.isTimestamp(type) || DataType.isDate(type)) && temporalColumn(vector, out, at)) return;
  if (DataType.isInt(type) && type.bitWidth === 64 && type.isSigned && int64Column(vector, out, at)) return;
  if (DataType.isDecimal(type) && decimalColumn(vector, out, at)) return;
  if (DataType.isDictionary(type) && dictionaryColumn(vector, out, at, dictionaries ?? new Map())) return;
  const values: Cell[] = Array.from(vector as Iterable<Cell>);
  if (DataType.isTimestamp(type) || DataType.isDate(type)) {
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (typeof v === "number") values[i] = new Date(v);
    }
  } else if (DataType.isInt(type) && type.bitWidth === 64) {
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (typeof v === "bigint" && v <= SAFE_MAX && v >= SAFE_MIN) values[i] = Number(v);
    }
  }
  for (let i = 0; i < values.length; i++) out[at + i] = values[i];
}

/**
 * Converts one Arrow vector into a column: numbers without missing values stay in their typed
 * array (see `typedColumnOf`), everything else becomes a plain array (see `writeColumn`).
 */
function columnFromVector(vector: Vector | null, numRows: number): Column {
  const typed = typedColumnOf(vector, numRows);
  if (typed) return typed;
  const out = new Array<Cell>(numRows);
  writeColumn(vector, out, 0, numRows);
  return out;
}

/**
 * Whether the chunk's i-th value is there, from its validity bitmap (which is not sliced with the
 * chunk: bits count from `data.offset`); undefined when no value is missing.
 */
function validityOf(data: Vector["data"][number]): ((i: number) => boolean) | undefined {
  if (data.nullCount === 0) return undefined;
  const bitmap = data.nullBitmap;
  if (!bitmap || bitmap.length === 0) return (i) => data.getValid(i);
  const offset = data.offset;
  return (i) => (((bitmap[(offset + i) >> 3] as number) >> ((offset + i) & 7)) & 1) === 1;
}

/** Numbers of 32 bits or fewer, null where missing, from the chunks' typed arrays (sliced with them), into `out` from `at`. */
function numberColumn(vector: Vector, out: Cell[], at: number): void {
  let k = at;
  for (const data of vector.data) {
    const values = data.values as ArrayLike<number>;
    const bitmap = data.nullCount === 0 ? undefined : data.nullBitmap;
    if (data.nullCount === 0) {
      for (let i = 0; i < data.length; i++) out[k++] = values[i] as number;
    } else if (bitmap && bitmap.length > 0) {
      // NB: the bitmap is not sliced with the chunk: bits count from data.offset.
      const offset = data.offset;
      for (let i = 0; i < data.length; i++) {
        const bit = offset + i;
        out[k++] = (((bitmap[bit >> 3] as number) >> (bit & 7)) & 1) === 1 ? (values[i] as number) : null;
      }
    } else {
      for (let i = 0; i < data.length; i++) out[k++] = data.getValid(i) ? (values[i] as number) : null;
    }
  }
}

/** Milliseconds per unit of a timestamp (SECOND 0 … NANOSECOND 3): a factor above 1, a divisor below. */
const MS_FACTOR = [1000, 1, 1 / 1000, 1 / 1_000_000] as const;
const TWO_32 = 4294967296;
/** Beyond this high word a 64-bit value may not be a safe integer; such values take apache-arrow's path. */
const SAFE_HIGH = 2097150;

/**
 * `v / d` as apache-arrow computes it for safe integers `v` and `d` ≥ 1: the quotient rounded
 * toward zero plus the remainder's fraction, each exact before the one addition (which at large
 * magnitudes may round up to the next millisecond, as apache-arrow's does).
 */
function divideAsArrow(v: number, d: number): number {
  let q = Math.trunc(v / d);
  let r = v - q * d;
  if (v >= 0 ? r < 0 : r > 0) {
    q += v >= 0 ? -1 : 1;
    r = v - q * d;
  } else if (v >= 0 ? r >= d : r <= -d) {
    q += v >= 0 ? 1 : -1;
    r = v - q * d;
  }
  return q + r / d;
}

/**
 * The `i`-th 64-bit integer of `words` (little-endian pairs of 32-bit words) as a number when its
 * high word says it is a safe integer; undefined otherwise (read it as a bigint).
 */
function safeInt64At(words: Int32Array, i: number): number | undefined {
  const high = words[2 * i + 1] as number;
  return high > SAFE_HIGH || high < -SAFE_HIGH ? undefined : high * TWO_32 + ((words[2 * i] as number) >>> 0);
}

/**
 * Timestamps and dates as `Date`s, read from their buffers: the same instants apache-arrow's
 * iterator gives (its milliseconds computed the same way, fractions cut off by `Date`), at a tenth of its
 * cost (no BigInt per value where the 64-bit value is a safe integer). False, having written
 * nothing that counts, where its buffers are not read so (a big-endian machine, values that are no
 * BigInt64Array): the caller's iterator path reads them.
 * @throws TimestampOutOfRange for a time no `Date` holds: one apache-arrow refused as "not safe to
 * convert to a number" (called damaged), or made an Invalid Date of without a word.
 */
function temporalColumn(vector: Vector, out: Cell[], at: number): boolean {
  if (!LITTLE_ENDIAN) return false;
  const { DataType } = arrowLib();
  let k = at;
  for (const data of vector.data) {
    const type = data.type as DataType & { unit: number };
    const valid = validityOf(data);
    if (DataType.isDate(type) && type.unit === 0) {
      const days = data.values as Int32Array;
      for (let i = 0; i < data.length; i++) {
        if (valid !== undefined && !valid(i)) out[k++] = null;
        else out[k++] = dateWithin((days[i] as number) * 86_400_000, days[i] as number, "days");
      }
      continue;
    }
    const factor = DataType.isDate(type) ? 1 : (MS_FACTOR[type.unit] as number);
    const unit = DataType.isDate(type) ? "milliseconds" : (TIME_UNITS[type.unit] as string);
    const big = data.values as BigInt64Array;
    if (!(big instanceof BigInt64Array)) return false;
    const words = new Int32Array(big.buffer, big.byteOffset, big.length * 2);
    const divisor = factor < 1 ? Math.round(1 / factor) : 0;
    for (let i = 0; i < data.length; i++) {
      if (valid !== undefined && !valid(i)) {
        out[k++] = null;
        continue;
      }
      const v = safeInt64At(words, i);
      if (v === undefined) {
        // NB: a count apache-arrow would refuse as "not safe to convert to a number": no date either.
        if (divisor === 0) throw new TimestampOutOfRange(big[i] as bigint, unit);
        const value = big[i] as bigint;
        const d = BigInt(divisor);
        const q = value / d;
        if (q > SAFE_MAX || q < SAFE_MIN) throw new TimestampOutOfRange(value, unit);
        if (value % d !== 0n) throw new SubMillisecondTime(value, unit);
        out[k++] = dateWithin(Number(q), value, unit);
        continue;
      }
      if (divisor !== 0 && v % divisor !== 0) throw new SubMillisecondTime(v, unit);
      out[k++] = dateWithin(divisor === 0 ? v * factor : divideAsArrow(v, divisor), v, unit);
    }
  }
  return true;
}

/** Arrow's time units (SECOND 0 … NANOSECOND 3), for messages. */
const TIME_UNITS = ["seconds", "milliseconds", "microseconds", "nanoseconds"] as const;
/** The most milliseconds from 1970 a JavaScript `Date` holds, either way (about 275,000 years). */
const MAX_DATE_MS = 8.64e15;

/**
 * A timestamp or date whose value no JavaScript `Date` holds: `guarded` says so, naming the column
 * and the value (no damage). NB: no row: a batch of a file, or a dictionary, counts its own.
 */
class TimestampOutOfRange extends Error {
  constructor(
    readonly value: number | bigint,
    readonly unit: string,
  ) {
    super(`${value} ${unit} from 1970`);
  }
}

/**
 * A timestamp finer than a millisecond (microseconds, nanoseconds), which a `Date` cannot hold.
 * NB: found by an audit: cut to the millisecond without a word, where the same time as text
 * (JSON, CSV) is refused as lossy (PROTOCOL.md §3).
 */
class SubMillisecondTime extends Error {
  constructor(
    readonly value: number | bigint,
    readonly unit: string,
  ) {
    super(`${value} ${unit} from 1970`);
  }
}

/** A `Date` of `ms` from 1970 (`value` in `unit`, for the message). @throws TimestampOutOfRange beyond what a Date holds (an Invalid Date before). */
function dateWithin(ms: number, value: number | bigint, unit: string): Date {
  if (!(ms >= -MAX_DATE_MS && ms <= MAX_DATE_MS)) throw new TimestampOutOfRange(value, unit);
  return new Date(ms);
}

/**
 * 64-bit integers as numbers where they are safe integers (bigints where not), null where missing,
 * read from their buffers as two 32-bit words: what apache-arrow's iterator and the conversion after
 * it give, without a BigInt per value (12.6× faster on 1,000,000 rows, bench/tabular; pandas and
 * Polars send integers as int64). False, having written nothing that counts, when the buffers are
 * not as expected.
 */
function int64Column(vector: Vector, out: Cell[], at: number): boolean {
  if (!LITTLE_ENDIAN) return false;
  let k = at;
  for (const data of vector.data) {
    const big = data.values as BigInt64Array;
    // NB: a buffer shorter than its chunk was refused by checkChunkBuffers, before.
    if (!(big instanceof BigInt64Array)) return false;
    const words = new Int32Array(big.buffer, big.byteOffset, big.length * 2);
    const valid = validityOf(data);
    for (let i = 0; i < data.length; i++) {
      if (valid !== undefined && !valid(i)) {
        out[k++] = null;
        continue;
      }
      const v = safeInt64At(words, i);
      if (v !== undefined) out[k++] = v;
      else {
        const value = big[i] as bigint;
        out[k++] = value <= SAFE_MAX && value >= SAFE_MIN ? Number(value) : value;
      }
    }
  }
  return true;
}

/** 10^0 … 10^22: the powers of ten a double holds exactly (literals: `10 ** n` may be off by an ulp). */
const EXACT_POWERS_OF_TEN = [1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22];

/**
 * The decimal whose unscaled value starts at `words[at]` (`stride` little-endian 32-bit words, two's
 * complement): its digits with the scale applied, as the nearest double (a JSON number of those
 * digits reads the same); a whole number (scale 0) beyond the safe integers, within 64 bits, as a
 * bigint (as an Int64 column gives it).
 */
function decimalValue(words: Uint32Array, at: number, stride: number, scale: number): number | bigint {
  const low = words[at] as number;
  const high = stride === 1 ? (low | 0) >> 31 : (words[at + 1] as number) | 0;
  let signOnly = true;
  for (let w = 2; w < stride && signOnly; w++) signOnly = ((words[at + w] as number) | 0) === high >> 31;
  // NB: most values are a safe integer with an exact power of ten: one correctly rounded division or product.
  if (signOnly && high <= SAFE_HIGH && high >= -SAFE_HIGH) {
    const n = stride === 1 ? low | 0 : high * TWO_32 + low;
    if (scale === 0) return n;
    if (scale > 0 && scale < EXACT_POWERS_OF_TEN.length) return n / (EXACT_POWERS_OF_TEN[scale] as number);
    if (scale < 0 && -scale < EXACT_POWERS_OF_TEN.length) return n * (EXACT_POWERS_OF_TEN[-scale] as number);
  }
  let v = 0n;
  for (let w = stride - 1; w >= 0; w--) v = (v << 32n) | BigInt(words[at + w] as number);
  v = BigInt.asIntN(32 * stride, v);
  // NB: a bigint beyond 64 bits could be written nowhere (an Arrow or Parquet output would wrap it as Int64).
  if (scale === 0) return (v <= SAFE_MAX && v >= SAFE_MIN) || v > INT64_MAX || v < INT64_MIN ? Number(v) : v;
  return Number(`${v}e${-scale}`);
}

/**
 * Decimal columns (pandas' `Decimal` objects, SQL NUMERIC columns, as pyarrow and Parquet send them)
 * as numbers, their scale applied (see `decimalValue`), null where missing. NB: apache-arrow's
 * iterator gives raw words whose text and `Number()` ignore the scale: 123.45 in a decimal128(10, 2)
 * reads as 12345. False, having written nothing that counts, when the buffers are not as expected.
 * @throws RangeError for values that end before the column does (damaged data).
 */
function decimalColumn(vector: Vector, out: Cell[], at: number): boolean {
  if (!LITTLE_ENDIAN) return false;
  let k = at;
  for (const data of vector.data) {
    const { scale } = data.type as DataType & { scale: number };
    const words = data.values as unknown;
    const stride = data.stride;
    if (!(words instanceof Uint32Array)) return false;
    if (stride !== 1 && stride !== 2 && stride !== 4 && stride !== 8) {
      throw new RangeError(`it is a decimal of ${stride * 32} bits; Arrow's decimals have 32, 64, 128 or 256`);
    }
    if (valuesHeld(data) < data.length) throw new RangeError(`its values end after ${valuesHeld(data)} of its ${data.length} decimals`);
    const valid = validityOf(data);
    for (let i = 0; i < data.length; i++) out[k++] = valid !== undefined && !valid(i) ? null : decimalValue(words, i * stride, stride, scale);
  }
  return true;
}

/** Each dictionary's values as `dictionaryColumn` read them, for one conversion (a big request's slices share their dictionaries). */
type DictionaryCache = Map<Vector, Cell[]>;

/**
 * @throws RangeError when a dictionary's buffers hold fewer values than its length says. NB: that
 * length comes from the IPC message, unchecked by apache-arrow, and counts towards no row limit: a
 * body of a kilobyte could otherwise claim a dictionary of millions of values, read in full.
 */
function checkDictionaryBuffers(dictionary: Vector): void {
  for (const data of dictionary.data) {
    const held = valuesHeld(data);
    if (held < data.length) throw new RangeError(`its dictionary says it holds ${data.length} values, but its buffers hold ${held}`);
  }
}

/**
 * How many values a chunk's buffers hold (a type `countsValues`), whatever its length says: text
 * and bytes one per offset past the first, whatever their bytes' length; booleans one per bit from
 * the chunk's offset; other types one per `stride` elements of their values.
 */
function valuesHeld(data: Vector["data"][number]): number {
  const { DataType } = arrowLib();
  const type = data.type as DataType;
  const offsets = data.valueOffsets as ArrayLike<unknown> | undefined;
  const values = data.values as ArrayLike<unknown> | undefined;
  if (DataType.isUtf8(type) || DataType.isLargeUtf8(type) || DataType.isBinary(type) || DataType.isLargeBinary(type))
    return Math.max(0, (offsets?.length ?? 0) - 1);
  // NB: a boolean chunk's bits are not sliced with it: they count from its offset.
  if (DataType.isBool(type)) return Math.max(0, (values?.length ?? 0) * 8 - data.offset);
  return Math.floor((values?.length ?? 0) / Math.max(1, data.stride));
}

/** The types whose chunks `valuesHeld` counts: the flat ones, and times, durations, intervals, fixed-size binary and dictionary indices. */
function countsValues(type: DataType): boolean {
  const { DataType } = arrowLib();
  return (
    isFlatType(type) ||
    DataType.isTime(type) ||
    DataType.isDuration(type) ||
    DataType.isInterval(type) ||
    DataType.isFixedSizeBinary(type) ||
    DataType.isDictionary(type)
  );
}

/**
 * Refuses (RangeError: `guarded` makes it a FormatError naming the column) a chunk whose buffers
 * end before its values do. NB: the IPC message gives a chunk's length and each buffer's size
 * apart, and apache-arrow does not compare them: a value past a short buffer read as `undefined`
 * (a missing value, without a word), a boolean as `false`, binary past its offsets as the whole
 * buffer. Fixed-width values and binary offsets are counted by `valuesHeld`; booleans and validity
 * bitmaps are not sliced with their chunk, so they must reach past its offset. Text and decimals
 * are checked where they are read (utf8Column, decimalColumn); nested types by apache-arrow.
 */
function checkChunkBuffers(data: Vector["data"][number]): void {
  if (data.length === 0) return;
  const { DataType } = arrowLib();
  const type = data.type as DataType;
  const bitmap = data.nullBitmap as Uint8Array | undefined;
  if (data.nullCount > 0 && bitmap !== undefined && bitmap.length > 0 && bitmap.length * 8 < data.offset + data.length) {
    throw new RangeError(`its validity bitmap ends after ${Math.max(0, bitmap.length * 8 - data.offset)} of its ${data.length} values`);
  }
  if (DataType.isUtf8(type) || DataType.isLargeUtf8(type) || DataType.isDecimal(type) || !countsValues(type)) return;
  const held = valuesHeld(data);
  if (held < data.length) throw new RangeError(`its buffers hold ${held} of its ${data.length} values`);
}

/** The value types whose dictionaries `dictionaryColumn` reads itself: flat ones, whose buffers `checkDictionaryBuffers` checks. */
function isFlatType(type: DataType): boolean {
  const { DataType } = arrowLib();
  return (
    DataType.isInt(type) ||
    DataType.isFloat(type) ||
    DataType.isUtf8(type) ||
    DataType.isLargeUtf8(type) ||
    DataType.isBinary(type) ||
    DataType.isLargeBinary(type) ||
    DataType.isBool(type) ||
    DataType.isTimestamp(type) ||
    DataType.isDate(type) ||
    DataType.isDecimal(type)
  );
}

/**
 * A dictionary-encoded column (pandas' categoricals, as pyarrow sends them; Polars' with Uint32
 * indices) as its values: each chunk's dictionary read once as a column of its own (`writeColumn`:
 * text by `utf8Column`, timestamps as `Date`s, safe Int64s as numbers), then one lookup per cell,
 * instead of apache-arrow's iterator (10.5× faster on 1,000,000 labels, bench/tabular); every cell of
 * a value shares one string, and gets a `Date` of its own. Indices of any integer type:
 * apache-arrow's iterator fails on 64-bit ones ("Cannot mix BigInt and other types"), which
 * pyarrow's `DictionaryArray.from_arrays` makes from numpy codes. False, having written nothing that
 * counts, for a chunk without its dictionary or with a dictionary of nested values (the iterator
 * reads those, only the values used).
 * @throws RangeError for an index outside its dictionary, or a dictionary shorter than it says (damaged data).
 */
function dictionaryColumn(vector: Vector, out: Cell[], at: number, dictionaries: DictionaryCache): boolean {
  let k = at;
  for (const data of vector.data) {
    const dictionary = data.dictionary as Vector | undefined;
    const indices = data.values as unknown;
    const wide = indices instanceof BigInt64Array || indices instanceof BigUint64Array;
    // NB: indices shorter than the chunk were refused by checkChunkBuffers, before.
    if (!dictionary || !isFlatType(dictionary.type as DataType) || !(isNumericArray(indices) || wide)) return false;
    let values = dictionaries.get(dictionary);
    if (values === undefined) {
      checkDictionaryBuffers(dictionary);
      values = new Array<Cell>(dictionary.length);
      writeColumn(dictionary, values, 0, dictionary.length);
      dictionaries.set(dictionary, values);
    }
    const valid = validityOf(data);
    for (let i = 0; i < data.length; i++) {
      if (valid !== undefined && !valid(i)) {
        out[k++] = null;
        continue;
      }
      const index = wide ? Number(indices[i]) : (indices[i] as number);
      if (!(Number.isInteger(index) && index >= 0 && index < values.length)) {
        throw new RangeError(`value ${k - at} has dictionary index ${String(indices[i])}, outside its ${values.length} values`);
      }
      const value = values[index];
      // NB: a Date is mutable: each cell gets its own, as without a dictionary.
      out[k++] = value instanceof Date ? new Date(value.getTime()) : value;
    }
  }
  return true;
}

/**
 * A LargeUtf8 chunk's first `count` 64-bit offsets (the caller has checked it has that many) as
 * 32-bit ones, for values of under 2 GiB (`bytes`); undefined for more (then apache-arrow's
 * iterator reads the column).
 * @throws RangeError for an offset outside the values (damaged data).
 */
function narrowOffsets(offsets: BigInt64Array, count: number, bytes: number): Int32Array | undefined {
  if (!LITTLE_ENDIAN || bytes > 0x7fffffff) return undefined;
  const words = new Int32Array(offsets.buffer, offsets.byteOffset, count * 2);
  const narrow = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    const low = words[2 * i] as number;
    if (words[2 * i + 1] !== 0 || low < 0 || low > bytes) throw new RangeError(`offset ${i} is ${offsets[i]}, outside its ${bytes} bytes`);
    narrow[i] = low;
  }
  return narrow;
}

/**
 * A Utf8 or LargeUtf8 column's strings, read from its buffers: one `Buffer` view per chunk and a
 * UTF-8 slice per cell, instead of apache-arrow's iterator (a visitor and a TextDecoder call per
 * cell: 9.7× slower on 1,000,000 labels, 3.3× on distinct ids, 11.6× on LargeUtf8 labels,
 * bench/tabular; Polars, and Parquet files pandas wrote, give LargeUtf8). False, having written
 * nothing that counts, for LargeUtf8 values of 2 GiB or more.
 * NB: a sliced chunk's offsets are sliced with it; its validity bitmap is not (see validityOf).
 */
function utf8Column(vector: Vector, out: Cell[], at: number): boolean {
  let k = at;
  // NB: a column of labels repeats a few short values (an island, a sex, a country): each is made
  // once and shared by every cell that holds it, instead of one new string per cell (1,000,000
  // rows: two million strings for the young generation to collect). A column of many distinct
  // values (ids) stops looking after as many misses as it has slots. A short column makes few
  // strings: it does not look at all.
  const slots = vector.length < SHARED_MIN_ROWS ? 0 : Math.min(SHARED_MAX_SLOTS, 2 ** Math.ceil(Math.log2(vector.length)));
  let shared: (string | undefined)[] | undefined = slots === 0 ? undefined : new Array<string | undefined>(slots).fill(undefined);
  let misses = 0;
  for (const data of vector.data) {
    // NB: a writer may leave out the offsets of a chunk of no values.
    if (data.length === 0) continue;
    const raw = data.valueOffsets as Int32Array | BigInt64Array;
    const bytes = data.values as Uint8Array;
    // NB: an offset missing past a short buffer read as undefined, which every range check passed: each such cell was the whole values buffer.
    if (valuesHeld(data) < data.length) throw new RangeError(`its ${data.length} values have ${raw?.length ?? 0} offsets, not ${data.length + 1}`);
    const offsets = raw instanceof BigInt64Array ? narrowOffsets(raw, data.length + 1, bytes.length) : raw;
    if (offsets === undefined) return false;
    const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const valid = validityOf(data);
    // NB: ASCII text (most keys and labels) is decoded once and cut with String#slice: one native
    // call per chunk instead of one per cell. Byte offsets are character offsets only then.
    // A sliced chunk keeps its whole values buffer: only its own bytes are read.
    const first = Math.max(0, Math.min(offsets[0] ?? 0, bytes.length));
    const last = Math.max(first, Math.min(offsets[data.length] ?? 0, bytes.length));
    const ascii = isAscii(text.subarray(first, last)) ? text.toString("latin1", first, last) : undefined;
    for (let i = 0; i < data.length; i++) {
      if (valid !== undefined && !valid(i)) out[k++] = null;
      else {
        const start = offsets[i] as number;
        const end = offsets[i + 1] as number;
        if (start < 0 || end < start || end > bytes.length) throw offsetsOutside(k, start, end, bytes.length);
        if (ascii !== undefined && start >= first && end <= last) {
          if (shared !== undefined && end - start <= SHARED_MAX_BYTES) {
            let hash = end - start;
            for (let j = start; j < end; j++) hash = (Math.imul(hash, 31) + (bytes[j] as number)) | 0;
            const slot = hash & (slots - 1);
            const seen = shared[slot];
            if (seen !== undefined && sameAscii(seen, bytes, start, end)) {
              out[k++] = seen;
              continue;
            }
            const value = ascii.slice(start - first, end - first);
            if (seen === undefined) shared[slot] = value;
            else if (++misses > slots) shared = undefined;
            out[k++] = value;
          } else out[k++] = ascii.slice(start - first, end - first);
        } else out[k++] = text.toString("utf8", start, end);
      }
    }
  }
  return true;
}

/**
 * A text value's offsets outside its bytes (damaged data). NB: made here, not in `utf8Column`'s
 * loop: a template literal of its counters there, never run, made V8's code for the loop slower
 * (see JsonScan.run in json-text.ts).
 */
function offsetsOutside(k: number, start: number, end: number, bytes: number): RangeError {
  return new RangeError(`value ${k} has offsets ${start}…${end} outside its ${bytes} bytes`);
}

/** Short values longer than this are made anew for each cell (`utf8Column`). */
const SHARED_MAX_BYTES = 24;
/** The most distinct short values a column shares (slots by hash; fewer for fewer rows). */
const SHARED_MAX_SLOTS = 4096;
/** Columns shorter than this make each value anew. */
const SHARED_MIN_ROWS = 256;

/** Whether the ASCII `text` is exactly `bytes[start, end)`. */
function sameAscii(text: string, bytes: Uint8Array, start: number, end: number): boolean {
  if (text.length !== end - start) return false;
  for (let j = start; j < end; j++) if (text.charCodeAt(j - start) !== bytes[j]) return false;
  return true;
}

/**
 * @throws FormatError when two columns share a name (Arrow and Parquet allow it): which one a name
 * means would be a guess, and a DataFrame refuses them.
 */
function checkUniqueNames(table: Table, where: string): void {
  const seen = new Set<string>();
  for (const { name } of table.schema.fields) {
    if (seen.has(name)) throw new FormatError(`${where} has two columns named "${name}". Column names must be unique: rename one.`);
    seen.add(name);
  }
}

/**
 * A column's values. NB: apache-arrow decodes values only when they are read, so damaged buffers
 * (an offset past the data, a length out of range) fail here, with whatever error arrow throws.
 * @throws FormatError naming the column.
 */
function columnOf(table: Table, index: number, name: string): Column {
  return guarded(name, () => columnFromVector(table.getChildAt(index), table.numRows));
}

/** Runs a read of column `name`'s values; what arrow throws on damaged data becomes a FormatError naming the column. */
function guarded<T>(name: string, read: () => T): T {
  try {
    return read();
  } catch (cause) {
    if (cause instanceof TimestampOutOfRange) {
      throw new FormatError(
        `Column "${name}" of the Arrow data holds a time JavaScript's dates cannot: ${cause.message}, beyond ±8,640,000,000,000,000 ` +
          "milliseconds (about 275,000 years either side of 1970). Fix the value, or send such a column as integers (int64) or text.",
        { cause },
      );
    }
    if (cause instanceof SubMillisecondTime) {
      throw new FormatError(
        `Column "${name}" of the Arrow data holds a time finer than a millisecond (${cause.message}), which pipeserve's dates cannot hold. ` +
          'Round it to milliseconds (pandas: .dt.floor("ms")), or write the column as timestamp[ms].',
        { cause },
      );
    }
    throw new FormatError(`Could not read the values of column "${name}" of the Arrow data, which is damaged: ${(cause as Error).message}`, { cause });
  }
}

/**
 * A plain table from an Arrow table. With `only`, just those columns are converted (the others
 * are skipped, not copied into JS values), in the table's order.
 * @throws FormatError when two columns share a name, or values cannot be read (damaged data).
 */
export function fromArrow(table: Table, only?: ReadonlySet<string>): ColumnTable {
  checkUniqueNames(table, "The Arrow data");
  const names: string[] = [];
  const columns: Column[] = [];
  const wide: Record<string, DataType> = {};
  const { DataType: Types } = arrowLib();
  table.schema.fields.forEach((f, i) => {
    if (only && !only.has(f.name)) return;
    names.push(f.name);
    columns.push(columnOf(table, i, f.name));
    if (Types.isInt(f.type) && f.type.bitWidth === 64) setKey(wide, f.name, f.type);
  });
  const out = { names, columns, numRows: table.numRows };
  if (Object.keys(wide).length > 0) INT64_FIELDS.set(out, wide);
  return out;
}

/**
 * The 64-bit integer fields of the Arrow data a table was read from (`fromArrow`), whose values
 * it holds as numbers (or bigints past 2^53): what declares them `long` to signature inference.
 * NB: found by an audit: a Parquet file's int64 column loaded `as: table` was typed double.
 */
const INT64_FIELDS = new WeakMap<ColumnTable, Readonly<Record<string, DataType>>>();

/** The 64-bit integer fields of the Arrow data `table` was read from, by name (none for a table made otherwise). */
export function int64FieldsOf(table: ColumnTable): Readonly<Record<string, DataType>> {
  return INT64_FIELDS.get(table) ?? {};
}

/** Cells converted per event-loop turn by `fromArrowInSlices` (a few milliseconds, text columns included). */
const ARROW_SLICE_CELLS = 1 << 16;

/**
 * `fromArrow` for a request's table: refused (LimitError, 413) when it has more rows or cells than
 * `limits` allow, before any value is converted (FormatError, 400, when two columns share a name). A small table is converted at once (no promise);
 * a big one a slice of rows per event-loop turn, so other requests are answered meanwhile.
 */
export function fromArrowInSlices(table: Table, limits: TableLimits = NO_LIMITS, where = "the Arrow table"): ColumnTable | Promise<ColumnTable> {
  checkUniqueNames(table, where.charAt(0).toUpperCase() + where.slice(1));
  const width = table.schema.fields.length;
  checkTableSize(table.numRows, width, limits, where);
  if (table.numRows * width <= ARROW_SLICE_CELLS) return fromArrow(table);
  return fromArrowSliced(table);
}

async function fromArrowSliced(table: Table): Promise<ColumnTable> {
  const names: string[] = [];
  const columns: Column[] = [];
  const rest: { index: number; name: string; out: Cell[] }[] = [];
  const dictionaries: DictionaryCache = new Map();
  // Typed columns are taken whole (no copy, or one); the others are written a slice of rows per turn, in place.
  table.schema.fields.forEach((f, i) => {
    names.push(f.name);
    const typed = guarded(f.name, () => typedColumnOf(table.getChildAt(i), table.numRows));
    if (typed) columns.push(typed);
    else {
      const out = new Array<Cell>(table.numRows);
      columns.push(out);
      rest.push({ index: i, name: f.name, out });
    }
  });
  const step = Math.max(1, Math.floor(ARROW_SLICE_CELLS / Math.max(rest.length, 1)));
  for (let start = 0; rest.length > 0 && start < table.numRows; start += step) {
    const slice = table.slice(start, start + step);
    for (const { index, name, out } of rest) guarded(name, () => writeColumn(slice.getChildAt(index), out, start, slice.numRows, dictionaries));
    await nextTurn();
  }
  return { names, columns, numRows: table.numRows };
}

/** The Arrow type that holds a typed array's numbers as they are. */
function arrowTypeOfArray(values: NumericArray): DataType {
  const A = arrowLib();
  if (values instanceof Float64Array) return new A.Float64();
  if (values instanceof Float32Array) return new A.Float32();
  if (values instanceof Int32Array) return new A.Int32();
  if (values instanceof Int16Array) return new A.Int16();
  if (values instanceof Int8Array) return new A.Int8();
  if (values instanceof Uint32Array) return new A.Uint32();
  if (values instanceof Uint16Array) return new A.Uint16();
  return new A.Uint8();
}

/** The Arrow type pipeserve writes for a signature's column type (as `toArrow` infers it from such values). */
function arrowTypeOfColumnType(type: ColumnType): DataType {
  const A = arrowLib();
  switch (type) {
    case "boolean":
      return new A.Bool();
    case "integer":
      return new A.Int32();
    case "long":
      return new A.Int64();
    case "float":
      return new A.Float32();
    case "double":
      return new A.Float64();
    case "string":
      return new A.Utf8();
    case "binary":
      return new A.Binary();
    case "datetime":
      return new A.TimestampMillisecond();
  }
}

/** The Arrow types of a signature's named columns (see `arrowTypeOfColumnType`). */
export function arrowTypesOfColumns(specs: readonly { name?: string | undefined; type: ColumnType }[] | null | undefined): Record<string, DataType> {
  const types: Record<string, DataType> = {};
  for (const spec of specs ?? []) if (spec.name !== undefined) setKey(types, spec.name, arrowTypeOfColumnType(spec.type));
  return types;
}

/**
 * The Arrow types an output signature declares for `table`'s numeric columns, where every value
 * fits: whole numbers within range for `long` (Int64) and `integer` (Int32), numbers for `float`
 * (Float32) and `double` (Float64). A column whose values do not fit keeps the type its values give.
 * NB: found by an audit: a `long` column was Int64 in an answer of no rows (its declared type) and
 * Float64 in one with rows, so a client could not put two answers together.
 */
export function declaredArrowTypes(
  table: ColumnTable,
  specs: readonly { name?: string | undefined; type: ColumnType }[] | null | undefined,
): Record<string, DataType> {
  const types: Record<string, DataType> = {};
  if (!specs || table.numRows === 0) return types;
  const at = new Map(table.names.map((name, i) => [name, i]));
  for (const spec of specs) {
    const i = spec.name === undefined ? undefined : at.get(spec.name);
    if (i === undefined) continue;
    // NB: a float's range is Float32's: a larger number would become ±Infinity (a value lost).
    const range =
      spec.type === "long"
        ? Number.MAX_SAFE_INTEGER
        : spec.type === "integer"
          ? 2 ** 31 - 1
          : spec.type === "float"
            ? FLOAT32_MAX
            : spec.type === "double"
              ? Infinity
              : 0;
    if (range === 0) continue;
    const whole = spec.type === "long" || spec.type === "integer";
    const column = table.columns[i] as Column;
    let fits = true;
    for (let r = 0; r < column.length && fits; r++) {
      const v = column[r];
      if (v === null || v === undefined) continue;
      // NB: a long column read from Arrow holds bigints past 2^53 beside its numbers (found by a review).
      if (typeof v === "bigint") {
        fits = spec.type === "long" ? v >= INT64_MIN && v <= INT64_MAX : spec.type === "integer" ? v >= -(2n ** 31n) && v < 2n ** 31n : false;
        continue;
      }
      fits =
        typeof v === "number" &&
        (whole ? Number.isInteger(v) && v <= range && v >= -range - (spec.type === "integer" ? 1 : 0) : !(Math.abs(v) > range) || !Number.isFinite(v));
    }
    if (fits) setKey(types, spec.name as string, arrowTypeOfColumnType(spec.type));
  }
  return types;
}

/** The Arrow type `toArrow` gives a column when no type is given for it (text for one with no value). */
export function arrowTypeOfColumn(values: Column): DataType {
  return arrowTypeFor(values, undefined);
}

/**
 * Picks an Arrow type for a column: a typed array's own, or for plain values the first non-null
 * value's. A column that holds no value (every cell missing, or no rows) takes `empty` when given
 * (a signature's type), else text.
 */
function arrowTypeFor(values: Column, empty: DataType | undefined): DataType {
  if (isNumericArray(values)) return values.length === 0 && empty ? empty : arrowTypeOfArray(values);
  const { Binary, Bool, Float64, Int64, TimestampMillisecond, Utf8 } = arrowLib();
  for (const v of values) {
    if (v === null || v === undefined) continue;
    switch (typeof v) {
      case "number":
        return new Float64();
      case "bigint":
        return new Int64();
      case "boolean":
        return new Bool();
      case "string":
        return new Utf8();
      default:
        if (v instanceof Date) return new TimestampMillisecond();
        if (v instanceof Uint8Array) return new Binary();
        return new Utf8();
    }
  }
  return empty ?? new Utf8();
}

/**
 * The 64-bit integer a cell is, for an Int64 (or Uint64) column.
 * @throws FormatError naming the column for a value no such integer is (a fraction, or past 64
 * bits): apache-arrow's builder would throw JavaScript's own error, or wrap it without a word
 * (2^70 written as 0, a Uint64 of 2^64 − 1 as -1).
 */
function int64Cell(v: Cell, signed: boolean, name: string): bigint {
  const big = typeof v === "bigint" ? v : typeof v === "number" && Number.isInteger(v) ? BigInt(v) : undefined;
  const min = signed ? INT64_MIN : 0n;
  const max = signed ? INT64_MAX : UINT64_MAX;
  if (big === undefined || big < min || big > max) {
    const shown = typeof v === "bigint" ? String(v) : (JSON.stringify(v) ?? String(v));
    throw new FormatError(
      `Column "${name}" holds ${shown}, which an Arrow ${signed ? "Int64" : "Uint64"} column cannot hold (a whole number from ${min} to ${max}), so it cannot be written as Arrow or Parquet: return such values as text or as numbers, or write JSON or CSV.`,
    );
  }
  return big;
}

/** The error for a value a column of Arrow type `type` cannot hold (`what` says what it holds). */
function cannotHold(name: string, v: Cell, type: DataType, what: string): FormatError {
  const shown =
    typeof v === "bigint"
      ? String(v)
      : v instanceof Date
        ? Number.isNaN(v.getTime())
          ? "an invalid date"
          : `the date ${v.toISOString()}`
        : (JSON.stringify(v) ?? String(v));
  return new FormatError(
    `Column "${name}" holds ${shown}, which an Arrow ${String(type)} column cannot hold (${what}), so it cannot be written as Arrow or Parquet: give the column values of one kind, or write JSON or CSV.`,
  );
}

/** A number for a Float column; bigints within 2^53 become numbers. */
function floatCell(v: Cell, type: DataType, single: boolean, name: string): number {
  const n = typeof v === "number" ? v : typeof v === "bigint" && v <= SAFE_MAX && v >= SAFE_MIN ? Number(v) : undefined;
  // NB: a number past Float32's range would become ±Infinity.
  if (n === undefined || (single && Math.abs(n) > FLOAT32_MAX && Number.isFinite(n))) {
    throw cannotHold(name, v, type, single ? `numbers within ±${FLOAT32_MAX}` : "numbers");
  }
  return n;
}

/** A whole number for an Int column narrower than 64 bits, within its range. */
function narrowIntCell(v: Cell, type: DataType & { bitWidth: number; isSigned: boolean }, name: string): number {
  const max = type.isSigned ? 2 ** (type.bitWidth - 1) - 1 : 2 ** type.bitWidth - 1;
  const min = type.isSigned ? -(2 ** (type.bitWidth - 1)) : 0;
  const n = typeof v === "number" ? v : typeof v === "bigint" ? Number(v) : Number.NaN;
  if (!Number.isInteger(n) || n < min || n > max) throw cannotHold(name, v, type, `whole numbers from ${min} to ${max}`);
  return n;
}

/**
 * A valid Date for a Timestamp column: a Date, or text or a number a Date can be made of. An
 * invalid Date is missing (null), as JSON and CSV write it and pandas its NaT.
 */
function timestampCell(v: Cell, type: DataType, name: string): Date | null {
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? null : v;
  const date = typeof v === "string" || typeof v === "number" ? new Date(v) : undefined;
  if (date === undefined || Number.isNaN(date.getTime())) throw cannotHold(name, v, type, "dates");
  return date;
}

/**
 * A column's cells as apache-arrow's builder for `type` takes them. Each cell must be of the
 * type's kind: the builders would otherwise write a wrong value without a word ("x" as NaN in a
 * Float64 column, `true` as 1, 2.5 as 2 and 2^40 as 0 in an Int32 column; found by a review, for a
 * column whose kinds are mixed, or whose later chunks a file's first chunk had typed).
 * @throws FormatError naming the column and the value.
 */
function normaliseForArrow(values: readonly Cell[], type: DataType, name: string): unknown[] {
  const { DataType } = arrowLib();
  const absent = (v: Cell): v is null | undefined => v === null || v === undefined;
  if (DataType.isUtf8(type)) {
    // NB: a text column takes any value as its text, as apache-arrow's builder does (a column of
    // mixed kinds is typed text: see `toArrow`).
    return values.map((v) => (absent(v) ? null : typeof v === "string" ? v : v instanceof Date ? v.toISOString() : JSON.stringify(v)));
  }
  if (DataType.isInt(type) && type.bitWidth === 64) {
    const signed = (type as DataType & { isSigned: boolean }).isSigned;
    return values.map((v) => (absent(v) ? null : int64Cell(v, signed, name)));
  }
  if (DataType.isInt(type)) {
    const int = type as DataType & { bitWidth: number; isSigned: boolean };
    return values.map((v) => (absent(v) ? null : narrowIntCell(v, int, name)));
  }
  if (DataType.isTimestamp(type)) return values.map((v) => (absent(v) ? null : timestampCell(v, type, name)));
  if (DataType.isFloat(type)) {
    const single = type.precision !== arrowLib().Precision.DOUBLE;
    return values.map((v) => (absent(v) ? null : floatCell(v, type, single, name)));
  }
  if (DataType.isBool(type)) {
    return values.map((v) => {
      if (absent(v)) return null;
      if (typeof v !== "boolean") throw cannotHold(name, v, type, "true or false");
      return v;
    });
  }
  if (DataType.isBinary(type)) {
    return values.map((v) => {
      if (absent(v)) return null;
      if (!(v instanceof Uint8Array)) throw cannotHold(name, v, type, "bytes");
      return v;
    });
  }
  return values.map((v) => (v === undefined ? null : v));
}

/**
 * An Arrow table from a plain table. `types` may fix the Arrow type of some columns; the others
 * are inferred from their values, and `emptyTypes` (e.g. an output signature's, see
 * `arrowTypesOfColumns`) types those of them that hold no value, which would otherwise be text.
 */
export function toArrow(
  table: ColumnTable,
  types: Readonly<Record<string, DataType>> = {},
  options: { builders?: boolean; emptyTypes?: Readonly<Record<string, DataType>> } = {},
): Table {
  const { Table, vectorFromArray } = arrowLib();
  const vectors: Record<string, Vector> = {};
  const emptyTypes = options.emptyTypes ?? {};
  table.names.forEach((name, i) => {
    const column = table.columns[i] as Column;
    // NB: own keys only: a column may be named `__proto__`.
    const own = (typesOf: Readonly<Record<string, DataType>>): DataType | undefined => (Object.hasOwn(typesOf, name) ? typesOf[name] : undefined);
    const given = own(types);
    let type = given ?? arrowTypeFor(column, own(emptyTypes));
    const fast = options.builders ? undefined : isNumericArray(column) ? typedVector(column, type) : directVector(column, type);
    // NB: found by a review: a 64-bit integer column read from Arrow holds numbers, and bigints past
    // 2^53; typed by its first value it was Float64, which cannot hold the bigints. Whole numbers
    // with a bigint among them are Int64 (the slow path only: the fast one took every number).
    if (fast === undefined && given === undefined && Array.isArray(column)) {
      if (isWholeWithBigint(column)) type = new (arrowLib().Int64)();
      // NB: text among other kinds makes a text column, whichever comes first (found by a review:
      // ["x", 1.5] was text and [1.5, "x"] refused); a column of one kind keeps its type.
      else if (!arrowLib().DataType.isUtf8(type) && column.some((v) => typeof v === "string")) type = new (arrowLib().Utf8)();
    }
    setKey(
      vectors,
      name,
      fast ?? (vectorFromArray(normaliseForArrow(Array.isArray(column) ? column : Array.from(column), type, name), type as never) as Vector),
    );
  });
  return new Table(vectors);
}

/** Whether a column holds only whole numbers and bigints (and missing values), a bigint among them: a 64-bit integer column. */
function isWholeWithBigint(values: readonly Cell[]): boolean {
  let bigint = false;
  for (const v of values) {
    if (typeof v === "bigint") bigint = true;
    else if (v !== null && v !== undefined && !(typeof v === "number" && Number.isInteger(v))) return false;
  }
  return bigint;
}

/** Arrow's validity bitmap of a column (bit set: a value), with how many are missing. */
function validity(values: readonly Cell[]): { nullBitmap: Uint8Array | undefined; nullCount: number } {
  let nullCount = 0;
  for (const v of values) if (v === null || v === undefined) nullCount++;
  if (nullCount === 0) return { nullBitmap: undefined, nullCount };
  const nullBitmap = new Uint8Array((values.length + 7) >> 3);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v !== null && v !== undefined) nullBitmap[i >> 3] = (nullBitmap[i >> 3] as number) | (1 << (i & 7));
  }
  return { nullBitmap, nullCount };
}

const UTF8 = new TextEncoder();
/** Strings up to this long are written into a Utf8 column by a loop when they are ASCII. */
const SHORT_TEXT = 64;
/** The most bytes one Utf8 column's offsets can address. */
const UTF8_MAX_BYTES = 2 ** 31 - 1;

/**
 * A Float64 column of numbers, or a Utf8 column of strings, written straight into Arrow's buffers
 * (apache-arrow's builders take microseconds a cell: 10,000 rows × 6 columns took ~20 ms); the
 * same vector `vectorFromArray` builds. Undefined for other types, or a value those paths do not
 * take as is (a Date in a text column…): the builders handle them.
 */
function directVector(values: readonly Cell[], type: DataType): Vector | undefined {
  const A = arrowLib();
  const n = values.length;
  if (A.DataType.isFloat(type) && type.precision === A.Precision.DOUBLE) {
    const data = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const v = values[i];
      if (typeof v === "number") data[i] = v;
      else if (v !== null && v !== undefined) return undefined;
    }
    return A.makeVector(A.makeData({ type: type as never, length: n, data, ...validity(values) })) as unknown as Vector;
  }
  if (A.DataType.isTimestamp(type) && (type as DataType & { unit: number }).unit === A.TimeUnit.MILLISECOND && LITTLE_ENDIAN) {
    // NB: a Date's milliseconds as the int64 apache-arrow's builder writes, its two 32-bit words
    // set from the (safe, whole) number without a BigInt per value.
    const data = new BigInt64Array(n);
    const words = new Int32Array(data.buffer);
    for (let i = 0; i < n; i++) {
      const v = values[i];
      if (v === null || v === undefined) continue;
      if (!(v instanceof Date)) return undefined;
      const ms = v.getTime();
      if (!Number.isFinite(ms)) return undefined;
      const high = Math.floor(ms / TWO_32);
      words[2 * i] = ms - high * TWO_32;
      words[2 * i + 1] = high;
    }
    return A.makeVector(A.makeData({ type, length: n, data, ...validity(values) } as never)) as unknown as Vector;
  }
  if (A.DataType.isBool(type)) {
    // NB: one bit per value, as apache-arrow's builder packs them (a missing value's bit 0).
    const data = new Uint8Array((n + 7) >> 3);
    for (let i = 0; i < n; i++) {
      const v = values[i];
      if (v === true) data[i >> 3] = (data[i >> 3] as number) | (1 << (i & 7));
      else if (v !== false && v !== null && v !== undefined) return undefined;
    }
    return A.makeVector(A.makeData({ type: type as never, length: n, data, ...validity(values) })) as unknown as Vector;
  }
  if (A.DataType.isUtf8(type)) {
    let chars = 0;
    for (const v of values) {
      if (typeof v === "string") chars += v.length;
      else if (v !== null && v !== undefined) return undefined;
    }
    const valueOffsets = new Int32Array(n + 1);
    let bytes = new Uint8Array(Math.max(16, chars + (chars >> 2)));
    let at = 0;
    for (let i = 0; i < n; i++) {
      const v = values[i];
      if (typeof v === "string" && v.length > 0) {
        // NB: a UTF-8 character takes up to 3 bytes per UTF-16 unit: room for that, growing by doubling.
        if (bytes.length - at < v.length * 3) {
          const grown = new Uint8Array(Math.max(bytes.length * 2, at + v.length * 3));
          grown.set(bytes.subarray(0, at));
          bytes = grown;
        }
        // NB: a short ASCII string is copied here: cheaper than a native encodeInto call per cell.
        let j = 0;
        if (v.length <= SHORT_TEXT) {
          for (; j < v.length; j++) {
            const code = v.charCodeAt(j);
            if (code >= 0x80) break;
            bytes[at + j] = code;
          }
        }
        at += j === v.length ? j : UTF8.encodeInto(v, bytes.subarray(at)).written;
        if (at > UTF8_MAX_BYTES) return undefined;
      }
      valueOffsets[i + 1] = at;
    }
    return A.makeVector(A.makeData({ type: type as never, length: n, valueOffsets, data: bytes.subarray(0, at), ...validity(values) })) as unknown as Vector;
  }
  return undefined;
}

/**
 * A vector of a typed array's numbers: the array itself as the data buffer when the Arrow type is
 * the array's own (no copy), a Float64 copy for a double column; undefined for other types.
 */
function typedVector(values: NumericArray, type: DataType): Vector | undefined {
  const A = arrowLib();
  const own = arrowTypeOfArray(values);
  let data: NumericArray | undefined;
  if (A.DataType.isFloat(type) || A.DataType.isInt(type)) {
    // NB: arrow names a numeric type by its kind and width ("Int32", "Uint8", "Float64").
    if (String(own) === String(type)) data = values;
    else if (A.DataType.isFloat(type) && type.precision === A.Precision.DOUBLE) data = Float64Array.from(values);
  }
  if (data === undefined) return undefined;
  return A.makeVector(A.makeData({ type: type as never, length: values.length, data, nullCount: 0 })) as unknown as Vector;
}

/** What apache-arrow's file readers have, sync (bytes) or async (a file handle). */
interface ArrowFileReader<Batch = RecordBatch | null | Promise<RecordBatch | null>> {
  open(): unknown;
  readonly schema: Schema;
  readonly numRecordBatches: number;
  readRecordBatch(index: number): Batch;
}

/** The error for an Arrow file whose footer names a block that holds no record batch. */
function notABatch(index: number): FormatError {
  return new FormatError(`Could not decode the Arrow IPC data: record batch ${index} of the file's footer points at no record batch. The file is damaged.`);
}

/**
 * The record batches of an Arrow IPC file, each read once by its index in the footer.
 * NB: apache-arrow's own iteration of a file (`tableFromIPC`, `for … of reader`) loops forever when
 * the footer points a record batch's block at another message (its schema, a dictionary): it reads
 * that block again and again. Read by index, such a block is refused.
 */
function* fileBatches(reader: ArrowFileReader<RecordBatch | null>): Generator<RecordBatch> {
  for (let i = 0; i < reader.numRecordBatches; i++) {
    const batch = reader.readRecordBatch(i);
    if (!batch) throw notABatch(i);
    yield batch;
  }
}

/**
 * Tables of an Arrow IPC reader's record batches, one per batch; a file with none gives one
 * table of its schema with no rows. A file's batches are read by index (see `fileBatches`).
 * @throws FormatError for a file whose footer points at no record batch; apache-arrow's errors for bytes it cannot read.
 */
export async function* arrowReaderTables(reader: RecordBatchReader): AsyncGenerator<Table> {
  const { Table } = arrowLib();
  if (!reader.isFile()) {
    for await (const batch of reader) yield new Table(batch);
    return;
  }
  const file = reader as unknown as ArrowFileReader;
  await file.open();
  for (let i = 0; i < file.numRecordBatches; i++) {
    const batch = await file.readRecordBatch(i);
    if (!batch) throw notABatch(i);
    yield new Table(batch);
  }
  if (file.numRecordBatches === 0) yield new Table(file.schema);
}

/**
 * The most record batches an Arrow body a client sends may hold (`decodeArrowIpc`'s `maxBatches`):
 * the bytes are decoded at once, ~20 µs a batch however small, so 650,000 one-row batches (99 MB)
 * held the event loop 10 s.
 */
export const MAX_BODY_BATCHES = 10_000;

/**
 * The most columns an Arrow body a client sends may hold (`decodeArrowIpc`'s `maxColumns`):
 * apache-arrow builds each column of each batch at ~70 µs, so a 4 MB stream of 40,000 one-row
 * columns held the event loop 4.6 s (found by an audit). A wider table is refused from its schema.
 */
export const MAX_BODY_COLUMNS = 10_000;

/** The largest finite Float32. */
const FLOAT32_MAX = 3.4028234663852886e38;

/** The most columns × record batches an Arrow body a client sends may hold (with `maxColumns`): see `decodeArrowIpc`. */
export const MAX_BODY_COLUMN_CHUNKS = 50_000;

/**
 * Decodes Arrow IPC bytes (stream or file format); with `maxBatches` or `maxColumns`, refuses data
 * holding more record batches or columns than that, from its framing and schema, before decoding.
 * @throws FormatError for bytes that are not Arrow IPC, a damaged file, or too many batches;
 * LimitError (413) for too many columns.
 */
export function decodeArrowIpc(bytes: Uint8Array, options: { maxBatches?: number; maxColumns?: number } = {}): Table {
  const { RecordBatchReader, Table } = arrowLib();
  try {
    // NB: counted before anything is decoded, dictionary batches too (a file's are read as it opens).
    if (options.maxBatches !== undefined || options.maxColumns !== undefined) {
      const stop = options.maxBatches ?? Number.POSITIVE_INFINITY;
      const shape = ipcShape(bytes, stop);
      if (shape.batches > stop)
        throw new FormatError(
          `The Arrow data holds more than ${stop} record and dictionary batches; write it in fewer, larger ones (a batch of many rows each).`,
        );
      if (options.maxColumns !== undefined && shape.columns > options.maxColumns)
        throw new LimitError(
          `The Arrow data has ${formatCount(shape.columns)} columns (nested fields counted), more than the ${formatCount(options.maxColumns)} a request may hold; send only the columns the model reads.`,
        );
      // NB: each column of each record batch costs ~35 µs to build: 10,000 columns in 20 batches held the event loop 6.7 s.
      if (options.maxColumns !== undefined && shape.columns * shape.recordBatches > MAX_BODY_COLUMN_CHUNKS)
        throw new LimitError(
          `The Arrow data has ${formatCount(shape.columns)} columns in ${formatCount(shape.recordBatches)} record batches, more than the ${formatCount(MAX_BODY_COLUMN_CHUNKS)} column chunks a request may hold; write it in fewer batches (one batch of many rows).`,
        );
    }
    const reader = RecordBatchReader.from(bytes);
    if (!reader.isFile()) return new Table(reader.readAll());
    const file = reader.open() as unknown as ArrowFileReader<RecordBatch | null>;
    return new Table(file.schema, [...fileBatches(file)]);
  } catch (cause) {
    if (cause instanceof FormatError || cause instanceof LimitError) throw cause;
    throw new FormatError(`Could not decode the Arrow IPC data: ${arrowFailure(cause)}`, { cause });
  }
}

/** "ARROW1": the magic that starts and ends an Arrow IPC file. */
const ARROW_FILE_MAGIC = [0x41, 0x52, 0x52, 0x4f, 0x57, 0x31];

/**
 * How many batches (record and dictionary) Arrow IPC bytes hold, counted up to `stop` + 1 without
 * decoding any; how many columns their schema has, nested fields counted; and how many record
 * batches: a file's from its footer, a stream's by walking its messages' framing. Zeros for bytes
 * neither reads (the decoder then says what is wrong with them).
 */
function ipcShape(bytes: Uint8Array, stop: number): { batches: number; columns: number; recordBatches: number } {
  const n = bytes.byteLength;
  const magicAt = (at: number): boolean => ARROW_FILE_MAGIC.every((b, i) => bytes[at + i] === b);
  if (n >= 18 && magicAt(0) && magicAt(n - 6)) {
    const length = new DataView(bytes.buffer, bytes.byteOffset, n).getInt32(n - 10, true);
    if (length <= 0 || length > n - 18) return { batches: 0, columns: 0, recordBatches: 0 };
    const footer = arrowFooter().decode(bytes.subarray(n - 10 - length, n - 10));
    return { batches: footer.numRecordBatches + footer.numDictionaries, columns: fieldCount(footer.schema.fields), recordBatches: footer.numRecordBatches };
  }
  const { MessageReader, MessageHeader } = arrowLib();
  const reader = new MessageReader(bytes);
  let batches = 0;
  let recordBatches = 0;
  let columns = 0;
  for (let message = reader.next(); !message.done && batches <= stop; message = reader.next()) {
    const m = message.value;
    if (m.headerType === MessageHeader.Schema && columns === 0) columns = fieldCount((m.header() as Schema).fields);
    else if (m.headerType === MessageHeader.RecordBatch || m.headerType === MessageHeader.DictionaryBatch) {
      batches++;
      if (m.headerType === MessageHeader.RecordBatch) recordBatches++;
    }
    reader.readMessageBody(m.bodyLength);
  }
  return { batches, columns, recordBatches };
}

/** Fields and their children, at every depth (a struct of 20,000 fields is 20,001). */
function fieldCount(fields: readonly { type: { children?: readonly unknown[] | null } }[]): number {
  let count = 0;
  const stack = [...fields];
  for (let field = stack.pop(); field !== undefined; field = stack.pop()) {
    count++;
    for (const child of (field.type.children ?? []) as typeof fields) stack.push(child);
  }
  return count;
}

/** apache-arrow's words for record batches compressed with a codec it has not been given (pipeserve gives it none). */
const NO_CODEC = /is compressed but codec not found/;

/**
 * apache-arrow's message for an error reading Arrow IPC data; for data whose record batches are
 * compressed (LZ4 or ZSTD: pandas' `to_feather` compresses by default), what to do instead.
 */
export function arrowErrorMessage(cause: unknown): string {
  const message = String((cause as Error)?.message ?? cause);
  if (!NO_CODEC.test(message)) return message;
  return (
    "its record batches are compressed (LZ4 or ZSTD), which pipeserve does not decompress: write it uncompressed " +
    '(pandas: to_feather(path, compression="uncompressed"); pyarrow: pa.ipc.IpcWriteOptions(compression=None); ' +
    'Polars: write_ipc(path, compression="uncompressed")), or send Parquet.'
  );
}

/**
 * Why apache-arrow could not read some bytes, for a client. NB: on bytes cut short or damaged it
 * fails with JavaScript's own errors ("Cannot read properties of null (reading 'fieldsLength')"),
 * which say nothing to a client; its own errors say what it expected.
 */
function arrowFailure(cause: unknown): string {
  if (cause instanceof TypeError || cause instanceof RangeError) return "the bytes end early or are damaged: send a whole Arrow IPC stream or file.";
  return arrowErrorMessage(cause);
}

/**
 * Another build's column type as one of this process's (by its type id and parameters), for the
 * types `toArrow` writes; undefined for the others, inferred from the values then. A dictionary's
 * values keep their type (the dictionary encoding itself is not carried over).
 */
function ownType(type: DataType): DataType | undefined {
  const A = arrowLib();
  const t = type as unknown as Record<string, unknown>;
  if (A.DataType.isDictionary(type)) return ownType(t.dictionary as DataType);
  if (A.DataType.isInt(type)) return new A.Int(t.isSigned as boolean, t.bitWidth as 8 | 16 | 32 | 64) as DataType;
  if (A.DataType.isFloat(type)) return new A.Float(t.precision as number) as DataType;
  if (A.DataType.isUtf8(type) || A.DataType.isLargeUtf8(type)) return new A.Utf8();
  if (A.DataType.isBool(type)) return new A.Bool();
  if (A.DataType.isBinary(type)) return new A.Binary();
  if (A.DataType.isTimestamp(type)) return new A.Timestamp(t.unit as number, (t.timezone as string | null) ?? null) as DataType;
  if (A.DataType.isDate(type)) return new A.TimestampMillisecond();
  return undefined;
}

/**
 * The table as one of this process's apache-arrow (see arrowLib): itself, or for a table of
 * another copy of the library (an ES module import of apache-arrow), rebuilt with the same column
 * types: arrow's writers dispatch on `instanceof` and would write a foreign table wrongly.
 */
export function ownArrowTable(table: Table): Table {
  const { Table } = arrowLib();
  // NB: not `instanceof`: apache-arrow answers it for any build's tables (by a Symbol.for mark), yet its
  // writer misencodes another build's dictionary columns (their bytes do not decode).
  if (Object.getPrototypeOf(table) === Table.prototype) return table;
  const types: Record<string, DataType> = {};
  for (const field of table.schema.fields) {
    const type = ownType(field.type as DataType);
    if (type !== undefined) setKey(types, field.name, type);
  }
  return toArrow(fromArrow(table), types);
}

/** Encodes an Arrow table as IPC bytes, in the `stream` (default) or `file` format. */
export function encodeArrowIpc(table: Table, format: "stream" | "file" = "stream"): Uint8Array {
  return arrowLib().tableToIPC(ownArrowTable(table), format);
}
