// What each entry loads (issue 15, cold start): every command and the model code of `predict`
// import the package's index, so the libraries only serving, packaging, SQLite stores, Arrow I/O or
// a terminal progress bar need are loaded where they are used, not when the package is imported.
// The built bin and package run in real processes with a preload that lists every module they
// load: ES modules through a resolve hook, CommonJS ones from require.cache at exit.
import { spawn } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { BIN, REPO_ROOT, finished } from "../fixtures/cli.js";
import { SCALER_PROJECT, XS, tempDir, useBuiltBin, useTrainedModel, writeInput, xTable } from "../batch/helpers.js";

useBuiltBin();
const scaler = useTrainedModel(SCALER_PROJECT);

const LISTING = pathToFileURL(join(REPO_ROOT, "test", "fixtures", "list-modules.mjs")).href;
/** Only a server needs these. */
const SERVER = ["prom-client", "pino", "hono", "@hono/node-server"];
/** Only packaging, SQLite stores, Arrow/Parquet I/O and a terminal need these. */
const ELSEWHERE = ["esbuild", "better-sqlite3", "apache-arrow", "parquet-wasm", "cli-progress", "@grpc/grpc-js"];
/** Only Arrow metadata (flatbuffers) and CSV text that is not plain (csv-parse: quoted line breaks…) need these. */
const ON_DEMAND = ["flatbuffers", "csv-parse"];

/** The files of the modules a node process loaded — ES and CommonJS modules alike — running `args` with the listing. */
async function modulesLoaded(args: readonly string[]): Promise<string[]> {
  const list = join(await tempDir("pipeserve-modules-"), "modules.txt");
  const result = await finished(
    spawn(process.execPath, ["--import", LISTING, ...args], {
      cwd: REPO_ROOT,
      env: { ...process.env, PIPESERVE_MODULE_LIST: list },
      stdio: ["ignore", "ignore", "pipe"],
    }),
  );
  expect(result.code, result.stderr.toString()).toBe(0);
  return (await readFile(list, "utf8")).split("\n").filter((path) => path !== "");
}

/** The packages a node process loaded, by name, running `args` with the listing. */
async function packagesLoaded(args: readonly string[]): Promise<Set<string>> {
  return packageNames(await modulesLoaded(args));
}

/** The names of the packages (in node_modules) among modules' files. */
function packageNames(paths: readonly string[]): Set<string> {
  const names = new Set<string>();
  for (const path of paths) {
    const at = path.lastIndexOf("node_modules/");
    if (at < 0) continue;
    const [scope, name] = path.slice(at + "node_modules/".length).split("/");
    names.add(scope?.startsWith("@") ? `${scope}/${name}` : (scope as string));
  }
  return names;
}

describe.concurrent("libraries load where they are used", () => {
  it("import('pipeserve') loads no server, packaging, SQLite, Arrow or terminal library", async () => {
    const index = pathToFileURL(join(REPO_ROOT, "dist", "index.js")).href;
    const loaded = await packagesLoaded(["--input-type=module", "-e", `await import(${JSON.stringify(index)});`]);
    expect(loaded.has("yaml"), "the listing sees what the index loads").toBe(true);
    expect([...SERVER, ...ELSEWHERE, ...ON_DEMAND].filter((name) => loaded.has(name))).toEqual([]);
  });

  it("pipeserve --help loads no library: commander is bundled into the bin", async () => {
    const loaded = await packagesLoaded([BIN, "--help"]);
    expect([...loaded]).toEqual([]);
  });

  it("pipeserve predict of a CSV (no terminal) loads no server, packaging, SQLite, Arrow or progress-bar library", async () => {
    const dir = await tempDir("pipeserve-modules-");
    const input = await writeInput(join(dir, "xs.csv"), xTable(XS), "csv");
    const { modelUri, trackingDir } = scaler();
    const files = await modulesLoaded([BIN, "predict", "-m", modelUri, "--tracking-uri", trackingDir, "-i", input, "-o", join(dir, "out.csv")]);
    expect(files.filter((path) => path.includes("bin-chunk-")).length, "the listing sees what predict loads").toBeGreaterThan(1);
    const loaded = packageNames(files);
    expect([...SERVER, ...ELSEWHERE, ...ON_DEMAND].filter((name) => loaded.has(name))).toEqual([]);
  });

  it("pipeserve predict of a CSV with mixed line ends loads csv-parse, and reads every record", async () => {
    const dir = await tempDir("pipeserve-modules-");
    const { modelUri, trackingDir } = scaler();
    const plain = await readFile(await writeInput(join(dir, "plain.csv"), xTable(XS), "csv"), "utf8");
    // NB: \r\n after the header, \n after the records: text uDSV does not read alike (not plain).
    const [header, ...rows] = plain.trimEnd().split("\n");
    const input = join(dir, "mixed.csv");
    await writeFile(input, `${header}\r\n${rows.join("\n")}\n`);
    const output = join(dir, "out.csv");
    const loaded = await packagesLoaded([BIN, "predict", "-m", modelUri, "--tracking-uri", trackingDir, "-i", input, "-o", output]);
    expect(loaded.has("csv-parse")).toBe(true);
    expect((await readFile(output, "utf8")).trimEnd().split("\n")).toHaveLength(XS.length + 1);
  });
});

