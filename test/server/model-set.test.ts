/**
 * Several models in one server (issue 17): every route over real HTTP on an ephemeral port — each
 * model under /models/{name}/… and /v2/models/{name}/…, the first at /invocations, the repository
 * index — with limits (queue, timeout, body size) and metrics per model, and a model that failed
 * to load answering 503 while the others serve.
 */
import { Ajv2020 } from "ajv/dist/2020.js";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ServerState, serveApp, type PipelineModel, type RunningServer } from "../../src/index.js";
import { ServerMetrics, createModelSetApp, type ModelService } from "../../src/server/index.js";
import { SIGNATURES, buildModel } from "./fixtures/models.js";

const logger = pino({ level: "silent" });
const servers: RunningServer[] = [];

afterAll(async () => {
  for (const s of servers) await s.stop();
});

async function start(
  entries: Parameters<typeof createModelSetApp>[0],
  options: Omit<Parameters<typeof createModelSetApp>[1] & object, "logger" | "state" | "metrics"> = {},
): Promise<{ url: string; services: ReadonlyMap<string, ModelService> }> {
  const state = new ServerState();
  const metrics = new ServerMetrics({ defaultMetrics: true });
  const { app, services } = createModelSetApp(entries, { ...options, logger, state, metrics });
  const running = await serveApp(app as never, { port: 0, host: "127.0.0.1", state, logger, metrics, onStopped: () => undefined });
  servers.push(running);
  return { url: `http://127.0.0.1:${running.port}`, services };
}

const SPLIT = (rows: [number, number][], params?: Record<string, unknown>): string =>
  JSON.stringify({ dataframe_split: { columns: ["a", "b"], data: rows }, ...(params ? { params } : {}) });

/** A response's status, headers, and body (parsed when it is JSON). */
async function answer(res: Response): Promise<{ status: number; body: any; headers: Headers }> {
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON: kept as text
  }
  return { status: res.status, body: parsed, headers: res.headers };
}

const post = async (url: string, body: string, contentType = "application/json") =>
  answer(await fetch(url, { method: "POST", headers: { "Content-Type": contentType }, body }));

const get = async (url: string) => answer(await fetch(url));

const infer = (rows: [number, number][]): string =>
  JSON.stringify({
    inputs: [
      { name: "a", shape: [rows.length], datatype: "INT64", data: rows.map((r) => r[0]) },
      { name: "b", shape: [rows.length], datatype: "FP64", data: rows.map((r) => r[1]) },
    ],
  });

let scaler: PipelineModel;
let counter: PipelineModel;

beforeAll(async () => {
  [scaler, counter] = await Promise.all([buildModel("scale_rows", SIGNATURES.abScale), buildModel("row_count", SIGNATURES.ab)]);
}, 120_000);

