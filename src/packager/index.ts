/**
 * @module packager
 * Binds training and inference pipelines (`pipelineMl`), loads Kedro-like projects, runs
 * training inside a tracked run and packages the inference pipeline with exactly the artifacts
 * that run produced into a model directory (MODEL_FORMAT.md). Meets the loader only through that
 * format.
 */
export { PackagingError } from "./errors.js";
export {
  PipelineML,
  pipelineMl,
  type ColumnOverride,
  type ParamOverride,
  type PipelineMlOptions,
  type LogModelOptions,
  type SignatureJson,
  type SignatureOverrides,
} from "./pipeline-ml.js";
export { loadProject, getPipeline, projectCatalog, type Project } from "./project.js";
export { bundlePipelines, DEFAULT_EXTERNAL_PACKAGES, type BundleResult } from "./bundle.js";
export { writeModel, utcTimeCreated, FORMAT_VERSION, type ModelContents, type ModelArtifact } from "./model-writer.js";
export { packageModel, type PackageModelOptions, type InferenceSpec } from "./package-model.js";
export { runProject, RUN_ERROR_TAG, type RunProjectOptions, type RunProjectResult } from "./training-run.js";
export { typecheckProject, projectTsc, type TypecheckOutcome } from "./typecheck.js";
export { RunCatalog } from "./run-catalog.js";
export { applyParamOverrides, flattenParams } from "./params.js";
export { modelify, type ModelifyOptions } from "./modelify.js";
export { removeStaleModelPartials } from "./stale-partials.js";
export { checkRegistrationName } from "./logged-model.js";
