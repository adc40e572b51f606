/**
 * The work one request may cause (issue 14, items 1 and 5): `maxRows` and `maxCells` (the server's
 * --max-rows and --max-cells) refuse a body with a 413 naming the figure, the limit and the flag,
 * for every body type and the Open Inference Protocol, small bodies decoded at once and big ones
 * in slices alike; JSON nested deeper than MAX_JSON_DEPTH is a 400 naming the limit, wherever
 * JSON arrives (the body, NDJSON lines, OIP, `?params=`). The server keeps answering.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { arrowToParquet, encodeArrowIpc, tableFromColumns, toArrow, type Cell } from "../../src/index.js";
import { MAX_JSON_DEPTH } from "../../src/tabular/index.js";
import { abBody, expectAlive, expectError, expectV2Error, postJson, predictions, quietApp, send, type App } from "./fixtures/http.js";
import { SIGNATURES, buildModel } from "./fixtures/models.js";

const LIMITS = { maxRows: 100, maxCells: 1_000 };
const V2_INFER = "/v2/models/model/infer";

/** `n` rows of `a`, `b` and `extra` more columns (dropped by the signature, but they count). */
function columns(n: number, extra = 0): Record<string, Cell[]> {
  const out: Record<string, Cell[]> = { a: Array.from({ length: n }, (_, i) => i), b: Array.from({ length: n }, (_, i) => i + 0.5) };
  for (let c = 0; c < extra; c++) out[`c${c}`] = Array.from({ length: n }, () => 1);
  return out;
}

function rowsOf(cols: Record<string, Cell[]>): Record<string, Cell>[] {
  const names = Object.keys(cols);
  return (cols["a"] as Cell[]).map((_, r) => Object.fromEntries(names.map((n) => [n, (cols[n] as Cell[])[r]])));
}

/** One body of each type, for the same columns. */
const BODIES: Record<string, { contentType: string; body: (cols: Record<string, Cell[]>) => string | Uint8Array }> = {
  dataframe_split: {
    contentType: "application/json",
    body: (cols) => {
      const names = Object.keys(cols);
      return JSON.stringify({ dataframe_split: { columns: names, data: (cols["a"] as Cell[]).map((_, r) => names.map((n) => (cols[n] as Cell[])[r])) } });
    },
  },
  dataframe_records: { contentType: "application/json", body: (cols) => JSON.stringify({ dataframe_records: rowsOf(cols) }) },
  instances: { contentType: "application/json", body: (cols) => JSON.stringify({ instances: rowsOf(cols) }) },
  inputs: { contentType: "application/json", body: (cols) => JSON.stringify({ inputs: cols }) },
  csv: {
    contentType: "text/csv",
    body: (cols) => {
      const names = Object.keys(cols);
      return `${names.join(",")}\n${(cols["a"] as Cell[]).map((_, r) => names.map((n) => String((cols[n] as Cell[])[r])).join(",")).join("\n")}\n`;
    },
  },
  ndjson: {
    contentType: "application/x-ndjson",
    body: (cols) =>
      `${rowsOf(cols)
        .map((r) => JSON.stringify(r))
        .join("\n")}\n`,
  },
  arrow_stream: { contentType: "application/vnd.apache.arrow.stream", body: (cols) => encodeArrowIpc(toArrow(tableFromColumns(cols)), "stream") },
  arrow_file: { contentType: "application/vnd.apache.arrow.file", body: (cols) => encodeArrowIpc(toArrow(tableFromColumns(cols)), "file") },
  parquet: { contentType: "application/vnd.apache.parquet", body: (cols) => arrowToParquet(toArrow(tableFromColumns(cols))) },
};
const TYPES = Object.keys(BODIES);
/** Text bodies are refused as soon as their rows pass the limit (the count is "more than"); Arrow and Parquet declare theirs. */
const rowFigure = (type: string, rows: number, limit: number): string =>
  /arrow|parquet/.test(type) ? `${rows.toLocaleString("en-US")} rows` : `more than ${limit.toLocaleString("en-US")} rows`;

/** An infer request with one tensor per column. */
function inferBody(cols: Record<string, Cell[]>, shapeRows?: number): string {
  return JSON.stringify({
    inputs: Object.entries(cols).map(([name, data]) => ({ name, shape: [shapeRows ?? data.length], datatype: name === "a" ? "INT64" : "FP64", data })),
  });
}

let app: App;

beforeAll(async () => {
  // row_count answers the number of rows it was given.
  app = quietApp(await buildModel("row_count", SIGNATURES.ab), LIMITS);
});

