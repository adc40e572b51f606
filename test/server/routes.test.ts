/**
 * Every route of the app, in-process through `app.request()`: MLflow's (/ping, /health, /version,
 * /invocations), /metadata, /metrics, the Open Inference Protocol v2 (health, server and model
 * metadata, readiness, infer), unknown paths (404 JSON), wrong methods (405 JSON with Allow), the
 * X-Request-Id on every response, and the model's name in /v2 (`--model-name`, the registered
 * name, or "model").
 */
import { beforeAll, describe, expect, it } from "vitest";
import { ServerState, loadModel, pipeserveVersion, type PipelineModel } from "../../src/index.js";
import { abBody, expectError, expectV2Error, postJson, predictions, quietApp, send, type App } from "./fixtures/http.js";
import { SIGNATURES, buildModel, trainScaler, type TrainedScaler } from "./fixtures/models.js";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

let echo: PipelineModel;
let echoParams: PipelineModel;
let app: App;

beforeAll(async () => {
  echo = await buildModel("echo", SIGNATURES.ab);
  echoParams = await buildModel("echo", SIGNATURES.abParams);
  app = quietApp(echo);
});

describe("MLflow routes", () => {
  it.each(["/ping", "/health"])("GET %s answers 200 with a single newline, typed application/json as MLflow does", async (path) => {
    const res = await send(app, path);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/json");
    expect(await res.text()).toBe("\n");
  });

  it("GET /version answers the bare version string, not JSON-quoted", async () => {
    const res = await send(app, "/version");
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).toBe(pipeserveVersion());
    expect(text).toMatch(/^\d+\.\d+\.\d+/);
  });

  it("POST /invocations predicts", async () => {
    expect(await predictions(await postJson(app, abBody()))).toEqual([
      { a: 1, b: 0.5 },
      { a: 2, b: 1.5 },
    ]);
  });

  it("while not ready (draining), /ping and /health answer 503 and predictions are refused with Retry-After; liveness stays 200", async () => {
    const state = new ServerState();
    const draining = quietApp(echo, { state });
    state.ready = false;
    for (const path of ["/ping", "/health"]) await expectError(await send(draining, path), 503, "TEMPORARILY_UNAVAILABLE", ["shutting down"]);
    const res = await postJson(draining, abBody());
    expect(res.headers.get("retry-after")).toBe("1");
    await expectError(res, 503, "TEMPORARILY_UNAVAILABLE", ["The server is shutting down", "retry on another instance"]);
    const infer = await postJson(
      draining,
      {
        inputs: [
          { name: "a", shape: [1], datatype: "INT64", data: [1] },
          { name: "b", shape: [1], datatype: "FP64", data: [0.5] },
        ],
      },
      { path: "/v2/models/model/infer" },
    );
    await expectV2Error(infer, 503, ["shutting down"]);
    expect(await (await send(draining, "/v2/health/ready")).json()).toEqual({ ready: false });
    expect((await send(draining, "/v2/health/ready")).status).toBe(503);
    const ready = await send(draining, "/v2/models/model/ready");
    expect(ready.status).toBe(503);
    expect(await ready.json()).toEqual({ name: "model", ready: false });
    expect(await (await send(draining, "/v2/health/live")).json()).toEqual({ live: true });
    state.ready = true;
    expect((await send(draining, "/ping")).status).toBe(200);
  });
});

describe("GET /metadata", () => {
  let trained: TrainedScaler;
  let registered: PipelineModel;
  beforeAll(async () => {
    trained = await trainScaler();
    registered = await loadModel(trained.registeredUri, { trackingUri: trained.trackingDir });
    return () => registered.close();
  });

  it("describes a trained, registered model: name, version, run, signature, params with defaults, runners, input example", async () => {
    const res = await send(quietApp(registered), "/metadata");
    expect(res.status).toBe(200);
    const meta = (await res.json()) as Record<string, unknown>;
    expect(meta).toMatchObject({
      name: "scaler-model",
      version: "1",
      uri: trained.registeredUri,
      run_id: trained.runId,
      pipeserve_version: pipeserveVersion(),
      flavor: { input_name: "instances", output_name: "predictions", input_type: "dataframe", runner: "SequentialRunner" },
      signature: {
        inputs: '[{"type": "double", "name": "x", "required": true}]',
        outputs: '[{"type": "long", "name": "label", "required": true}, {"type": "double", "name": "score", "required": true}]',
      },
      params: [
        { name: "margin", type: "double", default: 0, shape: null },
        { name: "runner", type: "string", default: "SequentialRunner", shape: null },
      ],
      runners: ["SequentialRunner", "ConcurrentRunner", "WorkerRunner"],
      input_example: { columns: ["x"], data: expect.any(Array) },
      // The inference pipeline, for the model page's graph: its nodes, and the artifacts packaged with it.
      pipeline: {
        input: "instances",
        output: "predictions",
        nodes: [{ name: "predict", inputs: ["instances", "scaler", "model", "params:margin"], outputs: ["predictions"] }],
        artifacts: ["scaler", "model"],
      },
    });
    // The MLflow 3 LoggedModel the run logged: its id is the model's uuid.
    expect(meta["model_uuid"]).toMatch(/^m-[0-9a-f]{32}$/);
    expect(meta["model_id"]).toBe(meta["model_uuid"]);
    expect(meta["utc_time_created"]).toEqual(expect.any(String));
  });

  it("says null for what a bare model directory does not have", async () => {
    const meta = (await (await send(app, "/metadata")).json()) as Record<string, unknown>;
    expect(meta).toMatchObject({
      name: "model",
      version: null,
      run_id: null,
      input_example: null,
      params: [],
      signature: { inputs: SIGNATURES.ab.inputs, outputs: null, params: null },
    });
  });

  it("names the model as --model-name says", async () => {
    expect(await (await send(quietApp(echo, { modelName: "iris" }), "/metadata")).json()).toMatchObject({ name: "iris" });
  });
});

