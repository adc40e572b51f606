/**
 * GET /openapi.json (issue 18, OpenAPI): the document of real packaged models, served over real
 * HTTP on an ephemeral port, checked by @seriousme/openapi-schema-validator (the OpenAPI 3.1
 * meta-schema) and its schemas by Ajv (JSON Schema 2020-12, OpenAPI 3.1's dialect); then every
 * example in it is sent to the server and must get a 200 whose body conforms to the response
 * schema the document gives, a real /metadata body conforms to its schema with every key
 * described, and a body built from its request schema with a wrong type gets the 400 the
 * document lists.
 */
import { Validator } from "@seriousme/openapi-schema-validator";
import { Ajv2020 } from "ajv/dist/2020.js";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ERROR_CODES } from "../../src/errors/index.js";
import { join } from "node:path";
import { ServerState, createApp, loadModel, runProject, serveApp, type MlflowSignature, type PipelineModel, type RunningServer } from "../../src/index.js";
import { tempDir } from "../batch/helpers.js";
import { REPO_ROOT } from "../fixtures/cli.js";
import { createServingApp } from "../../src/server/index.js";
import { SIGNATURES, buildModel } from "./fixtures/models.js";

type Doc = Record<string, any>;

/** Every column type, optional columns among them; params of several types, a shaped one and the runner. */
const FULL: MlflowSignature = {
  inputs: JSON.stringify([
    { type: "boolean", name: "flag", required: true },
    { type: "integer", name: "count", required: true },
    { type: "long", name: "id", required: true },
    { type: "float", name: "ratio", required: false },
    { type: "double", name: "score", required: true },
    { type: "string", name: "label", required: false },
    { type: "binary", name: "blob", required: false },
    { type: "datetime", name: "when", required: true },
  ]),
  outputs: null,
  params: JSON.stringify([
    { name: "threshold", type: "double", default: 0.5, shape: null },
    { name: "top_k", type: "long", default: 3, shape: null },
    { name: "verbose", type: "boolean", default: false, shape: null },
    { name: "tag", type: "string", default: "a", shape: null },
    { name: "since", type: "datetime", default: "2024-01-01T00:00:00", shape: null },
    { name: "weights", type: "double", default: [1.0, 2.5], shape: [-1] },
    { name: "runner", type: "string", default: "SequentialRunner", shape: null },
  ]),
};

const FULL_EXAMPLE = {
  flag: [true, false],
  count: [1, 2],
  id: [10, 20],
  ratio: [0.25, null],
  score: [1.5, 2.5],
  label: ["x", null],
  blob: ["aGVsbG8=", null],
  when: ["2024-01-02T03:04:05", "2024-02-03T00:00:00"],
};

interface Served {
  url: string;
  model: PipelineModel;
  doc: Doc;
}

const servers: RunningServer[] = [];

async function serve(model: PipelineModel): Promise<Served> {
  const state = new ServerState();
  const logger = pino({ level: "silent" });
  // NB: one name for every case, a registered model's too (its own would be its registered name).
  const running = await serveApp(createApp(model, { logger, state, modelName: "model" }) as never, {
    port: 0,
    host: "127.0.0.1",
    state,
    logger,
    onStopped: () => undefined,
  });
  servers.push(running);
  const url = `http://127.0.0.1:${running.port}`;
  const res = await fetch(`${url}/openapi.json`);
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toMatch(/^application\/json/);
  return { url, model, doc: (await res.json()) as Doc };
}

/** Whether a value conforms to a schema of the document (its `#/components/...` refs resolved in it), and Ajv's errors if not. */
type Conforms = (schema: unknown, value: unknown) => { ok: boolean; errors: unknown };

/**
 * Ajv for JSON Schema 2020-12 with OpenAPI's number formats, and `date-time` as the ISO-8601 text
 * the server reads as a datetime (a date alone, or no offset, too, as the schema's description says).
 * Compiling checks each schema against the 2020-12 meta-schema and resolves every $ref.
 */
