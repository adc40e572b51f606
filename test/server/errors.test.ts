/**
 * Every error class the server answers, each as status + error_code + a message substring, and
 * each followed by a check that the server still answers: malformed JSON, unknown request forms,
 * schema and param violations, runners (refused and allowed), a failing node (500 naming it, a
 * stack trace only with `debug`), an unexpected internal error (a bare 500, details in the log),
 * the body limit (413), the timeout (504) and the queue bound (503 with Retry-After).
 */
import { beforeAll, describe, expect, it } from "vitest";
import { SequentialRunner, ServerState, loadModel, type MlflowSignature, type PipelineModel } from "../../src/index.js";
import { abBody, capturingLogger, expectAlive, expectError, expectV2Error, postJson, predictions, quietApp, send, type App } from "./fixtures/http.js";
import { SIGNATURES, buildModel, packageBehaviour } from "./fixtures/models.js";

const AB_ROWS = [
  { a: 1, b: 0.5 },
  { a: 2, b: 1.5 },
];
const BUILT_IN = "SequentialRunner, ConcurrentRunner, WorkerRunner";

/** Every param type, for params_echo. */
const PARAMS: MlflowSignature = {
  inputs: '[{"type": "string", "name": "x", "required": true}]',
  outputs: null,
  params:
    '[{"name": "n", "default": 1, "shape": null, "type": "long"}, {"name": "i", "default": 1, "shape": null, "type": "integer"}, {"name": "x", "default": 0.5, "shape": null, "type": "double"}, ' +
    '{"name": "s", "default": "a", "shape": null, "type": "string"}, {"name": "flag", "default": false, "shape": null, "type": "boolean"}, ' +
    '{"name": "when", "default": "2024-01-01T00:00:00", "shape": null, "type": "datetime"}, {"name": "xs", "default": [1.0], "shape": [-1], "type": "double"}, ' +
    '{"name": "f", "default": 0.25, "shape": null, "type": "float"}]',
};

let echo: PipelineModel;
let app: App;

beforeAll(async () => {
  echo = await buildModel("echo", SIGNATURES.ab);
  app = quietApp(echo);
});

describe("bad request bodies", () => {
  it.each([
    { why: "malformed JSON", body: "this is,,,, not valid json", parts: ["Invalid input. Ensure that input is a valid JSON formatted string."] },
    { why: "truncated JSON", body: '{"dataframe_split": {"columns": ["a"', parts: ["Invalid input. Ensure that input is a valid JSON formatted string."] },
    {
      why: "a lower-case nan token (Python's json refuses it too)",
      body: '{"inputs": {"a": [1], "b": [nan]}}',
      parts: ["Invalid input. Ensure that input is a valid JSON formatted string."],
    },
    {
      why: "a NaN token with a tail",
      body: '{"inputs": {"a": [1], "b": [NaNx]}}',
      parts: ["Invalid input. Ensure that input is a valid JSON formatted string."],
    },
    { why: "an empty body", body: "", parts: ["The request body is empty", "application/json"] },
    { why: "a top-level number", body: "1", parts: ["The input must be a JSON dictionary with exactly one of the input fields"] },
    { why: "a top-level string", body: '"1"', parts: ["The input must be a JSON dictionary with exactly one of the input fields"] },
    {
      why: "an object without a format key",
      body: "{}",
      parts: ["The input must be a JSON dictionary with exactly one of the input fields", "'dataframe_split', 'dataframe_records', 'instances', 'inputs'"],
    },
    {
      why: "the 1.x split body",
      body: '{"columns": ["a", "b"], "data": [[1, 0.5]]}',
      parts: ["exactly one of the input fields", "IMPORTANT: The MLflow Model scoring protocol has changed in MLflow version 2.0"],
    },
    {
      why: "instances together with inputs",
      body: '{"instances": [{"a": 1, "b": 0.5}], "inputs": {"a": [1], "b": [0.5]}}',
      parts: ["exactly one of the input fields", "['instances', 'inputs']"],
    },
    {
      why: "an LLM chat body",
      body: '{"messages": [{"role": "user", "content": "hi"}]}',
      parts: ["exactly one of the input fields", 'The LLM fields "messages", "prompt" and "input" are not supported'],
    },
    {
      why: "dataframe_split given records",
      body: '{"dataframe_split": [{"a": 1, "b": 0.5}]}',
      parts: ["Dataframe split format must be a dictionary. Got list"],
    },
    {
      why: "dataframe_records given an object",
      body: '{"dataframe_records": {"a": 1, "b": 0.5}}',
      parts: ["Invalid input. Dataframe records format must be a list of records. Got dictionary.", "(an object)"],
    },
    { why: "columns of unequal length", body: '{"inputs": {"a": [1, 2], "b": [0.5]}}', parts: ['inputs column "b" has 1 values but column "a" has 2'] },
  ])("$why → 400 BAD_REQUEST", async ({ body, parts }) => {
    await expectError(await postJson(app, body), 400, "BAD_REQUEST", parts);
    await expectAlive(app);
  });
});

