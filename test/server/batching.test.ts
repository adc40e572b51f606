/**
 * Adaptive batching: small requests to a row-wise model that arrive together run as one pipeline
 * run. What a client must see is nothing at all: each response is byte for byte the response its
 * request gets alone (JSON, CSV, Arrow, Open Inference), a request that fails fails alone, and a
 * bad request is refused before it joins anyone. What the operator sees is the
 * pipeserve_pipeline_run_requests histogram (requests per run), and `--max-batch-rows` bounds it
 * (the flag on a real `pipeserve serve`: batching.process.test.ts).
 */
import { describe, expect, it } from "vitest";
import { serveApp, ServerState, type PipelineModel } from "../../src/index.js";
import { expectError, postJson, quietApp, quietLogger, send, type App } from "./fixtures/http.js";
import { SIGNATURES, buildModel } from "./fixtures/models.js";

const body = (rows: [number, number][], params?: Record<string, unknown>): string =>
  JSON.stringify({ dataframe_split: { columns: ["a", "b"], data: rows }, ...(params ? { params } : {}) });

/** Distinct small requests: request i has 1 + (i mod 3) rows of its own values. */
const requests = (n: number): [number, number][][] =>
  Array.from({ length: n }, (_, i) => Array.from({ length: 1 + (i % 3) }, (_, r): [number, number] => [100 * i + r, i + r / 10]));

/** Requests and runs so far, from /metrics. */
async function runStats(app: App): Promise<{ requests: number; runs: number }> {
  const text = await (await send(app, "/metrics")).text();
  const value = (name: string): number => Number(new RegExp(`^${name} (\\S+)$`, "m").exec(text)?.[1] ?? NaN);
  return { requests: value("pipeserve_pipeline_run_requests_sum"), runs: value("pipeserve_pipeline_run_requests_count") };
}

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

interface Reply {
  status: number;
  type: string | null;
  ignored: string | null;
  body: string;
}

async function reply(res: Response): Promise<Reply> {
  return {
    status: res.status,
    type: res.headers.get("content-type"),
    ignored: res.headers.get("x-pipeserve-ignored-params"),
    body: Buffer.from(await res.arrayBuffer()).toString("base64"),
  };
}

/** Each request alone, one after another, through an app that never batches. */
async function aloneReplies(model: PipelineModel, send1: (app: App, i: number) => Promise<Response>, n: number): Promise<Reply[]> {
  const app = quietApp(model, { maxBatchRows: 1 });
  const out: Reply[] = [];
  for (let i = 0; i < n; i++) out.push(await reply(await send1(app, i)));
  return out;
}

