/**
 * Replays EVERY applicable MLflow conformance case (test/fixtures/conformance/mlflow-cases.json, a copy of shared/conformance/) against
 * the real server: a packaged model of the case's behaviour and signature (fixtures/models.ts),
 * `createApp`, and the case's request through `app.request()` — method, path, Content-Type (or
 * none at all) and body bytes exactly as recorded.
 *
 * What is checked, per the case's `pipeserve` field:
 * - `same_as_mlflow`: the status and `error_code` of `expect`, every fixed substring of
 *   `expect.message_contains` (minus the MLflow-only wording listed in MLFLOW_ONLY_WORDING, each
 *   with the reason and pipeserve's own text instead), `body_exact` / `body_pattern`, and the
 *   predictions of a 200 as pipeserve writes them (PROTOCOL.md's **Better** rules: missing
 *   optional columns come back as null, binary as base64 without MLflow's trailing newline; dates
 *   as MLflow writes them).
 * - otherwise pipeserve's own `status` / `error_code`; the message text and predictions pipeserve
 *   gives instead come from PIPESERVE_ANSWERS (MLflow's message substrings do not apply there:
 *   pipeserve answers differently on purpose, with its own wording).
 * Every error body is JSON, has no `stack_trace` (stack traces only with --debug, even where
 * MLflow sends a Python traceback), and every response carries X-Request-Id.
 */
import { readFileSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import type { MlflowSignature } from "../../src/index.js";
import { expectError, quietApp, send, type App } from "./fixtures/http.js";
import { buildModel, isBehaviour, type Behaviour } from "./fixtures/models.js";

interface ConformanceCase {
  id: string;
  model: string;
  signature: MlflowSignature | null;
  request: { method: string; path: string; content_type: string | null; body: string | null };
  expect: {
    status: number;
    error_code?: string;
    message_contains?: string[];
    predictions_shape_or_value?: unknown;
    body_exact?: string;
    body_pattern?: string;
    body_json_exact?: unknown;
    response_content_type?: string;
    has_stack_trace?: boolean;
  };
  pipeserve: { applies?: boolean; same_as_mlflow?: boolean; status?: number; error_code?: string; note?: string };
}

// A copy of shared/conformance/ (test/fixtures/conformance/README.md), so the tests need nothing outside the repository.
const CASES = JSON.parse(readFileSync(new URL("../fixtures/conformance/mlflow-cases.json", import.meta.url), "utf8")) as ConformanceCase[];
const APPLICABLE = CASES.filter((c) => c.pipeserve.applies !== false);

/** Out of scope (applies: false), and why; a new out-of-scope case must be added here on purpose. */
const OUT_OF_SCOPE: Readonly<Record<string, string>> = {
  "tensor-ok": "tensor signatures: pipeserve signatures are column-based",
  "tensor-bad-shape": "tensor signatures: pipeserve signatures are column-based",
  "typehint-model-requires-inputs": "type-hint models: pipeserve signatures are column-based",
};

/**
 * Fixed substrings of MLflow's messages that name MLflow internals pipeserve does not have, with
 * the reason, and pipeserve's fixed text checked instead. Every other substring is checked as is.
 */
const MLFLOW_ONLY_WORDING: Readonly<Record<string, { drop: string[]; instead: string[]; why: string }>> = {
  "col-missing-required": {
    drop: ["Failed to predict data"],
    instead: [],
    why: "MLflow wraps errors raised inside predict; pipeserve enforces the signature before predicting, so there is no wrapper",
  },
};

/** What pipeserve answers where it deliberately differs from MLflow (cases without same_as_mlflow). */
const PIPESERVE_ANSWERS: Readonly<Record<string, { code?: string; parts?: string[]; predictions?: unknown }>> = {
  "ct-unsupported": {
    code: "UNSUPPORTED_MEDIA_TYPE",
    parts: ['Content-Type "not_a_supported_content_type" is not supported', "Accepted: application/json, text/csv, application/vnd.apache.arrow.stream"],
  },
  "ct-unknown-param": { code: "UNSUPPORTED_MEDIA_TYPE", parts: ['Content-Type parameter "something=something" is not supported', "only charset=utf-8"] },
  "ct-missing": { code: "UNSUPPORTED_MEDIA_TYPE", parts: ["The request has no Content-Type", "Accepted: application/json"] },
  "col-float-into-long-truncates": { parts: ["column a", "1.7", "long", "does not truncate"] },
  // Better: missing optional columns are present, filled with null (the case's MLflow rows + nulls).
  "opt-only-required": {},
  "out-model-raises": { parts: ['Node "raise_generic" failed', "raise_generic always fails: value out of range"] },
  "params-float-to-long-rejected": {
    predictions: {
      str_param: "str_a",
      int_param: 1,
      bool_param: true,
      double_param: 1,
      float_param: 0.5,
      long_param: 1,
      datetime_param: "2023-06-26T00:00:00",
      str_list: ["a", "b", "c"],
      double_array: [1, 2],
    },
  },
  "csv-datetime-schema-fails": { predictions: [{ t: "2021-01-01T00:00:00" }] },
  "llm-input-key-unwrapped": { parts: ["exactly one of the input fields", 'The LLM fields "messages", "prompt" and "input" are not supported'] },
  "timeout-504": { parts: ["The prediction took longer than the 0.2 s timeout", "--timeout"] },
};

/** Routes MLflow serves twice (the case's note says the alias must behave the same). */
const ALIASES: Readonly<Record<string, string[]>> = { "/ping": ["/health"] };

/** The sleep behaviour sleeps SLEEP_DEFAULT_MS (1 s); the app's timeout is short so the 504 is quick. */
const SLEEP_TIMEOUT_MS = 200;

function behaviourOf(c: ConformanceCase): string {
  return c.model.slice(0, c.model.indexOf(":"));
}

/** The status and code pipeserve must answer. */
function outcome(c: ConformanceCase): { status: number; code: string | undefined } {
  if (c.pipeserve.same_as_mlflow) return { status: c.expect.status, code: c.expect.error_code };
  return { status: c.pipeserve.status ?? c.expect.status, code: c.pipeserve.error_code ?? PIPESERVE_ANSWERS[c.id]?.code };
}

interface ColumnJson {
  name?: string;
  type: string;
}

function parseSpecs(json: string | null | undefined): ColumnJson[] | null {
  return json ? (JSON.parse(json) as ColumnJson[]) : null;
}

/** MLflow's echoed rows as pipeserve writes them: every signature column in order (missing optional ones null), binary without "\n". */
function expectedEchoRows(rows: Record<string, unknown>[], signature: MlflowSignature | null): Record<string, unknown>[] {
  const inputs = parseSpecs(signature?.inputs);
  if (!inputs || inputs.some((s) => s.name === undefined)) return rows;
  return rows.map((row) => {
    const out: Record<string, unknown> = {};
    for (const spec of inputs) {
      const name = spec.name as string;
      const value = row[name] ?? null;
      if (spec.type === "binary" && typeof value === "string") out[name] = value.replace(/\n$/, "");
      else out[name] = value;
    }
    return out;
  });
}

/** The predictions pipeserve must answer for a 200 case, or undefined when the case pins none. */
function expectedPredictions(c: ConformanceCase): unknown {
  const own = PIPESERVE_ANSWERS[c.id];
  if (own && "predictions" in own) return own.predictions;
  const mlflow = c.expect.predictions_shape_or_value;
  if (mlflow === undefined) return undefined;
  switch (behaviourOf(c)) {
    case "echo":
      return expectedEchoRows(mlflow as Record<string, unknown>[], c.signature);
    default:
      return mlflow;
  }
}

async function appFor(c: ConformanceCase): Promise<App> {
  const behaviour = behaviourOf(c) as Behaviour;
  const model = await buildModel(behaviour, c.signature);
  return quietApp(model, behaviour === "sleep" ? { timeoutMs: SLEEP_TIMEOUT_MS } : {});
}

function request(app: App, c: ConformanceCase, path = c.request.path): Promise<Response> {
  return send(app, path, { method: c.request.method, contentType: c.request.content_type, body: c.request.body });
}

const replayed = new Set<string>();

describe("the conformance file", () => {
  it("has the applicable cases this suite knows how to replay", () => {
    expect(APPLICABLE.length).toBeGreaterThanOrEqual(40);
    const notApplicable = CASES.filter((c) => c.pipeserve.applies === false).map((c) => c.id);
    expect(notApplicable.sort()).toEqual(Object.keys(OUT_OF_SCOPE).sort());
    for (const c of APPLICABLE) {
      expect(isBehaviour(behaviourOf(c)), `${c.id}: unknown behaviour ${behaviourOf(c)}`).toBe(true);
      if (!c.pipeserve.same_as_mlflow) expect(PIPESERVE_ANSWERS, `${c.id} differs from MLflow: say what pipeserve answers`).toHaveProperty([c.id]);
    }
    // Stale entries fail too: each names a case that exists and differs as described.
    for (const id of Object.keys(PIPESERVE_ANSWERS)) expect(APPLICABLE.find((c) => c.id === id)?.pipeserve.same_as_mlflow, id).not.toBe(true);
    for (const [id, { drop }] of Object.entries(MLFLOW_ONLY_WORDING)) {
      const c = APPLICABLE.find((x) => x.id === id);
      expect(c?.pipeserve.same_as_mlflow, id).toBe(true);
      for (const part of drop) expect(c?.expect.message_contains, id).toContain(part);
    }
  });
});

describe("MLflow conformance over the server", () => {
  it.each(APPLICABLE.map((c) => [c.id, outcome(c).status, c] as const))("%s → %i", async (id, status, c) => {
    const app = await appFor(c);
    for (const path of [c.request.path, ...(ALIASES[c.request.path] ?? [])]) {
      const res = await request(app, c, path);
      expect(res.headers.get("x-request-id"), "every response carries X-Request-Id").toMatch(/^[\w.:-]+$/);
      // pipeserve answers JSON everywhere, even where MLflow sends text/plain (415, 504).
      expect(res.headers.get("content-type")).toMatch(/^application\/json/);
      if (status === 200) {
        const text = await res.text();
        expect(res.status, text).toBe(200);
        if (c.pipeserve.same_as_mlflow && c.expect.body_exact !== undefined) expect(text).toBe(c.expect.body_exact);
        if (c.pipeserve.same_as_mlflow && c.expect.body_pattern !== undefined) expect(text).toMatch(new RegExp(c.expect.body_pattern));
        const predicted = expectedPredictions(c);
        const pinned = c.expect.body_exact !== undefined || c.expect.body_pattern !== undefined || predicted !== undefined;
        expect(pinned, `${id}: a 200 case should pin its body`).toBe(true);
        if (predicted !== undefined) {
          const body = JSON.parse(text) as { predictions: unknown };
          expect(Object.keys(body)).toEqual(["predictions"]);
          expect(body.predictions).toEqual(predicted);
          // Column order is the signature's, whatever order arrived.
          const inputs = parseSpecs(c.signature?.inputs);
          if (behaviourOf(c) === "echo" && inputs?.every((s) => s.name) && Array.isArray(body.predictions) && body.predictions.length > 0) {
            expect(Object.keys(body.predictions[0] as object)).toEqual(inputs.map((s) => s.name));
          }
        }
      } else {
        const { code } = outcome(c);
        expect(code, `${id}: an error case needs an error_code`).toBeDefined();
        const wording = MLFLOW_ONLY_WORDING[id];
        const parts = c.pipeserve.same_as_mlflow
          ? [...(c.expect.message_contains ?? []).filter((p) => !wording?.drop.includes(p)), ...(wording?.instead ?? [])]
          : (PIPESERVE_ANSWERS[id]?.parts ?? []);
        await expectError(res, status, code as string, parts);
      }
    }
    replayed.add(id);
  });

  // Runs after the table above (tests in a file run in order): every applicable case was replayed and passed.
  it("replayed every applicable case", () => {
    expect([...replayed].sort()).toEqual(APPLICABLE.map((c) => c.id).sort());
  });
});

/** What the real server does that no case pins (README.md's list), and what pipeserve does instead. */
describe("behaviours the conformance README lists without a case", () => {
  const AB: MlflowSignature = {
    inputs: '[{"type": "long", "name": "a", "required": true}, {"type": "double", "name": "b", "required": true}]',
    outputs: null,
    params: null,
  };
  const TYPED: MlflowSignature = {
    inputs:
      '[{"type": "long", "name": "a", "required": true}, {"type": "boolean", "name": "f", "required": false}, {"type": "string", "name": "s", "required": false}, {"type": "integer", "name": "i", "required": false}]',
    outputs: null,
    params: null,
  };
  let apps: { ab: App; typed: App } | undefined;
  const app = async (which: "ab" | "typed"): Promise<App> => {
    apps ??= { ab: quietApp(await buildModel("echo", AB)), typed: quietApp(await buildModel("echo", TYPED)) };
    return apps[which];
  };
  afterAll(() => void (apps = undefined));

  it.each([
    {
      why: "an integer beyond 2^53 into a long column (MLflow wraps)",
      model: "ab",
      body: '{"dataframe_split": {"columns": ["a", "b"], "data": [[9223372036854775808, 1.0]]}}',
      code: "INVALID_PARAMETER_VALUE",
      parts: ["column a", "beyond the whole numbers a JSON number keeps exactly"],
    },
    {
      why: "an integer beyond int32 into an integer column (MLflow wraps)",
      model: "typed",
      body: '{"dataframe_records": [{"a": 1, "i": 2147483648}]}',
      code: "INVALID_PARAMETER_VALUE",
      parts: ["column i", "2147483648"],
    },
    {
      why: "null in a required double column (MLflow: NaN and 200)",
      model: "ab",
      body: '{"dataframe_split": {"columns": ["a", "b"], "data": [[1, null]]}}',
      code: "BAD_REQUEST",
      parts: ["column b", "but the column is required"],
    },
    {
      why: "a bare NaN token in a required double column: a missing value, as null (MLflow: NaN and 200)",
      model: "ab",
      body: '{"dataframe_split": {"columns": ["a", "b"], "data": [[1, NaN]]}}',
      code: "BAD_REQUEST",
      parts: ["column b", "as is a bare NaN token in JSON", "but the column is required"],
    },
    {
      why: '"false" into a boolean column (MLflow: true)',
      model: "typed",
      body: '{"dataframe_records": [{"a": 1, "f": "false"}]}',
      code: "INVALID_PARAMETER_VALUE",
      parts: ["column f", '"false"', "Send JSON true or false"],
    },
    {
      why: "a number into a string column (MLflow echoes the number)",
      model: "typed",
      body: '{"dataframe_records": [{"a": 1, "s": 5}]}',
      code: "INVALID_PARAMETER_VALUE",
      parts: ["column s", "holds 5", "Send JSON strings"],
    },
  ] as const)("400 for $why", async ({ model, body, code, parts }) => {
    await expectError(await send(await app(model), "/invocations", { method: "POST", contentType: "application/json", body }), 400, code, parts);
  });

  it("matches the media type case-insensitively (RFC 9110; MLflow is case-sensitive)", async () => {
    const res = await send(await app("ab"), "/invocations", {
      method: "POST",
      contentType: 'Application/JSON; Charset="utf-8"',
      body: '{"inputs": {"a": [1], "b": [0.5]}}',
    });
    expect(await res.json()).toEqual({ predictions: [{ a: 1, b: 0.5 }] });
  });

  it("reads the bare NaN, Infinity and -Infinity tokens as MLflow does (NaN a missing value), and writes null for them", async () => {
    const floats = quietApp(
      await buildModel("echo", {
        inputs:
          '[{"type": "long", "name": "a", "required": true}, {"type": "double", "name": "b", "required": true}, {"type": "double", "name": "c", "required": false}]',
        outputs: null,
        params: null,
      }),
    );
    const body = '{"dataframe_split": {"columns": ["a", "b", "c"], "data": [[1, Infinity, NaN], [2, -Infinity, 0.5]]}}';
    const res = await send(floats, "/invocations", { method: "POST", contentType: "application/json", body });
    expect(await res.text()).toBe('{"predictions":[{"a":1,"b":null,"c":null},{"a":2,"b":null,"c":0.5}]}');
  });

  it("writes ±Infinity as null (MLflow writes the invalid tokens)", async () => {
    const res = await send(await app("ab"), "/invocations", { method: "POST", contentType: "text/csv", body: "a,b\n2,inf\n3,-inf\n" });
    const text = await res.text();
    expect(text).toBe('{"predictions":[{"a":2,"b":null},{"a":3,"b":null}]}');
  });

  /** Echo over `a: long` (required) and `c: double` (optional). */
  const optionalDouble = async (): Promise<App> =>
    quietApp(
      await buildModel("echo", {
        inputs: '[{"type": "long", "name": "a", "required": true}, {"type": "double", "name": "c", "required": false}]',
        outputs: null,
        params: null,
      }),
    );

  it("reads NaN in a CSV cell as a missing value, as the bare NaN token in JSON and as pandas' read_csv does: null in an optional column, refused in a required one", async () => {
    const floats = await optionalDouble();
    const csv = await send(floats, "/invocations", { method: "POST", contentType: "text/csv", body: "a,c\n1,NaN\n2,nan\n3,-NaN\n4,\n5,0.5\n" });
    const json = await send(floats, "/invocations", {
      method: "POST",
      contentType: "application/json",
      body: '{"dataframe_split": {"columns": ["a", "c"], "data": [[1, NaN], [2, NaN], [3, NaN], [4, null], [5, 0.5]]}}',
    });
    const expected = '{"predictions":[{"a":1,"c":null},{"a":2,"c":null},{"a":3,"c":null},{"a":4,"c":null},{"a":5,"c":0.5}]}';
    expect(await csv.text()).toBe(expected);
    expect(await json.text()).toBe(expected);
    const required = await send(await app("ab"), "/invocations", { method: "POST", contentType: "text/csv", body: "a,b\n1,NaN\n" });
    await expectError(required, 400, "BAD_REQUEST", [
      'Column b is double: row 0 holds "NaN"',
      "which a CSV cell holds for a missing value, but the column is required",
    ]);
  });

  // pandas' default na_values, which MLflow's server applies to a CSV body (read_csv): R's write.csv writes NA, Excel #N/A.
  const PANDAS_NA = ["NA", "N/A", "n/a", "NULL", "null", "None", "<NA>", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "1.#IND", "-1.#QNAN", "1.#QNAN"];

  it("reads pandas' other missing-value spellings in a CSV cell (NA, NULL, None, #N/A…) as missing in number, boolean and date-time columns; text in a string column", async () => {
    const typed = quietApp(
      await buildModel("echo", {
        inputs:
          '[{"type": "long", "name": "a", "required": true}, {"type": "double", "name": "c", "required": false}, {"type": "long", "name": "n", "required": false}, {"type": "boolean", "name": "f", "required": false}, {"type": "datetime", "name": "d", "required": false}, {"type": "string", "name": "s", "required": false}]',
        outputs: null,
        params: null,
      }),
    );
    const rows = PANDAS_NA.map((na, i) => `${i},${na},${na},${na},${na},${na}`);
    const res = await send(typed, "/invocations", { method: "POST", contentType: "text/csv", body: `a,c,n,f,d,s\n${rows.join("\n")}\n` });
    expect(res.status).toBe(200);
    const { predictions } = (await res.json()) as { predictions: Record<string, unknown>[] };
    expect(predictions).toEqual(PANDAS_NA.map((na, i) => ({ a: i, c: null, n: null, f: null, d: null, s: na })));
    const required = await send(await app("ab"), "/invocations", { method: "POST", contentType: "text/csv", body: "a,b\n1,NA\n" });
    await expectError(required, 400, "BAD_REQUEST", [
      'Column b is double: row 0 holds "NA"',
      "which a CSV cell holds for a missing value, but the column is required",
    ]);
  });

  it("a CSV cell that is no number, in a number column: the fix speaks of the cell, not of JSON; how to leave it empty only where it may be", async () => {
    const optional = await optionalDouble();
    const res = await send(optional, "/invocations", { method: "POST", contentType: "text/csv", body: "a,c\n1,abc\n" });
    const body = await expectError(res, 400, "BAD_REQUEST", [
      'Column c is double: row 0 holds "abc"',
      "Write a number in that cell (an empty cell, NA or NaN for a missing value).",
    ]);
    expect(JSON.stringify(body)).not.toContain("JSON");
    const required = await send(await app("ab"), "/invocations", { method: "POST", contentType: "text/csv", body: "a,b\n1,abc\n" });
    const refused = await expectError(required, 400, "BAD_REQUEST", ['Column b is double: row 0 holds "abc"', "Write a number in that cell."]);
    expect(refused.message).not.toContain("missing value");
  });
});
