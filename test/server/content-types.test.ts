/**
 * Every body type `/invocations` accepts and every response type `Accept` can ask for, with
 * bodies built by the tabular API (encodeTable, toArrow, encodeArrowIpc, arrowToParquet) and
 * responses decoded back: JSON (and its Content-Type rules), CSV (typed by the signature, params
 * from `?params=`), Arrow IPC stream and file, Parquet, NDJSON; `Accept: text/csv` and
 * `Accept: application/vnd.apache.arrow.stream`; and the X-Pipeserve-Ignored-Params header.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Data, Table, Vector } from "apache-arrow";
import { beforeAll, describe, expect, it } from "vitest";
import {
  arrowToParquet,
  decodeArrowIpc,
  encodeArrowIpc,
  encodeTable,
  fromArrow,
  parseCsv,
  tableFromColumns,
  tableToRecords,
  toArrow,
  type ColumnTable,
  type MlflowSignature,
} from "../../src/index.js";
import { BODY_TYPES } from "../../src/server/index.js";
import { arrowLib, formatIsoDateTimePython } from "../../src/tabular/index.js";
import { abBody, expectError, postJson, predictions, quietApp, send, type App } from "./fixtures/http.js";
import { SIGNATURES, buildModel } from "./fixtures/models.js";

const ACCEPTED = `Accepted: ${BODY_TYPES.join(", ")} (charset=utf-8 only).`;
const AB_ROWS = [
  { a: 1, b: 0.5 },
  { a: 2, b: 1.5 },
];
const AB_TABLE = tableFromColumns({ a: [1, 2], b: [0.5, 1.5] });

/** An Arrow stream of 3 rows whose column "a" holds 1 value in its buffer (damaged data). */
function shortColumnStream(): Uint8Array {
  const { Float64, Int64, Table, makeData, makeVector, tableToIPC } = arrowLib();
  const a = makeVector(makeData({ type: new Int64(), length: 3, nullCount: 0, data: new BigInt64Array([1n]) }));
  const b = makeVector(makeData({ type: new Float64(), length: 3, nullCount: 0, data: new Float64Array([0.5, 1.5, 2.5]) }));
  return tableToIPC(new Table({ a, b }), "stream");
}

/** Every column type, for the binary formats (Arrow and Parquet carry types of their own). */
const TYPED: MlflowSignature = {
  inputs:
    '[{"type": "boolean", "name": "flag", "required": true}, {"type": "long", "name": "n", "required": true}, {"type": "double", "name": "x", "required": true}, ' +
    '{"type": "string", "name": "s", "required": true}, {"type": "binary", "name": "bin", "required": true}, {"type": "datetime", "name": "t", "required": true}, ' +
    '{"type": "double", "name": "opt", "required": false}]',
  outputs: null,
  params: null,
};
const TYPED_TABLE = tableFromColumns({
  flag: [true, false],
  n: [1n, 9_007_199_254_740_991n],
  x: [0.25, -3],
  s: ["0012", 'héllo, "world"'],
  bin: [new Uint8Array([1, 2, 3]), new Uint8Array([255])],
  t: [new Date("2021-01-01T00:00:00Z"), new Date("2024-02-29T12:34:56.789Z")],
});
const TYPED_ROWS = [
  { flag: true, n: 1, x: 0.25, s: "0012", bin: "AQID", t: "2021-01-01T00:00:00", opt: null },
  { flag: false, n: 9_007_199_254_740_991, x: -3, s: 'héllo, "world"', bin: "/w==", t: "2024-02-29T12:34:56.789000", opt: null },
];

/** CSV cells are text: the signature types them. */
const CSV_TYPED: MlflowSignature = {
  inputs:
    '[{"type": "string", "name": "s", "required": true}, {"type": "long", "name": "n", "required": true}, {"type": "boolean", "name": "f", "required": false}, ' +
    '{"type": "datetime", "name": "t", "required": false}, {"type": "double", "name": "x", "required": false}]',
  outputs: null,
  params: null,
};

/** params_echo with a few params, to see what reaches the pipeline. */
const WITH_PARAMS: MlflowSignature = {
  inputs: '[{"type": "string", "name": "x", "required": true}]',
  outputs: null,
  params: '[{"name": "threshold", "default": 0.5, "shape": null, "type": "double"}, {"name": "tags", "default": ["a"], "shape": [-1], "type": "string"}]',
};
const DEFAULT_PARAMS = { threshold: 0.5, tags: ["a"] };

let ab: App;
let typed: App;
let csvTyped: App;
let paramsEcho: App;

beforeAll(async () => {
  ab = quietApp(await buildModel("echo", SIGNATURES.ab));
  typed = quietApp(await buildModel("echo", TYPED));
  csvTyped = quietApp(await buildModel("echo", CSV_TYPED));
  paramsEcho = quietApp(await buildModel("params_echo", WITH_PARAMS));
});

