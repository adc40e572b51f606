import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { pipeserveVersion, tuneWasmTiering } from "../util/index.js";

/**
 * How packaged pipeline code reaches the packages it shares with the server. A model's code
 * bundle contains no bare `import`s: `pipeserve` and the heavy packages it kept external
 * (danfojs-node, apache-arrow, onnxruntime-node, …) are looked up at run time through a global
 * host, so a model directory works wherever it is copied, with the packages of the pipeserve that
 * serves it.
 */
export const HOST_KEY = "pipeserve.host";

interface Host {
  require(name: string): unknown;
  /** The URL of the module that provides `pipeserve`, for worker threads to import first. */
  entryUrl: string | undefined;
}

const provided = new Map<string, unknown>();
let entryUrl: string | undefined;
const ownRequire = createRequire(import.meta.url);

function hostRequire(name: string): unknown {
  if (provided.has(name)) return provided.get(name);
  if (name === "pipeserve") {
    throw new Error("The pipeserve API is not registered: load models through the pipeserve package (its main entry), not a deep import.");
  }
  // NB: model code that reads Parquet itself loads the module pipeserve uses: V8's budget is set before (see tuneWasmTiering).
  if (name === "parquet-wasm" || name.startsWith("parquet-wasm/")) tuneWasmTiering();
  try {
    return ownRequire(name);
  } catch (first) {
    try {
      return createRequire(join(process.cwd(), "package.json"))(name);
    } catch {
      throw first;
    }
  }
}

const host: Host = {
  require: hostRequire,
  get entryUrl() {
    return entryUrl;
  },
};
(globalThis as Record<symbol, unknown>)[Symbol.for(HOST_KEY)] = host;

/** Registers a module under a package name for model code (the public entry registers `pipeserve` itself). */
export function provideHostModule(name: string, moduleObject: unknown, url?: string): void {
  provided.set(name, moduleObject);
  if (name === "pipeserve" && url) entryUrl = url;
}

/** The URL of the module that registered `pipeserve`, if any. */
export function hostEntryUrl(): string | undefined {
  return entryUrl;
}

/** Resolves a package as model code would see it. */
export function requireHostModule(name: string): unknown {
  return hostRequire(name);
}

/** The installed version of a package, as the host resolves it (`undefined` if not installed). */
export function installedVersion(name: string): string | undefined {
  if (name === "pipeserve") return pipeserveVersion();
  let file: string;
  try {
    file = createRequire(import.meta.url).resolve(name);
  } catch {
    try {
      file = createRequire(join(process.cwd(), "package.json")).resolve(name);
    } catch {
      return undefined;
    }
  }
  for (let dir = dirname(file); dir !== dirname(dir); dir = dirname(dir)) {
    const pkg = join(dir, "package.json");
    if (!existsSync(pkg)) continue;
    const meta = JSON.parse(readFileSync(pkg, "utf8")) as { name?: string; version?: string };
    // NB: an npm alias (`"@tensorflow/tfjs-node": "npm:@tensorflow/tfjs@…"`) is installed under the
    // name asked for, with the package.json of the package it stands for.
    if (meta.name === name || dir.endsWith(join("node_modules", name))) return meta.version;
  }
  return undefined;
}

export { pipeserveVersion };
