/**
 * The Open Inference Protocol over gRPC (issue 19): a real @grpc/grpc-js client over a socket,
 * with stubs from the proto/inference.proto pipeserve ships, against `serveGrpc` beside the REST
 * server on the same model (as `serve --grpc-port` runs them). Every RPC; every datatype, typed
 * and raw; errors and their status codes; limits, the queue, the timeout and the call's deadline;
 * the version header; metrics; grpc.health.v1; drain; and the REST and gRPC answers compared.
 */
import * as grpc from "@grpc/grpc-js";
import { afterAll, describe, expect, it } from "vitest";
import { ServerState, loadModel, serveApp, type PipelineModel, type RunningServer } from "../../src/index.js";
import { ServerMetrics, createServingApp, serveGrpc, type AppOptions, type RunningGrpcServer } from "../../src/server/index.js";
import { InferenceClient, outputValues, rawBytes, rawStrings, typedInput } from "./fixtures/grpc-client.js";
import { quietLogger } from "./fixtures/http.js";
import { SIGNATURES, buildModel, trainScaler } from "./fixtures/models.js";

const { status } = grpc;

interface Started {
  url: string;
  client: InferenceClient;
  http: RunningServer;
  grpc: RunningGrpcServer;
  metrics: ServerMetrics;
}

const started: Started[] = [];

afterAll(async () => {
  for (const s of started) {
    s.client.close();
    await s.http.stop();
  }
});

/** The REST server and the gRPC server on one model, as `serve --grpc-port` starts them; `failed` are models that did not load (--allow-partial-start). */
async function start(
  model: PipelineModel,
  options: AppOptions & { maxMessageBytes?: number; failed?: { name: string; uri: string; failure: string }[] } = {},
): Promise<Started> {
  const logger = quietLogger();
  const state = new ServerState();
  const metrics = new ServerMetrics();
  const { app, service } = createServingApp(model, { logger, state, metrics, ...options });
  let grpcServer: RunningGrpcServer | undefined;
  const http = await serveApp(app as never, {
    port: 0,
    host: "127.0.0.1",
    state,
    logger,
    metrics,
    onStopped: () => undefined,
    onStopping: async () => grpcServer?.drain(5_000),
  });
  grpcServer = await serveGrpc({
    port: 0,
    host: "127.0.0.1",
    models: { services: new Map([[service.name, service]]), failed: options.failed ?? [], state, metrics },
    logger,
    version: "test-version",
    ...(options.maxMessageBytes !== undefined ? { maxMessageBytes: options.maxMessageBytes } : {}),
  });
  const s = { url: `http://127.0.0.1:${http.port}`, client: new InferenceClient(`127.0.0.1:${grpcServer.port}`), http, grpc: grpcServer, metrics };
  started.push(s);
  return s;
}

async function rest(url: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(
    `${url}${path}`,
    body === undefined ? {} : { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) },
  );
  return { status: res.status, body: await res.json() };
}

/** A gRPC ModelInferResponse in the REST response's JSON shape (values read from typed or raw contents; NaN as null). */
function asRest(response: any): unknown {
  return {
    model_name: response.model_name,
    ...(response.model_version !== "" ? { model_version: response.model_version } : {}),
    id: response.id,
    outputs: response.outputs.map((o: any, i: number) => ({
      name: o.name,
      shape: o.shape.map(Number),
      datatype: o.datatype,
      data: outputValues(response, i).map((v) => (typeof v === "number" && Number.isNaN(v) ? null : v)),
    })),
  };
}

const AB_ROWS = { a: [1, 2, 3, -4], b: [0.5, 1.25, -2, 1e10] };

