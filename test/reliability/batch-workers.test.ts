// `pipeserve predict --workers N` as the built bin in real child processes: the output of any N is
// the output of one thread, byte for byte and in order (chunks of 3 rows, so several jobs each); a
// bad row or a failing model ends the run as on one thread; a thread that dies is an error naming
// it; a damaged Parquet page fails as on one thread; bad values of the flag are usage errors.
import { readFile, readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import {
  CENTERER_PROJECT,
  ROOT,
  SCALER_PROJECT,
  XS,
  expectFailure,
  expectSuccess,
  expectedScaler,
  readOutput,
  runBinCli,
  tempDir,
  useBuiltBin,
  useTrainedModel,
  writeInput,
  writeParquetGroups,
  xTable,
  type CliResult,
  type TrainedModel,
} from "../batch/helpers.js";

useBuiltBin();
const scaler = useTrainedModel(SCALER_PROJECT);
const centerer = useTrainedModel(CENTERER_PROJECT);
const exiter = useTrainedModel(join(ROOT, "test/fixtures/projects/exiter"));
const SLOW = { timeout: 90_000 };
let dir: string;
const inputs = {} as Record<"csv" | "parquet" | "groups" | "bad" | "throws" | "dies", string>;

beforeAll(async () => {
  dir = await tempDir();
  inputs.csv = await writeInput(join(dir, "xs.csv"), xTable(XS), "csv");
  // NB: row groups of 7 rows (7, 7, 6), which chunks of 3 rows straddle.
  inputs.parquet = join(dir, "xs.parquet");
  await writeParquetGroups(inputs.parquet, xTable(XS), 7);
  // NB: ten row groups of 2 rows: enough for a job per group with 2 threads (each group decoded once).
  inputs.groups = join(dir, "groups.parquet");
  await writeParquetGroups(inputs.groups, xTable(XS), 2);
  inputs.bad = join(dir, "bad.csv");
  await writeFile(inputs.bad, ["x", ...Array.from({ length: 50 }, (_, i) => (i === 37 ? "abc" : String(i / 10)))].join("\n") + "\n");
  const xs = (special: number): string => ["x", ...Array.from({ length: 30 }, (_, i) => (i === 17 ? special : i + 0.5))].join("\n") + "\n";
  inputs.throws = join(dir, "throws.csv");
  await writeFile(inputs.throws, xs(777));
  inputs.dies = join(dir, "dies.csv");
  await writeFile(inputs.dies, xs(666));
}, 120_000);

function predict(model: TrainedModel, args: readonly string[]): Promise<CliResult> {
  return runBinCli(["predict", "-m", model.modelUri, "--tracking-uri", model.trackingDir, ...args]);
}

/** Predicts `input` into a new folder with each number of workers; the outputs' bytes, and the folders. */
async function outputs(input: string, format: string, workers: readonly number[], extra: readonly string[] = []): Promise<{ bytes: Buffer[]; dirs: string[] }> {
  const dirs = await Promise.all(workers.map(() => tempDir("pipeserve-workers-")));
  const results = await Promise.all(
    workers.map((n, i) =>
      predict(scaler(), ["-i", input, "-o", join(dirs[i] as string, `out.${format}`), "--chunk-rows", "3", "--workers", String(n), ...extra]),
    ),
  );
  for (const r of results) expectSuccess(r);
  return { bytes: await Promise.all(dirs.map((d) => readFile(join(d, `out.${format}`)))), dirs };
}

describe.concurrent("the same output for any number of workers", SLOW, () => {
  it.each([
    // NB: each case is CLI processes with threads; fewer cases keep the suite within its budget on 2 cores.
    // CSV stands for every format the main thread reads and sends over (JSON Lines, Arrow alike);
    // Parquet for the row groups each thread decodes itself. The output is encoded on the main thread whatever N.
    ["csv", "csv", [1, 2]],
    ["parquet", "arrow", [1, 3]],
    ["groups", "csv", [1, 2]],
  ] as const)("%s → %s: --workers %j write the same bytes, rows in input order", async (from, to, workers) => {
    const { bytes, dirs } = await outputs(inputs[from], to, workers);
    for (const [i, n] of workers.entries()) expect(bytes[i]?.equals(bytes[0] as Buffer), `--workers ${n}`).toBe(true);
    expect(await readOutput(join(dirs[1] as string, `out.${to}`), to)).toEqual(await expectedScaler(scaler().modelDir, XS));
  });

  it("--shard and --row-number: the same rows, numbered as on one thread", async () => {
    const { bytes } = await outputs(inputs.parquet, "csv", [1, 2], ["--shard", "2/3", "--row-number", "row"]);
    expect(bytes[1]?.equals(bytes[0] as Buffer)).toBe(true);
    expect(bytes[0]?.toString("utf8").split("\n")[1]?.startsWith("7,"), "the shard (rows 7–13) starts at row 7").toBe(true);
  });

  it("--on-error skip: the same output and the same bad rows set aside", async () => {
    const { bytes, dirs } = await outputs(inputs.bad, "csv", [1, 2], ["--on-error", "skip"]);
    expect(bytes[1]?.equals(bytes[0] as Buffer)).toBe(true);
    const errors = await Promise.all(dirs.map((d) => readFile(join(d, "out.csv.errors.jsonl"), "utf8")));
    expect(errors[1]).toBe(errors[0]);
    expect(errors[0]).toContain('"row":38');
  });
});

describe.concurrent("failures", SLOW, () => {
  it("a bad row stops the run with the message of one thread, exit 1, no output", async () => {
    const dirs = await Promise.all([1, 2].map(() => tempDir("pipeserve-workers-")));
    const [one, two] = await Promise.all(
      [1, 2].map((n, i) => predict(scaler(), ["-i", inputs.bad, "-o", join(dirs[i] as string, "out.csv"), "--chunk-rows", "5", "--workers", String(n)])),
    );
    expectFailure(one as CliResult, 1, "Stopped at a bad input row", "row 38");
    expect(two?.code).toBe(1);
    expect(two?.stderr).toBe(one?.stderr);
    for (const d of dirs) expect(await readdir(d)).toEqual([]);
  });

  it("a model that throws in a worker fails as on one thread: exit 1, its message, no output", async () => {
    const dirs = await Promise.all([1, 2].map(() => tempDir("pipeserve-workers-")));
    const [one, two] = await Promise.all(
      [1, 2].map((n, i) => predict(exiter(), ["-i", inputs.throws, "-o", join(dirs[i] as string, "out.csv"), "--chunk-rows", "4", "--workers", String(n)])),
    );
    expectFailure(one as CliResult, 1, "x = 777 is refused by this model.");
    expect(two?.code).toBe(1);
    expect(two?.stderr).toBe(one?.stderr);
    for (const d of dirs) expect(await readdir(d)).toEqual([]);
  });

  it.each([
    ["a Parquet page the decoder panics on", "panicking-page.parquet"],
    ["a Parquet footer the decoder panics on (counted without it)", "panicking-footer.parquet"],
  ])("%s: the message of one thread at any --workers, not a worker failure blamed on the model; exit 1, no output", async (_what, file) => {
    const damaged = join(ROOT, "test/fixtures/parquet", file);
    const dirs = await Promise.all([1, 2].map(() => tempDir("pipeserve-workers-")));
    const [one, two] = await Promise.all(
      [1, 2].map((n, i) => predict(scaler(), ["-i", damaged, "-o", join(dirs[i] as string, "out.csv"), "--chunk-rows", "1", "--workers", String(n)])),
    );
    expectFailure(one as CliResult, 1, `Could not read the Parquet file ${damaged}: unreachable`);
    expect(two?.code).toBe(1);
    expect(two?.stderr).toBe(one?.stderr);
    for (const d of dirs) expect(await readdir(d)).toEqual([]);
  });

  it("a worker thread that dies is an error naming it and the rows it had: exit 1, no output", async () => {
    const d = await tempDir("pipeserve-workers-");
    const result = await predict(exiter(), ["-i", inputs.dies, "-o", join(d, "out.csv"), "--chunk-rows", "4", "--workers", "2"]);
    expectFailure(result, 1, /Prediction worker thread [12] of 2 stopped with exit code 7 while predicting rows 17–20\./, "Run with --workers 1");
    expect(await readdir(d)).toEqual([]);
  });

  it.each(["0", "1.5", "two"])("--workers %j → exit 2, a usage error saying what it takes", async (value) => {
    const result = await predict(scaler(), ["-i", inputs.csv, "-o", join(dir, "never.csv"), "--workers", value]);
    expectFailure(result, 2, "--workers must be a whole number of at least 1");
    expect(result.stderr).toContain(`got "${value}"`);
  });
});

describe.concurrent("one thread when workers cannot help", SLOW, () => {
  it("a model that is not row-wise: --workers 2 says it predicts on one thread; the default says nothing of workers", async () => {
    const d = await tempDir("pipeserve-workers-");
    const [asked, unasked] = await Promise.all([
      predict(centerer(), ["-i", inputs.csv, "-o", join(d, "a.csv"), "--chunk-rows", "3", "--workers", "2"]),
      predict(centerer(), ["-i", inputs.csv, "-o", join(d, "b.csv"), "--chunk-rows", "3"]),
    ]);
    expectSuccess(asked);
    expectSuccess(unasked);
    expect(asked.stderr).toContain("--workers 2: the model is not row-wise (row_wise: false), so one thread predicts it.");
    expect(unasked.stderr).not.toContain("--workers");
    expect(await readFile(join(d, "a.csv"), "utf8")).toBe(await readFile(join(d, "b.csv"), "utf8"));
  });

  it("--help describes --workers", async () => {
    const result = await runBinCli(["predict", "--help"]);
    expect(result.code).toBe(0);
    expect(result.stdout.toString("utf8")).toMatch(/--workers <n>\s+threads that predict chunks/);
  });
});
