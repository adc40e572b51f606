/**
 * @module pipeserve
 * The public library API: build pipelines and catalogs, run them, and work with tabular data.
 */
export * from "./runtime/index.js";
export * from "./tabular/index.js";
