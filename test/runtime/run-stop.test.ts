// Stopping a run: a deadline or a caller's signal ends it on time whatever its nodes do. No node
// starts afterwards, a node made with `signal: true` sees the signal fire, a node that hangs is
// abandoned (and reported), and the WorkerRunner ends the thread of a node that computes on.
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, describe, expect, it } from "vitest";
import {
  ConcurrentRunner,
  DataCatalog,
  MemoryDataset,
  PipelineError,
  RunAbortedError,
  RunTimeoutError,
  SequentialRunner,
  WorkerRunner,
  node,
  pipeline,
  type Runner,
} from "../../src/index.js";
import { slow } from "./fixtures/slow-pipeline.js";
import { spinning } from "./fixtures/spin-pipeline.js";
import { expectRejects } from "./helpers.js";

const catalog = (x = 1): DataCatalog => new DataCatalog({ x: new MemoryDataset({ data: x }) });

/** Spins the thread for `ms` without yielding. */
function busy(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // computing
  }
}

const never = new Promise<never>(() => undefined);

describe.each<[string, () => Runner]>([
  ["SequentialRunner", () => new SequentialRunner()],
  ["ConcurrentRunner", () => new ConcurrentRunner()],
])("%s with a deadline", (_name, makeRunner) => {
  it("nodes that compute synchronously past it: the run fails once the running node returns, and no later node starts", async () => {
    const ran: string[] = [];
    const deadline = performance.now() + 200;
    const step = (name: string, until: number) => (x: number) => {
      ran.push(name);
      busy(until - performance.now());
      return x + 1;
    };
    // "two" computes past the deadline without yielding, so no timer can fire: the check before "three" stops it.
    const p = pipeline([
      node(step("one", 0), { inputs: "x", outputs: "a", name: "one" }),
      node(step("two", deadline + 20), { inputs: "a", outputs: "b", name: "two" }),
      node(step("three", 0), { inputs: "b", outputs: "c", name: "three" }),
    ]);
    const error = await expectRejects(makeRunner().run(p, catalog(), { deadline }), RunTimeoutError, "passed its deadline");
    expect(error.code).toBe("RUN_TIMED_OUT");
    expect(ran).toEqual(["one", "two"]);
  });

  it("a node that never returns: the run fails at the deadline and is reported abandoned, with a promise that stays pending", async () => {
    const p = pipeline([node(() => never, { inputs: "x", outputs: "y", name: "hang" })]);
    let abandoned: Promise<void> | undefined;
    const started = performance.now();
    await expectRejects(
      makeRunner().run(p, catalog(), { deadline: started + 60, onAbandoned: (settled) => (abandoned = settled) }),
      RunTimeoutError,
      "passed its deadline",
    );
    expect(performance.now() - started).toBeGreaterThanOrEqual(55);
    expect(performance.now() - started).toBeLessThan(500);
    expect(abandoned).toBeInstanceOf(Promise);
    const state = await Promise.race([(abandoned as Promise<void>).then(() => "settled"), sleep(50, "pending")]);
    expect(state).toBe("pending");
  });

  it("a node made with signal: true gets the run's signal last and can stop itself; the run's hooks see the timeout", async () => {
    const seen: unknown[] = [];
    let stoppedBy: unknown;
    const waits = (x: number, signal: AbortSignal): Promise<number> =>
      new Promise((_resolve, reject) => {
        seen.push(x, signal instanceof AbortSignal);
        signal.addEventListener("abort", () => {
          stoppedBy = signal.reason;
          reject(signal.reason as Error);
        });
      });
    const p = pipeline([node(waits, { inputs: "x", outputs: "y", name: "waits", signal: true })]);
    const errors: Error[] = [];
    let abandoned = false;
    await expectRejects(
      makeRunner().run(p, catalog(7), {
        deadline: performance.now() + 30,
        hooks: { onPipelineError: ({ error }) => void errors.push(error) },
        onAbandoned: () => (abandoned = true),
      }),
      RunTimeoutError,
      "passed its deadline",
    );
    expect(seen).toEqual([7, true]);
    expect(stoppedBy).toBeInstanceOf(RunTimeoutError);
    expect(errors.map((e) => e.constructor)).toEqual([RunTimeoutError]);
    // The node was still running when the run stopped (it settles as the signal fires).
    expect(abandoned).toBe(true);
  });

  it("a caller's signal stops the run with its reason, or with RunAbortedError when the reason is no Error", async () => {
    const p = pipeline([node(() => never, { inputs: "x", outputs: "y", name: "hang" })]);
    const withError = new AbortController();
    const run = makeRunner().run(p, catalog(), { signal: withError.signal });
    withError.abort(new Error("client went away"));
    await expectRejects(run, Error, "client went away");

    const plain = new AbortController();
    const second = makeRunner().run(p, catalog(), { signal: plain.signal });
    plain.abort();
    const aborted = await expectRejects(second, RunAbortedError, /^The pipeline run was stopped/);
    expect(aborted.code).toBe("RUN_ABORTED");

    // Already aborted: no node starts at all.
    let started = false;
    const neverStarts = pipeline([node(() => (started = true), { inputs: "x", outputs: "y", name: "first" })]);
    await expectRejects(makeRunner().run(neverStarts, catalog(), { signal: AbortSignal.abort(new Error("too late")) }), Error, "too late");
    expect(started).toBe(false);
  });

  it("a run that ends before its deadline is untouched, and leaves no timer keeping the process up", async () => {
    const p = pipeline([node((x: number) => x * 2, { inputs: "x", outputs: "y", name: "double" })]);
    await expect(makeRunner().run(p, catalog(21), { deadline: performance.now() + 60_000 })).resolves.toEqual({ y: 42 });
  });
});

