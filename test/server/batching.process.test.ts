/**
 * `pipeserve serve --max-batch-rows 1` in a real process turns adaptive batching off: under the
 * load that batching.test.ts shows batched, every request runs the pipeline alone.
 */
import { expect, it } from "vitest";
import { useBuiltBin } from "../fixtures/cli.js";
import { SIGNATURES, packageBehaviour } from "./fixtures/models.js";
import { ServeProcess } from "./fixtures/server-process.js";

useBuiltBin();

const body = (rows: [number, number][]): string => JSON.stringify({ dataframe_split: { columns: ["a", "b"], data: rows } });

/** Distinct small requests: request i has 1 + (i mod 3) rows of its own values. */
const requests = (n: number): [number, number][][] =>
  Array.from({ length: n }, (_, i) => Array.from({ length: 1 + (i % 3) }, (_, r): [number, number] => [100 * i + r, i + r / 10]));

/** Sends every request over `connections` keep-alive connections, each sending its next as soon as one is answered. */
async function load(url: string, rows: [number, number][][], connections: number): Promise<unknown[]> {
  const results: unknown[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: connections }, async () => {
      while (next < rows.length) {
        const i = next++;
        const res = await fetch(`${url}/invocations`, { method: "POST", headers: { "content-type": "application/json" }, body: body(rows[i]!) });
        results[i] = await res.json();
      }
    }),
  );
  return results;
}

it("pipeserve serve --max-batch-rows 1 turns batching off under the same load", async () => {
  const dir = await packageBehaviour("scale_rows", SIGNATURES.abScale, { rowWise: true });
  const p = new ServeProcess(["serve", "-m", dir, "-p", "0", "--max-batch-rows", "1"]);
  try {
    let url: string | undefined;
    for (let i = 0; i < 300 && !url; i++) {
      url = p.logs().find((l) => l.msg === "Serving")?.["url"] as string | undefined;
      if (!url) await new Promise((r) => setTimeout(r, 50));
    }
    expect(url, p.stderr).toBeDefined();
    const rows = requests(400);
    const results = await load(url as string, rows, 16);
    expect(results[399]).toEqual({ predictions: rows[399]!.map(([a, b]) => ({ scaled: a * 2, sum: a + b })) });
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toContain("pipeserve_pipeline_run_requests_sum 400");
    expect(metrics).toContain("pipeserve_pipeline_run_requests_count 400");
  } finally {
    p.child.kill("SIGTERM");
    await p.exited;
  }
});
