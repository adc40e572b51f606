// `pipeserve predict` as users run it (in-process: main with its own io; pipes and terminals are
// in pipes.process.test.ts): over files, with MLflow's flag spellings, params and runners, bad
// rows, shards and chunks. Every failure checks the exit code and the message.
import { existsSync } from "node:fs";
import { link, readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import type { ColumnTable } from "../../src/index.js";
import {
  CENTERER_PROJECT,
  FORMATS,
  SCALER_PROJECT,
  XS,
  decodeOutput,
  expectFailure,
  expectSuccess,
  expectedCenterer,
  expectedScaler,
  readOutput,
  runCli,
  tempDir,
  useTrainedModel,
  writeInput,
  xTable,
  type CliOptions,
  type CliResult,
  type Format,
} from "./helpers.js";

const scaler = useTrainedModel(SCALER_PROJECT);
const centerer = useTrainedModel(CENTERER_PROJECT);
let dir: string;
const inputs = {} as Record<Format, string>;
let badCsv: string;

beforeAll(async () => {
  dir = await tempDir();
  for (const format of FORMATS) inputs[format] = await writeInput(join(dir, `xs.${format}`), xTable(XS), format);
  badCsv = join(dir, "bad.csv");
  await writeFile(badCsv, ["x", ...Array.from({ length: 50 }, (_, i) => (i === 37 ? "abc" : String(i / 10)))].join("\n") + "\n");
}, 120_000);

const expected = (margin = 0, xs: readonly number[] = XS): Promise<ColumnTable> => expectedScaler(scaler().modelDir, xs, margin);
const NOT_ROW_WISE = "The model is not row-wise (row_wise: false), so the whole input is read into memory and predicted at once.";

/** `pipeserve predict -m <scaler> --tracking-uri <dir> ...args` */
function predict(args: readonly string[], options?: CliOptions, model = scaler): Promise<CliResult> {
  return runCli(["predict", "-m", model().modelUri, "--tracking-uri", model().trackingDir, ...args], options);
}

/** A fresh dir for one run's output. */
const outDir = (): Promise<string> => tempDir("pipeserve-batch-cli-");

// NB: every run loads the model, so each run checks several things at once and the runs of a group go in parallel.
const SLOW = { timeout: 90_000 };

describe.concurrent("formats, each read once and written once", SLOW, () => {
  it.each([
    ["csv", "parquet", "runs:/ URI"],
    ["parquet", "arrow", "models:/scaler-model/latest"],
    ["arrow", "jsonl", "runs:/ URI"],
  ] as const)("%s → %s, the formats from the extensions (%s)", async (inputFormat, outputFormat, uri) => {
    const output = join(await outDir(), `out.${outputFormat}`);
    const args = ["-i", inputs[inputFormat], "-o", output];
    const result = uri === "runs:/ URI" ? await predict(args) : await runCli(["predict", "-m", uri, "--tracking-uri", scaler().trackingDir, ...args]);
    expectSuccess(result);
    expect(result.stderr, "the summary line and nothing else").toMatch(
      /^pipeserve: read 20 rows, wrote 20 predictions in [\d.]+ s \(\d+ rows\/s\); wrote [^\n]+\.\n$/,
    );
    expect(result.stderr).toContain(`; wrote ${output}.`);
    expect(result.stdout.length, "nothing on stdout when the output is a file").toBe(0);
    expect(await readOutput(output, outputFormat)).toEqual(await expected());
    expect(await readdir(join(output, ".."))).toEqual([`out.${outputFormat}`]);
  });

  it('MLflow\'s spellings: --input-path, --output-path, --content-type json (a dataframe_split body) → {"predictions": [...]}', async () => {
    const output = join(await outDir(), "predictions.json");
    const result = await predict(["--input-path", inputs.json, "--output-path", output, "--content-type", "json"]);
    expectSuccess(result);
    expect(result.stderr).toContain("pipeserve: JSON input is read whole");
    const text = await readFile(output, "utf8");
    expect(text.startsWith('{"predictions": [{"label":')).toBe(true);
    expect(decodeOutput(text, "json")).toEqual(await expected());
  });

  it("-t arrows and --output-format arrows: an Arrow IPC stream in and out, whatever the files' extensions", async () => {
    const d = await outDir();
    await writeInput(join(d, "xs.arrows"), xTable(XS), "arrows");
    await writeFile(join(d, "rows.bin"), await readFile(join(d, "xs.arrows")));
    const result = await predict(["-i", join(d, "rows.bin"), "-t", "arrows", "-o", join(d, "preds.bin"), "--output-format", "arrows"]);
    expectSuccess(result);
    expect(await readOutput(join(d, "preds.bin"), "arrows")).toEqual(await expected());
  });

  it("-t and --output-format name the formats of files whose extensions do not (ndjson → csv)", async () => {
    const d = await outDir();
    await writeFile(join(d, "data.txt"), await readFile(inputs.jsonl));
    const result = await predict(["-i", join(d, "data.txt"), "-t", "ndjson", "-o", join(d, "preds.bin"), "--output-format", "CSV"]);
    expectSuccess(result);
    expect(await readOutput(join(d, "preds.bin"), "csv")).toEqual(await expected());
  });
});

/** The CSV text of one run over `input` (the scaler model); runs once per argument list, shared by the tests. */
const csvRuns = new Map<string, Promise<string>>();
function csvOutput(input: string, extra: readonly string[]): Promise<string> {
  const key = JSON.stringify([input, extra]);
  let run = csvRuns.get(key);
  if (!run) {
    run = (async () => {
      const output = join(await outDir(), "out.csv");
      const result = await predict(["-i", input, "-o", output, ...extra]);
      expectSuccess(result);
      return readFile(output, "utf8");
    })();
    csvRuns.set(key, run);
  }
  return run;
}
/** The reference: the CSV input predicted as one chunk. */
const wholeCsv = (): Promise<string> => csvOutput(inputs.csv, ["--chunk-rows", "1000000"]);

describe.concurrent("params and runner", SLOW, () => {
  it("--params '{\"margin\": 5}' changes the labels", async () => {
    const out = decodeOutput(await csvOutput(inputs.csv, ["--params", '{"margin": 5}']), "csv");
    expect(out).toEqual(await expected(5));
    expect(out.columns[0]).not.toEqual((await expected(0)).columns[0]);
  });

  it("--runner WorkerRunner gives the same output as the default runner", async () => {
    const [worker, whole] = await Promise.all([csvOutput(inputs.csv, ["--runner", "WorkerRunner", "--chunk-rows", "10"]), wholeCsv()]);
    expect(worker).toBe(whole);
  });

  // NB: a flag the model cannot take is a usage error (exit 2), as the README's exit codes say; it was 1.
  it("--runner ../evil.mjs#X → exit 2 naming the allowed runners, no output", async () => {
    const d = await outDir();
    const result = await predict(["-i", inputs.csv, "-o", join(d, "out.csv"), "--runner", "../evil.mjs#X"]);
    expectFailure(result, 2, '--runner: Runner "../evil.mjs#X" is not allowed', "Use one of: SequentialRunner, ConcurrentRunner, WorkerRunner.");
    expect(await readdir(d)).toEqual([]);
  });

  it("a param the model does not declare: predicts, and says on stderr that its value is ignored", async () => {
    const d = await outDir();
    const result = await predict(["-i", inputs.csv, "-o", join(d, "out.csv"), "--params", '{"margn": 5, "margin": 0}']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toContain("pipeserve: warning: the model declares no param margn, so --params' value for it is ignored (it takes margin");
    expect(await readFile(join(d, "out.csv"), "utf8")).toBe(await wholeCsv());
  });

  it("a param value of the wrong type → exit 2, '--params: Invalid parameters found' (not a bad row), no output", async () => {
    const d = await outDir();
    const result = await predict(["-i", inputs.csv, "-o", join(d, "out.csv"), "--params", '{"margin": "wide"}']);
    expectFailure(result, 2, "--params: Invalid parameters found", "for 'margin': double (default: 0.0), error: ", 'got "wide" (a string)');
    expect(result.stderr).not.toContain("bad input row");
    expect(await readdir(d)).toEqual([]);
  });
});

describe.concurrent("usage errors: exit 2, a message naming the fix, nothing written", SLOW, () => {
  it.each([
    ["bad --params JSON", ["-i", "IN", "-o", "OUT", "--params", "{margin: 5"], `--params must be a JSON object, e.g. '{"threshold": 0.5}'; got {margin: 5.`],
    ["--params not an object", ["-i", "IN", "-o", "OUT", "--params", "[1]"], "--params must be a JSON object of param name → value."],
    ["no -i", ["-o", "OUT"], "Missing the input: -i FILE (or --input-path; - reads stdin)."],
    ["an unknown -t", ["-i", "IN", "-o", "OUT", "-t", "xml"], '--content-type/-t must be one of csv, json, jsonl, parquet, arrow, arrows; got "xml".'],
    [
      "an unknown --output-format",
      ["-i", "IN", "-o", "OUT", "--output-format", "xlsx"],
      '--output-format must be one of csv, json, jsonl, parquet, arrow, arrows; got "xlsx".',
    ],
    ["--shard x", ["-i", "IN", "-o", "OUT", "--shard", "x"], '--shard takes I/N, e.g. 2/4, or auto/N in a Kubernetes Indexed Job; got "x".'],
    [
      "--shard auto/3 outside an Indexed Job",
      ["-i", "IN", "-o", "OUT", "--shard", "auto/3"],
      "--shard auto/N reads the pod's index in an Indexed Job from JOB_COMPLETION_INDEX (0 to N-1), which is not set.",
    ],
    // These two are checked by predictFile, after the model loads.
    ["--shard 0/3", ["-i", "IN", "-o", "OUT", "--shard", "0/3"], "--shard must be I/N with 1 ≤ I ≤ N, got 0/3."],
    ["--shard 4/3", ["-i", "IN", "-o", "OUT", "--shard", "4/3"], "--shard must be I/N with 1 ≤ I ≤ N, got 4/3."],
    ["--chunk-rows 0", ["-i", "IN", "-o", "OUT", "--chunk-rows", "0"], "--chunk-rows must be between 1 and"],
    ["--chunk-rows 4294967296", ["-i", "IN", "-o", "OUT", "--chunk-rows", "4294967296"], "--chunk-rows must be between 1 and 4294967295, got 4294967296."],
    ["--on-error ignore", ["-i", "IN", "-o", "OUT", "--on-error", "ignore"], "argument 'ignore' is invalid. Allowed choices are fail, skip."],
    // NB: a URI that is no URI comes from a flag (exit 1 before; found by an audit).
    ["-m models:/a/b/c", ["-i", "IN", "-o", "OUT", "-m", "models:/a/b/c"], 'Invalid model URI "models:/a/b/c"'],
    ["--tracking-uri ftp://x", ["-i", "IN", "-o", "OUT", "-m", "models:/x/1", "--tracking-uri", "ftp://x"], 'Invalid tracking URI "ftp://x"'],
    ["Parquet from stdin (checked by predictFile)", ["-i", "-", "-t", "parquet", "-o", "OUT"], "Parquet cannot be read from stdin (its footer is at the end)"],
  ])("%s", async (_why, args, message) => {
    const d = await outDir();
    const result = await predict(args.map((a) => (a === "IN" ? inputs.csv : a === "OUT" ? join(d, "out.csv") : a)));
    expectFailure(result, 2, message);
    expect(result.stdout.length).toBe(0);
    expect(await readdir(d)).toEqual([]);
  });

  it("-o naming the input file (itself, another spelling, a hard link) → an error, the input untouched", async () => {
    const d = await outDir();
    const input = join(d, "in.csv");
    await writeFile(input, await readFile(inputs.csv));
    await link(input, join(d, "linked.csv"));
    for (const output of [input, join(d, ".", "in.csv"), join(d, "linked.csv")]) {
      const result = await predict(["-i", input, "-o", output]);
      expectFailure(result, 1, `Cannot write ${output}: it is the input file, which the predictions would replace. Write them to another file.`);
    }
    expect(await readFile(input)).toEqual(await readFile(inputs.csv));
  });

  it.each(["fail", "skip"])("an input without the model's column (--on-error %s) → exit 1 saying so, not a bad row; no output", async (onError) => {
    const d = await outDir();
    const input = join(d, "wrong.csv");
    await writeFile(input, "y\n1\n2\n");
    const output = join(d, "out.csv");
    const result = await predict(["-i", input, "-o", output, "--on-error", onError]);
    expectFailure(
      result,
      1,
      "Model is missing inputs ['x']: the input has no such column, which the model's signature requires, so no row can be predicted. Fix the input's columns",
    );
    expect(result.stderr).not.toContain("bad input row");
    expect(await readdir(d)).toEqual(["wrong.csv"]);
  });

  it("a run that sets no rows aside removes a bad-rows file left beside its output by an earlier run", async () => {
    const d = await outDir();
    const output = join(d, "out.csv");
    expectSuccess(await predict(["-i", badCsv, "-o", output, "--on-error", "skip"]));
    expect(existsSync(`${output}.errors.jsonl`)).toBe(true);
    expectSuccess(await predict(["-i", inputs.csv, "-o", output]));
    expect(existsSync(`${output}.errors.jsonl`)).toBe(false);
  });

  it("an input or output whose extension names no format → exit 2 naming the flag that would, before the model loads; no output", async () => {
    const d = await tempDir("pipeserve-cli-");
    const unknown = join(d, "rows.txt");
    await writeFile(unknown, "x\n1\n");
    // NB: a model URI that cannot load: the usage error comes first.
    const badIn = await runCli(["predict", "-m", "models:/no-such-model/1", "--tracking-uri", d, "-i", unknown, "-o", join(d, "out.csv")]);
    expectFailure(badIn, 2, 'Cannot tell the format of "rows.txt" from its extension', "or name the format with -t/--content-type.");
    const badOut = await runCli(["predict", "-m", "models:/no-such-model/1", "--tracking-uri", d, "-i", inputs.csv, "-o", join(d, "out.dat")]);
    expectFailure(badOut, 2, 'Cannot tell the format of "out.dat" from its extension', "or name the format with --output-format.");
    expect((await readdir(d)).sort()).toEqual(["rows.txt"]);
  });

  it("no -m → exit 2 naming the option", async () => {
    const result = await runCli(["predict", "-i", inputs.csv, "-o", "-"]);
    expectFailure(result, 2, "required option '-m, --model-uri <uri>' not specified");
  });
});

describe.concurrent("bad rows", SLOW, () => {
  it("a bad cell stops the run: exit 1, the row (1-based, header excluded) and column named, no output file nor .partial", async () => {
    const d = await outDir();
    const output = join(d, "out.parquet");
    const result = await predict(["-i", badCsv, "-o", output, "--chunk-rows", "7"]);
    expectFailure(result, 1, "Stopped at a bad input row (rows counted from 1, header excluded)", "column x", 'row 38 holds "abc"', "Use --on-error skip");
    expect(existsSync(output)).toBe(false);
    expect(await readdir(d)).toEqual([]);
  });

  it("--on-error skip --row-number row: the predictions carry their input rows; row 38 is the one in errors.jsonl", async () => {
    const d = await outDir();
    const output = join(d, "out.jsonl");
    const result = await predict(["-i", badCsv, "-o", output, "--chunk-rows", "7", "--on-error", "skip", "--row-number", "row"]);
    expectSuccess(result);
    const out = await readOutput(output, "jsonl");
    expect(out.names[0]).toBe("row");
    expect(out.columns[0]).toEqual(Array.from({ length: 50 }, (_, i) => i + 1).filter((n) => n !== 38));
    expect(JSON.parse(await readFile(`${output}.errors.jsonl`, "utf8"))).toMatchObject({ row: 38 });
  });

  it("--on-error skip: every good row predicted; OUTPUT.errors.jsonl holds the bad row, its number and error", async () => {
    const d = await outDir();
    const output = join(d, "out.csv");
    const result = await predict(["-i", badCsv, "-o", output, "--chunk-rows", "7", "--on-error", "skip"]);
    expectSuccess(result);
    expect(result.stderr).toContain(`read 50 rows, wrote 49 predictions`);
    expect(result.stderr).toContain(`1 bad rows set aside in ${output}.errors.jsonl`);
    const good = Array.from({ length: 50 }, (_, i) => i / 10).filter((_, i) => i !== 37);
    expect(await readOutput(output, "csv")).toEqual(await expected(0, good));
    const errors = (await readFile(`${output}.errors.jsonl`, "utf8"))
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(errors).toEqual([
      { row: 38, error: expect.stringContaining(`Failed to convert column x to type 'float64'. Column x is double: row 38 holds "abc"`), data: { x: "abc" } },
    ]);
    expect((await readdir(d)).sort()).toEqual(["out.csv", "out.csv.errors.jsonl"]);
  });
});

describe.concurrent("shards and chunks", SLOW, () => {
  it.each(["csv", "parquet"] as const)("%s input: --shard 1/3, 2/3, 3/3 concatenated (header once) equal the unsharded output", async (format) => {
    const [whole, ...parts] = await Promise.all([wholeCsv(), ...[1, 2, 3].map((i) => csvOutput(inputs[format], ["--chunk-rows", "4", "--shard", `${i}/3`]))]);
    const lines = parts.map((p) => p.split("\n").filter((l) => l !== ""));
    for (const part of lines) expect(part[0]).toBe("label,score");
    expect(
      lines.map((l) => l.length - 1),
      "rows per shard",
    ).toEqual([6, 7, 7]);
    const joined = ["label,score", ...lines.flatMap((l) => l.slice(1))].join("\n") + "\n";
    expect(joined).toBe(whole);
    expect(decodeOutput(joined, "csv")).toEqual(await expected());
  });

  it("--shard auto/3 in an Indexed Job's pods (JOB_COMPLETION_INDEX 0, 1, 2) writes the parts of --shard 1/3, 2/3, 3/3, each to -o's {shard}", async () => {
    const d = await outDir();
    const results = await Promise.all(
      [0, 1, 2].map((i) =>
        predict(["-i", inputs.csv, "-o", join(d, "part-{shard}.csv"), "--chunk-rows", "4", "--shard", "auto/3"], { env: { JOB_COMPLETION_INDEX: String(i) } }),
      ),
    );
    for (const r of results) expectSuccess(r);
    // NB: the summary names the part written, not the pattern.
    for (const [i, r] of results.entries()) expect(r.stderr).toContain(`; wrote ${join(d, `part-${i + 1}.csv`)}.`);
    expect((await readdir(d)).sort()).toEqual(["part-1.csv", "part-2.csv", "part-3.csv"]);
    const explicit = await Promise.all([1, 2, 3].map((i) => csvOutput(inputs.csv, ["--chunk-rows", "4", "--shard", `${i}/3`])));
    for (const [i, part] of explicit.entries()) expect(await readFile(join(d, `part-${i + 1}.csv`), "utf8"), `part ${i + 1}`).toBe(part);
    const bad = await predict(["-i", inputs.csv, "-o", join(d, "x.csv"), "--shard", "auto/3"], { env: { JOB_COMPLETION_INDEX: "three" } });
    expectFailure(bad, 2, 'which is "three"');
    const beyond = await predict(["-i", inputs.csv, "-o", join(d, "y.csv"), "--shard", "auto/3"], { env: { JOB_COMPLETION_INDEX: "3" } });
    expectFailure(beyond, 2, "--shard auto/3 takes JOB_COMPLETION_INDEX from 0 to 2, but it is 3: give the Job as many completions as shards (completions: 3)");
  });

  it("a chunked run (--chunk-rows 7) equals a whole-file run (--chunk-rows 1000000), byte for byte", async () => {
    const [chunked, whole] = await Promise.all([csvOutput(inputs.csv, ["--chunk-rows", "7"]), wholeCsv()]);
    expect(chunked).toBe(whole);
    expect(decodeOutput(whole, "csv")).toEqual(await expected());
  });

  it("a model that is not row-wise: read whole (stderr says so), predicted as one batch", async () => {
    const output = join(await outDir(), "out.jsonl");
    const result = await predict(["-i", inputs.csv, "-o", output, "--chunk-rows", "7"], {}, centerer);
    expectSuccess(result);
    expect(result.stderr).toContain(`pipeserve: ${NOT_ROW_WISE}`);
    const out = await readOutput(output, "jsonl");
    const want = await expectedCenterer(centerer().modelDir, XS);
    expect(out.names).toEqual(["centered"]);
    (out.columns[0] as number[]).forEach((v, i) => expect(v).toBeCloseTo(want.columns[0]?.[i] as number, 12));
  });
});
