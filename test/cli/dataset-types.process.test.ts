// The built bin names a dataset by its type, as catalog.yml does, in the errors of `pipeserve run`.
// A class's name is read at run time (`constructor.name`), and the bundle (scripts/bundle-cli.mjs)
// must keep it: esbuild names a class that refers to itself `_Name` inside, which V8 reads.
import { readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { copyProject, runBin, tempDir, useBuiltBin } from "./helpers.js";

useBuiltBin();

/** `pipeserve run` of a copy of the scaler project, changed by `edit` first: its stderr (the run fails). */
async function failingRun(edit: (project: string) => Promise<void>): Promise<string> {
  const project = await copyProject("scaler");
  await edit(project);
  const tracking = await tempDir("pipeserve-tracking-");
  const r = await runBin(["run", "--project", project, "--pipeline", "training", "--tracking-uri", tracking, "--no-typecheck"], { cwd: project });
  expect(r.code, r.stderr.toString()).toBe(1);
  return r.stderr.toString();
}

describe.concurrent("pipeserve run: a dataset that fails is named with its type", () => {
  it("a metric that is no number: the MetricsDataset (a class that refers to itself) is named so", async () => {
    const stderr = await failingRun(async (project) => {
      const file = join(project, "pipelines.ts");
      const code = await readFile(file, "utf8");
      await writeFile(file, code.replace("return { accuracy: correct / z.length };", 'return { accuracy: "high" } as never;'));
    });
    expect(stderr).toContain('its output "metrics" (MetricsDataset) could not be saved');
  });

  it("a CSV input that is missing: the CsvDataset and its file are named", async () => {
    const stderr = await failingRun((project) => rm(join(project, "data", "raw.csv")));
    expect(stderr).toContain('its input "raw" (CsvDataset, ');
  });
});