describe("schema violations → 400 naming the column", () => {
  it.each([
    {
      why: "a missing required column",
      body: { dataframe_split: { columns: ["a"], data: [[1]] } },
      code: "INVALID_PARAMETER_VALUE",
      parts: ["Model is missing inputs ['b']."],
    },
    {
      why: "a missing column and an extra one",
      body: { dataframe_records: [{ a: 1, c: 2 }] },
      code: "INVALID_PARAMETER_VALUE",
      parts: ["Model is missing inputs ['b'].", "Note that there were extra inputs: ['c']"],
    },
    {
      why: "a fraction in a long column",
      body: abBody([[1.7, 0.5]]),
      code: "INVALID_PARAMETER_VALUE",
      parts: ["Incompatible input types for column a", "row 0 holds 1.7", "long"],
    },
    {
      why: "a boolean in a double column",
      body: { dataframe_records: [{ a: 1, b: true }] },
      code: "INVALID_PARAMETER_VALUE",
      parts: ["Incompatible input types for column b", "row 0 holds true (a boolean)"],
    },
    {
      why: "text in a long column",
      body: { dataframe_records: [{ a: "abc", b: 0.5 }] },
      code: "BAD_REQUEST",
      parts: ["Data is not compatible with model signature", "Failed to convert column a to type 'int64'"],
    },
    {
      why: "null in a required column",
      body: {
        dataframe_records: [
          { a: 1, b: 0.5 },
          { a: null, b: 1 },
        ],
      },
      code: "BAD_REQUEST",
      parts: ["Failed to convert column a to type 'int64'", "row 1 holds null"],
    },
    {
      why: "a list in a cell",
      body: { dataframe_records: [{ a: [1], b: 0.5 }] },
      code: "BAD_REQUEST",
      parts: ["Failed to convert column a to type 'int64'", "row 0 holds [1] (a list)"],
    },
  ])("$why → $code", async ({ body, code, parts }) => {
    await expectError(await postJson(app, body), 400, code, parts);
    await expectAlive(app);
  });

  it("a datetime finer than a millisecond → 400 (a date holds milliseconds: reading it would lose data); milliseconds and zeros beyond are fine", async () => {
    const dates = quietApp(await buildModel("echo", { inputs: '[{"type": "datetime", "name": "t", "required": true}]', outputs: null, params: null }));
    await expectError(await postJson(dates, { dataframe_records: [{ t: "2021-06-01T12:30:00.123456" }] }), 400, "INVALID_PARAMETER_VALUE", [
      "Incompatible input types for column t",
      "finer than a millisecond",
      "Round it to milliseconds",
    ]);
    expect(await predictions(await postJson(dates, { dataframe_records: [{ t: "2021-06-01T12:30:00.123000" }, { t: "2021-06-01T12:30:00.5" }] }))).toEqual([
      { t: "2021-06-01T12:30:00.123000" },
      { t: "2021-06-01T12:30:00.500000" },
    ]);
  });
});

