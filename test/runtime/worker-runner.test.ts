// WorkerRunner's life cycle: close() rejects the nodes still waiting for a thread instead of leaving
// their runs pending, the runner works again after close(), and a thread retries a pipeline module
// whose import failed instead of keeping the failure.
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { pathToFileURL } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { DataCatalog, MemoryDataset, NodeError, PipelineError, WorkerRunner, node, pipeline } from "../../src/index.js";
import { slow } from "./fixtures/slow-pipeline.js";
import { expectRejects, makeTempDir } from "./helpers.js";

const catalog = (x: number): DataCatalog => new DataCatalog({ x: new MemoryDataset({ data: x }) });

const runners: WorkerRunner[] = [];
function oneThread(): WorkerRunner {
  const runner = new WorkerRunner({ maxWorkers: 1 });
  runners.push(runner);
  return runner;
}
afterAll(async () => {
  await Promise.all(runners.map((r) => r.close()));
});

describe("WorkerRunner.close()", () => {
  it("rejects the nodes still queued for a thread, fails the running one, and runs again afterwards", async () => {
    const runner = oneThread();
    const running = runner.run(slow, catalog(1));
    const queued = runner.run(slow, catalog(2));
    // Both runs have sent their node: the first holds the only thread, the second waits for it.
    await sleep(50);
    // Watched before closing: the queued run fails as soon as close() is called, before the threads have stopped.
    const outcomes = Promise.all([
      expectRejects(queued, NodeError, 'Node "slow_increment" failed: The WorkerRunner was closed before this node could start.'),
      expectRejects(running, NodeError, /^Node "slow_increment" failed: The worker thread exited with code \d+ while running a node\.$/),
    ]);
    await runner.close();
    const [closed] = await outcomes;
    expect(closed.nodeName).toBe("slow_increment");
    expect(closed.cause).toBeInstanceOf(PipelineError);
    expect((closed.cause as PipelineError).message).toBe("The WorkerRunner was closed before this node could start.");
    expect((closed.cause as PipelineError).code).toBe("RUNNER_CLOSED");

    // A run after close() starts fresh threads.
    await expect(runner.run(slow, catalog(41))).resolves.toEqual({ y: 42 });
    await expect(Promise.all([runner.run(slow, catalog(1)), runner.run(slow, catalog(2))])).resolves.toEqual([{ y: 2 }, { y: 3 }]);
  });

  it("with nothing queued or running, leaves the runner usable", async () => {
    const runner = oneThread();
    await runner.close();
    await expect(runner.run(slow, catalog(0))).resolves.toEqual({ y: 1 });
  });
});

describe("a WorkerRunner thread", () => {
  it("retries a pipeline module whose import failed, instead of keeping the failure", async () => {
    const tmp = await makeTempDir("pipeserve-worker-retry-");
    try {
      const file = join(tmp.path, "late.mjs");
      const late = pipeline([node((x: number) => x, { inputs: "x", outputs: "y", name: "late_increment" })], {
        source: { module: pathToFileURL(file).href, exportName: "late" },
      });
      const runner = oneThread();
      await expectRejects(runner.run(late, catalog(1)), NodeError, /^Node "late_increment" failed: Cannot find module '.*late\.mjs'/);
      // The same thread imports the module again once it exists (a plain object with nodes is all a thread needs).
      await writeFile(file, 'export const late = { nodes: [{ name: "late_increment", run: async (inputs) => ({ y: inputs.x + 100 }) }] };\n');
      await expect(runner.run(late, catalog(1))).resolves.toEqual({ y: 101 });
    } finally {
      await tmp.remove();
    }
  });
});
