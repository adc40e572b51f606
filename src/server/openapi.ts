import type { PipelineModel } from "../loader/index.js";
import { INFERENCE_HEADER_LENGTH } from "./binary-tensor-data.js";
import { BODY_TYPES, RESPONSE_TYPES } from "./content-type.js";
import { ERROR_STATUS } from "./errors.js";
import { tensorsOf } from "./open-inference.js";
import {
  csvExample,
  inferExample,
  jsonBodyExamples,
  ndjsonExample,
  paramsExample,
  splitExample,
  v1PredictExample,
  type SplitExample,
} from "./openapi-examples.js";
import { errorBodySchema, inputsSchema, instancesSchema, invocationsBodySchema, paramsSchema, predictionsSchema, type JsonSchema } from "./openapi-schemas.js";
import { send, type Handler, type RouteContext } from "./routing.js";

/** An OpenAPI 3.1 document as plain JSON. */
export type OpenApiDocument = Record<string, unknown>;

/** What the document names besides the model: the server's identity. */
export interface OpenApiInfo {
  /** The model's name in the Open Inference Protocol. */
  modelName: string;
  /** pipeserve's version. */
  version: string;
  /** The registered version being served, if any. */
  registeredVersion?: string | undefined;
  /**
   * Where the model's own MLflow routes are (`/invocations`, `/metadata`, `/openapi.json`): "" at
   * the root, `/models/NAME` for a model among several (whose root routes serve the first).
   */
  base?: string;
}

const ref = (name: string): JsonSchema => ({ $ref: `#/components/schemas/${name}` });
const jsonContent = (schema: JsonSchema, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  "application/json": { schema, ...extra },
});

/** An MLflow-shaped error response (`{error_code, message}`). */
function errorResponse(description: string): Record<string, unknown> {
  return { description, content: jsonContent(ref("Error")), headers: { "X-Request-Id": { $ref: "#/components/headers/RequestId" } } };
}

/** An `{error}` error response, as the Open Inference Protocol and KServe V1 send it. */
function v2ErrorResponse(description: string): Record<string, unknown> {
  return { description, content: jsonContent(ref("V2Error")) };
}

/** The error codes answered with `status`, for a response's description. */
function codesOf(status: number): string {
  return Object.entries(ERROR_STATUS)
    .filter(([, s]) => s === status)
    .map(([code]) => code)
    .join(", ");
}

/** The 4xx/5xx statuses `/invocations` can answer, each with the codes it carries. */
function invocationsErrors(): Record<string, unknown> {
  const why: Record<number, string> = {
    400: "Bad body, schema or params (the message names the column, the type expected and the value seen)",
    406: "Accept names only a table type (CSV, Arrow) and the output is not a table",
    413: "The body is larger than --max-body, or past the row and cell limits",
    415: "Content-Type missing or not one of the accepted types (or a charset other than utf-8)",
    500: "A pipeline node failed (the message names it), or an internal error",
    503: "Shutting down, or the queue is full (Retry-After)",
    504: "The pipeline run passed --timeout",
  };
  return Object.fromEntries(Object.entries(why).map(([status, text]) => [status, errorResponse(`${text}. error_code: ${codesOf(Number(status))}.`)]));
}

/** The request body of `/invocations`: the MLflow JSON forms, CSV, Arrow, Parquet, NDJSON. */
function invocationsBody(model: PipelineModel, example: SplitExample | undefined): Record<string, unknown> {
  const params = paramsExample(model.signature);
  const content: Record<string, unknown> = {
    "application/json": { schema: ref("InvocationsRequest"), ...(example ? { examples: jsonBodyExamples(example, params) } : {}) },
    "text/csv": {
      schema: { type: "string", description: "UTF-8 CSV with a header row; an empty cell is a missing value." },
      ...(example ? { example: csvExample(example) } : {}),
    },
    "application/x-ndjson": {
      schema: { type: "string", description: "One JSON row object per line." },
      ...(example ? { example: ndjsonExample(example) } : {}),
    },
  };
  for (const type of BODY_TYPES.filter((t) => !(t in content)))
    content[type] = { schema: { type: "string", contentMediaType: type, description: "One table." } };
  return { required: true, content };
}

