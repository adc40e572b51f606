/**
 * Runners a request chooses, through the built server (`node dist/cli/bin.js serve`, bundled by
 * scripts/bundle-cli.mjs): WorkerRunner runs its node in another thread, which starts on the worker
 * entry bundled beside the bin and gets `pipeserve` from the bundle's chunks; a runner allowed with
 * --allow-runner that imports "pipeserve" by name gets the API the server itself uses.
 */
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureBuilt } from "../fixtures/cli.js";
import { SIGNATURES, packageBehaviour } from "./fixtures/models.js";
import { ServeProcess, http } from "./fixtures/server-process.js";

const servers: ServeProcess[] = [];
let work: string;

beforeAll(async () => {
  await ensureBuilt();
  work = await mkdtemp(join(tmpdir(), "pipeserve-runners-"));
});

afterAll(async () => {
  await Promise.all(servers.map((s) => s.stop()));
  await rm(work, { recursive: true, force: true });
});

/** Serves the thread_id model (each row: the id of the thread its node ran in); its URL. */
async function serve(args: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<string> {
  const server = new ServeProcess(["serve", "-m", await packageBehaviour("thread_id", SIGNATURES.ab), "-p", "0", ...args], env);
  servers.push(server);
  return (await server.serving()).url;
}

async function threadsOf(url: string, params: Record<string, unknown>): Promise<number[]> {
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
    const url = await serve();
    const [thread] = await threadsOf(url, { runner: "WorkerRunner" });
    expect(thread).toBeGreaterThan(0);
    expect(await threadsOf(url, {})).toEqual([0, 0]);
    expect(await threadsOf(url, { runner: "SequentialRunner" })).toEqual([0, 0]);
  });
});

describe("pipeserve serve: a runner allowed with --allow-runner that imports pipeserve by name", () => {
  it("runs the requests that choose it, and the server's own runners still run after it is loaded", async () => {
    const runner = fileURLToPath(new URL("../fixtures/runners/tracing-runner.mjs", import.meta.url));
    const log = join(work, "tracing.log");
    const url = await serve(["--allow-runner", `${runner}#TracingRunner`], { TRACING_RUNNER_LOG: log });
    expect(await threadsOf(url, {})).toEqual([0, 0]);
    expect(existsSync(log), "the default runner ran, not TracingRunner").toBe(false);
    expect(await threadsOf(url, { runner: "TracingRunner" })).toEqual([0, 0]);
    expect(await readFile(log, "utf8")).toBe("run\n");
    const [thread] = await threadsOf(url, { runner: "WorkerRunner" });
    expect(thread).toBeGreaterThan(0);
  });
});
