// Shared helpers for the batch suite: the fixture models trained once per file into a temp
// tracking dir, input files in every format, outputs decoded back with the tabular API, the
// expected scaler predictions computed by hand from the artifacts, and `pipeserve` run in-process
// (or, for signals and pipes, as the built bin in a real child process).
import type { ChildProcess } from "node:child_process";
import { mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, expect } from "vitest";
import { FileStore, decodeTable, readTableFile, runProject, tableFromRecords, tableToRecords, writeTableFile, type ColumnTable } from "../../src/index.js";
import { encodeArrowIpc, loadParquetWasm, parquetFileRowGroups, toArrow, toJsonValue } from "../../src/tabular/index.js";
import { finished, runMain, spawnBin } from "../fixtures/cli.js";
import { loggedModelDir } from "../fixtures/model-dir.js";

export { BIN, ensureBuilt, useBuiltBin } from "../fixtures/cli.js";

export const ROOT = fileURLToPath(new URL("../..", import.meta.url));
export const SCALER_PROJECT = join(ROOT, "test/fixtures/projects/scaler");
/**
 * The scaler project over plain columns: the same predictions, with no DataFrame library to load
 * (~3 s of CPU in each child process that loads danfojs). For tests of reading and writing.
 */
export const SCALER_COLUMNS_PROJECT = join(ROOT, "test/fixtures/projects/scaler-columns");
/** Not row-wise: each output depends on the whole batch (x minus the batch mean). */
export const CENTERER_PROJECT = join(ROOT, "test/fixtures/projects/centerer");

/** The formats `pipeserve predict` reads and writes. */
export const FORMATS = ["csv", "json", "jsonl", "parquet", "arrow"] as const;
export type Format = (typeof FORMATS)[number];

/**
 * 20 inputs straddling the scaler's cut (so labels differ), with fractions so every format keeps
 * `x` a double. x = 3 flips from 1 to 0 between margin 0 and margin 1.
 */
export const XS = [0.5, 3.5, 4.25, -1.5, 2.75, 1.125, 5.5, 0.25, 3.0625, 2.5, -0.75, 1.875, 4.5, 0.0625, 2.125, 3.375, -2.25, 1.5, 6.5, 2.9375];

const tempDirs: string[] = [];

/** A fresh temp dir, removed when the file's tests are done. */
export async function tempDir(prefix = "pipeserve-batch-"): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  tempDirs.push(dir);
  return dir;
}

