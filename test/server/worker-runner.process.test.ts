/**
 * WorkerRunner through the built server (`node dist/cli/bin.js serve`): a request that chooses it
 * runs its node in another thread, which starts on the worker entry bundled beside the bin
 * (scripts/bundle-cli.mjs) and gets `pipeserve` from the bundle's chunks.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureBuilt } from "../fixtures/cli.js";
import { SIGNATURES, packageBehaviour } from "./fixtures/models.js";
import { ServeProcess, http } from "./fixtures/server-process.js";

let server: ServeProcess;
let url: string;

beforeAll(async () => {
  await ensureBuilt();
  server = new ServeProcess(["serve", "-m", await packageBehaviour("thread_id", SIGNATURES.ab), "-p", "0"]);
  ({ url } = await server.serving());
});

afterAll(async () => {
  await server?.stop();
});

async function threadsOf(params: Record<string, unknown>): Promise<number[]> {
  const body = JSON.stringify({
    dataframe_split: {
      columns: ["a", "b"],
      data: [
        [1, 0.5],
        [2, 1.5],
      ],
    },
    params,
  });
  const response = await http(`${url}/invocations`, { headers: { "Content-Type": "application/json" }, body });
  expect(response.status, response.body).toBe(200);
  return (JSON.parse(response.body) as { predictions: { thread: number }[] }).predictions.map((p) => p.thread);
}

describe("pipeserve serve: a request that chooses WorkerRunner", () => {
  it("runs the node in another thread, and the main thread's runner still runs it on the main thread", async () => {
    const [first, second] = await threadsOf({ runner: "WorkerRunner" });
    expect(first).toBeGreaterThan(0);
    expect(second).toBe(first);
    expect(await threadsOf({})).toEqual([0, 0]);
    expect(await threadsOf({ runner: "SequentialRunner" })).toEqual([0, 0]);
  });
});
