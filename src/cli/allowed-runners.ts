import * as nodeModule from "node:module";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { Runner } from "../index.js";
import { UsageError } from "./errors.js";

let hooked = false;

/**
 * Makes a bare `import … from "pipeserve"` in the modules loaded after it (the runners) resolve to
 * the API this process registered for model code. NB: the built bin carries its own copy of
 * pipeserve (scripts/bundle-cli.mjs); a runner that imported the package's dist/index.js would get
 * a second one, whose classes the server's do not recognise (`instanceof`), and which takes over
 * the host model code reads `pipeserve` from. Run from the sources (tests), there is no bundle.
 */
async function allowedRunnersSeePipeserve(): Promise<void> {
  const { hostEntryUrl } = await import("../loader/index.js");
  const entry = hostEntryUrl();
  // NB: module.register came in Node 20.6 (a named import of it would stop the whole CLI on 20.0–20.5).
  if (hooked || entry === undefined || import.meta.url.endsWith(".ts") || typeof nodeModule.register !== "function") return;
  nodeModule.register(new URL("./pipeserve-resolve-hook.js", import.meta.url), { data: { pipeserve: entry } });
  hooked = true;
}

/**
 * Loads the runners an operator allows with `--allow-runner module#Export` at start-up (never
 * at request time). The export is a Runner instance or a class with a no-argument constructor;
 * requests then name it by `Export`. A relative module path is relative to `cwd`.
 */
export async function loadAllowedRunners(specs: readonly string[], cwd: string = process.cwd()): Promise<Record<string, Runner>> {
  const out: Record<string, Runner> = {};
  if (specs.length > 0) await allowedRunnersSeePipeserve();
  for (const spec of specs) {
    const hash = spec.lastIndexOf("#");
    if (hash <= 0 || hash === spec.length - 1) throw new UsageError(`--allow-runner takes module#Export, e.g. ./runners.mjs#GpuRunner; got "${spec}".`);
    const specifier = spec.slice(0, hash);
    const exportName = spec.slice(hash + 1);
    const url = specifier.startsWith(".") || specifier.startsWith("/") ? pathToFileURL(resolve(cwd, specifier)).href : specifier;
    let mod: Record<string, unknown>;
    try {
      mod = (await import(url)) as Record<string, unknown>;
    } catch (cause) {
      throw new UsageError(`--allow-runner ${spec}: cannot import ${specifier}: ${(cause as Error).message}`);
    }
    const value = mod[exportName];
    const runner = typeof value === "function" ? new (value as new () => Runner)() : value;
    if (!runner || typeof (runner as Runner).run !== "function")
      throw new UsageError(`--allow-runner ${spec}: "${exportName}" is not a runner (an object with run(pipeline, catalog)) or a runner class.`);
    out[exportName] = runner as Runner;
  }
  return out;
}
