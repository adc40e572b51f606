import { createHash, randomUUID } from "node:crypto";
import { copyFile, cp, mkdir, readdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { dirname, extname, join } from "node:path";
import { toYaml } from "../store/index.js";
import { type FolderFile, folderDigest, isInsideFolderPath, partialPath, readFolderManifest } from "../util/index.js";
import { toJsonValue, type ColumnTable, type MlflowSignature } from "../tabular/index.js";
import { pipeserveVersion, type NodeIO } from "../runtime/index.js";
import { PackagingError } from "./errors.js";
import type { BundleResult } from "./bundle.js";
import { markDoubleColumns, markDoubleParams, stringifyExample } from "./example-json.js";

/** The pipeserve flavor's format version, written in MLmodel and pipeline.json. */
export const FORMAT_VERSION = 1;

/**
 * The MLflow release whose model format and store layout pipeserve writes, recorded as MLmodel's
 * `mlflow_version` (MLflow records the version that saved a model there).
 */
export const MLFLOW_FORMAT_VERSION = "3.6.0";

export interface ModelArtifact {
  /** The file training wrote. */
  source: string;
  /** The dataset type that reads it back (e.g. `JsonArtifactDataset`). */
  type: string;
  /** Options the type reads it back with (an ONNX artifact's session options), written as pipeline.json `load_args`. */
  loadArgs?: Readonly<Record<string, unknown>>;
  /** The codec (of the model's code's `codecs` export) that rebuilds it, written as pipeline.json `codec`. */
  codec?: string;
}

export interface ModelContents {
  nodes: readonly { name: string; inputs: NodeIO; outputs: NodeIO; tags: readonly string[] }[];
  inputName: string;
  outputName: string;
  copyMode: string | Readonly<Record<string, string>>;
  runner: string;
  inputType: string;
  rowWise: boolean;
  /** How a `columns` input hands numeric columns to nodes; not written when not given (the loader then reads `plain`). */
  columnArrays?: string;
  artifacts: Readonly<Record<string, ModelArtifact>>;
  /** Values of the params the inference pipeline reads, by name (`a.b` for `params:a.b`). */
  parameters: Readonly<Record<string, unknown>>;
  bundle: BundleResult;
  signature: MlflowSignature | null;
  inputExample?: ColumnTable | undefined;
  /** Defaults for the serving example's `params`. */
  exampleParams?: Readonly<Record<string, unknown>> | undefined;
  runId?: string | undefined;
  artifactPath?: string | undefined;
  /**
   * The MLflow 3 LoggedModel the model is written for: MLmodel gets its `model_id` (also as
   * `model_uuid`) and, as `artifact_path`, its artifact location, as MLflow 3's `log_model` writes.
   */
  loggedModel?: { modelId: string; artifactLocation: string } | undefined;
}

async function sha256File(path: string): Promise<{ sha256: string; bytes: number }> {
  const data = await readFile(path);
  return { sha256: createHash("sha256").update(data).digest("hex"), bytes: data.byteLength };
}

async function dirSize(dir: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) total += (await stat(join(entry.parentPath, entry.name))).size;
  }
  return total;
}

/** MLflow's `utc_time_created`: UTC, a space between date and time, microseconds, no `Z`. */
export function utcTimeCreated(now = new Date()): string {
  return `${now.toISOString().replace("T", " ").replace("Z", "")}000`;
}

function exampleSplit(table: ColumnTable): { columns: string[]; data: unknown[][] } {
  const data: unknown[][] = [];
  for (let r = 0; r < table.numRows; r++) data.push(table.columns.map((c) => toJsonValue(c[r])));
  return { columns: [...table.names], data };
}

/** @throws PackagingError MISSING_ARTIFACT when training did not write the artifact's file. */
export async function assertArtifactWritten(name: string, artifact: ModelArtifact): Promise<void> {
  try {
    await stat(artifact.source);
  } catch {
    throw new PackagingError(`Artifact "${name}" should be at ${artifact.source}, but training did not write it. Check the node that outputs "${name}".`, {
      code: "MISSING_ARTIFACT",
    });
  }
}

