// predictFile, the library under `pipeserve predict`: every input format into every output
// format, stdin, params and runners, bad rows stopped or set aside, outputs that appear only when
// complete, shards that add up to the whole, chunked runs equal to whole-file runs, and a model
// that is not row-wise read whole.
import { readdirSync } from "node:fs";
import { readdir, readFile, writeFile } from "node:fs/promises";
import { availableParallelism } from "node:os";
import { dirname, join } from "node:path";
import { PassThrough, Readable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  BatchError,
  FormatError,
  RunnerNotAllowedError,
  SchemaError,
  encodeTable,
  loadModel,
  predictFile,
  type ColumnTable,
  type PipelineModel,
  type PredictFileOptions,
} from "../../src/index.js";
import { ChunkWorkerPool } from "../../src/batch/chunk-worker-pool.js";
import { FileAccessError, concatTables, sliceTable } from "../../src/tabular/index.js";
import {
  CENTERER_PROJECT,
  FORMATS,
  SCALER_PROJECT,
  XS,
  expectedCenterer,
  expectedScaler,
  readOutput,
  tempDir,
  useTrainedModel,
  writeInput,
  xTable,
  type Format,
} from "./helpers.js";

const scalerTrained = useTrainedModel(SCALER_PROJECT);
const centererTrained = useTrainedModel(CENTERER_PROJECT);
let scaler: PipelineModel;
let centerer: PipelineModel;
let dir: string;
/** The 20 XS as an input file of each format (JSON as an MLflow `dataframe_split` body). */
const inputs = {} as Record<Format, string>;

beforeAll(async () => {
  scaler = await loadModel(scalerTrained().modelUri, { trackingUri: scalerTrained().trackingDir });
  centerer = await loadModel(centererTrained().modelUri, { trackingUri: centererTrained().trackingDir });
  dir = await tempDir();
  for (const format of FORMATS) inputs[format] = await writeInput(join(dir, `xs.${format}`), xTable(XS), format);
});
afterAll(async () => {
  await scaler?.close();
  await centerer?.close();
});

const expected = (margin = 0, xs: readonly number[] = XS): Promise<ColumnTable> => expectedScaler(scalerTrained().modelDir, xs, margin);

/** A fresh output path of `format` in its own dir (so leftovers can be listed). */
async function outPath(format: Format, name = "out"): Promise<string> {
  return join(await tempDir("pipeserve-batch-out-"), `${name}.${format}`);
}

/** Awaits `promise`, expects a rejection of class `cls` whose message holds every part, and returns it. */
async function rejects<E extends Error>(promise: Promise<unknown>, cls: abstract new (...args: never[]) => E, ...messages: (string | RegExp)[]): Promise<E> {
  let thrown: unknown;
  try {
    await promise;
  } catch (error) {
    thrown = error;
  }
  expect(thrown, "expected a rejection").toBeInstanceOf(cls);
  const error = thrown as E;
  for (const m of messages) {
    if (typeof m === "string") expect(error.message).toContain(m);
    else expect(error.message).toMatch(m);
  }
  return error;
}

/** The files in `path`'s directory. */
async function filesBeside(path: string): Promise<string[]> {
  return (await readdir(join(path, ".."))).sort();
}

const predict = (options: PredictFileOptions, model: PipelineModel = scaler) => predictFile(model, options);

describe("every input format into every output format", () => {
  const pairs = FORMATS.flatMap((input) => FORMATS.map((output) => [input, output] as const));

  it.each(pairs)("%s → %s", async (inputFormat, outputFormat) => {
    const output = await outPath(outputFormat);
    const result = await predict({ input: inputs[inputFormat], output, chunkRows: 6 });
    expect(await readOutput(output, outputFormat)).toEqual(await expected());
    expect(result).toMatchObject({ rowsRead: 20, rowsWritten: 20, rowsSkipped: 0, chunked: inputFormat !== "json" });
    expect(await filesBeside(output), "nothing but the output is left").toEqual([`out.${outputFormat}`]);
  });

  it.each([
    ["a bare array of records", "records" as const],
    ["an MLflow dataframe_split body", "dataframe_split" as const],
  ])("JSON input as %s", async (_why, form) => {
    const input = await writeInput(join(await tempDir(), "in.json"), xTable(XS), "json", form);
    const output = await outPath("csv");
    await predict({ input, output });
    expect(await readOutput(output, "csv")).toEqual(await expected());
  });

  it.each([
    ["dataframe_records", { dataframe_records: XS.map((x) => ({ x })) }],
    ["inputs (columns)", { inputs: { x: XS } }],
  ])("JSON input as an MLflow %s body", async (_why, body) => {
    const input = join(await tempDir(), "in.json");
    await writeFile(input, JSON.stringify(body));
    const output = await outPath("jsonl");
    await predict({ input, output });
    expect(await readOutput(output, "jsonl")).toEqual(await expected());
  });

  it("the formats can be named instead of implied by the extensions", async () => {
    const input = join(await tempDir(), "data.txt");
    await writeFile(input, await readFile(inputs.parquet));
    const output = join(await tempDir(), "predictions.bin");
    await predict({ input, output, inputFormat: "parquet", outputFormat: "arrow" });
    expect(await readOutput(output, "arrow")).toEqual(await expected());
  });

  it.each([
    ["an input", "data.txt", "out.csv", "data.txt"],
    ["an output", "xs.csv", "out.xyz", "out.xyz"],
  ])("%s whose extension names no format → FormatError listing the known extensions", async (_why, input, output, named) => {
    const d = await tempDir();
    await writeFile(join(d, input), "x\n1.5\n");
    await rejects(predict({ input: join(d, input), output: join(d, output) }), FormatError, `Cannot tell the format of "${named}"`, ".csv, .json, .jsonl");
    expect(await readdir(d)).toEqual([input]);
  });

  it("an empty CSV (a header only) gives an empty output with the output's columns", async () => {
    const input = join(await tempDir(), "empty.csv");
    await writeFile(input, "x\n");
    const output = await outPath("parquet");
    expect(await predict({ input, output })).toMatchObject({ rowsRead: 0, rowsWritten: 0 });
    expect(await readOutput(output, "parquet")).toMatchObject({ names: ["label", "score"], numRows: 0 });
  });
});

