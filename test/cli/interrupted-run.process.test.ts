// `pipeserve run` stopped mid-training (Ctrl-C, SIGTERM, SIGKILL), as a real process: the run it
// left RUNNING is ended KILLED by the next command that lists or starts runs in the store, as MLflow
// ends an interrupted run, instead of showing RUNNING for ever. A run whose process still runs is
// left alone.
import { readFile, readdir } from "node:fs/promises";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { FileStore } from "../../src/index.js";
import { finished } from "../fixtures/cli.js";
import { ok, spawnBin, tempDir, useBuiltBin } from "./helpers.js";

useBuiltBin();
let project: string;

beforeAll(async () => {
  project = join(await tempDir("pipeserve-interrupted-"), "proj");
  await ok(["init", project]);
}, 60_000);

/** The id of the run under `tracking` that is RUNNING (status 1) with its writer tagged, polled until there is one. */
async function runningRun(tracking: string, done: Promise<unknown>): Promise<string> {
  let ended = false;
  void done.then(() => (ended = true));
  for (;;) {
    const experiment = join(tracking, "0");
    for (const entry of await readdir(experiment).catch(() => [] as string[])) {
      const meta = await readFile(join(experiment, entry, "meta.yaml"), "utf8").catch(() => "");
      const writer = await readFile(join(experiment, entry, "tags", "pipeserve.writer"), "utf8").catch(() => "");
      if (/^status: 1$/m.test(meta) && writer !== "") return entry;
    }
    if (ended) throw new Error("the run ended before it was seen RUNNING");
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Starts a training that would take minutes (millions of epochs). */
function longRun(tracking: string) {
  const child = spawnBin(["run", "--project", project, "--tracking-uri", tracking, "--no-typecheck", "--params", "model.epochs=50000000"]);
  return { child, done: finished(child) };
}

describe("a run whose process was stopped", { timeout: 60_000 }, () => {
  it.each(["SIGINT", "SIGTERM", "SIGKILL"] as const)("%s: the next runs list shows it KILLED, with an end time", async (signal) => {
    const tracking = join(await tempDir("pipeserve-interrupted-"), "mlruns");
    const { child, done } = longRun(tracking);
    const runId = await runningRun(tracking, done);
    child.kill(signal);
    await done;
    const listed = await ok(["runs", "list", "--tracking-uri", tracking]);
    expect(listed).toMatch(new RegExp(`^${runId}\\s.*\\sKILLED\\s`, "m"));
    const run = await (await FileStore.open(tracking)).getRun(runId);
    expect(run.info.status).toBe("KILLED");
    expect(run.info.endTime).toEqual(expect.any(Number));
  });

  it("a run whose process still runs stays RUNNING", async () => {
    const tracking = join(await tempDir("pipeserve-interrupted-"), "mlruns");
    const { child, done } = longRun(tracking);
    try {
      const runId = await runningRun(tracking, done);
      expect(await ok(["runs", "list", "--tracking-uri", tracking])).toMatch(new RegExp(`^${runId}\\s.*\\sRUNNING\\s`, "m"));
    } finally {
      child.kill("SIGKILL");
      await done;
    }
  });
});
