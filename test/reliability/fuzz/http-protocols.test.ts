/**
 * Fuzzing the Open Inference Protocol's infer route and the HTTP around every route (issue 14):
 * infer bodies with wrong datatypes, shapes that do not match their data, bad parameters and
 * outputs; then any method on any path with Content-Type parameters, Accept lists, request ids
 * and query strings of every kind. Each answer is a 200 or a 4xx with a JSON error (`{error}`
 * under /v2), and the server answers /ping afterwards.
 */
import fc from "fast-check";
import { describe, it } from "vitest";
import { TARGET_NAMES, attack, useFuzzServers, type TargetName } from "./http-harness.js";
import { anyText, bytesOf, cell, columnName, invocationsBody, jsonText, mutate, mutations, params, raw, scalar } from "./json-arbitraries.js";
import { fuzzParameters } from "./settings.js";
import { csvText } from "./table-arbitraries.js";

useFuzzServers();

const target = fc.constantFrom<TargetName>(...TARGET_NAMES);

const DATATYPES = ["BOOL", "INT8", "INT16", "INT32", "INT64", "UINT8", "UINT16", "UINT32", "UINT64", "FP16", "FP32", "FP64", "BYTES"] as const;

/** Anything where a tensor field belongs. */
const wrong: fc.Arbitrary<unknown> = fc.oneof(
  fc.constant(null),
  fc.integer(),
  anyText,
  fc.boolean(),
  fc.dictionary(fc.string({ maxLength: 4 }), cell, { maxKeys: 2 }),
  fc.array(cell, { maxLength: 3 }),
);

const datatype: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom(...DATATYPES) },
  { weight: 1, arbitrary: fc.constantFrom("FP128", "fp64", "", "STRING", "BOOL ", "BF16") },
  { weight: 1, arbitrary: wrong },
);

const shape: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 5, arbitrary: fc.array(fc.integer({ min: -2, max: 8 }), { maxLength: 3 }) },
  { weight: 2, arbitrary: fc.constantFrom([1e9, 1e9], [2 ** 53], [1.5], [-1], [0], [0, 5], [1, 1, 1, 1, 1, 1], [1e300], ["2"]) },
  { weight: 1, arbitrary: wrong },
);

/** Values a tensor of any datatype may hold, right or wrong for it. */
const element: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: fc.integer({ min: -300, max: 70_000 }) },
  { weight: 2, arbitrary: fc.double() },
  { weight: 4, arbitrary: scalar },
);

const data: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 5, arbitrary: fc.array(element, { maxLength: 8 }) },
  { weight: 2, arbitrary: fc.array(fc.array(element, { maxLength: 3 }), { maxLength: 4 }) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 5_000 }).map((depth) => raw(`${"[".repeat(depth)}1${"]".repeat(depth)}`)) },
  { weight: 1, arbitrary: element },
  { weight: 1, arbitrary: wrong },
);

/** A tensor whose shape, data and datatype agree, for a column of the signature: these reach enforcement and the model. */
const coherentTensor: fc.Arbitrary<unknown> = fc.tuple(columnName, fc.integer({ min: 0, max: 6 }), fc.boolean()).chain(([name, rows, column]) =>
  fc.record({
    name: fc.constant(name),
    datatype: fc.constantFrom("INT64", "FP64", "FP32", "INT32", "UINT8", "BYTES", "BOOL"),
    shape: fc.constant(column ? [rows, 1] : [rows]),
    data: fc.array(element, { minLength: rows, maxLength: rows }),
  }),
);

const tensor: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: coherentTensor },
  {
    weight: 3,
    arbitrary: fc.record(
      { name: fc.oneof({ weight: 5, arbitrary: columnName }, { weight: 1, arbitrary: wrong }), shape, datatype, data, parameters: fc.oneof(params, wrong) },
      { requiredKeys: ["name", "shape", "datatype", "data"] },
    ),
  },
  { weight: 1, arbitrary: wrong },
);

/** An infer request body: mostly tensors, with request parameters (the runtime params), an id and outputs, right or wrong. */
const inferBody: fc.Arbitrary<unknown> = fc.oneof(
  {
    weight: 9,
    arbitrary: fc.record(
      {
        id: fc.oneof({ weight: 3, arbitrary: fc.string({ maxLength: 8 }) }, { weight: 1, arbitrary: wrong }),
        parameters: params,
        inputs: fc.oneof({ weight: 8, arbitrary: fc.array(tensor, { maxLength: 4 }) }, { weight: 1, arbitrary: wrong }),
        outputs: fc.oneof(fc.array(fc.record({ name: fc.oneof(columnName, fc.constantFrom("0", "output-0", "predictions")) }), { maxLength: 3 }), wrong),
      },
      { requiredKeys: ["inputs"] },
    ),
  },
  { weight: 1, arbitrary: wrong },
);

const inferPath = fc.constantFrom(
  "/v2/models/model/infer",
  "/v2/models/model/infer",
  "/v2/models/model/infer",
  "/v2/models/model/versions/1/infer",
  "/v2/models/other/infer",
  "/v2/models/%E0%A4%A/infer",
  "/v2/models/model/versions/%ZZ/infer",
  "/v2/models//infer",
);