describe("the server's RPCs", () => {
  it("ServerLive, ServerReady, ServerMetadata, ModelReady and ModelMetadata answer as GET /v2/... does", async () => {
    const s = await start(await buildModel("scale_rows", SIGNATURES.abScale));
    expect((await s.client.call("ServerLive", {})).response).toEqual({ live: true });
    expect((await s.client.call("ServerReady", {})).response).toEqual({ ready: true });
    const meta = await s.client.call("ServerMetadata", {});
    expect(meta.response).toEqual({ name: "pipeserve", version: "test-version", extensions: [] });
    // NB: the REST route serves the binary tensor data extension; gRPC carries raw contents of its own.
    expect((await rest(s.url, "/v2")).body).toMatchObject({ name: "pipeserve", extensions: ["model_repository", "binary_tensor_data"] });
    expect((await s.client.call("ModelReady", { name: "model" })).response).toEqual({ ready: true });
    // A folder's model has no registered version: its metadata lists none, and none can be asked for.
    for (const [rpc, request] of [
      ["ModelReady", { name: "model", version: "1" }],
      ["ModelMetadata", { name: "model", version: "1" }],
      [
        "ModelInfer",
        { model_name: "model", model_version: "1", inputs: [typedInput("a", "INT64", "int64_contents", [1]), typedInput("b", "FP64", "fp64_contents", [1])] },
      ],
    ] as const) {
      const r = await s.client.call(rpc, request);
      expect(r.code, rpc).toBe(status.NOT_FOUND);
      expect(r.details).toMatch(/^Model "model" has no version "1" here: it is served from a run or a folder/);
    }
    const model = await s.client.call("ModelMetadata", { name: "model" });
    const expected = (await rest(s.url, "/v2/models/model")).body;
    const tensors = (list: any[]) => list.map((t) => ({ ...t, shape: t.shape.map(Number) }));
    expect({ ...model.response, inputs: tensors(model.response.inputs), outputs: tensors(model.response.outputs) }).toEqual(expected);
    expect(expected.inputs).toEqual([
      { name: "a", datatype: "INT64", shape: [-1] },
      { name: "b", datatype: "FP64", shape: [-1] },
    ]);
  });

  it("names a model it does not serve, and a version it does not have, NOT_FOUND; a call with no model name INVALID_ARGUMENT", async () => {
    const scaler = await trainScaler();
    const s = await start(await loadModel(scaler.registeredUri, { trackingUri: scaler.trackingDir }));
    const ready = await s.client.call("ModelReady", { name: "scaler-model", version: "1" });
    expect(ready.response).toEqual({ ready: true });
    for (const [rpc, request] of [
      ["ModelReady", { name: "other" }],
      ["ModelMetadata", { name: "other" }],
      ["ModelInfer", { model_name: "other", inputs: [typedInput("x", "FP64", "fp64_contents", [1])] }],
    ] as const) {
      const r = await s.client.call(rpc, request);
      expect(r.code, rpc).toBe(status.NOT_FOUND);
      expect(r.details).toBe('Model "other" is not served here; this server serves "scaler-model".');
    }
    const version = await s.client.call("ModelMetadata", { name: "scaler-model", version: "2" });
    expect(version.code).toBe(status.NOT_FOUND);
    expect(version.details).toBe('Model "scaler-model" has no version "2" here; this server serves version 1.');
    const infer = await s.client.call("ModelInfer", {
      model_name: "scaler-model",
      model_version: "7",
      inputs: [typedInput("x", "FP64", "fp64_contents", [1])],
    });
    expect(infer.code).toBe(status.NOT_FOUND);
    const unnamed = await s.client.call("ModelInfer", { inputs: [typedInput("x", "FP64", "fp64_contents", [1])] });
    expect(unnamed.code).toBe(status.INVALID_ARGUMENT);
    expect(unnamed.details).toBe('Name the model: this server serves "scaler-model".');
  });

  it("a model that failed to load (--allow-partial-start): ModelReady says not ready, ModelInfer UNAVAILABLE naming why", async () => {
    const s = await start(await buildModel("pass_columns", null), {
      failed: [{ name: "broken", uri: "models:/broken/1", failure: "its weights are corrupt" }],
    });
    const ready = await s.client.call("ModelReady", { name: "broken" });
    expect(ready.code, ready.details).toBe(status.OK);
    expect(ready.response).toEqual({ ready: false });
    const infer = await s.client.call("ModelInfer", { model_name: "broken", inputs: [typedInput("x", "FP64", "fp64_contents", [1])] });
    expect(infer.code).toBe(status.UNAVAILABLE);
    expect(infer.details).toBe('Model "broken" (models:/broken/1) is not ready: it failed to load when the server started: its weights are corrupt');
    expect((await s.client.call("ModelReady", { name: "model" })).response).toEqual({ ready: true });
    expect((await s.client.call("ModelReady", {})).code).toBe(status.INVALID_ARGUMENT);
  });

  it("sends the served version and the request id as metadata, as REST sends its headers", async () => {
    const scaler = await trainScaler();
    const s = await start(await loadModel(scaler.registeredUri, { trackingUri: scaler.trackingDir }));
    const metadata = (await s.client.call("ModelMetadata", { name: "scaler-model" })).response;
    const inputs = metadata.inputs.map((t: any) => typedInput(t.name, "FP64", "fp64_contents", [1.5, 2.5]));
    const r = await s.client.call("ModelInfer", { model_name: "scaler-model", inputs }, { metadata: { "x-request-id": "req-42" } });
    expect(r.code, r.details).toBe(status.OK);
    expect(r.metadata?.get("x-pipeserve-model-version")).toEqual(["1"]);
    expect(r.metadata?.get("x-request-id")).toEqual(["req-42"]);
    expect(r.response.model_version).toBe("1");
  });
});