/** `POST /invocations`. */
function invocationsPath(model: PipelineModel, example: SplitExample | undefined): Record<string, unknown> {
  const ok: Record<string, unknown> = { "application/json": { schema: ref("Predictions") } };
  for (const type of RESPONSE_TYPES.filter((t) => t !== "application/json")) ok[type] = { schema: { type: "string", contentMediaType: type } };
  return {
    post: {
      operationId: "invocations",
      summary: "Predict (MLflow scoring protocol)",
      tags: ["MLflow"],
      parameters: [
        {
          name: "params",
          in: "query",
          required: false,
          description: "The params for a non-JSON body, as URL-encoded JSON.",
          content: { "application/json": { schema: ref("Params") } },
        },
      ],
      requestBody: invocationsBody(model, example),
      responses: {
        "200": {
          description: "The predictions; Accept chooses JSON, CSV or Arrow.",
          content: ok,
          headers: {
            "X-Request-Id": { $ref: "#/components/headers/RequestId" },
            "X-Pipeserve-Ignored-Params": { description: "Params the model does not declare, ignored.", schema: { type: "string" } },
            "X-Pipeserve-Model-Version": { description: "The registered version, else the run id, that answered.", schema: { type: "string" } },
          },
        },
        ...invocationsErrors(),
      },
    },
  };
}

/** A GET route answered with a fixed content type. */
function simpleGet(
  operationId: string,
  summary: string,
  tag: string,
  content: Record<string, unknown>,
  errors: Record<string, unknown> = {},
): Record<string, unknown> {
  return { get: { operationId, summary, tags: [tag], responses: { "200": { description: summary, content }, ...errors } } };
}

/** The MLflow and pipeserve routes besides `/invocations` (the model's own ones under `base`). */
function serverPaths(base: string): Record<string, unknown> {
  // NB: MLflow sends these bodies as application/json, but they are not JSON (found by an audit: a
  // schema of a JSON string made generated clients fail to parse them): described, not schema'd.
  const ping = { "application/json": { example: "\n" } };
  const unavailable = { "503": errorResponse("Shutting down or the queue is full (TEMPORARILY_UNAVAILABLE).") };
  return {
    "/ping": simpleGet("ping", "Liveness and readiness: a single newline (not JSON, though MLflow labels it application/json)", "MLflow", ping, unavailable),
    "/health": simpleGet("health", "Same as /ping", "MLflow", ping, unavailable),
    "/version": simpleGet("version", "pipeserve's version, the bare string (not a JSON string)", "MLflow", { "application/json": { example: "0.1.0" } }),
    [`${base}/metadata`]: simpleGet("metadata", "The model: signature, params, runners, input example", "pipeserve", jsonContent(ref("Metadata"))),
    "/metrics": simpleGet("metrics", "Prometheus metrics", "pipeserve", { "text/plain": { schema: { type: "string" } } }),
    [`${base}/openapi.json`]: simpleGet("openapi", "This document", "pipeserve", jsonContent({ type: "object" })),
  };
}

const NAME = { name: "name", in: "path", required: true, schema: { type: "string" } };
/**
 * One model route of the Open Inference Protocol, and under `/versions/{version}` when the model is
 * a registered version (`version`, the only one the server answers; a run's or a folder's has none).
 */
function v2ModelPaths(suffix: string, version: string | undefined, operation: (id: string) => Record<string, unknown>): Record<string, unknown> {
  const versionParam = { name: "version", in: "path", required: true, schema: { type: "string", enum: [version] } };
  return {
    [`/v2/models/{name}${suffix}`]: { parameters: [NAME], ...operation("") },
    ...(version !== undefined ? { [`/v2/models/{name}/versions/{version}${suffix}`]: { parameters: [NAME, versionParam], ...operation("Version") } } : {}),
  };
}