function post(
  app: App,
  contentType: string | null,
  body: string | Uint8Array,
  options: { query?: string; headers?: Record<string, string> } = {},
): Promise<Response> {
  return send(app, `/invocations${options.query ?? ""}`, { method: "POST", contentType, body, ...(options.headers ? { headers: options.headers } : {}) });
}

function paramsQuery(params: unknown): string {
  return `?params=${encodeURIComponent(JSON.stringify(params))}`;
}

describe("application/json", () => {
  it.each([
    "application/json",
    "application/json; charset=utf-8",
    "application/json;charset=UTF-8",
    'application/json; charset="utf-8"',
    "application/json ; Charset=Utf-8",
    "APPLICATION/JSON",
    "Application/Json; charset=utf-8",
  ])("accepts Content-Type %j", async (contentType) => {
    expect(await predictions(await post(ab, contentType, JSON.stringify(abBody())))).toEqual(AB_ROWS);
  });

  it.each([
    { contentType: "application/json; charset=latin-1", parts: ['Content-Type parameter "charset=latin-1" is not supported', "only charset=utf-8"] },
    { contentType: "application/json; charset=utf-16", parts: ['Content-Type parameter "charset=utf-16" is not supported'] },
    { contentType: "application/json; format=pandas-split", parts: ['Content-Type parameter "format=pandas-split" is not supported'] },
    { contentType: "application/json; charset=utf-8; q=1", parts: ['Content-Type parameter "q=1" is not supported'] },
    { contentType: "text/csv; header=present", parts: ['Content-Type parameter "header=present" is not supported'] },
  ])("refuses other parameters: $contentType → 415", async ({ contentType, parts }) => {
    await expectError(await post(ab, contentType, JSON.stringify(abBody())), 415, "UNSUPPORTED_MEDIA_TYPE", [...parts, ACCEPTED]);
  });

  // Found by an audit: a gzip body was read as it came, and refused as "not valid UTF-8".
  it.each(["gzip", "br", "Deflate"])("refuses a body with Content-Encoding %s with a 415 naming it; identity is read", async (encoding) => {
    const { gzipSync } = await import("node:zlib");
    const res = await post(ab, "application/json", gzipSync(JSON.stringify(abBody())), { headers: { "Content-Encoding": encoding } });
    await expectError(res, 415, "UNSUPPORTED_MEDIA_TYPE", [`Content-Encoding "${encoding.toLowerCase()}" is not supported: send the body uncompressed`]);
    expect(await predictions(await post(ab, "application/json", JSON.stringify(abBody()), { headers: { "Content-Encoding": "identity" } }))).toEqual(AB_ROWS);
  });

  it.each([null, ""])("refuses a missing Content-Type (%j) with a 415 JSON body, not MLflow's 500", async (contentType) => {
    const res = await send(ab, "/invocations", {
      method: "POST",
      body: JSON.stringify(abBody()),
      ...(contentType === "" ? { headers: { "Content-Type": "" } } : {}),
    });
    await expectError(res, 415, "UNSUPPORTED_MEDIA_TYPE", ["The request has no Content-Type", ACCEPTED]);
  });

  it.each([
    "text/plain",
    "application/xml",
    "multipart/form-data; boundary=x",
    "application/jsonl",
    "application/x-www-form-urlencoded",
    "not_a_supported_content_type",
  ])("refuses the unknown type %j with a 415 listing the accepted ones", async (contentType) => {
    await expectError(await post(ab, contentType, JSON.stringify(abBody())), 415, "UNSUPPORTED_MEDIA_TYPE", [
      `Content-Type "${contentType}" is not supported`,
      ACCEPTED,
    ]);
  });

  it("refuses ?params= beside a JSON body (which carries its own) with a 400 saying where they go, rather than dropping them unseen", async () => {
    for (const body of [{ inputs: ["q"], params: { threshold: 0.75 } }, { inputs: ["q"] }]) {
      const res = await post(paramsEcho, "application/json", JSON.stringify(body), { query: paramsQuery({ threshold: 0.9 }) });
      await expectError(res, 400, "BAD_REQUEST", [
        "The params query parameter is for bodies that cannot carry params",
        'a JSON body sends them in its own "params" key',
      ]);
    }
  });
});