describe("ModelInfer", () => {
  it("answers what POST /v2/models/{name}/infer answers, typed and raw, with request parameters as the model's params", async () => {
    const s = await start(await buildModel("scale_rows", SIGNATURES.abScale));
    const restAnswer = await rest(s.url, "/v2/models/model/infer", {
      id: "same",
      parameters: { scale: 3 },
      inputs: [
        { name: "a", datatype: "INT64", shape: [4], data: AB_ROWS.a },
        { name: "b", datatype: "FP64", shape: [4, 1], data: AB_ROWS.b.map((v) => [v]) },
      ],
    });
    expect(restAnswer.status).toBe(200);
    expect(restAnswer.body.outputs[0].data).toEqual([3, 6, 9, -12]);
    const typed = await s.client.call("ModelInfer", {
      model_name: "model",
      id: "same",
      parameters: { scale: { int64_param: 3 } },
      inputs: [typedInput("a", "INT64", "int64_contents", AB_ROWS.a), { ...typedInput("b", "FP64", "fp64_contents", AB_ROWS.b), shape: [4, 1] }],
    });
    expect(typed.code, typed.details).toBe(status.OK);
    expect(typed.response.raw_output_contents).toEqual([]);
    expect(asRest(typed.response)).toEqual(restAnswer.body);
    const raw = await s.client.call("ModelInfer", {
      model_name: "model",
      id: "same",
      parameters: { scale: { int64_param: 3 } },
      inputs: [
        { name: "a", datatype: "INT64", shape: [4] },
        { name: "b", datatype: "FP64", shape: [4] },
      ],
      raw_input_contents: [rawBytes(BigInt64Array.from(AB_ROWS.a, BigInt)), rawBytes(Float64Array.from(AB_ROWS.b))],
    });
    expect(raw.code, raw.details).toBe(status.OK);
    expect(raw.response.raw_output_contents).toHaveLength(2);
    expect(raw.response.outputs.every((o: any) => o.contents === null)).toBe(true);
    expect(asRest(raw.response)).toEqual(restAnswer.body);
  });

  it("answers only the outputs asked for, in their order, and names an output the model does not return", async () => {
    const s = await start(await buildModel("scale_rows", SIGNATURES.abScale));
    const inputs = [typedInput("a", "INT64", "int64_contents", [1, 2]), typedInput("b", "FP64", "fp64_contents", [0.5, 0.25])];
    const one = await s.client.call("ModelInfer", { model_name: "model", inputs, outputs: [{ name: "sum" }] });
    expect(one.response.outputs.map((o: any) => o.name)).toEqual(["sum"]);
    expect(outputValues(one.response, 0)).toEqual([1.5, 2.25]);
    const twice = await s.client.call("ModelInfer", { model_name: "model", inputs, outputs: [{ name: "sum" }, { name: "sum" }] });
    expect([twice.code, twice.details]).toEqual([status.INVALID_ARGUMENT, 'The request asks for output "sum" more than once; name each output once.']);
    const unknown = await s.client.call("ModelInfer", { model_name: "model", inputs, outputs: [{ name: "nope" }] });
    expect(unknown.code).toBe(status.INVALID_ARGUMENT);
    expect(unknown.details).toBe("The request asks for outputs [nope], which the model does not return; its outputs: [scaled, sum].");
  });

  it("BYTES of a binary column are the bytes themselves, in and out (no base64, as in JSON); a string column's are UTF-8 text", async () => {
    const signature = {
      inputs: '[{"type": "binary", "name": "blob", "required": true}, {"type": "string", "name": "label", "required": true}]',
      outputs: null,
      params: null,
    };
    const s = await start(await buildModel("echo", signature));
    // Bytes that are no UTF-8 (an image's), and bytes that happen to be base64 text: both as sent.
    const blobs = [Buffer.from([0xff, 0x00, 0x01]), Buffer.from("abcd")];
    const typed = await s.client.call("ModelInfer", {
      model_name: "model",
      inputs: [typedInput("blob", "BYTES", "bytes_contents", blobs), typedInput("label", "BYTES", "bytes_contents", [Buffer.from("é"), Buffer.from("x")])],
    });
    expect(typed.code, typed.details).toBe(status.OK);
    expect(typed.response.outputs.map((o: any) => [o.name, o.datatype])).toEqual([
      ["blob", "BYTES"],
      ["label", "BYTES"],
    ]);
    expect(typed.response.outputs[0].contents.bytes_contents).toEqual(blobs);
    expect(outputValues(typed.response, 1)).toEqual(["é", "x"]);

    const length = (n: number): Buffer => {
      const b = Buffer.alloc(4);
      b.writeUInt32LE(n);
      return b;
    };
    const raw = await s.client.call("ModelInfer", {
      model_name: "model",
      inputs: [
        { name: "blob", datatype: "BYTES", shape: [2] },
        { name: "label", datatype: "BYTES", shape: [2] },
      ],
      raw_input_contents: [Buffer.concat(blobs.flatMap((b) => [length(b.length), b])), rawStrings(["é", "x"])],
    });
    expect(raw.code, raw.details).toBe(status.OK);
    expect(raw.response.raw_output_contents[0]).toEqual(Buffer.concat(blobs.flatMap((b) => [length(b.length), b])));
    expect(outputValues(raw.response, 1)).toEqual(["é", "x"]);

    // REST answers the same bytes base64-encoded, as JSON must carry them.
    const rest = await fetch(`${s.url}/v2/models/model/infer`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({
        inputs: [
          { name: "blob", datatype: "BYTES", shape: [2], data: blobs.map((b) => b.toString("base64")) },
          { name: "label", datatype: "BYTES", shape: [2], data: ["é", "x"] },
        ],
      }),
    });
    expect(((await rest.json()) as { outputs: { data: unknown }[] }).outputs[0]?.data).toEqual(blobs.map((b) => b.toString("base64")));
  });

  it("passes double and string params (the runner); and tells which params the model ignored", async () => {
    const s = await start(await buildModel("params_row", SIGNATURES.abParams));
    const r = await s.client.call("ModelInfer", {
      model_name: "model",
      parameters: { threshold: { double_param: 0.25 }, runner: { string_param: "SequentialRunner" }, extra: { bool_param: true } },
      inputs: [typedInput("a", "INT64", "int64_contents", [1]), typedInput("b", "FP64", "fp64_contents", [2])],
    });
    expect(r.code, r.details).toBe(status.OK);
    const byName = Object.fromEntries(r.response.outputs.map((o: any, i: number) => [o.name, outputValues(r.response, i)]));
    // NB: `runner` chooses the runner; the node gets the model's own params.
    expect(byName).toEqual({ threshold: [0.25] });
    expect(r.response.parameters.pipeserve_ignored_params).toMatchObject({ string_param: "extra" });
  });
});