/** The Open Inference Protocol v2 routes. */
function v2Paths(model: PipelineModel, example: SplitExample | undefined, version: string | undefined): Record<string, unknown> {
  const notFound = { "404": v2ErrorResponse("No such model or version here.") };
  const notReady = { "503": v2ErrorResponse("Not ready.") };
  // NB: found by an audit: the readiness routes answer their own shape with ready: false, not an {error}.
  const readyObject = { type: "object", properties: { ready: { type: "boolean" } }, required: ["ready"] };
  const notReadyAnswer = (schema: JsonSchema) => ({
    "503": { description: "Not ready: shutting down, or the model failed to load.", content: jsonContent(schema) },
  });
  const failedModel = { "503": v2ErrorResponse("The model failed to load when the server started (--allow-partial-start).") };
  const infer = example
    ? {
        examples: {
          example: { summary: "The model's input example", value: inferExample(example, model.signature?.inputs ?? null, paramsExample(model.signature)) },
        },
      }
    : {};
  /** One operation; `binary`: the infer route, which also takes and answers the binary tensor data extension. */
  const op = (
    method: "get" | "post",
    id: string,
    summary: string,
    schema: JsonSchema,
    errors: Record<string, unknown>,
    body?: Record<string, unknown>,
    binary = false,
  ) => ({
    [method]: {
      operationId: id,
      summary,
      tags: ["Open Inference v2"],
      ...(body ? { requestBody: body } : {}),
      ...(binary ? { parameters: [BINARY_HEADER_PARAMETER] } : {}),
      responses: {
        "200": {
          description: binary
            ? `${summary}: JSON; or the JSON (its length in ${BINARY_HEADER}) followed by the bytes of the outputs asked for with binary_data.`
            : summary,
          content: binary ? { ...jsonContent(schema), "application/octet-stream": BINARY_BODY } : jsonContent(schema),
          ...(binary
            ? { headers: { [BINARY_HEADER]: { description: "The length of the JSON that starts a binary body.", schema: { type: "integer" } } } }
            : {}),
        },
        ...errors,
      },
    },
  });
  return {
    "/v2": op("get", "v2Server", "Server metadata", ref("V2Server"), {}),
    "/v2/health/live": op("get", "v2Live", "Liveness", { type: "object", properties: { live: { type: "boolean" } }, required: ["live"] }, {}),
    "/v2/health/ready": op("get", "v2Ready", "Readiness", readyObject, notReadyAnswer(readyObject)),
    "/v2/repository/index": {
      ...op("get", "v2RepositoryIndex", "The models served and their state (model repository extension)", REPOSITORY_INDEX, {}),
      ...op(
        "post",
        "v2RepositoryIndexPost",
        "The models served and their state (model repository extension)",
        REPOSITORY_INDEX,
        {
          "400": v2ErrorResponse('A body that is not {} or {"ready": true|false}.'),
        },
        {
          required: false,
          content: jsonContent({ type: "object", properties: { ready: { type: "boolean" } } }),
        },
      ),
    },
    ...v2ModelPaths("", version, (v) => op("get", `v2ModelMetadata${v}`, "Model metadata", ref("V2ModelMetadata"), { ...notFound, ...failedModel })),
    ...v2ModelPaths("/ready", version, (v) =>
      op("get", `v2ModelReady${v}`, "Model readiness", ref("V2ModelReady"), { ...notFound, ...notReadyAnswer(ref("V2ModelReady")) }),
    ),
    ...v2ModelPaths("/infer", version, (v) =>
      op(
        "post",
        `v2Infer${v}`,
        "Predict (Open Inference Protocol)",
        ref("V2InferResponse"),
        {
          "400": v2ErrorResponse("Bad request: tensors, datatypes, schema or params."),
          ...notFound,
          "415": v2ErrorResponse("A table format's Content-Type (Arrow, Parquet, CSV, JSON Lines): tables go to /invocations."),
          "500": v2ErrorResponse("A node failed."),
          ...notReady,
        },
        {
          required: true,
          description: `JSON; or, with the binary tensor data extension, the JSON request (its length in the ${BINARY_HEADER} header) followed by the raw bytes of each input that says parameters.binary_data_size, in order.`,
          content: { ...jsonContent(ref("V2InferRequest"), infer), "application/octet-stream": BINARY_BODY },
        },
        true,
      ),
    ),
  };
}

