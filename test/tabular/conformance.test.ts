/**
 * Replays the MLflow conformance cases (test/fixtures/conformance/mlflow-cases.json, a copy of shared/conformance/) whose outcome the
 * tabular core decides: a JSON `/invocations` body goes through parseJsonRequest → enforceSchema →
 * enforceParams → a tiny model → encodePredictions, and the outcome must be the case's (pipeserve's
 * own status and error code where the case says pipeserve does better).
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  FormatError,
  SchemaError,
  encodePredictions,
  enforceParams,
  enforceSchema,
  parseJsonRequest,
  signatureFromMlflow,
  type Cell,
  type ColumnSpec,
  type ColumnTable,
} from "../../src/tabular/index.js";

interface ConformanceCase {
  id: string;
  model: string;
  signature: { inputs: string | null; outputs: string | null; params: string | null } | null;
  request: { method: string; path: string; content_type: string | null; body: string | null };
  expect: { status: number; error_code?: string; message_contains?: string[]; predictions_shape_or_value?: unknown };
  pipeserve: { applies?: boolean; same_as_mlflow?: boolean; status?: number; error_code?: string };
}

// A copy of shared/conformance/ (test/fixtures/conformance/README.md), so the tests need nothing outside the repository.
const CASES: ConformanceCase[] = JSON.parse(readFileSync(new URL("../fixtures/conformance/mlflow-cases.json", import.meta.url), "utf8")) as ConformanceCase[];

/** The tiny models the cases name, as functions of the enforced table and params. */
const MODELS: Readonly<Record<string, (table: ColumnTable, params: Record<string, unknown>) => unknown>> = {
  echo: (table) => table,
  params_echo: (_, params) => params,
  const_list: () => ["test"],
  row_sum_ndarray: (table) => Array.from({ length: table.numRows }, (_, r) => table.columns.reduce((sum, c) => sum + (c[r] as number), 0)),
  // A Series is written as [{"0": v}, ...]; an unnamed one-column table is written the same way.
  row_sum_series: (table) => ({
    names: ["0"],
    columns: [Array.from({ length: table.numRows }, (_, r) => table.columns.reduce<number>((sum, c) => sum + (c[r] as number), 0))],
    numRows: table.numRows,
  }),
};

/**
 * Cases left to the server, and why. Keeping the list explicit makes a new case in the shared file
 * fail here until someone decides where it is checked.
 */
const LEFT_TO_THE_SERVER: Readonly<Record<string, string>> = {
  "route-ping": "a GET route, not a body to parse",
  "route-version": "a GET route, not a body to parse",
  "ct-unsupported": "Content-Type negotiation (415) happens before any parsing",
  "ct-unknown-param": "Content-Type parameters (415) are checked before any parsing",
  "ct-missing": "a missing Content-Type (415) is decided before any parsing",
  "out-model-raises": "a failing node (500 INTERNAL_ERROR) is the runtime's and the server's",
  "timeout-504": "the request deadline (504) is the server's",
  "csv-basic": "a text/csv body: the server picks the CSV parser by Content-Type",
  "csv-empty": "a text/csv body: the server picks the CSV parser by Content-Type",
  "csv-datetime-schema-fails": "a text/csv body: the server picks the CSV parser by Content-Type",
  "tensor-ok": "applies: false (tensor signatures are out of scope)",
  "tensor-bad-shape": "applies: false (tensor signatures are out of scope)",
  "typehint-model-requires-inputs": "applies: false (type-hint models are out of scope)",
};

/** What pipeserve must answer: the case's own status and code, or pipeserve's where it does better. */
function outcome(c: ConformanceCase): { status: number; code: string | undefined } {
  if (c.pipeserve.same_as_mlflow) return { status: c.expect.status, code: c.expect.error_code };
  return { status: c.pipeserve.status ?? c.expect.status, code: c.pipeserve.error_code };
}

function modelName(c: ConformanceCase): string {
  return c.model.slice(0, c.model.indexOf(":"));
}

function decidedHere(c: ConformanceCase): boolean {
  const { status, code } = outcome(c);
  const mime = (c.request.content_type ?? "").split(";")[0]?.trim().toLowerCase();
  return (
    c.pipeserve.applies !== false &&
    c.request.method === "POST" &&
    c.request.path === "/invocations" &&
    mime === "application/json" &&
    modelName(c) in MODELS &&
    (status === 200 || (status === 400 && (code === "BAD_REQUEST" || code === "INVALID_PARAMETER_VALUE")))
  );
}

