import { randomUUID } from "node:crypto";
import {
  LimitError,
  NO_LIMITS,
  columnValues,
  checkTableSize,
  formatCount,
  outputToTable,
  tooManyCells,
  toJsonValue,
  type Cell,
  type Column,
  type ColumnSpec,
  type ColumnTable,
  type NumericArray,
  type Signature,
  type TableLimits,
} from "../tabular/index.js";
import { HttpError } from "./errors.js";
import { BINARY_DATA_OUTPUT, BinaryInputs, binaryOutput, binaryOutputsOf } from "./binary-tensor-data.js";
import { INT_RANGE } from "./raw-tensors.js";
import { MAX_INFER_ENTRIES } from "./grpc-wire-budget.js";

/** Open Inference Protocol datatypes for MLflow column types. */
const DATATYPE_OF: Readonly<Record<string, string>> = {
  boolean: "BOOL",
  integer: "INT32",
  long: "INT64",
  float: "FP32",
  double: "FP64",
  string: "BYTES",
  binary: "BYTES",
  datetime: "BYTES",
};

const DATATYPES = ["BOOL", "INT8", "INT16", "INT32", "INT64", "UINT8", "UINT16", "UINT32", "UINT64", "FP16", "FP32", "FP64", "BYTES"];

/**
 * For the narrow float datatypes: the least magnitude that rounds to infinity in them (halfway past
 * the largest finite value, rounding to even), and that largest value as a message writes it.
 */
const FLOAT_LIMITS = {
  FP32: [3.4028235677973366e38, "3.4028234663852886e+38"],
  FP16: [65520, "65504"],
} as const;

/**
 * What a tensor's data must hold for its datatype; `null` (a missing value) always passes, and a
 * bare `NaN` token is a missing value too (made `null` in `values`), as in MLflow's request forms.
 */
function checkTensorData(name: string, datatype: string, values: unknown[]): void {
  const range = INT_RANGE[datatype];
  for (const [i, v] of values.entries()) {
    if (v === null) continue;
    if (typeof v === "number" && Number.isNaN(v)) {
      values[i] = null;
      continue;
    }
    let ok: boolean;
    let expected: string;
    if (datatype === "BOOL") [ok, expected] = [typeof v === "boolean", "true or false"];
    // NB: bytes themselves come from gRPC and the binary tensor data extension, for a binary column (JSON data sends them base64-encoded).
    else if (datatype === "BYTES") [ok, expected] = [typeof v === "string" || v instanceof Uint8Array, "strings"];
    else if (range)
      [ok, expected] = [typeof v === "number" && Number.isInteger(v) && v >= range[0] && v <= range[1], `whole numbers from ${range[0]} to ${range[1]}`];
    else if (datatype === "FP32" || datatype === "FP16") {
      const [max, largest] = FLOAT_LIMITS[datatype];
      // NB: ±Infinity is a value of the type; a finite number it can only hold as infinity is not.
      [ok, expected] = [typeof v === "number" && !(Number.isFinite(v) && Math.abs(v) >= max), `numbers from -${largest} to ${largest}, or ±Infinity`];
    } else [ok, expected] = [typeof v === "number", "numbers"];
    if (ok) continue;
    // NB: an INT64 or UINT64 JSON number past ±(2^53 − 1) may have been read rounded (9007199254740993
    // as 9007199254740992): the message says so, not only a value the client may not have sent.
    const rounded =
      (datatype === "INT64" || datatype === "UINT64") && typeof v === "number" && Math.abs(v) > Number.MAX_SAFE_INTEGER && Math.abs(v) < 2 ** 64
        ? ` (as read: JSON integers past ±${Number.MAX_SAFE_INTEGER} may be read rounded here)`
        : "";
    throw new HttpError(
      "BAD_REQUEST",
      `Input "${name}" is ${datatype}, but element ${i} of its data is ${JSON.stringify(v) ?? String(v)}${rounded}; ${datatype} takes ${expected}.`,
    );
  }
}

export interface TensorMetadata {
  name: string;
  datatype: string;
  shape: number[];
}

/** A model's Open Inference metadata (`GET /v2/models/{name}`, gRPC ModelMetadata): its versions, platform and tensors. */
export function modelMetadataOf(
  name: string,
  served: { registeredVersion: string | undefined; model: { signature: Signature | null } },
): { name: string; versions: string[]; platform: string; inputs: TensorMetadata[]; outputs: TensorMetadata[] } {
  return {
    name,
    versions: served.registeredVersion !== undefined ? [served.registeredVersion] : [],
    platform: "pipeserve",
    inputs: tensorsOf(served.model.signature?.inputs),
    outputs: tensorsOf(served.model.signature?.outputs),
  };
}