/** The repository index: each model, its version (when registered) and state. */
const REPOSITORY_INDEX = {
  type: "array",
  items: {
    type: "object",
    properties: { name: { type: "string" }, version: { type: "string" }, state: { enum: ["READY", "UNAVAILABLE"] }, reason: { type: "string" } },
    required: ["name", "state", "reason"],
  },
};

const BINARY_HEADER = INFERENCE_HEADER_LENGTH;
const BINARY_HEADER_PARAMETER = {
  name: BINARY_HEADER,
  in: "header",
  required: false,
  description: "With a binary body: how many bytes of it are the JSON request (the binary tensor data extension).",
  schema: { type: "integer", minimum: 0 },
};
/** A body of the binary tensor data extension: JSON, then raw tensor bytes. */
const BINARY_BODY = { schema: { type: "string", contentMediaType: "application/octet-stream" } };

/**
 * KServe's V1 protocol (src/server/kserve-v1-routes.ts): the model's readiness, and `:predict`
 * with `instances` or `inputs`, answered with the predictions `/invocations` gives; `{error}` bodies.
 */
function v1Paths(model: PipelineModel, example: SplitExample | undefined): Record<string, unknown> {
  const tags = ["KServe v1"];
  const predictExample = example ? { examples: { instances: v1PredictExample(example, paramsExample(model.signature)) } } : {};
  const notFound = { "404": v2ErrorResponse("No such model here (or, on POST, a verb other than :predict).") };
  return {
    "/v1/models": {
      get: {
        operationId: "v1ListModels",
        summary: "The names of the models served (KServe V1)",
        tags,
        responses: { "200": { description: "The models.", content: jsonContent(ref("V1ModelList")) } },
      },
    },
    "/v1/models/{name}": {
      parameters: [NAME],
      get: {
        operationId: "v1ModelStatus",
        summary: "The model's name and readiness (KServe V1)",
        tags,
        responses: {
          "200": { description: "Ready.", content: jsonContent(ref("V1ModelStatus")) },
          ...notFound,
          // NB: shutting down it says ready: false; a model that failed to load says why, as an {error}.
          "503": { description: "Not ready.", content: jsonContent({ oneOf: [ref("V1ModelStatus"), ref("V2Error")] }) },
        },
      },
    },
    "/v1/models/{name}:predict": {
      parameters: [NAME],
      post: {
        operationId: "v1Predict",
        summary: "Predict (KServe V1 / TensorFlow Serving REST)",
        tags,
        requestBody: {
          required: true,
          content: jsonContent(ref("V1PredictRequest"), predictExample),
        },
        responses: {
          "200": { description: "The predictions, as /invocations answers them in JSON.", content: jsonContent(ref("Predictions")) },
          "400": v2ErrorResponse("Bad body (no instances or inputs, not JSON), schema or params."),
          ...notFound,
          "413": v2ErrorResponse("The body is larger than --max-body, or past the row and cell limits."),
          "500": v2ErrorResponse("A pipeline node failed, or an internal error."),
          "503": v2ErrorResponse("Shutting down, or the queue is full."),
          "504": v2ErrorResponse("The pipeline run passed --timeout."),
        },
      },
    },
  };
}

/** KServe V1's bodies: the readiness answer and the predict request (`instances` or `inputs`, as MLflow reads them, and params). */
function v1Schemas(model: PipelineModel): Record<string, JsonSchema> {
  const inputs = model.signature?.inputs ?? null;
  const params = ref("Params");
  return {
    V1ModelList: { type: "object", properties: { models: { type: "array", items: { type: "string" } } }, required: ["models"] },
    V1ModelStatus: { type: "object", properties: { name: { type: "string" }, ready: { type: "boolean" } }, required: ["name", "ready"] },
    V1PredictRequest: {
      oneOf: [
        { type: "object", title: "instances", properties: { instances: instancesSchema(inputs), params }, required: ["instances"] },
        { type: "object", title: "inputs", properties: { inputs: inputsSchema(inputs), params }, required: ["inputs"] },
      ],
      description: "Exactly one of instances (a list of rows) or inputs, as MLflow reads them; and optionally params.",
    },
  };
}