function post(type: string, cols: Record<string, Cell[]>): Promise<Response> {
  const spec = BODIES[type] as (typeof BODIES)[string];
  return send(app, "/invocations", { method: "POST", contentType: spec.contentType, body: spec.body(cols) });
}

describe("maxRows and maxCells (--max-rows, --max-cells) → 413", () => {
  it.each(TYPES)("%s: takes a body at the limits", async (type) => {
    expect(await predictions(await post(type, columns(100)))).toEqual([100]);
    expect(await predictions(await post(type, columns(25, 38)))).toEqual([25]);
  });

  it.each(TYPES)("%s: refuses more rows, naming the figure and --max-rows", async (type) => {
    await expectError(await post(type, columns(101)), 413, "REQUEST_TOO_LARGE", [rowFigure(type, 101, 100), "the limit is 100 rows per request (--max-rows)"]);
    await expectAlive(app);
  });

  it.each(TYPES)("%s: refuses more cells, naming the figure and --max-cells", async (type) => {
    await expectError(await post(type, columns(50, 28)), 413, "REQUEST_TOO_LARGE", ["cells", "the limit is 1,000 cells per request (--max-cells)"]);
  });

  it("dataframe_records: a new key per row is a column of every row, refused as the columns appear", async () => {
    const records = Array.from({ length: 100 }, (_, i) => ({ a: i, b: 0.5, [`k${i}`]: 1 }));
    await expectError(await postJson(app, { dataframe_records: records }), 413, "REQUEST_TOO_LARGE", ["100 rows × 11 columns = 1,100 cells", "--max-cells"]);
  });

  it("NDJSON: a new key per line counts the same way", async () => {
    const lines = Array.from({ length: 100 }, (_, i) => JSON.stringify({ a: i, b: 0.5, [`k${i}`]: 1 })).join("\n");
    await expectError(await send(app, "/invocations", { method: "POST", contentType: "application/x-ndjson", body: lines }), 413, "REQUEST_TOO_LARGE", [
      "100 rows × 102 columns",
      "--max-cells",
    ]);
  });

  it("an Arrow table's declared rows are checked before any value is read", async () => {
    const body = encodeArrowIpc(toArrow(tableFromColumns(columns(5_000))), "stream");
    await expectError(await send(app, "/invocations", { method: "POST", contentType: "application/vnd.apache.arrow.stream", body }), 413, "REQUEST_TOO_LARGE", [
      "5,000 rows (the Arrow table)",
    ]);
  });

  it("lists that hold no rows are no rows, however long: column names, a row's cells, params, other keys", async () => {
    // 1 row of 150 columns: 150 cells, within 1,000; each list is longer than the 100 rows allowed.
    const wide = columns(1, 148);
    expect(await predictions(await post("dataframe_split", wide))).toEqual([1]);
    const long = Array.from({ length: 150 }, (_, i) => i);
    const res = await postJson(app, { ...abBody([[1, 0.5]], { weights: long }), other: long });
    expect(res.status, await res.clone().text()).toBe(200);
    expect(await predictions(res)).toEqual([1]);
  });

  describe("the Open Inference Protocol", () => {
    it("takes more input tensors than maxRows: they are columns, not rows", async () => {
      const res = await send(app, V2_INFER, { method: "POST", contentType: "application/json", body: inferBody(columns(1, 148)) });
      expect(res.status, await res.clone().text()).toBe(200);
    });

    it("takes tensors at the limits", async () => {
      const res = await send(app, V2_INFER, { method: "POST", contentType: "application/json", body: inferBody(columns(100)) });
      expect(res.status, await res.clone().text()).toBe(200);
    });

    it.each([
      { what: "more rows than maxRows", body: inferBody(columns(101)), parts: ["101 rows (the shape of input", "--max-rows"] },
      {
        what: "a declared shape past maxRows, before its data is read",
        body: inferBody(columns(2), 1_000_000_000),
        parts: ["1,000,000,000 rows", "--max-rows"],
      },
      { what: "more cells than maxCells", body: inferBody(columns(50, 28)), parts: ["cells", "--max-cells"] },
    ])("refuses $what with a 413 ({error})", async ({ body, parts }) => {
      await expectV2Error(await send(app, V2_INFER, { method: "POST", contentType: "application/json", body }), 413, parts);
    });
  });
});