// The build bundles the bin (scripts/bundle-cli.mjs): a command compiles a few chunks, not the
// ~200 modules tsc writes and the ~35 of yaml, zod, commander and uDSV, which were a fifth of
// predict's and serve's start-up.
describe.concurrent("the built bin is bundled", () => {
  /** pipeserve's own modules a process loaded, as paths under dist/. */
  async function ownModules(args: readonly string[]): Promise<string[]> {
    const dist = pathToFileURL(join(REPO_ROOT, "dist")).href;
    return (await modulesLoaded(args))
      .map((path) => (path.startsWith("file:") ? path : pathToFileURL(path).href))
      .filter((url) => url.startsWith(`${dist}/`))
      .map((url) => url.slice(dist.length + 1));
  }
  const BUNDLE = /^cli\/bin(-chunk-[A-Z0-9]+)?\.js$/;

  it("pipeserve --help loads the bin's bundle alone", async () => {
    const own = await ownModules([BIN, "--help"]);
    expect(own).toContain("cli/bin.js");
    expect(own.filter((path) => !BUNDLE.test(path))).toEqual([]);
  });

  it("pipeserve predict loads the bundle's chunks, and no module tsc wrote", async () => {
    const dir = await tempDir("pipeserve-modules-");
    const input = await writeInput(join(dir, "xs.csv"), xTable(XS), "csv");
    const { modelUri, trackingDir } = scaler();
    const output = join(dir, "out.csv");
    const own = await ownModules([BIN, "predict", "-m", modelUri, "--tracking-uri", trackingDir, "-i", input, "-o", output]);
    expect(own.filter((path) => BUNDLE.test(path)).length).toBeGreaterThan(1);
    expect(own.filter((path) => !BUNDLE.test(path))).toEqual([]);
    expect((await readFile(output, "utf8")).trimEnd().split("\n")).toHaveLength(XS.length + 1);
  });

  it("pipeserve predict --workers 2: its threads start on the bundled entry and share the bundle's chunks", async () => {
    const dir = await tempDir("pipeserve-modules-");
    const input = await writeInput(join(dir, "xs.csv"), xTable(XS), "csv");
    const { modelUri, trackingDir } = scaler();
    const output = join(dir, "out.csv");
    // NB: chunks of 5 rows, so the 20 rows make 4 jobs and the threads start.
    const args = ["predict", "-m", modelUri, "--tracking-uri", trackingDir, "-i", input, "-o", output, "--workers", "2", "--chunk-rows", "5"];
    const own = await ownModules([BIN, ...args]);
    expect(own).toContain("cli/chunk-worker-entry.js");
    expect(own.filter((path) => !BUNDLE.test(path) && path !== "cli/chunk-worker-entry.js")).toEqual([]);
    const single = join(dir, "single.csv");
    const result = await finished(spawn(process.execPath, [BIN, ...args.slice(0, 8), single], { cwd: REPO_ROOT, stdio: ["ignore", "ignore", "pipe"] }));
    expect(result.code, result.stderr.toString()).toBe(0);
    expect(await readFile(output, "utf8")).toBe(await readFile(single, "utf8"));
  });
});
