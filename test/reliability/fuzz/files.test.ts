/**
 * Fuzzing the file readers of `pipeserve predict` (issue 14): generated bad CSV, JSON, JSON Lines,
 * Parquet and Arrow files through `predictFile` with real packaged models — a row-wise model read
 * chunk by chunk (chunks of 1 to 5 rows, so chunk edges fall everywhere), a DataFrame model read
 * whole, and one without a signature — writing every output format, stopping or skipping bad rows,
 * in shards or whole, with progress (which counts a Parquet file's rows from its footer first) or not.
 * Each run ends, in time, with predictions or with a typed pipeserve error carrying a message:
 * never another exception, an unhandled rejection, a hang or a crash; and a failed run leaves
 * no output, partial or errors file behind.
 */
import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, it } from "vitest";
import { PipeserveError, type PipelineModel } from "../../../src/index.js";
import { predictFile } from "../../../src/batch/index.js";
import { SIGNATURES, buildModel } from "../../server/fixtures/models.js";
import { bytesOf, invocationsBody, jsonText, mutate, mutations } from "./json-arbitraries.js";
import { PARQUET_CORPUS, fuzzParameters, fuzzSeed, type PropertyName } from "./settings.js";
import { arrowBytes, csvText, jsonLinesText, parquetBytes, parquetCorpus } from "./table-arbitraries.js";
import { HANG_MS, hang, trying, useWatchdog } from "./watchdog.js";

useWatchdog();

const models: Record<string, PipelineModel> = {};
let root: string;
let runs = 0;
/** Errors nobody caught while a run was going on. */
const unhandled: unknown[] = [];
const onUnhandled = (error: unknown): void => {
  unhandled.push(error);
};

beforeAll(async () => {
  models["rowwise"] = await buildModel("row_sum_ndarray", SIGNATURES.ab, { rowWise: true });
  models["whole"] = await buildModel("echo", SIGNATURES.ab);
  models["untyped"] = await buildModel("echo", null);
  root = await mkdtemp(join(tmpdir(), "pipeserve-fuzz-files-"));
  process.on("unhandledRejection", onUnhandled);
  process.on("uncaughtException", onUnhandled);
}, 120_000);

afterAll(async () => {
  process.off("unhandledRejection", onUnhandled);
  process.off("uncaughtException", onUnhandled);
  await rm(root, { recursive: true, force: true });
});

/** How one run is made: which model, the output's format, the chunk size, what a bad row does, a shard, progress (which counts the rows first). */
const runOptions = fc.record({
  model: fc.constantFrom("rowwise", "whole", "untyped"),
  output: fc.constantFrom("csv", "json", "jsonl", "parquet", "arrow"),
  chunkRows: fc.option(fc.integer({ min: 1, max: 5 }), { nil: undefined }),
  onError: fc.constantFrom("fail" as const, "skip" as const),
  shard: fc.option(
    fc.integer({ min: 1, max: 3 }).chain((count) => fc.record({ index: fc.integer({ min: 1, max: count }), count: fc.constant(count) })),
    { freq: 4, nil: undefined },
  ),
  progress: fc.boolean(),
});

type RunOptions = typeof runOptions extends fc.Arbitrary<infer T> ? T : never;

/** Text damaged 1 time in 3. */
function damaged(text: fc.Arbitrary<string>): fc.Arbitrary<Uint8Array> {
  return fc.tuple(text, fc.option(mutations, { freq: 2, nil: undefined })).map(([t, steps]) => (steps ? mutate(bytesOf(t), steps) : bytesOf(t)));
}

/** No settling within this long is a hang (one the event loop survives: the watchdog sees the others). */
function orHang<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      hang.note();
      reject(new Error(`predictFile did not end within ${HANG_MS / 1000} s: a hang (${what})`));
    }, HANG_MS);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

/**
 * Predicts one generated input file and checks the outcome: predictions written, or a
 * PipeserveError with a message and nothing left behind; never another error, and no error
 * that no one caught.
 */