describe("text/csv", () => {
  it("reads a header row and types each cell by the signature", async () => {
    expect(await predictions(await post(ab, "text/csv", "a,b\n1,0.5\n2,1.5\n"))).toEqual(AB_ROWS);
    // Line ends that change within a body (CRLF, then LF, then a lone CR) each end a row.
    expect(await predictions(await post(ab, "text/csv", "a,b\r\n1,0.5\n2,1.5\r"))).toEqual(AB_ROWS);
  });

  it("keeps a string column's numeric-looking cells as strings, and types the rest by the signature", async () => {
    const csv = 's,n,f,t,x\n0012,7,true,2021-01-01,1e3\n1e3,8,false,2024-02-29T12:00:00Z,-0.5\ntrue,9,,,\n"12,5",10,,,\n';
    expect(await predictions(await post(csvTyped, "text/csv; charset=utf-8", csv))).toEqual([
      { s: "0012", n: 7, f: true, t: "2021-01-01T00:00:00", x: 1000 },
      { s: "1e3", n: 8, f: false, t: "2024-02-29T12:00:00", x: -0.5 },
      { s: "true", n: 9, f: null, t: null, x: null },
      { s: "12,5", n: 10, f: null, t: null, x: null },
    ]);
  });

  it("fills missing optional columns with null, in the signature's order", async () => {
    expect(await predictions(await post(csvTyped, "text/csv", "n,s\n1,a\n"))).toEqual([{ s: "a", n: 1, f: null, t: null, x: null }]);
  });

  it("answers a header with no rows with no predictions", async () => {
    expect(await predictions(await post(ab, "text/csv", "a,b\n"))).toEqual([]);
  });

  it("an empty answer as Arrow carries the output signature's column types, not text", async () => {
    const echo = quietApp(await buildModel("echo", SIGNATURES.abParams));
    const res = await post(echo, "text/csv", "a,b\n", { headers: { Accept: "application/vnd.apache.arrow.stream" } });
    expect(res.status).toBe(200);
    const table = decodeArrowIpc(new Uint8Array(await res.arrayBuffer()));
    expect(table.numRows).toBe(0);
    expect(table.schema.fields.map((f) => `${f.name}: ${String(f.type)}`)).toEqual(["a: Int64", "b: Float64"]);
  });

  // Found by an audit: with rows, a long column was Float64 (the type of JavaScript numbers), so
  // answers with and without rows could not be put together.
  it("an answer with rows as Arrow has the same declared types where its values fit them; a column whose values do not keeps theirs", async () => {
    const echo = quietApp(await buildModel("echo", SIGNATURES.abParams));
    const arrowOf = async (csv: string) => {
      const res = await post(echo, "text/csv", csv, { headers: { Accept: "application/vnd.apache.arrow.stream" } });
      expect(res.status, await res.clone().text()).toBe(200);
      return decodeArrowIpc(new Uint8Array(await res.arrayBuffer()));
    };
    const rows = await arrowOf("a,b\n1,0.5\n-2,1\n");
    expect(rows.schema.fields.map((f) => `${f.name}: ${String(f.type)}`)).toEqual(["a: Int64", "b: Float64"]);
    expect(fromArrow(rows).columns).toEqual([
      [1, -2],
      [0.5, 1],
    ]);
  });

  it.each([
    { why: "an empty body", csv: "", code: "BAD_REQUEST", parts: ["The request body is empty", "text/csv"] },
    { why: "a row with too few fields", csv: "a,b\n1\n", code: "BAD_REQUEST", parts: ["CSV line 2 has 1 fields but the header has 2"] },
    { why: "an unclosed quote", csv: 'a,b\n"1,2\n', code: "BAD_REQUEST", parts: ["Could not parse the CSV input", "Quote Not Closed"] },
    { why: "text in a long column", csv: "s,n\nx,abc\n", code: "BAD_REQUEST", parts: ["Failed to convert column n to type 'int64'", '"abc"'] },
    { why: "a fraction in a long column", csv: "s,n\nx,1.5\n", code: "INVALID_PARAMETER_VALUE", parts: ["column n", "1.5"] },
    { why: "a non-boolean in a boolean column", csv: "s,n,f\nx,1,yes\n", code: "INVALID_PARAMETER_VALUE", parts: ["column f", '"yes"'] },
    { why: "an empty cell in a required column", csv: "s,n\nx,\n", code: "BAD_REQUEST", parts: ["column n", "but the column is required"] },
    { why: "a missing required column", csv: "s\nx\n", code: "INVALID_PARAMETER_VALUE", parts: ["Model is missing inputs ['n']"] },
  ])("refuses $why → 400", async ({ csv, code, parts }) => {
    await expectError(await post(csvTyped, "text/csv", csv), 400, code, parts);
  });

  it("refuses a body that is not UTF-8", async () => {
    await expectError(await post(ab, "text/csv", new Uint8Array([0x61, 0x2c, 0x62, 0x0a, 0xff, 0xfe, 0x0a])), 400, "BAD_REQUEST", [
      "The request body is not valid UTF-8",
    ]);
  });

  it("takes params from ?params= (URL-encoded JSON), which MLflow cannot", async () => {
    const res = await post(paramsEcho, "text/csv", "x\nq\n", { query: paramsQuery({ threshold: 0.9, tags: ["b", "c"] }) });
    expect(res.headers.get("x-pipeserve-ignored-params")).toBeNull();
    expect(await predictions(res)).toEqual({ threshold: 0.9, tags: ["b", "c"] });
  });

  it("uses every default without ?params= (or with ?params=null)", async () => {
    expect(await predictions(await post(paramsEcho, "text/csv", "x\nq\n"))).toEqual(DEFAULT_PARAMS);
    expect(await predictions(await post(paramsEcho, "text/csv", "x\nq\n", { query: "?params=null" }))).toEqual(DEFAULT_PARAMS);
  });

  it.each([
    { why: "not JSON", query: "?params=%7Bthreshold", code: "BAD_REQUEST", parts: ["The params query parameter is not valid JSON", "?params="] },
    { why: "a JSON list", query: paramsQuery([1, 2]), code: "INVALID_PARAMETER_VALUE", parts: ["The params query parameter must be a JSON object"] },
    {
      why: "a value of the wrong type",
      query: paramsQuery({ threshold: "high" }),
      code: "INVALID_PARAMETER_VALUE",
      parts: ["Invalid parameters found", "threshold"],
    },
    // The first was taken and the second dropped without a word.
    {
      why: "given twice",
      query: `${paramsQuery({ threshold: 0.1 })}&${paramsQuery({ threshold: 0.9 }).slice(1)}`,
      code: "BAD_REQUEST",
      parts: ["The params query parameter is given 2 times: give it once"],
    },
  ])("refuses ?params= that is $why → 400", async ({ query, code, parts }) => {
    await expectError(await post(paramsEcho, "text/csv", "x\nq\n", { query }), 400, code, parts);
  });

  it("to a model without a signature: reads numbers and booleans as CSV files are read, not as text", async () => {
    const app = quietApp(await buildModel("echo", null));
    const res = await send(app, "/invocations", { contentType: "text/csv", body: "a,b,c\n39.1,true,x\n2,,FALSE\n" });
    expect(res.status).toBe(200);
    expect(await predictions(res)).toEqual([
      { a: 39.1, b: true, c: "x" },
      { a: 2, b: null, c: false },
    ]);
  });
});

