import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { threadId } from "node:worker_threads";
import {
  ConcurrentRunner,
  CsvDataset,
  DataCatalog,
  DatasetError,
  MemoryDataset,
  NodeError,
  PipelineError,
  SequentialRunner,
  WorkerRunner,
  fromDataFrame,
  isDataFrame,
  node,
  pipeline,
  toDataFrame,
  type Hooks,
  type Pipeline,
  type Runner,
} from "../../src/index.js";
import { chain, failingChain, features, passThrough, rendezvousThree, unsendable, ValidationError } from "./fixtures/shared-pipeline.js";
import { pipelines as workerPipelines } from "./fixtures/worker-pipeline.js";
import { expectRejects, expectThrows, frameColumns, makeTempDir, nextTurn, penguinsFrame } from "./helpers.js";

const workers = new WorkerRunner({ maxWorkers: 2 });
afterAll(async () => {
  await workers.close();
});

let tmp: Awaited<ReturnType<typeof makeTempDir>>;
beforeAll(async () => {
  tmp = await makeTempDir();
});
afterAll(async () => {
  await tmp.remove();
});

const RUNNERS: { name: string; runner: Runner; inProcess: boolean }[] = [
  { name: "SequentialRunner", runner: new SequentialRunner(), inProcess: true },
  { name: "ConcurrentRunner", runner: new ConcurrentRunner({ maxConcurrency: 3 }), inProcess: true },
  { name: "WorkerRunner", runner: workers, inProcess: false },
];

const PARAMS = { scale: { factor: 2 }, threshold: 4000 };

function featuresCatalog(datasets: Record<string, MemoryDataset | CsvDataset> = {}): DataCatalog {
  return new DataCatalog({ penguins: new MemoryDataset({ data: penguinsFrame() }), ...datasets }, { params: PARAMS });
}

/** What the `features` pipeline must return for the five penguins, whatever the runner. */
const EXPECTED_FEATURES = {
  n_rows: 5,
  mean_mass: 4215,
  counts: { heavy: 2, light: 3 },
  heavy_species: ["Gentoo"],
  light_sorted: {
    species: ["Chinstrap", "Adelie", "Adelie"],
    bill_length_mm: [46.5, 38.9, 39.1],
    body_mass_g: [3500, 3625, 3750],
    scaled_mass: [7, 7.25, 7.5],
  },
};

function comparable(outputs: Record<string, unknown>): Record<string, unknown> {
  const { light_sorted, thread: _thread, ...rest } = outputs;
  return { ...rest, light_sorted: frameColumns(light_sorted) };
}

