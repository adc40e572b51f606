// `pipeserve predict` given paths that cannot work, as a new user types them (issue 14, item 11):
// a missing input, a folder, an empty file — in every input format — and an output whose folder
// does not exist or is not one. Each is exit 1 and one line naming the path and the fix: no
// crash, no stack (unless PIPESERVE_DEBUG=1), nothing written. In-process; the permission cases,
// which need another user when the tests run as root, are in faults.process.test.ts.
import { mkdir, readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { FORMATS, SCALER_PROJECT, XS, expectSuccess, runCli, tempDir, useTrainedModel, writeInput, xTable, type CliResult, type Format } from "./helpers.js";

const scaler = useTrainedModel(SCALER_PROJECT);
let dir: string;
let goodCsv: string;

beforeAll(async () => {
  dir = await tempDir();
  goodCsv = await writeInput(join(dir, "good.csv"), xTable(XS), "csv");
  for (const format of FORMATS) {
    await mkdir(join(dir, `folder.${format}`));
    await writeFile(join(dir, `empty.${format}`), "");
  }
  await writeFile(join(dir, "a-file"), "not a folder");
  await mkdir(join(dir, "taken.csv"));
});

function predict(input: string, output: string, env: Record<string, string> = {}): Promise<CliResult> {
  return runCli(["predict", "-m", scaler().modelUri, "--tracking-uri", scaler().trackingDir, "-i", input, "-o", output], { env });
}

/** Exit 1 and exactly one line on stderr holding every part; stdout empty. */
function expectOneLine(result: CliResult, ...parts: string[]): void {
  expect(result.code, `exit code (stderr: ${result.stderr})`).toBe(1);
  expect(result.stderr.trimEnd().split("\n"), "one line, no stack").toHaveLength(1);
  expect(result.stderr.startsWith("pipeserve: ")).toBe(true);
  for (const part of parts) expect(result.stderr).toContain(part);
  expect(result.stdout.length).toBe(0);
}

const INPUT_FAULTS = FORMATS.flatMap((format: Format) => [
  [format, "a missing file", `missing.${format}`, "there is no such file. Check the path"],
  [format, "a folder (with a slash)", `folder.${format}/`, "it is a folder, not a file. Name one file in it."],
  [format, "a folder", `folder.${format}`, "it is a folder, not a file."],
  ...(format === "jsonl" ? [] : [[format, "an empty file", `empty.${format}`, "the file is empty (0 bytes)"]]),
]) as [Format, string, string, string][];

describe.concurrent("an input that cannot be read: exit 1, one line naming it, nothing written", { timeout: 60_000 }, () => {
  it.each(INPUT_FAULTS)("%s, %s", async (_format, _why, name, problem) => {
    const out = await tempDir("pipeserve-batch-faults-");
    const input = join(dir, name);
    expectOneLine(await predict(input, join(out, "out.csv")), `Cannot read ${input}: ${problem}`);
    expect(await readdir(out), "no output, no .partial").toEqual([]);
  });

  it("an empty JSON Lines file is no lines, so no rows: an empty output", async () => {
    const out = await tempDir("pipeserve-batch-faults-");
    const result = await predict(join(dir, "empty.jsonl"), join(out, "out.jsonl"));
    expectSuccess(result);
    expect(result.stderr).toContain("read 0 rows, wrote 0 predictions");
    expect(await readdir(out)).toEqual(["out.jsonl"]);
  });

  it("PIPESERVE_DEBUG=1 adds the stack", async () => {
    const result = await predict(join(dir, "missing.csv"), join(await tempDir("pipeserve-batch-faults-"), "out.csv"), { PIPESERVE_DEBUG: "1" });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("Cannot read");
    expect(result.stderr).toMatch(/\n\s+at /);
  });
});

describe.concurrent("an output that cannot be written: exit 1, one line naming it, nothing written", { timeout: 60_000 }, () => {
  it.each([
    [
      "its folder does not exist",
      (d: string) => join(d, "missing", "out.csv"),
      (d: string) => `the folder ${join(d, "missing")} does not exist. Create it first.`,
    ],
    ["its folder does not exist (JSON)", (d: string) => join(d, "missing", "out.json"), (d: string) => `the folder ${join(d, "missing")} does not exist.`],
    ["its folder is a file", (d: string) => join(d, "a-file", "out.csv"), (d: string) => `${join(d, "a-file")} is a file, not a folder. Check the path.`],
    ["it is a folder", (d: string) => join(d, "taken.csv"), () => "it is a folder. Name a file"],
  ] as const)("%s", async (_why, output, problem) => {
    const before = (await readdir(dir)).sort();
    expectOneLine(await predict(goodCsv, output(dir)), `Cannot write ${output(dir)}: ${problem(dir)}`);
    expect((await readdir(dir)).sort(), "nothing written, no .partial").toEqual(before);
  });
});
