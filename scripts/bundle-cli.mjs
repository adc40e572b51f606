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
import { parse } from "acorn";
import { full as walkFull } from "acorn-walk";
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

/** Stops the build with a message saying what to change. */
function fail(message) {
  console.error(`bundle-cli: ${message}`);
  process.exit(1);
}

/** The name each output chunk gives its own URL (its banner), for the modules in it. */
const CHUNK_URL = "__pipeserveChunkUrl";
/** What `import.meta.url` becomes in every bundled module (`define`): a constant each module declares. */
const OWN_URL = "__pipeserveOwnUrl";

/**
 * Gives each bundled module its `import.meta.url` of dist/: `define` swaps the expression (and
 * only the expression: text that merely mentions it is left alone) for OWN_URL, which this
 * declares at the module's start (on its first line, so source maps keep their lines). The
 * worker entries' URLs name the bundled entries instead, and the package index keeps its chunk's URL.
 */
const ownUrls = {
  name: "own-import-meta-url",
  setup(build) {
    build.onLoad({ filter: /\.[cm]?js$/ }, async ({ path }) => {
      const code = await readFile(path, "utf8");
      if (!code.includes("import.meta")) return undefined;
      const inDist = path.startsWith(dist + sep) && path !== join(dist, "index.js");
      // NB: only `.url` is given the module's own value; the others would name the chunk's folder.
      const other = inDist ? /import\.meta\.(?!url\b)\w+/.exec(code) : null;
      if (other)
        fail(`${relative(root, path)} uses ${other[0]}, which the bundle would not keep: use new URL(…, import.meta.url) or createRequire(import.meta.url).`);
      const own = inDist ? `new URL(${JSON.stringify(relative(outdir, path).split(sep).join("/"))}, ${CHUNK_URL}).href` : CHUNK_URL;
      let contents = code;
      for (const [name, entry] of inDist ? Object.entries(WORKER_ENTRIES) : []) {
        const unbundled = `new URL(${JSON.stringify(`./${relative(dirname(path), join(dist, entry)).split(sep).join("/")}`)}, import.meta.url)`;
        if (contents.includes(unbundled)) {
          contents = contents.replaceAll(unbundled, `new URL(${JSON.stringify(`./${name}.js`)}, ${CHUNK_URL})`);
          redirected.add(name);
        }
      }
      return { contents: `const ${OWN_URL} = ${own};${contents}`, loader: "js", resolveDir: dirname(path) };
    });
  },
};
/** The worker entries whose URL the bundle redirected (each must be: else threads would start on tsc's modules). */
const redirected = new Set();

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
    for (const name of ours) {
      for (const m of output.text.matchAll(new RegExp(`\\bvar (${name}\\d+) = class\\b`, "g"))) renamed.push(`${name} (now ${m[1]})`);
    }
  }
  return renamed;
}

/**
 * Names each class that refers to itself after itself again. esbuild writes `var Foo = class _Foo
 * {…}` for one, and V8 takes `_Foo` for its `name` (read at run time, see renamedClasses) and for
 * stack frames. `_Foo` is the class's own binding: each reference to it within the class (found
 * on acorn's syntax tree: identifiers only, never a string, key or property) becomes ` Foo`, the
 * same length, so the source maps' columns still hold. NB: esbuild picks the inner name free in
 * the whole chunk, so within the class it names nothing else.
 */
function unprefixSelfNamedClasses(text) {
  const edits = [];
  walkFull(parse(text, { ecmaVersion: "latest", sourceType: "module" }), (node) => {
    if (node.type !== "VariableDeclarator" || node.init?.type !== "ClassExpression" || node.id.type !== "Identifier") return;
    const name = node.id.name;
    if (node.init.id?.name !== `_${name}`) return;
    walkFull(node.init, (inner) => {
      if (inner.type === "Identifier" && inner.name === `_${name}`) edits.push(inner.start);
    });
  });
  let out = text;
  for (const start of edits.sort((a, b) => b - a)) out = `${out.slice(0, start)} ${out.slice(start + 1)}`;
  return out;
}

if ((await readFile(join(outdir, "bin.js"), "utf8")).includes(CHUNK_URL))
  fail("dist/cli/bin.js is bundled already: run `npm run build` (tsc writes it anew, then this script bundles it).");
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
  banner: {
    js: `import { createRequire as createRequireForInlined } from "node:module"; const require = createRequireForInlined(import.meta.url); const ${CHUNK_URL} = import.meta.url;`,
  },
  define: { "import.meta.url": OWN_URL },
  chunkNames: "bin-chunk-[hash]",
  sourcemap: "linked",
  // NB: the maps point at src/ (tsc's maps, chained); they need not carry the sources (~3 MB more in the package).
  sourcesContent: false,
  logLevel: "warning",
  metafile: true,
  write: false,
  plugins: [externalPackages, ownUrls],
});

const inputs = Object.keys(result.metafile.inputs).map((input) => resolve(input));
const renamed = await renamedClasses(inputs, result.outputFiles);
if (renamed.length > 0)
  fail(
    `the bundle renamed classes that share a name with another module's: ${renamed.join(", ")}. Rename one of each pair in src/, since a class's name is read at run time.`,
  );
const notRedirected = Object.keys(WORKER_ENTRIES).filter((name) => !redirected.has(name));
if (notRedirected.length > 0) fail(`no module starts a thread on new URL("./…", import.meta.url) for ${notRedirected.join(", ")}: update WORKER_ENTRIES.`);
// NB: threads import the chunk that registers `pipeserve` (the index keeps its URL): an entry's would run that entry.
const indexOutput = Object.entries(result.metafile.outputs).find(([, output]) =>
  Object.keys(output.inputs).some((input) => resolve(input) === join(dist, "index.js")),
);
const entries = ["bin", ...Object.keys(WORKER_ENTRIES)].map((name) => join(outdir, `${name}.js`));
if (indexOutput === undefined || entries.includes(resolve(indexOutput[0])))
  fail(`the package index was bundled into the entry ${indexOutput?.[0]}: import it lazily (await import("../index.js")).`);
for (const file of result.outputFiles) await writeFile(file.path, file.path.endsWith(".js") ? unprefixSelfNamedClasses(file.text) : file.contents);