describe("nodes without signal: true", () => {
  it("get their inputs only: a function with an optional parameter keeps its default", async () => {
    const withDefault = (x: number, scale = 10): number => x * scale;
    const p = pipeline([node(withDefault, { inputs: "x", outputs: "y", name: "scaled" })]);
    await expect(new SequentialRunner().run(p, catalog(3), { deadline: performance.now() + 1_000 })).resolves.toEqual({ y: 30 });
  });

  it("signal: true must be kept by tag()", () => {
    const n = node((x: number, s: AbortSignal) => (s.aborted ? 0 : x), { inputs: "x", outputs: "y", signal: true }).tag("t");
    expect(n.takesSignal).toBe(true);
    expect(n.tags).toEqual(["t"]);
  });
});

describe("WorkerRunner with a deadline", () => {
  const runners: WorkerRunner[] = [];
  afterAll(async () => {
    await Promise.all(runners.map((r) => r.close()));
  });

  it("a node computing in its thread past the deadline: the run fails on time, the thread is ended, and the runner works on", async () => {
    const runner = new WorkerRunner({ maxWorkers: 1 });
    runners.push(runner);
    // A first run starts the thread and imports the module, so the timing below is the node's alone.
    await expect(runner.run(slow, catalog(0))).resolves.toEqual({ y: 1 });
    const started = performance.now();
    let abandoned: Promise<void> | undefined;
    await expectRejects(
      runner.run(spinning, catalog(1), { deadline: started + 300, onAbandoned: (settled) => (abandoned = settled) }),
      RunTimeoutError,
      "passed its deadline",
    );
    // The spin takes 3 s; the main thread is free, so the deadline's timer fires on time.
    expect(performance.now() - started).toBeLessThan(1_500);
    expect(runner.abandonedThreads).toBe(1);
    await abandoned;
    // The ended thread is replaced on demand.
    await expect(runner.run(slow, catalog(41), { deadline: performance.now() + 10_000 })).resolves.toEqual({ y: 42 });
  }, 20_000);

  it("a node still queued for a thread when the run stops is dropped from the queue", async () => {
    const runner = new WorkerRunner({ maxWorkers: 1 });
    runners.push(runner);
    const first = runner.run(spinning, catalog(1));
    const queued = runner.run(spinning, catalog(2), { deadline: performance.now() + 100 });
    await expectRejects(queued, RunTimeoutError, "passed its deadline");
    // Only the running node holds the thread; the queued one was never sent.
    expect(runner.abandonedThreads).toBe(0);
    await expect(first).resolves.toEqual({ y: 2 });
  }, 20_000);
});

describe("a pipeline error is not a stop", () => {
  it("a failing node still fails the run with its NodeError under a deadline", async () => {
    const p = pipeline([
      node(
        () => {
          throw new Error("boom");
        },
        { inputs: "x", outputs: "y", name: "fails" },
      ),
    ]);
    await expectRejects(new SequentialRunner().run(p, catalog(), { deadline: performance.now() + 1_000 }), PipelineError, 'Node "fails" failed: boom');
  });
});