describe("stdin", () => {
  it.each([
    ["csv", (t: ColumnTable) => encodeTable(t, "csv")],
    ["jsonl", (t: ColumnTable) => encodeTable(t, "jsonl")],
    ["arrow", (t: ColumnTable) => encodeTable(t, "arrows")],
    ["json", (t: ColumnTable) => JSON.stringify({ dataframe_split: { columns: ["x"], data: Array.from(t.columns[0] ?? [], (x) => [x]) } })],
  ] as const)("input - reads %s from the given stream", async (format, encode) => {
    const output = await outPath("csv");
    const stdin = Readable.from([Buffer.from(encode(xTable(XS)))]);
    const result = await predict({ input: "-", inputFormat: format, output, stdin, chunkRows: 7 });
    expect(await readOutput(output, "csv")).toEqual(await expected());
    expect(result.rowsRead).toBe(20);
  });

  it("stdin without a format is read as JSON, as `mlflow models predict` reads it", async () => {
    const output = await outPath("csv");
    const body = JSON.stringify({ dataframe_split: { columns: ["x"], data: XS.map((x) => [x]) } });
    const result = await predict({ input: "-", output, stdin: Readable.from([Buffer.from(body)]) });
    expect(await readOutput(output, "csv")).toEqual(await expected());
    expect(result.rowsRead).toBe(20);
  });

  it.each([
    ["Parquet", { inputFormat: "parquet" as const }, "Parquet cannot be read from stdin (its footer is at the end); pass a file."],
    ["a shard", { inputFormat: "csv" as const, shard: { index: 1, count: 2 } }, "--shard needs a file input, not stdin."],
  ])("stdin with %s → BatchError USAGE", async (_why, extra, message) => {
    const output = await outPath("csv");
    const error = await rejects(predict({ input: "-", output, stdin: Readable.from(["x\n1\n"]), ...extra }), BatchError, message);
    expect(error.code).toBe("USAGE");
    expect(await filesBeside(output)).toEqual([]);
  });
});

describe("params and runner", () => {
  it("the margin makes a difference for these inputs (so the checks below mean something)", async () => {
    expect((await expected(5)).columns[0]).not.toEqual((await expected(0)).columns[0]);
    expect((await expected(1)).columns[0]).not.toEqual((await expected(0)).columns[0]);
  });

  it("params reach the model: margin 5 changes the labels", async () => {
    const output = await outPath("csv");
    await predict({ input: inputs.csv, output, params: { margin: 5 }, chunkRows: 7 });
    expect(await readOutput(output, "csv")).toEqual(await expected(5));
  });

  it("a JSON body's own params are used when none are given, and given params win over them", async () => {
    const input = await writeInput(join(await tempDir(), "in.json"), xTable(XS), "json", "dataframe_split", { margin: 1 });
    const fromBody = await outPath("csv");
    await predict({ input, output: fromBody });
    expect(await readOutput(fromBody, "csv")).toEqual(await expected(1));
    const given = await outPath("csv");
    await predict({ input, output: given, params: { margin: 5 } });
    expect(await readOutput(given, "csv")).toEqual(await expected(5));
  });

  it("a bad param value → SchemaError 'Invalid parameters found' (not a bad row), and no output", async () => {
    const output = await outPath("csv");
    const error = await rejects(
      predict({ input: inputs.csv, output, params: { margin: "x" } }),
      SchemaError,
      /^Invalid parameters found: /,
      "Failed to validate type and shape for 'margin'",
      'got "x" (a string)',
    );
    expect(error.message).not.toContain("bad input row");
    expect(await filesBeside(output)).toEqual([]);
  });

  it.each(["SequentialRunner", "ConcurrentRunner", "WorkerRunner"])("runner %s gives the same output", async (runner) => {
    const output = await outPath("jsonl");
    await predict({ input: inputs.csv, output, runner, chunkRows: 10 });
    expect(await readOutput(output, "jsonl")).toEqual(await expected());
  });

  it("a runner off the allow-list (a module path) → RunnerNotAllowedError naming the allowed ones, and no output", async () => {
    const output = await outPath("csv");
    await rejects(
      predict({ input: inputs.csv, output, runner: "../evil.mjs#X" }),
      RunnerNotAllowedError,
      '"../evil.mjs#X" is not allowed',
      "SequentialRunner, ConcurrentRunner, WorkerRunner",
    );
    expect(await filesBeside(output)).toEqual([]);
  });
});

