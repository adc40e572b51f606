import { HttpError } from "./errors.js";
import type { InputTensor, InputTensorHeader } from "./open-inference.js";
import { rawContents, rawValues } from "./raw-tensors.js";
import type { ColumnTable } from "../tabular/index.js";

/**
 * The binary tensor data extension of the Open Inference Protocol's REST infer (Triton's
 * `binary_tensor_data`, which tritonclient's HTTP client uses by default): the body is the JSON
 * request followed by the inputs' raw bytes, in the order of the inputs that carry
 * `parameters.binary_data_size`; the header `Inference-Header-Content-Length` says where the JSON
 * ends. Elements are laid out as gRPC's raw contents (raw-tensors.ts). Outputs asked for with
 * `parameters.binary_data: true` (or every output, with the request parameter
 * `binary_data_output: true`) come back the same way.
 */
export const BINARY_TENSOR_DATA = "binary_tensor_data";

/** The request header that says how many bytes of the body are JSON. */
export const INFERENCE_HEADER_LENGTH = "Inference-Header-Content-Length";

/** The request parameter that asks for every output as binary data: the extension's, not a runtime param. */
export const BINARY_DATA_OUTPUT = "binary_data_output";

/**
 * A body as its JSON part and the binary data after it (none without the header).
 * @throws HttpError BAD_REQUEST for a header that is no whole number, or longer than the body.
 */
export function splitBinaryBody(body: Uint8Array, headerLength: string | undefined): { json: Uint8Array; binary: Uint8Array | undefined } {
  if (headerLength === undefined) return { json: body, binary: undefined };
  const text = headerLength.trim();
  const length = /^\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(length))
    throw new HttpError("BAD_REQUEST", `${INFERENCE_HEADER_LENGTH} must be the number of bytes of JSON that start the body, got "${headerLength}".`);
  if (length > body.byteLength)
    throw new HttpError("BAD_REQUEST", `${INFERENCE_HEADER_LENGTH} says the JSON takes ${length} bytes, but the body has ${body.byteLength}.`);
  return { json: body.subarray(0, length), binary: body.subarray(length) };
}

/** The binary data of a request's inputs, taken in order by the inputs that say they have some. */
export class BinaryInputs {
  readonly #data: Uint8Array | undefined;
  readonly #binaryColumns: ReadonlySet<string>;
  #at = 0;

  /** `binaryColumns`: the signature's `binary` columns, whose BYTES elements are bytes, not text. */
  constructor(data: Uint8Array | undefined, binaryColumns: ReadonlySet<string>) {
    this.#data = data;
    this.#binaryColumns = binaryColumns;
  }

  /**
   * The elements of an input whose `parameters.binary_data_size` says they are binary data, read
   * from the next bytes; undefined for an input that carries `data` instead.
   * @throws HttpError BAD_REQUEST for a size that is no whole number or passes the end, `data` given
   * too, or no binary data in the request.
   */
  valuesOf(header: InputTensorHeader, input: { data?: unknown; parameters?: unknown }): InputTensor["values"] | undefined {
    const parameters = input.parameters;
    const size =
      parameters !== null && typeof parameters === "object" && !Array.isArray(parameters)
        ? (parameters as Record<string, unknown>)["binary_data_size"]
        : undefined;
    if (size === undefined || size === null) return undefined;
    const what = `Input "${header.name}"`;
    if (typeof size !== "number" || !Number.isSafeInteger(size) || size < 0)
      throw new HttpError("BAD_REQUEST", `${what}: binary_data_size must be a whole number of bytes, got ${JSON.stringify(size)}.`);
    if (input.data !== undefined) throw new HttpError("BAD_REQUEST", `${what} has both "data" and binary_data_size: send its elements one way.`);
    if (this.#data === undefined)
      throw new HttpError(
        "BAD_REQUEST",
        `${what} says its data is binary (binary_data_size), but the request has no ${INFERENCE_HEADER_LENGTH} header saying where the JSON ends and the binary data starts.`,
      );
    if (this.#at + size > this.#data.byteLength)
      throw new HttpError(
        "BAD_REQUEST",
        `${what} says its binary data takes ${size} bytes, but only ${this.#data.byteLength - this.#at} bytes are left after the JSON and the inputs before it.`,
      );
    const bytes = this.#data.subarray(this.#at, this.#at + size);
    this.#at += size;
    const where = `the binary data of input "${header.name}" (${header.datatype} of shape [${header.shape.join(", ")}])`;
    return rawValues(header, bytes, where, this.#binaryColumns.has(header.name));
  }

  /** @throws HttpError BAD_REQUEST when bytes are left over once every input has taken its own. */
  finish(): void {
    const left = (this.#data?.byteLength ?? 0) - this.#at;
    if (left > 0)
      throw new HttpError(
        "BAD_REQUEST",
        `${left} bytes follow the JSON and the inputs' binary data (binary_data_size); ${INFERENCE_HEADER_LENGTH} or a size is wrong.`,
      );
  }
}

/**
 * Which outputs a request asks for as binary data: each output's `parameters.binary_data`, else
 * the request's `binary_data_output`, else none.
 * @throws HttpError BAD_REQUEST for a flag that is not a boolean.
 */
export function binaryOutputsOf(requestParameters: unknown, outputs: unknown): (name: string) => boolean {
  const flag = (parameters: unknown, key: string, where: string): boolean | undefined => {
    if (parameters === null || typeof parameters !== "object" || Array.isArray(parameters)) return undefined;
    const value = (parameters as Record<string, unknown>)[key];
    if (value === undefined || value === null) return undefined;
    if (typeof value !== "boolean") throw new HttpError("BAD_REQUEST", `${where}: ${key} must be true or false, got ${JSON.stringify(value)}.`);
    return value;
  };
  const all = flag(requestParameters, BINARY_DATA_OUTPUT, "The request's parameters") ?? false;
  const own = new Map<string, boolean>();
  if (Array.isArray(outputs)) {
    for (const o of outputs as { name?: unknown; parameters?: unknown }[]) {
      const value = flag(o?.parameters, "binary_data", `Output "${String(o?.name)}"`);
      if (value !== undefined && typeof o?.name === "string") own.set(o.name, value);
    }
  }
  return (name) => own.get(name) ?? all;
}

/** An output tensor to encode: its name, datatype and column. */
interface OutputColumn {
  name: string;
  datatype: string;
  column: ColumnTable["columns"][number];
  numRows: number;
}

/**
 * An output's raw bytes for the response's binary data (a missing value in an integer, BOOL or BYTES
 * output cannot be carried: an INTERNAL error naming it; a float's is NaN).
 */
export function binaryOutput(t: OutputColumn): Uint8Array {
  return rawContents(t.name, t.datatype, t.column, t.numRows, "a binary");
}

/** The response body: the JSON, then each binary output's bytes in the order of the outputs; and the length of the JSON. */
export function binaryResponseBody(json: string, parts: readonly Uint8Array[]): { body: Uint8Array; jsonLength: number } {
  const head = Buffer.from(json, "utf8");
  return { body: Buffer.concat([head, ...parts]), jsonLength: head.byteLength };
}