describe("Arrow, Parquet and NDJSON bodies", () => {
  const BODIES: [string, string, (t: ColumnTable) => Uint8Array | string][] = [
    ["Arrow IPC stream (encodeArrowIpc)", "application/vnd.apache.arrow.stream", (t) => encodeArrowIpc(toArrow(t), "stream")],
    ["Arrow IPC stream (encodeTable arrows)", "application/vnd.apache.arrow.stream", (t) => encodeTable(t, "arrows")],
    ["Arrow IPC file (encodeArrowIpc)", "application/vnd.apache.arrow.file", (t) => encodeArrowIpc(toArrow(t), "file")],
    ["Arrow IPC file (encodeTable arrow)", "application/vnd.apache.arrow.file", (t) => encodeTable(t, "arrow")],
    ["Parquet (arrowToParquet)", "application/vnd.apache.parquet", (t) => arrowToParquet(toArrow(t))],
    ["NDJSON (encodeTable jsonl)", "application/x-ndjson", (t) => encodeTable(t, "jsonl")],
  ];

  it.each(BODIES)("%s: a plain table", async (_, contentType, encode) => {
    expect(await predictions(await post(ab, contentType, encode(AB_TABLE)))).toEqual(AB_ROWS);
  });

  it.each(BODIES.filter(([, type]) => type !== "application/x-ndjson"))("%s: every column type, in another column order", async (_, contentType, encode) => {
    const reordered = { names: [...TYPED_TABLE.names].reverse(), columns: [...TYPED_TABLE.columns].reverse(), numRows: TYPED_TABLE.numRows };
    expect(await predictions(await post(typed, contentType, encode(reordered)))).toEqual(TYPED_ROWS);
  });

  it.each(BODIES)("%s: params from ?params=", async (_, contentType, encode) => {
    const res = await post(paramsEcho, contentType, encode(tableFromColumns({ x: ["q"] })), { query: paramsQuery({ threshold: 0.25, typo: 1 }) });
    expect(res.headers.get("x-pipeserve-ignored-params")).toBe("typo");
    expect(await predictions(res)).toEqual({ ...DEFAULT_PARAMS, threshold: 0.25 });
  });

  it.each(BODIES)("%s: the signature is enforced", async (_, contentType, encode) => {
    await expectError(await post(ab, contentType, encode(tableFromColumns({ a: [1.5], b: [1] }))), 400, "INVALID_PARAMETER_VALUE", ["column a", "1.5"]);
    await expectError(await post(ab, contentType, encode(tableFromColumns({ a: [1] }))), 400, "INVALID_PARAMETER_VALUE", ["Model is missing inputs ['b']"]);
  });

  it("an Arrow body of more than 10,000 record batches is refused, saying to write fewer; 10,000 is read", async () => {
    // NB: each batch costs ~20 µs to decode however small: 650,000 one-row batches held the event loop 10 s.
    const { RecordBatchStreamWriter, tableFromArrays } = arrowLib();
    const oneRow = tableFromArrays({ a: BigInt64Array.from([1n]), b: Float64Array.from([0.5]) }).batches[0];
    const stream = (batches: number): Uint8Array => {
      const writer = new RecordBatchStreamWriter();
      for (let i = 0; i < batches; i++) writer.write(oneRow);
      return writer.finish().toUint8Array(true);
    };
    const fine = await post(ab, "application/vnd.apache.arrow.stream", stream(10_000));
    expect(fine.status, await fine.clone().text()).toBe(200);
    expect(((await fine.json()) as { predictions: unknown[] }).predictions).toHaveLength(10_000);
    await expectError(await post(ab, "application/vnd.apache.arrow.stream", stream(10_001)), 400, "BAD_REQUEST", [
      "The Arrow data holds more than 10000 record and dictionary batches; write it in fewer, larger ones",
    ]);
  });

  it("an Arrow body of more than 10,000 columns is a 413 naming the count, refused from its schema", async () => {
    const { tableFromArrays, tableToIPC } = arrowLib();
    const arrays: Record<string, Float64Array> = { a: Float64Array.of(1), b: Float64Array.of(0.5) };
    for (let i = 0; i < 10_000; i++) arrays[`extra${i}`] = Float64Array.of(i);
    await expectError(await post(ab, "application/vnd.apache.arrow.stream", tableToIPC(tableFromArrays(arrays), "stream")), 413, "REQUEST_TOO_LARGE", [
      "The Arrow data has 10,002 columns (nested fields counted), more than the 10,000 a request may hold",
    ]);
  });

  it.each([
    { why: "garbage as an Arrow stream", type: "application/vnd.apache.arrow.stream", body: new Uint8Array([1, 2, 3, 4, 5]), parts: ["Arrow IPC data"] },
    { why: "garbage as an Arrow file", type: "application/vnd.apache.arrow.file", body: new Uint8Array([1, 2, 3, 4, 5]), parts: ["Arrow IPC data"] },
    { why: "JSON labelled as Arrow", type: "application/vnd.apache.arrow.stream", body: JSON.stringify(abBody()), parts: ["Arrow IPC data"] },
    { why: "Parquet labelled as Arrow", type: "application/vnd.apache.arrow.file", body: arrowToParquet(toArrow(AB_TABLE)), parts: ["Arrow IPC data"] },
    { why: "garbage as Parquet", type: "application/vnd.apache.parquet", body: new Uint8Array([1, 2, 3, 4, 5]), parts: ["Could not read the Parquet data"] },
    {
      why: "a Parquet footer parquet-wasm panics on (it ended the server)",
      type: "application/vnd.apache.parquet",
      body: new Uint8Array(readFileSync(join(import.meta.dirname, "..", "fixtures", "requests", "parquet-wasm-panic.parquet"))),
      parts: ["Could not read the Parquet data: the footer ends inside a value."],
    },
    {
      why: "Arrow labelled as Parquet",
      type: "application/vnd.apache.parquet",
      body: encodeArrowIpc(toArrow(AB_TABLE), "file"),
      parts: ["Could not read the Parquet data"],
    },
    {
      // NB: the IPC message gives the length (3) and the buffer's size (1 value) apart; read as is, rows 2 and 3 of "a" were missing values.
      why: "an Arrow column whose values buffer ends before its length",
      type: "application/vnd.apache.arrow.stream",
      body: shortColumnStream(),
      parts: ['Could not read the values of column "a" of the Arrow data, which is damaged: its buffers hold 1 of its 3 values'],
    },
    { why: "a broken NDJSON line", type: "application/x-ndjson", body: '{"a": 1, "b": 0.5}\n{nope\n', parts: ["JSON Lines line 2 is not valid JSON"] },
    { why: "an NDJSON line that is not an object", type: "application/x-ndjson", body: "[1, 0.5]\n", parts: ["Record 0 is not an object of column values"] },
    { why: "an empty body", type: "application/vnd.apache.parquet", body: "", parts: ["The request body is empty"] },
  ])("refuses $why → 400 BAD_REQUEST", async ({ type, body, parts }) => {
    await expectError(await post(ab, type, body), 400, "BAD_REQUEST", parts);
  });

  it.each([
    ["Arrow", "application/vnd.apache.arrow.stream", (t: ColumnTable) => encodeArrowIpc(toArrow(t), "stream")],
    ["Parquet", "application/vnd.apache.parquet", (t: ColumnTable) => arrowToParquet(toArrow(t))],
  ] as const)("an %s body with text in a double column: 400 saying how to send the column in Arrow, not in JSON", async (_, type, encode) => {
    const res = await post(ab, type, encode(tableFromColumns({ a: [1, 2], b: ["0.5", "1.5"] })));
    const body = await expectError(res, 400, "BAD_REQUEST", [
      'Column b is double: row 0 holds "0.5" (a string); expected a number.',
      "Send the column as Arrow numbers (float64, float32 or integers).",
    ]);
    expect(body.message).not.toContain("JSON numbers");
  });

  // Found by the fuzz suite: parquet-wasm panics on this damaged footer, and read asynchronously the
  // panic was an uncaught exception — `pipeserve serve` went down — and the request never got an answer.
  it("refuses a Parquet body whose footer makes the decoder panic → 400, the process unharmed", async () => {
    const body = Buffer.from(
      "UEFSMRUEFYABFYABTBUQFQASAAArnLOBdwAAANjZTAaL////aqN4/KAAAAAZM5HPuv///zMQk32MAAAAr0OPAUj///83ZAViygAAAEbC1reJ////FQAVGBUYLBUWFRAVBhUGAAADAAAABc8DAwOIxv" +
        "oZEQIZGAivQ48BSP///xkYCDdkBWLKAAAAFQIZFgYpJgYQABkcFqgBFToWAAAAFQIZLEgMYXJyb3dfc2NoZW1hFQIAFQQlAhgBMQAWFhkcGRwmABwVBBk1AAYQGRgBMRUAFhYW2gEW2gEmqAEmCBwY" +
        "CDdkBWLKAAAAGAivQ48BSP///xYGKAg3ZAViygAAABgIr0OPAUj///8REQAZLBUEFQAVAgAVABUQFQIAPDkmBhAAABaoAhUWFuIBFUYAFtoBFhYmCBbaARQAABkcGAxBUlJPVzpzY2hlbWEYnAEvLy" +
        "8vLzJ3QUFBQVFBQUFBQUFBS0FBd0FDZ0FKQUFRQUNnQUFBQkFBQUFBQUFRUUFDQUFJQUFBQUJBQUlBQUFBQkFBQUFBRUFBQUFVQUFBQUVBQVVBQkFBRGdBUEFBUUFBQUFJQUJBQUFBQVlBQUFBREFB" +
        "QUFBQUFBcklRQUFBQUFBQUFBQVFBQkFBRUFBQUFBUUFBQURFQUFBQT0AGBlwYXJxdWV0LXJzIHZlcnNpb24gNTYuMi4wGRwcAAAAbgEAAFBBUjE=",
      "base64",
    );
    const uncaught: unknown[] = [];
    const onUncaught = (error: unknown): void => {
      uncaught.push(error);
    };
    process.on("uncaughtException", onUncaught);
    try {
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error("no answer within 10 s")), 10_000);
      });
      const res = await Promise.race([post(ab, "application/vnd.apache.parquet", new Uint8Array(body)), late]).finally(() => clearTimeout(timer));
      await expectError(res, 400, "BAD_REQUEST", ["Could not read the Parquet data"]);
      expect(uncaught).toEqual([]);
    } finally {
      process.off("uncaughtException", onUncaught);
    }
    expect(await predictions(await post(ab, "application/vnd.apache.parquet", arrowToParquet(toArrow(AB_TABLE))))).toEqual(AB_ROWS);
  });

  // Found by the fuzz suite: Arrow and Parquet allow two columns of one name; the DataFrame of a
  // model without a signature refused them with a plain error, so the client got a bare 500.
  it.each([
    { what: "an Arrow stream", type: "application/vnd.apache.arrow.stream", encode: (t: Table) => encodeArrowIpc(t, "stream"), where: "The Arrow table" },
    { what: "an Arrow file", type: "application/vnd.apache.arrow.file", encode: (t: Table) => encodeArrowIpc(t, "file"), where: "The Arrow table" },
    { what: "Parquet", type: "application/vnd.apache.parquet", encode: arrowToParquet, where: "The Parquet file" },
  ])("refuses two columns of one name in $what → 400 naming it, with a signature or without", async ({ type, encode, where }) => {
    // NB: built with pipeserve's own apache-arrow (its CommonJS build), as model code gets it.
    const { Field, RecordBatch, Schema, Struct, Table, makeData } = arrowLib();
    const a = toArrow(tableFromColumns({ a: [1, 2] })).getChild("a") as Vector;
    const b = toArrow(tableFromColumns({ b: [0.5, 1.5] })).getChild("b") as Vector;
    const fields = [new Field("a", a.type, true), new Field("b", b.type, true), new Field("a", a.type, true)];
    const data = makeData({ type: new Struct(fields), length: 2, nullCount: 0, children: [a.data[0], b.data[0], a.data[0]] as Data[] });
    const body = encode(new Table(new RecordBatch(new Schema(fields), data)));
    for (const app of [ab, quietApp(await buildModel("echo", null))]) {
      await expectError(await post(app, type, body), 400, "BAD_REQUEST", [`${where} has two columns named "a"`]);
    }
  });
});