describe.each(RUNNERS)("$name", ({ name, runner, inProcess }) => {
  it("has its name", () => {
    expect(runner.name).toBe(name);
  });

  it("runs the pipeline and returns exactly its free outputs", async () => {
    const outputs = await runner.run(features, featuresCatalog());
    expect(Object.keys(outputs).sort()).toEqual(["counts", "heavy_species", "light_sorted", "mean_mass", "n_rows", "thread"]);
    expect(isDataFrame(outputs["light_sorted"])).toBe(true);
    expect(comparable(outputs)).toEqual(EXPECTED_FEATURES);
    if (inProcess) expect(outputs["thread"]).toBe(threadId);
    else expect(outputs["thread"]).not.toBe(threadId);
  });

  it("leaves persisted free outputs in their datasets instead of returning them", async () => {
    const filepath = join(tmp.path, `${name}-light.csv`);
    const outputs = await runner.run(features, featuresCatalog({ light_sorted: new CsvDataset({ filepath }) }));
    expect(outputs).not.toHaveProperty("light_sorted");
    expect(frameColumns(await new CsvDataset({ filepath }).load())).toEqual(EXPECTED_FEATURES.light_sorted);
  });

  it("releases a memory dataset after its last consumer, and keeps free inputs", async () => {
    // add_kg ─▶ with_kg ─▶ sum ─▶ total ─▶ report: `with_kg` must be gone before `report` starts.
    const catalog = new DataCatalog({
      penguins: new MemoryDataset({ data: penguinsFrame() }),
      with_kg: new MemoryDataset(),
      total: new MemoryDataset(),
    });
    const seen: string[] = [];
    const hooks: Hooks = {
      async beforeNodeRun({ node: n }) {
        seen.push(`${n.name}: with_kg=${String(await catalog.exists("with_kg"))} total=${String(await catalog.exists("total"))}`);
      },
    };
    const outputs = await runner.run(workerPipelines["main"] as Pipeline, catalog, { hooks });
    expect(seen).toEqual(["add_kg: with_kg=false total=false", "sum: with_kg=true total=false", "report: with_kg=false total=true"]);
    await expect(catalog.exists("with_kg")).resolves.toBe(false);
    await expect(catalog.exists("total")).resolves.toBe(false);
    await expect(catalog.exists("penguins")).resolves.toBe(true);
    expect((outputs["report"] as { total: number }).total).toBeCloseTo(21.075, 10);
  });

  it("releases a dataset with several consumers only after the last of them", async () => {
    const catalog = featuresCatalog({ with_mass: new MemoryDataset(), light: new MemoryDataset() });
    const consumers: Record<string, string[]> = { with_mass: ["summarise", "split"], light: ["count", "sort_light"] };
    const seen: string[] = [];
    const hooks: Hooks = {
      async beforeNodeRun({ node: n }) {
        for (const [dataset, readers] of Object.entries(consumers)) {
          if (readers.includes(n.name)) seen.push(`${n.name} sees ${dataset}: ${String(await catalog.exists(dataset))}`);
        }
      },
    };
    await runner.run(features, catalog, { hooks });
    expect(seen.sort()).toEqual(["count sees light: true", "sort_light sees light: true", "split sees with_mass: true", "summarise sees with_mass: true"]);
    await expect(catalog.exists("with_mass")).resolves.toBe(false);
    await expect(catalog.exists("light")).resolves.toBe(false);
  });

  it("does not delete persisted intermediate datasets", async () => {
    const filepath = join(tmp.path, `${name}-with_kg.csv`);
    const catalog = new DataCatalog({ penguins: new MemoryDataset({ data: penguinsFrame() }), with_kg: new CsvDataset({ filepath }) });
    await runner.run(workerPipelines["main"] as Pipeline, catalog);
    expect(existsSync(filepath)).toBe(true);
    expect(frameColumns(await catalog.load("with_kg"))["body_mass_kg"]).toEqual([3.75, 4.5, 3.5, 5.7, 3.625]);
  });

  it("wraps a node failure in a NodeError that names the node and keeps the cause; later nodes never run", async () => {
    const started: string[] = [];
    const error = await expectRejects(
      runner.run(failingChain, new DataCatalog({ x: new MemoryDataset({ data: 1 }) }), {
        hooks: { beforeNodeRun: ({ node: n }) => void started.push(n.name) },
      }),
      NodeError,
      'Node "reject_negative" failed: y must not be negative, got -99',
    );
    expect(error.nodeName).toBe("reject_negative");
    expect(error.code).toBe("NODE_FAILED");
    expect(error.cause).toBeInstanceOf(Error);
    expect((error.cause as Error).name).toBe("ValidationError");
    expect((error.cause as Error).message).toBe("y must not be negative, got -99");
    // A class of our own cannot cross a thread boundary; in this thread the original object comes through.
    if (inProcess) expect(error.cause).toBeInstanceOf(ValidationError);
    expect(started).toEqual(["decrement", "reject_negative"]);
  });

  it("keeps the original class of a built-in error as the cause", async () => {
    const error = await expectRejects(runner.run(workerPipelines["failing"] as Pipeline, new DataCatalog()), NodeError, 'Node "fail" failed: boom in a worker');
    expect(error.nodeName).toBe("fail");
    expect(error.cause).toBeInstanceOf(TypeError);
    expect((error.cause as TypeError).message).toBe("boom in a worker");
  });

  it("refuses to start when an input is missing, before any node runs", async () => {
    const started: string[] = [];
    const error = await expectRejects(
      runner.run(chain, new DataCatalog(), {
        hooks: { beforePipelineRun: () => void started.push("pipeline"), beforeNodeRun: ({ node: n }) => void started.push(n.name) },
      }),
      DatasetError,
      "Pipeline input(s) [x] are not provided",
    );
    expect(error.code).toBe("MISSING_INPUTS");
    expect(started).toEqual([]);
  });

  it("runs an empty pipeline to no outputs", async () => {
    await expect(runner.run(pipeline([], { source: { module: chain.source?.module as string, exportName: "chain" } }), new DataCatalog())).resolves.toEqual({});
  });
});