describe("big bodies (a megabyte or more) are decoded in slices, within the same limits", () => {
  let roomy: App;
  beforeAll(async () => {
    roomy = quietApp(await buildModel("row_count", SIGNATURES.ab), { maxRows: 150_000, maxCells: 400_000 });
  });

  it.each(TYPES)("%s: 150,000 rows are read and counted", async (type) => {
    const spec = BODIES[type] as (typeof BODIES)[string];
    const body = spec.body(columns(150_000));
    if (!type.startsWith("parquet") && !type.startsWith("arrow")) expect(body.length).toBeGreaterThan(1 << 20);
    expect(await predictions(await send(roomy, "/invocations", { method: "POST", contentType: spec.contentType, body }))).toEqual([150_000]);
  });

  it.each(TYPES)("%s: one row more is refused", async (type) => {
    const spec = BODIES[type] as (typeof BODIES)[string];
    const res = await send(roomy, "/invocations", { method: "POST", contentType: spec.contentType, body: spec.body(columns(150_001)) });
    await expectError(res, 413, "REQUEST_TOO_LARGE", [rowFigure(type, 150_001, 150_000), "--max-rows"]);
  });

  it("OIP: 150,000 rows are read, one more refused", async () => {
    const ok = await send(roomy, V2_INFER, { method: "POST", contentType: "application/json", body: inferBody(columns(150_000)) });
    expect(ok.status).toBe(200);
    await expectV2Error(await send(roomy, V2_INFER, { method: "POST", contentType: "application/json", body: inferBody(columns(150_001)) }), 413, [
      "--max-rows",
    ]);
  });
});

describe(`JSON nested more than ${MAX_JSON_DEPTH} levels deep → 400 naming the limit`, () => {
  const deep = (levels: number): string => `${"[".repeat(levels)}1${"]".repeat(levels)}`;
  const DEPTH = [`more than ${MAX_JSON_DEPTH} levels deep`];

  it.each([
    { what: "inputs", body: `{"inputs": ${deep(10_000)}}` },
    { what: "a dataframe_split cell", body: `{"dataframe_split": {"columns": ["a", "b"], "data": [[1, ${deep(10_000)}]]}}` },
    { what: "a dataframe_records cell", body: `{"dataframe_records": [{"a": 1, "b": ${deep(10_000)}}]}` },
    { what: "params", body: `{"inputs": {"a": [1], "b": [0.5]}, "params": {"x": ${deep(10_000)}}}` },
    { what: "objects in objects", body: `{"inputs": ${'{"a": '.repeat(10_000)}1${"}".repeat(10_000)}}` },
  ])("in $what", async ({ body }) => {
    await expectError(await postJson(app, body), 400, "BAD_REQUEST", DEPTH);
    await expectAlive(app);
  });

  it("in a JSON Lines row", async () => {
    const body = `{"a": 1, "b": 0.5}\n{"a": 1, "b": ${deep(10_000)}}\n`;
    await expectError(await send(app, "/invocations", { method: "POST", contentType: "application/x-ndjson", body }), 400, "BAD_REQUEST", [
      "JSON Lines line 2",
      ...DEPTH,
    ]);
  });

  it("in ?params=", async () => {
    const res = await send(app, `/invocations?params=${encodeURIComponent(`{"x": ${deep(5_000)}}`)}`, {
      method: "POST",
      contentType: "text/csv",
      body: "a,b\n1,0.5\n",
    });
    await expectError(res, 400, "BAD_REQUEST", DEPTH);
  });

  it("in an infer request's data ({error})", async () => {
    const body = `{"inputs": [{"name": "a", "shape": [1], "datatype": "INT64", "data": ${deep(10_000)}}]}`;
    await expectV2Error(await send(app, V2_INFER, { method: "POST", contentType: "application/json", body }), 400, DEPTH);
    await expectAlive(app);
  });

  it(`takes ${MAX_JSON_DEPTH} levels`, async () => {
    const body = `{"inputs": [{"name": "a", "shape": [1], "datatype": "INT64", "data": ${deep(MAX_JSON_DEPTH - 3)}}, {"name": "b", "shape": [1], "datatype": "FP64", "data": [0.5]}]}`;
    const res = await send(app, V2_INFER, { method: "POST", contentType: "application/json", body });
    expect(res.status, await res.clone().text()).toBe(200);
  });
});

describe("the defaults", () => {
  it("are 1,000,000 rows and 20,000,000 cells", async () => {
    const model = await buildModel("row_count", SIGNATURES.ab);
    const big = quietApp(model);
    const body = `{"inputs": {"a": [${"1,".repeat(1_000_000)}1], "b": [1]}}`;
    await expectError(await postJson(big, body), 413, "REQUEST_TOO_LARGE", [
      "more than 1,000,000 rows (inputs.a holds more than that many values)",
      "--max-rows",
    ]);
    await expectAlive(big, abBody());
  });
});