describe("response types (Accept)", () => {
  it.each([
    ["text/csv", "text/csv"],
    ["text/csv; q=0.9", "text/csv"],
    ["text/*", "text/csv"],
    ["application/vnd.apache.arrow.stream", "application/vnd.apache.arrow.stream"],
    ["text/csv;q=0.5, application/vnd.apache.arrow.stream", "application/vnd.apache.arrow.stream"],
    ["application/vnd.apache.arrow.stream;q=0, text/csv", "text/csv"],
    ["application/json", "application/json"],
    ["*/*", "application/json"],
    ["application/*", "application/json"],
    ["application/xml", "application/json"],
  ])("Accept: %s → %s", async (accept, expected) => {
    const res = await postJson(ab, abBody(), { headers: { Accept: accept } });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")?.split(";")[0]).toBe(expected);
  });

  it("Accept: text/csv answers CSV that decodes back to the predictions", async () => {
    const res = await post(typed, "application/vnd.apache.arrow.stream", encodeTable(TYPED_TABLE, "arrows"), { headers: { Accept: "text/csv" } });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/csv; charset=utf-8");
    const text = await res.text();
    expect(text.split("\n")[0]).toBe("flag,n,x,s,bin,t,opt");
    const rows = tableToRecords(parseCsv(text, { raw: true }));
    // CSV cells are text; dates are written as ISO instants (JSON follows MLflow's naive isoformat).
    const asCsv = (k: string, v: unknown, i: number): unknown =>
      v === null ? null : k === "t" ? (TYPED_TABLE.columns[5]![i] as Date).toISOString() : String(v);
    expect(rows).toEqual(TYPED_ROWS.map((r, i) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, asCsv(k, v, i)]))));
  });

  it("Accept: application/vnd.apache.arrow.stream answers Arrow IPC that decodes back to the predictions", async () => {
    const res = await post(typed, "application/vnd.apache.parquet", arrowToParquet(toArrow(TYPED_TABLE)), {
      headers: { Accept: "application/vnd.apache.arrow.stream" },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/vnd.apache.arrow.stream");
    const table = fromArrow(decodeArrowIpc(new Uint8Array(await res.arrayBuffer())));
    expect(table.names).toEqual(["flag", "n", "x", "s", "bin", "t", "opt"]);
    const rows = tableToRecords(table);
    expect(rows.map((r) => ({ ...r, t: formatIsoDateTimePython(r["t"] as Date), bin: Buffer.from(r["bin"] as Uint8Array).toString("base64") }))).toEqual(
      TYPED_ROWS,
    );
  });

  it("a list output (row_sum_ndarray) is one column named 0 in CSV and Arrow", async () => {
    const sums = quietApp(await buildModel("row_sum_ndarray", SIGNATURES.ab));
    const csv = await postJson(sums, abBody(), { headers: { Accept: "text/csv" } });
    expect(await csv.text()).toBe("0\n1.5\n3.5\n");
    const arrow = await postJson(sums, abBody(), { headers: { Accept: "application/vnd.apache.arrow.stream" } });
    expect(fromArrow(decodeArrowIpc(new Uint8Array(await arrow.arrayBuffer())))).toEqual({ names: ["0"], columns: [[1.5, 3.5]], numRows: 2 });
  });

  it.each(["text/csv", "application/vnd.apache.arrow.stream"])("Accept: %s for an output that is no table → 406 NOT_ACCEPTABLE", async (accept) => {
    const res = await post(paramsEcho, "text/csv", "x\nq\n", { headers: { Accept: accept } });
    await expectError(res, 406, "NOT_ACCEPTABLE", ["The model's output is not a table", accept, "Ask for application/json"]);
  });

  it.each([
    ["text/csv, application/json;q=0.5"],
    ["application/vnd.apache.arrow.stream, */*;q=0.1"],
    ["text/csv, application/vnd.apache.arrow.stream, application/*;q=0.2"],
  ])("Accept: %s for an output that is no table → JSON, the next type the client takes", async (accept) => {
    const res = await post(paramsEcho, "text/csv", "x\nq\n", { headers: { Accept: accept } });
    expect(res.headers.get("content-type")).toBe("application/json");
    const asJson = await post(paramsEcho, "text/csv", "x\nq\n", { headers: { Accept: "application/json" } });
    expect(await predictions(res)).toEqual(await predictions(asJson));
  });
});