describe("two models side by side", () => {
  let url: string;
  beforeAll(async () => {
    ({ url } = await start([
      { name: "scaler", uri: "models:/scaler/1", model: scaler },
      { name: "counter", uri: "models:/counter/2", model: counter },
    ]));
  });

  it("POST /models/{name}/invocations reaches each model; /invocations the first", async () => {
    const rows: [number, number][] = [
      [1, 0.5],
      [2, 1.5],
    ];
    const a = await post(`${url}/models/scaler/invocations`, SPLIT(rows));
    const b = await post(`${url}/models/counter/invocations`, SPLIT(rows));
    const first = await post(`${url}/invocations`, SPLIT(rows));
    expect(a.status).toBe(200);
    expect(a.body).toEqual({
      predictions: [
        { scaled: 2, sum: 1.5 },
        { scaled: 4, sum: 3.5 },
      ],
    });
    expect(b).toMatchObject({ status: 200, body: { predictions: [2] } });
    expect(first.body).toEqual(a.body);
    // CSV reaches the named model through the same Scorer.
    const csv = await post(`${url}/models/counter/invocations`, "a,b\n1,0.5\n2,1\n3,2\n", "text/csv");
    expect(csv).toMatchObject({ status: 200, body: { predictions: [3] } });
  });

  it("GET /models/{name}/metadata and /metadata name each model; /models/{name}/openapi.json documents it", async () => {
    const a = await get(`${url}/models/scaler/metadata`);
    const b = await get(`${url}/models/counter/metadata`);
    const first = await get(`${url}/metadata`);
    expect(a).toMatchObject({ status: 200, body: { name: "scaler", params: [expect.objectContaining({ name: "scale" })] } });
    expect(b).toMatchObject({ status: 200, body: { name: "counter", params: [] } });
    expect(first.body).toEqual(a.body);
    // Each model's page links its own metadata and OpenAPI document.
    const page = (await get(`${url}/models/counter/`)).body as string;
    expect(page).toContain('href="/models/counter/openapi.json"');
    expect(page).toContain('href="/models/counter/metadata"');
    expect(page).toContain('data-base="/models/counter" data-model="counter"');
    const doc = await get(`${url}/models/counter/openapi.json`);
    expect(doc.status).toBe(200);
    expect(doc.body.paths).toHaveProperty(["/v2/models/{name}/infer"]);
    expect(JSON.stringify(doc.body)).toContain("counter");
    // Its MLflow routes are its own, under /models/counter: the root ones serve the first model.
    expect(Object.keys(doc.body.paths)).toEqual(
      expect.arrayContaining(["/models/counter/invocations", "/models/counter/metadata", "/models/counter/openapi.json", "/ping"]),
    );
    expect(doc.body.paths).not.toHaveProperty(["/invocations"]);
    const example = doc.body.paths["/models/counter/invocations"].post.requestBody.content["application/json"].examples;
    const [sample] = Object.values(example) as { value: unknown }[];
    expect((await post(`${url}/models/counter/invocations`, JSON.stringify(sample?.value))).status).toBe(200);
    expect(Object.keys((await get(`${url}/openapi.json`)).body.paths)).toContain("/invocations");
  });

  it("the Open Inference routes address each model by name", async () => {
    const rows: [number, number][] = [
      [3, 1],
      [4, 2],
      [5, 3],
    ];
    const a = await post(`${url}/v2/models/scaler/infer`, infer(rows));
    const b = await post(`${url}/v2/models/counter/infer`, infer(rows));
    expect(a.status).toBe(200);
    expect(a.body.model_name).toBe("scaler");
    expect(b).toMatchObject({ status: 200, body: { model_name: "counter", outputs: [expect.objectContaining({ data: [3] })] } });
    for (const name of ["scaler", "counter"]) {
      expect(await get(`${url}/v2/models/${name}`)).toMatchObject({ status: 200, body: { name, platform: "pipeserve" } });
      expect(await get(`${url}/v2/models/${name}/ready`)).toMatchObject({ status: 200, body: { name, ready: true } });
    }
    // The registered version is not known to these models (built from folders): no version route matches another.
    expect(await get(`${url}/v2`)).toMatchObject({ status: 200, body: { name: "pipeserve", extensions: ["model_repository", "binary_tensor_data"] } });
    expect(await get(`${url}/v2/health/ready`)).toMatchObject({ status: 200, body: { ready: true } });
    expect(await get(`${url}/v2/health/live`)).toMatchObject({ status: 200, body: { live: true } });
    expect((await get(`${url}/ping`)).status).toBe(200);
    expect((await get(`${url}/health`)).status).toBe(200);
    expect((await get(`${url}/version`)).status).toBe(200);
  });

  it("an unknown model is a 404 naming the models served, in each protocol's shape", async () => {
    const mlflow = await post(`${url}/models/nope/invocations`, SPLIT([[1, 1]]));
    expect(mlflow.status).toBe(404);
    expect(mlflow.body).toEqual({ error_code: "NOT_FOUND", message: 'Model "nope" is not served here; this server serves "scaler", "counter".' });
    const v2 = await post(`${url}/v2/models/nope/infer`, infer([[1, 1]]));
    expect(v2).toEqual(expect.objectContaining({ status: 404, body: { error: 'Model "nope" is not served here; this server serves "scaler", "counter".' } }));
    expect((await get(`${url}/v2/models/nope/ready`)).status).toBe(404);
    expect((await get(`${url}/models/nope/metadata`)).status).toBe(404);
    // A known route with another method is a 405, as with one model.
    const wrongMethod = await get(`${url}/models/scaler/invocations`);
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.get("allow")).toBe("POST");
    const unknown = await get(`${url}/nothing/here`);
    expect(unknown.status).toBe(404);
    expect(unknown.body.message).toContain("/models/{name}/invocations");
  });

  it("GET and POST /v2/repository/index list the models, their versions and states", async () => {
    const listed = await get(`${url}/v2/repository/index`);
    expect(listed.status).toBe(200);
    // NB: models packaged into folders have neither a registered version nor a run id to show (the CLI test has both).
    expect(listed.body).toEqual([
      { name: "scaler", state: "READY", reason: "" },
      { name: "counter", state: "READY", reason: "" },
    ]);
    expect((await post(`${url}/v2/repository/index`, "")).body).toEqual(listed.body);
    expect((await post(`${url}/v2/repository/index`, '{"ready": true}')).body).toEqual(listed.body);
    const bad = await post(`${url}/v2/repository/index`, '{"ready": "yes"}');
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatch(/"ready", if given, is true or false/);
    expect((await post(`${url}/v2/repository/index`, "not json")).status).toBe(400);
  });

  it("/metrics has each model's series labelled model=NAME, each metric written once, and the process's", async () => {
    await post(`${url}/models/scaler/invocations`, SPLIT([[1, 1]]));
    await post(`${url}/models/counter/invocations`, SPLIT([[1, 1]]));
    await get(`${url}/ping`);
    const text = (await get(`${url}/metrics`)).body as string;
    expect(text).toMatch(/pipeserve_http_requests_total\{route="\/models\/:name\/invocations",method="POST",status="200",model="scaler"\} [1-9]/);
    expect(text).toMatch(/pipeserve_http_requests_total\{route="\/models\/:name\/invocations",method="POST",status="200",model="counter"\} [1-9]/);
    expect(text).toMatch(/pipeserve_prediction_rows_total\{model="counter"\} [1-9]/);
    expect(text).toContain("pipeserve_process_resident_memory_bytes");
    // Requests no model answers are the server's, without a model label.
    expect(text).toMatch(/pipeserve_http_requests_total\{route="\/ping",method="GET",status="200"\} [1-9]/);
    const helps = text.split("\n").filter((l) => l.startsWith("# HELP pipeserve_http_requests_total "));
    expect(helps).toHaveLength(1);
  });
});

