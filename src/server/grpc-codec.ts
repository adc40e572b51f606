import { randomUUID } from "node:crypto";
import { columnValues, toJsonValue, type ColumnSpec, type ColumnTable, type NumericArray, type Signature, type TableLimits } from "../tabular/index.js";
import { HttpError } from "./errors.js";
import { LITTLE_ENDIAN } from "../util/index.js";
import {
  INT_RANGE,
  checkInputHeader,
  checkInputShapes,
  elementCount,
  inputsToTable,
  outputTensors,
  type InputTensor,
  type InputTensorHeader,
} from "./open-inference.js";

/**
 * The Open Inference Protocol's gRPC messages as @grpc/proto-loader gives and takes them (field
 * names as in proto/inference.proto, int64 as decimal strings, bytes as Buffers).
 */
export interface InferParameterMessage {
  parameter_choice?: "bool_param" | "int64_param" | "string_param" | "double_param" | "uint64_param";
  bool_param?: boolean;
  int64_param?: string | number;
  string_param?: string;
  double_param?: number;
  uint64_param?: string | number;
}

export interface TensorContentsMessage {
  bool_contents?: boolean[];
  int_contents?: number[];
  int64_contents?: (string | number)[];
  uint_contents?: number[];
  uint64_contents?: (string | number)[];
  fp32_contents?: number[];
  fp64_contents?: number[];
  bytes_contents?: Uint8Array[];
}

export interface ModelInferRequestMessage {
  model_name?: string;
  model_version?: string;
  id?: string;
  parameters?: Record<string, InferParameterMessage>;
  inputs?: {
    name?: string;
    datatype?: string;
    shape?: (string | number)[];
    parameters?: Record<string, InferParameterMessage>;
    contents?: TensorContentsMessage | null;
  }[];
  outputs?: { name?: string; parameters?: Record<string, InferParameterMessage> }[];
  raw_input_contents?: Uint8Array[];
}

export interface ModelInferResponseMessage {
  model_name: string;
  model_version: string;
  id: string;
  parameters: Record<string, InferParameterMessage>;
  outputs: { name: string; datatype: string; shape: number[]; contents?: TensorContentsMessage }[];
  raw_output_contents: Uint8Array[];
}

/** The contents field each datatype's elements go in (FP16 has none: it travels raw only). */
const CONTENTS_FIELD: Readonly<Record<string, keyof TensorContentsMessage>> = {
  BOOL: "bool_contents",
  INT8: "int_contents",
  INT16: "int_contents",
  INT32: "int_contents",
  INT64: "int64_contents",
  UINT8: "uint_contents",
  UINT16: "uint_contents",
  UINT32: "uint_contents",
  UINT64: "uint64_contents",
  FP32: "fp32_contents",
  FP64: "fp64_contents",
  BYTES: "bytes_contents",
};

const CONTENTS_FIELDS = [...new Set(Object.values(CONTENTS_FIELD))];

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

// NB: raw contents are little-endian and read through typed arrays, which use the host's order.

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** A request's parameters (request-level) as the params a prediction takes. */
export function paramsOf(parameters: Record<string, InferParameterMessage> | undefined): Record<string, unknown> | null {
  if (parameters === undefined) return null;
  const names = Object.keys(parameters);
  if (names.length === 0) return null;
  const params: Record<string, unknown> = {};
  for (const name of names) {
    const p = parameters[name] as InferParameterMessage;
    const choice = p.parameter_choice;
    if (choice === undefined)
      throw new HttpError("BAD_REQUEST", `Parameter "${name}" has no value; set one of bool_param, int64_param, string_param, double_param, uint64_param.`);
    const value = p[choice];
    params[name] = choice === "int64_param" || choice === "uint64_param" ? wholeNumber(value as string | number, `Parameter "${name}"`) : value;
  }
  return params;
}

/** An int64 the decoder gave as a string, as a number, refused past what a number holds exactly. */
function wholeNumber(value: string | number, what: string): number {
  const n = typeof value === "number" ? value : Number(value);
  if (!Number.isSafeInteger(n))
    throw new HttpError("BAD_REQUEST", `${what} is ${String(value)}, beyond ±${Number.MAX_SAFE_INTEGER}: the largest whole number pipeserve holds exactly.`);
  return n;
}

/** The fields of `contents` that hold elements. */
function filledFields(contents: TensorContentsMessage | null | undefined): (keyof TensorContentsMessage)[] {
  if (!contents) return [];
  return CONTENTS_FIELDS.filter((f) => (contents[f]?.length ?? 0) > 0);
}

