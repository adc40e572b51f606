// The built bin (dist/cli/bin.js, package.json's "bin") in real processes: it passes the real
// process's argv, streams, environment and folder to main, turns main's code into the exit code,
// and prints the same help and output as main in-process.
import { closeSync, openSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { FileStore, pipeserveVersion } from "../../src/index.js";
import { finished, runMain } from "../fixtures/cli.js";
import { copyProject, ok, runBin, spawnBin, tempDir, useBuiltBin } from "./helpers.js";

useBuiltBin();

let cwd: string;
beforeAll(async () => {
  cwd = await tempDir("pipeserve-bin-");
  await FileStore.open(join(cwd, "mlruns"));
  const other = await FileStore.open(join(cwd, "env-store"));
  await other.createRun({ experimentId: "0" });
});

describe.concurrent("the pipeserve bin", () => {
  it.each(["--help", "-V", "serve --help", "predict --help"])("pipeserve %s: exit 0, the same bytes as main in-process", async (line) => {
    const args = line.split(" ");
    const [bin, inProcess] = await Promise.all([runBin(args), runMain(args)]);
    expect([bin.code, bin.stderr.toString()]).toEqual([0, ""]);
    expect(bin.stdout.toString()).toBe(inProcess.stdout.toString());
    const stdout = bin.stdout.toString();
    if (line === "-V") expect(stdout).toBe(`${pipeserveVersion()}\n`);
    if (line === "--help") {
      expect(stdout).toMatch(/^Usage: pipeserve \[options\] \[command\]\n/);
      for (const command of ["serve", "predict", "run", "modelify", "inspect", "runs", "models", "export", "import"])
        expect(stdout).toMatch(new RegExp(`^  ${command} `, "m"));
    }
  });

  it("a usage error: exit 2, commander's message and the hint on stderr", async () => {
    const r = await runBin(["nope"]);
    expect(r.code).toBe(2);
    expect(r.stdout.toString()).toBe("");
    expect(r.stderr.toString()).toBe("error: unknown command 'nope'\n(run with --help for usage)\n");
  });

  it("a failure: exit 1 and one line; PIPESERVE_DEBUG=1 adds the stack", async () => {
    const missing = join(cwd, "nowhere");
    const plain = await runBin(["runs", "list", "--tracking-uri", missing]);
    expect(plain.code).toBe(1);
    expect(plain.stderr.toString()).toMatch(new RegExp(`^pipeserve: There is no run store at ${missing}: .*\\n$`));
    const debug = await runBin(["runs", "list", "--tracking-uri", missing], { env: { PIPESERVE_DEBUG: "1" } });
    expect(debug.code).toBe(1);
    expect(debug.stderr.toString()).toMatch(/^NotFoundError: There is no run store .*\n\s+at /m);
  });

  it("PIPESERVE_DEBUG takes booleans: false and 0 add no stack, yes does; another value is a usage error naming it (exit 2)", async () => {
    const missing = join(cwd, "nowhere");
    for (const off of ["false", "0", "no", ""]) {
      const r = await runBin(["runs", "list", "--tracking-uri", missing], { env: { PIPESERVE_DEBUG: off } });
      expect([r.code, r.stderr.toString()]).toEqual([1, expect.stringMatching(new RegExp(`^pipeserve: There is no run store at ${missing}: [^\\n]*\\n$`))]);
    }
    const on = await runBin(["runs", "list", "--tracking-uri", missing], { env: { PIPESERVE_DEBUG: "yes" } });
    expect(on.stderr.toString()).toMatch(/^NotFoundError: There is no run store .*\n\s+at /m);
    const bad = await runBin(["runs", "list", "--tracking-uri", missing], { env: { PIPESERVE_DEBUG: "verbose" } });
    expect([bad.code, bad.stderr.toString()]).toEqual([2, 'pipeserve: PIPESERVE_DEBUG must be true or false (1/0, yes/no), got "verbose".\n']);
  });

  it("reads ./mlruns from its working folder, and $MLFLOW_TRACKING_URI from its environment", async () => {
    const fromCwd = await runBin(["runs", "list"], { cwd });
    expect([fromCwd.code, fromCwd.stdout.toString()]).toEqual([0, "No runs.\n"]);
    const fromEnv = await runBin(["runs", "list", "--json"], { cwd, env: { MLFLOW_TRACKING_URI: join(cwd, "env-store") } });
    expect(fromEnv.code).toBe(0);
    expect(JSON.parse(fromEnv.stdout.toString())).toHaveLength(1);
  });

  describe("when its output cannot be written", () => {
    let model: string;
    let input: string;
    beforeAll(async () => {
      const project = await copyProject("linear");
      const stdout = await ok(["run", "--project", project, "--pipeline", "training", "--tracking-uri", join(cwd, "linear-runs")]);
      model = /^Model: (runs:\/\S+)/m.exec(stdout)?.[1] as string;
      input = join(cwd, "many.csv");
      // NB: some 400 kB of predictions: more than a pipe holds, so the bin is still writing when its reader leaves.
      await writeFile(input, `x,group\n${Array.from({ length: 20_000 }, (_, i) => `${i / 7},a`).join("\n")}\n`);
    }, 60_000);
    const predict = (): string[] => ["predict", "-m", model, "--tracking-uri", join(cwd, "linear-runs"), "-i", input, "-o", "-", "--output-format", "csv"];

    it("predict -o - whose reader leaves after the first lines (| head): exit 141, as a command killed by SIGPIPE, and no stack trace", async () => {
      const child = spawnBin(predict());
      const first = await new Promise<Buffer>((resolve) => child.stdout?.once("data", resolve));
      expect(first.toString()).toMatch(/^y_hat\n/);
      child.stdout?.destroy();
      const result = await finished(child);
      expect([result.code, result.stderr.toString()]).toEqual([141, ""]);
    });

    it("predict -o - to a full device: exit 1 and one line naming the fault, no stack trace", async () => {
      const full = openSync("/dev/full", "w");
      try {
        const result = await finished(spawnBin(predict(), { stdio: ["ignore", full, "pipe"] }));
        expect(result.code).toBe(1);
        expect(result.stderr.toString()).toMatch(/^pipeserve: cannot write to stdout: ENOSPC[^\n]*\n$/);
      } finally {
        closeSync(full);
      }
    });
  });
});
