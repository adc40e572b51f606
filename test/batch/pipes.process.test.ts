// `pipeserve predict` where it needs a real process: the built bin reading stdin and writing
// stdout through pipes (binary formats included), bad rows on stderr beside predictions on
// stdout, and the progress bar on a pseudo-terminal.
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { lstat, open, readFile, readdir, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { encodeTable, type ColumnTable } from "../../src/index.js";
import {
  BIN,
  SCALER_COLUMNS_PROJECT,
  XS,
  decodeOutput,
  ensureBuilt,
  expectSuccess,
  expectedScaler,
  readOutput,
  runBinCli,
  tempDir,
  useTrainedModel,
  writeInput,
  xTable,
  type CliOptions,
  type CliResult,
} from "./helpers.js";

const scaler = useTrainedModel(SCALER_COLUMNS_PROJECT);
const inputs = {} as Record<"csv" | "parquet", string>;
let badCsv: string;

beforeAll(async () => {
  await ensureBuilt();
  const dir = await tempDir();
  for (const format of ["csv", "parquet"] as const) inputs[format] = await writeInput(join(dir, `xs.${format}`), xTable(XS), format);
  badCsv = join(dir, "bad.csv");
  await writeFile(badCsv, ["x", ...Array.from({ length: 50 }, (_, i) => (i === 37 ? "abc" : String(i / 10)))].join("\n") + "\n");
}, 120_000);

const expected = (margin = 0, xs: readonly number[] = XS): Promise<ColumnTable> => expectedScaler(scaler().modelDir, xs, margin);

/** `pipeserve predict -m <scaler> --tracking-uri <dir> ...args`, the built bin in a real process. */
function predict(args: readonly string[], options?: CliOptions): Promise<CliResult> {
  return runBinCli(["predict", "-m", scaler().modelUri, "--tracking-uri", scaler().trackingDir, ...args], options);
}

/** A fresh dir for one run's output. */
const outDir = (): Promise<string> => tempDir("pipeserve-batch-cli-");

// NB: every run starts a Node process that loads the model and its libraries (~1.5 s of CPU).
const SLOW = { timeout: 90_000 };

describe.concurrent("stdin and stdout", SLOW, () => {
  it("-i - -t csv reads stdin; -o - --output-format jsonl: stdout holds the predictions only, the summary goes to stderr", async () => {
    const result = await predict(["-i", "-", "-t", "csv", "-o", "-", "--output-format", "jsonl", "--chunk-rows", "7"], { stdin: await readFile(inputs.csv) });
    expectSuccess(result);
    const lines = result.stdout.toString("utf8").split("\n");
    expect(lines.pop(), "ends with a newline").toBe("");
    expect(lines).toHaveLength(20);
    for (const line of lines) expect(Object.keys(JSON.parse(line) as object)).toEqual(["label", "score"]);
    expect(decodeOutput(result.stdout, "jsonl")).toEqual(await expected());
    expect(result.stderr).toMatch(/^pipeserve: read 20 rows, wrote 20 predictions in [\d.]+ s \(\d+ rows\/s\); wrote stdout\.\n$/);
  });

  it("as `mlflow models predict`: no -o writes JSON to stdout; stdin without -t is read as JSON", async () => {
    const noOutput = await predict(["-i", inputs.csv]);
    expectSuccess(noOutput);
    expect(decodeOutput(noOutput.stdout, "json")).toEqual(await expected());
    expect(noOutput.stderr).toContain("; wrote stdout.");
    const body = JSON.stringify({ dataframe_split: { columns: ["x"], data: XS.map((x) => [x]) } });
    const fromStdin = await predict(["-i", "-", "-o", "-"], { stdin: Buffer.from(body) });
    expectSuccess(fromStdin);
    expect(JSON.parse(fromStdin.stdout.toString("utf8"))).toHaveProperty("predictions");
    expect(decodeOutput(fromStdin.stdout, "json")).toEqual(await expected());
  });

  it("binary formats through pipes: -i - -t arrow -o - --output-format arrow (a complete file, exit 0)", async () => {
    const result = await predict(["-i", "-", "-t", "arrow", "-o", "-", "--output-format", "arrow"], { stdin: encodeTable(xTable(XS), "arrows") as Uint8Array });
    expectSuccess(result);
    expect(decodeOutput(result.stdout, "arrow")).toEqual(await expected());
  });

  it("-o - --output-format parquet writes a complete Parquet file to stdout", async () => {
    const result = await predict(["-i", inputs.parquet, "-o", "-", "--output-format", "parquet", "--chunk-rows", "7"]);
    expectSuccess(result);
    expect(decodeOutput(result.stdout, "parquet")).toEqual(await expected());
  });

  it("--on-error skip onto stdout: the bad rows go to stderr as JSON lines, stdout stays data only", async () => {
    const result = await predict(["-i", badCsv, "-o", "-", "--output-format", "csv", "--on-error", "skip"]);
    expectSuccess(result);
    expect(decodeOutput(result.stdout, "csv").numRows).toBe(49);
    const [errorLine] = result.stderr.split("\n");
    expect(JSON.parse(errorLine ?? "")).toMatchObject({ row: 38, data: { x: "abc" } });
    expect(result.stderr).toContain("1 bad rows set aside in (stderr); wrote stdout.");
  });
});

/** `a` as one word of a POSIX shell's command line. */
const shellQuote = (a: string): string => `'${a.replace(/'/g, `'\\''`)}'`;

/** util-linux `script`, which runs a command on a pseudo-terminal (absent or different on some systems: then skipped). */
const hasScript = spawnSync("script", ["-V"], { encoding: "utf8" }).stdout?.includes("util-linux") ?? false;

describe.concurrent("progress on a terminal", SLOW, () => {
  /** Runs a prediction with stderr on a pseudo-terminal; returns what the terminal showed. */
  function onTerminal(input: string, output: string): Promise<{ code: number | null; screen: string }> {
    const command = [
      process.execPath,
      BIN,
      "predict",
      "-m",
      scaler().modelUri,
      "--tracking-uri",
      scaler().trackingDir,
      "-i",
      input,
      "-o",
      output,
      "--chunk-rows",
      "7",
    ]
      .map(shellQuote)
      .join(" ");
    return new Promise((resolve, reject) => {
      const child = spawn("script", ["-qec", command, "/dev/null"], { stdio: ["ignore", "pipe", "inherit"] });
      const parts: Buffer[] = [];
      child.stdout.on("data", (b: Buffer) => parts.push(b));
      child.once("error", reject);
      child.once("close", (code) => resolve({ code, screen: Buffer.concat(parts).toString("utf8") }));
    });
  }

  it.skipIf(!hasScript)("a bar with the rows done, the rate, and the ETA when the total is known (Parquet)", async () => {
    const output = join(await outDir(), "out.csv");
    const { code, screen } = await onTerminal(inputs.parquet, output);
    expect(code, screen).toBe(0);
    expect(screen).toMatch(/100% \| 20\/20 rows \| \d+ rows\/s \| ETA 0s/);
    expect(await readOutput(output, "csv")).toEqual(await expected());
  });

  it.skipIf(!hasScript)("without a known total (CSV): rows and rate, no made-up percentage or ETA", async () => {
    const output = join(await outDir(), "out.csv");
    const { code, screen } = await onTerminal(inputs.csv, output);
    expect(code, screen).toBe(0);
    expect(screen).toMatch(/20 rows \| \d+ rows\/s/);
    expect(screen).not.toContain("ETA");
    expect(screen).not.toContain("%");
  });
});

// Found by an audit: outputs were assembled beside their name and renamed onto it, whatever was
// there. A named pipe became a plain file (its reader waited for ever), a link became a file (the
// file it named kept its old contents), and, run as root, `-o /dev/null` replaced /dev/null.
describe.concurrent("outputs that are not plain files", SLOW, () => {
  it.each(["csv", "json", "parquet"] as const)("-o a named pipe (%s): its reader gets the predictions, and it stays a pipe", async (format) => {
    const dir = await outDir();
    const fifo = join(dir, `out.${format}`);
    execFileSync("mkfifo", [fifo]);
    const run = predict(["-i", inputs.csv, "-o", fifo]);
    const read = await readFile(fifo);
    expectSuccess(await run);
    expect((await lstat(fifo)).isFIFO()).toBe(true);
    expect(decodeOutput(read, format)).toEqual(await expected());
    expect((await readdir(dir)).sort(), "no temporary file left beside it").toEqual([`out.${format}`]);
  });

  // Found by a review: the bad rows went to a file beside the pipe (in /dev/fd for `>(…)`: ENOENT).
  it("-o a named pipe with --on-error skip: the predictions go down the pipe, the bad rows to stderr", async () => {
    const dir = await outDir();
    const fifo = join(dir, "out.jsonl");
    execFileSync("mkfifo", [fifo]);
    const run = predict(["-i", badCsv, "-o", fifo, "--on-error", "skip"]);
    const read = await readFile(fifo);
    const result = await run;
    expect(result.code, result.stderr).toBe(0);
    expect(decodeOutput(read, "jsonl").numRows).toBe(49);
    expect(result.stderr).toContain('"row":38');
    expect(await readdir(dir)).toEqual(["out.jsonl"]);
  });

  // Found by a review: followed to the file the shell opened, -o /dev/stdout was renamed over it.
  it("-o /dev/stdout with stdout appending to a file (>>): the predictions follow what was there", async () => {
    const dir = await outDir();
    const log = join(dir, "log.csv");
    await writeFile(log, "EARLIER\n");
    const fd = await open(log, "a");
    try {
      const child = spawnSync(
        process.execPath,
        [BIN, "predict", "-m", scaler().modelUri, "--tracking-uri", scaler().trackingDir, "-i", inputs.csv, "-o", "/dev/stdout", "--output-format", "csv"],
        {
          stdio: ["ignore", fd.fd, "pipe"],
        },
      );
      expect(child.status, child.stderr.toString()).toBe(0);
    } finally {
      await fd.close();
    }
    const text = await readFile(log, "utf8");
    expect(text.startsWith("EARLIER\n")).toBe(true);
    expect(decodeOutput(Buffer.from(text.slice("EARLIER\n".length)), "csv")).toEqual(await expected());
  });

  it("-o a link to a file: the file it names gets the predictions, and the link stays a link; a link to no file yet makes that file", async () => {
    const dir = await outDir();
    const file = join(dir, "real.csv");
    await writeFile(file, "old\n");
    await symlink("real.csv", join(dir, "link.csv"));
    expectSuccess(await predict(["-i", inputs.csv, "-o", join(dir, "link.csv")]));
    expect((await lstat(join(dir, "link.csv"))).isSymbolicLink()).toBe(true);
    expect(decodeOutput(await readFile(file), "csv")).toEqual(await expected());
    await symlink("later.jsonl", join(dir, "dangling.jsonl"));
    expectSuccess(await predict(["-i", inputs.csv, "-o", join(dir, "dangling.jsonl")]));
    expect((await lstat(join(dir, "dangling.jsonl"))).isSymbolicLink()).toBe(true);
    expect(decodeOutput(await readFile(join(dir, "later.jsonl")), "jsonl")).toEqual(await expected());
    expect((await readdir(dir)).sort()).toEqual(["dangling.jsonl", "later.jsonl", "link.csv", "real.csv"]);
  });

  it("export -o a named pipe: its reader gets the archive, and it stays a pipe", async () => {
    const dir = await outDir();
    const fifo = join(dir, "model.tar.gz");
    execFileSync("mkfifo", [fifo]);
    const run = runBinCli(["export", "-m", scaler().modelUri, "--tracking-uri", scaler().trackingDir, "-o", fifo]);
    const read = await readFile(fifo);
    const result = await run;
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout.toString("utf8")).toContain(`to ${fifo}`);
    expect((await lstat(fifo)).isFIFO()).toBe(true);
    expect([...read.subarray(0, 2)], "gzip's magic").toEqual([0x1f, 0x8b]);
    expect(await readdir(dir)).toEqual(["model.tar.gz"]);
  });
});

describe.concurrent("export -o - and import -", SLOW, () => {
  it("export -o - | import -: the archive goes through a shell pipe into another store, registered, and the summary says stdin", async () => {
    const other = join(await outDir(), "mlruns");
    const bin = [process.execPath, BIN].map(shellQuote).join(" ");
    const [uri, tracking] = [scaler().modelUri, scaler().trackingDir].map(shellQuote);
    const command = `set -o pipefail; ${bin} export -m ${uri} --tracking-uri ${tracking} -o - | ${bin} import - --name piped --tracking-uri ${shellQuote(other)}`;
    const result = spawnSync("bash", ["-c", command], { encoding: "utf8" });
    expect(result.status, result.stderr).toBe(0);
    expect(result.stderr).toBe(`Exported ${scaler().modelUri} to stdout\n`);
    expect(result.stdout).toMatch(/^Imported stdin as runs:\/[0-9a-f]{32}\/model \(models:\/piped\/1\)\n$/);
    const copied = await runBinCli(["predict", "-m", "models:/piped/1", "--tracking-uri", other, "-i", inputs.csv, "-o", "-", "--output-format", "csv"]);
    expectSuccess(copied);
    expect(decodeOutput(copied.stdout, "csv")).toEqual(await expected());
  });

  it.skipIf(!hasScript)("export -o - onto a terminal: exit 2, no bytes on the screen but the reason", async () => {
    const command = [process.execPath, BIN, "export", "-m", scaler().modelUri, "--tracking-uri", scaler().trackingDir, "-o", "-"].map(shellQuote).join(" ");
    const result = spawnSync("script", ["-qec", command, "/dev/null"], { encoding: "latin1" });
    expect(result.stdout).toContain("-o -: refusing to write a binary archive to a terminal");
    expect(result.stdout).not.toContain("\x1f\x8b");
    expect(result.status).toBe(2);
  });

  it.skipIf(!hasScript)("import - with stdin on a terminal: exit 2 saying to pipe an archive in, nothing written", async () => {
    const other = join(await outDir(), "mlruns");
    const command = [process.execPath, BIN, "import", "-", "--tracking-uri", other].map(shellQuote).join(" ");
    const result = spawnSync("script", ["-qec", command, "/dev/null"], { encoding: "utf8", input: "" });
    expect(result.stdout).toContain("import -: stdin is a terminal. Pipe an archive in");
    expect(result.status).toBe(2);
    expect(existsSync(other)).toBe(false);
  });
});

// Found by an audit: the pool terminated its threads without their models being closed, so each
// left the private copy of the model's code it loaded (`pipeserve-code-*`) in the temp folder.
describe("--workers 2 leaves nothing in the temp folder", SLOW, () => {
  it.each(["parquet", "csv"] as const)("%s input: the threads close their models before they end", async (format) => {
    const tmp = await outDir();
    const dir = await outDir();
    const result = await predict(["-i", inputs[format], "-o", join(dir, "out.csv"), "--workers", "2", "--chunk-rows", "5"], { env: { TMPDIR: tmp } });
    expectSuccess(result);
    expect(result.stderr, "predicted in threads").toContain("2 threads");
    expect(decodeOutput(await readFile(join(dir, "out.csv")), "csv")).toEqual(await expected());
    expect((await readdir(tmp)).filter((name) => name.startsWith("pipeserve-code-"))).toEqual([]);
  });
});
