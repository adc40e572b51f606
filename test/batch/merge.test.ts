// `pipeserve predict --merge N` (issue 19): the output parts of `predict --shard i/N` joined in
// order are the unsharded output, in every part format; a missing part, parts with other columns,
// or flags that make no sense with --merge stop it with a message and leave no output behind.
import { existsSync } from "node:fs";
import { readdir, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import type { ColumnTable } from "../../src/index.js";
import { SCALER_PROJECT, expectFailure, expectSuccess, readOutput, runCli, tempDir, useTrainedModel, writeInput, xTable } from "./helpers.js";

const scaler = useTrainedModel(SCALER_PROJECT);
let input: string;
// NB: more rows than XS, so each of 3 shards holds several.
const ROWS = Array.from({ length: 40 }, (_, i) => i / 4 - 3);

beforeAll(async () => {
  input = await writeInput(join(await tempDir(), "xs.csv"), xTable(ROWS), "csv");
}, 120_000);

function predict(args: readonly string[]) {
  return runCli(["predict", "-m", scaler().modelUri, "--tracking-uri", scaler().trackingDir, "-i", input, ...args]);
}

/** Predicts the input in `n` shards as parts `part-{shard}.<format>` in a fresh folder; returns the folder. */
async function shards(n: number, format: string): Promise<string> {
  const dir = await tempDir("pipeserve-merge-");
  for (let i = 1; i <= n; i++) expectSuccess(await predict(["--shard", `${i}/${n}`, "-o", join(dir, `part-{shard}.${format}`)]));
  return dir;
}

const SLOW = { timeout: 90_000 };

/** A merge that worked: exit 0 and its one summary line. */
function expectMerged(result: Awaited<ReturnType<typeof runCli>>, parts: number, rows: number): void {
  expect(result.code, `exit code (stderr: ${result.stderr})`).toBe(0);
  expect(result.stderr).toMatch(new RegExp(`^pipeserve: merged ${parts} parts, ${rows} rows in [\\d.]+ s; wrote [^\\n]+\\.\\n$`));
}

describe.concurrent("predict --merge", SLOW, () => {
  it.each(["csv", "jsonl", "parquet", "arrow"] as const)("%s parts joined in order are the unsharded output", async (format) => {
    const dir = await shards(3, format);
    const whole = join(dir, `whole.${format}`);
    expectSuccess(await predict(["-o", whole]));
    const merged = join(dir, `merged.${format}`);
    const result = await runCli(["predict", "--merge", "3", "-i", join(dir, `part-{shard}.${format}`), "-o", merged]);
    expectMerged(result, 3, ROWS.length);
    expect(await readOutput(merged, format)).toEqual(await readOutput(whole, format));
    if (format === "csv") expect(await readFile(merged, "utf8")).toBe(await readFile(whole, "utf8"));
  });

  it.each(["jsonl", "parquet"] as const)("%s: parts of shards with no rows (more shards than rows) add nothing, whatever they hold", async (format) => {
    // 3 rows in 5 shards: shards 1 and 3 get none.
    const dir = await tempDir("pipeserve-merge-");
    const small = await writeInput(join(dir, "three.csv"), xTable(ROWS.slice(0, 3)), "csv");
    const run = (args: readonly string[]) => runCli(["predict", "-m", scaler().modelUri, "--tracking-uri", scaler().trackingDir, "-i", small, ...args]);
    const results = await Promise.all(Array.from({ length: 5 }, (_, i) => run(["--shard", `${i + 1}/5`, "-o", join(dir, `part-{shard}.${format}`)])));
    for (const r of results) expectSuccess(r);
    // NB: part 1 as 0 bytes, as a JSON Lines shard with no rows (or a CSV one whose every row was set
    // aside) leaves it: the first part may be empty too. CSV parts take the same path.
    await writeFile(join(dir, `part-1.${format}`), "");
    const whole = join(dir, `whole.${format}`);
    expectSuccess(await run(["-o", whole]));
    const merged = join(dir, `merged.${format}`);
    expectMerged(await runCli(["predict", "--merge", "5", "-i", join(dir, `part-{shard}.${format}`), "-o", merged]), 5, 3);
    expect(await readOutput(merged, format)).toEqual(await readOutput(whole, format));
  });

  // Found by an audit: Parquet parts of no rows read back with no columns, so their merge (into any
  // format) had none either, where the unsharded run of the same input has the model's.
  it.each(["csv", "parquet"] as const)(
    "Parquet parts that all have no rows, into %s: the model's columns, as the unsharded run writes them",
    async (format) => {
      const dir = await tempDir("pipeserve-merge-");
      const none = join(dir, "none.csv");
      await writeFile(none, "x\n");
      const run = (args: readonly string[]) => runCli(["predict", "-m", scaler().modelUri, "--tracking-uri", scaler().trackingDir, "-i", none, ...args]);
      for (let i = 1; i <= 2; i++) expectSuccess(await run(["--shard", `${i}/2`, "-o", join(dir, "part-{shard}.parquet")]));
      const whole = join(dir, `whole.${format}`);
      expectSuccess(await run(["-o", whole]));
      const merged = join(dir, `merged.${format}`);
      expectMerged(await runCli(["predict", "--merge", "2", "-i", join(dir, "part-{shard}.parquet"), "-o", merged]), 2, 0);
      const out = await readOutput(merged, format);
      expect(out.names).toEqual(["label", "score"]);
      expect(out).toEqual(await readOutput(whole, format));
    },
  );

  it("to another format", async () => {
    const dir = await shards(2, "csv");
    const whole = join(dir, "whole.parquet");
    expectSuccess(await predict(["-o", whole]));
    const merged = join(dir, "merged.parquet");
    expectMerged(await runCli(["predict", "--merge", "2", "-i", join(dir, "part-{shard}.csv"), "-o", merged]), 2, ROWS.length);
    expect(await readOutput(merged, "parquet")).toEqual(await readOutput(whole, "parquet"));
  });

  it("JSON Lines parts into Parquet: a column with no value in the first part keeps the numbers of the later parts as numbers", async () => {
    const dir = await tempDir("pipeserve-merge-");
    await writeFile(join(dir, "part-1.jsonl"), '{"id":"a","score":null}\n{"id":"b","score":null}\n');
    await writeFile(join(dir, "part-2.jsonl"), '{"id":"c","score":1.5}\n{"id":"d","score":2}\n');
    const merged = join(dir, "merged.parquet");
    expectMerged(await runCli(["predict", "--merge", "2", "-i", join(dir, "part-{shard}.jsonl"), "-o", merged]), 2, 4);
    expect(await readOutput(merged, "parquet")).toEqual({
      names: ["id", "score"],
      columns: [
        ["a", "b", "c", "d"],
        [null, null, 1.5, 2],
      ],
      numRows: 4,
    });
  });

  it.each(["parquet", "arrow"] as const)(
    "%s parts into Parquet keep their integer columns' types: an Int32 stays Int32, an Int64 past 2^53 exact",
    async (format) => {
      const { arrowLib, createTableFileWriter, parquetToArrow } = await import("../../src/tabular/index.js");
      const { Int32, Int64 } = arrowLib();
      const dir = await tempDir("pipeserve-merge-");
      const write = async (n: number, columns: ColumnTable["columns"]): Promise<void> => {
        const writer = createTableFileWriter(join(dir, `part-${n}.${format}`), { types: { y: new Int32(), z: new Int64() } });
        await writer.write({ names: ["x", "y", "z"], columns, numRows: 2 });
        await writer.close();
      };
      await write(1, [
        [null, null],
        [1, 2],
        [1n, 9_007_199_254_740_993n],
      ]);
      await write(2, [
        [3.5, 4],
        [3, null],
        [-5n, null],
      ]);
      const merged = join(dir, "merged.parquet");
      expectMerged(await runCli(["predict", "--merge", "2", "-i", join(dir, `part-{shard}.${format}`), "-o", merged]), 2, 4);
      const table = parquetToArrow(new Uint8Array(await readFile(merged)));
      expect(table.schema.fields.map((f) => `${f.name}:${String(f.type)}`)).toEqual(["x:Float64", "y:Int32", "z:Int64"]);
      expect(Array.from(table.getChild("z")!.toArray() as BigInt64Array)).toEqual([1n, 9_007_199_254_740_993n, -5n, 0n]);
      expect(table.getChild("z")!.get(3)).toBeNull();
    },
  );

  it("Arrow parts: an integer type only the part with no rows has (a signature's) is not kept; a part with fractions merges as Float64", async () => {
    const { arrowLib, createTableFileWriter, parquetToArrow } = await import("../../src/tabular/index.js");
    const { Int64 } = arrowLib();
    const dir = await tempDir("pipeserve-merge-");
    const empty = createTableFileWriter(join(dir, "part-1.arrow"), { emptyTypes: { label: new Int64() } });
    await empty.write({ names: ["label"], columns: [[]], numRows: 0 });
    await empty.close();
    const full = createTableFileWriter(join(dir, "part-2.arrow"));
    await full.write({ names: ["label"], columns: [[2.5, 1]], numRows: 2 });
    await full.close();
    const merged = join(dir, "merged.parquet");
    expectMerged(await runCli(["predict", "--merge", "2", "-i", join(dir, "part-{shard}.arrow"), "-o", merged]), 2, 2);
    const table = parquetToArrow(new Uint8Array(await readFile(merged)));
    expect(table.schema.fields.map((f) => `${f.name}:${String(f.type)}`)).toEqual(["label:Float64"]);
    expect(Array.from(table.getChild("label")!.toArray() as Float64Array)).toEqual([2.5, 1]);
  });

  it("CSV into CSV keeps the parts' text as it is (leading zeros, trailing zeros, NaN, empty cells)", async () => {
    const dir = await tempDir("pipeserve-merge-");
    await writeFile(join(dir, "part-1.csv"), "id,score\n007,1.50\n");
    await writeFile(join(dir, "part-2.csv"), "id,score\n009,NaN\n010,\n");
    const merged = join(dir, "merged.csv");
    expectMerged(await runCli(["predict", "--merge", "2", "-i", join(dir, "part-{shard}.csv"), "-o", merged]), 2, 3);
    expect(await readFile(merged, "utf8")).toBe("id,score\n007,1.50\n009,NaN\n010,\n");
  });

  it("parts or an output whose extension names no format: exit 2 naming the flag that would, nothing written", async () => {
    const dir = await shards(2, "csv");
    const parts = await readdir(dir);
    const badParts = await runCli(["predict", "--merge", "2", "-i", join(dir, "part-{shard}.txt"), "-o", join(dir, "merged.csv")]);
    expectFailure(badParts, 2, 'Cannot tell the format of "part-{shard}.txt" from its extension', "or name the format with -t/--content-type.");
    const badOut = await runCli(["predict", "--merge", "2", "-i", join(dir, "part-{shard}.csv"), "-o", join(dir, "merged.out")]);
    expectFailure(badOut, 2, 'Cannot tell the format of "merged.out" from its extension', "or name the format with --output-format.");
    expect(await readdir(dir)).toEqual(parts);
  });

  it("a missing part: exit 1 naming it and the shard to run, no output", async () => {
    const dir = await shards(3, "csv");
    await rename(join(dir, "part-2.csv"), join(dir, "moved.csv"));
    const merged = join(dir, "merged.csv");
    const result = await runCli(["predict", "--merge", "3", "-i", join(dir, "part-{shard}.csv"), "-o", merged]);
    expectFailure(
      result,
      1,
      `Cannot merge: part 2 of 3 (${join(dir, "part-2.csv")}) is missing. Its shard has not finished or failed: run it (predict --shard 2/3) and merge again.`,
    );
    expect(existsSync(merged)).toBe(false);
  });

  // Found by an audit: the output could be one of the parts (overwritten with them all), and a part
  // beyond the count was left out without a word.
  it("an output that is one of the parts, or a part past the count: exit 2 naming it, the parts untouched", async () => {
    const dir = await shards(3, "csv");
    const before = await readFile(join(dir, "part-1.csv"), "utf8");
    const into = await runCli(["predict", "--merge", "3", "-i", join(dir, "part-{shard}.csv"), "-o", join(dir, ".", "part-1.csv")]);
    expectFailure(into, 2, `Cannot merge into ${join(dir, ".", "part-1.csv")}: it is part 1 of the merge.`);
    expect(await readFile(join(dir, "part-1.csv"), "utf8")).toBe(before);
    const short = await runCli(["predict", "--merge", "2", "-i", join(dir, "part-{shard}.csv"), "-o", join(dir, "merged.csv")]);
    expectFailure(short, 2, `Cannot merge 2 parts: part 3 (${join(dir, "part-3.csv")}) exists too.`);
    expect((await readdir(dir)).sort()).toEqual(["part-1.csv", "part-2.csv", "part-3.csv"]);
  });

  it("a part with other columns: exit 1 naming it, and no output nor partial file", async () => {
    const dir = await shards(2, "csv");
    await writeFile(join(dir, "part-2.csv"), "other\n1\n");
    const merged = join(dir, "merged.csv");
    const result = await runCli(["predict", "--merge", "2", "-i", join(dir, "part-{shard}.csv"), "-o", merged]);
    expectFailure(result, 1, "Cannot merge part 2");
    expect(result.stderr).toContain("its columns [other]");
    expect((await readdir(dir)).sort()).toEqual(["part-1.csv", "part-2.csv"]);
  });

  it.each([
    [["--merge", "2", "-i", "out/part.csv", "-o", "x.csv"], "with {shard} where each part's number goes"],
    [["--merge", "0", "-i", "out/part-{shard}.csv"], "--merge"],
    [["--merge", "2", "-m", "models:/m/1", "-i", "out/part-{shard}.csv"], "drop -m"],
    [["--merge", "2", "--shard", "1/2", "-i", "out/part-{shard}.csv"], "drop --shard"],
    [["--merge", "2", "-i", "-"], "reads the parts from files"],
    [["--merge", "2", "-i", "out/part-{shard}.json"], "write parts as .jsonl"],
  ])("usage %j: exit 2 naming the problem", async (args, message) => {
    const result = await runCli(["predict", ...args]);
    expectFailure(result, 2, message);
  });
});