describe("X-Pipeserve-Ignored-Params", () => {
  it.each([
    { why: "only known params", params: { threshold: 0.9 }, header: null },
    { why: "no params", params: undefined, header: null },
    { why: "one typo", params: { treshold: 0.9 }, header: "treshold" },
    { why: "several unknown keys, in order", params: { zeta: 1, threshold: 0.9, alpha: 2 }, header: "zeta,alpha" },
  ])("$why → $header", async ({ params, header }) => {
    const res = await postJson(paramsEcho, { inputs: ["q"], ...(params ? { params } : {}) });
    expect(res.headers.get("x-pipeserve-ignored-params")).toBe(header);
    expect(res.status).toBe(200);
  });

  it("names every param sent to a model that declares none (they are all ignored)", async () => {
    const res = await postJson(ab, abBody(undefined, { str_param: "s", int_array: [1, 2] }));
    expect(res.headers.get("x-pipeserve-ignored-params")).toBe("str_param,int_array");
    expect(await predictions(res)).toEqual(AB_ROWS);
  });

  it.each([
    ["日本", "%E6%97%A5%E6%9C%AC"],
    ["a\r\nInjected: yes", "a%0D%0AInjected%3A%20yes"],
    ["plain", "plain"],
    // NB: a lone surrogate is valid in a JSON key but not in a URI: U+FFFD stands for it (it was a 500).
    ["\ud800x", "%EF%BF%BDx"],
  ])("carries %j percent-encoded, and the request still succeeds", async (name, encoded) => {
    const res = await postJson(ab, { dataframe_split: { columns: ["a", "b"], data: [[1, 0.5]] }, params: { [name]: 1 } });
    expect(res.status).toBe(200);
    expect(res.headers.get("X-Pipeserve-Ignored-Params")).toBe(encoded);
    expect(res.headers.has("Injected")).toBe(false);
  });
});

