import { columnValues, toJsonValue, type ColumnTable, type NumericArray } from "../tabular/index.js";
import { LITTLE_ENDIAN } from "../util/index.js";
import { HttpError } from "./errors.js";
import type { ColumnSpec } from "../tabular/index.js";
import type { InputTensor, InputTensorHeader } from "./open-inference.js";

/**
 * Tensor elements as raw bytes, as the Open Inference Protocol lays them out for gRPC's
 * `raw_input_contents` / `raw_output_contents` and for the REST binary tensor data extension:
 * little-endian, row-major, without padding; BOOL one byte (0 or 1); BYTES each element after its
 * 4-byte little-endian length.
 */

/** The whole-number range of each integer datatype (64-bit ones: what a JSON number holds exactly). */
export const INT_RANGE: Readonly<Record<string, readonly [number, number]>> = {
  INT8: [-128, 127],
  INT16: [-32768, 32767],
  INT32: [-2147483648, 2147483647],
  INT64: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
  UINT8: [0, 255],
  UINT16: [0, 65535],
  UINT32: [0, 4294967295],
  UINT64: [0, Number.MAX_SAFE_INTEGER],
};

/** Bytes per element of each fixed-size datatype in raw contents. */
const ELEMENT_BYTES: Readonly<Record<string, number>> = {
  BOOL: 1,
  INT8: 1,
  UINT8: 1,
  INT16: 2,
  UINT16: 2,
  FP16: 2,
  INT32: 4,
  UINT32: 4,
  FP32: 4,
  INT64: 8,
  UINT64: 8,
  FP64: 8,
};

type TypedArrayOf = new (buffer: ArrayBufferLike, byteOffset: number, length: number) => ArrayLike<number | bigint> & ArrayBufferView;

/** The typed array that reads each fixed-size datatype's raw elements (little-endian, as the protocol lays them out). */
const RAW_VIEW: Readonly<Record<string, TypedArrayOf>> = {
  BOOL: Uint8Array,
  INT8: Int8Array,
  UINT8: Uint8Array,
  INT16: Int16Array,
  UINT16: Uint16Array,
  FP16: Uint16Array,
  INT32: Int32Array,
  UINT32: Uint32Array,
  FP32: Float32Array,
  INT64: BigInt64Array,
  UINT64: BigUint64Array,
  FP64: Float64Array,
};

// NB: raw contents are little-endian and read through typed arrays, which use the host's order (LITTLE_ENDIAN).

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** An int64 the decoder gave as a string, as a number, refused past what a number holds exactly. */
export function wholeNumber(value: string | number, what: string): number {
  const n = typeof value === "number" ? value : Number(value);
  if (!Number.isSafeInteger(n))
    throw new HttpError("BAD_REQUEST", `${what} is ${String(value)}, beyond ±${Number.MAX_SAFE_INTEGER}: the largest whole number pipeserve holds exactly.`);
  return n;
}

/**
 * A BYTES element as the column takes it: the bytes themselves (copied: the message's buffer may be
 * reused) for a `binary` column, as Triton and KServe clients send images; else UTF-8 text.
 */
export function bytesElement(bytes: Uint8Array, header: InputTensorHeader, binary: boolean, i: number): string | Uint8Array {
  return binary ? Uint8Array.prototype.slice.call(bytes) : bytesText(bytes, header.name, i);
}

export function bytesText(bytes: Uint8Array, name: string, i: number): string {
  try {
    return utf8.decode(bytes);
  } catch {
    throw new HttpError(
      "BAD_REQUEST",
      `Element ${i} of input "${name}" is not UTF-8 text; BYTES inputs are read as text, except for the signature's binary columns.`,
    );
  }
}

/** A float16's value. */
function halfToNumber(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 0x1f;
  const fraction = h & 0x3ff;
  if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024);
  if (exponent === 0x1f) return fraction === 0 ? sign * Number.POSITIVE_INFINITY : Number.NaN;
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
}