describe("limits are per model", () => {
  it("a model whose queue is full answers 503 while another answers 200; the server reports which is full", async () => {
    const slow = await buildModel("sleep", SIGNATURES.sleepParams);
    const { url } = await start(
      [
        { name: "slow", uri: "a", model: slow },
        { name: "counter", uri: "b", model: counter },
      ],
      { maxQueue: 1 },
    );
    const held = post(`${url}/models/slow/invocations`, SPLIT([[1, 1]], { delay_ms: 800 }));
    await new Promise((r) => setTimeout(r, 150));
    const refused = await post(`${url}/models/slow/invocations`, SPLIT([[1, 1]]));
    expect(refused.status).toBe(503);
    expect(refused.headers.get("retry-after")).toBe("1");
    expect((await post(`${url}/models/counter/invocations`, SPLIT([[1, 1]]))).status).toBe(200);
    expect((await get(`${url}/v2/models/slow/ready`)).status).toBe(503);
    expect((await get(`${url}/v2/models/counter/ready`)).status).toBe(200);
    const ping = await get(`${url}/ping`);
    expect(ping.status).toBe(503);
    expect(ping.body.message).toMatch(/^Model "slow": .*--max-queue/);
    const index = (await get(`${url}/v2/repository/index`)).body;
    expect(index).toEqual([
      expect.objectContaining({ name: "slow", state: "UNAVAILABLE", reason: expect.stringContaining("--max-queue") }),
      expect.objectContaining({ name: "counter", state: "READY" }),
    ]);
    expect((await get(`${url}/v2/repository/index?ready=true`)).body.map((m: { name: string }) => m.name)).toEqual(["counter"]);
    expect((await held).status).toBe(200);
    expect((await get(`${url}/ping`)).status).toBe(200);
  });

  it("a model that runs past its timeout gets 504 while the other answers; bodies past the size limit get 413 from each", async () => {
    const slow = await buildModel("sleep", SIGNATURES.sleepParams);
    const { url } = await start(
      [
        { name: "slow", uri: "a", model: slow },
        { name: "counter", uri: "b", model: counter },
      ],
      { timeoutMs: 300, maxBodyBytes: 2_000 },
    );
    const [late, fine] = await Promise.all([
      post(`${url}/models/slow/invocations`, SPLIT([[1, 1]], { delay_ms: 2000 })),
      post(`${url}/models/counter/invocations`, SPLIT([[1, 1]])),
    ]);
    expect(late.status).toBe(504);
    expect(fine.status).toBe(200);
    const big = SPLIT(Array.from({ length: 400 }, (_, i) => [i, i]));
    for (const name of ["slow", "counter"]) {
      const refused = await post(`${url}/models/${name}/invocations`, big);
      expect(refused.status, name).toBe(413);
    }
    expect((await post(`${url}/v2/models/counter/infer`, infer(Array.from({ length: 400 }, (_, i) => [i, i])))).status).toBe(413);
    // The repository index reads its body within the same limit.
    const index = await post(`${url}/v2/repository/index`, JSON.stringify({ ready: true, padding: "x".repeat(3_000) }));
    expect(index.status).toBe(413);
    expect(index.body.error).toMatch(/larger than the limit of 2000 bytes \(--max-body\)/);
  });
});

