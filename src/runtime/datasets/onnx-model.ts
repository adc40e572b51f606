import { randomUUID } from "node:crypto";
import { readFile } from "node:fs/promises";
import type { InferenceSession, Tensor } from "onnxruntime-node";
import { writeFileAtomic } from "../../util/index.js";
import { SHARED_RESOURCE } from "../copy-mode.js";
import { DatasetError } from "../errors.js";
import { FileDataset, type FileDatasetOptions } from "./file-datasets.js";

/** onnxruntime-node, imported on first use: commands and models without ONNX never load it. */
type Ort = typeof import("onnxruntime-node");
let ort: Promise<Ort> | undefined;

/** The onnxruntime-node module (CPU execution provider). */
export function onnxRuntime(): Promise<Ort> {
  ort ??= import("onnxruntime-node");
  return ort;
}

/** A tensor's element types as onnxruntime names them (`float32`, `int64`, `string`, …). */
export type OnnxElementType = Tensor.Type;

/** One input or output of an ONNX graph, from the session's metadata. */
export interface OnnxTensorInfo {
  name: string;
  type: OnnxElementType;
  /** Dimensions: a number, or a name / "" for a dynamic one (the batch). */
  shape: (number | string)[];
}

/** Session options a catalog entry may set (`load_args`). */
export interface OnnxSessionOptions {
  /** Threads within one operator (onnxruntime's intraOpNumThreads); onnxruntime's default when absent. */
  intraOpNumThreads?: number;
  /** Threads across operators (interOpNumThreads). */
  interOpNumThreads?: number;
}

const SESSION_OPTION_KEYS: readonly (keyof OnnxSessionOptions)[] = ["intraOpNumThreads", "interOpNumThreads"];

/** Checks `load_args` of an OnnxModelDataset. @throws DatasetError naming the key. */
export function parseOnnxSessionOptions(args: unknown, where: string): OnnxSessionOptions {
  if (args === undefined || args === null) return {};
  if (typeof args !== "object" || Array.isArray(args))
    throw new DatasetError(`${where}: load_args must be a mapping (intraOpNumThreads, interOpNumThreads).`, { code: "INVALID_DATASET" });
  const out: OnnxSessionOptions = {};
  for (const [key, value] of Object.entries(args)) {
    if (!(SESSION_OPTION_KEYS as readonly string[]).includes(key)) {
      throw new DatasetError(`${where}: unknown load_args key "${key}". OnnxModelDataset takes ${SESSION_OPTION_KEYS.join(", ")}.`, {
        code: "INVALID_DATASET",
      });
    }
    if (!Number.isInteger(value) || (value as number) < 1)
      throw new DatasetError(`${where}: load_args.${key} must be a whole number of threads, 1 or more; got ${JSON.stringify(value)}.`, {
        code: "INVALID_DATASET",
      });
    out[key as keyof OnnxSessionOptions] = value as number;
  }
  return out;
}

function tensorInfos(metadata: readonly InferenceSession.ValueMetadata[]): OnnxTensorInfo[] {
  return metadata.map((m) =>
    m.isTensor ? { name: m.name, type: m.type, shape: [...m.shape] } : { name: m.name, type: "string" as OnnxElementType, shape: [] },
  );
}

/**
 * A loaded ONNX model: an onnxruntime `InferenceSession` (CPU) over the model's bytes, made once
 * and shared by every prediction — never copied, whatever the copy mode (it carries
 * `SHARED_RESOURCE`). Its bytes sit in shared memory, so a worker thread opens its own session over
 * them without a copy. `close()` releases the session.
 */
export class OnnxModel {
  readonly [SHARED_RESOURCE] = true;
  /** Names this model across threads: a worker opens one session per id. */
  readonly id: string;
  /** The `.onnx` file's bytes, in a SharedArrayBuffer. */
  readonly bytes: Uint8Array;
  readonly options: OnnxSessionOptions;
  readonly session: InferenceSession;
  readonly inputs: readonly OnnxTensorInfo[];
  readonly outputs: readonly OnnxTensorInfo[];
  /** Where it was read from, for messages. */
  readonly source: string;