describe("bad rows", () => {
  /** 50 rows, x = i/10, with "abc" at row 38 (1-based) and, when asked, a run of bad rows 44–50. */
  const BAD_AT = 38;
  const goodXs = (tail: boolean): number[] => Array.from({ length: 50 }, (_, i) => i / 10).filter((_, i) => i !== BAD_AT - 1 && !(tail && i >= 43));
  let badCsv: string;
  let badJsonl: string;
  let manyBadCsv: string;

  beforeAll(async () => {
    const d = await tempDir();
    const cell = (i: number, tail: boolean): string => (i === BAD_AT - 1 ? "abc" : tail && i >= 43 ? "" : String(i / 10));
    badCsv = join(d, "bad.csv");
    await writeFile(badCsv, ["x", ...Array.from({ length: 50 }, (_, i) => cell(i, false))].join("\n") + "\n");
    manyBadCsv = join(d, "many-bad.csv");
    await writeFile(manyBadCsv, ["x", ...Array.from({ length: 50 }, (_, i) => (cell(i, true) === "" ? "oops" : cell(i, true)))].join("\n") + "\n");
    badJsonl = join(d, "bad.jsonl");
    await writeFile(badJsonl, Array.from({ length: 50 }, (_, i) => JSON.stringify({ x: i === BAD_AT - 1 ? "abc" : i / 10 })).join("\n") + "\n");
  });

  it.each([
    ["CSV, chunks of 7", "csv", 7],
    ["CSV, one chunk", "csv", 1000],
    ["JSON Lines, chunks of 7", "jsonl", 7],
    ["JSON Lines, one chunk", "jsonl", 1000],
  ] as const)("fail (default), %s: BatchError BAD_ROW naming row 38 and column x; no output, no leftovers", async (_why, format, chunkRows) => {
    for (const outFormat of ["csv", "parquet"] as const) {
      const output = await outPath(outFormat);
      const error = await rejects(
        predict({ input: format === "csv" ? badCsv : badJsonl, output, chunkRows }),
        BatchError,
        "Stopped at a bad input row (rows counted from 1, header excluded)",
        "column x",
        `row ${BAD_AT} holds "abc"`,
        "Use --on-error skip",
      );
      expect(error.code).toBe("BAD_ROW");
      expect(error.cause).toBeInstanceOf(FormatError);
      expect(await filesBeside(output)).toEqual([]);
    }
  });

  it("fail leaves an earlier output under the name untouched", async () => {
    const output = await outPath("csv");
    await writeFile(output, "earlier\n");
    await rejects(predict({ input: badCsv, output, chunkRows: 7 }), BatchError, `row ${BAD_AT}`);
    expect(await readFile(output, "utf8")).toBe("earlier\n");
    expect(await filesBeside(output)).toEqual(["out.csv"]);
  });

  it("JSON Lines: lines without the model's key are bad rows of their own, set aside with skip, even a whole chunk of them", async () => {
    const input = join(await tempDir(), "keys.jsonl");
    await writeFile(input, '{"y": 1}\n{"y": 2}\n{"x": 0.5}\n');
    const output = await outPath("csv");
    const result = await predict({ input, output, onError: "skip", chunkRows: 2 });
    expect(result).toMatchObject({ rowsRead: 3, rowsWritten: 1, rowsSkipped: 2 });
  });

  it("a missing column → BatchError naming it", async () => {
    const input = join(await tempDir(), "nocol.csv");
    await writeFile(input, "y\n1\n");
    const output = await outPath("csv");
    await rejects(predict({ input, output }), BatchError, "Model is missing inputs ['x']");
    expect(await filesBeside(output)).toEqual([]);
  });

  it.each([
    ["CSV", "csv", 7],
    ["JSON Lines", "jsonl", 7],
    ["CSV, one chunk", "csv", 1000],
  ] as const)("skip, %s: the good rows predicted, the bad one in OUTPUT.errors.jsonl with its row and error", async (_why, format, chunkRows) => {
    const output = await outPath("csv");
    const result = await predict({ input: format === "csv" ? badCsv : badJsonl, output, chunkRows, onError: "skip" });
    expect(await readOutput(output, "csv")).toEqual(await expected(0, goodXs(false)));
    expect(result).toMatchObject({ rowsRead: 50, rowsWritten: 49, rowsSkipped: 1, errorsFile: `${output}.errors.jsonl` });
    const lines = (await readFile(`${output}.errors.jsonl`, "utf8"))
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toEqual([
      {
        row: BAD_AT,
        error: expect.stringContaining(`Failed to convert column x to type 'float64'. Column x is double: row ${BAD_AT} holds "abc"`),
        data: { x: "abc" },
      },
    ]);
  });

  it("skip with bad rows in several chunks, one chunk all bad: rows numbered across chunks, output in order", async () => {
    const output = await outPath("json");
    const result = await predict({ input: manyBadCsv, output, chunkRows: 7, onError: "skip" });
    expect(await readOutput(output, "json")).toEqual(await expected(0, goodXs(true)));
    const rows = (await readFile(`${output}.errors.jsonl`, "utf8"))
      .trim()
      .split("\n")
      .map((l) => (JSON.parse(l) as { row: number }).row);
    expect(rows).toEqual([38, 44, 45, 46, 47, 48, 49, 50]);
    expect(result.rowsSkipped).toBe(8);
  });

  it("--row-number with skip: each prediction keeps its input row number, the numbers errors.jsonl leaves out", async () => {
    const output = await outPath("csv");
    await predict({ input: manyBadCsv, output, chunkRows: 7, onError: "skip", rowNumberColumn: "row" });
    const out = await readOutput(output, "csv");
    const want = await expected(0, goodXs(true));
    expect(out.names).toEqual(["row", ...want.names]);
    expect(out.columns.slice(1)).toEqual(want.columns);
    const bad = (await readFile(`${output}.errors.jsonl`, "utf8"))
      .trim()
      .split("\n")
      .map((l) => (JSON.parse(l) as { row: number }).row);
    const numbered = out.columns[0] as number[];
    expect(numbered).toEqual(Array.from({ length: 50 }, (_, i) => i + 1).filter((n) => !bad.includes(n)));
    expect([...numbered, ...bad].sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
  });

  it("--row-number in a shard numbers rows in the whole file; a name the predictions use is refused", async () => {
    const output = await outPath("jsonl");
    await predict({ input: inputs.csv, output, shard: { index: 2, count: 2 }, chunkRows: 3, rowNumberColumn: "input_row" });
    const out = await readOutput(output, "jsonl");
    expect(out.names[0]).toBe("input_row");
    expect(out.columns[0]).toEqual(Array.from({ length: 10 }, (_, i) => i + 11));
    const clash = await outPath("csv", "clash");
    const error = await rejects(predict({ input: inputs.csv, output: clash, rowNumberColumn: "label" }), BatchError, 'already have a column "label"');
    expect(error.code).toBe("USAGE");
    expect(await filesBeside(clash)).toEqual([]);
  });

  // Found by the fuzz suite: with no row left to write, the Parquet writer had no schema and
  // failed with parquet-wasm's bare "Dyn casting error" (not a pipeserve error). Then the output
  // had no columns (a CSV of 0 bytes, an Arrow file of 0 bytes, which is no Arrow file): it has the
  // model's columns with no rows, as the output of an input with no rows has.
  // NB: with 2 threads a Parquet file's rows are read by the threads alone, and each bad chunk is
  // predicted again on the main thread. Threads run into CSV (a header) and Parquet (a schema)
  // only: the writer is the same whoever predicted, and each pool of threads costs ~2 s.
  it.each(FORMATS.map((f) => [f, f === "csv" || f === "parquet"] as const))(
    "skip where every row is bad, into %s: the model's columns with no rows, and every row in the errors file (threads too: %s)",
    async (outFormat, threads) => {
      const runs = threads
        ? ([
            [1, "csv"],
            [2, "csv"],
            [2, "parquet"],
          ] as const)
        : ([[1, "csv"]] as const);
      for (const [workers, inFormat] of runs) {
        const input = await writeInput(join(await tempDir(), `all-bad.${inFormat}`), { names: ["x"], columns: [["abc", "xyz"]], numRows: 2 }, inFormat);
        const output = await outPath(outFormat);
        const result = await predict({ input, output, chunkRows: 1, onError: "skip", workers });
        expect(result).toMatchObject({ rowsRead: 2, rowsWritten: 0, rowsSkipped: 2 });
        expect(await filesBeside(output)).toEqual([`out.${outFormat}`, `out.${outFormat}.errors.jsonl`]);
        if (outFormat === "csv") expect(await readFile(output, "utf8")).toBe("label,score\n");
        else if (outFormat === "jsonl") expect(await readFile(output, "utf8")).toBe("");
        else if (outFormat === "json") expect(JSON.parse(await readFile(output, "utf8"))).toEqual({ predictions: [] });
        else expect(await readOutput(output, outFormat)).toMatchObject({ names: ["label", "score"], numRows: 0 });
      }
    },
  );

  it("skip where every row is bad, with a model whose node fails on no rows: the run succeeds, every row in the errors file", async () => {
    const { buildModel, SIGNATURES } = await import("../server/fixtures/models.js");
    // NB: sort_index fails on an empty table (danfojs); the output then has the signature's output columns (here none).
    const failsOnEmpty = await buildModel("sort_index", SIGNATURES.ab, { rowWise: true });
    try {
      const input = join(await tempDir(), "all-bad.csv");
      await writeFile(input, "a,b\nx,1\ny,2\n");
      const output = await outPath("csv");
      const result = await predictFile(failsOnEmpty, { input, output, onError: "skip" });
      expect(result).toMatchObject({ rowsRead: 2, rowsWritten: 0, rowsSkipped: 2 });
      expect((await readFile(output, "utf8")).trim()).toBe("");
      expect((await readFile(`${output}.errors.jsonl`, "utf8")).trim().split("\n")).toHaveLength(2);
    } finally {
      await failsOnEmpty.close();
    }
  });

  // Found by the fuzz suite: the file readers took values nested thousands deep, and setting such
  // a row aside (written as JSON) overflowed the stack: a RangeError, not a pipeserve error.
  it.each([
    [
      "JSON Lines",
      "jsonl",
      `{"x": ${"[".repeat(5_000)}${"]".repeat(5_000)}}\n`,
      "JSON Lines line 1: The JSON nests arrays and objects more than 100 levels deep",
    ],
    ["JSON", "json", `{"dataframe_records": [{"x": ${"[".repeat(5_000)}${"]".repeat(5_000)}}]}`, "The JSON nests arrays and objects more than 100 levels deep"],
  ] as const)("%s nested past 100 levels → FormatError saying so, with skip too; nothing written", async (_why, format, text, message) => {
    const input = join(await tempDir(), `deep.${format}`);
    await writeFile(input, text);
    for (const onError of ["fail", "skip"] as const) {
      const output = await outPath("csv");
      await rejects(predict({ input, output, onError }), FormatError, message);
      expect(await filesBeside(output)).toEqual([]);
    }
  });

  it("skip without bad rows writes no errors file, and replaces a stale one", async () => {
    const output = await outPath("csv");
    await writeFile(`${output}.errors.jsonl`, "stale\n");
    const result = await predict({ input: inputs.csv, output, onError: "skip" });
    expect(result.errorsFile).toBeUndefined();
    expect(await filesBeside(output)).toEqual(["out.csv"]);
  });
});

describe("JSON inputs with the bare NaN and Infinity tokens Python's json writes", () => {
  // x is a required double: a NaN is a missing value there (a bad row), Infinity a double.
  const XS_WITH_NAN = ["0.5", "NaN", "3.5", "-Infinity"];
  it.each([
    ["a dataframe_split body", "json", `{"dataframe_split": {"columns": ["x"], "data": [${XS_WITH_NAN.map((x) => `[${x}]`).join(", ")}]}}`],
    ["an array of records", "json", `[${XS_WITH_NAN.map((x) => `{"x": ${x}}`).join(", ")}]`],
    ["JSON Lines", "jsonl", `${XS_WITH_NAN.map((x) => `{"x": ${x}}`).join("\n")}\n`],
  ] as const)("%s: read, the NaN row set aside as missing, -Infinity predicted", async (_why, format, text) => {
    const input = join(await tempDir(), `nan.${format}`);
    await writeFile(input, text);
    const output = await outPath("csv");
    const result = await predict({ input, output, onError: "skip" });
    expect(result).toMatchObject({ rowsRead: 4, rowsWritten: 3, rowsSkipped: 1 });
    const kept = await readOutput(output, "csv");
    const finite = await expected(0, [0.5, 3.5]);
    expect(kept.columns.map((c) => [c[0], c[1]])).toEqual(finite.columns);
    expect(kept.columns[0]?.[2]).toBe(0);
    const errors = (await readFile(`${output}.errors.jsonl`, "utf8")).trim().split("\n");
    expect(errors).toHaveLength(1);
    expect(JSON.parse(errors[0] as string)).toMatchObject({ row: 2, error: expect.stringContaining("a missing value (as is a bare NaN token in JSON)") });
  });
});

describe("atomic output", () => {
  it("while the run goes on, the output exists only as a hidden .partial beside it, named after this process (its writer)", async () => {
    const output = await outPath("csv");
    const seen: string[][] = [];
    await predict({ input: inputs.csv, output, chunkRows: 5, onProgress: () => void seen.push(readdirSync(dirname(output))) });
    expect(seen).toHaveLength(4);
    const partial = new RegExp(`^\\.out\\.csv\\.${process.pid}-[0-9a-f]{6}-[0-9a-z]+\\.[0-9a-f]{12}\\.partial$`);
    for (const files of seen) expect(files).toEqual([expect.stringMatching(partial)]);
    expect(await filesBeside(output)).toEqual(["out.csv"]);
  });

  it.each(FORMATS)("an aborted run (the signal, as on SIGINT) leaves nothing under the name, nor a .partial (%s)", async (format) => {
    const output = await outPath(format);
    const abort = new AbortController();
    const reason = new Error("Interrupted by SIGINT; the partial output was removed.");
    await rejects(
      predict({ input: inputs.csv, output, chunkRows: 3, signal: abort.signal, onProgress: (done) => void (done >= 6 && abort.abort(reason)) }),
      Error,
      "Interrupted by SIGINT",
    );
    expect(await filesBeside(output)).toEqual([]);
  });

  it("an aborted run that waits on stdin stops at once (it waited for the stream to end), leaving nothing", async () => {
    const output = await outPath("csv");
    const stdin = new PassThrough();
    // NB: a header and one row, then nothing: the stream stays open, as a slow producer's would.
    stdin.write("x\n0.5\n");
    const abort = new AbortController();
    const reason = new Error("Interrupted by SIGINT; the partial output was removed.");
    const run = predict({ input: "-", inputFormat: "csv", output, stdin, signal: abort.signal, chunkRows: 100 });
    setTimeout(() => abort.abort(reason), 200);
    // NB: before, this waited for the stream's end, which never comes: the test's timeout failed it.
    await rejects(run, Error, "Interrupted by SIGINT");
    expect(await filesBeside(output)).toEqual([]);
  });

  it.each(FORMATS)("an output folder that does not exist: a clear error, no crash, nothing written (%s)", async (format) => {
    const output = join(await tempDir("pipeserve-batch-out-"), "missing", `out.${format}`);
    const error = await rejects(predict({ input: inputs.csv, output }), FileAccessError, /the folder .*missing does not exist\. Create it first\./);
    expect(error.code).toBe("UNWRITABLE_OUTPUT");
    expect(await filesBeside(join(output, ".."))).toEqual([]);
  });
});

describe("shards", () => {
  const SHARDED = FORMATS.map((f) => [f] as const);

  it.each(SHARDED)("%s input: shards 1/3, 2/3, 3/3 (boundaries inside chunks) add up to the unsharded output", async (format) => {
    const whole = await outPath("csv", "whole");
    await predict({ input: inputs[format], output: whole, chunkRows: 4 });
    const parts: ColumnTable[] = [];
    for (let index = 1; index <= 3; index++) {
      const output = await outPath("csv", `part-${index}`);
      const progress: (number | undefined)[] = [];
      const result = await predict({
        input: inputs[format],
        output,
        chunkRows: 4,
        shard: { index, count: 3 },
        onProgress: (_d, total) => progress.push(total),
      });
      expect(result.rowsRead).toBe([6, 7, 7][index - 1]);
      expect(new Set(progress), "a shard knows its size").toEqual(new Set([result.rowsRead]));
      parts.push(await readOutput(output, "csv"));
    }
    expect(concatTables(parts)).toEqual(await readOutput(whole, "csv"));
    expect(concatTables(parts)).toEqual(await expected());
  });

  it("more shards than rows: the empty ones still write their columns (Parquet), and all add up", async () => {
    const xs = XS.slice(0, 5);
    const input = await writeInput(join(await tempDir(), "five.parquet"), xTable(xs), "parquet");
    const parts: ColumnTable[] = [];
    for (let index = 1; index <= 8; index++) {
      const output = await outPath("parquet", `part-${index}`);
      await predict({ input, output, chunkRows: 2, shard: { index, count: 8 } });
      const part = await readOutput(output, "parquet");
      expect(part.names).toEqual(["label", "score"]);
      parts.push(part);
    }
    expect(parts.filter((p) => p.numRows === 0).length).toBe(3);
    expect(concatTables(parts)).toEqual(await expected(0, xs));
  });

  it("the non-row-wise model sharded: each shard is one batch of its rows, and the run says so", async () => {
    const output = await outPath("csv");
    const notices: string[] = [];
    await predict({ input: inputs.csv, output, shard: { index: 2, count: 2 }, chunkRows: 3, onNotice: (n) => notices.push(n) }, centerer);
    expect(await readOutput(output, "csv")).toEqual(await expectedCenterer(centererTrained().modelDir, XS.slice(10)));
    expect(notices.join("\n")).toContain("--shard: the model is not row-wise (row_wise: false), so each shard is predicted as one batch of its own rows");
  });

  it("skip in a shard numbers the bad rows of the whole file", async () => {
    const input = join(await tempDir(), "in.csv");
    await writeFile(input, ["x", ...XS.map((x, i) => (i === 15 ? "bad" : String(x)))].join("\n") + "\n");
    const output = await outPath("csv");
    await predict({ input, output, shard: { index: 3, count: 3 }, onError: "skip", chunkRows: 4 });
    expect(JSON.parse(await readFile(`${output}.errors.jsonl`, "utf8"))).toMatchObject({ row: 16, data: { x: "bad" } });
  });

  it.each([
    ["index 0", { index: 0, count: 3 }, "got 0/3"],
    ["index above the count", { index: 4, count: 3 }, "got 4/3"],
    ["count 0", { index: 0, count: 0 }, "got 0/0"],
    ["a fraction", { index: 1.5, count: 3 }, "got 1.5/3"],
  ])("%s → BatchError USAGE '--shard must be I/N with 1 ≤ I ≤ N'", async (_why, shard, got) => {
    const output = await outPath("csv");
    const error = await rejects(predict({ input: inputs.csv, output, shard }), BatchError, "--shard must be I/N with 1 ≤ I ≤ N", got);
    expect(error.code).toBe("USAGE");
  });
});

describe("chunks", () => {
  it.each(["csv", "jsonl", "parquet", "arrow"] as const)(
    "%s: chunks of 7 give exactly the bytes of one whole chunk (CSV out) and the same table (Parquet out)",
    async (format) => {
      const chunked = await outPath("csv", "chunked");
      const whole = await outPath("csv", "whole");
      await predict({ input: inputs[format], output: chunked, chunkRows: 7 });
      await predict({ input: inputs[format], output: whole, chunkRows: 1_000_000 });
      expect(await readFile(chunked, "utf8")).toBe(await readFile(whole, "utf8"));
      const chunkedPq = await outPath("parquet", "chunked");
      const wholePq = await outPath("parquet", "whole");
      await predict({ input: inputs[format], output: chunkedPq, chunkRows: 7 });
      await predict({ input: inputs[format], output: wholePq, chunkRows: 1_000_000 });
      expect(await readOutput(chunkedPq, "parquet")).toEqual(await readOutput(wholePq, "parquet"));
    },
  );

  it("progress after each chunk: rows done, and the total where known (Parquet's footer)", async () => {
    const csvCalls: [number, number | undefined][] = [];
    await predict({ input: inputs.csv, output: await outPath("csv"), chunkRows: 7, onProgress: (d, t) => csvCalls.push([d, t]) });
    expect(csvCalls).toEqual([
      [7, undefined],
      [14, undefined],
      [20, undefined],
    ]);
    const pqCalls: [number, number | undefined][] = [];
    await predict({ input: inputs.parquet, output: await outPath("csv"), chunkRows: 7, onProgress: (d, t) => pqCalls.push([d, t]) });
    expect(pqCalls).toEqual([
      [7, 20],
      [14, 20],
      [20, 20],
    ]);
  });

  it.each([0, -1, 1.5])("chunkRows %s → BatchError USAGE", async (chunkRows) => {
    const error = await rejects(
      predict({ input: inputs.csv, output: await outPath("csv"), chunkRows }),
      BatchError,
      `--chunk-rows must be a whole number of at least 1, got ${chunkRows}.`,
    );
    expect(error.code).toBe("USAGE");
  });

  it("--workers above the number of cores: cut to it, with a notice naming both; the same output as one thread", async () => {
    const cores = availableParallelism();
    const notices: string[] = [];
    const [many, one] = [await outPath("csv"), await outPath("csv")];
    const result = await predict({ input: inputs.csv, output: many, chunkRows: 3, workers: cores + 2, onNotice: (m) => notices.push(m) });
    await predict({ input: inputs.csv, output: one, chunkRows: 3 });
    expect(notices).toEqual([
      `--workers ${cores + 2}: this machine has ${cores} ${cores === 1 ? "core, so 1 thread predicts" : `cores, so ${cores} threads predict`} (more would only share them, each holding its own copy of the model).`,
    ]);
    expect(result.rowsWritten).toBeGreaterThan(3);
    expect(await readFile(many, "utf8")).toBe(await readFile(one, "utf8"));
  });

  it("threads: 1 by default for a library caller; auto uses them only for a large file; the result says how many predicted", async () => {
    const big = join(await tempDir(), "big.csv");
    await writeFile(big, `x,note\n${"1.5,n\n".repeat(40_000)}`);
    expect((await predict({ input: big, output: await outPath("csv") })).threads).toBe(1);
    expect((await predict({ input: big, output: await outPath("csv"), workers: "auto" })).threads).toBe(1);
    const two = await predict({ input: big, output: await outPath("csv"), workers: 2 });
    expect(two.threads).toBe(Math.min(2, availableParallelism()));
    expect(two.rowsWritten).toBe(40_000);
  });

  it("an invalid Date in the output is an empty CSV cell (as JSON writes null), with threads as on one thread", async () => {
    const { buildModel, SIGNATURES } = await import("../server/fixtures/models.js");
    const dates = await buildModel("dates_of", SIGNATURES.ab, { rowWise: true });
    try {
      const dir = await tempDir();
      const rows = (bad: boolean): string => `a,b\n${Array.from({ length: 40_000 }, (_, i) => `${bad && i === 30_000 ? 13 : i * 1000},1`).join("\n")}\n`;
      const [good, bad] = [join(dir, "good.csv"), join(dir, "bad.csv")];
      await writeFile(good, rows(false));
      await writeFile(bad, rows(true));
      // NB: it threw JavaScript's bare "Invalid time value" and failed the run.
      await predictFile(dates, { input: bad, output: join(dir, "one.csv"), workers: 1 });
      await predictFile(dates, { input: bad, output: join(dir, "two.csv"), workers: 2 });
      const one = await readFile(join(dir, "one.csv"), "utf8");
      // NB: the output has one column, whose empty value is written "" (a blank line would be skipped by readers).
      expect(one.split("\n")[30_001]).toBe('""');
      expect(await readFile(join(dir, "two.csv"), "utf8")).toBe(one);
      const written = await Promise.all(
        [1, 2].map(async (workers) => {
          const result = await predictFile(dates, { input: good, output: join(dir, `good-${workers}.csv`), workers });
          return { threads: result.threads, text: await readFile(join(dir, `good-${workers}.csv`), "utf8") };
        }),
      );
      expect(written[1]?.threads).toBe(Math.min(2, availableParallelism()));
      expect(written[1]?.text).toBe(written[0]?.text);
      expect(written[0]?.text.split("\n")[2]).toBe("1970-01-01T00:00:01.000Z");
    } finally {
      await dates.close();
    }
  });

  it.each(["csv", "jsonl"] as const)("a %s block's bytes are moved to its thread, not copied", async (kind) => {
    const pool = new ChunkWorkerPool(1, {
      hostEntry: undefined,
      modelDir: scaler.dir,
      params: undefined,
      runner: undefined,
      cells: { fromText: true, fromArrow: false },
      columns: undefined,
    });
    try {
      const bytes = new TextEncoder().encode(kind === "csv" ? "1.5,n\n" : '{"x": 1.5}\n');
      const job =
        kind === "csv"
          ? { kind, bytes, rows: 1, chunkRows: 1, head: { header: ["x", "note"], lineEnd: "\n" as const } }
          : { kind, bytes, rows: 1, chunkRows: 1 };
      pool.submit(job, "rows 1–1");
      expect(bytes.byteLength, "detached once sent").toBe(0);
    } finally {
      await pool.close();
    }
  });

  it("JSON input is read whole, and says so", async () => {
    const notices: string[] = [];
    const result = await predict({ input: inputs.json, output: await outPath("csv"), chunkRows: 7, onNotice: (m) => notices.push(m) });
    expect(result.chunked).toBe(false);
    expect(notices).toEqual(["JSON input is read whole; use JSON Lines (.jsonl) or CSV to stream large inputs."]);
  });
});

describe("a model that is not row-wise", () => {
  it("predicting it in chunks would differ (so the checks below mean something)", async () => {
    const { modelDir } = centererTrained();
    const perChunk = concatTables([
      await expectedCenterer(modelDir, XS.slice(0, 7)),
      await expectedCenterer(modelDir, XS.slice(7, 14)),
      await expectedCenterer(modelDir, XS.slice(14)),
    ]);
    expect(perChunk).not.toEqual(await expectedCenterer(modelDir, XS));
    expect(centerer.rowWise).toBe(false);
    expect(scaler.rowWise).toBe(true);
  });

  it.each(["csv", "jsonl", "parquet", "arrow"] as const)("%s input with chunkRows 7: read whole, predicted as one batch, and it says so", async (format) => {
    const notices: string[] = [];
    const output = await outPath("parquet");
    const progress: number[] = [];
    const result = await predict(
      { input: inputs[format], output, chunkRows: 7, onNotice: (m) => notices.push(m), onProgress: (d) => progress.push(d) },
      centerer,
    );
    expect(result).toMatchObject({ chunked: false, rowsRead: 20, rowsWritten: 20 });
    expect(notices).toEqual(["The model is not row-wise (row_wise: false), so the whole input is read into memory and predicted at once."]);
    expect(progress).toEqual([20]);
    const out = await readOutput(output, "parquet");
    const want = await expectedCenterer(centererTrained().modelDir, XS);
    expect(out.names).toEqual(want.names);
    (out.columns[0] as number[]).forEach((v, i) => expect(v).toBeCloseTo(want.columns[0]?.[i] as number, 12));
  });

  it("a bad row in a model read whole is still named by its row", async () => {
    const input = join(await tempDir(), "in.csv");
    await writeFile(input, ["x", ...XS.map((x, i) => (i === 12 ? "nope" : String(x)))].join("\n") + "\n");
    await rejects(predict({ input, output: await outPath("csv"), chunkRows: 5 }, centerer), BatchError, 'row 13 holds "nope"', "column x");
    const output = await outPath("csv");
    const result = await predict({ input, output, chunkRows: 5, onError: "skip" }, centerer);
    expect(result.rowsSkipped).toBe(1);
    expect(sliceTable(await readOutput(output, "csv"), 0, 0).names).toEqual(["centered"]);
  });
});

describe("Arrow and Parquet outputs whose first chunk holds no value in a column", () => {
  it.each(["parquet", "arrow", "arrows"] as const)("%s: the column takes the output signature's type, so later numbers stay numbers", async (format) => {
    const { buildModel } = await import("../server/fixtures/models.js");
    const { decodeArrowIpc, parquetToArrow } = await import("../../src/tabular/index.js");
    const echo = await buildModel(
      "echo",
      { inputs: '[{"type": "double", "name": "s", "required": false}]', outputs: '[{"type": "double", "name": "s", "required": false}]', params: null },
      { rowWise: true },
    );
    const dir = await tempDir();
    const input = join(dir, "in.csv");
    // NB: chunks of 3 rows: the first holds no value of s.
    await writeFile(input, "t,s\n1,\n2,\n3,\n4,0.25\n5,1.5\n");
    const output = join(dir, `out.${format}`);
    await predictFile(echo, { input, output, chunkRows: 3 });
    const bytes = new Uint8Array(await readFile(output));
    const table = format === "parquet" ? parquetToArrow(bytes) : decodeArrowIpc(bytes);
    expect(String(table.schema.fields[0]?.type)).toBe("Float64");
    expect(Array.from(table.getChild("s")!.toArray() as ArrayLike<unknown>).slice(3)).toEqual([0.25, 1.5]);
  });
});

describe("default chunk sizes", () => {
  // NB: a chunk of text makes a string per cell; smaller chunks die in V8's young generation (see DEFAULT_TEXT_CHUNK_ROWS).
  it.each([
    { format: "csv", rows: 4096 },
    { format: "jsonl", rows: 4096 },
    { format: "parquet", rows: 10_000 },
    { format: "arrow", rows: 10_000 },
  ] as const)("$format input is predicted $rows rows at a time", async ({ format, rows }) => {
    const { buildModel } = await import("../server/fixtures/models.js");
    const counter = await buildModel(
      "chunk_rows",
      { inputs: '[{"type": "double", "name": "x", "required": true}]', outputs: null, params: null },
      { rowWise: true },
    );
    const input = await writeInput(join(await tempDir(), `in.${format}`), xTable(Array.from({ length: 12_345 }, (_, i) => i / 8)), format);
    const output = await outPath("csv");
    await predictFile(counter, { input, output });
    const sizes = (await readOutput(output, "csv")).columns[0] as number[];
    const last = 12_345 % rows;
    expect(sizes).toHaveLength(12_345);
    expect(new Set(sizes.slice(0, rows))).toEqual(new Set([rows]));
    expect(new Set(sizes.slice(12_345 - last))).toEqual(new Set([last]));
  });
});

describe("refusals of typed input (Arrow, Parquet) say how to write the column there", () => {
  it.each(["parquet", "arrow"] as const)("%s: text in the double column x stops the run at its row, advising Arrow numbers, not JSON", async (format) => {
    const input = await writeInput(join(await tempDir(), `in.${format}`), { names: ["x"], columns: [["0.5", "oops"]], numRows: 2 }, format);
    const error = await rejects(
      predict({ input, output: await outPath("csv") }),
      BatchError,
      'Column x is double: row 1 holds "0.5" (a string)',
      "Send the column as Arrow numbers (float64, float32 or integers).",
    );
    expect(error.message).not.toContain("JSON numbers");
  });
});
