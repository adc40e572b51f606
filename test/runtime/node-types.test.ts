/**
 * node()'s compile-time checks, as a TypeScript user meets them in the editor: the real compiler
 * (tsc, as a child process) over test/fixtures/typed-nodes, a project that declares its parameter
 * and dataset types and writes correct nodes and wrong ones. Every line marked `// ERROR: text`
 * must fail with that text; every other line must compile. NB: the project sees pipeserve's built
 * declarations (dist/index.d.ts), as an installed package's user does: checking it against src/
 * type-checked all of src once more (~16 CPU-s against ~4).
 */
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { beforeAll, expect, it } from "vitest";
import { ensureBuilt } from "../fixtures/cli.js";

const FIXTURE = fileURLToPath(new URL("../fixtures/typed-nodes/", import.meta.url));
// NB: by path: TypeScript 7 does not export `typescript/bin/tsc`.
const TSC = fileURLToPath(new URL("../../node_modules/typescript/bin/tsc", import.meta.url));

/** tsc's errors by line: each message with its indented detail lines. */
function errorsByLine(output: string): Map<number, string> {
  const byLine = new Map<number, string>();
  let current: number | undefined;
  for (const line of output.split("\n")) {
    const start = /^pipelines\.ts\((\d+),\d+\): error (.*)$/.exec(line);
    if (start) {
      current = Number(start[1]);
      byLine.set(current, `${byLine.get(current) ?? ""}${start[2]}\n`);
    } else if (current !== undefined && line.startsWith(" ")) {
      byLine.set(current, `${byLine.get(current)}${line.trim()}\n`);
    }
  }
  return byLine;
}

beforeAll(ensureBuilt, 120_000);

it("node() checks parameters against inputs, results against outputs, and params: against PipelineParameters", async () => {
  const output = await new Promise<string>((resolve) => {
    execFile(process.execPath, [TSC, "-p", "tsconfig.json", "--pretty", "false"], { cwd: FIXTURE }, (_error, stdout, stderr) => resolve(stdout + stderr));
  });
  const expected = new Map<number, string>();
  readFileSync(`${FIXTURE}pipelines.ts`, "utf8")
    .split("\n")
    .forEach((line, i) => {
      const marked = /\/\/ ERROR: (.*)$/.exec(line);
      if (marked) expected.set(i + 1, marked[1] as string);
    });
  expect(expected.size).toBe(8);
  const errors = errorsByLine(output);
  expect(
    [...errors.keys()].sort((a, b) => a - b),
    output,
  ).toEqual([...expected.keys()].sort((a, b) => a - b));
  for (const [line, text] of expected) expect(errors.get(line), `line ${line}`).toContain(text);
}, 120_000);
