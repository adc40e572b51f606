// Bundles the `pipeserve` executable (dist/cli/bin.js as tsc built it) into one module plus the
// chunks its lazy `import()`s load, in dist/cli. Each command then reads and compiles a few files
// instead of ~200 small modules: resolving and compiling them was a fifth of `predict`'s and
// `serve`'s start-up (issue 15, cold start). esbuild is already a dependency (the packager's).
//
// Dynamic imports stay chunks, and packages stay external, so a command loads the libraries it
// used to and no more (test/cli/lazy-modules.process.test.ts). The exceptions are INLINED: small
// pure-JS packages every command loads (yaml alone is 22 CommonJS files), which cost another
// ~20 ms to resolve and compile. The threads of `predict --workers` and of WorkerRunner start on
// entries bundled beside bin.js (WORKER_ENTRIES). The library entry (dist/index.js) stays tsc's
// modules, with the packages from node_modules, and so do the threads it starts.
//
// NB: a bundled module's `import.meta.url` would name the chunk it landed in, and code finds files
// beside itself with it (proto/, the model page's script, createRequire). Each use is rewritten to
// the URL the module has in dist/, so every lookup resolves as it does unbundled. Two are not:
// - a worker entry's URL names the bundled entry, so the thread shares the bundle's chunks;
// - the package's index keeps the URL of its chunk: it registers `pipeserve` for model code under
//   that URL, which a thread imports first, so that the thread's model code gets the bundle's API.
import { readFile, readdir, rm, writeFile } from "node:fs/promises";
import { dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const dist = join(root, "dist");
const outdir = join(dist, "cli");
const CHUNK = /^bin-chunk-[A-Z0-9]+\.js(\.map)?$/;
/** Worker threads' entry modules (under dist/), bundled into dist/cli under these names. */
const WORKER_ENTRIES = { "chunk-worker-entry": "batch/chunk-worker-entry.js", "worker-entry": "runtime/runners/worker-entry.js" };
/** Packages copied into the bundle: pure JS, without files of their own to find at run time, and loaded by every command. */
const INLINED = new Set(["commander", "yaml", "zod", "udsv"]);

/** Keeps every package but INLINED external (as `packages: "external"` would keep them all). */
const externalPackages = {
  name: "external-packages",
  setup(build) {
    build.onResolve({ filter: /^[^./]/ }, ({ path }) => {
      const name = path
        .split("/")
        .slice(0, path.startsWith("@") ? 2 : 1)
        .join("/");
      return INLINED.has(name) ? undefined : { path, external: true };
    });
  },
};

/** Keeps each bundled module's `import.meta.url` the URL of its file in dist/. */
const ownUrls = {
  name: "own-import-meta-url",
  setup(build) {
    build.onLoad({ filter: /\.js$/ }, async ({ path }) => {
      if (!path.startsWith(dist + sep) || path === join(dist, "index.js")) return undefined;
      const code = await readFile(path, "utf8");
      if (!code.includes("import.meta.url")) return undefined;
      const fromOutdir = relative(outdir, path).split(sep).join("/");
      const own = `new URL(${JSON.stringify(fromOutdir)}, import.meta.url).href`;
      let contents = code.replaceAll("import.meta.url", own);
      for (const [name, entry] of Object.entries(WORKER_ENTRIES)) {
        const unbundled = `new URL(${JSON.stringify(`./${relative(dirname(path), join(dist, entry)).split(sep).join("/")}`)}, ${own})`;
        contents = contents.replaceAll(unbundled, `new URL(${JSON.stringify(`./${name}.js`)}, import.meta.url)`);
      }
      return { contents, loader: "js", resolveDir: dirname(path) };
    });
  },
};

/**
 * pipeserve's classes that the bundle renamed. esbuild renames a module's top-level name that
 * another module of the same chunk also declares (`Foo` → `Foo2`), and a class's name is read:
 * `new.target.name` is an error's name, `constructor.name` a dataset's type in a packaged model.
 * (esbuild's keepNames would keep them, at the price of a call for every closure created, on
 * every request: 1 % of serving a single row.)
 */
async function renamedClasses(inputs, outputs) {
  const ours = new Set();
  for (const input of inputs) {
    if (!input.startsWith(dist + sep)) continue;
    for (const m of (await readFile(input, "utf8")).matchAll(/^(?:export )?(?:abstract )?class (\w+)/gm)) ours.add(m[1]);
  }
  const renamed = [];
  for (const output of outputs) {
    for (const m of output.text.matchAll(/\bvar (\w+?)(\d+) = class\b/g)) if (ours.has(m[1])) renamed.push(`${m[1]} (now ${m[1]}${m[2]})`);
  }
  return renamed;
}

for (const name of await readdir(outdir)) if (CHUNK.test(name)) await rm(join(outdir, name));
const result = await build({
  entryPoints: { bin: join(outdir, "bin.js"), ...Object.fromEntries(Object.entries(WORKER_ENTRIES).map(([name, entry]) => [name, join(dist, entry)])) },
  outdir,
  allowOverwrite: true,
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  // NB: an inlined CommonJS package (yaml, commander) calls require() for Node's modules.
  banner: { js: 'import { createRequire as createRequireForInlined } from "node:module"; const require = createRequireForInlined(import.meta.url);' },
  chunkNames: "bin-chunk-[hash]",
  sourcemap: "linked",
  logLevel: "warning",
  metafile: true,
  write: false,
  plugins: [externalPackages, ownUrls],
});
const inputs = Object.keys(result.metafile.inputs).map((input) => resolve(input));
const renamed = await renamedClasses(inputs, result.outputFiles);
if (renamed.length > 0) {
  console.error(
    `bundle-cli: the bundle renamed classes that share a name with another module's: ${renamed.join(", ")}. Rename one of each pair in src/, since a class's name is read at run time.`,
  );
  process.exit(1);
}
for (const file of result.outputFiles) await writeFile(file.path, file.contents);
