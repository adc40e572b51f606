/**
 * @module util
 * Small leaf helpers that several parts need and none owns (store and tabular may not import each
 * other): the one atomic file write, the temporary ("partial") names of atomic outputs with the
 * sweep of those whose writers are gone, whether a process that left files behind is gone, byte
 * sizes, the one plain-object check, V8's WebAssembly tiering budget, this pipeserve's version and
 * the names of the input types (so the CLI prints its help without loading the parts that use
 * them), and the cores a process may use under its container's CPU quota. Imports no other part of pipeserve; every part may import it.
 */
export { isPlainObject } from "./is-plain-object.js";
export { writeFileAtomic } from "./write-file-atomic.js";
export { parseByteSize, formatByteSize } from "./byte-size.js";
export { processIsGone } from "./process-gone.js";
export { MAX_CHUNK_ROWS } from "./chunk-rows.js";
export { OUTPUT_APPEND, outputTarget, type OutputTarget } from "./output-target.js";
export { isStalePartial, partialPath, removeStalePartials, writerTag, writerTagIsGone, type StalePartialOptions } from "./partial-files.js";
export { pipeserveVersion } from "./pipeserve-version.js";
export { INPUT_TYPES, type InputType } from "./input-type-names.js";
export { startModuleWorker } from "./module-worker.js";
export { tuneWasmTiering, wasmTieringBudget, WasmTieringBudgetError, WASM_TIERING_BUDGET, WASM_TIERING_BUDGET_ENV } from "./wasm-tiering.js";
export { onceByKey } from "./once-by-key.js";
export { LITTLE_ENDIAN } from "./little-endian.js";
export { usableCores, cpuQuota } from "./usable-cores.js";
export { folderDigest, isInsideFolderPath, readFolderManifest, swapInFolder, type FolderFile } from "./folder-manifest.js";
export { redactCredentials } from "./redact-credentials.js";