async function predictOne(extension: string, bytes: Uint8Array, options: RunOptions): Promise<void> {
  if (hang.seen) return;
  const dir = join(root, String(runs++));
  const out = join(dir, "out");
  await mkdir(out, { recursive: true });
  const input = join(dir, `input.${extension}`);
  await writeFile(input, bytes);
  const what = `${extension} file → ${options.model} model, ${JSON.stringify(options)}, input base64: ${Buffer.from(bytes).toString("base64").slice(0, 20_000)}`;
  trying(`predictFile: ${what}`);
  if (process.env["FUZZ_TRACE"]) console.error("TRACE start", what.slice(0, 20_300));
  const output = join(out, `predictions.${options.output}`);
  unhandled.length = 0;
  let failure: unknown;
  try {
    await orHang(
      predictFile(models[options.model] as PipelineModel, {
        input,
        output,
        onError: options.onError,
        ...(options.chunkRows !== undefined ? { chunkRows: options.chunkRows } : {}),
        ...(options.shard !== undefined ? { shard: options.shard } : {}),
        ...(options.progress ? { onProgress: () => undefined } : {}),
      }),
      what,
    );
  } catch (error) {
    failure = error;
  }
  // NB: an error thrown on a later turn by something the run left going.
  await new Promise((resolve) => setImmediate(resolve));
  if (unhandled.length > 0) throw new Error(`an error no one caught: ${String(unhandled[0])}\n${what}`, { cause: unhandled[0] });
  const left = await readdir(out);
  if (failure !== undefined) {
    if (!(failure instanceof PipeserveError)) throw new Error(`not a pipeserve error: ${String(failure)}\n${what}`, { cause: failure });
    if (failure.message.trim() === "") throw new Error(`a ${failure.name} without a message\n${what}`);
    if (left.length > 0) throw new Error(`a failed run left ${left.join(", ")} behind\n${what}`);
  } else if (!left.includes(`predictions.${options.output}`)) {
    throw new Error(`a run that succeeded wrote no output (only ${left.join(", ") || "nothing"})\n${what}`);
  }
  await rm(dir, { recursive: true, force: true });
}

function fileProperty(name: PropertyName, extension: fc.Arbitrary<string>, bytes: fc.Arbitrary<Uint8Array>): Promise<void> {
  return fc.assert(
    fc.asyncProperty(extension, bytes, runOptions, (ext, b, options) => predictOne(ext, b, options)),
    fuzzParameters(name),
  );
}

describe("predictFile over generated bad files: predictions or a typed error, never a crash or a hang", () => {
  it("CSV", async () => {
    await fileProperty("files csv", fc.constant("csv"), damaged(csvText));
  });

  it("JSON: MLflow request bodies and arrays of row objects", async () => {
    const json = fc.oneof(
      invocationsBody.map(jsonText),
      fc.array(fc.dictionary(fc.constantFrom("a", "b", "c"), fc.jsonValue({ maxDepth: 1 })), { maxLength: 6 }).map(jsonText),
    );
    await fileProperty("files json", fc.constant("json"), damaged(json));
  });

  it("JSON Lines", async () => {
    await fileProperty("files jsonl", fc.constantFrom("jsonl", "ndjson"), damaged(jsonLinesText));
  });

  it("Parquet", { timeout: 600_000 }, async () => {
    await fileProperty("files parquet", fc.constantFrom("parquet", "pq"), parquetBytes(await parquetCorpus(PARQUET_CORPUS, fuzzSeed())));
  });

  it("Arrow IPC files and streams, under either extension", async () => {
    await fc.assert(
      fc.asyncProperty(arrowBytes, fc.boolean(), runOptions, ({ bytes, format }, swap, options) =>
        predictOne((format === "file") !== swap ? "arrow" : "arrows", bytes, options),
      ),
      fuzzParameters("files arrow"),
    );
  });
});
