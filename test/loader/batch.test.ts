/**
 * PipelineModel.prepare / run / runBatch: checking a request apart from running it, and running
 * several small requests to a row-wise model as one pipeline run. What matters: every input gets
 * exactly the prediction (or the error) it would have had alone, whatever its neighbours; only
 * inputs that may share a run (row-wise model with a signature, same params and runner) get a
 * batch key; an output that is not row-aligned stops batching for good.
 */
import { describe, expect, it } from "vitest";
import { NodeError, SchemaError, type Hooks, type PipelineModel, type Prediction } from "../../src/index.js";
import { encodePredictions } from "../../src/tabular/index.js";
import { SIGNATURES, buildModel } from "../server/fixtures/models.js";

const body = (rows: [number, number][], params?: Record<string, unknown>): string =>
  JSON.stringify({ dataframe_split: { columns: ["a", "b"], data: rows }, ...(params ? { params } : {}) });

/** The prediction of each body alone, through predictWithInfo. */
async function alone(model: PipelineModel, bodies: string[]): Promise<Prediction[]> {
  const out: Prediction[] = [];
  for (const b of bodies) out.push(await model.predictWithInfo(b));
  return out;
}

/** Hooks that count pipeline runs. */
function counter(): { hooks: Hooks; runs: () => number } {
  let runs = 0;
  return { hooks: { beforePipelineRun: () => void runs++ }, runs: () => runs };
}

function fulfilled(results: PromiseSettledResult<Prediction>[]): Prediction[] {
  return results.map((r, i) => {
    if (r.status !== "fulfilled") throw new Error(`input ${i} failed: ${String(r.reason)}`);
    return r.value;
  });
}

describe("prepare", () => {
  it("checks the input and params without running the pipeline, and fills param defaults", async () => {
    const model = await buildModel("scale_rows", SIGNATURES.abScale, { rowWise: true });
    const prepared = model.prepare(body([[1, 0.5]]));
    expect(prepared.table).toEqual({ names: ["a", "b"], columns: [[1], [0.5]], numRows: 1 });
    expect(prepared.params).toEqual({ scale: 2 });
    expect(prepared.runner).toBe("SequentialRunner");
    expect(() => model.prepare(body([[1.5, 0.5]]))).toThrow(SchemaError);
  });

  it("gives the same batch key to inputs that may share a run, and different keys for other params or runners", async () => {
    const model = await buildModel("scale_rows", SIGNATURES.abScale, { rowWise: true });
    const key = (b: string, runner?: string): string | undefined => model.prepare(b, runner ? { runner } : {}).batchKey;
    expect(key(body([[1, 0.5]]))).toEqual(expect.any(String));
    expect(key(body([[1, 0.5]]))).toBe(
      key(
        body([
          [7, 2],
          [8, 3],
        ]),
      ),
    );
    expect(key(body([[1, 0.5]]))).toBe(key(body([[1, 0.5]], { scale: 2 })));
    expect(key(body([[1, 0.5]], { scale: 3 }))).not.toBe(key(body([[1, 0.5]])));
    expect(key(body([[1, 0.5]]), "ConcurrentRunner")).not.toBe(key(body([[1, 0.5]])));
    // A caller of the library may pass a bigint for a long param: still a key, not a crash.
    expect(model.prepare(body([[1, 0.5]]), { params: { scale: 3n } }).batchKey).toBe(key(body([[1, 0.5]], { scale: 3 })));
    expect(model.prepare(body([[1, 0.5]]), { params: { scale: 2n ** 60n } }).batchKey).toEqual(expect.stringContaining(`${2n ** 60n}n`));
  });

  it("gives NaN, Infinity, -Infinity and the default of a double param each its own batch key (JSON writes all three as null)", async () => {
    const signature = { ...SIGNATURES.abScale, params: '[{"name": "scale", "default": 2.0, "shape": null, "type": "double"}]' };
    const model = await buildModel("scale_rows", signature, { rowWise: true });
    const withScale = (scale: string): string => `{"dataframe_split": {"columns": ["a", "b"], "data": [[1, 0.5]]}, "params": {"scale": ${scale}}}`;
    const keys = ["NaN", "Infinity", "-Infinity", "null"].map((scale) => model.prepare(withScale(scale)).batchKey);
    expect(new Set(keys).size).toBe(4);
    expect(model.prepare(withScale("NaN")).batchKey).toBe(keys[0]);
    expect(model.prepare(withScale("NaN")).params).toEqual({ scale: Number.NaN });
  });

  it("gives no batch key when the signature declares no input columns", async () => {
    const model = await buildModel("scale_rows", { inputs: "[]", outputs: null, params: SIGNATURES.abScale.params }, { rowWise: true });
    expect(model.batchable).toBe(false);
    expect(model.prepare(body([[1, 0.5]])).batchKey).toBeUndefined();
  });

  it("gives no batch key when the model is not row-wise, or has no input signature", async () => {
    const notRowWise = await buildModel("scale_rows", SIGNATURES.abScale, { rowWise: false });
    expect(notRowWise.batchable).toBe(false);
    expect(notRowWise.prepare(body([[1, 0.5]])).batchKey).toBeUndefined();
    const unsigned = await buildModel("row_sum_ndarray", null, { rowWise: true });
    expect(unsigned.batchable).toBe(false);
    expect(unsigned.prepare(body([[1, 0.5]])).batchKey).toBeUndefined();
  });
});

