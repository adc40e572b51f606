/**
 * Runners a request chooses, through the built server (`node dist/cli/bin.js serve`, bundled by
 * scripts/bundle-cli.mjs): WorkerRunner runs its node in another thread, which starts on the worker
 * entry bundled beside the bin and gets `pipeserve` from the bundle's chunks; a runner allowed with
 * --allow-runner that imports "pipeserve" by name gets the API the server itself uses.
 */
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureBuilt } from "../fixtures/cli.js";
import { SIGNATURES, packageBehaviour } from "./fixtures/models.js";
import { ServeProcess, http } from "./fixtures/server-process.js";

let server: ServeProcess;
let url: string;

beforeAll(async () => {
  await ensureBuilt();
  const tracing = fileURLToPath(new URL("../fixtures/runners/tracing-runner.mjs", import.meta.url));
  server = new ServeProcess(["serve", "-m", await packageBehaviour("thread_id", SIGNATURES.ab), "-p", "0", "--allow-runner", `${tracing}#TracingRunner`]);
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
    const [first] = await threadsOf({ runner: "WorkerRunner" });
    expect(first).toBeGreaterThan(0);
    expect(await threadsOf({})).toEqual([0, 0]);
    expect(await threadsOf({ runner: "SequentialRunner" })).toEqual([0, 0]);
  });
});

describe("pipeserve serve: a runner allowed with --allow-runner that imports pipeserve by name", () => {
  it("runs requests that choose it, and the server's own runners still run after it is loaded", async () => {
    expect(await threadsOf({ runner: "TracingRunner" })).toEqual([0, 0]);
    expect(await threadsOf({})).toEqual([0, 0]);
    const [worker] = await threadsOf({ runner: "WorkerRunner" });
    expect(worker).toBeGreaterThan(0);
  });
});
