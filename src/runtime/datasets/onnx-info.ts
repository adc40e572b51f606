import { OnnxModel, type OnnxTensorInfo } from "./onnx-model.js";

/** What `pipeserve inspect` shows of an ONNX file: its format, producer, operator sets, inputs and outputs. */
export interface OnnxInfo {
  irVersion: number;
  producer: string;
  /** The operator sets the graph imports (`ai.onnx` for the default domain). */
  opsets: { domain: string; version: number }[];
  inputs: readonly OnnxTensorInfo[];
  outputs: readonly OnnxTensorInfo[];
}

/**
 * The top-level fields of onnx.proto's ModelProto that `inspect` shows (field numbers from the
 * ONNX specification); protobufjs skips the rest, the graph included.
 */
const MODEL_PROTO = {
  nested: {
    OperatorSetIdProto: { fields: { domain: { type: "string", id: 1 }, version: { type: "int64", id: 2 } } },
    ModelProto: {
      fields: {
        irVersion: { type: "int64", id: 1 },
        producerName: { type: "string", id: 2 },
        producerVersion: { type: "string", id: 3 },
        opsetImport: { rule: "repeated", type: "OperatorSetIdProto", id: 8 },
      },
    },
  },
};

type Long = { toNumber(): number } | number;
const num = (v: Long | undefined): number => (v === undefined ? 0 : typeof v === "number" ? v : v.toNumber());

/**
 * Reads an ONNX file's header (protobufjs over the fields above) and opens a session for its
 * inputs and outputs (without running it); the session is released before returning.
 * @throws DatasetError when onnxruntime cannot load it, or Error when the bytes are not a ModelProto.
 */
export async function describeOnnx(bytes: Uint8Array, source = "an ONNX model"): Promise<OnnxInfo> {
  const protobuf = await import("protobufjs");
  const ModelProto = protobuf.Root.fromJSON(MODEL_PROTO).lookupType("ModelProto");
  const header = ModelProto.toObject(ModelProto.decode(bytes)) as {
    irVersion?: Long;
    producerName?: string;
    producerVersion?: string;
    opsetImport?: { domain?: string; version?: Long }[];
  };
  const model = await OnnxModel.fromBytes(bytes, {}, source);
  try {
    return {
      irVersion: num(header.irVersion),
      producer: [header.producerName, header.producerVersion].filter((s) => s).join(" "),
      opsets: (header.opsetImport ?? []).map((o) => ({ domain: o.domain || "ai.onnx", version: num(o.version) })),
      inputs: model.inputs,
      outputs: model.outputs,
    };
  } finally {
    await model.close();
  }
}

/** A tensor as one line: `name type [dims]`, a dynamic dimension as N (or its name). */
export function tensorLine(t: OnnxTensorInfo): string {
  return `${t.name} ${t.type} [${t.shape.map((d) => (typeof d === "number" ? String(d) : d === "" ? "N" : d)).join(",")}]`;
}
