/**
 * The Scorer driven directly, as MLflow's `invocations(data, content_type, model)` is: bytes,
 * content type and Accept in, `{status, headers, body}` out, with no socket, no Hono and no app.
 * Real packaged models (fixtures/models.ts); what the routes add (request id, access log, body
 * limit) is the app's and is tested through it elsewhere.
 */
import { describe, expect, it } from "vitest";
import { ServerState, parseCsv, tableToRecords, type MlflowSignature } from "../../src/index.js";
import { Scorer, ServerMetrics, type ScoreRequest, type ScoreResponse } from "../../src/server/index.js";
import { quietLogger } from "./fixtures/http.js";
import { SIGNATURES, buildModel } from "./fixtures/models.js";

const AB_ROWS = [
  { a: 1, b: 0.5 },
  { a: 2, b: 1.5 },
];
const AB_BODY = JSON.stringify({
  dataframe_split: {
    columns: ["a", "b"],
    data: [
      [1, 0.5],
      [2, 1.5],
    ],
  },
});

/** params_echo's output is an object of params, no table: CSV and Arrow cannot carry it. */
const WITH_PARAMS: MlflowSignature = {
  inputs: '[{"type": "string", "name": "x", "required": true}]',
  outputs: null,
  params: '[{"name": "threshold", "default": 0.5, "shape": null, "type": "double"}]',
};

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);

function jsonRequest(body: string, extra: Partial<ScoreRequest> = {}): ScoreRequest {
  return { body: bytes(body), contentType: "application/json", ...extra };
}

function text(res: ScoreResponse): string {
  return typeof res.body === "string" ? res.body : new TextDecoder().decode(res.body);
}

/** An MLflow error response: its status, JSON Content-Type, error_code and a message containing `part`. */
function expectError(res: ScoreResponse, status: number, code: string, part: string): void {
  expect(res.status, text(res)).toBe(status);
  expect(res.headers["Content-Type"]).toBe("application/json");
  const body = JSON.parse(text(res)) as { error_code: string; message: string };
  expect(body.error_code).toBe(code);
  expect(body.message).toContain(part);
  expect(body).not.toHaveProperty("stack_trace");
}

async function scorer(
  behaviour: "echo" | "params_echo" | "sleep",
  signature: MlflowSignature,
  options: ConstructorParameters<typeof Scorer>[1] = {},
): Promise<Scorer> {
  return new Scorer(await buildModel(behaviour, signature), { logger: quietLogger(), ...options });
}

describe("Scorer.invocations", () => {
  it("scores a good JSON request: 200, JSON predictions", async () => {
    const res = await (await scorer("echo", SIGNATURES.ab)).invocations(jsonRequest(AB_BODY));
    expect(res.status, text(res)).toBe(200);
    expect(res.headers).toEqual({ "Content-Type": "application/json" });
    expect(JSON.parse(text(res))).toEqual({ predictions: AB_ROWS });
  });

  it("reads a lazy body, and takes CSV with params from the query", async () => {
    const res = await (await scorer("params_echo", WITH_PARAMS)).invocations({
      body: () => Promise.resolve(bytes("x\nq\n")),
      contentType: "text/csv",
      params: '{"threshold": 0.9}',
    });
    expect(JSON.parse(text(res))).toEqual({ predictions: { threshold: 0.9 } });
  });

  it.each([
    ["malformed JSON", "{not json", "BAD_REQUEST", "Ensure that input is a valid JSON formatted string"],
    ["an empty body", "", "BAD_REQUEST", "The request body is empty"],
    ["a column the signature lacks", JSON.stringify({ dataframe_records: [{ a: 1 }] }), "INVALID_PARAMETER_VALUE", "Model is missing inputs ['b']"],
  ])("answers %s with 400 and an MLflow error body", async (_, body, code, part) => {
    const s = await scorer("echo", SIGNATURES.ab);
    expectError(await s.invocations(jsonRequest(body)), 400, code, part);
    expect((await s.invocations(jsonRequest(AB_BODY))).status, "still scoring").toBe(200);
  });

  it.each([["text/plain"], [undefined], ["application/json; format=pandas-split"]])(
    "answers Content-Type %s with 415, without reading the body",
    async (contentType) => {
      let read = false;
      const res = await (await scorer("echo", SIGNATURES.ab)).invocations({
        body: () => {
          read = true;
          return Promise.resolve(bytes(AB_BODY));
        },
        contentType,
      });
      expectError(res, 415, "UNSUPPORTED_MEDIA_TYPE", "Accepted: application/json");
      expect(read).toBe(false);
    },
  );
});

