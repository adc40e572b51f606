/**
 * A folder-shaped artifact as a user drives it (issue 20): the tfjs-folder project (a TensorFlow.js
 * model stored as model.json and weights through a folder codec) trained with `pipeserve run`,
 * served with `pipeserve serve` over real HTTP — a bad request answered 400 naming the column —
 * and batch-predicted with `pipeserve predict` on one thread and on the WorkerRunner's threads.
 */
import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cli, ensureBuilt, root, spawnNode, stop, waitForServing } from "./helpers.js";

let dir: string;
let tracking: string;

beforeAll(async () => {
  ensureBuilt();
  dir = await mkdtemp(join(tmpdir(), "pipeserve-tfjs-cli-"));
  tracking = join(dir, "mlruns");
  await cp(join(root, "test", "fixtures", "projects", "tfjs-folder"), join(dir, "project"), { recursive: true });
  const run = cli(["run", "--project", join(dir, "project"), "--tracking-uri", tracking, "--no-typecheck"]);
  expect(run.code, run.stderr).toBe(0);
  expect(run.stdout).toContain("Registered: models:/tfjs-model/1");
}, 120_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("a TensorFlow.js model in a folder artifact, from the CLI", { timeout: 60_000 }, () => {
  it("serves over HTTP, and answers a bad request 400 naming the column", async () => {
    const server = spawnNode([join(root, "dist", "cli", "bin.js"), "serve", "-m", "models:/tfjs-model/1", "--tracking-uri", tracking, "-p", "0"]);
    try {
      const url = await waitForServing(server);
      const post = (body: unknown) =>
        fetch(`${url}/invocations`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
      const ok = await post({ dataframe_split: { columns: ["x"], data: [[-2.5], [2.5]] } });
      expect(ok.status).toBe(200);
      expect(((await ok.json()) as { predictions: { label: number }[] }).predictions.map((p) => p.label)).toEqual([0, 1]);
      const bad = await post({ dataframe_split: { columns: ["x"], data: [["high"]] } });
      expect(bad.status).toBe(400);
      expect(((await bad.json()) as { message: string }).message).toContain("Column x");
    } finally {
      expect(await stop(server)).toBe(0);
    }
  });

  it("batch-predicts a CSV alike on one thread and on the WorkerRunner's threads", async () => {
    const input = join(dir, "x.csv");
    await writeFile(input, "x\n-3\n-0.5\n1\n2.75\n");
    const outputs: string[] = [];
    for (const runner of ["SequentialRunner", "WorkerRunner"]) {
      const output = join(dir, `out-${runner}.csv`);
      const run = cli(["predict", "-m", "models:/tfjs-model/1", "--tracking-uri", tracking, "-i", input, "-o", output, "--runner", runner]);
      expect(run.code, run.stderr).toBe(0);
      outputs.push(await readFile(output, "utf8"));
    }
    expect(outputs[1]).toBe(outputs[0]);
    expect(
      (outputs[0] as string)
        .trim()
        .split("\n")
        .slice(1)
        .map((l) => l.split(",")[1]),
    ).toEqual(["0", "0", "1", "1"]);
  });
});
