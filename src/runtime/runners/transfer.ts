import type { TransferListItem } from "node:worker_threads";
import {
  decodeArrowIpc,
  encodeArrowIpc,
  frameOfColumns,
  isArrowTable,
  isColumnsObject,
  isDataFrame,
  isNumericArray,
  setKey,
  type NumericArray,
} from "../../tabular/index.js";
import { onceByKey } from "../../util/index.js";
import { type AnyCodec, decodeWith, decodedOrigin, rememberDecoded } from "../datasets/artifact-codec.js";
import { OnnxModel, type OnnxSessionOptions } from "../datasets/onnx-model.js";

const TAG = "__pipeserve_transfer__";

interface EncodedFrame {
  [TAG]: "dataframe";
  names: string[];
  columns: unknown[][];
  index: (string | number)[];
  dtypes: string[];
}

interface EncodedArrow {
  [TAG]: "arrow";
  bytes: Uint8Array;
}

/** An ONNX model crosses as its id and its bytes (shared memory: not copied); the thread opens its own session once per id. */
interface EncodedOnnx {
  [TAG]: "onnx";
  id: string;
  bytes: Uint8Array;
  options: OnnxSessionOptions;
  source: string;
}

/** An object rebuilt by a codec crosses as what it was rebuilt from; the thread rebuilds it with the module's codec, once per id. */
interface EncodedCodec {
  [TAG]: "codec";
  id: string;
  codec: string;
  stored: unknown;
}

/** The objects this thread rebuilt with codecs, by id. */
const rebuilt = new Map<string, Promise<unknown>>();

/** The sessions this thread opened, by model id. */
const sessions = new Map<string, Promise<OnnxModel>>();

/**
 * Prepares one value to cross into or out of a worker thread: a DataFrame travels as its columns,
 * an Arrow table as IPC bytes whose buffer is transferred (not copied); anything else goes by
 * structured clone (class instances arrive as plain objects).
 */
export function encodeForTransfer(value: unknown, transfer: TransferListItem[]): unknown {
  if (isDataFrame(value)) {
    const frame: EncodedFrame = {
      [TAG]: "dataframe",
      names: [...(value.columns as string[])],
      columns: value.shape[0] === 0 ? [] : (value as unknown as { getColumnData: unknown[][] }).getColumnData,
      index: [...(value.index as (string | number)[])],
      dtypes: [...(value.dtypes as string[])],
    };
    return frame;
  }
  if (isArrowTable(value)) {
    const bytes = encodeArrowIpc(value, "stream");
    transfer.push(bytes.buffer as ArrayBuffer);
    const encoded: EncodedArrow = { [TAG]: "arrow", bytes };
    return encoded;
  }
  const origin = decodedOrigin(value);
  if (origin) {
    const encoded: EncodedCodec = { [TAG]: "codec", id: origin.id, codec: origin.codec, stored: origin.stored };
    return encoded;
  }
  if (value instanceof OnnxModel) {
    const encoded: EncodedOnnx = { [TAG]: "onnx", id: value.id, bytes: value.bytes, options: value.options, source: value.source };
    return encoded;
  }
  if (isNumericArray(value)) return compact(value);
  if (isColumnsObject(value)) {
    const columns: Record<string, unknown> = {};
    for (const key of Object.keys(value)) setKey(columns, key, isNumericArray(value[key]) ? compact(value[key]) : value[key]);
    return columns;
  }
  return value;
}

/**
 * A typed array that owns its buffer. NB: structured clone copies a view's whole buffer: an Arrow
 * column read without a copy is a view into the request's body, which would be copied whole, once
 * per column.
 */
function compact<A extends NumericArray>(values: A): A {
  return values.byteOffset === 0 && values.byteLength === values.buffer.byteLength ? values : (values.slice() as A);
}

/**
 * Rebuilds a value made by `encodeForTransfer`. An ONNX model comes back as a promise of this
 * thread's session for it (see `settleRecord`).
 */
export function decodeFromTransfer(value: unknown, codecs: Readonly<Record<string, AnyCodec>> = {}): unknown {
  if (value === null || typeof value !== "object" || !(TAG in value)) return value;
  const tagged = value as EncodedFrame | EncodedArrow | EncodedOnnx | EncodedCodec;
  if (tagged[TAG] === "codec") return rebuild(tagged as EncodedCodec, codecs);
  if (tagged[TAG] === "arrow") return decodeArrowIpc((tagged as EncodedArrow).bytes);
  if (tagged[TAG] === "onnx") {
    const onnx = tagged as EncodedOnnx;
    // NB: a session that failed to open is not kept: the next task tries again, and fails alike with its message.
    return onceByKey(sessions, onnx.id, () => OnnxModel.fromBytes(onnx.bytes, onnx.options, onnx.source, onnx.id));
  }
  const frame = tagged as EncodedFrame;
  if (frame.columns.length === 0 || frame.index.length === 0) return frameOfColumns(frame.names, [], 0);
  return frameOfColumns(frame.names, frame.columns, frame.index.length, { index: frame.index, dtypes: frame.dtypes });
}

/** Encodes each value of a record. */
export function encodeRecord(values: Readonly<Record<string, unknown>>, transfer: TransferListItem[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(values)) out[k] = encodeForTransfer(v, transfer);
  return out;
}

/** The object a codec rebuilds in this thread (once per id), from the module's own codec. */
function rebuild(encoded: EncodedCodec, codecs: Readonly<Record<string, AnyCodec>>): Promise<unknown> {
  return onceByKey(rebuilt, encoded.id, async () => {
    const codec = Object.hasOwn(codecs, encoded.codec) ? codecs[encoded.codec] : undefined;
    if (!codec)
      throw new Error(`The worker thread cannot rebuild an artifact of the codec "${encoded.codec}": the pipeline's module does not export it in \`codecs\`.`);
    const value = await decodeWith(codec as AnyCodec, encoded.stored);
    rememberDecoded(value, encoded.codec, encoded.stored);
    return value;
  });
}

/** A decoded record with its pending values (ONNX sessions being opened) settled. */
export async function settleRecord(values: Record<string, unknown>): Promise<Record<string, unknown>> {
  for (const [k, v] of Object.entries(values)) if (v instanceof Promise) values[k] = await v;
  return values;
}

/** Decodes each value of a record (objects of codecs rebuilt with `codecs`, the pipeline module's). */
export function decodeRecord(values: Readonly<Record<string, unknown>>, codecs: Readonly<Record<string, AnyCodec>> = {}): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(values)) out[k] = decodeFromTransfer(v, codecs);
  return out;
}
