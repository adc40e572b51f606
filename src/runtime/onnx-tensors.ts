import type { Tensor } from "onnxruntime-node";
import { DatasetError } from "./errors.js";
import { type OnnxModel, type OnnxTensorInfo, onnxRuntime } from "./datasets/onnx-model.js";

/** Columns as nodes hold them: name → values (plain arrays or typed arrays). */
export type OnnxColumns = Readonly<Record<string, ArrayLike<unknown>>>;

export interface ToTensorsOptions {
  /** Inputs fed from several columns (shape [N, k]): tensor name → its columns, in order. Other inputs read the column of their own name. */
  columns?: Readonly<Record<string, readonly string[]>>;
  /** What a missing value (null, undefined) becomes in a string tensor: "" by default (skl2onnx imputers use a string marker). */
  missingString?: string;
}

/** A value that does not fit the tensor's type: names the tensor, the column, the row and what was expected. */
export class OnnxInputError extends DatasetError {}

function rows(columns: OnnxColumns, names: readonly string[], tensor: string): number {
  let n: number | undefined;
  for (const name of names) {
    const values = columns[name];
    if (values === undefined) {
      throw new OnnxInputError(
        `The ONNX input "${tensor}" reads the column "${name}", which the node was not given. Columns: [${Object.keys(columns).join(", ")}].`,
        {
          code: "MISSING_INPUTS",
        },
      );
    }
    if (n !== undefined && values.length !== n)
      throw new OnnxInputError(`The columns of the ONNX input "${tensor}" have different lengths (${n} and ${values.length}).`);
    n = values.length;
  }
  return n ?? 0;
}

/** Fills `out` (row-major [N, k]) from the columns, converting each value with `cell`. */
function fill<T>(
  out: { [i: number]: T },
  columns: OnnxColumns,
  names: readonly string[],
  n: number,
  cell: (v: unknown, column: string, row: number) => T,
): void {
  const k = names.length;
  for (let j = 0; j < k; j++) {
    const name = names[j] as string;
    const values = columns[name] as ArrayLike<unknown>;
    for (let r = 0; r < n; r++) out[r * k + j] = cell(values[r], name, r);
  }
}

function wrongValue(tensor: OnnxTensorInfo, column: string, row: number, value: unknown, expected: string): OnnxInputError {
  return new OnnxInputError(
    `The ONNX input "${tensor.name}" (${tensor.type}) takes ${expected}; column "${column}" row ${row} holds ${typeof value === "string" ? JSON.stringify(value) : String(value)} (${value === null ? "null" : typeof value}).`,
  );
}

/** One input tensor's data from its columns, by the graph's element type. */
function tensorData(info: OnnxTensorInfo, columns: OnnxColumns, names: readonly string[], n: number, missingString: string): Tensor.DataType {
  const size = n * names.length;
  const numberOf = (v: unknown, column: string, row: number): number => {
    if (typeof v === "number") return v;
    if (v === null || v === undefined) return Number.NaN;
    if (typeof v === "bigint") return Number(v);
    throw wrongValue(info, column, row, v, "numbers (a missing value becomes NaN)");
  };
  const integerOf = (v: unknown, column: string, row: number): number => {
    if (typeof v === "number" && Number.isInteger(v)) return v;
    if (typeof v === "bigint") return Number(v);
    throw wrongValue(info, column, row, v, "whole numbers, none missing (impute them before the model, or export it with an imputer)");
  };
  switch (info.type) {
    case "float32": {
      const out = new Float32Array(size);
      fill(out, columns, names, n, numberOf);
      return out;
    }
    case "float64": {
      const out = new Float64Array(size);
      fill(out, columns, names, n, numberOf);
      return out;
    }
    case "int64": {
      const out = new BigInt64Array(size);
      fill(out, columns, names, n, (v, c, r) => BigInt(integerOf(v, c, r)));
      return out;
    }
    case "int32": {
      const out = new Int32Array(size);
      fill(out, columns, names, n, integerOf);
      return out;
    }
    case "bool": {
      const out = new Uint8Array(size);
      fill(out, columns, names, n, (v, c, r) => {
        if (typeof v === "boolean") return v ? 1 : 0;
        throw wrongValue(info, c, r, v, "booleans, none missing");
      });
      return out;
    }
    case "string": {
      const out: string[] = new Array(size);
      fill(out, columns, names, n, (v, c, r) => {
        if (typeof v === "string") return v;
        if (v === null || v === undefined) return missingString;
        throw wrongValue(info, c, r, v, `strings (a missing value becomes ${JSON.stringify(missingString)})`);
      });
      return out;
    }
    default:
      throw new OnnxInputError(
        `The ONNX input "${info.name}" has the element type ${info.type}, which columnsToTensors does not fill: build that tensor yourself.`,
      );
  }
}