describe("GET /metrics", () => {
  it("exposes request counters, latency histograms, rows and per-node timings after a request", async () => {
    const fresh = quietApp(echo);
    await predictions(await postJson(fresh, abBody()));
    await send(fresh, "/nope");
    expect((await send(fresh, "/invocations")).status).toBe(405);
    // NB: a request is counted as its response leaves (possibly a tick later); in-process there is no I/O between requests to give it that tick.
    await new Promise((r) => setImmediate(r));
    const res = await send(fresh, "/metrics");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    for (const line of [
      'pipeserve_http_requests_total{route="/invocations",method="POST",status="200"} 1',
      'pipeserve_http_requests_total{route="unmatched",method="GET",status="404"} 1',
      'pipeserve_http_request_duration_seconds_bucket{le="+Inf",route="/invocations",method="POST",status="200"} 1',
      'pipeserve_http_request_duration_seconds_count{route="/invocations",method="POST",status="200"} 1',
      // A route's GET and POST are timed apart: KServe v1's status and its predictions share a route.
      'pipeserve_http_request_duration_seconds_count{route="/invocations",method="GET",status="405"} 1',
      "pipeserve_prediction_rows_total 2",
      'pipeserve_pipeline_node_duration_seconds_count{node="echo"} 1',
      // The /metrics request itself is in flight while the text is made.
      "pipeserve_http_requests_in_flight 1",
      // At 0 before any swap, so the first one is an increase.
      'pipeserve_model_swaps_total{result="swapped"} 0',
      'pipeserve_model_swaps_total{result="failed"} 0',
    ]) {
      expect(text).toContain(line);
    }
    expect(text).toMatch(/# TYPE pipeserve_pipeline_node_duration_seconds histogram/);
  });
});

describe("Open Inference Protocol v2", () => {
  const inferBody = (
    extra: Record<string, unknown> = {},
    data: { a: unknown; b: unknown; shape: number[] } = { a: [1, 2], b: [0.5, 1.5], shape: [2] },
  ): Record<string, unknown> => ({
    inputs: [
      { name: "a", shape: data.shape, datatype: "INT64", data: data.a },
      { name: "b", shape: data.shape, datatype: "FP64", data: data.b },
    ],
    ...extra,
  });
  const OUTPUTS = [
    { name: "a", shape: [2], datatype: "INT64", data: [1, 2] },
    { name: "b", shape: [2], datatype: "FP64", data: [0.5, 1.5] },
  ];

  it("GET /v2 describes the server", async () => {
    expect(await (await send(app, "/v2")).json()).toEqual({
      name: "pipeserve",
      version: pipeserveVersion(),
      extensions: ["model_repository", "binary_tensor_data"],
    });
  });

  it("/v2/repository/index lists the one model served, with its state, as MLServer and Triton answer it", async () => {
    expect(await (await send(app, "/v2/repository/index")).json()).toEqual([{ name: "model", state: "READY", reason: "" }]);
    const posted = await send(app, "/v2/repository/index", { method: "POST", contentType: "application/json", body: '{"ready": true}' });
    expect(await posted.json()).toEqual([{ name: "model", state: "READY", reason: "" }]);
    const bad = await send(app, "/v2/repository/index", { method: "POST", contentType: "application/json", body: '{"ready": "yes"}' });
    expect(bad.status).toBe(400);
  });

  it.each([
    ["/v2/health/live", { live: true }],
    ["/v2/health/ready", { ready: true }],
    ["/v2/models/model/ready", { name: "model", ready: true }],
  ])("GET %s → 200", async (path, body) => {
    const res = await send(app, path);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual(body);
  });

  it.each(["/v2/models/model/versions/1/ready", "/v2/models/model/versions/7", "/v2/models/model/versions/3/infer"])(
    "%s → 404 for a model with no registered version (its metadata lists none), over REST as gRPC",
    async (path) => {
      const res = path.endsWith("/infer") ? await postJson(app, inferBody(), { path }) : await send(app, path);
      expect(res.status).toBe(404);
      expect(((await res.json()) as { error: string }).error).toMatch(/^Model "model" has no version "\d" here: it is served from a run or a folder/);
    },
  );

  it.each(["/v2/models/model"])("GET %s gives tensor metadata from the signature", async (path) => {
    const res = await send(quietApp(echoParams), path);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      name: "model",
      versions: [],
      platform: "pipeserve",
      inputs: [
        { name: "a", datatype: "INT64", shape: [-1] },
        { name: "b", datatype: "FP64", shape: [-1] },
      ],
      outputs: [
        { name: "a", datatype: "INT64", shape: [-1] },
        { name: "b", datatype: "FP64", shape: [-1] },
      ],
    });
  });

  it("maps every column type to its tensor datatype in the metadata", async () => {
    const inputs = ["boolean", "integer", "long", "float", "double", "string", "binary", "datetime"].map(
      (type) => `{"type": "${type}", "name": "${type}", "required": true}`,
    );
    const typed = await buildModel("echo", { inputs: `[${inputs.join(", ")}]`, outputs: null, params: null });
    const res = await send(quietApp(typed), "/v2/models/model");
    expect(((await res.json()) as { inputs: { name: string; datatype: string }[] }).inputs.map((t) => [t.name, t.datatype])).toEqual([
      ["boolean", "BOOL"],
      ["integer", "INT32"],
      ["long", "INT64"],
      ["float", "FP32"],
      ["double", "FP64"],
      ["string", "BYTES"],
      ["binary", "BYTES"],
      ["datetime", "BYTES"],
    ]);
  });

  it.each([
    ["flat data, shape [rows]", inferBody()],
    ["nested data, shape [rows, 1]", inferBody({}, { a: [[1], [2]], b: [[0.5], [1.5]], shape: [2, 1] })],
  ])("POST /v2/models/model/infer with %s → one output per column", async (_, body) => {
    const res = await postJson(app, body, { path: "/v2/models/model/infer" });
    expect(res.status).toBe(200);
    const out = (await res.json()) as Record<string, unknown>;
    expect(out).toEqual({ model_name: "model", id: expect.stringMatching(UUID), outputs: OUTPUTS });
    expect(out).not.toHaveProperty("model_version");
  });

  it("FP32 and FP16 take every value they hold: their largest, and ±Infinity (bare tokens)", async () => {
    const body = `{"inputs": [
      {"name": "a", "shape": [4], "datatype": "INT64", "data": [1, 2, 3, 4]},
      {"name": "b", "shape": [4], "datatype": "FP32", "data": [3.4028235e38, -Infinity, Infinity, 1.5]}]}`;
    const res = await postJson(app, body, { path: "/v2/models/model/infer" });
    expect(res.status, await res.clone().text()).toBe(200);
    // NB: ±Infinity is written as null (PROTOCOL: JSON has no such numbers).
    expect(((await res.json()) as { outputs: { data: unknown }[] }).outputs[1]?.data).toEqual([3.4028235e38, null, null, 1.5]);
    // -65519 rounds to FP16's -65504, not to -Infinity.
    const half = {
      inputs: [
        { name: "a", shape: [2], datatype: "INT64", data: [1, 2] },
        { name: "b", shape: [2], datatype: "FP16", data: [65504, -65519] },
      ],
    };
    const halfRes = await postJson(app, half, { path: "/v2/models/model/infer" });
    expect(((await halfRes.json()) as { outputs: { data: unknown }[] }).outputs[1]?.data).toEqual([65504, -65519]);
  });

  it("echoes the request id; a null id is no id (KServe's Python client sends one)", async () => {
    const res = await postJson(app, inferBody({ id: "my-request-7" }), { path: "/v2/models/model/infer" });
    expect(await res.json()).toEqual({ model_name: "model", id: "my-request-7", outputs: OUTPUTS });
    const unnamed = await postJson(app, inferBody({ id: null }), { path: "/v2/models/model/infer" });
    expect(unnamed.status).toBe(200);
    expect(((await unnamed.json()) as { id: string }).id).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("declared output types win over inferred ones", async () => {
    const res = await postJson(quietApp(echoParams), inferBody({}, { a: [1, 2], b: [1, 2], shape: [2] }), { path: "/v2/models/model/infer" });
    const out = (await res.json()) as { outputs: { name: string; datatype: string; data: unknown }[] };
    expect(out.outputs.map((o) => [o.name, o.datatype, o.data])).toEqual([
      ["a", "INT64", [1, 2]],
      ["b", "FP64", [1, 2]],
    ]);
  });

  it.each([
    { behaviour: "row_sum_ndarray", outputs: [{ name: "output-0", shape: [2], datatype: "FP64", data: [1.5, 3.5] }] },
    { behaviour: "row_sum_series", outputs: [{ name: "0", shape: [2], datatype: "FP64", data: [1.5, 3.5] }] },
    { behaviour: "const_list", outputs: [{ name: "output-0", shape: [1], datatype: "BYTES", data: ["test"] }] },
  ] as const)("answers a $behaviour output as tensors", async ({ behaviour, outputs }) => {
    const res = await postJson(quietApp(await buildModel(behaviour, SIGNATURES.ab)), inferBody(), { path: "/v2/models/model/infer" });
    expect(res.status, await res.clone().text()).toBe(200);
    expect(((await res.json()) as { outputs: unknown }).outputs).toEqual(outputs);
  });

  it('"outputs" in the request choose which outputs come back, in its order', async () => {
    const res = await postJson(app, { ...inferBody(), outputs: [{ name: "b" }] }, { path: "/v2/models/model/infer" });
    expect(((await res.json()) as { outputs: { name: string }[] }).outputs.map((o) => o.name)).toEqual(["b"]);
    const both = await postJson(app, { ...inferBody(), outputs: [{ name: "b" }, { name: "a" }] }, { path: "/v2/models/model/infer" });
    expect(((await both.json()) as { outputs: { name: string }[] }).outputs.map((o) => o.name)).toEqual(["b", "a"]);
    // Each output once: a name listed many times is refused, not encoded that many times.
    const twice = await postJson(app, { ...inferBody(), outputs: Array(1000).fill({ name: "b" }) }, { path: "/v2/models/model/infer" });
    expect(twice.status).toBe(400);
    expect(((await twice.json()) as { error: string }).error).toBe('The request asks for output "b" more than once; name each output once.');
    // An empty list asks for every output, as no list does (the spec; Triton, and the gRPC route).
    const none = await postJson(app, { ...inferBody(), outputs: [] }, { path: "/v2/models/model/infer" });
    expect(((await none.json()) as { outputs: unknown }).outputs).toEqual(OUTPUTS);
  });

  it("a typed-array output says its own datatype, even when its values happen to be whole (no output signature)", async () => {
    // row_sum_ndarray returns a Float64Array: sums of 1 + 1 and 2 + 3 are whole, but still FP64.
    const res = await postJson(quietApp(await buildModel("row_sum_ndarray", SIGNATURES.ab)), inferBody({}, { a: [1, 2], b: [1, 3], shape: [2] }), {
      path: "/v2/models/model/infer",
    });
    expect(((await res.json()) as { outputs: unknown }).outputs).toEqual([{ name: "output-0", shape: [2], datatype: "FP64", data: [2, 5] }]);
  });

  describe("an output with no name of its own (an array, a Series) is the output the metadata lists", () => {
    const withOutputs = (outputs: string) => ({ ...SIGNATURES.ab, outputs });
    it.each([
      { behaviour: "row_sum_ndarray", outputs: '[{"type": "double"}]', name: "0" },
      { behaviour: "row_sum_series", outputs: '[{"type": "double"}]', name: "0" },
      { behaviour: "row_sum_ndarray", outputs: '[{"type": "double", "name": "total"}]', name: "total" },
      { behaviour: "row_sum_series", outputs: '[{"type": "double", "name": "total"}]', name: "total" },
    ] as const)("$behaviour, output signature $outputs: named $name, FP64 whatever the values", async ({ behaviour, outputs, name }) => {
      const served = quietApp(await buildModel(behaviour, withOutputs(outputs)));
      const metadata = (await (await send(served, "/v2/models/model")).json()) as { outputs: unknown };
      expect(metadata.outputs).toEqual([{ name, datatype: "FP64", shape: [-1] }]);
      // Whole sums (1 + 1, 2 + 3) and fractional ones alike: the declared FP64, not INT64 for some requests.
      for (const [b, sums] of [
        [
          [1, 3],
          [2, 5],
        ],
        [
          [0.5, 1.5],
          [1.5, 3.5],
        ],
      ] as const) {
        const res = await postJson(served, inferBody({ outputs: [{ name }] }, { a: [1, 2], b, shape: [2] }), { path: "/v2/models/model/infer" });
        expect(res.status, await res.clone().text()).toBe(200);
        expect(((await res.json()) as { outputs: unknown }).outputs).toEqual([{ name, shape: [2], datatype: "FP64", data: sums }]);
      }
    });
  });

  it("a list a model puts in a BYTES output is sent as its JSON text: one string per row, as over gRPC", async () => {
    const signature = { ...SIGNATURES.ab, params: '[{"name": "arr", "type": "long", "default": [1], "shape": [-1]}]' };
    const res = await postJson(quietApp(await buildModel("params_row", signature)), inferBody({ parameters: { arr: [1, 2, 3] } }), {
      path: "/v2/models/model/infer",
    });
    expect(res.status, await res.clone().text()).toBe(200);
    expect(((await res.json()) as { outputs: unknown }).outputs).toEqual([{ name: "arr", shape: [1], datatype: "BYTES", data: ["[1,2,3]"] }]);
  });

  // Found by an audit: a positional signature's inputs are named "0", "1", … in the metadata, but
  // were matched by the order they came in: sent in another order, "column 1 is string".
  it("inputs of an unnamed (positional) signature are matched by the names the metadata gives them, in any order", async () => {
    const positional = quietApp(
      await buildModel("echo", { inputs: '[{"type": "string", "required": true}, {"type": "long", "required": true}]', outputs: null, params: null }),
    );
    const meta = (await (await send(positional, "/v2/models/model")).json()) as { inputs: { name: string; datatype: string }[] };
    expect(meta.inputs.map((i) => `${i.name}:${i.datatype}`)).toEqual(["0:BYTES", "1:INT64"]);
    const s = { name: "0", shape: [2], datatype: "BYTES", data: ["p", "q"] };
    const n = { name: "1", shape: [2], datatype: "INT64", data: [1, 2] };
    const inOrder = await postJson(positional, { inputs: [s, n] }, { path: "/v2/models/model/infer" });
    const reversed = await postJson(positional, { inputs: [n, s] }, { path: "/v2/models/model/infer" });
    expect(inOrder.status, await inOrder.clone().text()).toBe(200);
    expect(reversed.status, await reversed.clone().text()).toBe(200);
    const outputs = async (res: Response) => ((await res.json()) as { outputs: unknown }).outputs;
    expect(await outputs(reversed)).toEqual(await outputs(inOrder));
  });

  it("reports FP64 for an output column of whole and fractional numbers, whatever comes first (no signature)", async () => {
    const res = await send(quietApp(await buildModel("echo", null)), "/v2/models/model/infer", {
      contentType: "application/json",
      body: JSON.stringify({ inputs: [{ name: "x", shape: [3], datatype: "FP64", data: [1, 2.5, 3] }] }),
    });
    expect(res.status).toBe(200);
    const out = (await res.json()) as { outputs: { name: string; datatype: string; data: number[] }[] };
    expect(out.outputs[0]).toMatchObject({ name: "x", datatype: "FP64", data: [1, 2.5, 3] });
  });

  describe("request-level parameters are the runtime params", () => {
    it.each([
      { why: "a declared param", parameters: { threshold: 0.9 }, ignored: null },
      { why: "a built-in runner", parameters: { runner: "ConcurrentRunner" }, ignored: null },
      { why: "an unknown key (ignored, and named in a header)", parameters: { threshold: 0.9, tresh: 1 }, ignored: "tresh" },
      { why: "null (every default)", parameters: null, ignored: null },
    ])("accepted: $why", async ({ parameters, ignored }) => {
      const res = await postJson(quietApp(echoParams), inferBody({ parameters }), { path: "/v2/models/model/infer" });
      expect(res.status, await res.clone().text()).toBe(200);
      expect(res.headers.get("x-pipeserve-ignored-params")).toBe(ignored);
    });

    it.each([
      { why: "a param of the wrong type", parameters: { threshold: "high" }, parts: ["Invalid parameters found", "threshold"] },
      {
        why: "a runner nobody allowed",
        parameters: { runner: "../x.mjs#Y" },
        parts: ['Runner "../x.mjs#Y" is not allowed', "SequentialRunner, ConcurrentRunner, WorkerRunner"],
      },
    ])("refused (400 {error}): $why", async ({ parameters, parts }) => {
      await expectV2Error(await postJson(quietApp(echoParams), inferBody({ parameters }), { path: "/v2/models/model/infer" }), 400, parts);
    });

    it("reach the pipeline: the sleep model's delay_ms decides whether the 500 ms timeout trips", async () => {
      const sleepy = quietApp(await buildModel("sleep", SIGNATURES.sleepParams), { timeoutMs: 500 });
      const fast = await postJson(sleepy, inferBody({ parameters: { delay_ms: 0 } }), { path: "/v2/models/model/infer" });
      expect(fast.status).toBe(200);
      expect(((await fast.json()) as { outputs: unknown }).outputs).toEqual(OUTPUTS);
      await expectV2Error(await postJson(sleepy, inferBody({ parameters: { delay_ms: 5_000 } }), { path: "/v2/models/model/infer" }), 504, [
        "The prediction took longer than the 0.5 s timeout",
      ]);
    });
  });

  it.each(["/v2/models/other", "/v2/models/other/versions/1", "/v2/models/other/ready"])("GET %s for another model → 404 {error}", async (path) => {
    await expectV2Error(await send(app, path), 404, ['Model "other" is not served here', 'this server serves "model"']);
  });

  it("POST infer to another model → 404 {error}", async () => {
    await expectV2Error(await postJson(app, inferBody(), { path: "/v2/models/other/infer" }), 404, ['Model "other" is not served here']);
  });

  it.each([
    { why: "not JSON", body: "{nope", parts: ["not valid UTF-8 JSON"] },
    { why: "a list", body: [1], parts: ['must be a JSON object with "inputs"'] },
    { why: "no inputs", body: {}, parts: ['"inputs" must be a non-empty list'] },
    { why: "a non-string id", body: { ...inferBody(), id: 7 }, parts: ['"id" must be a string'] },
    { why: "parameters not an object", body: { ...inferBody(), parameters: [1] }, parts: ['"parameters" must be an object'] },
    { why: "an input without a name", body: { inputs: [{ shape: [1], datatype: "INT64", data: [1] }] }, parts: ['inputs[0] needs a "name"'] },
    {
      why: "an unknown datatype",
      body: { inputs: [{ name: "a", shape: [1], datatype: "FLOAT", data: [1] }] },
      parts: ['Input "a" has datatype "FLOAT"', "INT64"],
    },
    {
      why: "a bad shape",
      body: { inputs: [{ name: "a", shape: [-1], datatype: "INT64", data: [1] }] },
      parts: ['Input "a" needs a "shape" of non-negative whole numbers'],
    },
    {
      why: "data that does not fill the shape",
      body: { inputs: [{ name: "a", shape: [3], datatype: "INT64", data: [1, 2] }] },
      parts: ['Input "a" has shape [3] but 2 values'],
    },
    {
      why: "a 2-D tensor (inputs are columns)",
      body: { inputs: [{ name: "a", shape: [2, 2], datatype: "INT64", data: [1, 2, 3, 4] }] },
      parts: ['Input "a" has shape [2, 2]', "use [rows] or [rows, 1]"],
    },
    {
      why: "an input given twice",
      body: {
        inputs: [
          { name: "a", shape: [1], datatype: "INT64", data: [1] },
          { name: "a", shape: [1], datatype: "INT64", data: [1] },
        ],
      },
      parts: ['Input "a" is given twice'],
    },
    {
      why: "inputs of unequal length",
      body: {
        inputs: [
          { name: "a", shape: [2], datatype: "INT64", data: [1, 2] },
          { name: "b", shape: [1], datatype: "FP64", data: [0.5] },
        ],
      },
      parts: ['Input "b" has 1 rows but "a" has 2'],
    },
    {
      why: "a required column missing (schema)",
      body: { inputs: [{ name: "a", shape: [1], datatype: "INT64", data: [1] }] },
      parts: ["Model is missing inputs ['b']"],
    },
    {
      why: "a fraction in a long column (schema)",
      body: {
        inputs: [
          { name: "a", shape: [2], datatype: "FP64", data: [1.5, 2] },
          { name: "b", shape: [2], datatype: "FP64", data: [0.5, 1.5] },
        ],
      },
      parts: ["column a", "1.5"],
    },
    {
      why: "data that is not its datatype: 1.5 as INT64",
      body: inferBody({}, { a: [1.5, 2], b: [0.5, 1.5], shape: [2] }),
      parts: ['Input "a" is INT64, but element 0 of its data is 1.5', "whole numbers"],
    },
    {
      why: "data that is not its datatype: numbers as BOOL",
      body: { inputs: [{ name: "a", shape: [2], datatype: "BOOL", data: [1, 2] }] },
      parts: ['Input "a" is BOOL, but element 0 of its data is 1', "true or false"],
    },
    {
      why: "data that is not its datatype: 9007199254740993 as INT64, which JSON numbers read here cannot hold (the message says it was read rounded)",
      body: '{"inputs": [{"name": "a", "shape": [1], "datatype": "INT64", "data": [9007199254740993]}, {"name": "b", "shape": [1], "datatype": "FP64", "data": [0.5]}]}',
      parts: [
        'Input "a" is INT64, but element 0 of its data is 9007199254740992 (as read: JSON integers past ±9007199254740991 may be read rounded here)',
        "whole numbers from -9007199254740991 to 9007199254740991",
      ],
    },
    {
      why: "data that is not its datatype: 1e300 as INT64 and 300 as INT8, whose message says nothing of rounding",
      body: '{"inputs": [{"name": "a", "shape": [1], "datatype": "INT64", "data": [1e300]}, {"name": "b", "shape": [1], "datatype": "FP64", "data": [0.5]}]}',
      parts: ['Input "a" is INT64, but element 0 of its data is 1e+300; INT64 takes whole numbers'],
    },
    {
      why: "data that is not its datatype: 300 as UINT8",
      body: { inputs: [{ name: "a", shape: [1], datatype: "UINT8", data: [300] }] },
      parts: ['Input "a" is UINT8, but element 0 of its data is 300', "from 0 to 255"],
    },
    {
      why: "data that is not its datatype: 1e39 as FP32 (past its largest finite value)",
      body: {
        inputs: [
          { name: "a", shape: [1], datatype: "INT64", data: [1] },
          { name: "b", shape: [1], datatype: "FP32", data: [-1e39] },
        ],
      },
      parts: ['Input "b" is FP32, but element 0 of its data is -1e+39', "numbers from -3.4028234663852886e+38 to 3.4028234663852886e+38"],
    },
    {
      why: "data that is not its datatype: 70000 as FP16",
      body: {
        inputs: [
          { name: "a", shape: [1], datatype: "INT64", data: [1] },
          { name: "b", shape: [2], datatype: "FP16", data: [1, 70000] },
        ],
      },
      parts: ['Input "b" is FP16, but element 1 of its data is 70000', "numbers from -65504 to 65504"],
    },
    {
      why: "data that is not its datatype: a number as BYTES",
      body: { inputs: [{ name: "a", shape: [1], datatype: "BYTES", data: [7] }] },
      parts: ['Input "a" is BYTES, but element 0 of its data is 7', "strings"],
    },
    { why: "outputs that are not a list of names", body: { ...inferBody(), outputs: ["a"] }, parts: ['"outputs" must be a list of {"name": ...}'] },
    {
      why: "an output the model does not return",
      body: { ...inferBody(), outputs: [{ name: "nope" }] },
      parts: ["asks for outputs [nope], which the model does not return", "its outputs: [a, b]"],
    },
  ])("a bad infer request → 400 {error}: $why", async ({ body, parts }) => {
    await expectV2Error(await postJson(app, body, { path: "/v2/models/model/infer" }), 400, parts);
  });

  // Found by an audit: each input's name was looked for among those before it, so 80,000 inputs of
  // one value held the event loop 4.7 s. Names are now a set, and HTTP has gRPC's cap of 10,000.
  it("up to 10,000 inputs are read (the last one given twice: a 400 naming it); 10,001 inputs, outputs and parameters are a 413", async () => {
    const many = Array.from({ length: 9_999 }, (_, i) => ({ name: `c${i}`, shape: [1], datatype: "FP64", data: [i] }));
    await expectV2Error(await postJson(app, { inputs: [...many, many[9_998]] }, { path: "/v2/models/model/infer" }), 400, ['Input "c9998" is given twice']);
    await expectV2Error(
      await postJson(
        app,
        { inputs: many.slice(0, 9_000), outputs: many.slice(0, 1_000).map(({ name }) => ({ name })), parameters: { threshold: 0.5 } },
        { path: "/v2/models/model/infer" },
      ),
      413,
      ["The request holds 10,001 tensors, outputs and parameters together, more than 10,000"],
    );
  });

  it("a failing node over /v2 → 500 {error} naming the node", async () => {
    const failing = quietApp(await buildModel("raise_generic", SIGNATURES.ab));
    await expectV2Error(await postJson(failing, inferBody(), { path: "/v2/models/model/infer" }), 500, ['Node "raise_generic" failed']);
  });
});

describe("the model's name in /v2", () => {
  it('is "model" for a model loaded from a directory', async () => {
    expect((await send(app, "/v2/models/model")).status).toBe(200);
  });

  it("is --model-name when given (and the default name is then unknown)", async () => {
    const named = quietApp(echo, { modelName: "iris" });
    expect(await (await send(named, "/v2/models/iris/ready")).json()).toEqual({ name: "iris", ready: true });
    const res = await postJson(named, inferBody(), { path: "/v2/models/iris/infer" });
    expect(await res.json()).toMatchObject({ model_name: "iris" });
    await expectV2Error(await send(named, "/v2/models/model"), 404, ['Model "model" is not served here', 'this server serves "iris"']);
  });

  describe("for a models:/ URI", () => {
    let registered: PipelineModel;
    let served: App;
    beforeAll(async () => {
      const trained = await trainScaler();
      registered = await loadModel(trained.registeredUri, { trackingUri: trained.trackingDir });
      served = quietApp(registered);
      return () => registered.close();
    });

    it("is the registered name, with its version", async () => {
      expect(await (await send(served, "/v2/models/scaler-model/versions/1")).json()).toMatchObject({ name: "scaler-model", versions: ["1"] });
      const res = await postJson(
        served,
        { id: "r1", inputs: [{ name: "x", shape: [2, 1], datatype: "FP64", data: [[0.5], [3]] }] },
        { path: "/v2/models/scaler-model/versions/1/infer" },
      );
      expect(await res.json()).toMatchObject({
        model_name: "scaler-model",
        model_version: "1",
        id: "r1",
        outputs: [
          { name: "label", datatype: "INT64", data: [0, 1] },
          { name: "score", datatype: "FP64" },
        ],
      });
      await expectV2Error(await send(served, "/v2/models/model"), 404, ['this server serves "scaler-model"']);
    });

    it.each(["/v2/models/scaler-model/versions/2", "/v2/models/scaler-model/versions/2/ready"])("GET %s (another version) → 404 {error}", async (path) => {
      await expectV2Error(await send(served, path), 404, ['Model "scaler-model" has no version "2"', "this server serves version 1"]);
    });

    it("--model-name overrides the registered name", async () => {
      expect((await send(quietApp(registered, { modelName: "prod" }), "/v2/models/prod/versions/1")).status).toBe(200);
    });
  });

  function inferBody(): Record<string, unknown> {
    return {
      inputs: [
        { name: "a", shape: [1], datatype: "INT64", data: [1] },
        { name: "b", shape: [1], datatype: "FP64", data: [0.5] },
      ],
    };
  }
});

describe("unknown paths and wrong methods", () => {
  it.each(["/nope", "/invocations/x", "/predict"])("GET %s → 404 NOT_FOUND JSON listing the routes", async (path) => {
    await expectError(await send(app, path), 404, "NOT_FOUND", [`No route for GET ${path}`, "POST /invocations", "/v2/..."]);
  });

  it.each(["/v2/nope", "/v2/models/model/explain"])("GET %s → 404 {error}", async (path) => {
    await expectV2Error(await send(app, path), 404, [`No route for GET ${path}`]);
  });

  it.each([
    ["GET", "/invocations", "POST"],
    ["PUT", "/invocations", "POST"],
    ["POST", "/ping", "GET"],
    ["DELETE", "/health", "GET"],
    ["POST", "/version", "GET"],
    ["POST", "/metadata", "GET"],
    ["PUT", "/metrics", "GET"],
  ])("%s %s → 405 METHOD_NOT_ALLOWED with Allow: %s", async (method, path, allow) => {
    const res = await send(app, path, { method });
    expect(res.headers.get("allow")).toBe(allow);
    await expectError(res, 405, "METHOD_NOT_ALLOWED", [`${method} is not allowed on ${path}`, `use ${allow}`]);
  });

  it.each([
    ["POST", "/v2", "GET"],
    ["POST", "/v2/health/ready", "GET"],
    ["PUT", "/v2/health/live", "GET"],
    ["DELETE", "/v2/models/model", "GET"],
    ["POST", "/v2/models/model/versions/1/ready", "GET"],
    ["GET", "/v2/models/model/infer", "POST"],
    ["GET", "/v2/models/model/versions/1/infer", "POST"],
  ])("%s %s → 405 {error} with Allow: %s", async (method, path, allow) => {
    const res = await send(app, path, { method });
    expect(res.headers.get("allow")).toBe(allow);
    await expectV2Error(res, 405, [`${method} is not allowed on ${path}`, `use ${allow}`]);
  });
});

describe("X-Request-Id", () => {
  type Make = (a: App, headers: Record<string, string>) => Promise<Response>;
  const requests: [string, Make][] = [
    ["GET /ping", (a, headers) => send(a, "/ping", { headers })],
    ["GET /health", (a, headers) => send(a, "/health", { headers })],
    ["GET /version", (a, headers) => send(a, "/version", { headers })],
    ["GET /metadata", (a, headers) => send(a, "/metadata", { headers })],
    ["GET /metrics", (a, headers) => send(a, "/metrics", { headers })],
    ["POST /invocations (200)", (a, headers) => postJson(a, abBody(), { headers })],
    ["POST /invocations (400)", (a, headers) => postJson(a, "{", { headers })],
    ["POST /invocations (415)", (a, headers) => send(a, "/invocations", { method: "POST", contentType: "text/plain", body: "x", headers })],
    ["GET /v2", (a, headers) => send(a, "/v2", { headers })],
    ["GET /v2/health/live", (a, headers) => send(a, "/v2/health/live", { headers })],
    ["GET /v2/models/model", (a, headers) => send(a, "/v2/models/model", { headers })],
    ["GET /v2/models/other (404)", (a, headers) => send(a, "/v2/models/other", { headers })],
    ["GET /nope (404)", (a, headers) => send(a, "/nope", { headers })],
    ["GET /invocations (405)", (a, headers) => send(a, "/invocations", { headers })],
  ];

  it.each(requests)("%s carries a fresh one", async (_, make) => {
    const first = (await make(app, {})).headers.get("x-request-id");
    const second = (await make(app, {})).headers.get("x-request-id");
    expect(first).toMatch(UUID);
    expect(second).toMatch(UUID);
    expect(second).not.toBe(first);
  });

  it.each(requests)("%s echoes an incoming one", async (_, make) => {
    expect((await make(app, { "X-Request-Id": "trace-42.a:b" })).headers.get("x-request-id")).toBe("trace-42.a:b");
  });

  it.each([
    ["spaces", "not a valid id"],
    ["quotes and semicolons", 'a";b'],
    ["more than 128 characters", "x".repeat(129)],
  ])("replaces an incoming one with %s by a fresh UUID", async (_, id) => {
    expect((await send(app, "/ping", { headers: { "X-Request-Id": id } })).headers.get("x-request-id")).toMatch(UUID);
  });
});