describe("param violations → 400 INVALID_PARAMETER_VALUE", () => {
  let params: App;
  beforeAll(async () => {
    params = quietApp(await buildModel("params_echo", PARAMS));
  });
  const body = (p: unknown): Record<string, unknown> => ({ inputs: ["q"], params: p });

  it.each([
    { why: "1.5 for a long", params: { n: 1.5 }, parts: ["Failed to validate type and shape for 'n'", "got 1.5, expected a whole number"] },
    { why: '"1" for a long', params: { n: "1" }, parts: ["Failed to validate type and shape for 'n'", 'got "1" (a string), expected a whole number'] },
    {
      why: "2^31 for an integer",
      params: { i: 2 ** 31 },
      parts: ["Failed to validate type and shape for 'i'", "got 2147483648, expected a whole number (int32)"],
    },
    { why: '"1" for a double', params: { x: "1" }, parts: ["Failed to validate type and shape for 'x'", 'got "1" (a string), expected a number'] },
    { why: "true for a double", params: { x: true }, parts: ["Failed to validate type and shape for 'x'", "got true (a boolean), expected a number"] },
    { why: "1 for a string", params: { s: 1 }, parts: ["Failed to validate type and shape for 's'", "got 1, expected a string"] },
    {
      why: '"true" for a boolean',
      params: { flag: "true" },
      parts: ["Failed to validate type and shape for 'flag'", 'got "true" (a string), expected true or false'],
    },
    { why: "a non-date for a datetime", params: { when: "yesterday" }, parts: ["Failed to validate type and shape for 'when'", 'got "yesterday"', "ISO-8601"] },
    {
      why: "a scalar for a [-1] shape",
      params: { xs: 1 },
      parts: ["Value must be a 1D array with shape (-1,) for param 'xs'", "got 1, expected a list (shape [-1])"],
    },
    { why: "a bad element in a [-1] shape", params: { xs: [1, "2"] }, parts: ["Failed to validate type and shape for 'xs'", 'element 1 of the list got "2"'] },
    { why: "a list for a scalar", params: { n: [1] }, parts: ["Failed to validate type and shape for 'n'", "got [1] (a list), expected a single value"] },
    {
      why: "1e300 for a float (beyond float32)",
      params: { f: 1e300 },
      parts: ["Failed to validate type and shape for 'f'", "got 1e+300, out of the float32 range"],
    },
    {
      why: "a datetime finer than a millisecond",
      params: { when: "2021-06-01T12:30:00.123456" },
      parts: [
        "Failed to validate type and shape for 'when'",
        'got "2021-06-01T12:30:00.123456" (a string), finer than a millisecond',
        "round it to milliseconds",
      ],
    },
    {
      why: "several at once, all in one message",
      params: { n: 1.5, s: 1, flag: "true" },
      parts: [
        "Failed to validate type and shape for 'n'",
        "got 1.5",
        "Failed to validate type and shape for 's'",
        "got 1",
        "Failed to validate type and shape for 'flag'",
        'got "true"',
      ],
    },
  ])("$why", async ({ params: p, parts }) => {
    await expectError(await postJson(params, body(p)), 400, "INVALID_PARAMETER_VALUE", ["Invalid parameters found", ...parts]);
    await expectAlive(params, body({}));
  });

  it("params that are not an object", async () => {
    await expectError(await postJson(params, body([1, 2, 3])), 400, "INVALID_PARAMETER_VALUE", ["Parameters must be a dictionary. Got type 'list'."]);
  });

  // Found by an audit: the conformance case params-not-object refuses them only when the model HAS
  // a params schema; without one MLflow's _enforce_params_schema ignores every param, objects or not.
  it.each([[[1, 2, 3]], ["x"], [5], [true]])("params %j sent to a model without a params schema are ignored", async (p) => {
    const plain = quietApp(await buildModel("echo", SIGNATURES.ab));
    const res = await postJson(plain, { ...abBody(), params: p });
    expect(res.status, await res.clone().text()).toBe(200);
    expect(await predictions(res)).toEqual(AB_ROWS);
  });

  it("accepts the widenings and fills every default", async () => {
    const res = await postJson(params, body({ n: 2.0, x: 3, i: 7, xs: [1, 2] }));
    expect(await predictions(res)).toEqual({ n: 2, i: 7, x: 3, s: "a", flag: false, when: "2024-01-01T00:00:00", xs: [1, 2], f: 0.25 });
  });

  it("NaN and ±Infinity for double params (bare tokens, or 1e400) are passed on, as Python's json reads them; a long refuses them", async () => {
    const res = await postJson(params, '{"inputs": ["q"], "params": {"x": NaN, "f": Infinity, "xs": [-Infinity, 1e400, 1.5]}}');
    expect(await predictions(res)).toMatchObject({ x: null, f: null, xs: [null, null, 1.5] });
    await expectError(await postJson(params, '{"inputs": ["q"], "params": {"n": NaN}}'), 400, "INVALID_PARAMETER_VALUE", [
      "Failed to validate type and shape for 'n'",
      "got NaN, expected a whole number",
    ]);
  });
});

