import { PIPELINE_SHA256_TAG } from "../store/index.js";
import { checkArtifactType } from "./artifact-types.js";
import { ModelLoadError } from "./errors.js";
import { folderArtifactFiles, verifyFile } from "./integrity.js";
import { type MLmodel, type PipelineJson, type PipeserveFlavor, readEnvironment, readMLmodel, readPipelineJsonWithDigest } from "./model-files.js";
import type { ResolvedModel } from "./model-uri.js";

/** A model whose files were all checked: the parsed files, and the digest a registry version records. */
export interface VerifiedModel {
  mlmodel: MLmodel;
  flavor: PipeserveFlavor;
  pipeline: PipelineJson;
  /** sha256 of `pipeline.json` (which lists the sha256 of the code and of every artifact). */
  pipelineSha256: string;
}

/** @throws ModelLoadError when MLmodel and pipeline.json name other inputs or outputs. */
export function checkNamesAgree(flavor: PipeserveFlavor, pipeline: PipelineJson, dir: string): void {
  if (pipeline.input_name !== flavor.input_name || pipeline.output_name !== flavor.output_name) {
    throw new ModelLoadError(`MLmodel and pipeline.json of the model at ${dir} disagree on the input or output name.`, { code: "INVALID_MODEL_FILE" });
  }
}

/**
 * Checks a model directory as the loader does before running any of its code, without running
 * it: MLmodel and pipeline.json valid and agreeing, every path inside the model, every artifact
 * type known, and the sha256 of the code bundle and of every artifact (streamed). `import` runs
 * it before registering anything.
 * @throws ModelLoadError naming the file that fails.
 */
export async function verifyModelFiles(dir: string): Promise<VerifiedModel> {
  const { mlmodel, flavor } = await readMLmodel(dir);
  const { pipeline, sha256 } = await readPipelineJsonWithDigest(dir, flavor.pipeline);
  checkNamesAgree(flavor, pipeline, dir);
  await verifyFile(dir, pipeline.code.path, pipeline.code.sha256, "The code bundle");
  for (const [name, artifact] of Object.entries(pipeline.artifacts)) {
    checkArtifactType(name, artifact.type);
    const files = artifact["files"] as Record<string, { sha256: string }> | undefined;
    if (files === undefined) {
      await verifyFile(dir, artifact.path, artifact.sha256, `Artifact "${name}"`);
      continue;
    }
    const listed = folderArtifactFiles({ path: artifact.path, sha256: artifact.sha256, files }, `Artifact "${name}"`);
    for (const { path, sha256 } of listed) await verifyFile(dir, path, sha256, `Artifact "${name}"`);
  }
  await readEnvironment(dir, flavor.env);
  return { mlmodel, flavor, pipeline, pipelineSha256: sha256 };
}

/** The registry tags that pin a model version to its files (see `checkRegisteredDigest`). */
export function registryTags(verified: Pick<VerifiedModel, "pipelineSha256">): Record<string, string> {
  return { [PIPELINE_SHA256_TAG]: verified.pipelineSha256 };
}

/**
 * For a model reached through the registry (`models:/…`), checks that its `pipeline.json` is the
 * one recorded when the version was registered: code edited and every hash recomputed passes the
 * model's own integrity check, but not this one. A version registered without a digest (by an
 * older pipeserve, or by MLflow) cannot be checked: `onWarning` is told so.
 * @throws ModelLoadError (REGISTRY_DIGEST_MISMATCH) naming both digests.
 */
export function checkRegisteredDigest(resolved: ResolvedModel, found: string, onWarning?: (message: string) => void): void {
  if (resolved.registeredName === undefined) return;
  const expected = resolved.registeredPipelineSha256;
  const which = `version ${resolved.version} of registered model "${resolved.registeredName}"`;
  if (expected === undefined) {
    onWarning?.(
      `${resolved.uri} (${which}) records no ${PIPELINE_SHA256_TAG} tag (registered by another tool or an older pipeserve): its files are checked against their own sha256 list only. Register the model again to pin it.`,
    );
    return;
  }
  if (expected.trim().toLowerCase() !== found) {
    throw new ModelLoadError(
      `Refusing to load ${resolved.uri}: the pipeline.json of the model at ${resolved.dir} is not the one ${which} was registered with (registry tag ${PIPELINE_SHA256_TAG}: expected sha256 ${expected.trim()}, found ${found}). The model's files were changed after registration. Restore them, or register the changed model as a new version if the change is intended.`,
      { code: "REGISTRY_DIGEST_MISMATCH" },
    );
  }
}
