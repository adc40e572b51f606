/**
 * @module loader
 * Turns a model URI into a ready `PipelineModel`, once: resolves `runs:/`, `models:/`, paths and
 * archives; validates MLmodel and pipeline.json; verifies every sha256 before code runs; imports
 * the code bundle; preloads artifacts. Meets the packager only through the model format.
 */
export { ModelLoadError, RunnerNotAllowedError } from "./errors.js";
export { resolveModelUri, movingModelRef, currentModelVersion, type ResolvedModel, type ResolveOptions } from "./model-uri.js";
export {
  readMLmodel,
  readPipelineJson,
  readPipelineJsonWithDigest,
  readEnvironment,
  MLmodelSchema,
  PipelineJsonSchema,
  PipeserveFlavorSchema,
  EnvironmentSchema,
  SUPPORTED_FORMAT_VERSIONS,
  type MLmodel,
  type PipelineJson,
  type PipeserveFlavor,
  type Environment,
} from "./model-files.js";
export {
  PipelineModel,
  type PredictOptions,
  type Prediction,
  type PreparedInput,
  type BatchRunOptions,
  type ModelMetadata,
} from "./pipeline-model.js";
export { loadModel, type LoadModelOptions } from "./load-model.js";
export { verifyModelFiles, checkRegisteredDigest, registryTags, type VerifiedModel } from "./verify-model.js";
export { insideModel, modelFile } from "./integrity.js";
// NB: what the server needs of the runtime, passed through so the server depends on the loader alone.
export { NodeError, RunTimeoutError, pipeserveVersion, type Hooks, type RunOptions } from "../runtime/index.js";
// NB: for batch worker threads, which import it before loading a model so its code finds `pipeserve`.
export { hostEntryUrl } from "../runtime/index.js";
