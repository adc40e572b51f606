import { builtinModules } from "node:module";
import { dirname, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { Plugin } from "esbuild";
import { HOST_KEY, installedVersion, pipeserveVersion, requireHostModule } from "../runtime/index.js";
import { PackagingError } from "./errors.js";

/** Packages model code reaches through the host instead of carrying them in its bundle. */
export const DEFAULT_EXTERNAL_PACKAGES: readonly string[] = [
  "pipeserve",
  "danfojs-node",
  "danfojs",
  "apache-arrow",
  "parquet-wasm",
  "onnxruntime-node",
  "onnxruntime-web",
  "onnxruntime-common",
  "@tensorflow/tfjs",
  "@tensorflow/tfjs-node",
  "@tensorflow/tfjs-core",
];

const HOST_NAMESPACE = "pipeserve-host";
const BUILTINS = new Set(builtinModules);
const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

/** `@scope/name/sub` → `@scope/name`; `name/sub` → `name`. */
export function packageNameOf(specifier: string): string {
  const parts = specifier.split("/");
  return specifier.startsWith("@") ? parts.slice(0, 2).join("/") : (parts[0] as string);
}

/**
 * An esbuild plugin that turns imports of host packages into lookups through the global host,
 * with the package's export names known at bundle time, so the bundle has no bare imports.
 */
function hostPackagesPlugin(external: ReadonlySet<string>, used: Set<string>): Plugin {
  return {
    name: "pipeserve-host-packages",
    setup(b) {
      b.onResolve({ filter: /^[^./]/ }, (args) => {
        if (args.path.startsWith("node:") || BUILTINS.has(args.path)) return { path: args.path, external: true };
        if (!external.has(packageNameOf(args.path))) return undefined;
        return { path: args.path, namespace: HOST_NAMESPACE };
      });
      b.onLoad({ filter: /.*/, namespace: HOST_NAMESPACE }, (args) => {
        let mod: unknown;
        try {
          mod = requireHostModule(args.path);
        } catch (cause) {
          return { errors: [{ text: `Package "${args.path}" is imported by the pipeline but cannot be loaded here: ${(cause as Error).message}` }] };
        }
        used.add(packageNameOf(args.path));
        const names =
          mod !== null && (typeof mod === "object" || typeof mod === "function") ? Object.keys(mod).filter((n) => n !== "default" && IDENTIFIER.test(n)) : [];
        const lines = [
          `const m = globalThis[Symbol.for(${JSON.stringify(HOST_KEY)})].require(${JSON.stringify(args.path)});`,
          `export default (m && m.__esModule && "default" in m) ? m.default : m;`,
          ...names.map((n) => `export const ${n} = m[${JSON.stringify(n)}];`),
        ];
        return { contents: lines.join("\n"), loader: "js" };
      });
    },
  };
}

/**
 * esbuild's options for an inline source map that stays right wherever the bundle is written:
 * esbuild names sources relative to its working folder, and the file URL of that folder as
 * `sourceRoot` makes them absolute. NB: without the sources' text, which stacks do not need.
 */
function sourceMapOptions(): { sourcemap: "inline"; sourcesContent: false; absWorkingDir: string; sourceRoot: string } {
  const cwd = process.cwd();
  return { sourcemap: "inline", sourcesContent: false, absWorkingDir: cwd, sourceRoot: pathToFileURL(join(cwd, "/")).href };
}

export interface BundleResult {
  code: string;
  /** Host packages the code uses, with the versions installed when it was bundled. */
  packages: Record<string, string>;
}

/**
 * Bundles a project's pipelines module into one ESM file that exports `exportName` (the value of
 * `pipelines[pipelineName]`, or its `.inference` when it is a pipelineMl) and the module's
 * `codecs`, if any. With `sourcemap`, the bundle carries an inline source map whose sources are
 * absolute file URLs, so a stack through it names the project's own files (once
 * `process.setSourceMapsEnabled(true)` is on); for the bundle a run imports, never a packaged model's.
 * @throws PackagingError with esbuild's messages when the code does not build.
 */
export async function bundlePipelines(
  pipelinesFile: string,
  options: { pipelineName?: string; exportName?: string; external?: readonly string[]; sourcemap?: boolean } = {},
): Promise<BundleResult> {
  const file = resolve(pipelinesFile);
  const used = new Set<string>();
  const external = new Set([...DEFAULT_EXTERNAL_PACKAGES, ...(options.external ?? [])]);
  const entry =
    options.pipelineName === undefined
      ? `export * from ${JSON.stringify(file)};`
      : [
          `import * as project from ${JSON.stringify(file)};`,
          `const chosen = project.pipelines[${JSON.stringify(options.pipelineName)}];`,
          `export const ${options.exportName ?? "inference"} = chosen && chosen.inference ? chosen.inference : chosen;`,
          // NB: the artifact codecs travel with the model's code, so the served model rebuilds its artifacts alike.
          `export const codecs = project["codecs"];`,
        ].join("\n");
  // NB: esbuild is loaded when packaging, not by `import("pipeserve")` nor by serving.
  const { build } = await import("esbuild");
  try {
    const result = await build({
      stdin: { contents: entry, resolveDir: dirname(file), sourcefile: "pipeserve-entry.mjs", loader: "js" },
      bundle: true,
      format: "esm",
      platform: "node",
      target: "node20",
      write: false,
      keepNames: true,
      logLevel: "silent",
      plugins: [hostPackagesPlugin(external, used)],
      banner: { js: "// Bundled by pipeserve: the pipeline code of a packaged model." },
      ...(options.sourcemap ? sourceMapOptions() : {}),
    });
    const code = result.outputFiles[0]?.text ?? "";
    const packages: Record<string, string> = {};
    for (const name of [...used].sort()) packages[name] = installedVersion(name) ?? "*";
    if (!packages["pipeserve"]) packages["pipeserve"] = pipeserveVersion();
    return { code, packages };
  } catch (cause) {
    const errors = (cause as { errors?: { text: string; location?: { file: string; line: number } | null }[] }).errors;
    const detail = errors?.map((e) => (e.location ? `${e.location.file}:${e.location.line}: ${e.text}` : e.text)).join("\n  ") ?? (cause as Error).message;
    throw new PackagingError(`Could not bundle ${pipelinesFile}:\n  ${detail}`, { code: "BUNDLE_FAILED", cause });
  }
}