describe("Scorer.invocations: Accept", () => {
  it.each([
    ["text/csv", "text/csv; charset=utf-8"],
    ["application/vnd.apache.arrow.stream", "application/vnd.apache.arrow.stream"],
    ["application/xml", "application/json"],
    [undefined, "application/json"],
  ])("Accept: %s → %s", async (accept, contentType) => {
    const res = await (await scorer("echo", SIGNATURES.ab)).invocations(jsonRequest(AB_BODY, { accept }));
    expect(res.status).toBe(200);
    expect(res.headers["Content-Type"]).toBe(contentType);
  });

  it("answers CSV that decodes back to the predictions", async () => {
    const res = await (await scorer("echo", SIGNATURES.ab)).invocations(jsonRequest(AB_BODY, { accept: "text/csv" }));
    expect(tableToRecords(parseCsv(text(res)))).toEqual(AB_ROWS);
  });

  it("answers 406 when no accepted type can carry the output", async () => {
    const res = await (await scorer("params_echo", WITH_PARAMS)).invocations({ body: bytes("x\nq\n"), contentType: "text/csv", accept: "text/csv" });
    expectError(res, 406, "NOT_ACCEPTABLE", "The model's output is not a table");
  });

  it("falls back to the next accepted type that can carry the output", async () => {
    const res = await (await scorer("params_echo", WITH_PARAMS)).invocations({
      body: bytes("x\nq\n"),
      contentType: "text/csv",
      accept: "text/csv, application/json;q=0.5",
    });
    expect(res.status).toBe(200);
    expect(res.headers["Content-Type"]).toBe("application/json");
    expect(JSON.parse(text(res))).toEqual({ predictions: { threshold: 0.5 } });
  });
});

describe("Scorer limits", () => {
  const sleepBody = (delayMs: number): string => JSON.stringify({ dataframe_split: { columns: ["a", "b"], data: [[1, 0.5]] }, params: { delay_ms: delayMs } });

  it("answers 504 at the timeout and frees the queue slot then; the run still sleeping is counted as abandoned until its node returns", async () => {
    const state = new ServerState();
    const metrics = new ServerMetrics();
    const s = await scorer("sleep", SIGNATURES.sleepParams, { timeoutMs: 50, state, metrics });
    const started = Date.now();
    expectError(await s.invocations(jsonRequest(sleepBody(300))), 504, "DEADLINE_EXCEEDED", "longer than the 0.05 s timeout");
    expect(Date.now() - started).toBeLessThan(290);
    expect(state.pending).toBe(0);
    const scrape = async (): Promise<string> => await metrics.registry.metrics();
    expect(await scrape()).toMatch(/^pipeserve_abandoned_runs_total 1$/m);
    expect(await scrape()).toMatch(/^pipeserve_abandoned_runs_running 1$/m);
    expect(await scrape()).toMatch(/^pipeserve_prediction_timeouts_total 1$/m);
    await new Promise((r) => setTimeout(r, 350));
    expect(await scrape()).toMatch(/^pipeserve_abandoned_runs_running 0$/m);
    expect(await scrape()).toMatch(/^pipeserve_abandoned_runs_total 1$/m);
  });

  it("answers 503 with Retry-After when the queue is full, and scores again once it drains", async () => {
    const state = new ServerState();
    const s = await scorer("sleep", SIGNATURES.sleepParams, { maxQueue: 1, state });
    const first = s.invocations(jsonRequest(sleepBody(200)));
    expect(state.pending).toBe(1);
    const second = await s.invocations(jsonRequest(sleepBody(0)));
    expectError(second, 503, "TEMPORARILY_UNAVAILABLE", "at its limit of 1 queued predictions");
    expect(second.headers["Retry-After"]).toBe("1");
    expect((await first).status).toBe(200);
    expect((await s.invocations(jsonRequest(sleepBody(0)))).status).toBe(200);
  });

  it("answers 503 with Retry-After while the server shuts down", async () => {
    const state = new ServerState();
    const s = await scorer("echo", SIGNATURES.ab, { state });
    state.ready = false;
    const res = await s.invocations(jsonRequest(AB_BODY));
    expectError(res, 503, "TEMPORARILY_UNAVAILABLE", "shutting down");
    expect(res.headers["Retry-After"]).toBe("1");
  });
});

describe("Scorer.errorResponse", () => {
  it("writes the Open Inference Protocol's {error} shape when asked", async () => {
    const s = await scorer("echo", SIGNATURES.ab);
    const res = s.errorResponse(new Error("secret"), "req-1", "v2");
    expect(res.status).toBe(500);
    expect(JSON.parse(text(res))).toEqual({ error: expect.stringContaining("Internal server error") });
    expect(text(res)).not.toContain("secret");
  });
});
