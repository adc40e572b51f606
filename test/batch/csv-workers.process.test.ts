// `pipeserve predict --workers N` of CSV files large enough to be cut into blocks that the threads
// parse themselves (over 16,384 records, two columns or more), as the built bin in real child
// processes: the output, the bad rows set aside and the errors are those of one thread, byte for
// byte, with quotes, line ends inside quotes and CRLF in the file, and with text that is not plain
// CSV from the middle on (read on by the main thread, as one thread reads it). Without --workers, a
// file of 32 MiB or more is predicted in one thread per core, a small one on the main thread.
import { execFileSync } from "node:child_process";
import { readFile, readdir, writeFile } from "node:fs/promises";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  type CliResult,
  SCALER_COLUMNS_PROJECT,
  expectFailure,
  expectSuccess,
  predictBin,
  predictOneAndTwoThreads,
  tempDir,
  expectLatin1Refused,
  useBuiltBin,
  useTrainedModel,
} from "./helpers.js";

useBuiltBin();
const scaler = useTrainedModel(SCALER_COLUMNS_PROJECT);
const SLOW = { timeout: 120_000 };
const ROWS = 40_000;

/** A CSV of `x` and a text `note` (quoted, with delimiters, quotes and line ends in it every few rows); `at` replaces some rows' lines. */
function csv(lineEnd: "\n" | "\r\n", at: Record<number, string> = {}): string {
  const lines = ["x,note"];
  for (let i = 0; i < ROWS; i++) {
    const note = i % 7 === 0 ? `"a, ""quoted""${lineEnd}note ${i}"` : i % 5 === 0 ? "" : `n${i}`;
    lines.push(at[i] ?? `${((i % 97) - 40) / 8},${note}`);
  }
  return lines.join(lineEnd) + lineEnd;
}

function predict(args: readonly string[]): Promise<CliResult> {
  return predictBin(scaler(), args);
}

/** Predicts `text` as a CSV file with --workers 1 and 2 (and `extra`), each into a folder of its own. */
function both(text: string | Uint8Array, extra: readonly string[] = []): Promise<{ one: CliResult; two: CliResult; dirs: [string, string] }> {
  return predictOneAndTwoThreads(scaler(), "in.csv", text, extra);
}

const files = async (dir: string): Promise<Record<string, string>> => {
  const names = (await readdir(dir)).sort();
  return Object.fromEntries(await Promise.all(names.map(async (n) => [n, await readFile(join(dir, n), "utf8")] as const)));
};

describe.concurrent("predict --workers 2 of a CSV file in blocks: what one thread writes", SLOW, () => {
  it.each(["\n", "\r\n"] as const)("line ends %j, quoted notes: the same bytes, in input order, and the summary names the threads", async (lineEnd) => {
    const { one, two, dirs } = await both(csv(lineEnd), ["--row-number", "row"]);
    expectSuccess(one);
    expectSuccess(two);
    expect(one.stderr).not.toContain("threads");
    if (availableParallelism() > 1) expect(two.stderr).toContain(", 2 threads)");
    const [a, b] = [await files(dirs[0]), await files(dirs[1])];
    expect(Object.keys(b)).toEqual(["out.csv"]);
    expect(b["out.csv"]).toBe(a["out.csv"]);
    const lines = (b["out.csv"] as string).trim().split("\n");
    expect(lines).toHaveLength(ROWS + 1);
    expect(lines[0]).toBe("row,label,score");
    expect(lines.slice(1).map((l) => Number(l.split(",")[0]))).toEqual(Array.from({ length: ROWS }, (_, i) => i + 1));
  });

  it.each(["jsonl", "parquet"] as const)(
    "into %s, and as CSV on stdout: the same bytes as one thread (threads encode text outputs themselves)",
    async (format) => {
      const dir = await tempDir("pipeserve-csv-formats-");
      const input = join(dir, "in.csv");
      await writeFile(input, csv("\n"));
      const runs = await Promise.all(
        [1, 2].flatMap((n) => [
          predict(["-i", input, "-o", join(dir, `out-${n}.${format}`), "--workers", String(n)]),
          predict(["-i", input, "-o", "-", "--output-format", "csv", "--workers", String(n)]),
        ]),
      );
      for (const run of runs) expect(run.code, run.stderr).toBe(0);
      expect(await readFile(join(dir, `out-2.${format}`))).toEqual(await readFile(join(dir, `out-1.${format}`)));
      const [, stdoutOne, , stdoutTwo] = runs;
      expect(stdoutTwo?.stdout.toString("utf8")).toBe(stdoutOne?.stdout.toString("utf8"));
      expect(stdoutTwo?.stdout.toString("utf8").split("\n")).toHaveLength(ROWS + 2);
    },
  );

  it("a bad value at row 30,001 stops both runs at that row, with the same message; --on-error skip sets the same rows aside", async () => {
    const bad = csv("\n", { 30_000: "abc,x", 35_000: "1e999x,y" });
    const stopped = await both(bad);
    expectFailure(stopped.one, 1, "Stopped at a bad input row", "30001");
    expect(stopped.two.code).toBe(1);
    expect(stopped.two.stderr).toBe(stopped.one.stderr);
    expect(await readdir(stopped.dirs[1])).toEqual([]);
    const skipped = await both(bad, ["--on-error", "skip"]);
    expectSuccess(skipped.two);
    expect(await files(skipped.dirs[1])).toEqual(await files(skipped.dirs[0]));
    const errors = (await readFile(join(skipped.dirs[1], "out.csv.errors.jsonl"), "utf8")).trim().split("\n");
    expect(errors.map((l) => (JSON.parse(l) as { row: number }).row)).toEqual([30_001, 35_001]);
  });

  // Found by an audit: Latin-1 bytes were read as U+FFFD without a word (and predicted otherwise),
  // where `serve` refuses the same bytes. The thread's block is given back; the one pass names the line.
  it("a Latin-1 byte at row 30,001: both runs refuse it naming the same line, no output", async () => {
    await expectLatin1Refused(scaler(), "in.csv", csv("\n", { 30_000: "1.5,Dr\u00e9am" }));
  });

  it("text that is not plain from row 25,000 on (a stray quote): read on by the main thread, the same error as one thread, naming the same line", async () => {
    const stray = csv("\n", { 25_000: '1.5,ab"c' });
    const { one, two, dirs } = await both(stray);
    expectFailure(one, 1, "Could not parse the CSV input");
    expect(two.code).toBe(1);
    expect(two.stderr).toBe(one.stderr);
    expect(await readdir(dirs[1])).toEqual([]);
  });

  it("mixed line ends from the middle on (CRLF, then LF): not plain there, read on by the main thread; the same bytes", async () => {
    const crlf = csv("\r\n");
    const cut = crlf.indexOf("\r\n", crlf.length / 2);
    const { one, two, dirs } = await both(crlf.slice(0, cut) + crlf.slice(cut).replaceAll("\r\n", "\n"));
    expectSuccess(one);
    expectSuccess(two);
    expect(await files(dirs[1])).toEqual(await files(dirs[0]));
  });
});