describe.each(RUNNERS.filter((r) => r.inProcess))("$name (in this thread)", ({ runner }) => {
  it("reports an output that does not match the declared outputs as a NodeError naming the node", async () => {
    const broken = pipeline([node(() => [1], { inputs: "x", outputs: ["a", "b"], name: "too_few" })]);
    const error = await expectRejects(
      runner.run(broken, new DataCatalog({ x: new MemoryDataset({ data: 0 }) })),
      NodeError,
      'Node "too_few" failed: Node "too_few" declares 2 outputs [a, b] but returned an array of 1. Return an array of 2 values.',
    );
    expect(error.cause).toBeInstanceOf(PipelineError);
    expect((error.cause as PipelineError).code).toBe("OUTPUT_MISMATCH");
  });

  it("runs pipelines without a source", async () => {
    const bare = pipeline([node(async (x: number) => x * 2, { inputs: "x", outputs: "y", name: "double" })]);
    await expect(runner.run(bare, new DataCatalog({ x: new MemoryDataset({ data: 21 }) }))).resolves.toEqual({ y: 42 });
  });
});

describe("all runners agree", () => {
  it("give the same outputs on the same pipeline and catalog", async () => {
    const results = [];
    for (const { runner } of RUNNERS) results.push(comparable(await runner.run(features, featuresCatalog())));
    expect(results[1]).toEqual(results[0]);
    expect(results[2]).toEqual(results[0]);
  });

  it("give the same outputs on the worker fixture pipeline, which ran on another thread under WorkerRunner", async () => {
    const catalog = (): DataCatalog => new DataCatalog({ penguins: new MemoryDataset({ data: penguinsFrame() }) });
    const sequential = (await new SequentialRunner().run(workerPipelines["main"] as Pipeline, catalog()))["report"] as { total: number; thread: number };
    const inWorker = (await workers.run(workerPipelines["main"] as Pipeline, catalog()))["report"] as { total: number; thread: number };
    expect(sequential.thread).toBe(threadId);
    expect(inWorker.thread).not.toBe(threadId);
    expect(inWorker.total).toBe(sequential.total);
  });
});

/** Counts how many node bodies are between their start and their end at once. */
function overlapCounter(): { work: () => Promise<number>; most: () => number } {
  let running = 0;
  let most = 0;
  return {
    async work() {
      running++;
      most = Math.max(most, running);
      for (let i = 0; i < 3; i++) await nextTurn();
      running--;
      return most;
    },
    most: () => most,
  };
}

function independentNodes(count: number, work: () => Promise<number>): Pipeline {
  return pipeline(Array.from({ length: count }, (_, i) => node(work, { inputs: null, outputs: `out_${i}`, name: `task_${i}` })));
}