describe("runners", () => {
  let sums: PipelineModel;
  let withParams: App;
  let withoutParams: App;
  beforeAll(async () => {
    sums = await buildModel("row_sum_ndarray", SIGNATURES.abParams);
    withParams = quietApp(sums);
    withoutParams = quietApp(await buildModel("row_sum_ndarray", SIGNATURES.ab));
  });

  const HOSTILE = [
    "../x.mjs#Y",
    "./runners.mjs#GpuRunner",
    "/etc/passwd",
    "data:text/javascript,globalThis.__pipeservePwned=1",
    "node:child_process#exec",
    "file:///tmp/evil.mjs#Runner",
    "https://example.com/runner.mjs",
    "__proto__",
    "constructor",
    "toString",
    "sequentialrunner",
    "SequentialRunner ",
    "",
  ];

  it.each(
    HOSTILE.flatMap((runner) => [
      { runner, schema: "declared" as const },
      { runner, schema: "none" as const },
    ]),
  )("refuses runner $runner (runner param $schema) → 400 naming the allowed ones", async ({ runner, schema }) => {
    const target = schema === "declared" ? withParams : withoutParams;
    await expectError(await postJson(target, abBody(undefined, { runner })), 400, "INVALID_PARAMETER_VALUE", [
      `Runner ${JSON.stringify(runner)} is not allowed`,
      `Use one of: ${BUILT_IN}.`,
    ]);
    expect((globalThis as Record<string, unknown>)["__pipeservePwned"]).toBeUndefined();
    await expectAlive(target);
  });

  it.each([
    { why: "a number", runner: 42, parts: ["Invalid parameters found", "for 'runner'", "got 42"] },
    { why: "an object", runner: { module: "../x.mjs" }, parts: ["Invalid parameters found", "'runner'"] },
  ])("refuses a runner that is $why → 400", async ({ runner, parts }) => {
    await expectError(await postJson(withParams, abBody(undefined, { runner })), 400, "INVALID_PARAMETER_VALUE", parts);
  });

  it.each(["SequentialRunner", "ConcurrentRunner", "WorkerRunner"])("runs the built-in %s → 200", async (runner) => {
    expect(await predictions(await postJson(withParams, abBody(undefined, { runner })))).toEqual([1.5, 3.5]);
  });

  it("runs a runner allowed at start-up (--allow-runner), and names it when refusing others", async () => {
    const model = await loadModel(await packageBehaviour("row_sum_ndarray", SIGNATURES.abParams), { runners: { AuditRunner: new SequentialRunner() } });
    try {
      const allowing = quietApp(model);
      expect(await predictions(await postJson(allowing, abBody(undefined, { runner: "AuditRunner" })))).toEqual([1.5, 3.5]);
      await expectError(await postJson(allowing, abBody(undefined, { runner: "OtherRunner" })), 400, "INVALID_PARAMETER_VALUE", [
        'Runner "OtherRunner" is not allowed',
        `${BUILT_IN}, AuditRunner`,
      ]);
      expect(await (await send(allowing, "/metadata")).json()).toMatchObject({
        runners: ["SequentialRunner", "ConcurrentRunner", "WorkerRunner", "AuditRunner"],
      });
    } finally {
      await model.close();
    }
  });
});