/**
 * A BYTES element as the column takes it: the bytes themselves (copied: the message's buffer may be
 * reused) for a `binary` column, as Triton and KServe clients send images; else UTF-8 text.
 */
function bytesElement(bytes: Uint8Array, header: InputTensorHeader, binary: boolean, i: number): string | Uint8Array {
  return binary ? Uint8Array.prototype.slice.call(bytes) : bytesText(bytes, header.name, i);
}

/** An input's elements from its typed `contents`, in the field of its datatype. */
function typedValues(header: InputTensorHeader, contents: TensorContentsMessage | null | undefined, binary: boolean): unknown[] {
  const field = CONTENTS_FIELD[header.datatype];
  if (field === undefined)
    throw new HttpError("BAD_REQUEST", `Input "${header.name}" is ${header.datatype}, which has no contents field: send it in raw_input_contents.`);
  const stray = filledFields(contents).filter((f) => f !== field);
  if (stray.length > 0)
    throw new HttpError(
      "BAD_REQUEST",
      `Input "${header.name}" is ${header.datatype}, but its contents are in ${stray.join(", ")}; ${header.datatype} elements go in ${field}.`,
    );
  const values = (contents?.[field] ?? []) as unknown[];
  if (field === "int64_contents" || field === "uint64_contents")
    return values.map((v, i) => wholeNumber(v as string | number, `Element ${i} of input "${header.name}"`));
  if (field === "bytes_contents") return values.map((v, i) => bytesElement(v as Uint8Array, header, binary, i));
  return values;
}

