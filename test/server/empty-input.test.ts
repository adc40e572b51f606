/**
 * Requests with zero rows (issue 14, item 4). A row-wise model answers them without running: its
 * output has a row per input row, so there are none — `{"predictions": []}` in JSON, and an empty
 * table with the signature's output columns in CSV, Arrow and the Open Inference Protocol. Any
 * other model runs, and a node that fails on the empty input is the client's to fix: a 400 that
 * says the input was empty and names the node, not a 500.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { arrowToParquet, decodeArrowIpc, encodeArrowIpc, tableFromColumns, toArrow, type MlflowSignature } from "../../src/index.js";
import { expectAlive, expectError, expectV2Error, predictions, quietApp, send, type App } from "./fixtures/http.js";
import { SIGNATURES, buildModel } from "./fixtures/models.js";

/** `a: long, b: double` in; scale_rows's `scaled: double, sum: double` out. */
const SCALED: MlflowSignature = {
  inputs: SIGNATURES.abScale.inputs,
  outputs: '[{"type": "double", "name": "scaled", "required": true}, {"type": "double", "name": "sum", "required": true}]',
  params: SIGNATURES.abScale.params,
};
const V2_INFER = "/v2/models/model/infer";
const EMPTY_AB = tableFromColumns({ a: [], b: [] });

/** Every body type, each with zero rows of `a` and `b`. */
const EMPTY_BODIES = [
  { what: "dataframe_split", contentType: "application/json", body: '{"dataframe_split": {"columns": ["a", "b"], "data": []}}' },
  { what: "inputs as columns", contentType: "application/json", body: '{"inputs": {"a": [], "b": []}}' },
  { what: "CSV with a header only", contentType: "text/csv", body: "a,b\n" },
  { what: "an Arrow stream", contentType: "application/vnd.apache.arrow.stream", body: encodeArrowIpc(toArrow(EMPTY_AB), "stream") },
  { what: "Parquet", contentType: "application/vnd.apache.parquet", body: arrowToParquet(toArrow(EMPTY_AB)) },
];

function invoke(app: App, contentType: string, body: string | Uint8Array, accept?: string): Promise<Response> {
  return send(app, "/invocations", { method: "POST", contentType, body, ...(accept ? { headers: { Accept: accept } } : {}) });
}

describe("a row-wise model answers zero rows without running", () => {
  let app: App;
  let failsOnEmpty: App;
  beforeAll(async () => {
    app = quietApp(await buildModel("scale_rows", SCALED, { rowWise: true }));
    // sort_index fails on zero rows: answering at all shows it did not run.
    failsOnEmpty = quietApp(await buildModel("sort_index", SIGNATURES.ab, { rowWise: true }));
  });

  it.each(EMPTY_BODIES)('$what → {"predictions": []}', async ({ contentType, body }) => {
    expect(await predictions(await invoke(app, contentType, body))).toEqual([]);
    expect(await predictions(await invoke(failsOnEmpty, contentType, body))).toEqual([]);
  });

  it("CSV: the output columns, no rows", async () => {
    const res = await invoke(app, "text/csv", "a,b\n", "text/csv");
    expect(res.status).toBe(200);
    expect(await res.text()).toBe("scaled,sum\n");
  });

  it("Arrow: a table of the output columns, no rows", async () => {
    const res = await invoke(app, "text/csv", "a,b\n", "application/vnd.apache.arrow.stream");
    expect(res.status).toBe(200);
    const table = decodeArrowIpc(new Uint8Array(await res.arrayBuffer()));
    expect(table.numRows).toBe(0);
    expect(table.schema.fields.map((f) => f.name)).toEqual(["scaled", "sum"]);
  });

  it("Open Inference Protocol: one tensor of shape [0] per output", async () => {
    const body = '{"inputs": [{"name": "a", "shape": [0], "datatype": "INT64", "data": []}, {"name": "b", "shape": [0], "datatype": "FP64", "data": []}]}';
    const res = await send(app, V2_INFER, { method: "POST", contentType: "application/json", body });
    expect(res.status, await res.clone().text()).toBe(200);
    const { outputs } = (await res.json()) as { outputs: unknown[] };
    expect(outputs).toEqual([
      { name: "scaled", shape: [0], datatype: "FP64", data: [] },
      { name: "sum", shape: [0], datatype: "FP64", data: [] },
    ]);
  });

  it("still checks the request: a bad param is a 400 with zero rows too", async () => {
    const res = await invoke(app, "application/json", '{"inputs": {"a": [], "b": []}, "params": {"scale": "x"}}');
    await expectError(res, 400, "INVALID_PARAMETER_VALUE", ["scale"]);
  });
});

describe("any other model runs; a node that fails on zero rows → 400 naming the node", () => {
  let app: App;
  beforeAll(async () => {
    app = quietApp(await buildModel("sort_index", SIGNATURES.ab));
  });

  it.each(EMPTY_BODIES)("$what", async ({ contentType, body }) => {
    const error = await expectError(await invoke(app, contentType, body), 400, "BAD_REQUEST", [
      "The input has no rows",
      'Node "sort_index" failed',
      "Send at least one row",
    ]);
    expect(error.message).toContain("end must be greater than start");
    await expectAlive(app);
  });

  it("the Open Inference Protocol too ({error})", async () => {
    const body = '{"inputs": [{"name": "a", "shape": [0], "datatype": "INT64", "data": []}, {"name": "b", "shape": [0], "datatype": "FP64", "data": []}]}';
    await expectV2Error(await send(app, V2_INFER, { method: "POST", contentType: "application/json", body }), 400, [
      "The input has no rows",
      'Node "sort_index"',
    ]);
  });

  it("with rows, the same model answers", async () => {
    const res = await invoke(app, "application/json", '{"dataframe_split": {"columns": ["a", "b"], "data": [[2, 0.5], [1, 1.5]]}}');
    expect(await predictions(res)).toEqual([
      { a: 2, b: 0.5 },
      { a: 1, b: 1.5 },
    ]);
  });

  it("a model that runs fine on zero rows answers as before", async () => {
    const echo = quietApp(await buildModel("echo", SIGNATURES.ab));
    expect(await predictions(await invoke(echo, "application/json", '{"dataframe_split": {"columns": ["a", "b"], "data": []}}'))).toEqual([]);
  });
});
