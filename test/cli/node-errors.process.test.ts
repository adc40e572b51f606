// A training node that throws, run by the built bin in a real process (source maps are the
// process's): the error points at the user's pipelines.ts — file, line and column — not at
// pipeserve's runner nor at the temporary bundle the run imported; PIPESERVE_DEBUG=1 prints the
// cause chain with those source-mapped stacks.
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { SIGNATURES, packageBehaviour } from "../server/fixtures/models.js";
import { copyProject, runBin, tempDir, useBuiltBin } from "./helpers.js";

useBuiltBin();

let project: string;
/** Where `diverge` throws in the fixture: `line:column` of its `new Error(`, as V8 reports it. */
let thrownAt: string;
beforeAll(async () => {
  project = await copyProject("broken");
  const lines = (await readFile(join(project, "pipelines.ts"), "utf8")).split("\n");
  const line = lines.findIndex((l) => l.includes("throw new Error(`diverged"));
  expect(line, "the fixture's throwing line").toBeGreaterThanOrEqual(0);
  thrownAt = `${line + 1}:${(lines[line] as string).indexOf("new Error(") + 1}`;
});

/** `pipeserve run` of the fixture's `diverging` pipeline (its node "train" throws), from the project folder. */
async function runDiverging(env: Record<string, string> = {}) {
  const tracking = await tempDir("pipeserve-tracking-");
  const r = await runBin(["run", "--project", project, "--pipeline", "diverging", "--tracking-uri", tracking, "--no-typecheck"], { cwd: project, env });
  expect(r.code, r.stderr.toString()).toBe(1);
  return r.stderr.toString();
}

describe.concurrent("pipeserve run: a node that throws points at the user's code", () => {
  it("the one-line error is followed by the file:line:column that threw, and the hint to PIPESERVE_DEBUG=1", async () => {
    const stderr = await runDiverging();
    expect(stderr).toContain('pipeserve: Node "train" failed: diverged: loss is NaN');
    expect(stderr).toContain(`pipeserve: thrown at pipelines.ts:${thrownAt} (PIPESERVE_DEBUG=1 prints the stacks)\n`);
    expect(stderr).not.toMatch(/^\s+at /m);
  });

  it("PIPESERVE_DEBUG=1: the node's error as the cause, its stack source-mapped into pipelines.ts", async () => {
    const stderr = await runDiverging({ PIPESERVE_DEBUG: "1" });
    expect(stderr).toMatch(/^NodeError: Node "train" failed: diverged: loss is NaN.*\n\s+at /m);
    expect(stderr).toMatch(/^Caused by: Error: diverged: loss is NaN after \d+ rows/m);
    expect(stderr).toContain(`at Node.diverge (${join(project, "pipelines.ts")}:${thrownAt})`);
    expect(stderr, "no frame in the deleted bundle").not.toContain("pipeserve-project-");
  });
});

describe("pipeserve predict: a packaged model's node that throws", () => {
  it("names no place in the model's temporary copy of its code (gone once the command ends)", async () => {
    const model = await packageBehaviour("raise_generic", SIGNATURES.ab);
    const dir = await tempDir("pipeserve-predict-");
    const input = join(dir, "in.csv");
    await writeFile(input, "a,b\n1,0.5\n");
    const r = await runBin(["predict", "-m", model, "-i", input, "-o", join(dir, "out.csv")]);
    expect(r.code).toBe(1);
    expect(r.stderr.toString()).toContain('Node "raise_generic" failed');
    expect(r.stderr.toString()).not.toContain("pipeserve-code-");
  });
});