/** A packaged artifact as pipeline.json lists it. */
interface ArtifactEntry {
  type: string;
  path: string;
  sha256: string;
  bytes: number;
  load_args?: Readonly<Record<string, unknown>>;
  codec?: string;
  /** A folder artifact's files (path inside it → sha256 and size); `sha256` is then the list's digest. */
  files?: Record<string, FolderFile>;
}

/** Copies a folder artifact into `target` (a new folder) file by file; its pipeline.json fields. */
async function copyFolderArtifact(name: string, source: string, target: string): Promise<Pick<ArtifactEntry, "sha256" | "bytes" | "files">> {
  await cp(source, target, { recursive: true, errorOnExist: true, force: false });
  // NB: listed and hashed once, from the copy: what is recorded is what the model holds.
  let files: Record<string, FolderFile>;
  try {
    files = await readFolderManifest(target);
  } catch (cause) {
    throw new PackagingError(`Artifact "${name}" (${source}) cannot be packaged: ${(cause as Error).message.replaceAll(target, source)}`, {
      code: "MISSING_ARTIFACT",
      cause,
    });
  }
  if (Object.keys(files).length === 0)
    throw new PackagingError(`Artifact "${name}" is an empty folder (${source}): its codec's save wrote no files.`, { code: "MISSING_ARTIFACT" });
  // NB: what loading would refuse as a path leaving the folder (a backslash, a newline…) is refused now, naming it.
  const unsafe = Object.keys(files).find((file) => !isInsideFolderPath(file));
  if (unsafe !== undefined)
    throw new PackagingError(
      `Artifact "${name}" holds a file named ${JSON.stringify(unsafe)}; name the files its codec saves with letters, digits, ., _, - and /.`,
      { code: "INVALID_PIPELINE_ML" },
    );
  const bytes = Object.values(files).reduce((n, f) => n + f.bytes, 0);
  return { sha256: folderDigest(files), bytes, files };
}

/** Copies each artifact into `tmp/artifacts/`, named after its dataset; their pipeline.json entries. */
async function copyArtifacts(tmp: string, artifacts: Readonly<Record<string, ModelArtifact>>): Promise<Record<string, ArtifactEntry>> {
  const entries: Record<string, ArtifactEntry> = {};
  for (const [name, artifact] of Object.entries(artifacts)) {
    await assertArtifactWritten(name, artifact);
    const path = `artifacts/${name.replace(/[^\w.-]/g, "_")}${extname(artifact.source)}`;
    const clash = Object.entries(entries).find(([, a]) => a.path === path);
    if (clash) {
      throw new PackagingError(`Artifacts "${clash[0]}" and "${name}" would both be stored as ${path}. Rename one of the datasets.`, {
        code: "ARTIFACT_NAME_CLASH",
      });
    }
    const folder = (await stat(artifact.source)).isDirectory();
    if (!folder) await copyFile(artifact.source, join(tmp, path));
    entries[name] = {
      type: artifact.type,
      path,
      ...(folder ? await copyFolderArtifact(name, artifact.source, join(tmp, path)) : await sha256File(join(tmp, path))),
      ...(artifact.loadArgs ? { load_args: artifact.loadArgs } : {}),
      ...(artifact.codec !== undefined ? { codec: artifact.codec } : {}),
    };
  }
  return entries;
}

/**
 * Writes a model directory (MODEL_FORMAT.md) at `target`: assembled under a temporary name beside
 * it and renamed into place only when complete, so no reader ever sees half a model.
 * @throws PackagingError when `target` exists or an artifact file is missing.
 */