describe("the Open Inference Protocol's infer takes JSON, not the table formats of /invocations", () => {
  it.each([
    "application/vnd.apache.arrow.stream",
    "application/vnd.apache.arrow.file",
    "application/vnd.apache.parquet",
    "text/csv; charset=utf-8",
    "application/x-ndjson",
  ])("Content-Type %s: 415 in the protocol's {error} shape, naming the type and where tables go", async (contentType) => {
    const body = contentType.startsWith("application/vnd.apache.arrow") ? encodeArrowIpc(toArrow(AB_TABLE), "stream") : "a,b\n1,0.5\n";
    const res = await send(ab, "/v2/models/model/infer", { method: "POST", contentType, body });
    expect(res.status).toBe(415);
    const type = contentType.split(";")[0];
    expect(await res.json()).toEqual({
      error: `An infer request is JSON (the Open Inference Protocol's tensors; application/json, or application/octet-stream with binary tensor data), not ${type}. Send tables as ${type} to /invocations.`,
    });
  });

  it("JSON tensors with application/json, another type or none are read as JSON, as KServe's servers read them", async () => {
    const tensors = JSON.stringify({
      inputs: [
        { name: "a", shape: [2], datatype: "INT64", data: [1, 2] },
        { name: "b", shape: [2], datatype: "FP64", data: [0.5, 1.5] },
      ],
    });
    for (const contentType of ["application/json", "text/plain", null]) {
      const res = await send(ab, "/v2/models/model/infer", { method: "POST", contentType, body: tensors });
      expect(res.status, `${contentType}: ${await res.clone().text()}`).toBe(200);
    }
  });
});