afterAll(async () => {
  await Promise.all(tempDirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

export interface TrainedModel {
  trackingDir: string;
  /** `runs:/<id>/model` */
  modelUri: string;
  /** The model directory inside the run's artifacts. */
  modelDir: string;
}

/** Trains a fixture project's `training` pipeline into a new temp tracking dir. */
export async function train(projectDir: string): Promise<TrainedModel> {
  const trackingDir = await tempDir("pipeserve-batch-tracking-");
  const result = await runProject({ projectDir, pipelineName: "training", trackingUri: trackingDir });
  if (!result.modelUri) throw new Error(`${projectDir} packaged no model`);
  const store = await FileStore.open(trackingDir);
  return { trackingDir, modelUri: result.modelUri, modelDir: await loggedModelDir(store.root, result.runId) };
}

/** Trains a fixture once for the calling file (in `beforeAll`); the getter works inside tests. */
export function useTrainedModel(projectDir: string): () => TrainedModel {
  let trained: TrainedModel | undefined;
  beforeAll(async () => {
    trained = await train(projectDir);
  });
  return () => {
    if (!trained) throw new Error("useTrainedModel: the model exists only once beforeAll has run");
    return trained;
  };
}

/** What the scaler model must answer for `xs`, computed from its artifacts by hand. */
export async function expectedScaler(modelDir: string, xs: readonly number[], margin = 0): Promise<ColumnTable> {
  const scaler = JSON.parse(await readFile(join(modelDir, "artifacts", "scaler.json"), "utf8")) as { mean: number; std: number };
  const model = JSON.parse(await readFile(join(modelDir, "artifacts", "model.json"), "utf8")) as { cut: number };
  const z = xs.map((x) => (x - scaler.mean) / scaler.std);
  return { names: ["label", "score"], columns: [z.map((v) => (v > model.cut + margin ? 1 : 0)), z.map((v) => v - model.cut)], numRows: xs.length };
}

/** What the centerer model must answer for `xs` predicted as one batch. */
export async function expectedCenterer(modelDir: string, xs: readonly number[]): Promise<ColumnTable> {
  const { std } = JSON.parse(await readFile(join(modelDir, "artifacts", "spread.json"), "utf8")) as { std: number };
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  return { names: ["centered"], columns: [xs.map((x) => (x - mean) / std)], numRows: xs.length };
}

export const xTable = (xs: readonly number[]): ColumnTable => ({ names: ["x"], columns: [[...xs]], numRows: xs.length });

/**
 * Writes `table` as a Parquet file with row groups of `groupRows` rows. NB: pipeserve's own writer
 * (and parquet-wasm's stream writer under it) gathers small chunks into row groups of up to
 * 1 Mi rows, so writing a few rows at a time does not make a group of each.
 */
export async function writeParquetGroups(path: string, table: ColumnTable, groupRows: number): Promise<void> {
  const pq = loadParquetWasm();
  const properties = new pq.WriterPropertiesBuilder().setMaxRowGroupSize(groupRows).build();
  await writeFile(path, pq.writeParquet(pq.Table.fromIPCStream(encodeArrowIpc(toArrow(table), "stream")), properties));
  const groups = await parquetFileRowGroups(path);
  expect(groups, "row groups of the Parquet file written").toEqual(
    Array.from({ length: Math.ceil(table.numRows / groupRows) }, (_, i) => Math.min(groupRows, table.numRows - i * groupRows)),
  );
}

/** How a `json` input is written: MLflow's `dataframe_split` request body, or a bare array of records. */
export type JsonInputForm = "dataframe_split" | "records";

/** Writes `table` as an input file of `format` (JSON as an MLflow request body unless `records`). */
export async function writeInput(
  path: string,
  table: ColumnTable,
  format: Format | "arrows",
  jsonForm: JsonInputForm = "dataframe_split",
  params?: Record<string, unknown>,
): Promise<string> {
  if (format !== "json") {
    await writeTableFile(path, table, format);
    return path;
  }
  const body =
    jsonForm === "records"
      ? toJsonValue(tableToRecords(table))
      : {
          dataframe_split: { columns: table.names, data: Array.from({ length: table.numRows }, (_, r) => table.columns.map((c) => c[r])) },
          ...(params ? { params } : {}),
        };
  await writeFile(path, JSON.stringify(body));
  return path;
}

/** Decodes a predictions output: the table formats with the tabular API, `json` as MLflow's `{"predictions": [...]}`. */
export function decodeOutput(bytes: Uint8Array | string, format: Format): ColumnTable {
  if (format !== "json") return decodeTable(typeof bytes === "string" ? Buffer.from(bytes) : bytes, format);
  const value = JSON.parse(Buffer.from(bytes).toString("utf8")) as { predictions?: unknown };
  expect(Object.keys(value), "MLflow's JSON output is an object with one key, predictions").toEqual(["predictions"]);
  expect(Array.isArray(value.predictions)).toBe(true);
  return tableFromRecords(value.predictions as Record<string, unknown>[]);
}

/** Reads a predictions output file. */
export async function readOutput(path: string, format: Format | "arrows"): Promise<ColumnTable> {
  if (format !== "json") return readTableFile(path, format);
  return decodeOutput(await readFile(path), format);
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: Buffer;
  stderr: string;
}

export interface CliOptions {
  stdin?: string | Uint8Array;
  cwd?: string;
  /** The whole environment an in-process run sees (none by default). */
  env?: Record<string, string | undefined>;
}

/** Runs `pipeserve ...args` in-process (`main` with its own io), to completion. */
export async function runCli(args: readonly string[], options: CliOptions = {}): Promise<CliResult> {
  const r = await runMain(args, options);
  return { code: r.code, signal: null, stdout: r.stdout, stderr: r.stderr.toString("utf8") };
}

/** Starts the built bin as a real child process (for signals and pipes), stdin piped and ended. */
export function startCli(args: readonly string[], options: CliOptions = {}): { child: ChildProcess; done: Promise<CliResult> } {
  const child = spawnBin(args, { ...(options.cwd ? { cwd: options.cwd } : {}), ...(options.env ? { env: options.env } : {}), stdio: ["pipe", "pipe", "pipe"] });
  const done = finished(child).then((r) => ({ ...r, stderr: r.stderr.toString("utf8") }));
  child.stdin?.end(options.stdin ?? "");
  return { child, done };
}

/** Runs the built bin to completion in a real child process. */
export function runBinCli(args: readonly string[], options: CliOptions = {}): Promise<CliResult> {
  return startCli(args, options).done;
}

/** A failed run: checks the exit code and that stderr holds every message part. */
export function expectFailure(result: CliResult, code: number, ...messages: (string | RegExp)[]): void {
  expect(result.code, `exit code (stderr: ${result.stderr})`).toBe(code);
  for (const m of messages) {
    if (typeof m === "string") expect(result.stderr).toContain(m);
    else expect(result.stderr).toMatch(m);
  }
}

/** A successful run: exit code 0 and the one-line summary on stderr. */
export function expectSuccess(result: CliResult): void {
  expect(result.code, `exit code (stderr: ${result.stderr})`).toBe(0);
  expect(result.stderr).toMatch(/pipeserve: read \d+ rows, wrote \d+ predictions in [\d.]+ s \(\d+ rows\/s(, \d+ threads)?\)/);
}

/** `pipeserve predict` of a trained model as the built bin, with `args` after the model's. */
export function predictBin(model: TrainedModel, args: readonly string[]): Promise<CliResult> {
  return runBinCli(["predict", "-m", model.modelUri, "--tracking-uri", model.trackingDir, ...args]);
}

/**
 * Writes `text` as the input file `inputName` and predicts it with --workers 1 and 2 (and `extra`)
 * side by side, each into `out.csv` in a folder of its own: what one thread does against two.
 */
/**
 * Predicts `text`, a file whose one "Dré" is written in Latin-1, with --workers 1 and 2: both must
 * stop naming its line (threads give such a block back to the one pass), and write nothing.
 */
export async function expectLatin1Refused(model: TrainedModel, inputName: string, text: string): Promise<void> {
  const line = text.slice(0, text.indexOf("Dr\u00e9")).split("\n").length;
  const { one, two, dirs } = await predictOneAndTwoThreads(model, inputName, Buffer.from(text, "latin1"));
  expectFailure(one, 1, `is not valid UTF-8: line ${line} holds bytes UTF-8 does not allow (E9`, "iconv -f latin1 -t utf-8");
  expect(two.code).toBe(1);
  expect(two.stderr).toBe(one.stderr);
  expect(await readdir(dirs[0])).toEqual([]);
  expect(await readdir(dirs[1])).toEqual([]);
}

export async function predictOneAndTwoThreads(
  model: TrainedModel,
  inputName: string,
  text: string | Uint8Array,
  extra: readonly string[] = [],
): Promise<{ one: CliResult; two: CliResult; dirs: [string, string] }> {
  const input = join(await tempDir("pipeserve-workers-in-"), inputName);
  await writeFile(input, text);
  const dirs = [await tempDir("pipeserve-workers-1-"), await tempDir("pipeserve-workers-2-")] as [string, string];
  const [one, two] = (await Promise.all(
    dirs.map((out, i) => predictBin(model, ["-i", input, "-o", join(out, "out.csv"), "--workers", String(i + 1), ...extra])),
  )) as [CliResult, CliResult];
  return { one, two, dirs };
}