/** A typed array of floats with a NaN as a plain array with `null` there (a missing value, as the JSON forms' NaN). */
function floatsWithMissing(view: Float64Array | Float32Array): NumericArray | (number | null)[] {
  for (let i = 0; i < view.length; i++) {
    if (Number.isNaN(view[i])) return Array.from(view, (v) => (Number.isNaN(v) ? null : v));
  }
  return view;
}

/**
 * An input's elements from its raw bytes: fixed-size little-endian elements, or BYTES each after a
 * 4-byte length (the bytes themselves for a `binary` column, else UTF-8 text). `where` names the
 * bytes in messages. Its shape has been checked (`checkInputShapes`).
 */
export function rawValues(header: InputTensorHeader, raw: Uint8Array, where: string, binary: boolean): InputTensor["values"] {
  const count = header.shape.reduce((n, d) => n * d, 1);
  if (header.datatype === "BYTES") {
    const values: (string | Uint8Array)[] = [];
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    let at = 0;
    while (at < raw.byteLength) {
      // NB: more elements than the shape holds is refused at once, not after reading them all.
      if (values.length === count)
        throw new HttpError("BAD_REQUEST", `${where} holds more than the ${count} elements its shape says; ${raw.byteLength - at} bytes are left over.`);
      if (at + 4 > raw.byteLength) throw new HttpError("BAD_REQUEST", `${where} ends inside the 4-byte length of element ${values.length}.`);
      const length = view.getUint32(at, true);
      at += 4;
      if (at + length > raw.byteLength)
        throw new HttpError("BAD_REQUEST", `${where}: element ${values.length} says ${length} bytes, but only ${raw.byteLength - at} are left.`);
      values.push(bytesElement(raw.subarray(at, at + length), header, binary, values.length));
      at += length;
    }
    return values;
  }
  if (!LITTLE_ENDIAN)
    throw new HttpError("INTERNAL_ERROR", "This server runs on a big-endian machine and cannot read raw tensor contents; send typed contents.");
  const size = ELEMENT_BYTES[header.datatype] as number;
  if (raw.byteLength !== count * size)
    throw new HttpError("BAD_REQUEST", `${where} has ${raw.byteLength} bytes; ${count} elements of ${size} bytes take ${count * size}.`);
  // NB: a typed array needs an offset that is a multiple of its element size; the message's bytes may start anywhere.
  const bytes = raw.byteOffset % size === 0 ? raw : new Uint8Array(raw);
  const view = new (RAW_VIEW[header.datatype] as TypedArrayOf)(bytes.buffer, bytes.byteOffset, count);
  switch (header.datatype) {
    case "FP64":
    case "FP32":
      return floatsWithMissing(view as Float64Array | Float32Array);
    case "FP16":
      return Array.from(view as Uint16Array, (h) => {
        const v = halfToNumber(h);
        return Number.isNaN(v) ? null : v;
      });
    case "BOOL": {
      const out: boolean[] = new Array(count);
      for (let i = 0; i < count; i++) {
        const b = (view as Uint8Array)[i] as number;
        if (b > 1) throw new HttpError("BAD_REQUEST", `${where}: element ${i} is the byte ${b}; a BOOL is 0 or 1.`);
        out[i] = b === 1;
      }
      return out;
    }
    case "INT64":
    case "UINT64":
      return Array.from(view as BigInt64Array, (v, i) => wholeNumber(v.toString(), `Element ${i} of input "${header.name}"`));
    default:
      // INT8…UINT32: the typed array's own element type is the datatype's range.
      return view as unknown as NumericArray;
  }
}

/** An output's values as the REST route sends them (JSON values: finite numbers or null, text, booleans). */
export function jsonValues(column: ColumnTable["columns"][number]): unknown[] {
  return toJsonValue(columnValues(column)) as unknown[];
}