function bytesText(bytes: Uint8Array, name: string, i: number): string {
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

/** An input's elements from its raw bytes: fixed-size little-endian elements, or BYTES each after a 4-byte length. */
function rawValues(header: InputTensorHeader, raw: Uint8Array, index: number, binary: boolean): InputTensor["values"] {
  const count = elementCount(header.shape);
  const where = `raw_input_contents[${index}] (input "${header.name}", ${header.datatype} of shape [${header.shape.join(", ")}])`;
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

/** A ModelInfer request as what a prediction takes: the inputs as a table, the params, the id, the outputs asked for, and whether it came raw. */
export interface DecodedInferRequest {
  table: ColumnTable;
  params: Record<string, unknown> | null;
  id: string | undefined;
  outputs: string[] | undefined;
  raw: boolean;
}

/**
 * A ModelInfer request's inputs, typed `contents` or `raw_input_contents` (not both), as a table
 * with the same checks as the REST infer route; shapes are checked against `limits` first.
 */
export function decodeGrpcInferRequest(
  request: ModelInferRequestMessage,
  limits: TableLimits,
  inputSpecs: readonly ColumnSpec[] | null = null,
): DecodedInferRequest {
  // NB: BYTES are raw bytes in gRPC (no base64 as in JSON): a binary column takes them as they are.
  const binary = new Set((inputSpecs ?? []).filter((s) => s.type === "binary" && s.name !== undefined).map((s) => s.name as string));
  const inputs = request.inputs ?? [];
  if (inputs.length === 0) throw new HttpError("BAD_REQUEST", "The request has no inputs: send at least one InferInputTensor.");
  const raws = request.raw_input_contents ?? [];
  const raw = raws.length > 0;
  if (raw && raws.length !== inputs.length)
    throw new HttpError("BAD_REQUEST", `The request has ${inputs.length} inputs but ${raws.length} raw_input_contents; send one per input, in the same order.`);
  const headers = inputs.map((t, i) => {
    const shape = (t.shape ?? []).map((d) => Number(d));
    return checkInputHeader(i, { name: t.name, datatype: t.datatype, shape });
  });
  checkInputShapes(headers, limits);
  const tensors: InputTensor[] = headers.map((header, i) => {
    const contents = inputs[i]?.contents;
    if (raw) {
      if (filledFields(contents).length > 0)
        throw new HttpError(
          "BAD_REQUEST",
          `Input "${header.name}" has contents, but the request sends raw_input_contents: use one or the other for all inputs.`,
        );
      return { ...header, values: rawValues(header, raws[i] as Uint8Array, i, binary.has(header.name)) };
    }
    return { ...header, values: typedValues(header, contents, binary.has(header.name)) };
  });
  const outputs = request.outputs !== undefined && request.outputs.length > 0 ? request.outputs.map((o) => o.name ?? "") : undefined;
  return {
    table: inputsToTable(tensors),
    params: paramsOf(request.parameters),
    id: request.id !== undefined && request.id !== "" ? request.id : undefined,
    outputs,
    raw,
  };
}

/** An output's values as the REST route sends them (JSON values: finite numbers or null, text, booleans). */
function jsonValues(column: ColumnTable["columns"][number]): unknown[] {
  return toJsonValue(columnValues(column)) as unknown[];
}

/** A BYTES output's elements: bytes as they are (JSON's base64 is not gRPC's), the rest as their JSON values. */
function bytesValues(column: ColumnTable["columns"][number]): unknown[] {
  const own = columnValues(column);
  const json = jsonValues(column);
  return json.map((v, i) => (own[i] instanceof Uint8Array ? own[i] : v));
}

function missingValue(name: string, datatype: string, row: number): HttpError {
  return new HttpError(
    "INTERNAL_ERROR",
    `Output "${name}" has a missing value at row ${row}, which a gRPC ${datatype} tensor cannot carry (the REST routes send null); make the model fill it.`,
  );
}

/** Checks an output's values fit a gRPC tensor of its datatype: no missing value, and integers within the type's range. */
function checkCarriable(values: readonly unknown[], name: string, datatype: string): void {
  const row = values.indexOf(null);
  if (row !== -1) throw missingValue(name, datatype, row);
  const range = INT_RANGE[datatype];
  if (range === undefined) return;
  // NB: an integer tensor would wrap or truncate a value outside its type silently (REST sends it as it is).
  const bad = values.findIndex((v) => typeof v !== "number" || !Number.isInteger(v) || v < range[0] || v > range[1]);
  if (bad !== -1)
    throw new HttpError(
      "INTERNAL_ERROR",
      `Output "${name}" is ${datatype}, but row ${bad} holds ${JSON.stringify(values[bad])}, which a gRPC ${datatype} tensor cannot carry; make the model's output fit its signature.`,
    );
}

function textBytes(v: unknown): Uint8Array {
  return typeof v === "string" ? Buffer.from(v, "utf8") : v instanceof Uint8Array ? v : Buffer.from(JSON.stringify(v), "utf8");
}

/** An output's typed contents: the field of its datatype. */
function typedContents(name: string, datatype: string, values: unknown[]): TensorContentsMessage {
  const field = CONTENTS_FIELD[datatype] ?? "bytes_contents";
  if (datatype === "FP64" || datatype === "FP32") return { [field]: values.map((v) => (v === null ? Number.NaN : v)) };
  checkCarriable(values, name, datatype);
  if (field === "bytes_contents") return { bytes_contents: values.map(textBytes) };
  return { [field]: values };
}

/** An output's raw bytes, laid out as the protocol says. */
function rawContents(name: string, datatype: string, column: ColumnTable["columns"][number], numRows: number): Uint8Array {
  if (datatype === "FP64" && column instanceof Float64Array) return new Uint8Array(column.buffer, column.byteOffset, column.byteLength);
  if (datatype === "BYTES") {
    const values = bytesValues(column);
    checkCarriable(values, name, datatype);
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
  if (datatype !== "FP64" && datatype !== "FP32") checkCarriable(values, name, datatype);
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

/**
 * A prediction as a ModelInferResponse: one output per column with the datatypes the REST route
 * gives, as raw_output_contents when the request came raw, else as typed contents.
 */
export function encodeGrpcInferResponse(
  output: unknown,
  signature: Signature | null,
  meta: { modelName: string; modelVersion: string | undefined; id: string | undefined; outputs: readonly string[] | undefined; raw: boolean },
): ModelInferResponseMessage {
  const tensors = outputTensors(output, signature, meta.outputs);
  const outputs: ModelInferResponseMessage["outputs"] = [];
  const rawOutputs: Uint8Array[] = [];
  for (const t of tensors) {
    const shape = [t.numRows];
    if (meta.raw) {
      outputs.push({ name: t.name, datatype: t.datatype, shape });
      rawOutputs.push(rawContents(t.name, t.datatype, t.column, t.numRows));
    } else {
      outputs.push({
        name: t.name,
        datatype: t.datatype,
        shape,
        contents: typedContents(t.name, t.datatype, t.datatype === "BYTES" ? bytesValues(t.column) : jsonValues(t.column)),
      });
    }
  }
  return {
    model_name: meta.modelName,
    model_version: meta.modelVersion ?? "",
    id: meta.id ?? randomUUID(),
    parameters: {},
    outputs,
    raw_output_contents: rawOutputs,
  };
}