describe("small concurrent requests to a row-wise model", () => {
  it("run together, and each gets exactly the response it gets alone", async () => {
    const model = await buildModel("scale_rows", SIGNATURES.abScale, { rowWise: true });
    const app = quietApp(model);
    const rows = requests(24);
    const concurrent = await Promise.all(rows.map((r) => postJson(app, body(r)).then(reply)));
    expect(concurrent).toEqual(await aloneReplies(model, (a, i) => postJson(a, body(rows[i]!)), rows.length));
    const stats = await runStats(app);
    expect(stats.requests).toBe(24);
    expect(stats.runs, "fewer pipeline runs than requests").toBeLessThan(24);
  });

  it.each([
    ["CSV", { accept: "text/csv" }],
    ["Arrow", { accept: "application/vnd.apache.arrow.stream" }],
  ])("answer %s exactly as they would alone", async (_, headers) => {
    const model = await buildModel("row_sum_ndarray", SIGNATURES.ab, { rowWise: true });
    const app = quietApp(model);
    const rows = requests(12);
    const concurrent = await Promise.all(rows.map((r) => postJson(app, body(r), { headers }).then(reply)));
    expect(concurrent).toEqual(await aloneReplies(model, (a, i) => postJson(a, body(rows[i]!), { headers }), rows.length));
    expect((await runStats(app)).runs).toBeLessThan(12);
  });

  it("on the Open Inference Protocol too (apart from the response ids)", async () => {
    const model = await buildModel("scale_rows", SIGNATURES.abScale, { rowWise: true });
    const app = quietApp(model);
    const infer = (i: number): unknown => ({
      id: `req-${i}`,
      inputs: [
        { name: "a", shape: [2], datatype: "INT64", data: [i, i + 1] },
        { name: "b", shape: [2], datatype: "FP64", data: [0.5, 1.5] },
      ],
    });
    const concurrent = await Promise.all(Array.from({ length: 10 }, (_, i) => postJson(app, infer(i), { path: "/v2/models/model/infer" }).then(reply)));
    expect(concurrent).toEqual(await aloneReplies(model, (a, i) => postJson(a, infer(i), { path: "/v2/models/model/infer" }), 10));
    expect(JSON.parse(Buffer.from(concurrent[3]!.body, "base64").toString())).toMatchObject({
      id: "req-3",
      outputs: [
        { name: "scaled", data: [6, 8] },
        { name: "sum", data: [3.5, 5.5] },
      ],
    });
    expect((await runStats(app)).runs).toBeLessThan(10);
  });

  it("a request whose rows make the pipeline fail gets its own 500 naming the node; the others succeed", async () => {
    const model = await buildModel("scale_rows", SIGNATURES.abScale, { rowWise: true });
    const app = quietApp(model);
    const rows = requests(8);
    rows[5] = [[13, 0.5]];
    const responses = await Promise.all(rows.map((r) => postJson(app, body(r))));
    for (const [i, res] of responses.entries()) {
      if (i === 5) await expectError(res, 500, "INTERNAL_ERROR", ['Node "scale_rows"', "a = 13"]);
      else expect(await res.json()).toEqual({ predictions: rows[i]!.map(([a, b]) => ({ scaled: a * 2, sum: a + b })) });
    }
  });

  it("a bad request is refused on its own (400) and never joins a batch", async () => {
    const model = await buildModel("scale_rows", SIGNATURES.abScale, { rowWise: true });
    const app = quietApp(model);
    const sent = [postJson(app, body([[1, 0.5]])), postJson(app, body([[1.5, 0.5]])), postJson(app, "{"), postJson(app, body([[2, 1]]))];
    const [first, schema, malformed, last] = await Promise.all(sent);
    expect(await first!.json()).toEqual({ predictions: [{ scaled: 2, sum: 1.5 }] });
    await expectError(schema!, 400, "INVALID_PARAMETER_VALUE", ["a"]);
    await expectError(malformed!, 400, "BAD_REQUEST", ["JSON"]);
    expect(await last!.json()).toEqual({ predictions: [{ scaled: 4, sum: 3 }] });
    expect((await runStats(app)).requests, "only the two good requests ran").toBe(2);
  });

  it("requests with different params are not mixed: each runs with its own", async () => {
    const model = await buildModel("scale_rows", SIGNATURES.abScale, { rowWise: true });
    const app = quietApp(model);
    const responses = await Promise.all([1, 2, 3, 1, 2, 3].map((scale) => postJson(app, body([[10, 0]], { scale }))));
    expect(await Promise.all(responses.map(async (r) => ((await r.json()) as { predictions: { scaled: number }[] }).predictions[0]!.scaled))).toEqual([
      10, 20, 30, 10, 20, 30,
    ]);
  });

  it("a batch holds at most --max-batch-rows rows; 1 turns batching off", async () => {
    const model = await buildModel("scale_rows", SIGNATURES.abScale, { rowWise: true });
    const twoRows = Array.from({ length: 6 }, (_, i): [number, number][] => [
      [i, 0],
      [i, 1],
    ]);
    const bounded = quietApp(model, { maxBatchRows: 4 });
    await Promise.all(twoRows.map((r) => postJson(bounded, body(r))));
    expect(await runStats(bounded)).toEqual({ requests: 6, runs: 3 });
    const off = quietApp(model, { maxBatchRows: 1 });
    await Promise.all(twoRows.map((r) => postJson(off, body(r))));
    expect(await runStats(off)).toEqual({ requests: 6, runs: 6 });
  });

  it("requests that time out in a batch get 504, and their rows are not counted as predicted", async () => {
    const model = await buildModel("sleep", SIGNATURES.sleepParams, { rowWise: true });
    const app = quietApp(model, { timeoutMs: 100 });
    const responses = await Promise.all([1, 2, 3].map((i) => postJson(app, body([[i, 0.5]], { delay_ms: 300 }))));
    for (const res of responses) await expectError(res, 504, "DEADLINE_EXCEEDED", ["took longer than the 0.1 s timeout"]);
    await new Promise((r) => setTimeout(r, 400));
    const metrics = await (await send(app, "/metrics")).text();
    expect(metrics).toMatch(/^pipeserve_prediction_rows_total 0$/m);
    expect((await runStats(app)).runs, "the three ran as one batch").toBe(1);
  });

  it("a model that is not row-wise never batches", async () => {
    const model = await buildModel("scale_rows", SIGNATURES.abScale, { rowWise: false });
    const app = quietApp(model);
    await Promise.all(requests(6).map((r) => postJson(app, body(r))));
    expect(await runStats(app)).toEqual({ requests: 6, runs: 6 });
  });
});

describe("over real sockets", () => {
  it("a sustained load from 16 keep-alive connections is batched, and each request gets its own rows back", async () => {
    const model = await buildModel("scale_rows", SIGNATURES.abScale, { rowWise: true });
    const state = new ServerState();
    const app = quietApp(model, { state });
    const running = await serveApp(app as never, { port: 0, host: "127.0.0.1", state, logger: quietLogger(), onStopped: () => undefined });
    try {
      const rows = requests(800);
      const results = await load(`http://127.0.0.1:${running.port}`, rows, 16);
      results.forEach((result, i) => expect(result, `request ${i}`).toEqual({ predictions: rows[i]!.map(([a, b]) => ({ scaled: a * 2, sum: a + b })) }));
      const stats = await runStats(app);
      expect(stats.requests).toBe(800);
      expect(stats.runs, "fewer pipeline runs than requests").toBeLessThan(800);
    } finally {
      await running.stop();
    }
  });
});
