// `pipeserve predict` on files it may not read or folders it may not write (issue 14, item 11),
// as the built bin in a real process: exit 1, one line naming the path and the fix, no crash, no
// stack, nothing written. Permissions do not bind root, so when the tests run as root the bin runs
// as `nobody` (uid 65534), with the model made readable to it. Also the faults that crashed the
// real process with an unhandled 'error' event (a missing file, a folder), checked in one.
import { spawn } from "node:child_process";
import { chmod, mkdir, readdir } from "node:fs/promises";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { finished } from "../fixtures/cli.js";
import { BIN, FORMATS, SCALER_COLUMNS_PROJECT, XS, tempDir, useBuiltBin, useTrainedModel, writeInput, xTable } from "./helpers.js";

useBuiltBin();
const scaler = useTrainedModel(SCALER_COLUMNS_PROJECT);
const AS_ROOT = process.getuid?.() === 0;
const NOBODY = 65534;
let dir: string;

/** A temp dir the bin's user may read (and, with `writable`, write). */
async function sharedDir(writable = false): Promise<string> {
  const d = await tempDir("pipeserve-batch-perm-");
  await chmod(d, writable ? 0o777 : 0o755);
  return d;
}

/** Makes a tree readable to every user (the trained model, for `nobody`). */
async function readableTree(root: string): Promise<void> {
  await chmod(root, 0o755);
  for (const entry of await readdir(root, { withFileTypes: true, recursive: true })) {
    await chmod(join(entry.parentPath, entry.name), entry.isDirectory() ? 0o755 : 0o644);
  }
}

beforeAll(async () => {
  await readableTree(scaler().trackingDir);
  dir = await sharedDir();
  for (const format of FORMATS) {
    const input = await writeInput(join(dir, `locked.${format}`), xTable(XS), format);
    await chmod(input, 0o000);
  }
  await writeInput(join(dir, "good.csv"), xTable(XS), "csv");
  await chmod(join(dir, "good.csv"), 0o644);
  await mkdir(join(dir, "folder.csv"));
}, 120_000);

/** Runs the built bin's `predict` (as `nobody` when the tests run as root). */
async function predict(input: string, output: string): Promise<{ code: number | null; stderr: string; stdout: string }> {
  const env = { ...process.env };
  delete env["PIPESERVE_DEBUG"];
  delete env["MLFLOW_TRACKING_URI"];
  const child = spawn(process.execPath, [BIN, "predict", "-m", scaler().modelUri, "--tracking-uri", scaler().trackingDir, "-i", input, "-o", output], {
    env,
    stdio: ["ignore", "pipe", "pipe"],
    ...(AS_ROOT ? { uid: NOBODY, gid: NOBODY } : {}),
  });
  const r = await finished(child);
  return { code: r.code, stderr: r.stderr.toString("utf8"), stdout: r.stdout.toString("utf8") };
}

function expectOneLine(result: { code: number | null; stderr: string; stdout: string }, text: string): void {
  expect(result.code, `exit code (stderr: ${result.stderr})`).toBe(1);
  expect(result.stderr.trimEnd().split("\n"), "one line: no stack, no crash").toHaveLength(1);
  expect(result.stderr).toContain(text);
  expect(result.stderr).not.toContain("Unhandled 'error' event");
  expect(result.stdout).toBe("");
}

describe.concurrent("files the bin may not read or write", { timeout: 60_000 }, () => {
  it.each(FORMATS)("an unreadable %s input (chmod 000): exit 1 naming it, nothing written", async (format) => {
    const out = await sharedDir(true);
    const input = join(dir, `locked.${format}`);
    expectOneLine(await predict(input, join(out, "out.csv")), `pipeserve: Cannot read ${input}: permission denied. Make it readable (chmod +r ${input})`);
    expect(await readdir(out)).toEqual([]);
  });

  it("an output folder that may not be written (chmod 555): exit 1 naming it, nothing written", async () => {
    const out = await sharedDir();
    await chmod(out, 0o555);
    const output = join(out, "out.csv");
    expectOneLine(await predict(join(dir, "good.csv"), output), `pipeserve: Cannot write ${output}: the folder ${out} is not writable (permission denied).`);
    expect(await readdir(out)).toEqual([]);
  });

  it.each([
    ["a missing input", "missing.csv", "there is no such file."],
    ["a folder as input", "folder.csv", "it is a folder, not a file."],
  ])("%s: exit 1 naming it, no unhandled 'error' event, no .partial", async (_why, name, problem) => {
    const out = await sharedDir(true);
    expectOneLine(await predict(join(dir, name), join(out, "out.csv")), `pipeserve: Cannot read ${join(dir, name)}: ${problem}`);
    expect(await readdir(out)).toEqual([]);
  });
});
