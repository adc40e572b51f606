// `pipeserve predict --workers N` of a JSON Lines file large enough to be cut into blocks that the
// threads parse themselves (over 16,384 lines), as the built bin in real child processes: the
// output and the errors are those of one thread, byte for byte, with blank lines, CRLF and NaN
// tokens in the file; a line that is not JSON stops both runs with the same message, naming its line.
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

/** JSON Lines of `x` and a `note`, a blank line every 1,000 rows and (`nan`) a NaN every 777; `at` replaces some rows' lines. */
function jsonl(lineEnd: "\n" | "\r\n", at: Record<number, string> = {}, nan = false): string {
  const lines: string[] = [];
  for (let i = 0; i < ROWS; i++) {
    if (i % 1000 === 999) lines.push("");
    lines.push(at[i] ?? (nan && i % 777 === 0 ? `{"x": NaN, "note": "n${i}"}` : JSON.stringify({ x: ((i % 97) - 40) / 8, note: `line "${i}"` })));
  }
  return lines.join(lineEnd) + lineEnd;
}

function predict(args: readonly string[]): Promise<CliResult> {
  return predictBin(scaler(), args);
}

/** Predicts `text` as a JSON Lines file with --workers 1 and 2 (and `extra`), each into a folder of its own. */
function both(text: string | Uint8Array, extra: readonly string[] = []): Promise<{ one: CliResult; two: CliResult; dirs: [string, string] }> {
  return predictOneAndTwoThreads(scaler(), "in.jsonl", text, extra);
}

describe.concurrent("predict --workers 2 of a JSON Lines file in blocks: what one thread writes", SLOW, () => {
  // Found by an audit: Latin-1 bytes were read as U+FFFD without a word (and predicted otherwise),
  // where `serve` refuses the same bytes. The thread's block is given back; the one pass names the line.
  it("a Latin-1 byte at row 30,001: both runs refuse it naming the same line, no output", async () => {
    await expectLatin1Refused(scaler(), "in.jsonl", jsonl("\n", { 30_000: '{"x": 1.5, "note": "Dr\u00e9am"}' }));
  });

  it.each(["\n", "\r\n"] as const)(
    "line ends %j: the same bytes in input order (missing values set aside), and the summary names the threads",
    async (lineEnd) => {
      const { one, two, dirs } = await both(jsonl(lineEnd, {}, true), ["--row-number", "row", "--on-error", "skip"]);
      expectSuccess(one);
      expectSuccess(two);
      if (availableParallelism() > 1) expect(two.stderr).toContain(", 2 threads)");
      const [a, b] = [await readFile(join(dirs[0], "out.csv"), "utf8"), await readFile(join(dirs[1], "out.csv"), "utf8")];
      expect(b).toBe(a);
      expect(await readFile(join(dirs[1], "out.csv.errors.jsonl"), "utf8")).toBe(await readFile(join(dirs[0], "out.csv.errors.jsonl"), "utf8"));
      expect(b.trim().split("\n").length).toBeGreaterThan(ROWS * 0.9);
    },
  );

  it("a line that is not JSON at row 30,000: both stop with the same message naming its line; no output", async () => {
    const { one, two, dirs } = await both(jsonl("\n", { 30_000: '{"x": 1.5, "note": ' }));
    expectFailure(one, 1, "JSON Lines line 30031 is not valid JSON");
    expect(two.code).toBe(1);
    expect(two.stderr).toBe(one.stderr);
    expect(await readdir(dirs[1])).toEqual([]);
  });

  it("a bad value at row 25,001: both stop at that row with the same message", async () => {
    const { one, two } = await both(jsonl("\n", { 25_000: '{"x": "abc", "note": "bad"}' }));
    expectFailure(one, 1, "Stopped at a bad input row", "25001");
    expect(two.code).toBe(1);
    expect(two.stderr).toBe(one.stderr);
  });
});

describe.concurrent("predict --workers 2 of small JSON Lines files (one block, or none): what one thread writes", SLOW, () => {
  it.each([
    ["empty", ""],
    ["a byte-order mark alone", "\ufeff"],
    ["a line of U+00A0 alone", "\u00a0\n"],
    ["blank lines", "\n\n  \n"],
    ["a hundred rows", Array.from({ length: 100 }, (_, i) => JSON.stringify({ x: i / 4, note: "n" })).join("\n")],
  ])("%s: the same exit, messages and output files, as CSV and Arrow", async (_name, text) => {
    for (const format of ["csv", "arrow"]) {
      const dir = await tempDir("pipeserve-jsonl-small-");
      const input = join(dir, "in.jsonl");
      await writeFile(input, text);
      const runs = await Promise.all([1, 2].map((n) => predict(["-i", input, "-o", join(dir, `out-${n}.${format}`), "--workers", String(n)])));
      expect(runs[1]?.code, runs[1]?.stderr).toBe(runs[0]?.code);
      const summary = (r: CliResult | undefined): string => (r?.stderr ?? "").replace(/in [\d.]+ s \(\d+ rows\/s\)/, "").replaceAll(/out-\d/g, "out");
      expect(summary(runs[1])).toBe(summary(runs[0]));
      const files = await readdir(dir);
      expect(files.includes(`out-2.${format}`)).toBe(files.includes(`out-1.${format}`));
      if (files.includes(`out-1.${format}`)) expect(await readFile(join(dir, `out-2.${format}`))).toEqual(await readFile(join(dir, `out-1.${format}`)));
    }
  });
});

describe("predict without --workers of JSON Lines", SLOW, () => {
  it("a file of 64 MiB is predicted in one thread per core", async () => {
    const dir = await tempDir("pipeserve-jsonl-default-");
    const big = join(dir, "big.jsonl");
    const line = '{"x": 1.25, "note": "a note that pads the line to some length"}\n';
    const rows = Math.ceil((64 * 1024 * 1024) / line.length);
    await writeFile(big, line.repeat(rows));
    const result = await predict(["-i", big, "-o", join(dir, "out.csv")]);
    expectSuccess(result);
    expect(result.stderr).toContain(`read ${rows} rows, wrote ${rows} predictions`);
    if (availableParallelism() > 1) expect(result.stderr).toContain(`, ${availableParallelism()} threads)`);
  });
});