describe("runBatch", () => {
  it("runs the inputs once, stacked, and gives each exactly its own prediction", async () => {
    const model = await buildModel("scale_rows", SIGNATURES.abScale, { rowWise: true });
    const bodies = [
      body([[1, 0.5]]),
      body([
        [2, 1],
        [3, 1.5],
        [4, 2],
      ]),
      body([
        [5, 2.5],
        [6, 3],
      ]),
    ];
    const count = counter();
    const batched = fulfilled(
      await model.runBatch(
        bodies.map((b) => model.prepare(b)),
        { hooks: count.hooks },
      ),
    );
    expect(count.runs(), "one pipeline run for the three inputs").toBe(1);
    expect(batched).toEqual(await alone(model, bodies));
    expect(batched[1]!.output).toEqual({ scaled: [4, 6, 8], sum: [3, 4.5, 6] });
    expect(batched.map((p) => p.rows)).toEqual([1, 3, 2]);
  });

  it("splits a typed array (row_sum_ndarray) back into the predictions each input gets alone", async () => {
    const model = await buildModel("row_sum_ndarray", SIGNATURES.ab, { rowWise: true });
    const bodies = [
      body([
        [1, 0.5],
        [2, 1],
      ]),
      body([[3, 1.5]]),
      body([
        [4, 2],
        [5, 2.5],
        [6, 3],
      ]),
    ];
    const count = counter();
    const batched = fulfilled(
      await model.runBatch(
        bodies.map((b) => model.prepare(b)),
        { hooks: count.hooks },
      ),
    );
    expect(count.runs()).toBe(1);
    expect(batched.map((p) => encodePredictions(p.output))).toEqual((await alone(model, bodies)).map((p) => encodePredictions(p.output)));
  });

  it.each([
    ["a DataFrame (echo)", "echo" as const],
    ["a DataFrame, returning a Series (row_sum_series)", "row_sum_series" as const],
  ])("a model that takes %s never stacks inputs: DataFrame column types are guessed from the values, so neighbours could change them", async (_, behaviour) => {
    const model = await buildModel(behaviour, SIGNATURES.ab, { rowWise: true });
    expect(model.batchable).toBe(false);
    const bodies = [
      body([[1, 0.5]]),
      body([
        [2, 1],
        [3, 1.5],
      ]),
    ];
    const prepared = bodies.map((b) => model.prepare(b));
    expect(prepared.map((p) => p.batchKey)).toEqual([undefined, undefined]);
    const count = counter();
    const results = fulfilled(await model.runBatch(prepared, { hooks: count.hooks }));
    expect(count.runs()).toBe(2);
    expect(results.map((p) => encodePredictions(p.output))).toEqual((await alone(model, bodies)).map((p) => encodePredictions(p.output)));
  });

  it("when one input makes the run fail, only that input fails, with its own node error; the batch is halved until it runs alone", async () => {
    const model = await buildModel("scale_rows", SIGNATURES.abScale, { rowWise: true });
    const bodies = Array.from({ length: 8 }, (_, i) => body([[i === 5 ? 13 : i, 0.5]]));
    const sizes: number[] = [];
    const results = await model.runBatch(
      bodies.map((b) => model.prepare(b)),
      { onRun: (n) => sizes.push(n) },
    );
    expect(results.map((r) => r.status)).toEqual(["fulfilled", "fulfilled", "fulfilled", "fulfilled", "fulfilled", "rejected", "fulfilled", "fulfilled"]);
    const failure = (results[5] as PromiseRejectedResult).reason as NodeError;
    expect(failure).toBeInstanceOf(NodeError);
    expect(failure.message).toContain("scale_rows");
    expect(failure.message).toContain("a = 13");
    results.forEach((r, i) => {
      if (i !== 5) expect((r as PromiseFulfilledResult<Prediction>).value.output).toEqual({ scaled: [i * 2], sum: [i + 0.5] });
    });
    // [0-7] fails → [0-3] ok, [4-7] fails → [4,5] fails → [4] ok, [5] fails; [6,7] ok: 7 runs, where
    // re-running one by one would take 9.
    expect(sizes).toEqual([8, 4, 4, 2, 1, 1, 2]);
    expect(model.batchable).toBe(true);
  });

  it("an output that does not split by rows is answered input by input, and the model stops batching", async () => {
    const model = await buildModel("row_count", SIGNATURES.ab, { rowWise: true });
    expect(model.batchable).toBe(true);
    const bodies = [
      body([[1, 0.5]]),
      body([
        [2, 1],
        [3, 1.5],
      ]),
    ];
    const count = counter();
    const batched = fulfilled(
      await model.runBatch(
        bodies.map((b) => model.prepare(b)),
        { hooks: count.hooks },
      ),
    );
    expect(batched.map((p) => p.output)).toEqual([[1], [2]]);
    expect(count.runs(), "the batch, then each input alone").toBe(3);
    expect(model.batchable).toBe(false);
    expect(model.prepare(bodies[0]!).batchKey).toBeUndefined();
  });

  it("inputs with different batch keys are run one by one, each with its own params", async () => {
    const model = await buildModel("scale_rows", SIGNATURES.abScale, { rowWise: true });
    const bodies = [body([[1, 0.5]]), body([[1, 0.5]], { scale: 10 })];
    const batched = fulfilled(await model.runBatch(bodies.map((b) => model.prepare(b))));
    expect(batched.map((p) => p.output)).toEqual([
      { scaled: [2], sum: [1.5] },
      { scaled: [10], sum: [1.5] },
    ]);
  });
});