describe("column names that are awkward JavaScript keys", () => {
  const SIGNATURE = {
    inputs:
      '[{"type": "string", "name": "name", "required": true}, {"type": "double", "name": "2020", "required": true}, {"type": "double", "name": "2019", "required": true}, {"type": "long", "name": "constructor", "required": true}]',
    outputs: null,
    params: null,
  };
  const BODY = { dataframe_split: { columns: ["name", "2020", "2019", "constructor"], data: [["x", 1.5, 2.5, 7]] } };

  it("whole-number names keep the signature's order through a DataFrame pipeline, in JSON and in CSV; `constructor` is just a column", async () => {
    const app = quietApp(await buildModel("echo", SIGNATURE));
    // NB: compared as text: JSON.parse would put "2019" and "2020" first itself.
    const json = await postJson(app, BODY);
    expect(json.status).toBe(200);
    expect(await json.text()).toBe('{"predictions":[{"name":"x","2020":1.5,"2019":2.5,"constructor":7}]}');
    const csv = await postJson(app, BODY, { headers: { Accept: "text/csv" } });
    expect(await csv.text()).toBe("name,2020,2019,constructor\nx,1.5,2.5,7\n");
    const infer = await postJson(
      app,
      {
        inputs: ["name", "2020", "2019", "constructor"].map((name, i) => ({
          name,
          shape: [1],
          datatype: i === 0 ? "BYTES" : i === 3 ? "INT64" : "FP64",
          data: [["x", 1.5, 2.5, 7][i]],
        })),
      },
      { path: "/v2/models/model/infer" },
    );
    expect(((await infer.json()) as { outputs: { name: string }[] }).outputs.map((o) => o.name)).toEqual(["name", "2020", "2019", "constructor"]);
  });

  // Found by the fuzz suite: danfojs makes each column a property of its frame, so a column named
  // `columns` replaced the frame's own list of columns and every use recursed without end: a 500.
  it.each(["columns", "getColumnData", "$data"])(
    "a column named %j, which a DataFrame cannot hold, for a DataFrame model without a signature: 400 naming it",
    async (name) => {
      const app = quietApp(await buildModel("echo", null));
      const parts = [`The column "${name}" cannot be a DataFrame column`, "Rename the column"];
      await expectError(await postJson(app, { dataframe_records: [{ [name]: 1, b: 2 }] }), 400, "BAD_REQUEST", parts);
      await expectError(await post(app, "application/x-ndjson", `${JSON.stringify({ [name]: 1 })}\n`), 400, "BAD_REQUEST", parts);
    },
  );

  it("rows without any column, for a DataFrame model without a signature: 400 saying so", async () => {
    const app = quietApp(await buildModel("echo", null));
    await expectError(await postJson(app, { dataframe_records: [{}, {}] }), 400, "BAD_REQUEST", ["2 rows but no columns"]);
  });
});
