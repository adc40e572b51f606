/**
 * KServe's V1 protocol (`protocolVersion: v1` in deploy/kserve): GET /v1/models/{name} and
 * POST /v1/models/{name}:predict, answering as /invocations does for the same instances, with
 * `{error}` bodies; in a model set, each model under its own name. Real HTTP on an ephemeral port.
 */
import { afterAll, describe, expect, it } from "vitest";
import { ServerState, serveApp, type RunningServer } from "../../src/index.js";
import { ServerMetrics, createModelSetApp, createServingApp } from "../../src/server/index.js";
import { quietLogger } from "./fixtures/http.js";
import { SIGNATURES, buildModel } from "./fixtures/models.js";

const servers: RunningServer[] = [];
afterAll(async () => {
  for (const s of servers) await s.stop();
});

async function listen(app: unknown, state: ServerState, metrics: ServerMetrics): Promise<string> {
  const running = await serveApp(app as never, { port: 0, host: "127.0.0.1", state, logger: quietLogger(), metrics, onStopped: () => undefined });
  servers.push(running);
  return `http://127.0.0.1:${running.port}`;
}

async function startOne(options: { maxRows?: number } = {}): Promise<string> {
  const state = new ServerState();
  const metrics = new ServerMetrics();
  const { app } = createServingApp(await buildModel("scale_rows", SIGNATURES.abScale), {
    logger: quietLogger(),
    state,
    metrics,
    modelName: "scaler",
    ...options,
  });
  return listen(app, state, metrics);
}

async function call(url: string, method: string, body?: unknown): Promise<{ status: number; body: any; version: string | null }> {
  const res = await fetch(
    url,
    body === undefined ? { method } : { method, headers: { "Content-Type": "application/json" }, body: typeof body === "string" ? body : JSON.stringify(body) },
  );
  return { status: res.status, body: await res.json(), version: res.headers.get("x-pipeserve-model-version") };
}

const INSTANCES = {
  instances: [
    { a: 1, b: 0.5 },
    { a: 2, b: 1.5 },
  ],
};

describe("KServe v1 routes", () => {
  it("answers :predict as /invocations answers the same instances, with params", async () => {
    const url = await startOne();
    const v1 = await call(`${url}/v1/models/scaler:predict`, "POST", { ...INSTANCES, params: { scale: 10 } });
    const mlflow = await call(`${url}/invocations`, "POST", { ...INSTANCES, params: { scale: 10 } });
    expect(v1.status).toBe(200);
    expect(v1.body).toEqual(mlflow.body);
    expect(v1.body).toEqual({
      predictions: [
        { scaled: 10, sum: 1.5 },
        { scaled: 20, sum: 3.5 },
      ],
    });
    expect((await call(`${url}/v1/models/scaler:predict`, "POST", { inputs: [{ a: 3, b: 1 }] })).body).toEqual({ predictions: [{ scaled: 6, sum: 4 }] });
  });

  it("GET /v1/models/{name}: its name and readiness; GET /v1/models lists the model", async () => {
    const url = await startOne();
    expect(await call(`${url}/v1/models/scaler`, "GET")).toMatchObject({ status: 200, body: { name: "scaler", ready: true } });
    expect(await call(`${url}/v1/models`, "GET")).toMatchObject({ status: 200, body: { models: ["scaler"] } });
  });

  it.each([
    ["another model", "POST", "/v1/models/other:predict", INSTANCES, 404, 'Model "other" is not served here; this server serves "scaler".'],
    ["explain", "POST", "/v1/models/scaler:explain", INSTANCES, 404, "(the verb :explain): this server serves POST /v1/models/scaler:predict."],
    ["no verb", "POST", "/v1/models/scaler", INSTANCES, 404, "(no verb): this server serves POST /v1/models/scaler:predict."],
    ["GET on :predict", "GET", "/v1/models/scaler:predict", undefined, 405, "GET is not allowed on /v1/models/scaler:predict"],
    ["a body without instances", "POST", "/v1/models/scaler:predict", { dataframe_split: { columns: ["a"], data: [[1]] } }, 400, '"instances"'],
    ["a body that is not JSON", "POST", "/v1/models/scaler:predict", "{nope", 400, "JSON"],
    // Paths no route matches answer in the protocol's shape too.
    [
      "a versioned path (v1 has none)",
      "POST",
      "/v1/models/scaler/versions/1:predict",
      INSTANCES,
      404,
      "No route for POST /v1/models/scaler/versions/1:predict",
    ],
    ["POST on the list", "POST", "/v1/models", INSTANCES, 405, "POST is not allowed on /v1/models; use GET."],
  ] as const)("%s: %i with an {error} body", async (_, method, path, body, status, message) => {
    const url = await startOne();
    const r = await call(`${url}${path}`, method, body);
    expect(r.status).toBe(status);
    expect(Object.keys(r.body)).toEqual(["error"]);
    expect(r.body.error).toContain(message);
  });

  it("GET on :predict: the 405 says Allow: POST (RFC 9110)", async () => {
    const url = await startOne();
    const res = await fetch(`${url}/v1/models/scaler:predict`);
    expect(res.status).toBe(405);
    expect(res.headers.get("allow")).toBe("POST");
  });

  it("instances the signature refuses: 400 with the message /invocations gives them", async () => {
    const url = await startOne();
    const body = { instances: [{ a: "x", b: 1 }] };
    const v1 = await call(`${url}/v1/models/scaler:predict`, "POST", body);
    const mlflow = await call(`${url}/invocations`, "POST", body);
    expect(v1.status).toBe(400);
    expect(mlflow.status).toBe(400);
    expect(v1.body.error).toBe(mlflow.body.message);
    expect(v1.body.error).toContain('Column a is long: row 0 holds "x"');
  });

  it("past --max-rows: 413", async () => {
    const url = await startOne({ maxRows: 1 });
    const r = await call(`${url}/v1/models/scaler:predict`, "POST", INSTANCES);
    expect(r.status).toBe(413);
    expect(r.body.error).toContain("rows");
  });

  it("in a model set, each model answers under its own name", async () => {
    const state = new ServerState();
    const metrics = new ServerMetrics();
    const { app } = createModelSetApp(
      [
        { name: "double", uri: "a", model: await buildModel("scale_rows", SIGNATURES.abScale) },
        { name: "sums", uri: "b", model: await buildModel("arith_columns", null) },
      ],
      { logger: quietLogger(), state, metrics },
    );
    const url = await listen(app, state, metrics);
    expect((await call(`${url}/v1/models/double:predict`, "POST", INSTANCES)).body.predictions[0]).toEqual({ scaled: 2, sum: 1.5 });
    expect((await call(`${url}/v1/models/sums:predict`, "POST", { instances: [{ double_x: 2 }] })).body.predictions[0]).toMatchObject({ double_x_x2: 4 });
    expect(await call(`${url}/v1/models/sums`, "GET")).toMatchObject({ status: 200, body: { name: "sums", ready: true } });
    expect((await call(`${url}/v1/models`, "GET")).body).toEqual({ models: ["double", "sums"] });
    const missing = await call(`${url}/v1/models/none:predict`, "POST", INSTANCES);
    expect(missing.status).toBe(404);
    expect(missing.body.error).toContain('Model "none" is not served here');
  });
});