  private constructor(id: string, bytes: Uint8Array, options: OnnxSessionOptions, session: InferenceSession, source: string) {
    this.id = id;
    this.bytes = bytes;
    this.options = options;
    this.session = session;
    this.source = source;
    this.inputs = tensorInfos(session.inputMetadata);
    this.outputs = tensorInfos(session.outputMetadata);
  }

  /**
   * Opens a session over `bytes`.
   * @throws DatasetError (DATASET_LOAD_FAILED) when they are not a model onnxruntime can run, naming `source`.
   */
  static async fromBytes(bytes: Uint8Array, options: OnnxSessionOptions = {}, source = "an ONNX model", id: string = randomUUID()): Promise<OnnxModel> {
    let shared = bytes;
    if (!(bytes.buffer instanceof SharedArrayBuffer)) {
      shared = new Uint8Array(new SharedArrayBuffer(bytes.byteLength));
      shared.set(bytes);
    }
    const { InferenceSession } = await onnxRuntime();
    let session: InferenceSession;
    try {
      // NB: onnxruntime takes an ArrayBuffer, not shared memory: it is handed a private copy, which it parses and lets go.
      session = await InferenceSession.create(new Uint8Array(shared), { executionProviders: ["cpu"], ...options });
    } catch (cause) {
      throw new DatasetError(
        `${source} is not an ONNX model onnxruntime can load: ${(cause as Error).message.split("\n")[0]}. Export it again (e.g. skl2onnx, tf2onnx, torch.onnx.export) and check it with onnx.checker.`,
        { code: "DATASET_LOAD_FAILED", cause },
      );
    }
    return new OnnxModel(id, shared, options, session, source);
  }

  /** Runs the graph on named input tensors; the outputs by name (all of them, or `outputs`). */
  run(feeds: Record<string, Tensor>, outputs?: readonly string[]): Promise<InferenceSession.ReturnType> {
    return outputs ? this.session.run(feeds, [...outputs]) : this.session.run(feeds);
  }

  /** Releases the session (its native memory). */
  async close(): Promise<void> {
    await this.session.release();
  }
}

export interface OnnxModelDatasetOptions extends FileDatasetOptions {
  /** Session options (threads), as a catalog's `load_args`. */
  loadArgs?: OnnxSessionOptions;
}

/**
 * An ONNX model file (`*.onnx`, catalog type `OnnxModelDataset`): loads as an `OnnxModel` (an
 * onnxruntime session, CPU). Saving takes the file's bytes (a Uint8Array), or an `OnnxModel`.
 */
export class OnnxModelDataset extends FileDataset<OnnxModel> {
  readonly loadArgs: OnnxSessionOptions;

  constructor(options: OnnxModelDatasetOptions) {
    super(options);
    this.loadArgs = parseOnnxSessionOptions(options.loadArgs, `OnnxModelDataset ${options.filepath}`);
  }

  protected async _load(): Promise<OnnxModel> {
    const bytes = await readFile(this.filepath);
    return OnnxModel.fromBytes(bytes, this.loadArgs, `The ONNX file ${this.filepath}`);
  }

  protected async _save(data: OnnxModel): Promise<void> {
    const value = data as unknown;
    const bytes = value instanceof OnnxModel ? value.bytes : value instanceof Uint8Array ? value : undefined;
    if (bytes === undefined)
      throw new DatasetError(`OnnxModelDataset saves an ONNX file's bytes (a Uint8Array or Buffer) or an OnnxModel, got ${typeof value}.`);
    await this.ensureParent();
    await writeFileAtomic(this.filepath, bytes);
  }

  override describe(): Record<string, unknown> {
    return { filepath: this.filepath, load_args: this.loadArgs };
  }
}