export async function writeModel(target: string, contents: ModelContents): Promise<void> {
  try {
    await stat(target);
    throw new PackagingError(`A model already exists at ${target}; models are immutable. Use another artifact path or run.`, { code: "MODEL_EXISTS" });
  } catch (error) {
    if (error instanceof PackagingError) throw error;
  }
  await mkdir(dirname(target), { recursive: true });
  const tmp = partialPath(target);
  await mkdir(join(tmp, "artifacts"), { recursive: true });
  await mkdir(join(tmp, "code"), { recursive: true });
  try {
    const artifacts = await copyArtifacts(tmp, contents.artifacts);
    const codePath = "code/pipeline.mjs";
    await writeFile(join(tmp, codePath), contents.bundle.code);
    const pipelineJson = {
      format_version: FORMAT_VERSION,
      input_name: contents.inputName,
      output_name: contents.outputName,
      nodes: contents.nodes.map((n) => ({ name: n.name, inputs: n.inputs, outputs: n.outputs, tags: [...n.tags] })),
      artifacts,
      parameters: toJsonValue(contents.parameters),
      code: { path: codePath, export: "inference", sha256: (await sha256File(join(tmp, codePath))).sha256 },
    };
    await writeFile(join(tmp, "pipeline.json"), JSON.stringify(pipelineJson, null, 2) + "\n");
    await writeFile(join(tmp, "environment.json"), JSON.stringify({ node: ">=20", packages: contents.bundle.packages }, null, 2) + "\n");
    let exampleInfo: Record<string, string> | undefined;
    if (contents.inputExample && contents.inputExample.numRows > 0) {
      // NB: whole values of double columns and params are written 17.0, as MLflow writes them from pandas.
      const split = markDoubleColumns(exampleSplit(contents.inputExample), contents.signature);
      await writeFile(join(tmp, "input_example.json"), stringifyExample(split));
      const serving: Record<string, unknown> = { dataframe_split: split };
      if (contents.exampleParams && Object.keys(contents.exampleParams).length > 0)
        serving["params"] = markDoubleParams(toJsonValue(contents.exampleParams) as Record<string, unknown>, contents.signature);
      await writeFile(join(tmp, "serving_input_example.json"), stringifyExample(serving, 2));
      exampleInfo = { artifact_path: "input_example.json", pandas_orient: "split", serving_input_path: "serving_input_example.json", type: "dataframe" };
    }
    const mlmodel: Record<string, unknown> = {
      // The fields MLflow 3 writes in every MLmodel (the reference's, test/fixtures/mlflow-reference).
      is_signature_from_type_hint: false,
      mlflow_version: MLFLOW_FORMAT_VERSION,
      prompts: null,
      type_hint_from_example: false,
      flavors: {
        pipeserve: {
          code: codePath,
          ...(contents.columnArrays !== undefined ? { column_arrays: contents.columnArrays } : {}),
          copy_mode: contents.copyMode,
          env: "environment.json",
          format_version: FORMAT_VERSION,
          input_name: contents.inputName,
          input_type: contents.inputType,
          output_name: contents.outputName,
          pipeline: "pipeline.json",
          pipeserve_version: pipeserveVersion(),
          row_wise: contents.rowWise,
          runner: contents.runner,
        },
      },
      model_size_bytes: await dirSize(tmp),
      model_uuid: randomUUID().replaceAll("-", ""),
      utc_time_created: utcTimeCreated(),
    };
    if (contents.artifactPath !== undefined && contents.runId !== undefined) mlmodel["artifact_path"] = contents.artifactPath;
    if (contents.loggedModel) {
      mlmodel["artifact_path"] = contents.loggedModel.artifactLocation;
      mlmodel["model_id"] = contents.loggedModel.modelId;
      mlmodel["model_uuid"] = contents.loggedModel.modelId;
    }
    if (contents.runId !== undefined) mlmodel["run_id"] = contents.runId;
    if (exampleInfo) mlmodel["saved_input_example_info"] = exampleInfo;
    if (contents.signature)
      mlmodel["signature"] = { inputs: contents.signature.inputs, outputs: contents.signature.outputs, params: contents.signature.params };
    await writeFile(join(tmp, "MLmodel"), toYaml(mlmodel));
    await rename(tmp, target);
  } catch (error) {
    await rm(tmp, { recursive: true, force: true });
    throw error;
  }
}
