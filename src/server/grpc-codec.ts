import { randomUUID } from "node:crypto";
import type { ColumnSpec, ColumnTable, Signature, TableLimits } from "../tabular/index.js";
import { HttpError } from "./errors.js";
import { checkInputHeader, checkInputShapes, inputsToTable, outputTensors, type InputTensor, type InputTensorHeader } from "./open-inference.js";
import { binaryColumnsOf, bytesElement, bytesValues, checkCarriable, jsonValues, rawContents, rawValues, textBytes, wholeNumber } from "./raw-tensors.js";

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

/** The fields of `contents` that hold elements. */
function filledFields(contents: TensorContentsMessage | null | undefined): (keyof TensorContentsMessage)[] {
  if (!contents) return [];
  return CONTENTS_FIELDS.filter((f) => (contents[f]?.length ?? 0) > 0);
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
  const binary = binaryColumnsOf(inputSpecs);
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
      const where = `raw_input_contents[${i}] (input "${header.name}", ${header.datatype} of shape [${header.shape.join(", ")}])`;
      return { ...header, values: rawValues(header, raws[i] as Uint8Array, where, binary.has(header.name)) };
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

/** An output's typed contents: the field of its datatype. */
function typedContents(name: string, datatype: string, values: unknown[]): TensorContentsMessage {
  const field = CONTENTS_FIELD[datatype] ?? "bytes_contents";
  if (datatype === "FP64" || datatype === "FP32") return { [field]: values.map((v) => (v === null ? Number.NaN : v)) };
  checkCarriable(values, name, datatype);
  if (field === "bytes_contents") return { bytes_contents: values.map(textBytes) };
  return { [field]: values };
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
