import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { pathToFileURL } from "node:url";
import {
  DataCatalog,
  MemoryDataset,
  OnnxModel,
  Pipeline,
  type AnyCodec,
  moduleCodecs,
  copyModeFor,
  isParameterInput,
  nestParams,
  type CopyModeSpec,
  type Dataset,
  type Runner,
} from "../runtime/index.js";
import { signatureFromMlflow, type Signature } from "../tabular/index.js";
import { ARTIFACT_TYPES, checkArtifactType } from "./artifact-types.js";
import { checkEnvironment } from "./environment.js";
import { ModelLoadError } from "./errors.js";
import { folderArtifactFiles, insideModel, readVerified } from "./integrity.js";
import {
  readEnvironment,
  readInputExample,
  readMLmodel,
  readPipelineJsonWithDigest,
  type MLmodel,
  type PipelineJson,
  type PipeserveFlavor,
} from "./model-files.js";
import { resolveModelUri, type ResolvedModel, type ResolveOptions } from "./model-uri.js";
import { type ModelMetadata, PipelineModel } from "./pipeline-model.js";
import { checkNamesAgree, checkRegisteredDigest } from "./verify-model.js";

export interface LoadModelOptions extends ResolveOptions {
  /** Runners a call may name besides the built-in ones (`--allow-runner`). */
  runners?: Readonly<Record<string, Runner>>;
  /** Told about non-fatal findings (a package version that differs from the one packaged with). */
  onWarning?: (message: string) => void;
}