describe("Open Inference Protocol infer", () => {
  it("infer bodies with wrong datatypes, shapes and parameters: 200 or 4xx, never 5xx", async () => {
    const body = fc.tuple(inferBody, fc.option(mutations, { freq: 8, nil: undefined })).map(([value, steps]) => {
      const bytes = bytesOf(jsonText(value));
      return steps ? mutate(bytes, steps) : bytes;
    });
    await fc.assert(
      fc.asyncProperty(target, inferPath, body, async (name, path, b) => {
        await attack({ target: name, path, headers: { "Content-Type": "application/json" }, body: b });
      }),
      fuzzParameters("http v2 infer"),
    );
  });
});

/** Header values as Node sends them: tab, printable ASCII and Latin-1. */
const headerText = fc.string({ unit: "binary", maxLength: 24 }).map((s) => s.replace(/[^\t\x20-\x7e\xa0-\xff]/g, ""));

const MEDIA_TYPES = [
  "application/json",
  "text/csv",
  "application/vnd.apache.arrow.stream",
  "application/vnd.apache.arrow.file",
  "application/vnd.apache.parquet",
  "application/x-ndjson",
  "text/plain",
  "application/x-www-form-urlencoded",
  "multipart/form-data",
  "*/*",
];

const contentType: fc.Arbitrary<string | undefined> = fc.oneof(
  { weight: 1, arbitrary: fc.constant(undefined) },
  { weight: 3, arbitrary: fc.constantFrom(...MEDIA_TYPES) },
  {
    weight: 4,
    arbitrary: fc
      .tuple(
        fc.constantFrom(...MEDIA_TYPES).map((t) => t.toUpperCase()),
        fc.array(
          fc.oneof(fc.constantFrom("charset=utf-8", 'charset="UTF-8"', "charset=latin1", "format=pandas-split", "charset", "=", "", " ; "), headerText),
          { maxLength: 3 },
        ),
      )
      .map(([type, parameters]) => [type, ...parameters].join(";")),
  },
  { weight: 1, arbitrary: headerText },
);

const acceptRange = fc.oneof(
  fc.constantFrom("application/json", "text/csv", "application/vnd.apache.arrow.stream", "*/*", "text/*", "application/*", "image/png", "", "*"),
  headerText,
);
const accept: fc.Arbitrary<string | undefined> = fc.oneof(
  { weight: 1, arbitrary: fc.constant(undefined) },
  {
    weight: 3,
    arbitrary: fc
      .array(fc.tuple(acceptRange, fc.option(fc.constantFrom("q=0", "q=0.5", "q=1", "q=abc", "q=-1", "q=1e999", "q=", "level=1"), { nil: undefined })), {
        maxLength: 4,
      })
      .map((ranges) => ranges.map(([range, q]) => (q === undefined ? range : `${range};${q}`)).join(", ")),
  },
);

const PATHS = [
  "/invocations",
  "/invocations",
  "/invocations",
  "/ping",
  "/health",
  "/version",
  "/metadata",
  "/metrics",
  "/v2",
  "/v2/health/live",
  "/v2/health/ready",
  "/v2/models/model",
  "/v2/models/model/ready",
  "/v2/models/model/versions/1",
  "/v2/models/model/infer",
  "/invocations/",
  "//invocations",
  "/INVOCATIONS",
  "/v2/models/%zz",
  "/v2/models/%E0%A4%A/ready",
  "/%",
  "/invocations?params=%",
  "/invocations?params=%7B%22threshold%22%3A%22x%22%7D",
  "/invocations?%",
  "/v2/models/model/versions/../infer",
  "/nope",
];

const request = fc.record({
  method: fc.constantFrom("POST", "POST", "POST", "GET", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"),
  path: fc.oneof({ weight: 6, arbitrary: fc.constantFrom(...PATHS) }, { weight: 1, arbitrary: fc.webPath() }),
  contentType,
  accept,
  requestId: fc.option(headerText, { freq: 3, nil: undefined }),
  body: fc.oneof(
    fc.constant(undefined),
    invocationsBody.map((b) => bytesOf(jsonText(b))),
    csvText.map(bytesOf),
    fc.uint8Array({ maxLength: 64 }),
    fc.constant(bytesOf('{"dataframe_split": {"columns": ["a", "b"], "data": [[1, 0.5]]}}')),
  ),
});

describe("any method, path and headers", () => {
  it("Content-Type parameters, Accept lists, request ids, query strings: 200 or 4xx, never 5xx", async () => {
    await fc.assert(
      fc.asyncProperty(target, request, async (name, r) => {
        const headers: Record<string, string> = {};
        if (r.contentType !== undefined) headers["Content-Type"] = r.contentType;
        if (r.accept !== undefined) headers["Accept"] = r.accept;
        if (r.requestId !== undefined) headers["X-Request-Id"] = r.requestId;
        await attack({ target: name, method: r.method, path: r.path, headers, ...(r.body !== undefined ? { body: r.body } : {}) });
      }),
      fuzzParameters("http headers"),
    );
  });
});