/**
 * @throws HttpError NOT_FOUND when a version is asked for (not empty) and it is not the registered
 * version served; a model served from a run or a folder has none (its metadata lists no versions).
 */
export function checkServedVersion(name: string, requested: string | undefined, registeredVersion: string | undefined): void {
  if (requested === undefined || requested === "" || requested === registeredVersion) return;
  throw new HttpError(
    "NOT_FOUND",
    registeredVersion !== undefined
      ? `Model "${name}" has no version "${requested}" here; this server serves version ${registeredVersion}.`
      : `Model "${name}" has no version "${requested}" here: it is served from a run or a folder, not a registered version. Leave the version out (/v2/models/${name}/...).`,
  );
}

/** The tensor metadata of a signature's columns (each column a 1-D tensor of any length). */
export function tensorsOf(specs: readonly ColumnSpec[] | null | undefined): TensorMetadata[] {
  return (specs ?? []).map((s, i) => ({ name: s.name ?? String(i), datatype: DATATYPE_OF[s.type] ?? "BYTES", shape: [-1] }));
}

/** The leaves of nested lists, in row-major order (without recursion: any depth is safe). */
function flatten(data: unknown, into: unknown[]): void {
  if (!Array.isArray(data)) {
    into.push(data);
    return;
  }
  const lists: unknown[][] = [data];
  const positions: number[] = [0];
  while (lists.length > 0) {
    const top = lists.length - 1;
    const list = lists[top] as unknown[];
    const at = positions[top] as number;
    if (at === list.length) {
      lists.pop();
      positions.pop();
      continue;
    }
    positions[top] = at + 1;
    const value = list[at];
    if (Array.isArray(value)) {
      lists.push(value);
      positions.push(0);
    } else into.push(value);
  }
}

/**
 * Checks the inputs' declared shapes against the limits before any data is read: each input is
 * one column of `shape[0]` rows, and all of them together hold the product of their shapes.
 */
export function checkInputShapes(inputs: readonly unknown[], limits: TableLimits): void {
  let cells = 0;
  for (const raw of inputs) {
    const shape = (raw as { shape?: unknown } | null)?.shape;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) continue;
    checkTableSize((shape[0] as number | undefined) ?? 0, 1, limits, `the shape of input "${String((raw as { name?: unknown }).name)}"`);
    cells += (shape as number[]).reduce((a, b) => a * b, 1);
  }
  if (cells > limits.maxCells) throw tooManyCells(formatCount(cells), limits, "the product of the inputs' shapes");
}

/** An input tensor's name, datatype and shape, checked (whatever protocol carried them). */
export interface InputTensorHeader {
  name: string;
  datatype: string;
  shape: number[];
}

/** One input tensor as a protocol decoded it: its header and its elements, flattened in row-major order. */
export interface InputTensor extends InputTensorHeader {
  /** A typed array only when its element type is the datatype's own (its values need no check). */
  values: unknown[] | NumericArray;
}

/** Checks input `i`'s name, datatype and shape: what every protocol's tensors must have. */
export function checkInputHeader(i: number, t: { name?: unknown; datatype?: unknown; shape?: unknown }): InputTensorHeader {
  if (typeof t?.name !== "string" || t.name === "") throw new HttpError("BAD_REQUEST", `inputs[${i}] needs a "name".`);
  if (typeof t.datatype !== "string" || !DATATYPES.includes(t.datatype))
    throw new HttpError("BAD_REQUEST", `Input "${t.name}" has datatype ${JSON.stringify(t.datatype)}; use one of ${DATATYPES.join(", ")}.`);
  if (!Array.isArray(t.shape) || t.shape.length === 0 || !t.shape.every((d) => Number.isInteger(d) && d >= 0)) {
    throw new HttpError("BAD_REQUEST", `Input "${t.name}" needs a "shape" of non-negative whole numbers, e.g. [3] or [3, 1].`);
  }
  return { name: t.name, datatype: t.datatype, shape: t.shape as number[] };
}