function schemaValidator(doc: Doc): Conforms {
  const ajv = new Ajv2020({ strict: false, allowUnionTypes: true });
  for (const format of ["int32", "int64", "float", "double"]) ajv.addFormat(format, { type: "number", validate: () => true });
  ajv.addFormat("date-time", /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/);
  let n = 0;
  return (schema, value) => {
    // NB: the components sit beside the schema, so "#/components/schemas/X" refs resolve as in the document.
    const validate = ajv.compile({ ...(schema as object), $id: `https://pipeserve.test/openapi-${n++}.json`, components: doc["components"] });
    return { ok: validate(value) as boolean, errors: validate.errors };
  };
}

/** A `#/components/...` ref of the document resolved (other schemas as they are). */
function resolve(doc: Doc, schema: Doc): Doc {
  const ref = schema["$ref"];
  if (typeof ref !== "string") return schema;
  return resolve(
    doc,
    ref
      .slice(2)
      .split("/")
      .reduce((at: Doc, key) => at[key], doc),
  );
}

/**
 * The keys of `value` that `schema` does not name, as paths, at every depth where the schema lists
 * properties: a schema without `additionalProperties: false` accepts keys it does not describe,
 * so conforming alone would hide them.
 */
function undescribedKeys(doc: Doc, schema: Doc, value: unknown, at = "$"): string[] {
  const s = resolve(doc, schema);
  if (Array.isArray(value)) return s["items"] ? value.flatMap((v, i) => undescribedKeys(doc, s["items"], v, `${at}[${i}]`)) : [];
  if (value === null || typeof value !== "object" || !s["properties"]) return [];
  const properties = s["properties"] as Record<string, Doc>;
  return Object.entries(value).flatMap(([k, v]) => (k in properties ? undescribedKeys(doc, properties[k] as Doc, v, `${at}.${k}`) : [`${at}.${k}`]));
}

/** One request the document shows: its path (path params filled in), media type, example and schema. */
interface ExampleRequest {
  path: string;
  method: string;
  mediaType: string;
  body: unknown;
  schema: unknown;
  label: string;
  /** The responses the document lists for the operation. */
  responses: Record<string, Doc>;
}

function examplesOf(doc: Doc, modelName: string): ExampleRequest[] {
  const out: ExampleRequest[] = [];
  for (const [template, item] of Object.entries(doc["paths"] as Record<string, Doc>)) {
    const path = template.replace("{name}", modelName).replace("{version}", "1");
    for (const [method, op] of Object.entries(item)) {
      for (const [mediaType, media] of Object.entries((op?.requestBody?.content ?? {}) as Record<string, Doc>)) {
        const examples: [string, unknown][] = Object.entries((media["examples"] ?? {}) as Record<string, Doc>).map(([k, e]) => [k, e["value"]]);
        if (media["example"] !== undefined) examples.push(["example", media["example"]]);
        for (const [key, body] of examples)
          out.push({ path, method, mediaType, body, schema: media["schema"], label: `${method} ${template} ${mediaType} ${key}`, responses: op.responses });
      }
    }
  }
  return out;
}

async function sendExample(url: string, e: ExampleRequest): Promise<Response> {
  return fetch(`${url}${e.path}`, {
    method: e.method.toUpperCase(),
    headers: { "Content-Type": e.mediaType },
    body: typeof e.body === "string" ? e.body : JSON.stringify(e.body),
  });
}

let full: Served;
let unsigned: Served;
let noExample: Served;
let registered: Served;

/** Version 1 of a registered model (the scaler over plain columns, trained by a real run). */
async function registeredModel(): Promise<PipelineModel> {
  const trackingUri = await tempDir("pipeserve-openapi-");
  const projectDir = join(REPO_ROOT, "test", "fixtures", "projects", "scaler-columns");
  const result = await runProject({ projectDir, pipelineName: "training", trackingUri, typecheck: false });
  if (!result.registeredVersion) throw new Error("the scaler registers its model");
  return loadModel(`models:/${result.registeredVersion.name}/1`, { trackingUri });
}