/**
 * MLflow's scoring server wraps errors raised inside predict as "Failed to predict data '...'.
 * Error: ..."; pipeserve enforces before predicting, so that wrapper is not part of the message.
 */
const MLFLOW_WRAPPERS: ReadonlySet<string> = new Set(["Failed to predict data"]);

/** Message parts for the cases where pipeserve answers differently from MLflow. */
const PIPESERVE_MESSAGES: Readonly<Record<string, string[]>> = {
  "col-float-into-long-truncates": ["Incompatible input types for column a", "row 0 holds 1.7", "long"],
  "llm-input-key-unwrapped": ["exactly one of the input fields", 'The LLM fields "messages", "prompt" and "input" are not supported'],
};

/** Runs one case through the tabular core; returns the decoded `predictions`. */
function replay(c: ConformanceCase): unknown {
  const signature = c.signature ? signatureFromMlflow(c.signature) : null;
  const inputs = signature?.inputs ?? null;
  const names = inputs?.every((s) => s.name !== undefined) ? inputs.map((s) => s.name as string) : undefined;
  const request = parseJsonRequest(c.request.body ?? "", names);
  const table = inputs ? enforceSchema(request.table, inputs).table : request.table;
  const { params } = enforceParams(request.params, signature?.params ?? null);
  const model = MODELS[modelName(c)] as (table: ColumnTable, params: Record<string, unknown>) => unknown;
  return (JSON.parse(encodePredictions(model(table, params))) as { predictions: unknown }).predictions;
}

/**
 * The expected echo rows as pipeserve writes them: missing optional columns present as null
 * (MLflow leaves them out), bytes base64 without MLflow's trailing newline; dates as MLflow writes them.
 */
function expectedRows(rows: Record<string, Cell>[], inputs: readonly ColumnSpec[] | null): Record<string, unknown>[] {
  if (!inputs || inputs[0]?.name === undefined) return rows;
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

const REPLAYED = CASES.filter(decidedHere);

describe("MLflow conformance cases decided by parsing and enforcement", () => {
  it("replays every applicable case here or names why the server owns it", () => {
    const skipped = CASES.filter((c) => !decidedHere(c)).map((c) => c.id);
    expect(skipped.sort()).toEqual(Object.keys(LEFT_TO_THE_SERVER).sort());
    expect(REPLAYED.length).toBeGreaterThanOrEqual(30);
  });

  it.each(REPLAYED.filter((c) => outcome(c).status === 200).map((c) => [c.id, c] as const))("%s → 200", (_, c) => {
    const predictions = replay(c);
    const expected = c.expect.predictions_shape_or_value;
    if (expected === undefined) return;
    const signature = c.signature ? signatureFromMlflow(c.signature) : null;
    switch (modelName(c)) {
      case "echo": {
        const rows = predictions as Record<string, unknown>[];
        expect(rows).toEqual(expectedRows(expected as Record<string, Cell>[], signature?.inputs ?? null));
        const named = signature?.inputs?.every((s) => s.name !== undefined);
        if (named && rows.length > 0) expect(Object.keys(rows[0] as object)).toEqual(signature?.inputs?.map((s) => s.name));
        break;
      }
      case "params_echo":
        expect(predictions).toEqual(expected);
        break;
      default:
        expect(predictions).toEqual(expected);
    }
  });

  it.each(REPLAYED.filter((c) => outcome(c).status !== 200).map((c) => [c.id, c] as const))("%s → 400", (_, c) => {
    const { code } = outcome(c);
    let caught: unknown;
    try {
      replay(c);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(code === "BAD_REQUEST" ? FormatError : SchemaError);
    const error = caught as FormatError | SchemaError;
    expect(error.code).toBe(code);
    const parts = c.pipeserve.same_as_mlflow
      ? (c.expect.message_contains ?? []).filter((part) => !MLFLOW_WRAPPERS.has(part))
      : (PIPESERVE_MESSAGES[c.id] ?? []);
    expect(parts.length, "a 400 case should pin some message text").toBeGreaterThan(0);
    for (const part of parts) expect(error.message).toContain(part);
  });
});
