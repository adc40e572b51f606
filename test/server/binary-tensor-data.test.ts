/**
 * The Open Inference Protocol's binary tensor data extension on the REST infer route (what
 * tritonclient's HTTP client sends by default): the JSON request, then the inputs' raw bytes, with
 * Inference-Header-Content-Length saying where the JSON ends; outputs asked for as binary data come
 * back the same way. Over real HTTP on an ephemeral port; each request's answer is compared with
 * the same tensors sent as JSON.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { MlflowSignature, RunningServer } from "../../src/index.js";
import { serveQuietly } from "./fixtures/http.js";
import { buildModel } from "./fixtures/models.js";

const SIGNATURE: MlflowSignature = {
  inputs: JSON.stringify([
    { type: "long", name: "a", required: true },
    { type: "double", name: "b", required: true },
    { type: "string", name: "label", required: true },
    { type: "binary", name: "blob", required: true },
  ]),
  outputs: null,
  params: '[{"name": "threshold", "type": "double", "default": 0.5, "shape": null}]',
};

let server: RunningServer;
let url: string;

beforeAll(async () => {
  server = await serveQuietly(await buildModel("echo", SIGNATURE));
  url = `http://127.0.0.1:${server.port}/v2/models/model/infer`;
});
afterAll(async () => {
  await server?.stop();
});

const A = [1, -2];
const B = [0.5, 1.5];
const LABELS = ["é", "x"];
/** Bytes that are no UTF-8 (an image's), and bytes that happen to be base64 text. */
const BLOBS = [Buffer.from([0xff, 0x00, 0x01]), Buffer.from("abcd")];

const raw = {
  a: Buffer.from(BigInt64Array.from(A.map(BigInt)).buffer),
  b: Buffer.from(Float64Array.from(B).buffer),
  label: lengthPrefixed(LABELS.map((l) => Buffer.from(l))),
  blob: lengthPrefixed(BLOBS),
};

/** BYTES elements laid out as the extension says: each after its 4-byte little-endian length. */
function lengthPrefixed(elements: readonly Buffer[]): Buffer {
  return Buffer.concat(
    elements.flatMap((e) => {
      const length = Buffer.alloc(4);
      length.writeUInt32LE(e.length);
      return [length, e];
    }),
  );
}

const INPUTS = [
  { name: "a", datatype: "INT64", shape: [2] },
  { name: "b", datatype: "FP64", shape: [2] },
  { name: "label", datatype: "BYTES", shape: [2] },
  { name: "blob", datatype: "BYTES", shape: [2] },
] as const;

/** Every input as binary data, as tritonclient sends them; `extra` joins the JSON. */
function binaryBody(extra: Record<string, unknown> = {}, parts: Buffer[] = [raw.a, raw.b, raw.label, raw.blob]): { json: string; body: Buffer } {
  const inputs = INPUTS.map((input, i) => ({ ...input, parameters: { binary_data_size: parts[i]?.length } }));
  const json = JSON.stringify({ inputs, ...extra });
  return { json, body: Buffer.concat([Buffer.from(json), ...parts]) };
}

async function post(body: Buffer | string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Headers; bytes: Buffer }> {
  const res = await fetch(url, { method: "POST", headers: { "Content-Type": "application/octet-stream", ...headers }, body });
  return { status: res.status, headers: res.headers, bytes: Buffer.from(await res.arrayBuffer()) };
}

/** The same tensors as JSON data (binary bytes base64-encoded, as JSON carries them). */
const JSON_REQUEST = {
  inputs: [
    { ...INPUTS[0], data: A },
    { ...INPUTS[1], data: B },
    { ...INPUTS[2], data: LABELS },
    { ...INPUTS[3], data: BLOBS.map((b) => b.toString("base64")) },
  ],
};

function withoutId(body: Buffer): unknown {
  const { id: _, ...rest } = JSON.parse(body.toString()) as Record<string, unknown>;
  return rest;
}