/** A BYTES output's elements: bytes as they are (JSON's base64 is not gRPC's), the rest as their JSON values. */
export function bytesValues(column: ColumnTable["columns"][number]): unknown[] {
  const own = columnValues(column);
  const json = jsonValues(column);
  return json.map((v, i) => (own[i] instanceof Uint8Array ? own[i] : v));
}

function missingValue(name: string, datatype: string, row: number, form: string): HttpError {
  return new HttpError(
    "INTERNAL_ERROR",
    `Output "${name}" has a missing value at row ${row}, which ${form} ${datatype} tensor cannot carry (JSON tensor data sends null); make the model fill it.`,
  );
}

/**
 * Checks an output's values fit a raw or typed tensor of its datatype (`form`: "a gRPC", "a binary"):
 * no missing value, and integers within the type's range.
 */
export function checkCarriable(values: readonly unknown[], name: string, datatype: string, form = "a gRPC"): void {
  const row = values.indexOf(null);
  if (row !== -1) throw missingValue(name, datatype, row, form);
  const range = INT_RANGE[datatype];
  if (range === undefined) return;
  // NB: an integer tensor would wrap or truncate a value outside its type silently (REST sends it as it is).
  const bad = values.findIndex((v) => typeof v !== "number" || !Number.isInteger(v) || v < range[0] || v > range[1]);
  if (bad !== -1)
    throw new HttpError(
      "INTERNAL_ERROR",
      `Output "${name}" is ${datatype}, but row ${bad} holds ${JSON.stringify(values[bad])}, which ${form} ${datatype} tensor cannot carry; make the model's output fit its signature.`,
    );
}

export function textBytes(v: unknown): Uint8Array {
  return typeof v === "string" ? Buffer.from(v, "utf8") : v instanceof Uint8Array ? v : Buffer.from(JSON.stringify(v), "utf8");
}

/** An output's raw bytes, laid out as the protocol says. */
export function rawContents(name: string, datatype: string, column: ColumnTable["columns"][number], numRows: number, form = "a gRPC"): Uint8Array {
  if (datatype === "FP64" && column instanceof Float64Array) return new Uint8Array(column.buffer, column.byteOffset, column.byteLength);
  if (datatype === "BYTES") {
    const values = bytesValues(column);
    checkCarriable(values, name, datatype, form);
    const parts = values.map(textBytes);
    const out = Buffer.allocUnsafe(parts.reduce((n, p) => n + 4 + p.byteLength, 0));
    let at = 0;
    for (const p of parts) {
      out.writeUInt32LE(p.byteLength, at);
      out.set(p, at + 4);
      at += 4 + p.byteLength;
    }
    return out;
  }
  const values = jsonValues(column);
  if (datatype !== "FP64" && datatype !== "FP32") checkCarriable(values, name, datatype, form);
  const View = RAW_VIEW[datatype] ?? Float64Array;
  if (datatype === "INT64" || datatype === "UINT64") {
    const view = new (View as BigInt64ArrayConstructor)(numRows);
    for (let i = 0; i < numRows; i++) view[i] = BigInt(values[i] as number);
    return new Uint8Array(view.buffer);
  }
  const view = new (View as Float64ArrayConstructor)(numRows);
  for (let i = 0; i < numRows; i++) {
    const v = values[i];
    view[i] = v === null ? Number.NaN : typeof v === "boolean" ? Number(v) : (v as number);
  }
  return new Uint8Array(view.buffer);
}

const binaryColumnSets = new WeakMap<readonly ColumnSpec[], ReadonlySet<string>>();

/** The names of a signature's `binary` columns, whose BYTES elements are bytes, not text (made once per signature). */
export function binaryColumnsOf(inputs: readonly ColumnSpec[] | null | undefined): ReadonlySet<string> {
  if (!inputs) return new Set();
  let names = binaryColumnSets.get(inputs);
  if (!names) {
    names = new Set(inputs.filter((s) => s.type === "binary" && s.name !== undefined).map((s) => s.name as string));
    binaryColumnSets.set(inputs, names);
  }
  return names;
}
