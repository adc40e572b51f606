/**
 * bench/runtime — the runner's overhead per node.
 *
 * Two workloads, each timed through SequentialRunner and, in the same run, as the same functions
 * called directly in one loop (the baseline):
 *   1. a 50-node chain of trivial nodes (x → x + 1);
 *   2. a 10-node pipeline over a 10-row danfojs DataFrame (each node reads a column and adds one).
 * Overhead per node = (runner time − direct time) / nodes. Target: under 20 µs per node.
 */
import type { DataFrame } from "danfojs-node";
import { DataCatalog, SequentialRunner, node, pipeline, toDataFrame, tableFromColumns, type Node } from "../src/index.js";
import { cloneDataFrame } from "../src/tabular/index.js";
import { measure, report } from "./harness.js";

const runner = new SequentialRunner();

async function chain(): Promise<Record<string, number>> {
  const fns = Array.from({ length: 50 }, () => (x: number) => x + 1);
  const nodes: Node[] = fns.map((f, i) => node(f, { inputs: i === 0 ? "x0" : `x${i}`, outputs: `x${i + 1}`, name: `n${i}` }));
  const p = pipeline(nodes);
  const catalog = new DataCatalog({}, { params: {} });
  const direct = await measure(() => {
    let x = 0;
    for (const f of fns) x = f(x);
    return x;
  });
  const viaRunner = await measure(() => runner.run(p, catalog.derive({ feed: { x0: 0 } })), { perBatch: 100 });
  return summarise(direct.medianUs, viaRunner.medianUs, 50);
}

async function frames(): Promise<Record<string, number>> {
  const base = toDataFrame<import("danfojs-node").DataFrame>(
    tableFromColumns({ a: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], b: [0.5, 1.5, 2.5, 3.5, 4.5, 5.5, 6.5, 7.5, 8.5, 9.5] }),
  );
  const fns = Array.from({ length: 10 }, (_, i) => (df: DataFrame): DataFrame => {
    const values = (df.column("a").values as number[]).map((v) => v * 2);
    df.addColumn(`c${i}`, values, { inplace: true });
    return df;
  });
  const nodes = fns.map((f, i) => node(f, { inputs: i === 0 ? "frame" : `f${i}`, outputs: `f${i + 1}`, name: `n${i}` }));
  const p = pipeline(nodes);
  // Both sides start from a fresh copy of the frame, as a served model's input is fresh per request.
  const direct = await measure(() => {
    let df = cloneDataFrame(base, false);
    for (const f of fns) df = f(df);
    return df;
  });
  // The feed is assigned: the input is handed over, as the loader does with a request's frame.
  const catalog = new DataCatalog({}, { copyMode: "assign" });
  const viaRunner = await measure(() => runner.run(p, catalog.derive({ feed: { frame: cloneDataFrame(base, false) } })));
  return summarise(direct.medianUs, viaRunner.medianUs, 10);
}

function summarise(directUs: number, runnerUs: number, nodes: number): Record<string, number> {
  const round = (x: number): number => Math.round(x * 100) / 100;
  return {
    nodes,
    directUsPerRun: round(directUs),
    runnerUsPerRun: round(runnerUs),
    overheadUsPerNode: round((runnerUs - directUs) / nodes),
    ratioRunnerToDirect: round(runnerUs / directUs),
  };
}

export async function main(): Promise<void> {
  const results = { chain50Trivial: await chain(), dataframe10Nodes10Rows: await frames(), targetOverheadUsPerNode: 20 };
  await report("runtime", results);
}
