// Outputs appear only when complete: a real `pipeserve predict` over a large input, stopped in
// the middle by SIGTERM, SIGINT, a bad row or SIGKILL, never leaves a file under the output name.
// The signalled runs are the built bin in a real process; the bad row runs in-process.
import { existsSync } from "node:fs";
import { readdir, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { beforeAll, describe, expect, it } from "vitest";
import { SCALER_PROJECT, ensureBuilt, expectFailure, runCli, startCli, tempDir, useTrainedModel, type CliResult } from "./helpers.js";

const scaler = useTrainedModel(SCALER_PROJECT);
const ROWS = 2_000_000;
/** Row (1-based) of the one bad cell in `badCsv`, many chunks in. */
const BAD_ROW = 10_001;
let bigCsv: string;
let badCsv: string;

/** CSV text of x values for rows [from, to), with `bad` at row `badRow` (1-based) if given. */
function csvRows(from: number, to: number, badRow?: number): string {
  const lines: string[] = [];
  for (let i = from; i < to; i++) lines.push(i + 1 === badRow ? "abc" : String((i % 97) / 8));
  return lines.join("\n") + "\n";
}

beforeAll(async () => {
  await ensureBuilt();
  const dir = await tempDir();
  bigCsv = join(dir, "big.csv");
  const parts = ["x\n"];
  for (let from = 0; from < ROWS; from += 200_000) parts.push(csvRows(from, Math.min(ROWS, from + 200_000)));
  await writeFile(bigCsv, parts.join(""));
  badCsv = join(dir, "bad.csv");
  await writeFile(badCsv, "x\n" + csvRows(0, 12_000, BAD_ROW));
}, 120_000);

/** Polls `dir` until a non-empty hidden `.partial` is there: the run is writing its output. */
async function waitForPartial(dir: string, done: Promise<unknown>): Promise<string> {
  let finished = false;
  void done.then(() => (finished = true));
  for (;;) {
    for (const name of await readdir(dir)) {
      if (name.endsWith(".partial") && (await stat(join(dir, name)).catch(() => undefined))?.size) return name;
    }
    if (finished) throw new Error("the run ended before it wrote anything");
    await sleep(20);
  }
}

/** Starts a long run into a fresh dir, waits until its output is partly written, and sends `signal`. */
async function interrupt(signal: NodeJS.Signals): Promise<{ result: CliResult; dir: string; output: string; partial: string }> {
  const dir = await tempDir("pipeserve-batch-kill-");
  const output = join(dir, "out.csv");
  const { child, done } = startCli([
    "predict",
    "-m",
    scaler().modelUri,
    "--tracking-uri",
    scaler().trackingDir,
    "-i",
    bigCsv,
    "-o",
    output,
    "--chunk-rows",
    "1000",
  ]);
  const partial = await waitForPartial(dir, done);
  child.kill(signal);
  return { result: await done, dir, output, partial };
}

describe("an interrupted run leaves no file under the output name", { timeout: 90_000 }, () => {
  it.each(["SIGTERM", "SIGINT"] as const)("%s mid-run: exit 1, says so, and removes the partial output", async (signal) => {
    const { result, dir, output } = await interrupt(signal);
    expectFailure(result, 1, `pipeserve: Interrupted by ${signal}; the partial output was removed.`);
    expect(result.signal).toBeNull();
    expect(result.stderr).not.toContain("wrote 2000000 predictions");
    expect(existsSync(output)).toBe(false);
    expect(await readdir(dir), "no .partial left either").toEqual([]);
  });

  it("a bad row many chunks in (after 10 chunks were written): exit 1 naming it, and the partial output removed", async () => {
    const dir = await tempDir("pipeserve-batch-kill-");
    const output = join(dir, "out.parquet");
    const result = await runCli([
      "predict",
      "-m",
      scaler().modelUri,
      "--tracking-uri",
      scaler().trackingDir,
      "-i",
      badCsv,
      "-o",
      output,
      "--chunk-rows",
      "1000",
    ]);
    expectFailure(result, 1, `row ${BAD_ROW} holds "abc"`, "column x", "Stopped at a bad input row");
    expect(await readdir(dir)).toEqual([]);
  });

  // NB: SIGKILL cannot be handled, so nothing removes the temporary file: a hidden
  // `.OUTPUT.<random>.partial` may remain beside the output. The output name itself is never
  // written until the final rename, so it still does not exist.
  it("SIGKILL mid-run: no file under the output name (the hidden .partial may remain)", async () => {
    const { result, dir, output, partial } = await interrupt("SIGKILL");
    expect(result.code).toBeNull();
    expect(result.signal).toBe("SIGKILL");
    expect(existsSync(output)).toBe(false);
    expect(partial).toMatch(/^\.out\.csv\.[0-9a-f]{12}\.partial$/);
    expect((await readdir(dir)).filter((n) => !n.endsWith(".partial"))).toEqual([]);
  });
});