/** Sample values of each datatype, and where they go in typed contents (FP16: raw only). */
const DATATYPES: { datatype: string; field?: string; values: unknown[]; raw: Buffer; back?: unknown[] }[] = [
  { datatype: "BOOL", field: "bool_contents", values: [true, false, true], raw: Buffer.from([1, 0, 1]) },
  { datatype: "INT8", field: "int_contents", values: [-128, 0, 127], raw: rawBytes(Int8Array.from([-128, 0, 127])) },
  { datatype: "INT16", field: "int_contents", values: [-32768, 7, 32767], raw: rawBytes(Int16Array.from([-32768, 7, 32767])) },
  { datatype: "INT32", field: "int_contents", values: [-2147483648, 7, 2147483647], raw: rawBytes(Int32Array.from([-2147483648, 7, 2147483647])) },
  {
    datatype: "INT64",
    field: "int64_contents",
    values: [-Number.MAX_SAFE_INTEGER, 7, Number.MAX_SAFE_INTEGER],
    raw: rawBytes(BigInt64Array.from([-Number.MAX_SAFE_INTEGER, 7, Number.MAX_SAFE_INTEGER], BigInt)),
  },
  { datatype: "UINT8", field: "uint_contents", values: [0, 7, 255], raw: rawBytes(Uint8Array.from([0, 7, 255])) },
  { datatype: "UINT16", field: "uint_contents", values: [0, 7, 65535], raw: rawBytes(Uint16Array.from([0, 7, 65535])) },
  { datatype: "UINT32", field: "uint_contents", values: [0, 7, 4294967295], raw: rawBytes(Uint32Array.from([0, 7, 4294967295])) },
  {
    datatype: "UINT64",
    field: "uint64_contents",
    values: [0, 7, Number.MAX_SAFE_INTEGER],
    raw: rawBytes(BigUint64Array.from([0, 7, Number.MAX_SAFE_INTEGER], BigInt)),
  },
  { datatype: "FP32", field: "fp32_contents", values: [1.5, -0.25, 1024.125], raw: rawBytes(Float32Array.from([1.5, -0.25, 1024.125])) },
  { datatype: "FP64", field: "fp64_contents", values: [0.1, -2.5, 1e300], raw: rawBytes(Float64Array.from([0.1, -2.5, 1e300])) },
  { datatype: "BYTES", field: "bytes_contents", values: ["a", "", "ünïcode ✓"], raw: rawStrings(["a", "", "ünïcode ✓"]) },
  // 1.5, -2 and 65504 (the largest float16) as IEEE 754 half-precision bits.
  { datatype: "FP16", values: [1.5, -2, 65504], raw: rawBytes(Uint16Array.from([0x3e00, 0xc000, 0x7bff])) },
];

describe("every datatype", () => {
  it.each(DATATYPES.filter((d) => d.field !== undefined))(
    "$datatype in typed contents reaches the model and comes back",
    async ({ datatype, field, values }) => {
      const s = await start(await buildModel("pass_columns", null));
      const contents = field === "bytes_contents" ? (values as string[]).map((v) => Buffer.from(v)) : values;
      const r = await s.client.call("ModelInfer", { model_name: "model", inputs: [typedInput("x", datatype, field as string, contents as unknown[])] });
      expect(r.code, r.details).toBe(status.OK);
      expect(outputValues(r.response, 0)).toEqual(values);
      // The same values over REST come back with the same datatype.
      const restAnswer = await rest(s.url, "/v2/models/model/infer", { inputs: [{ name: "x", datatype, shape: [values.length], data: values }] });
      expect(r.response.outputs[0].datatype).toBe(restAnswer.body.outputs[0].datatype);
    },
  );

  it.each(DATATYPES)("$datatype in raw contents reaches the model and comes back raw", async ({ datatype, values, raw }) => {
    const s = await start(await buildModel("pass_columns", null, { columnArrays: "typed" }));
    const r = await s.client.call("ModelInfer", { model_name: "model", inputs: [{ name: "x", datatype, shape: [3] }], raw_input_contents: [raw] });
    expect(r.code, r.details).toBe(status.OK);
    expect(r.response.raw_output_contents).toHaveLength(1);
    expect(outputValues(r.response, 0)).toEqual(values);
    // Fixed-size integer and float inputs reach the node as typed arrays of their own type, and keep their datatype.
    if (/^(U?INT(8|16|32)|FP32|FP64)$/.test(datatype)) expect(r.response.outputs[0].datatype).toBe(datatype);
  });

  it("reads a NaN as a missing value (the JSON forms' null) and sends one back as NaN", async () => {
    const s = await start(await buildModel("pass_columns", null));
    const typed = await s.client.call("ModelInfer", { model_name: "model", inputs: [typedInput("x", "FP64", "fp64_contents", [1.5, Number.NaN])] });
    const raw = await s.client.call("ModelInfer", {
      model_name: "model",
      inputs: [{ name: "x", datatype: "FP64", shape: [2] }],
      raw_input_contents: [rawBytes(Float64Array.from([1.5, Number.NaN]))],
    });
    const restAnswer = await rest(s.url, "/v2/models/model/infer", { inputs: [{ name: "x", datatype: "FP64", shape: [2], data: [1.5, null] }] });
    expect(restAnswer.body.outputs[0].data).toEqual([1.5, null]);
    for (const r of [typed, raw]) {
      expect(r.code, r.details).toBe(status.OK);
      expect(outputValues(r.response, 0)).toEqual([1.5, Number.NaN]);
    }
  });
});