beforeAll(async () => {
  [full, unsigned, noExample, registered] = await Promise.all([
    buildModel("echo", FULL, { inputExample: FULL_EXAMPLE }).then(serve),
    buildModel("echo", null, { inputExample: { a: [1, 2], b: [0.5, 1.5] } }).then(serve),
    buildModel("echo", SIGNATURES.abParams).then(serve),
    registeredModel().then(serve),
  ]);
}, 60_000);
afterAll(async () => {
  for (const s of servers) await s.stop();
});

const CASES = ["a full signature", "no signature", "no input example", "a registered version"] as const;
/** The served model of a case (set up in beforeAll, after it.each has read the cases). */
const servedFor = (name: (typeof CASES)[number]): Served =>
  ({ "a full signature": full, "no signature": unsigned, "no input example": noExample, "a registered version": registered })[name];
/** Only a registered version has routes under /versions/{version} (a run's or a folder's model has no version to name). */
const versioned = (name: (typeof CASES)[number]): boolean => name === "a registered version";

describe("GET /openapi.json", () => {
  it.each(CASES)("for a model with %s, is a valid OpenAPI 3.1 document whose schemas are valid JSON Schema 2020-12", async (name) => {
    const served = servedFor(name);
    const result = await new Validator().validate(served.doc);
    expect(result.errors, JSON.stringify(result.errors)).toBeUndefined();
    expect(result.valid).toBe(true);
    expect(served.doc["openapi"]).toBe("3.1.0");
    // addSchema checks the schemas against the 2020-12 meta-schema; compiling resolves every $ref.
    const conforms = schemaValidator(served.doc);
    for (const name of Object.keys(served.doc["components"].schemas)) expect(() => conforms({ $ref: `#/components/schemas/${name}` }, null)).not.toThrow();
  });

  it.each(CASES)("for a model with %s, documents every route of the server", (name) => {
    const served = servedFor(name);
    expect(Object.keys(served.doc["paths"]).sort()).toEqual(
      [
        "/invocations",
        "/ping",
        "/health",
        "/version",
        "/metadata",
        "/metrics",
        "/openapi.json",
        "/v2",
        "/v2/health/live",
        "/v2/health/ready",
        "/v2/repository/index",
        "/v2/models/{name}",
        "/v2/models/{name}/ready",
        "/v2/models/{name}/infer",
        ...(versioned(name)
          ? ["/v2/models/{name}/versions/{version}", "/v2/models/{name}/versions/{version}/ready", "/v2/models/{name}/versions/{version}/infer"]
          : []),
        "/v1/models",
        "/v1/models/{name}",
        "/v1/models/{name}:predict",
      ].sort(),
    );
    const invocations = served.doc["paths"]["/invocations"].post;
    expect(Object.keys(invocations.requestBody.content)).toEqual(
      expect.arrayContaining([
        "application/json",
        "text/csv",
        "application/vnd.apache.arrow.stream",
        "application/vnd.apache.arrow.file",
        "application/vnd.apache.parquet",
        "application/x-ndjson",
      ]),
    );
    expect(Object.keys(invocations.responses).sort()).toEqual(["200", "400", "406", "413", "415", "500", "503", "504"]);
    // Every code a reply may carry (src/errors' one table), in its order, and nothing else.
    expect(served.doc["components"].schemas.Error.properties.error_code.enum).toEqual([...ERROR_CODES.http]);
  });

  it("types each column of a full signature, optional ones nullable and not required, and every param with its default; runner as an enum", () => {
    const { schemas } = full.doc["components"];
    const records = schemas.InvocationsRequest.oneOf.find((f: Doc) => f["title"] === "dataframe_records").properties.dataframe_records.items;
    expect(records.required).toEqual(["flag", "count", "id", "score", "when"]);
    expect(records.properties).toMatchObject({
      flag: { type: "boolean" },
      count: { type: "integer", format: "int32", minimum: -2147483648, maximum: 2147483647 },
      id: { type: "integer", format: "int64", maximum: Number.MAX_SAFE_INTEGER },
      ratio: { type: ["number", "null"], format: "float" },
      score: { type: "number", format: "double" },
      label: { type: ["string", "null"] },
      blob: { type: ["string", "null"], contentEncoding: "base64" },
      when: { type: "string", format: "date-time" },
    });
    expect(schemas.InvocationsRequest.oneOf.map((f: Doc) => f["title"])).toEqual(["dataframe_split", "dataframe_records", "instances", "inputs"]);
    expect(schemas.Params.properties).toMatchObject({
      threshold: { type: ["number", "null"], default: 0.5 },
      top_k: { type: ["integer", "null"], default: 3 },
      verbose: { type: ["boolean", "null"], default: false },
      tag: { type: ["string", "null"], default: "a" },
      since: { type: ["string", "null"], format: "date-time", default: "2024-01-01T00:00:00.000Z" },
      weights: { type: ["array", "null"], items: { type: ["number", "null"] }, default: [1, 2.5] },
      runner: { enum: [...full.model.runnerNames, null], default: "SequentialRunner" },
    });
  });

  it("without a signature, the request forms and predictions are generic, and the examples come from the input example", () => {
    const { schemas } = unsigned.doc["components"];
    const records = schemas.InvocationsRequest.oneOf.find((f: Doc) => f["title"] === "dataframe_records").properties.dataframe_records.items;
    expect(records).not.toHaveProperty("properties");
    expect(schemas.Predictions.properties.predictions).not.toHaveProperty("items");
    const split = unsigned.doc["paths"]["/invocations"].post.requestBody.content["application/json"].examples.dataframe_split;
    expect(split.value).toEqual({
      dataframe_split: {
        columns: ["a", "b"],
        data: [
          [1, 0.5],
          [2, 1.5],
        ],
      },
    });
  });

  it("without an input example, the examples are a row made up from the signature's types; predictions follow the output signature", () => {
    const split = noExample.doc["paths"]["/invocations"].post.requestBody.content["application/json"].examples.dataframe_split;
    expect(split.summary).toContain("made up from the signature");
    expect(split.value).toEqual({ dataframe_split: { columns: ["a", "b"], data: [[1, 0.5]] }, params: { threshold: 0.5, runner: "SequentialRunner" } });
    expect(noExample.doc["components"].schemas.Predictions.properties.predictions.items.properties).toEqual({
      a: expect.objectContaining({ type: ["integer", "null"] }),
      b: expect.objectContaining({ type: ["number", "null"] }),
    });
  });
});

