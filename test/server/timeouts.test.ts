/**
 * The prediction timeout is enforced whatever the pipeline does (issue 14, item 3): a node that
 * never returns, one that computes without yielding, on this thread or in a worker thread. The
 * client gets 504, the queue slot is freed at the deadline (so hung work cannot starve the server
 * into 503s), readiness fails only while the queue is really full, and /metrics counts the
 * abandoned runs.
 */
import { afterAll, describe, expect, it } from "vitest";
import { ServerState, type PipelineModel } from "../../src/index.js";
import { abBody, expectError, postJson, predictions, quietApp, send } from "./fixtures/http.js";
import { SIGNATURES, buildModel } from "./fixtures/models.js";

const AB_ROWS = [
  { a: 1, b: 0.5 },
  { a: 2, b: 1.5 },
];

const metric = (text: string, name: string): number => Number(new RegExp(`^${name} (\\S+)$`, "m").exec(text)?.[1]);

const models: PipelineModel[] = [];
afterAll(async () => {
  await Promise.all(models.map((m) => m.close()));
});

describe("a node that never returns", () => {
  it("each request gets 504 at the deadline, and more of them than --max-queue never starve the server", async () => {
    const state = new ServerState();
    const app = quietApp(await buildModel("hang", SIGNATURES.ab), { timeoutMs: 80, maxQueue: 2, state });
    for (let i = 0; i < 5; i++) {
      const started = performance.now();
      await expectError(await postJson(app, abBody()), 504, "DEADLINE_EXCEEDED", ["took longer than the 0.08 s timeout", "--timeout"]);
      expect(performance.now() - started).toBeLessThan(1_000);
      expect(state.pending).toBe(0);
    }
    // Five hung runs, yet the queue is free: readiness holds, and /metrics shows them still running.
    expect((await send(app, "/ping")).status).toBe(200);
    expect((await send(app, "/v2/health/ready")).status).toBe(200);
    const text = await (await send(app, "/metrics")).text();
    expect(metric(text, "pipeserve_abandoned_runs_total")).toBe(5);
    expect(metric(text, "pipeserve_abandoned_runs_running")).toBe(5);
    expect(metric(text, "pipeserve_prediction_timeouts_total")).toBe(5);
  });

  it("concurrent hung requests fill the queue: readiness fails while they wait, and recovers at their deadline", async () => {
    const state = new ServerState();
    const app = quietApp(await buildModel("hang", SIGNATURES.ab), { timeoutMs: 300, maxQueue: 2, state });
    const hung = [postJson(app, abBody()), postJson(app, abBody())];
    while (state.pending < 2) await new Promise((r) => setTimeout(r, 5));
    expect((await send(app, "/ping")).status).toBe(503);
    expect((await send(app, "/v2/health/ready")).status).toBe(503);
    expect((await send(app, "/v2/health/live")).status).toBe(200);
    for (const res of await Promise.all(hung)) expect(res.status).toBe(504);
    expect((await send(app, "/ping")).status).toBe(200);
  });
});

describe("a node that computes without yielding", () => {
  it("on the WorkerRunner: 504 on time while /ping keeps answering, the thread is ended, and the next prediction runs", async () => {
    const model = await buildModel("spin", SIGNATURES.sleepParams, { runner: "WorkerRunner" });
    models.push(model);
    const app = quietApp(model, { timeoutMs: 100 });
    // Runs without the short timeout start a worker thread and import the pipeline there (the first, and the one after a thread is ended).
    const patient = quietApp(model);
    expect(await predictions(await postJson(patient, abBody(undefined, { delay_ms: 0 })))).toEqual(AB_ROWS);
    const started = performance.now();
    const spinning = postJson(app, abBody(undefined, { delay_ms: 1_400 }));
    // The event loop is free while the node computes in its thread: health checks answer meanwhile.
    await new Promise((r) => setTimeout(r, 20));
    expect((await send(app, "/ping")).status).toBe(200);
    await expectError(await spinning, 504, "DEADLINE_EXCEEDED", ["took longer than the 0.1 s timeout"]);
    expect(performance.now() - started).toBeLessThan(1_000);
    const text = await (await send(app, "/metrics")).text();
    expect(metric(text, "pipeserve_abandoned_runs_total")).toBe(1);
    expect(await predictions(await postJson(patient, abBody(undefined, { delay_ms: 0 })))).toEqual(AB_ROWS);
    expect(metric(await (await send(app, "/metrics")).text(), "pipeserve_abandoned_runs_running")).toBe(0);
  });

  it("on this thread: 504 as soon as the node returns (its result is not served), not a late 200", async () => {
    const app = quietApp(await buildModel("spin", SIGNATURES.sleepParams), { timeoutMs: 50 });
    const started = performance.now();
    await expectError(await postJson(app, abBody(undefined, { delay_ms: 250 })), 504, "DEADLINE_EXCEEDED", ["took longer than the 0.05 s timeout"]);
    // NB: a node that blocks this thread cannot be interrupted; the README says to use the WorkerRunner for that.
    expect(performance.now() - started).toBeGreaterThanOrEqual(250);
    const text = await (await send(app, "/metrics")).text();
    expect(metric(text, "pipeserve_prediction_rows_total")).toBe(0);
    expect(metric(text, "pipeserve_abandoned_runs_total")).toBe(0);
  });
});