const DATATYPES = ["BOOL", "INT8", "INT16", "INT32", "INT64", "UINT8", "UINT16", "UINT32", "UINT64", "FP16", "FP32", "FP64", "BYTES"];

/** The tensor schemas of the Open Inference Protocol. */
function v2Schemas(model: PipelineModel, info: OpenApiInfo): Record<string, JsonSchema> {
  const names = (model.signature?.inputs ?? []).flatMap((c) => (c.name !== undefined ? [c.name] : []));
  const tensorMeta: JsonSchema = {
    type: "object",
    properties: { name: { type: "string" }, datatype: { type: "string", enum: DATATYPES }, shape: { type: "array", items: { type: "integer" } } },
    required: ["name", "datatype", "shape"],
  };
  const tensor = (nameSchema: JsonSchema): JsonSchema => ({
    type: "object",
    properties: {
      name: nameSchema,
      shape: { type: "array", items: { type: "integer", minimum: 0 } },
      datatype: { type: "string", enum: DATATYPES },
      data: { type: "array", description: "Flat or nested, row-major." },
      parameters: { type: "object" },
    },
    required: ["name", "shape", "datatype", "data"],
  });
  return {
    V2Error: { type: "object", properties: { error: { type: "string" } }, required: ["error"] },
    V2Server: {
      type: "object",
      properties: { name: { type: "string" }, version: { type: "string" }, extensions: { type: "array", items: { type: "string" } } },
    },
    V2TensorMetadata: tensorMeta,
    V2ModelMetadata: {
      type: "object",
      properties: {
        name: { type: "string", const: info.modelName },
        versions: { type: "array", items: { type: "string" } },
        platform: { type: "string", const: "pipeserve" },
        inputs: { type: "array", items: ref("V2TensorMetadata") },
        outputs: { type: "array", items: ref("V2TensorMetadata") },
      },
      examples: [{ name: info.modelName, platform: "pipeserve", inputs: tensorsOf(model.signature?.inputs), outputs: tensorsOf(model.signature?.outputs) }],
    },
    V2ModelReady: { type: "object", properties: { name: { type: "string" }, ready: { type: "boolean" } }, required: ["name", "ready"] },
    V2InferRequest: {
      type: "object",
      properties: {
        id: { type: "string" },
        parameters: { ...ref("Params"), description: "The runtime params (runner included)." },
        inputs: {
          type: "array",
          minItems: 1,
          items: tensor(names.length > 0 ? { type: "string", enum: names } : { type: "string" }),
          description: "One tensor per column.",
        },
        outputs: { type: "array", items: { type: "object", properties: { name: { type: "string" } }, required: ["name"] } },
      },
      required: ["inputs"],
    },
    V2InferResponse: {
      type: "object",
      properties: {
        model_name: { type: "string" },
        model_version: { type: "string" },
        id: { type: "string" },
        outputs: { type: "array", items: tensor({ type: "string" }) },
      },
      required: ["model_name", "id", "outputs"],
    },
  };
}