describe("failing pipelines", () => {
  let failing: PipelineModel;
  beforeAll(async () => {
    failing = await buildModel("raise_generic", SIGNATURES.ab);
  });

  it("a failing node → 500 INTERNAL_ERROR naming the node and the error, with no stack trace", async () => {
    const { logger, lines } = capturingLogger();
    const server = quietApp(failing, { logger });
    const res = await postJson(server, abBody(), { headers: { "X-Request-Id": "fail-1" } });
    const body = await expectError(res, 500, "INTERNAL_ERROR", [
      'The pipeline failed: Node "raise_generic" failed',
      "raise_generic always fails: value out of range",
    ]);
    expect(body.message).not.toMatch(/\n\s+at /);
    expect(body.message).not.toContain("pipeline.mjs");
    // Logged loudly, with the request id, for the operator.
    expect(lines().find((l) => l["level"] === 50 && l["reqId"] === "fail-1")).toMatchObject({ msg: expect.stringContaining('Node "raise_generic" failed') });
    await expectAlive(server, null);
  });

  it("with debug, the 500 carries the node's stack trace", async () => {
    const server = quietApp(failing, { debug: true });
    const body = await expectError(await postJson(server, abBody()), 500, "INTERNAL_ERROR", ['Node "raise_generic" failed'], { stack: true });
    expect(body.stack_trace).toContain("RangeError: raise_generic always fails");
    expect(body.stack_trace).toContain("raiseGeneric");
  });

  it("an unexpected error → a bare 500 that leaks nothing; the details go to the log under the request id", async () => {
    const { logger, lines } = capturingLogger();
    const server = quietApp(await buildModel("unencodable", SIGNATURES.ab), { logger });
    const res = await postJson(server, abBody(), { headers: { "X-Request-Id": "bare-500" } });
    expect(res.headers.get("x-request-id")).toBe("bare-500");
    const body = await expectError(res, 500, "INTERNAL_ERROR", ["Internal server error", "X-Request-Id", "server log"]);
    expect(body.message).not.toContain("circular");
    const logged = lines().find((l) => l["level"] === 50 && l["reqId"] === "bare-500");
    expect(JSON.stringify(logged)).toContain("Cannot write a circular structure as JSON");
    await expectAlive(quietApp(echo));
  });

  it("with debug, an unexpected error says what it was, with a stack trace", async () => {
    const server = quietApp(await buildModel("unencodable", SIGNATURES.ab), { debug: true });
    const body = await expectError(await postJson(server, abBody()), 500, "INTERNAL_ERROR", ["Internal error: Cannot write a circular structure as JSON."], {
      stack: true,
    });
    expect(body.stack_trace).toContain("TypeError");
  });
});

