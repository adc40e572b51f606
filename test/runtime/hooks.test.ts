import { afterAll, describe, expect, it } from "vitest";
import {
  ConcurrentRunner,
  DataCatalog,
  MemoryDataset,
  NodeError,
  SequentialRunner,
  WorkerRunner,
  node,
  pipeline,
  type Hooks,
  type NodeContext,
  type RunContext,
  type Runner,
} from "../../src/index.js";
import { chain, failingChain, ValidationError } from "./fixtures/shared-pipeline.js";
import { expectRejects, nextTurn } from "./helpers.js";

const workers = new WorkerRunner({ maxWorkers: 1 });
afterAll(async () => {
  await workers.close();
});

const RUNNERS: { name: string; runner: Runner }[] = [
  { name: "SequentialRunner", runner: new SequentialRunner() },
  { name: "ConcurrentRunner", runner: new ConcurrentRunner({ maxConcurrency: 4 }) },
  { name: "WorkerRunner", runner: workers },
];

/** Hooks that log every call as "hook [node]", optionally after an await, under a prefix. */
function recorder(log: string[], options: { prefix?: string; async?: boolean } = {}): Hooks {
  const prefix = options.prefix ?? "";
  const record = async (entry: string): Promise<void> => {
    if (options.async) await nextTurn();
    log.push(prefix + entry);
  };
  return {
    beforePipelineRun: () => record("beforePipelineRun"),
    afterPipelineRun: () => record("afterPipelineRun"),
    onPipelineError: () => record("onPipelineError"),
    beforeNodeRun: ({ node: n }) => record(`beforeNodeRun ${n.name}`),
    afterNodeRun: ({ node: n }) => record(`afterNodeRun ${n.name}`),
    onNodeError: ({ node: n }) => record(`onNodeError ${n.name}`),
  };
}

const catalogWithX = (x: number): DataCatalog => new DataCatalog({ x: new MemoryDataset({ data: x }) });

describe.each(RUNNERS)("hooks under $name", ({ runner }) => {
  it("are called in order for a 2-node pipeline", async () => {
    const log: string[] = [];
    await expect(runner.run(chain, catalogWithX(4), { hooks: recorder(log) })).resolves.toEqual({ z: 50 });
    expect(log).toEqual([
      "beforePipelineRun",
      "beforeNodeRun increment",
      "afterNodeRun increment",
      "beforeNodeRun times_ten",
      "afterNodeRun times_ten",
      "afterPipelineRun",
    ]);
  });

  it("are called in order for a failing node, and nothing runs after it", async () => {
    const log: string[] = [];
    await expectRejects(
      runner.run(failingChain, catalogWithX(1), { hooks: recorder(log) }),
      NodeError,
      'Node "reject_negative" failed: y must not be negative, got -99',
    );
    expect(log).toEqual([
      "beforePipelineRun",
      "beforeNodeRun decrement",
      "afterNodeRun decrement",
      "beforeNodeRun reject_negative",
      "onNodeError reject_negative",
      "onPipelineError",
    ]);
  });

  it("several hook objects are called in the order given, each awaited", async () => {
    const log: string[] = [];
    await runner.run(chain, catalogWithX(0), { hooks: [recorder(log, { prefix: "1:", async: true }), recorder(log, { prefix: "2:" })] });
    expect(log).toEqual([
      "1:beforePipelineRun",
      "2:beforePipelineRun",
      "1:beforeNodeRun increment",
      "2:beforeNodeRun increment",
      "1:afterNodeRun increment",
      "2:afterNodeRun increment",
      "1:beforeNodeRun times_ten",
      "2:beforeNodeRun times_ten",
      "1:afterNodeRun times_ten",
      "2:afterNodeRun times_ten",
      "1:afterPipelineRun",
      "2:afterPipelineRun",
    ]);
  });

  it("see the run, the node, its inputs and its outputs", async () => {
    const runs: RunContext[] = [];
    const nodes: { hook: string; context: NodeContext & { outputs?: unknown } }[] = [];
    let finalOutputs: unknown;
    const catalog = catalogWithX(4);
    await runner.run(chain, catalog, {
      runId: "run-42",
      hooks: {
        beforePipelineRun: (c) => void runs.push(c),
        beforeNodeRun: (c) => void nodes.push({ hook: "before", context: c }),
        afterNodeRun: (c) => void nodes.push({ hook: "after", context: c }),
        afterPipelineRun: (c) => {
          runs.push(c);
          finalOutputs = c.outputs;
        },
      },
    });
    for (const c of [...runs, ...nodes.map((n) => n.context)]) {
      expect(c.runId).toBe("run-42");
      expect(c.pipeline).toBe(chain);
      expect(c.catalog).toBe(catalog);
    }
    expect(nodes.map(({ hook, context }) => [hook, context.node.name, context.inputs, context.outputs])).toEqual([
      ["before", "increment", { x: 4 }, undefined],
      ["after", "increment", { x: 4 }, { y: 5 }],
      ["before", "times_ten", { y: 5 }, undefined],
      ["after", "times_ten", { y: 5 }, { z: 50 }],
    ]);
    expect(finalOutputs).toEqual({ z: 50 });
  });

  it("on failure receive the NodeError the run rejects with", async () => {
    const seen: { hook: string; error: Error; node?: string }[] = [];
    const error = await expectRejects(
      runner.run(failingChain, catalogWithX(1), {
        hooks: {
          onNodeError: ({ error: e, node: n, inputs }) => {
            expect(inputs).toEqual({ y: -99 });
            seen.push({ hook: "node", error: e, node: n.name });
          },
          onPipelineError: ({ error: e }) => void seen.push({ hook: "pipeline", error: e }),
          afterPipelineRun: () => void seen.push({ hook: "after", error: new Error("must not be called") }),
        },
      }),
      NodeError,
      'Node "reject_negative" failed',
    );
    expect(seen.map((s) => s.hook)).toEqual(["node", "pipeline"]);
    expect(seen[0]?.error).toBe(error);
    expect(seen[0]?.node).toBe("reject_negative");
    expect(seen[1]?.error).toBe(error);
  });

  it("give each run its own id by default", async () => {
    const ids: string[] = [];
    const hooks: Hooks = { beforePipelineRun: ({ runId }) => void ids.push(runId) };
    await runner.run(chain, catalogWithX(1), { hooks });
    await runner.run(chain, catalogWithX(1), { hooks });
    expect(ids).toHaveLength(2);
    expect(ids[0]).toMatch(/^[0-9a-f-]{36}$/);
    expect(ids[1]).not.toBe(ids[0]);
  });
});

describe.each(RUNNERS.filter((r) => r.name !== "WorkerRunner"))("async hooks under $name", ({ runner }) => {
  it("finish before the node runs and before the next step starts", async () => {
    const log: string[] = [];
    const p = pipeline([
      node(
        (x: number) => {
          log.push("run increment");
          return x + 1;
        },
        { inputs: "x", outputs: "y", name: "increment" },
      ),
      node(
        async (y: number) => {
          log.push("run check");
          if (y > 1) throw new ValidationError("too big");
          return y;
        },
        { inputs: "y", outputs: "z", name: "check" },
      ),
    ]);
    await expectRejects(runner.run(p, catalogWithX(1), { hooks: recorder(log, { async: true }) }), NodeError, 'Node "check" failed: too big');
    expect(log).toEqual([
      "beforePipelineRun",
      "beforeNodeRun increment",
      "run increment",
      "afterNodeRun increment",
      "beforeNodeRun check",
      "run check",
      "onNodeError check",
      "onPipelineError",
    ]);
  });
});