describe("ConcurrentRunner", () => {
  // Each row: the limit, how many ready nodes there are, the most that must overlap.
  it.each<{ maxConcurrency: number; nodes: number; most: number }>([
    { maxConcurrency: 1, nodes: 6, most: 1 },
    { maxConcurrency: 2, nodes: 6, most: 2 },
    { maxConcurrency: 4, nodes: 6, most: 4 },
    { maxConcurrency: 6, nodes: 6, most: 6 },
    { maxConcurrency: 16, nodes: 5, most: 5 },
  ])("with maxConcurrency $maxConcurrency runs $most of $nodes ready async nodes at once", async ({ maxConcurrency, nodes, most }) => {
    const counter = overlapCounter();
    const outputs = await new ConcurrentRunner({ maxConcurrency }).run(independentNodes(nodes, counter.work), new DataCatalog());
    expect(Object.keys(outputs)).toHaveLength(nodes);
    expect(counter.most()).toBe(most);
  });

  it("defaults to 8 at once", async () => {
    const counter = overlapCounter();
    const runner = new ConcurrentRunner();
    expect(runner.maxConcurrency).toBe(8);
    await runner.run(independentNodes(10, counter.work), new DataCatalog());
    expect(counter.most()).toBe(8);
  });

  it("SequentialRunner never overlaps async nodes", async () => {
    const counter = overlapCounter();
    await new SequentialRunner().run(independentNodes(4, counter.work), new DataCatalog());
    expect(counter.most()).toBe(1);
  });

  it("starts a node only once all its inputs are produced, and overlaps the branches of a diamond", async () => {
    const events: string[] = [];
    const step =
      (name: string) =>
      async (...inputs: number[]) => {
        events.push(`start ${name}`);
        await nextTurn();
        events.push(`end ${name}`);
        return inputs.reduce((a, b) => a + b, 1);
      };
    const diamond = pipeline([
      node(step("join"), { inputs: ["left", "right"], outputs: "joined", name: "join" }),
      node(step("left"), { inputs: "root", outputs: "left", name: "left" }),
      node(step("right"), { inputs: "root", outputs: "right", name: "right" }),
      node(step("root"), { inputs: "seed", outputs: "root", name: "root" }),
    ]);
    const outputs = await new ConcurrentRunner({ maxConcurrency: 4 }).run(diamond, new DataCatalog({ seed: new MemoryDataset({ data: 0 }) }));
    expect(outputs).toEqual({ joined: 5 });
    expect(events).toEqual(["start root", "end root", "start left", "start right", "end left", "end right", "start join", "end join"]);
  });

  it("after a failure starts no new node, and fails once the running nodes have settled", async () => {
    const events: string[] = [];
    const p = pipeline([
      node(
        async () => {
          events.push("start slow");
          for (let i = 0; i < 3; i++) await nextTurn();
          events.push("end slow");
          return 1;
        },
        { inputs: null, outputs: "slow_out", name: "slow" },
      ),
      node(
        async () => {
          events.push("fail");
          throw new RangeError("out of range");
        },
        { inputs: null, outputs: "fails_out", name: "fails" },
      ),
      node(() => events.push("downstream"), { inputs: "slow_out", outputs: "after", name: "downstream" }),
    ]);
    const error = await expectRejects(new ConcurrentRunner({ maxConcurrency: 2 }).run(p, new DataCatalog()), NodeError, 'Node "fails" failed: out of range');
    expect(error.cause).toBeInstanceOf(RangeError);
    expect(events).toEqual(["start slow", "fail", "end slow"]);
  });
});

describe("runner options", () => {
  // Each row: a bad limit, and the message that says what is accepted.
  it.each<{ why: string; make: () => unknown; message: string }>([
    {
      why: "zero",
      make: () => new ConcurrentRunner({ maxConcurrency: 0 }),
      message: "ConcurrentRunner maxConcurrency must be a whole number of at least 1, got 0.",
    },
    {
      why: "a fraction",
      make: () => new ConcurrentRunner({ maxConcurrency: 1.5 }),
      message: "ConcurrentRunner maxConcurrency must be a whole number of at least 1, got 1.5.",
    },
    {
      why: "NaN",
      make: () => new ConcurrentRunner({ maxConcurrency: Number.NaN }),
      message: "ConcurrentRunner maxConcurrency must be a whole number of at least 1, got NaN.",
    },
    {
      why: "negative workers",
      make: () => new WorkerRunner({ maxWorkers: -2 }),
      message: "WorkerRunner maxWorkers must be a whole number of at least 1, got -2.",
    },
  ])("rejects $why", ({ make, message }) => {
    const error = expectThrows(make, PipelineError, message);
    expect(error.code).toBe("INVALID_RUNNER_OPTION");
  });
});

