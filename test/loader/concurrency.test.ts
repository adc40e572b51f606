// Concurrent predictions on one loaded model never see each other's params, under every copy
// mode; and the copy mode decides what a node's mutation of its artifact leaves for the next call.
// The shifter fixture's nodes await between reading `params:factor` and using it, mutate their
// `offsets` artifact, and record every artifact object they were handed in `globalThis.__shifterProbe`.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { loadModel, type ColumnTable, type CopyMode, type PipelineModel } from "../../src/index.js";
import { SHIFTER_PROJECT, tempDir, train } from "./helpers.js";

interface ShifterProbe {
  distinct: number;
  calls: number;
}
const probe = (): ShifterProbe => (globalThis as { __shifterProbe?: ShifterProbe }).__shifterProbe ?? { distinct: 0, calls: 0 };

const MODES: CopyMode[] = ["assign", "copy", "deepcopy"];
const BASE = 2.5; // mean of x in the fixture's data/raw.csv
const models = new Map<CopyMode, PipelineModel>();
const modelDirs = new Map<CopyMode, string>();

beforeAll(async () => {
  const tracking = await tempDir("pipeserve-tracking-");
  for (const mode of MODES) {
    const trained = await train(SHIFTER_PROJECT, mode, tracking);
    modelDirs.set(mode, trained.modelDir);
    models.set(mode, await loadModel(trained.modelUri, { trackingUri: tracking }));
  }
});
afterAll(async () => {
  await Promise.all([...models.values()].map((m) => m.close()));
});
beforeEach(() => {
  delete (globalThis as { __shifterProbe?: unknown }).__shifterProbe;
});

function column(output: unknown, name: string): unknown[] {
  const table = output as ColumnTable;
  return table.columns[table.names.indexOf(name)] as unknown[];
}

describe("concurrent predict calls with different params", () => {
  it.each(MODES)("copy mode %s: each call sees only its own factor", async (mode) => {
    const model = models.get(mode) as PipelineModel;
    expect(model.metadata.flavor["copy_mode"]).toBe(mode);
    const factors = Array.from({ length: 24 }, (_, i) => i + 1);
    const xs = [1, 2, 3];
    const outputs = await Promise.all(factors.map((factor) => model.predict({ x: xs }, { params: { factor } })));
    outputs.forEach((output, i) => {
      const factor = factors[i] as number;
      expect(column(output, "y")).toEqual(xs.map((x) => x * factor + BASE));
      expect(column(output, "factor")).toEqual(xs.map(() => factor));
      expect(column(output, "factor_again")).toEqual(xs.map(() => factor));
    });
    expect(probe().calls).toBe(factors.length);
  });

  it("calls that take the default and calls that set the param interleave without mixing", async () => {
    const model = models.get("assign") as PipelineModel;
    const plan = [undefined, 5, undefined, 0.5, 7, undefined, 2];
    const outputs = await Promise.all(
      plan.map((factor) => model.predict({ dataframe_split: { columns: ["x"], data: [[10]] }, ...(factor === undefined ? {} : { params: { factor } }) })),
    );
    outputs.forEach((output, i) => {
      const factor = plan[i] ?? 1;
      expect(column(output, "y")).toEqual([10 * factor + BASE]);
      expect(column(output, "factor_again")).toEqual([factor]);
    });
  });

  it("the same holds across runners used at once", async () => {
    const model = models.get("deepcopy") as PipelineModel;
    const runners = ["SequentialRunner", "ConcurrentRunner", "SequentialRunner", "ConcurrentRunner"];
    const outputs = await Promise.all(runners.map((runner, i) => model.predict({ x: [1] }, { runner, params: { factor: i + 2 } })));
    outputs.forEach((output, i) => expect(column(output, "factor_again")).toEqual([i + 2]));
  });
});

describe("the artifact copy-mode contract", () => {
  // Each call reads offsets.top and offsets.nested.calls, then bumps both. A fresh load per case
  // starts from the artifact as packaged (top 0, nested 0).
  it.each([
    // mode, what calls 1-3 see at the top level, one level down, distinct artifact objects handed out
    ["assign", [0, 1, 2], [0, 1, 2], 1],
    ["copy", [0, 0, 0], [0, 1, 2], 3],
    ["deepcopy", [0, 0, 0], [0, 0, 0], 3],
  ] as const)("%s", async (mode, tops, nesteds, distinct) => {
    const model = await loadModel(modelDirs.get(mode) as string);
    try {
      const seen: { top: unknown[]; nested: unknown[] } = { top: [], nested: [] };
      for (let i = 0; i < 3; i++) {
        const output = await model.predict({ x: [1] });
        seen.top.push(column(output, "top")[0]);
        seen.nested.push(column(output, "nested")[0]);
      }
      expect(seen).toEqual({ top: [...tops], nested: [...nesteds] });
      // Under assign every call gets the very object loaded at startup: no hidden per-call clone.
      expect(probe()).toMatchObject({ calls: 3, distinct });
    } finally {
      await model.close();
    }
  });
});