describe("limits", () => {
  describe("the body limit (maxBodyBytes: 100) → 413", () => {
    let limited: App;
    beforeAll(() => {
      limited = quietApp(echo, { maxBodyBytes: 100 });
    });
    /** A one-row JSON body padded (an ignored top-level key) to exactly `size` bytes. */
    function padTo(size: number): string {
      const base = JSON.stringify({ inputs: { a: [1], b: [0.5] }, pad: "" });
      return JSON.stringify({ inputs: { a: [1], b: [0.5] }, pad: "x".repeat(size - base.length) });
    }
    const exactly100 = padTo(100);
    const big = padTo(101);

    it("accepts a body of exactly the limit", async () => {
      expect(exactly100.length).toBe(100);
      expect(await predictions(await postJson(limited, exactly100))).toEqual([{ a: 1, b: 0.5 }]);
    });

    it("refuses a larger body, by its Content-Length", async () => {
      expect(big.length).toBeGreaterThan(100);
      await expectError(await postJson(limited, big), 413, "REQUEST_TOO_LARGE", ["larger than the limit of 100 bytes", "--max-body"]);
      await expectAlive(limited, { inputs: { a: [1], b: [0.5] } });
    });

    it("refuses a larger streamed body without a Content-Length, without reading it all", async () => {
      let pulled = 0;
      const stream = new ReadableStream<Uint8Array>({
        pull(controller) {
          pulled++;
          if (pulled > 1000) controller.close();
          else controller.enqueue(new TextEncoder().encode("x".repeat(64)));
        },
      });
      const res = await limited.request("/invocations", {
        method: "POST",
        headers: { "Content-Type": "text/csv" },
        body: stream,
        duplex: "half",
      } as RequestInit);
      await expectError(res, 413, "REQUEST_TOO_LARGE", ["larger than the limit of 100 bytes"]);
      expect(pulled).toBeLessThan(10);
    });

    it("applies to /v2 infer too ({error})", async () => {
      await expectV2Error(
        await postJson(
          limited,
          { inputs: [{ name: "a", shape: [1], datatype: "INT64", data: [1] }], pad: "x".repeat(200) },
          { path: "/v2/models/model/infer" },
        ),
        413,
        ["larger than the limit of 100 bytes"],
      );
    });
  });

  describe("the timeout (timeoutMs: 200) → 504", () => {
    let sleepy: App;
    beforeAll(async () => {
      sleepy = quietApp(await buildModel("sleep", SIGNATURES.sleepParams), { timeoutMs: 200 });
    });

    it("answers DEADLINE_EXCEEDED as JSON once the prediction runs too long", async () => {
      const started = Date.now();
      await expectError(await postJson(sleepy, abBody(undefined, { delay_ms: 2_000 })), 504, "DEADLINE_EXCEEDED", [
        "The prediction took longer than the 0.2 s timeout",
        "--timeout",
      ]);
      expect(Date.now() - started).toBeLessThan(1_500);
      await expectAlive(sleepy, abBody(undefined, { delay_ms: 0 }));
    });

    it("lets a prediction within the timeout finish", async () => {
      const patient = quietApp(await buildModel("sleep", SIGNATURES.sleepParams), { timeoutMs: 5_000 });
      expect(await predictions(await postJson(patient, abBody(undefined, { delay_ms: 300 })))).toEqual(AB_ROWS);
    });

    it("takes MLflow's MLFLOW_SCORING_SERVER_REQUEST_TIMEOUT (seconds) when no timeout is given", async () => {
      const before = process.env["MLFLOW_SCORING_SERVER_REQUEST_TIMEOUT"];
      process.env["MLFLOW_SCORING_SERVER_REQUEST_TIMEOUT"] = "0.15";
      try {
        const fromEnv = quietApp(await buildModel("sleep", SIGNATURES.sleepParams));
        await expectError(await postJson(fromEnv, abBody(undefined, { delay_ms: 1_000 })), 504, "DEADLINE_EXCEEDED", ["longer than the 0.15 s timeout"]);
      } finally {
        if (before === undefined) delete process.env["MLFLOW_SCORING_SERVER_REQUEST_TIMEOUT"];
        else process.env["MLFLOW_SCORING_SERVER_REQUEST_TIMEOUT"] = before;
      }
    });
  });

  describe("the queue bound (maxQueue: 1) → 503 with Retry-After", () => {
    it("refuses a second prediction while one runs, and takes new ones once it is done", async () => {
      const state = new ServerState();
      const queued = quietApp(await buildModel("sleep", SIGNATURES.sleepParams), { maxQueue: 1, state });
      const first = postJson(queued, abBody(undefined, { delay_ms: 400 }));
      while (state.pending < 1) await new Promise((r) => setTimeout(r, 5));
      const second = await postJson(queued, abBody(undefined, { delay_ms: 0 }));
      expect(second.headers.get("retry-after")).toBe("1");
      await expectError(second, 503, "TEMPORARILY_UNAVAILABLE", ["at its limit of 1 queued predictions", "--max-queue", "retry shortly"]);
      // Readiness says so while the queue is full, so a balancer sends work elsewhere; liveness does not.
      for (const path of ["/ping", "/health"]) {
        const res = await send(queued, path);
        expect(res.headers.get("retry-after")).toBe("1");
        await expectError(res, 503, "TEMPORARILY_UNAVAILABLE", ["at its limit of 1 queued predictions"]);
      }
      expect((await send(queued, "/v2/health/ready")).status).toBe(503);
      expect(await (await send(queued, "/v2/models/model/ready")).json()).toEqual({ name: "model", ready: false });
      expect((await send(queued, "/v2/health/live")).status).toBe(200);
      const v2 = await postJson(
        queued,
        {
          inputs: [
            { name: "a", shape: [1], datatype: "INT64", data: [1] },
            { name: "b", shape: [1], datatype: "FP64", data: [0.5] },
          ],
        },
        { path: "/v2/models/model/infer" },
      );
      await expectV2Error(v2, 503, ["at its limit of 1 queued predictions"]);
      expect(await predictions(await first)).toEqual(AB_ROWS);
      await expectAlive(queued, abBody(undefined, { delay_ms: 0 }));
    });

    it("a timed-out prediction frees its slot at the deadline: the next prediction is taken while the first still sleeps", async () => {
      const state = new ServerState();
      const app = quietApp(await buildModel("sleep", SIGNATURES.sleepParams), { timeoutMs: 50, maxQueue: 1, state });
      expect((await postJson(app, abBody(undefined, { delay_ms: 400 }))).status).toBe(504);
      expect(state.pending).toBe(0);
      expect((await send(app, "/ping")).status).toBe(200);
      expect(await predictions(await postJson(app, abBody(undefined, { delay_ms: 0 })))).toEqual(AB_ROWS);
      const metrics = await (await send(app, "/metrics")).text();
      expect(metrics).toMatch(/^pipeserve_abandoned_runs_total 1$/m);
      expect(metrics).toMatch(/^pipeserve_abandoned_runs_running 1$/m);
    });
  });
});