describe("WorkerRunner", () => {
  it("needs a pipeline source, and says how to give one", async () => {
    const bare = pipeline([node((x: number) => x, { inputs: "x", outputs: "y", name: "identity" })]);
    const started: string[] = [];
    const error = await expectRejects(
      workers.run(bare, new DataCatalog({ x: new MemoryDataset({ data: 1 }) }), { hooks: { beforePipelineRun: () => void started.push("pipeline") } }),
      PipelineError,
      'WorkerRunner runs nodes in other threads, which must import them: give the pipeline a source, e.g. pipeline(nodes, { source: { module: import.meta.url, exportName: "inference" } }), or serve a packaged model.',
    );
    expect(error.code).toBe("NO_PIPELINE_SOURCE");
    expect(started).toEqual([]);
  });

  it("runs ready nodes in parallel on up to maxWorkers threads", async () => {
    // Each node blocks its thread until two of them have arrived, so they can only meet in parallel.
    const shared = new Int32Array(new SharedArrayBuffer(3 * Int32Array.BYTES_PER_ELEMENT));
    const catalog = new DataCatalog({ shared: new MemoryDataset({ data: shared, copyMode: "assign" }) }, { params: { expected: 2 } });
    const outputs = await workers.run(rendezvousThree, catalog);
    const threads = Object.values(outputs) as number[];
    expect(threads).toHaveLength(3);
    expect(threads).not.toContain(threadId);
    expect(new Set(threads).size).toBe(2);
    expect(Atomics.load(shared, 1)).toBe(2); // most at once: the limit
    expect(Atomics.load(shared, 2)).toBe(3); // all three arrived
  });

  it("sends DataFrames both ways and keeps them DataFrames", async () => {
    const outputs = await workers.run(features.onlyNodes("add_scaled_mass", "split", "sort_light"), featuresCatalog());
    expect(Object.keys(outputs).sort()).toEqual(["heavy", "light_sorted"]);
    expect(isDataFrame(outputs["heavy"])).toBe(true);
    expect(frameColumns(outputs["heavy"])).toEqual({
      species: ["Gentoo", "Gentoo"],
      bill_length_mm: [46.1, 50.0],
      body_mass_g: [4500, 5700],
      scaled_mass: [9, 11.4],
    });
    expect(frameColumns(outputs["light_sorted"])).toEqual(EXPECTED_FEATURES.light_sorted);
  });

  it("keeps a DataFrame's column order across threads, whole-number names included", async () => {
    const names = ["name", "2020", "2019", "constructor"];
    const frame = toDataFrame({
      names,
      columns: [
        ["a", "b"],
        [1.5, 2.5],
        [1, 2],
        [7, 8],
      ],
      numRows: 2,
    });
    const outputs = await workers.run(passThrough, new DataCatalog({ frame: new MemoryDataset({ data: frame, copyMode: "assign" }) }));
    expect(isDataFrame(outputs["same"])).toBe(true);
    expect(fromDataFrame(outputs["same"] as never)).toEqual({
      names,
      columns: [
        ["a", "b"],
        [1.5, 2.5],
        [1, 2],
        [7, 8],
      ],
      numRows: 2,
    });
  });

  it.each<{ why: string; run: () => Promise<unknown>; node: string; message: string | RegExp }>([
    {
      why: "the source names no pipeline",
      run: () =>
        workers.run(
          chain.withSource({ module: chain.source?.module as string, exportName: "pipelines.missing" }),
          new DataCatalog({ x: new MemoryDataset({ data: 1 }) }),
        ),
      node: "increment",
      message: /^Node "increment" failed: Module file:.*shared-pipeline\.ts has no pipeline under the export "pipelines\.missing"\.$/,
    },
    {
      why: "the node is not in the source's pipeline",
      run: () =>
        workers.run(
          pipeline([node((x: number) => x, { inputs: "x", outputs: "y", name: "not_exported" })], { source: chain.source as NonNullable<Pipeline["source"]> }),
          new DataCatalog({ x: new MemoryDataset({ data: 1 }) }),
        ),
      node: "not_exported",
      message: /^Node "not_exported" failed: Node "not_exported" is not in the pipeline exported as "chain" by file:.*shared-pipeline\.ts\.$/,
    },
    {
      why: "an output cannot be sent back",
      run: () => workers.run(unsendable, new DataCatalog({ x: new MemoryDataset({ data: 1 }) })),
      node: "make_callback",
      message: /^Node "make_callback" failed: The outputs cannot be sent back from the worker thread: .*could not be cloned/,
    },
    {
      why: "an input cannot be sent to the thread",
      run: () => workers.run(chain, new DataCatalog({ x: new MemoryDataset({ data: () => 1, copyMode: "assign" }) })),
      node: "increment",
      message: /^Node "increment" failed: .*could not be cloned/,
    },
  ])("fails with a NodeError when $why", async ({ run, node: nodeName, message }) => {
    const error = await expectRejects(run(), NodeError, message);
    expect(error.nodeName).toBe(nodeName);
    expect(error.cause).toBeInstanceOf(Error);
  });

  it("keeps working after failures, and starts new threads after close()", async () => {
    const catalog = (): DataCatalog => new DataCatalog({ x: new MemoryDataset({ data: 4 }) });
    await expect(workers.run(chain, catalog())).resolves.toEqual({ z: 50 });
    await workers.close();
    await expect(workers.run(chain, catalog())).resolves.toEqual({ z: 50 });
  });
});