describe("bad requests get INVALID_ARGUMENT naming the problem", () => {
  const cases: [string, object, string][] = [
    ["no inputs", {}, "The request has no inputs: send at least one InferInputTensor."],
    ["an unknown datatype", { inputs: [typedInput("x", "FLOAT", "fp64_contents", [1])] }, 'Input "x" has datatype "FLOAT"; use one of BOOL,'],
    ["a shape its data does not fill", { inputs: [{ ...typedInput("x", "FP64", "fp64_contents", [1]), shape: [2] }] }, 'Input "x" has shape [2] but 1 values.'],
    [
      "a tensor of several columns",
      { inputs: [{ ...typedInput("x", "FP64", "fp64_contents", [1, 2]), shape: [1, 2] }] },
      'Input "x" has shape [1, 2]: each input is one column',
    ],
    [
      "contents in another datatype's field",
      { inputs: [typedInput("x", "FP64", "int_contents", [1])] },
      'Input "x" is FP64, but its contents are in int_contents; FP64 elements go in fp64_contents.',
    ],
    [
      "FP16 in typed contents",
      { inputs: [typedInput("x", "FP16", "fp32_contents", [1])] },
      'Input "x" is FP16, which has no contents field: send it in raw_input_contents.',
    ],
    [
      "an INT8 out of range",
      { inputs: [typedInput("x", "INT8", "int_contents", [300])] },
      'Input "x" is INT8, but element 0 of its data is 300; INT8 takes whole numbers from -128 to 127.',
    ],
    [
      "an INT64 past what a number holds",
      { inputs: [typedInput("x", "INT64", "int64_contents", ["9007199254740993"])] },
      'Element 0 of input "x" is 9007199254740993, beyond ±9007199254740991',
    ],
    [
      "BYTES that are not UTF-8",
      { inputs: [typedInput("x", "BYTES", "bytes_contents", [Buffer.from([0xff, 0xfe])])] },
      'Element 0 of input "x" is not UTF-8 text',
    ],
    [
      "raw contents for some inputs only",
      {
        inputs: [typedInput("x", "FP64", "fp64_contents", [1]), { name: "y", datatype: "FP64", shape: [1] }],
        raw_input_contents: [rawBytes(Float64Array.from([1]))],
      },
      "The request has 2 inputs but 1 raw_input_contents; send one per input, in the same order.",
    ],
    [
      "raw and typed contents together",
      { inputs: [typedInput("x", "FP64", "fp64_contents", [1])], raw_input_contents: [rawBytes(Float64Array.from([1]))] },
      'Input "x" has contents, but the request sends raw_input_contents: use one or the other for all inputs.',
    ],
    [
      "raw bytes that do not fill the shape",
      { inputs: [{ name: "x", datatype: "FP64", shape: [2] }], raw_input_contents: [Buffer.alloc(12)] },
      'raw_input_contents[0] (input "x", FP64 of shape [2]) has 12 bytes; 2 elements of 8 bytes take 16.',
    ],
    [
      "a raw BYTES element longer than what is left",
      { inputs: [{ name: "x", datatype: "BYTES", shape: [1] }], raw_input_contents: [Buffer.from([9, 0, 0, 0, 65])] },
      "element 0 says 9 bytes, but only 1 are left.",
    ],
    [
      "raw BYTES holding more elements than the shape",
      { inputs: [{ name: "x", datatype: "BYTES", shape: [1] }], raw_input_contents: [rawStrings(["a", "b"])] },
      "holds more than the 1 elements its shape says; 5 bytes are left over.",
    ],
    [
      "a raw BOOL that is not 0 or 1",
      { inputs: [{ name: "x", datatype: "BOOL", shape: [1] }], raw_input_contents: [Buffer.from([2])] },
      "element 0 is the byte 2; a BOOL is 0 or 1.",
    ],
    [
      "inputs of different lengths",
      { inputs: [typedInput("x", "FP64", "fp64_contents", [1, 2]), typedInput("y", "FP64", "fp64_contents", [1])] },
      'Input "y" has 1 rows but "x" has 2; every input must have the same number of rows.',
    ],
    [
      "a name given twice",
      { inputs: [typedInput("x", "FP64", "fp64_contents", [1]), typedInput("x", "FP64", "fp64_contents", [2])] },
      'Input "x" is given twice.',
    ],
    ["a parameter without a value", { inputs: [typedInput("x", "FP64", "fp64_contents", [1])], parameters: { p: {} } }, 'Parameter "p" has no value'],
  ];
  it.each(cases)("%s", async (_, request, message) => {
    const s = await start(await buildModel("pass_columns", null));
    const r = await s.client.call("ModelInfer", { model_name: "model", ...request });
    expect(r.code).toBe(status.INVALID_ARGUMENT);
    expect(r.details).toContain(message);
    // The server is still up and answers the next call.
    expect((await s.client.call("ServerLive", {})).response).toEqual({ live: true });
  });

  it("input the signature refuses: the REST route's message, as INVALID_ARGUMENT", async () => {
    const s = await start(await buildModel("scale_rows", SIGNATURES.abScale));
    const r = await s.client.call("ModelInfer", { model_name: "model", inputs: [typedInput("a", "INT64", "int64_contents", [1])] });
    const restAnswer = await rest(s.url, "/v2/models/model/infer", { inputs: [{ name: "a", datatype: "INT64", shape: [1], data: [1] }] });
    expect(restAnswer.status).toBe(400);
    expect(r.code).toBe(status.INVALID_ARGUMENT);
    expect(r.details).toBe(restAnswer.body.error);
  });
});

