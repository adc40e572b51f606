// Shared helpers for the CLI suite: `pipeserve` run in-process (`main(argv, io)`, see
// test/fixtures/cli.ts) with exit-code + message checks; the real-process cases (signals, the
// bin itself) spawn the built bin.
import { expect } from "vitest";
import { runMain, type MainOptions } from "../fixtures/cli.js";

export { copyProject, tempDir, readJson, readYaml11, sha256Of, listFiles, gitHead } from "../packager/helpers.js";
export { BIN, runBin, spawnBin, useBuiltBin } from "../fixtures/cli.js";

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Options of one in-process run: its cwd and its whole environment. */
export type CliOptions = Omit<MainOptions, "stdin">;

/** Runs `pipeserve ...args` in-process to completion. */
export async function runCli(args: readonly string[], options: CliOptions = {}): Promise<CliResult> {
  const r = await runMain(args, options);
  return { code: r.code, stdout: r.stdout.toString("utf8"), stderr: r.stderr.toString("utf8") };
}

/** Expects success and returns stdout. */
export async function ok(args: readonly string[], options: CliOptions = {}): Promise<string> {
  const r = await runCli(args, options);
  expect(r.code, `pipeserve ${args.join(" ")} failed:\n${r.stderr}`).toBe(0);
  return r.stdout;
}

/** Expects failure with this exit code and every message (substring or regex) in stderr; returns the result. */
export async function fails(args: readonly string[], code: number, messages: (string | RegExp)[], options: CliOptions = {}): Promise<CliResult> {
  const r = await runCli(args, options);
  expect(r.code, `exit code of pipeserve ${args.join(" ")}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`).toBe(code);
  for (const m of messages) {
    if (typeof m === "string") expect(r.stderr).toContain(m);
    else expect(r.stderr).toMatch(m);
  }
  // One clear line, not a stack trace.
  expect(r.stderr).not.toMatch(/^\s+at .+\(.+:\d+:\d+\)$/m);
  return r;
}