/** The number of elements a shape holds. */
export function elementCount(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/**
 * Decoded input tensors as a table, each one column (MLServer's `pd` content type): checks each
 * tensor's element count against its shape, its elements against its datatype, that it is one
 * column, that no name is given twice and that all have the same number of rows.
 */
export function inputsToTable(tensors: readonly InputTensor[]): ColumnTable {
  const names: string[] = [];
  const columns: Column[] = [];
  // NB: a set, not a scan of the names so far: 80,000 one-value inputs took 4.7 s of the event loop.
  const given = new Set<string>();
  for (const t of tensors) {
    const expected = elementCount(t.shape);
    if (t.values.length !== expected) throw new HttpError("BAD_REQUEST", `Input "${t.name}" has shape [${t.shape.join(", ")}] but ${t.values.length} values.`);
    if (!ArrayBuffer.isView(t.values)) checkTensorData(t.name, t.datatype, t.values);
    const rows = t.shape[0] as number;
    if (expected !== rows)
      throw new HttpError("BAD_REQUEST", `Input "${t.name}" has shape [${t.shape.join(", ")}]: each input is one column, so use [rows] or [rows, 1].`);
    if (given.has(t.name)) throw new HttpError("BAD_REQUEST", `Input "${t.name}" is given twice.`);
    given.add(t.name);
    names.push(t.name);
    columns.push(t.values as Column);
  }
  const numRows = columns[0]?.length ?? 0;
  columns.forEach((c, i) => {
    if (c.length !== numRows)
      throw new HttpError(
        "BAD_REQUEST",
        `Input "${names[i]}" has ${c.length} rows but "${names[0]}" has ${numRows}; every input must have the same number of rows.`,
      );
  });
  return { names, columns, numRows };
}

/**
 * A request's inputs in the order of an unnamed (positional) signature. The metadata names such
 * inputs by position ("0", "1", …), and Open Inference clients match inputs by name: sent in
 * another order, they were read by order (found by an audit). Inputs named "0" to "m-1" (m at most
 * the signature's count) come first, in that order, then any others as sent (extra inputs, which
 * the signature's check drops or refuses). Other tables are left as they are.
 */
export function inPositionalOrder(table: ColumnTable, inputs: readonly ColumnSpec[] | null | undefined): ColumnTable {
  if (!inputs || inputs.length === 0 || inputs.some((spec) => spec.name !== undefined)) return table;
  const at = new Map<number, number>();
  table.names.forEach((name, i) => {
    const position = Number(name);
    if (Number.isInteger(position) && position >= 0 && position < inputs.length && String(position) === name) at.set(position, i);
  });
  for (let p = 0; p < at.size; p++) if (!at.has(p)) return table;
  const placed = new Set(at.values());
  const order = [...Array.from({ length: at.size }, (_, p) => at.get(p) as number), ...table.names.map((_, i) => i).filter((i) => !placed.has(i))];
  if (order.every((i, p) => i === p)) return table;
  return { names: order.map((i) => table.names[i] as string), columns: order.map((i) => table.columns[i] as Column), numRows: table.numRows };
}

/**
 * An infer request's inputs as a table: each input is one column (MLServer's `pd` content type).
 * Declared shapes are checked against `limits` before any tensor data is read.
 */
export function decodeInferRequest(
  body: unknown,
  limits: TableLimits = NO_LIMITS,
  binary: BinaryInputs = new BinaryInputs(undefined, new Set()),
): {
  table: ColumnTable;
  params: Record<string, unknown> | null;
  id: string | undefined;
  outputs: string[] | undefined;
  /** Whether an output is asked for as binary data (the binary tensor data extension). */
  binaryOutputs: (name: string) => boolean;
} {
  if (body === null || typeof body !== "object" || Array.isArray(body))
    throw new HttpError("BAD_REQUEST", 'An infer request must be a JSON object with "inputs".');
  const req = body as { id?: unknown; inputs?: unknown; parameters?: unknown; outputs?: unknown };
  let outputs: string[] | undefined;
  if (req.outputs !== undefined && req.outputs !== null) {
    const list = req.outputs;
    if (!Array.isArray(list) || !list.every((o) => typeof (o as { name?: unknown } | null)?.name === "string")) {
      throw new HttpError("BAD_REQUEST", '"outputs" must be a list of {"name": ...}: the outputs to answer with.');
    }
    // NB: an empty list asks for every output, as no list does (the spec; Triton and the gRPC route alike).
    if (list.length > 0) outputs = list.map((o) => (o as { name: string }).name);
  }
  // NB: null is no id (KServe's Python client sends "id": null when it has none).
  if (req.id !== undefined && req.id !== null && typeof req.id !== "string") throw new HttpError("BAD_REQUEST", '"id" must be a string.');
  if (!Array.isArray(req.inputs) || req.inputs.length === 0)
    throw new HttpError("BAD_REQUEST", '"inputs" must be a non-empty list of tensors {name, shape, datatype, data}.');
  if (req.parameters !== undefined && req.parameters !== null && (typeof req.parameters !== "object" || Array.isArray(req.parameters))) {
    throw new HttpError("BAD_REQUEST", '"parameters" must be an object.');
  }
  const entries = req.inputs.length + (outputs?.length ?? 0) + (req.parameters ? Object.keys(req.parameters).length : 0);
  if (entries > MAX_INFER_ENTRIES)
    throw new LimitError(
      `The request holds ${formatCount(entries)} tensors, outputs and parameters together, more than ${formatCount(MAX_INFER_ENTRIES)}; send fewer (one tensor per column).`,
    );
  checkInputShapes(req.inputs, limits);
  const tensors = req.inputs.map((raw, i) => {
    const header = checkInputHeader(i, raw as Record<string, unknown>);
    const input = raw as { data?: unknown; parameters?: unknown };
    const fromBinary = binary.valuesOf(header, input);
    if (fromBinary !== undefined) return { ...header, values: fromBinary };
    if (input.data === undefined)
      throw new HttpError("BAD_REQUEST", `Input "${header.name}" has no "data": give its elements there (or as binary data, with binary_data_size).`);
    const values: unknown[] = [];
    flatten(input.data, values);
    return { ...header, values };
  });
  binary.finish();
  // NB: binary_data_output is the extension's, not a runtime param.
  let params = (req.parameters as Record<string, unknown> | undefined) ?? null;
  if (params !== null && Object.hasOwn(params, BINARY_DATA_OUTPUT)) {
    const { [BINARY_DATA_OUTPUT]: _, ...rest } = params;
    params = rest;
  }
  return {
    table: inputsToTable(tensors),
    params,
    id: (req.id ?? undefined) as string | undefined,
    outputs,
    binaryOutputs: binaryOutputsOf(req.parameters, req.outputs),
  };
}

/** The tensor datatype a typed array's own element type names. */
const TYPED_ARRAY_DATATYPE: readonly [new (...args: never[]) => ArrayBufferView, string][] = [
  [Float64Array, "FP64"],
  [Float32Array, "FP32"],
  [BigInt64Array, "INT64"],
  [BigUint64Array, "UINT64"],
  [Int32Array, "INT32"],
  [Uint32Array, "UINT32"],
  [Int16Array, "INT16"],
  [Uint16Array, "UINT16"],
  [Int8Array, "INT8"],
  [Uint8Array, "UINT8"],
];

function typedArrayDatatype(value: unknown): string | undefined {
  if (!ArrayBuffer.isView(value)) return undefined;
  return TYPED_ARRAY_DATATYPE.find(([type]) => value instanceof type)?.[1];
}

/**
 * The datatypes an output carries itself, by column name: a typed array (one column) or an object
 * of columns with typed-array columns says its element type, whatever the values happen to be.
 */
function nativeDatatypes(output: unknown, unnamed: string): Map<string, string> {
  const out = new Map<string, string>();
  const own = typedArrayDatatype(output);
  if (own) out.set(unnamed, own);
  else if (output !== null && typeof output === "object" && !Array.isArray(output) && Object.getPrototypeOf(output) === Object.prototype) {
    for (const [name, column] of Object.entries(output)) {
      const datatype = typedArrayDatatype(column);
      if (datatype) out.set(name, datatype);
    }
  }
  return out;
}

/** A datatype from the values, when neither the signature nor the output's own type says: whole numbers INT64. */
function inferDatatype(values: readonly Cell[]): string {
  let type: string | undefined;
  for (const v of values) {
    if (v === null || v === undefined) continue;
    let t: string;
    if (typeof v === "boolean") t = "BOOL";
    else if (typeof v === "number") t = Number.isInteger(v) ? "INT64" : "FP64";
    else if (typeof v === "bigint") t = "INT64";
    else return "BYTES";
    // Whole and fractional numbers together are FP64; numbers with anything else are BYTES.
    if (type === undefined || type === t) type = t;
    else if ((type === "INT64" && t === "FP64") || (type === "FP64" && t === "INT64")) type = "FP64";
    else return "BYTES";
  }
  return type ?? "BYTES";
}

/** One output tensor: its name, datatype, and its column of the output table (`numRows` long). */
export interface OutputTensor {
  name: string;
  datatype: string;
  column: Column;
  numRows: number;
}

/**
 * A prediction's output tensors, one per column, with their datatypes (the output signature's,
 * else the output's own typed arrays', else from the values); `wanted` (a request's "outputs")
 * chooses which come back, in its order.
 * @throws HttpError INTERNAL_ERROR for an output with no tensor form, BAD_REQUEST for a wanted output the model does not return.
 */
export function outputTensors(output: unknown, signature: Signature | null, wanted: readonly string[] | undefined): OutputTensor[] {
  const declaredTensors = tensorsOf(signature?.outputs);
  // NB: one output column where the signature declares one output (an array, a Series, whatever its
  // own name) is that output, named as the model's metadata names it (the declared name, else "0"),
  // so a client can ask for the output it was told of; with no output signature it is "output-0".
  const only = declaredTensors.length === 1 ? (declaredTensors[0] as TensorMetadata).name : undefined;
  let table: ColumnTable;
  try {
    table = outputToTable(output, only ?? "output-0");
  } catch (cause) {
    // The request was fine: it is the model's output that has no tensor form, so not a 400.
    throw new HttpError("INTERNAL_ERROR", `The model's output cannot be sent as Open Inference Protocol tensors: ${(cause as Error).message}`);
  }
  const native = nativeDatatypes(output, table.names[0] ?? "output-0");
  // NB: its datatype is then the declared one (below), whatever the column's own name said.
  if (only !== undefined && table.names.length === 1 && table.names[0] !== only) table = { ...table, names: [only] };
  // NB: by name, as the metadata lists them (an unnamed output's name is its position).
  const declared = new Map(declaredTensors.map((t) => [t.name, t.datatype]));
  const names = wanted ?? table.names;
  // NB: each output once: a name listed K times would be encoded K times (N × K values from one small request).
  const seen = new Set<string>();
  for (const name of names) {
    if (seen.has(name)) throw new HttpError("BAD_REQUEST", `The request asks for output "${name}" more than once; name each output once.`);
    seen.add(name);
  }
  const at = new Map(table.names.map((name, i) => [name, i]));
  const unknown = names.filter((name) => !at.has(name));
  if (unknown.length > 0)
    throw new HttpError(
      "BAD_REQUEST",
      `The request asks for outputs [${unknown.join(", ")}], which the model does not return; its outputs: [${table.names.join(", ")}].`,
    );
  return names.map((name) => {
    const column = table.columns[at.get(name) as number] as Column;
    // NB: a typed-array column is numbers (a Uint8Array column too, not bytes) of its own datatype.
    const datatype = declared.get(name) ?? native.get(name) ?? typedArrayDatatype(column) ?? inferDatatype(columnValues(column));
    return { name, datatype, column, numRows: table.numRows };
  });
}

/**
 * A prediction as an infer response: one output tensor per column, as JSON data, or as binary data
 * for those `binaryOutputs` names (their bytes in `binary`, in the order of the outputs).
 */
export function encodeInferResponse(
  output: unknown,
  signature: Signature | null,
  meta: {
    modelName: string;
    modelVersion: string | undefined;
    id: string | undefined;
    outputs?: readonly string[] | undefined;
    binaryOutputs?: ((name: string) => boolean) | undefined;
  },
): { response: unknown; binary: Uint8Array[] } {
  const tensors = outputTensors(output, signature, meta.outputs);
  const binary: Uint8Array[] = [];
  const outputs = tensors.map((t) => {
    const head = { name: t.name, shape: [t.numRows], datatype: t.datatype };
    if (!meta.binaryOutputs?.(t.name)) return { ...head, data: tensorData(t) };
    const bytes = binaryOutput(t);
    binary.push(bytes);
    return { ...head, parameters: { binary_data_size: bytes.byteLength } };
  });
  const response = {
    model_name: meta.modelName,
    ...(meta.modelVersion !== undefined ? { model_version: meta.modelVersion } : {}),
    id: meta.id ?? randomUUID(),
    outputs,
  };
  return { response, binary };
}

/**
 * A tensor's data as JSON values. A BYTES tensor's elements are strings (missing ones null): a list
 * or object a model put in one is sent as its JSON text, as the gRPC route sends it, and its shape
 * stays one element per row.
 */
function tensorData(t: OutputTensor): unknown[] {
  const values = toJsonValue(columnValues(t.column)) as unknown[];
  if (t.datatype !== "BYTES") return values;
  return values.map((v) => (v === null || typeof v === "string" ? v : JSON.stringify(v)));
}