function sameIO(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** Checks the imported pipeline is the one pipeline.json describes, node by node. */
function checkGraph(pipeline: Pipeline, described: PipelineJson, dir: string): void {
  const byName = new Map(pipeline.nodes.map((n) => [n.name, n]));
  const problems: string[] = [];
  for (const d of described.nodes) {
    const n = byName.get(d.name);
    if (!n) problems.push(`node "${d.name}" is missing from the code`);
    else if (!sameIO(n.inputs, d.inputs) || !sameIO(n.outputs, d.outputs))
      problems.push(`node "${d.name}" has other inputs or outputs than pipeline.json records`);
    byName.delete(d.name);
  }
  for (const extra of byName.keys()) problems.push(`the code has node "${extra}", which pipeline.json does not list`);
  if (problems.length > 0) {
    throw new ModelLoadError(`The code of the model at ${dir} does not match its pipeline.json: ${problems.join("; ")}. Re-package the model.`, {
      code: "GRAPH_MISMATCH",
    });
  }
}

/** Copies the verified bytes of every artifact into `artifactsDir`; returns each artifact's copy. */
async function copyArtifacts(dir: string, described: PipelineJson, artifactsDir: string): Promise<Record<string, string>> {
  const artifactFiles: Record<string, string> = {};
  for (const [i, [name, artifact]] of Object.entries(described.artifacts).entries()) {
    checkArtifactType(name, artifact.type);
    const copy = join(artifactsDir, `${i}-${basename(insideModel(dir, artifact.path, `Artifact "${name}"`))}`);
    const files = artifact["files"] as Record<string, { sha256: string }> | undefined;
    if (files !== undefined) {
      // A folder: every file verified, and the list itself (its digest is the entry's sha256).
      const listed = folderArtifactFiles({ path: artifact.path, sha256: artifact.sha256, files }, `Artifact "${name}"`);
      await mkdir(copy);
      for (const { file, path, sha256 } of listed) {
        const bytes = await readVerified(dir, path, sha256, `Artifact "${name}"`);
        await mkdir(dirname(join(copy, file)), { recursive: true });
        await writeFile(join(copy, file), bytes, { flag: "wx" });
      }
    } else {
      const bytes = await readVerified(dir, artifact.path, artifact.sha256, `Artifact "${name}"`);
      await writeFile(copy, bytes, { flag: "wx" });
    }
    artifactFiles[name] = copy;
  }
  return artifactFiles;
}

/**
 * Imports the verified code from its private copy and checks it exports the pipeline that
 * pipeline.json describes, with every artifact it needs listed there.
 */
async function importPipeline(
  dir: string,
  described: PipelineJson,
  code: Buffer,
  codeDir: string,
  artifactFiles: Record<string, string>,
): Promise<{ pipeline: Pipeline; codecs: Readonly<Record<string, AnyCodec>> }> {
  const codeFile = join(codeDir, "pipeline.mjs");
  await writeFile(codeFile, code, { flag: "wx" });
  const moduleUrl = pathToFileURL(codeFile).href;
  let mod: Record<string, unknown>;
  try {
    mod = (await import(moduleUrl)) as Record<string, unknown>;
  } catch (cause) {
    throw new ModelLoadError(`Importing the code of the model at ${dir} failed: ${(cause as Error).message}`, { code: "CODE_IMPORT_FAILED", cause });
  }
  const exported = mod[described.code.export];
  if (!(exported instanceof Pipeline)) {
    throw new ModelLoadError(`The code of the model at ${dir} does not export a pipeline as "${described.code.export}".`, { code: "CODE_IMPORT_FAILED" });
  }
  checkGraph(exported, described, dir);
  const pipeline = exported.withSource({ module: moduleUrl, exportName: described.code.export });
  const needed = pipeline.inputs().filter((i) => i !== described.input_name && !isParameterInput(i));
  const unlisted = needed.filter((n) => !(n in artifactFiles));
  if (unlisted.length > 0)
    throw new ModelLoadError(`The model at ${dir} needs artifacts [${unlisted.join(", ")}] that pipeline.json does not list.`, {
      code: "INVALID_MODEL_FILE",
    });
  return { pipeline, codecs: moduleCodecs(mod) };
}

/**
 * Loads every artifact once into a memory dataset with its copy mode; `opened` gets the ones that
 * hold native resources (ONNX sessions), to release when the model closes.
 */
async function preloadArtifacts(
  described: PipelineJson,
  artifactFiles: Record<string, string>,
  parts: { copyMode: CopyModeSpec; codecs: Readonly<Record<string, AnyCodec>>; opened: OnnxModel[] },
): Promise<Record<string, Dataset>> {
  const { copyMode, codecs, opened } = parts;
  const datasets: Record<string, Dataset> = {};
  for (const [name, file] of Object.entries(artifactFiles)) {
    const entry = described.artifacts[name];
    const type = entry?.type as string;
    const codecName = entry?.["codec"];
    let codec: AnyCodec | undefined;
    if (codecName !== undefined) {
      codec = typeof codecName === "string" && Object.hasOwn(codecs, codecName) ? codecs[codecName] : undefined;
      if (!codec) {
        throw new ModelLoadError(
          `Artifact "${name}" is stored through the codec ${JSON.stringify(codecName)}, which the model's code does not export in \`codecs\`.`,
          {
            code: "INVALID_MODEL_FILE",
          },
        );
      }
    }
    let data: unknown;
    try {
      const factory = ARTIFACT_TYPES[type] as (f: string, a?: unknown, c?: { name: string; codec: AnyCodec }) => Dataset;
      data = await factory(file, entry?.["load_args"], codec ? { name: codecName as string, codec } : undefined).load();
    } catch (cause) {
      throw new ModelLoadError(`Artifact "${name}" (${type}) of the model could not be loaded: ${(cause as Error).message}`, {
        code: "UNREADABLE_FILE",
        cause,
      });
    }
    if (data instanceof OnnxModel) opened.push(data);
    // NB: loaded once; each call gets the artifact through its copy mode, never a hidden clone.
    datasets[name] = new MemoryDataset({ data, copyMode: copyModeFor(copyMode, name) ?? "assign" });
  }
  return datasets;
}

/** The signature MLmodel records, or null when it has none. */
function readSignature(mlmodel: MLmodel, dir: string): Signature | null {
  if (!mlmodel.signature || !(mlmodel.signature.inputs || mlmodel.signature.outputs || mlmodel.signature.params)) return null;
  try {
    return signatureFromMlflow({
      inputs: mlmodel.signature.inputs ?? null,
      outputs: mlmodel.signature.outputs ?? null,
      params: mlmodel.signature.params ?? null,
    });
  } catch (cause) {
    throw new ModelLoadError(`MLmodel of the model at ${dir} has an invalid signature: ${(cause as Error).message}`, { code: "INVALID_MODEL_FILE", cause });
  }
}

/** Where the model came from and when it was made, from MLmodel and the resolved URI. */
function modelMetadata(mlmodel: MLmodel, flavor: PipeserveFlavor, resolved: ResolvedModel): ModelMetadata {
  const created = mlmodel.utc_time_created;
  return {
    ...(mlmodel.run_id !== undefined ? { runId: mlmodel.run_id } : resolved.runId ? { runId: resolved.runId } : {}),
    ...(mlmodel.model_uuid !== undefined ? { modelUuid: mlmodel.model_uuid } : {}),
    ...(typeof mlmodel.model_id === "string" ? { modelId: mlmodel.model_id } : resolved.modelId ? { modelId: resolved.modelId } : {}),
    ...(created !== undefined ? { utcTimeCreated: created instanceof Date ? created.toISOString() : created } : {}),
    ...(mlmodel.artifact_path !== undefined ? { artifactPath: mlmodel.artifact_path } : {}),
    ...(resolved.registeredName !== undefined ? { registeredName: resolved.registeredName } : {}),
    ...(resolved.version !== undefined ? { version: resolved.version } : {}),
    ...(flavor.pipeserve_version !== undefined ? { pipeserveVersion: flavor.pipeserve_version } : {}),
    flavor: { ...flavor },
  };
}

/**
 * Loads a model once, so every prediction afterwards is only the pipeline's own work: resolves
 * the URI, validates MLmodel and pipeline.json, verifies every sha256 before any code runs, checks
 * the environment, imports the code bundle, checks it matches pipeline.json, and loads the
 * artifacts into memory with the model's copy modes.
 * @throws ModelLoadError naming the file and field, or the store's NotFoundError for unknown runs, models, versions and aliases.
 */
export async function loadModel(uri: string, options: LoadModelOptions = {}): Promise<PipelineModel> {
  const resolved = await resolveModelUri(uri, options);
  let codeDir: string | undefined;
  const sessions: OnnxModel[] = [];
  const cleanup = async (): Promise<void> => {
    await Promise.all(sessions.splice(0).map((s) => s.close().catch(() => undefined)));
    if (codeDir !== undefined) await rm(codeDir, { recursive: true, force: true });
    await resolved.cleanup();
  };
  try {
    const { dir } = resolved;
    const { mlmodel, flavor } = await readMLmodel(dir);
    const { pipeline: described, sha256 } = await readPipelineJsonWithDigest(dir, flavor.pipeline);
    // NB: the digest is of the very bytes parsed, so the pipeline.json used is the one the registry pinned.
    checkRegisteredDigest(resolved, sha256, options.onWarning);
    checkNamesAgree(flavor, described, dir);
    const code = await readVerified(dir, described.code.path, described.code.sha256, "The code bundle");
    // NB: the code and the artifacts are used from private copies of the bytes just verified, never
    // from the model's files again (they could change in between); worker threads import the same
    // copy of the code through the pipeline's source.
    codeDir = await mkdtemp(join(tmpdir(), "pipeserve-code-"));
    const artifactsDir = join(codeDir, "artifacts");
    await mkdir(artifactsDir);
    const artifactFiles = await copyArtifacts(dir, described, artifactsDir);
    for (const warning of checkEnvironment(await readEnvironment(dir, flavor.env), dir)) options.onWarning?.(warning);
    const { pipeline, codecs } = await importPipeline(dir, described, code, codeDir, artifactFiles);
    const copyMode = flavor.copy_mode as CopyModeSpec;
    const datasets = await preloadArtifacts(described, artifactFiles, { copyMode, codecs, opened: sessions });
    // The artifacts are in memory now; only the code stays on disk, for worker threads, and the
    // folder artifacts' private copies, which worker threads load again with their codecs.
    if (!Object.values(described.artifacts).some((a) => a["files"] !== undefined)) await rm(artifactsDir, { recursive: true, force: true });
    const parameters = nestParams(described.parameters);
    return new PipelineModel({
      uri,
      dir,
      pipeline,
      inputName: flavor.input_name,
      outputName: flavor.output_name,
      inputType: flavor.input_type,
      rowWise: flavor.row_wise,
      columnArrays: flavor.column_arrays,
      defaultRunner: flavor.runner,
      signature: readSignature(mlmodel, dir),
      parameters,
      catalog: new DataCatalog(datasets, { params: parameters, copyMode }),
      metadata: modelMetadata(mlmodel, flavor, resolved),
      inputExample: await readInputExample(dir, mlmodel.saved_input_example_info?.artifact_path),
      ...(options.runners ? { runners: options.runners } : {}),
      cleanup,
    });
  } catch (error) {
    await cleanup();
    throw error;
  }
}
