import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";
import { Worker, type WorkerOptions } from "node:worker_threads";
import { tuneWasmTiering } from "./wasm-tiering.js";

/**
 * Starts a worker thread on a module of pipeserve, `entry` being its URL as built (`…/x.js`).
 *
 * NB: when pipeserve runs from its TypeScript sources (its own tests), the `.js` file does not
 * exist: the thread first registers tsx's loader, then imports the `.ts` source instead.
 */
export function startModuleWorker(entry: URL, options: WorkerOptions = {}): Worker {
  // NB: the thread may load WebAssembly (parquet-wasm); V8's flags are set from the main thread, before it starts.
  tuneWasmTiering();
  if (!import.meta.url.endsWith(".ts")) return new Worker(entry, options);
  const tsx = pathToFileURL(
    createRequire(import.meta.url)
      .resolve("tsx/esm/api")
      .replace(/\.cjs$/, ".mjs"),
  ).href;
  const source = entry.href.replace(/\.js$/, ".ts");
  const bootstrap = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(source)}); });`;
  return new Worker(bootstrap, { ...options, eval: true });
}
