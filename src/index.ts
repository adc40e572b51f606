/**
 * @module pipeserve
 * The public library API: build pipelines and catalogs, run them, package them with their
 * artifacts, and work with tabular data and signatures.
 */
import * as api from "./index.js";
import { provideHostModule } from "./runtime/index.js";

export * from "./runtime/index.js";
export * from "./tabular/index.js";
export * from "./store/index.js";
export * from "./packager/index.js";
export * from "./loader/index.js";
export * from "./server/index.js";
export * from "./batch/index.js";

// NB: packaged model code reaches `pipeserve` through this registration, wherever the model lives.
provideHostModule("pipeserve", api, import.meta.url);