describe.concurrent("predict --workers 2 of CSV files that are not cut into blocks: what one thread does", SLOW, () => {
  it("a header that names a column twice: the same refusal, no thread failure", async () => {
    const { one, two, dirs } = await both(csv("\n").replace("x,note", "x,x"));
    expectFailure(one, 1, 'names the column "x" twice');
    expect(two.code).toBe(1);
    expect(two.stderr).toBe(one.stderr);
    expect(await readdir(dirs[1])).toEqual([]);
  });

  it("a header, then only blank lines: the model's columns with no rows, as one thread writes them", async () => {
    const { one, two, dirs } = await both(`x,note\n${"\n".repeat(40_000)}`);
    expectSuccess(one);
    expectSuccess(two);
    expect(await files(dirs[1])).toEqual({ "out.csv": "label,score\n" });
    expect(await files(dirs[0])).toEqual({ "out.csv": "label,score\n" });
  });

  it("a named pipe (no places to read blocks at): read in one pass, the same bytes", async () => {
    const dir = await tempDir("pipeserve-csv-fifo-");
    const text = csv("\n");
    const out = await Promise.all(
      [1, 2].map(async (n) => {
        const fifo = join(dir, `in-${n}.csv`);
        execFileSync("mkfifo", [fifo]);
        const run = predict(["-i", fifo, "-o", join(dir, `out-${n}.csv`), "--workers", String(n)]);
        await writeFile(fifo, text);
        const result = await run;
        expectSuccess(result);
        return readFile(join(dir, `out-${n}.csv`), "utf8");
      }),
    );
    expect(out[1]).toBe(out[0]);
    expect(out[0]?.split("\n")).toHaveLength(ROWS + 2);
  });
});

describe("predict without --workers: threads for large files only", SLOW, () => {
  it("a CSV file of 32 MiB is predicted in one thread per core; the same file cut small on the main thread", async () => {
    const dir = await tempDir("pipeserve-csv-default-");
    const big = join(dir, "big.csv");
    const row = "1.25,a note that pads the row to some length\n";
    const rows = Math.ceil((32 * 1024 * 1024) / row.length);
    await writeFile(big, "x,note\n" + row.repeat(rows));
    const small = join(dir, "small.csv");
    await writeFile(small, "x,note\n" + row.repeat(30_000));
    const [large, little] = await Promise.all([predict(["-i", big, "-o", join(dir, "big-out.csv")]), predict(["-i", small, "-o", join(dir, "small-out.csv")])]);
    expectSuccess(large);
    expectSuccess(little);
    expect(large.stderr).toContain(`read ${rows} rows, wrote ${rows} predictions`);
    if (availableParallelism() > 1) expect(large.stderr).toContain(`, ${availableParallelism()} threads)`);
    else expect(large.stderr).not.toContain("threads");
    expect(little.stderr).not.toContain("threads");
  });
});