/** The `/metadata` body: every key the route answers (each always present, `null` when the model has none). */
function metadataSchema(): JsonSchema {
  const nullableString = { type: ["string", "null"] };
  const strings = { type: "array", items: { type: "string" } };
  const properties: Record<string, JsonSchema> = {
    name: { type: "string", description: "The model's name in the Open Inference Protocol." },
    version: { ...nullableString, description: "The registered version being served." },
    uri: { type: "string", description: "The URI the model was loaded from." },
    run_id: nullableString,
    model_uuid: nullableString,
    model_id: nullableString,
    utc_time_created: { ...nullableString, description: "When the model was packaged (MLmodel's utc_time_created)." },
    pipeserve_version: { type: "string", description: "The pipeserve serving it." },
    flavor: {
      type: "object",
      description: "The pipeserve flavor of MLmodel, as written.",
      properties: {
        code: { type: "string" },
        column_arrays: { type: "string", enum: ["typed", "plain"] },
        copy_mode: { type: ["string", "object"] },
        env: { type: "string" },
        format_version: { type: "integer" },
        input_name: { type: "string" },
        input_type: { type: "string" },
        output_name: { type: "string" },
        pipeline: { type: "string" },
        pipeserve_version: { type: "string" },
        row_wise: { type: "boolean" },
        runner: { type: "string" },
      },
    },
    signature: {
      type: ["object", "null"],
      description: "The MLflow signature: each part the JSON text MLflow writes.",
      properties: { inputs: nullableString, outputs: nullableString, params: nullableString },
      required: ["inputs", "outputs", "params"],
    },
    params: {
      type: "array",
      items: {
        type: "object",
        properties: { name: { type: "string" }, type: { type: "string" }, default: {}, shape: { type: ["array", "null"], items: { type: "integer" } } },
        required: ["name", "type", "default", "shape"],
      },
    },
    runners: strings,
    pipeline: {
      type: "object",
      description: "The inference pipeline: the request's dataset, the predictions' dataset, the nodes, the packaged artifacts.",
      properties: {
        input: { type: "string" },
        output: { type: "string" },
        nodes: {
          type: "array",
          items: { type: "object", properties: { name: { type: "string" }, inputs: strings, outputs: strings }, required: ["name", "inputs", "outputs"] },
        },
        artifacts: strings,
      },
      required: ["input", "output", "nodes", "artifacts"],
    },
    input_example: {
      type: ["object", "null"],
      description: "The input example in MLflow's split orient.",
      properties: { columns: strings, data: { type: "array", items: { type: "array" } } },
      required: ["columns", "data"],
    },
  };
  return { type: "object", properties, required: Object.keys(properties) };
}

/**
 * The OpenAPI 3.1 document of a server serving `model`: MLflow's `/invocations` with every JSON
 * request form typed by the signature (generic schemas without one), the other body types, the
 * params, the predictions and every error; the Open Inference Protocol and KServe V1 routes; the other routes;
 * examples from the model's input example (or made up from the signature's types).
 */
export function createOpenApiDocument(model: PipelineModel, info: OpenApiInfo): OpenApiDocument {
  const example = splitExample(model);
  const version = info.registeredVersion ?? model.metadata.runId;
  return {
    openapi: "3.1.0",
    info: {
      title: `${info.modelName} (pipeserve)`,
      version: version ?? info.version,
      description: `The model ${info.modelName}${version ? ` (${version})` : ""} served by pipeserve ${info.version}: MLflow's scoring protocol, the Open Inference Protocol v2 and KServe's V1 protocol.`,
    },
    // NB: a model among several has its MLflow routes under /models/NAME: the root ones serve the first model.
    paths: {
      [`${info.base ?? ""}/invocations`]: invocationsPath(model, example),
      ...serverPaths(info.base ?? ""),
      ...v2Paths(model, example, info.registeredVersion),
      ...v1Paths(model, example),
    },
    components: {
      schemas: {
        InvocationsRequest: invocationsBodySchema(model.signature),
        Params: paramsSchema(model.signature, model.runnerNames),
        Predictions: predictionsSchema(model.signature?.outputs ?? null),
        Error: errorBodySchema(),
        Metadata: metadataSchema(),
        ...v2Schemas(model, info),
        ...v1Schemas(model),
      },
      headers: { RequestId: { description: "The request's id (the one sent, else a new UUID).", schema: { type: "string" } } },
    },
  };
}

/**
 * `GET /openapi.json`: the document of the model answering this request, built once per model
 * (the served model may be swapped while the server runs).
 */
export function openApiHandler({ modelName, version }: Pick<RouteContext, "modelName" | "version">): Handler {
  const cache = new WeakMap<PipelineModel, Map<string, string>>();
  return (c) => {
    const { model, registeredVersion } = c.get("served");
    // NB: the document describes the routes it was fetched beside: /openapi.json's at the root, /models/NAME/openapi.json's under /models/NAME.
    const base = c.req.path.replace(/\/openapi\.json$/, "");
    let texts = cache.get(model);
    if (texts === undefined) {
      texts = new Map();
      cache.set(model, texts);
    }
    let text = texts.get(base);
    if (text === undefined) {
      text = JSON.stringify(createOpenApiDocument(model, { modelName, version, registeredVersion, base }));
      texts.set(base, text);
    }
    return send(c, text, 200, "application/json");
  };
}