describe("what a request loses is logged once per distinct kind", () => {
  it("dropped input columns and ignored params: one warning per distinct set, with the request id", async () => {
    const { logger, lines } = capturingLogger();
    const logged = quietApp(await buildModel("echo", SIGNATURES.abParams), { logger });
    const extra = { dataframe_records: [{ a: 1, b: 0.5, c: 3 }], params: { tresh: 1 } };
    await postJson(logged, extra, { headers: { "X-Request-Id": "lost-1" } });
    await postJson(logged, extra, { headers: { "X-Request-Id": "lost-2" } });
    await postJson(logged, { dataframe_records: [{ a: 1, b: 0.5, d: 4 }] }, { headers: { "X-Request-Id": "lost-3" } });
    await new Promise((r) => setImmediate(r));
    const warnings = lines().filter((l) => l["level"] === 40);
    expect(warnings.map((w) => [w["msg"], w["reqId"], w["dropped"] ?? w["ignored"]])).toEqual([
      ["Ignored params the model does not declare", "lost-1", ["tresh"]],
      ["Dropped input columns the signature does not have", "lost-1", ["c"]],
      ["Dropped input columns the signature does not have", "lost-3", ["d"]],
    ]);
  });

  // Found by an audit: each new set of long names was kept whole (5,000 names of 200 characters a
  // request grew the heap 2.4 MB a request), logged whole, and named whole in the header (120 KB,
  // past the 64 KB line Python's http.client reads).
  it("long sets: the header holds the first names that fit in 4,000 characters, the log 50 names cut to 200 characters, each set once", async () => {
    const { logger, lines } = capturingLogger();
    const logged = quietApp(await buildModel("echo", SIGNATURES.abParams), { logger });
    const names = (tag: string, n: number, length: number) => Array.from({ length: n }, (_, i) => `${tag}${i}`.padEnd(length, "x"));
    const body = (params: string[]) => ({ dataframe_records: [{ a: 1, b: 0.5 }], params: Object.fromEntries(params.map((p) => [p, 1])) });
    const long = names("p", 60, 100);
    const res = await postJson(logged, body(long), { headers: { "X-Request-Id": "long-1" } });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-pipeserve-ignored-params")).toBe(long.slice(0, 39).join(","));
    await postJson(logged, body(long), { headers: { "X-Request-Id": "long-2" } });
    const huge = names("q", 60, 300);
    const hugeRes = await postJson(logged, body(huge), { headers: { "X-Request-Id": "huge-1" } });
    expect(hugeRes.headers.get("x-pipeserve-ignored-params")).toBe(huge.slice(0, 13).join(","));
    const alone = await postJson(logged, body(["y".repeat(5_000)]), { headers: { "X-Request-Id": "alone" } });
    expect(alone.status, "a name longer than the header's room: no header, and the prediction").toBe(200);
    expect(alone.headers.has("x-pipeserve-ignored-params")).toBe(false);
    await new Promise((r) => setImmediate(r));
    const warnings = lines().filter((l) => l["level"] === 40);
    expect(warnings.map((w) => [w["reqId"], w["count"]])).toEqual([
      ["long-1", 60],
      ["huge-1", 60],
      ["alone", 1],
    ]);
    expect(warnings[0]?.["ignored"]).toEqual(long.slice(0, 50));
    expect(warnings[1]?.["ignored"]).toEqual(huge.slice(0, 50).map((name) => `${name.slice(0, 200)}…`));
  });
});