describe("a model that failed to load (--allow-partial-start)", () => {
  let url: string;
  beforeAll(async () => {
    ({ url } = await start([
      { name: "broken", uri: "models:/broken/4", failure: "Model version 4 of broken does not exist." },
      { name: "counter", uri: "models:/counter/2", model: counter },
    ]));
  });

  it("answers 503 naming why on its routes, /invocations (it is first) included; the other model serves", async () => {
    const routes = [
      () => post(`${url}/models/broken/invocations`, SPLIT([[1, 1]])),
      () => post(`${url}/invocations`, SPLIT([[1, 1]])),
      () => get(`${url}/models/broken/metadata`),
    ];
    for (const call of routes) {
      const res = await call();
      expect(res.status).toBe(503);
      expect(res.body.error_code).toBe("TEMPORARILY_UNAVAILABLE");
      expect(res.body.message).toBe(
        'Model "broken" (models:/broken/4) is not ready: it failed to load when the server started: Model version 4 of broken does not exist.',
      );
    }
    const v2 = await post(`${url}/v2/models/broken/infer`, infer([[1, 1]]));
    expect(v2.status).toBe(503);
    expect(v2.body.error).toContain("failed to load");
    expect(await get(`${url}/v2/models/broken/ready`)).toMatchObject({ status: 503, body: { name: "broken", ready: false } });
    expect((await post(`${url}/models/counter/invocations`, SPLIT([[1, 1]]))).status).toBe(200);
    // The server takes work for the models that loaded.
    expect((await get(`${url}/v2/health/ready`)).status).toBe(200);
    expect((await get(`${url}/v2/repository/index`)).body).toEqual([
      { name: "broken", state: "UNAVAILABLE", reason: "failed to load: Model version 4 of broken does not exist." },
      expect.objectContaining({ name: "counter", state: "READY" }),
    ]);
  });

  // Found by an audit: the document described these 503s as {error} (ready) or not at all
  // (metadata), so generated clients mis-read the answers probes care about.
  it("its 503s on the readiness, metadata and KServe V1 routes are the bodies the OpenAPI document describes", async () => {
    // NB: the document of the model that loaded (the first, which failed, has none).
    const answered = await get(`${url}/models/counter/openapi.json`);
    expect(answered.status, JSON.stringify(answered.body).slice(0, 300)).toBe(200);
    const doc = answered.body as Record<string, any>;
    const ajv = new Ajv2020({ strict: false, allowUnionTypes: true });
    for (const format of ["int32", "int64", "float", "double"]) ajv.addFormat(format, { type: "number", validate: () => true });
    let n = 0;
    for (const [path, documented] of [
      ["/v2/models/broken/ready", "/v2/models/{name}/ready"],
      ["/v2/models/broken", "/v2/models/{name}"],
      ["/v1/models/broken", "/v1/models/{name}"],
    ] as const) {
      const res = await get(`${url}${path}`);
      expect(res.status, path).toBe(503);
      const schema = doc["paths"][documented]?.get?.responses?.["503"]?.content?.["application/json"]?.schema;
      expect(schema, `${documented} documents no 503`).toBeDefined();
      const validate = ajv.compile({ ...schema, $id: `https://pipeserve.test/model-set-${n++}.json`, components: doc["components"] });
      expect(validate(res.body), `${path} answered ${JSON.stringify(res.body)}: ${JSON.stringify(validate.errors)}`).toBe(true);
    }
  });
});

describe("createModelSetApp refuses", () => {
  it("names that cannot be path segments, a repeated name, and a set where nothing loaded", () => {
    expect(() => createModelSetApp([{ name: "a/b", uri: "x", model: counter }], { logger })).toThrow(/"a\/b" cannot name a model/);
    expect(() =>
      createModelSetApp(
        [
          { name: "a", uri: "x", model: counter },
          { name: "a", uri: "y", model: scaler },
        ],
        { logger },
      ),
    ).toThrow(/Two models are named "a"/);
    expect(() => createModelSetApp([{ name: "a", uri: "x", failure: "gone" }], { logger })).toThrow(/None of the models could be loaded: "a": gone/);
  });
});
