// The runs a stopped `pipeserve run` left RUNNING are ended KILLED by `endRunsOfGoneWriters` (what
// `runs list` and `run` call): only runs whose writer, as their pipeserve.writer tag names it, is
// gone; never a run its writer ended meanwhile; and one damaged run folder does not stop the rest.
import { spawn } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { FileStore, RUN_WRITER_TAG, endRunsOfGoneWriters, type TrackingStore } from "../../src/store/index.js";
import { writerTag } from "../../src/util/index.js";
import { useTempDir } from "./helpers.js";

const tmp = useTempDir("pipeserve-run-sweep-");

/** The writer tag of a process that has ended: taken while it ran, then it is killed and reaped. */
async function goneWriter(): Promise<string> {
  const child = spawn(process.execPath, ["-e", "setTimeout(() => {}, 60000)"], { stdio: "ignore" });
  await new Promise((resolve) => child.once("spawn", resolve));
  const tag = writerTag(child.pid);
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGKILL");
  await exited;
  return tag;
}

async function runWithWriter(store: FileStore, writer: string | undefined): Promise<string> {
  return (await store.createRun({ experimentId: "0", tags: writer === undefined ? {} : { [RUN_WRITER_TAG]: writer } })).runId;
}

describe("endRunsOfGoneWriters", () => {
  it("ends KILLED the RUNNING runs whose writer is gone; leaves a live writer's run, an untagged run (MLflow's) and ended runs", async () => {
    const store = await FileStore.open(join(tmp(), "mlruns"));
    const gone = await runWithWriter(store, await goneWriter());
    const alive = await runWithWriter(store, writerTag());
    const untagged = await runWithWriter(store, undefined);
    const finished = await runWithWriter(store, await goneWriter());
    await store.endRun(finished, "FINISHED");
    expect(await endRunsOfGoneWriters(store)).toEqual([gone]);
    const status = async (id: string): Promise<string> => (await store.getRun(id)).info.status;
    expect([await status(gone), await status(alive), await status(untagged), await status(finished)]).toEqual(["KILLED", "RUNNING", "RUNNING", "FINISHED"]);
    expect((await store.getRun(gone)).info.endTime).toEqual(expect.any(Number));
  });

  it("never ends KILLED a run its writer ended FINISHED after the search saw it RUNNING", async () => {
    const store = await FileStore.open(join(tmp(), "mlruns"));
    const runId = await runWithWriter(store, await goneWriter());
    // The writer finishes the run (and exits) just after the sweep's search.
    const racing = new Proxy(store, {
      get(target, key) {
        if (key === "searchRuns")
          return async (...args: Parameters<TrackingStore["searchRuns"]>) => {
            const found = await target.searchRuns(...args);
            await target.endRun(runId, "FINISHED");
            return found;
          };
        const value: unknown = Reflect.get(target, key, target);
        return typeof value === "function" ? value.bind(target) : value;
      },
    }) as TrackingStore;
    expect(await endRunsOfGoneWriters(racing)).toEqual([]);
    expect((await store.getRun(runId)).info.status).toBe("FINISHED");
  });

  it("a damaged run folder beside them does not stop the others being ended", async () => {
    const root = join(tmp(), "mlruns");
    const store = await FileStore.open(root);
    const gone = await runWithWriter(store, await goneWriter());
    await mkdir(join(root, "0", "0123456789abcdef0123456789abcdef"), { recursive: true });
    await writeFile(join(root, "0", "0123456789abcdef0123456789abcdef", "meta.yaml"), "");
    expect(await endRunsOfGoneWriters(store)).toEqual([gone]);
  });
});