describe("binary tensor data in", () => {
  it("every input as binary data: the same answer as the same tensors sent as JSON", async () => {
    const { json, body } = binaryBody();
    const res = await post(body, { "Inference-Header-Content-Length": String(Buffer.byteLength(json)) });
    expect(res.status, res.bytes.toString()).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    const asJson = await post(JSON.stringify(JSON_REQUEST), { "Content-Type": "application/json" });
    expect(asJson.status).toBe(200);
    expect(withoutId(res.bytes)).toEqual(withoutId(asJson.bytes));
    expect((withoutId(res.bytes) as { outputs: { name: string; data: unknown }[] }).outputs.map((o) => [o.name, o.data])).toEqual([
      ["a", A],
      ["b", B],
      ["label", LABELS],
      ["blob", BLOBS.map((b) => b.toString("base64"))],
    ]);
  });

  it("some inputs binary, some JSON; binary_data_output is the extension's, not a runtime param", async () => {
    const inputs = [
      { ...INPUTS[0], data: A },
      { ...INPUTS[1], parameters: { binary_data_size: raw.b.length } },
      { ...INPUTS[2], data: LABELS },
      { ...INPUTS[3], parameters: { binary_data_size: raw.blob.length } },
    ];
    const json = JSON.stringify({ inputs, parameters: { binary_data_output: false, threshold: 0.7 } });
    const res = await post(Buffer.concat([Buffer.from(json), raw.b, raw.blob]), { "Inference-Header-Content-Length": String(Buffer.byteLength(json)) });
    expect(res.status, res.bytes.toString()).toBe(200);
    expect(res.headers.get("x-pipeserve-ignored-params")).toBeNull();
    expect(withoutId(res.bytes)).toEqual(withoutId((await post(JSON.stringify(JSON_REQUEST), { "Content-Type": "application/json" })).bytes));
  });

  it.each([
    ["a header that is no number", (j: string) => ({ header: "12abc", body: Buffer.from(j) }), "Inference-Header-Content-Length must be the number of bytes"],
    ["a header longer than the body", (j: string) => ({ header: String(j.length + 999), body: Buffer.from(j) }), "but the body has"],
    ["binary_data_size without the header", (j: string) => ({ header: undefined, body: Buffer.from(j) }), "has no Inference-Header-Content-Length header"],
    [
      "a size past the end",
      (j: string) => ({ header: String(j.length), body: Buffer.from(j) }),
      'Input "a" says its binary data takes 16 bytes, but only 0 bytes are left',
    ],
    [
      "bytes left over",
      (j: string) => ({ header: String(j.length), body: Buffer.concat([Buffer.from(j), raw.a, raw.b, raw.label, raw.blob, Buffer.from([1, 2, 3])]) }),
      "3 bytes follow the JSON and the inputs' binary data",
    ],
  ] as const)("%s: 400 saying so", async (_, make, message) => {
    const { json } = binaryBody();
    const { header, body } = make(json);
    const res = await post(body, header === undefined ? {} : { "Inference-Header-Content-Length": header });
    expect(res.status).toBe(400);
    expect((JSON.parse(res.bytes.toString()) as { error: string }).error).toContain(message);
  });

  it.each([
    [
      "data and binary_data_size both",
      [{ ...INPUTS[0], data: A, parameters: { binary_data_size: 16 } }],
      [raw.a],
      'Input "a" has both "data" and binary_data_size',
    ],
    [
      "a size that is no whole number",
      [{ ...INPUTS[0], parameters: { binary_data_size: -1 } }],
      [],
      "binary_data_size must be a whole number of bytes, got -1",
    ],
    ["an input with neither", [{ ...INPUTS[0] }], [], 'Input "a" has no "data"'],
    // The labels' 11 bytes cut at 10: the second element's length says 1 byte, and none is left.
    [
      "a BYTES element cut short",
      [{ ...INPUTS[2], parameters: { binary_data_size: 10 } }],
      [raw.label.subarray(0, 10)],
      "element 1 says 1 bytes, but only 0 are left",
    ],
  ])("%s: 400 naming the input", async (_, inputs, parts, message) => {
    const json = JSON.stringify({ inputs });
    const res = await post(Buffer.concat([Buffer.from(json), ...parts]), { "Inference-Header-Content-Length": String(Buffer.byteLength(json)) });
    expect(res.status).toBe(400);
    expect((JSON.parse(res.bytes.toString()) as { error: string }).error).toContain(message);
  });
});

/** A binary response split into its JSON and the bytes after it, by its Inference-Header-Content-Length. */
function splitResponse(res: { headers: Headers; bytes: Buffer }): { json: any; binary: Buffer } {
  const length = Number(res.headers.get("inference-header-content-length"));
  expect(Number.isInteger(length)).toBe(true);
  return { json: JSON.parse(res.bytes.subarray(0, length).toString()), binary: res.bytes.subarray(length) };
}

describe("binary tensor data out", () => {
  it("an output asked for with binary_data comes back as bytes after the JSON; the others as JSON data", async () => {
    const res = await post(JSON.stringify({ ...JSON_REQUEST, outputs: [{ name: "b", parameters: { binary_data: true } }, { name: "label" }] }), {
      "Content-Type": "application/json",
    });
    expect(res.status, res.bytes.toString()).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/octet-stream");
    const { json, binary } = splitResponse(res);
    expect(json.outputs).toEqual([
      { name: "b", shape: [2], datatype: "FP64", parameters: { binary_data_size: 16 } },
      { name: "label", shape: [2], datatype: "BYTES", data: LABELS },
    ]);
    expect(Array.from(new Float64Array(new Uint8Array(binary).buffer))).toEqual(B);
  });

  it("binary_data_output asks for every output as bytes, in the outputs' order; an output's own binary_data: false overrides it", async () => {
    const { json: head, body } = binaryBody({
      parameters: { binary_data_output: true },
      outputs: [{ name: "a" }, { name: "blob" }, { name: "label", parameters: { binary_data: false } }],
    });
    const res = await post(body, { "Inference-Header-Content-Length": String(head.length) });
    expect(res.status, res.bytes.toString()).toBe(200);
    const { json, binary } = splitResponse(res);
    expect(json.outputs).toEqual([
      { name: "a", shape: [2], datatype: "INT64", parameters: { binary_data_size: 16 } },
      { name: "blob", shape: [2], datatype: "BYTES", parameters: { binary_data_size: raw.blob.length } },
      { name: "label", shape: [2], datatype: "BYTES", data: LABELS },
    ]);
    // The model's bytes as they are: the binary column's elements are bytes, not their base64 text.
    expect(binary).toEqual(Buffer.concat([raw.a, raw.blob]));
  });

  it("binary_data that is not a boolean: 400", async () => {
    const res = await post(JSON.stringify({ ...JSON_REQUEST, outputs: [{ name: "b", parameters: { binary_data: "yes" } }] }), {
      "Content-Type": "application/json",
    });
    expect(res.status).toBe(400);
    expect((JSON.parse(res.bytes.toString()) as { error: string }).error).toBe('Output "b": binary_data must be true or false, got "yes".');
  });
});