describe("the model's failures, limits, queue and time", () => {
  it("a node that fails: INTERNAL naming the node, no stack trace, the details in the log only", async () => {
    const s = await start(await buildModel("raise_generic", null));
    const r = await s.client.call("ModelInfer", { model_name: "model", inputs: [typedInput("x", "FP64", "fp64_contents", [1])] });
    const restAnswer = await rest(s.url, "/v2/models/model/infer", { inputs: [{ name: "x", datatype: "FP64", shape: [1], data: [1] }] });
    expect(r.code).toBe(status.INTERNAL);
    expect(r.details).toBe(restAnswer.body.error);
    expect(r.details).toContain("raise_generic");
    expect(r.details).not.toMatch(/\n\s+at /);
  });

  it("more rows than --max-rows: RESOURCE_EXHAUSTED before the data is read; a message past the size limit too", async () => {
    const s = await start(await buildModel("pass_columns", null), { maxRows: 10, maxMessageBytes: 1024 });
    const rows = await s.client.call("ModelInfer", {
      model_name: "model",
      inputs: [{ name: "x", datatype: "FP64", shape: [11] }],
      raw_input_contents: [Buffer.alloc(88)],
    });
    expect(rows.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(rows.details).toContain("11 rows");
    const big = await s.client.call("ModelInfer", {
      model_name: "model",
      inputs: [{ name: "x", datatype: "FP64", shape: [8] }],
      raw_input_contents: [Buffer.alloc(2048)],
    });
    expect(big.code).toBe(status.RESOURCE_EXHAUSTED);
    expect((await s.client.call("ModelInfer", { model_name: "model", inputs: [typedInput("x", "FP64", "fp64_contents", [1])] })).code).toBe(status.OK);
  });

  it("a full queue: UNAVAILABLE (which gRPC clients retry) while the predictions running finish", async () => {
    const s = await start(await buildModel("sleep", SIGNATURES.sleepParams), { maxQueue: 1 });
    const call = () =>
      s.client.call("ModelInfer", {
        model_name: "model",
        parameters: { delay_ms: { int64_param: 300 } },
        inputs: [typedInput("a", "INT64", "int64_contents", [1]), typedInput("b", "FP64", "fp64_contents", [1])],
      });
    const first = call();
    await new Promise((r) => setTimeout(r, 100));
    const second = await call();
    expect(second.code).toBe(status.UNAVAILABLE);
    expect(second.details).toContain("queued predictions (--max-queue)");
    expect((await first).code).toBe(status.OK);
  });

  it("past the server's --timeout: DEADLINE_EXCEEDED with the REST route's message", async () => {
    const s = await start(await buildModel("sleep", SIGNATURES.sleepParams), { timeoutMs: 150 });
    const inputs = [typedInput("a", "INT64", "int64_contents", [1]), typedInput("b", "FP64", "fp64_contents", [1])];
    const r = await s.client.call("ModelInfer", { model_name: "model", inputs });
    expect(r.code).toBe(status.DEADLINE_EXCEEDED);
    expect(r.details).toContain("0.15 s timeout (--timeout)");
  });

  it("past the call's own deadline: the client gets DEADLINE_EXCEEDED, and the run ends then, freeing its queue slot", async () => {
    const s = await start(await buildModel("sleep", SIGNATURES.sleepParams), { maxQueue: 1 });
    const inputs = [typedInput("a", "INT64", "int64_contents", [1]), typedInput("b", "FP64", "fp64_contents", [1])];
    const started = performance.now();
    const r = await s.client.call("ModelInfer", { model_name: "model", inputs, parameters: { delay_ms: { int64_param: 5_000 } } }, { deadlineMs: 200 });
    expect(r.code).toBe(status.DEADLINE_EXCEEDED);
    expect(performance.now() - started).toBeLessThan(2_000);
    // The one queue slot is free again well before the 5 s sleep ends.
    await new Promise((resolve) => setTimeout(resolve, 100));
    const next = await s.client.call("ModelInfer", { model_name: "model", inputs, parameters: { delay_ms: { int64_param: 1 } } });
    expect(next.code, next.details).toBe(status.OK);
    expect(await s.metrics.registry.getSingleMetricAsString("pipeserve_prediction_timeouts_total")).toMatch(/ 1$/m);
  });
});

describe("outputs a gRPC tensor cannot carry", () => {
  const INT_OUTPUT = {
    inputs: SIGNATURES.abScale.inputs,
    outputs: '[{"type": "integer", "name": "scaled", "required": true}, {"type": "double", "name": "sum", "required": true}]',
    params: SIGNATURES.abScale.params,
  };
  it.each([false, true])("an INT32 output past its range is an INTERNAL error naming it, never a wrapped value (raw: %s)", async (raw) => {
    const s = await start(await buildModel("scale_rows", INT_OUTPUT));
    const request = raw
      ? {
          inputs: [
            { name: "a", datatype: "INT64", shape: [2] },
            { name: "b", datatype: "FP64", shape: [2] },
          ],
          raw_input_contents: [rawBytes(BigInt64Array.from([1n, 2_000_000_000n])), rawBytes(Float64Array.from([0, 0]))],
        }
      : { inputs: [typedInput("a", "INT64", "int64_contents", [1, 2_000_000_000]), typedInput("b", "FP64", "fp64_contents", [0, 0])] };
    const r = await s.client.call("ModelInfer", { model_name: "model", ...request });
    expect(r.code).toBe(status.INTERNAL);
    expect(r.details).toBe(
      'Output "scaled" is INT32, but row 1 holds 4000000000, which a gRPC INT32 tensor cannot carry; make the model\'s output fit its signature.',
    );
    const fine = await s.client.call("ModelInfer", {
      model_name: "model",
      inputs: [typedInput("a", "INT64", "int64_contents", [7]), typedInput("b", "FP64", "fp64_contents", [0])],
    });
    expect(outputValues(fine.response, 0)).toEqual([14]);
  });
});

describe("metrics, health and drain", () => {
  it("counts calls in the model's metrics by RPC, method GRPC and status name", async () => {
    const s = await start(await buildModel("pass_columns", null));
    await s.client.call("ModelInfer", { model_name: "model", inputs: [typedInput("x", "FP64", "fp64_contents", [1])] });
    await s.client.call("ModelInfer", { model_name: "model", inputs: [] });
    await s.client.call("ServerLive", {});
    await new Promise((resolve) => setImmediate(resolve));
    const text = await s.metrics.registry.metrics();
    expect(text).toContain('pipeserve_http_requests_total{route="/inference.GRPCInferenceService/ModelInfer",method="GRPC",status="OK"} 1');
    expect(text).toContain('pipeserve_http_requests_total{route="/inference.GRPCInferenceService/ModelInfer",method="GRPC",status="INVALID_ARGUMENT"} 1');
    expect(text).toContain('pipeserve_http_requests_total{route="/inference.GRPCInferenceService/ServerLive",method="GRPC",status="OK"} 1');
    expect(text).toMatch(/pipeserve_prediction_rows_total 1$/m);
  });

  it("grpc.health.v1 says SERVING for the server and the inference service, and knows no other", async () => {
    const s = await start(await buildModel("pass_columns", null));
    expect((await s.client.health("")).response).toEqual({ status: "SERVING" });
    expect((await s.client.health("inference.GRPCInferenceService")).response).toEqual({ status: "SERVING" });
    expect((await s.client.health("other")).code).toBe(status.NOT_FOUND);
  });

  it("on stop: the call in flight is answered, calls after it are refused UNAVAILABLE, and stop waits for both servers", async () => {
    const s = await start(await buildModel("sleep", SIGNATURES.sleepParams));
    const inputs = [typedInput("a", "INT64", "int64_contents", [1]), typedInput("b", "FP64", "fp64_contents", [2])];
    const inFlight = s.client.call("ModelInfer", { model_name: "model", inputs, parameters: { delay_ms: { int64_param: 400 } } });
    await new Promise((resolve) => setTimeout(resolve, 100));
    let stopped = false;
    const stopping = s.http.stop().then(() => {
      stopped = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 20));
    const late = await s.client.call("ModelInfer", { model_name: "model", inputs, parameters: { delay_ms: { int64_param: 1 } } });
    expect(late.code).toBe(status.UNAVAILABLE);
    expect(stopped).toBe(false);
    const answered = await inFlight;
    expect(answered.code, answered.details).toBe(status.OK);
    expect(outputValues(answered.response, 0)).toEqual([1]);
    await stopping;
    expect(stopped).toBe(true);
  });
});

describe("the repository index's versions", () => {
  it("lists the registered version a /versions/{v} route takes, and none for a model served from a run (whose routes take none)", async () => {
    const scaler = await trainScaler();
    for (const [uri, version] of [
      [scaler.registeredUri, "1"],
      [scaler.runUri, undefined],
    ] as const) {
      const s = await start(await loadModel(uri, { trackingUri: scaler.trackingDir }), { modelName: "scaler" });
      const [entry] = (await rest(s.url, "/v2/repository/index")).body as { version?: string }[];
      expect(entry?.version, uri).toBe(version);
      if (version !== undefined) expect((await fetch(`${s.url}/v2/models/scaler/versions/${version}/ready`)).status).toBe(200);
    }
  });
});

describe("messages counted before they are decoded", () => {
  /** Sends `bytes` as a ModelInfer request as they are (a hand-made message), and the call's status and details. */
  function sendRaw(s: Started, bytes: Buffer): Promise<{ code: number; details: string }> {
    const client = new grpc.Client(`127.0.0.1:${s.grpc.port}`, grpc.credentials.createInsecure());
    return new Promise((resolve) => {
      client.makeUnaryRequest(
        "/inference.GRPCInferenceService/ModelInfer",
        (b: Buffer) => b,
        (b: Buffer) => b,
        bytes,
        (error) => {
          client.close();
          resolve({ code: error?.code ?? status.OK, details: error?.details ?? "" });
        },
      );
    });
  }

  it("a message of 10,001 empty inputs is RESOURCE_EXHAUSTED before protobuf builds an object for each; the server answers on", async () => {
    const s = await start(await buildModel("echo", SIGNATURES.ab));
    // Field 5 (inputs), length 0, over and over: 2 bytes an entry (40 MB of these ran the process out of memory).
    const r = await sendRaw(s, Buffer.from(new Array(10_001).fill([0x2a, 0x00]).flat()));
    expect(r).toEqual({
      code: status.RESOURCE_EXHAUSTED,
      details: "The request holds more than 10,000 tensors, outputs, raw contents and parameters together; send fewer (one tensor per column).",
    });
    expect((await s.client.call("ServerLive", {})).response).toEqual({ live: true });
  });

  it("an output of 10,001 parameters is RESOURCE_EXHAUSTED too", async () => {
    const s = await start(await buildModel("echo", SIGNATURES.ab));
    // outputs { parameters: {} × 10,001 }: field 6, its field 2 (a map entry) empty, over and over.
    const entries = Buffer.from(new Array(10_001).fill([0x12, 0x00]).flat());
    const r = await sendRaw(s, Buffer.concat([Buffer.from([0x32]), varint(entries.length), entries]));
    expect(r.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(r.details).toContain("more than 10,000 tensors, outputs, raw contents and parameters together");
  });

  it("a tensor of more elements than --max-cells is RESOURCE_EXHAUSTED before it is decoded", async () => {
    const s = await start(await buildModel("echo", SIGNATURES.ab), { maxCells: 1_000 });
    // inputs { contents { bytes_contents: "" × 1,001 } }: field 5 of the tensor, field 8 of its contents.
    const contents = Buffer.from(new Array(1_001).fill([0x42, 0x00]).flat());
    const tensor = Buffer.concat([
      Buffer.from([0x2a]),
      varint(contents.length + 1 + varint(contents.length).length),
      Buffer.from([0x2a]),
      varint(contents.length),
      contents,
    ]);
    const r = await sendRaw(s, tensor);
    expect(r.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(r.details).toContain("The request's tensors hold more than 1,000 values; the limit is 1,000 cells per request (--max-cells).");
  });

  it("a known field sent with another wire type (which protobufjs would read as a message anyway) is INVALID_ARGUMENT, not uncounted", async () => {
    const s = await start(await buildModel("echo", SIGNATURES.ab), { maxCells: 10 });
    // inputs sent as a number (wire type 0): the scan would skip it, protobufjs would decode the bytes after it as a tensor of 1,000 bytes_contents.
    const contents = Buffer.from(new Array(1_000).fill([0x42, 0x00]).flat());
    const tensor = Buffer.concat([Buffer.from([0x2a]), varint(contents.length), contents]);
    const r = await sendRaw(s, Buffer.concat([Buffer.from([0x28]), varint(tensor.length), tensor]));
    expect(r.code).toBe(status.INVALID_ARGUMENT);
    expect(r.details).toContain("field 5 of the request has wire type 0, not its own");
  });

  it("bytes that are no message are INVALID_ARGUMENT saying so", async () => {
    const s = await start(await buildModel("echo", SIGNATURES.ab));
    const r = await sendRaw(s, Buffer.from([0x2b, 0x01]));
    expect(r.code).toBe(status.INVALID_ARGUMENT);
    expect(r.details).toContain("The ModelInfer request is not a valid message: field 5 has wire type 3");
  });
});

/** A protobuf varint. */
function varint(n: number): Buffer {
  const out: number[] = [];
  let v = n;
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
  return Buffer.from(out);
}