/**
 * The model's input tensors from columns: each input reads the column of its name (or the columns
 * `options.columns` gives it, as [N, k]), converted to the graph's element type — float32/64 with
 * NaN for a missing value, int32/64, bool, string with `missingString` for a missing value.
 * @throws OnnxInputError naming the tensor, the column, the row and the expected type.
 */
export async function columnsToTensors(model: OnnxModel, columns: OnnxColumns, options: ToTensorsOptions = {}): Promise<Record<string, Tensor>> {
  const { Tensor } = await onnxRuntime();
  const feeds: Record<string, Tensor> = {};
  for (const info of model.inputs) {
    const names = options.columns?.[info.name] ?? [info.name];
    const n = rows(columns, names, info.name);
    if (info.shape.length !== 1 && info.shape.length !== 2) {
      throw new OnnxInputError(`The ONNX input "${info.name}" has ${info.shape.length} dimensions; columnsToTensors fills [N] and [N, k] inputs only.`);
    }
    if (info.shape.length === 1 && names.length !== 1)
      throw new OnnxInputError(`The ONNX input "${info.name}" is one-dimensional ([N]): give it one column, not ${names.length}.`);
    const width = info.shape[1];
    if (info.shape.length === 2 && typeof width === "number" && width !== names.length) {
      throw new OnnxInputError(
        `The ONNX input "${info.name}" has shape [N, ${width}]: give it ${width} column(s), not ${names.length} ([${names.join(", ")}]).`,
      );
    }
    const dims = info.shape.length === 1 ? [n] : [n, names.length];
    feeds[info.name] = new Tensor(info.type as "float32", tensorData(info, columns, names, n, options.missingString ?? "") as Float32Array, dims);
  }
  return feeds;
}

export interface ToColumnsOptions {
  /** Names for the columns of an [N, k] output (e.g. class names for probabilities); `<output>_<j>` by default. */
  names?: Readonly<Record<string, readonly string[]>>;
}

/** A tensor value as a JSON-friendly cell: a bigint as a number when it is safe, else its text. */
function cellOf(v: unknown): unknown {
  if (typeof v !== "bigint") return v;
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString();
}

/**
 * Output tensors as columns: an [N] or [N, 1] output is one column of its name; an [N, k] output
 * is k columns (`options.names`, else `<output>_0`…). float32 values are widened exactly to numbers.
 * @throws OnnxInputError for an output of more than two dimensions, or names of the wrong count.
 */
export function tensorsToColumns(outputs: Readonly<Record<string, Tensor>>, options: ToColumnsOptions = {}): Record<string, unknown[]> {
  const columns: Record<string, unknown[]> = {};
  for (const [name, tensor] of Object.entries(outputs)) {
    const dims = tensor.dims;
    const data = tensor.data as ArrayLike<unknown>;
    const n = dims[0] ?? 0;
    const k = dims.length === 1 ? 1 : (dims[1] ?? 1);
    if (dims.length > 2)
      throw new OnnxInputError(`The ONNX output "${name}" has ${dims.length} dimensions; tensorsToColumns reads [N] and [N, k] outputs only.`);
    const named = options.names?.[name];
    if (named && named.length !== k)
      throw new OnnxInputError(`The ONNX output "${name}" has ${k} column(s) but ${named.length} name(s) were given ([${named.join(", ")}]).`);
    const labels = named ?? (k === 1 ? [name] : Array.from({ length: k }, (_, j) => `${name}_${j}`));
    for (let j = 0; j < k; j++) {
      const out: unknown[] = new Array(n);
      for (let r = 0; r < n; r++) out[r] = cellOf(data[r * k + j]);
      columns[labels[j] as string] = out;
    }
  }
  return columns;
}

/** `columnsToTensors`, the model's run and `tensorsToColumns` in one call: the output columns. */
export async function predictOnnx(
  model: OnnxModel,
  columns: OnnxColumns,
  options: ToTensorsOptions & ToColumnsOptions = {},
): Promise<Record<string, unknown[]>> {
  const outputs = await model.run(await columnsToTensors(model, columns, options));
  return tensorsToColumns(outputs as Record<string, Tensor>, options);
}