describe("the document's examples against the server", () => {
  it.each(CASES)("for a model with %s, every example conforms to its schema and gets a 200 whose body conforms to the response schema", async (name) => {
    const served = servedFor(name);
    const conforms = schemaValidator(served.doc);
    const examples = examplesOf(served.doc, "model");
    expect(examples.length).toBeGreaterThanOrEqual(8);
    // The examples of each JSON route that takes a body: MLflow's, the Open Inference infer (with and without a version) and KServe V1's predict.
    expect(examples.map((e) => e.label)).toEqual(
      expect.arrayContaining([
        "post /invocations application/json dataframe_split",
        "post /v2/models/{name}/infer application/json example",
        ...(versioned(name) ? ["post /v2/models/{name}/versions/{version}/infer application/json example"] : []),
        "post /v1/models/{name}:predict application/json instances",
      ]),
    );
    for (const e of examples) {
      if (e.mediaType === "application/json") {
        const { ok, errors } = conforms(e.schema, e.body);
        expect(ok, `${e.label}: ${JSON.stringify(errors)}`).toBe(true);
      }
      const res = await sendExample(served.url, e);
      const text = await res.text();
      expect(res.status, `${e.label}: ${text}`).toBe(200);
      // NB: every example asks for the default answer, JSON.
      const type = res.headers.get("content-type")?.split(";")[0];
      expect(type, e.label).toBe("application/json");
      const schema = e.responses["200"]?.["content"]?.["application/json"]?.schema;
      expect(schema, `${e.label}: the document gives no 200 application/json schema`).toBeDefined();
      const answer = JSON.parse(text) as unknown;
      const { ok, errors } = conforms(schema, answer);
      expect(ok, `${e.label} answered ${text}: ${JSON.stringify(errors)}`).toBe(true);
    }
  });

  it.each(CASES)("for a model with %s, GET /metadata conforms to the Metadata schema, which describes every key it answers", async (name) => {
    const served = servedFor(name);
    const res = await fetch(`${served.url}/metadata`);
    expect(res.status).toBe(200);
    const metadata = (await res.json()) as Doc;
    const schema = served.doc["paths"]["/metadata"].get.responses["200"].content["application/json"].schema;
    expect(schema).toEqual({ $ref: "#/components/schemas/Metadata" });
    const { ok, errors } = schemaValidator(served.doc)(schema, metadata);
    expect(ok, JSON.stringify(errors)).toBe(true);
    expect(undescribedKeys(served.doc, schema, metadata)).toEqual([]);
    // Every key the schema names is answered, and those the page shows hold the model's values.
    expect(Object.keys(metadata).sort()).toEqual(Object.keys(served.doc["components"].schemas.Metadata.properties).sort());
    expect(metadata["utc_time_created"]).toBe(served.model.metadata.utcTimeCreated);
    expect(metadata["utc_time_created"]).toMatch(/^\d{4}-\d{2}-\d{2}/);
    expect(metadata["pipeline"]).toMatchObject({ input: served.model.inputName, output: served.model.outputName });
  });

  it("a body built from the request schema with a wrong type fails the schema and gets the 400 the document lists", async () => {
    const conforms = schemaValidator(full.doc);
    const request = full.doc["components"].schemas.InvocationsRequest;
    const row = Object.fromEntries(Object.entries(FULL_EXAMPLE).map(([k, v]) => [k, v[0]]));
    for (const [column, wrong] of [
      ["count", "seven"],
      ["flag", "yes"],
      ["count", 2 ** 31],
      ["score", "1.5"],
    ] as const) {
      const body = { dataframe_records: [{ ...row, [column]: wrong }] };
      expect(conforms(request, body).ok, `${column}: ${String(wrong)}`).toBe(false);
      const res = await fetch(`${full.url}/invocations`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
      expect(res.status).toBe(400);
      const error = (await res.json()) as { error_code: string; message: string };
      expect(full.doc["paths"]["/invocations"].post.responses["400"].description).toContain(error.error_code);
      expect(conforms(full.doc["components"].schemas.Error, error).ok).toBe(true);
      expect(error.message).toContain(column);
    }
    const badParam = { dataframe_records: [row], params: { top_k: 1.5 } };
    expect(conforms(request, badParam).ok).toBe(false);
    const res = await fetch(`${full.url}/invocations`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(badParam) });
    expect(res.status).toBe(400);
  });
});

describe("a swapped model", () => {
  it("gets its own document: it is built from the model answering the request", async () => {
    // NB: a model of its own (rowWise gives another fixture key): the swap closes the model it replaces.
    const { app, slot } = createServingApp(await buildModel("echo", null, { rowWise: true }), { logger: pino({ level: "silent" }) });
    const paramsOf = async (): Promise<Doc> => ((await (await app.request("/openapi.json")).json()) as Doc)["components"].schemas.Params;
    expect(await paramsOf()).not.toHaveProperty("properties");
    await slot.swap(noExample.model);
    expect(Object.keys((await paramsOf())["properties"])).toEqual(["threshold", "runner"]);
  });
});
