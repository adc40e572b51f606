/**
 * @module batch
 * Batch prediction over files (`pipeserve predict`): streamed chunk by chunk for row-wise models,
 * bad rows reported or skipped, sharded inputs, and outputs that appear only when complete.
 * A peer of the server: both turn a loaded model into a service, one over HTTP, one over files.
 */
export { BatchError } from "./errors.js";
export { checkPredictFiles, predictFile, type PredictFileOptions, type PredictFileResult, type Shard } from "./predict-file.js";
export { createPredictionsWriter, type OutputFormat } from "./predictions-writer.js";
export { mergeParts, type MergePartsOptions, type MergePartsResult } from "./merge-parts.js";
