/**
 * Arrow and Parquet bodies with the column types real clients send (pandas through pyarrow,
 * Polars, SQL engines), over real HTTP on an ephemeral port: what the model's nodes receive, as the
 * pass_columns model hands it back.
 */
import { CompressionType, Float64, RecordBatchFileWriter, RecordBatchStreamWriter, Table, compressionRegistry, vectorFromArray } from "apache-arrow";
import { describe, expect, it } from "vitest";
import { arrowToParquet, encodeArrowIpc, type MlflowSignature } from "../../src/index.js";
import { arrowLib } from "../../src/tabular/index.js";
import { useServedModel } from "./fixtures/http.js";
import { buildModel } from "./fixtures/models.js";

const A = arrowLib();
type ArrowTable = Parameters<typeof encodeArrowIpc>[0];

const SIGNATURE: MlflowSignature = {
  inputs: JSON.stringify([
    { type: "double", name: "price", required: true },
    { type: "long", name: "units", required: true },
  ]),
  outputs: null,
  params: null,
};

const served = useServedModel(() => buildModel("pass_columns", SIGNATURE));

/** A decimal vector of `scale` from unscaled values, 128-bit as pyarrow writes pandas' Decimal objects. */
function decimals(values: readonly bigint[], scale: number, precision: number) {
  const data = new Uint32Array(values.length * 4);
  values.forEach((v, i) => {
    for (let w = 0; w < 4; w++) data[i * 4 + w] = Number(BigInt.asUintN(32, v >> BigInt(32 * w)));
  });
  return A.makeVector(A.makeData({ type: new A.Decimal(scale, precision, 128), length: values.length, nullCount: 0, data } as never));
}

/** Each body a client may send one table as. */
const BODIES = [
  { type: "application/vnd.apache.arrow.stream", encode: (t: ArrowTable) => encodeArrowIpc(t, "stream") },
  { type: "application/vnd.apache.arrow.file", encode: (t: ArrowTable) => encodeArrowIpc(t, "file") },
  { type: "application/vnd.apache.parquet", encode: (t: ArrowTable) => arrowToParquet(t) },
] as const;

describe("decimal columns (pandas Decimal objects, SQL NUMERIC) reach the model as their numbers", () => {
  it.each(BODIES)("$type", async ({ type, encode }) => {
    // Decimal('123.45'), Decimal('-0.01') as decimal128(10, 2); a NUMERIC(38, 0) count as Snowflake sends one.
    const table = new A.Table({ price: decimals([12345n, -1n], 2, 10), units: decimals([42n, 7n], 0, 38) }) as ArrowTable;
    const res = await fetch(served.url, { method: "POST", headers: { "Content-Type": type }, body: encode(table) });
    const text = await res.text();
    expect(res.status, text).toBe(200);
    expect((JSON.parse(text) as { predictions: unknown }).predictions).toEqual([
      { price: 123.45, units: 42 },
      { price: -0.01, units: 7 },
    ]);
  });
});

describe("dictionary-encoded text with 64-bit indices (pyarrow's DictionaryArray.from_arrays of numpy codes) reaches the model as its strings", () => {
  const signature: MlflowSignature = { inputs: '[{"type": "string", "name": "island", "required": true}]', outputs: null, params: null };
  const labels = useServedModel(() => buildModel("pass_columns", signature));

  it.each(BODIES)("$type", async ({ type, encode }) => {
    const dictionary = A.vectorFromArray(["Dream", "Biscoe"], new A.Utf8());
    const data = A.makeData({
      type: new A.Dictionary(new A.Utf8(), new A.Int64() as never),
      length: 3,
      nullCount: 0,
      data: BigInt64Array.from([1n, 0n, 1n]),
      dictionary,
    } as never);
    const table = new A.Table({ island: A.makeVector(data) }) as ArrowTable;
    const res = await fetch(labels.url, { method: "POST", headers: { "Content-Type": type }, body: encode(table) });
    const text = await res.text();
    expect(res.status, text).toBe(200);
    expect((JSON.parse(text) as { predictions: unknown }).predictions).toEqual([{ island: "Biscoe" }, { island: "Dream" }, { island: "Biscoe" }]);
  });
});

describe("Arrow IPC with compressed record batches (pandas' to_feather writes LZ4 by default) gets a 400 that says what to do", () => {
  /** LZ4-framed buffers from a stand-in encoder (a frame header, then the bytes), with the ES module build's own codec registry. */
  function compressed(format: "stream" | "file"): Uint8Array {
    const fakeLz4 = { encode: (bytes: Uint8Array) => Uint8Array.from([0x04, 0x22, 0x4d, 0x18, 0x40, 0x40, 0xc0, ...bytes]) };
    compressionRegistry.set(CompressionType.LZ4_FRAME, fakeLz4 as never);
    try {
      const table = new Table({ price: vectorFromArray([0.5], new Float64()), units: vectorFromArray([1], new Float64()) });
      const Writer = format === "stream" ? RecordBatchStreamWriter : RecordBatchFileWriter;
      return Writer.writeAll(table, { compressionType: CompressionType.LZ4_FRAME } as never).toUint8Array(true);
    } finally {
      compressionRegistry.set(CompressionType.LZ4_FRAME, null as never);
    }
  }

  it.each(["stream", "file"] as const)("application/vnd.apache.arrow.%s", async (format) => {
    const res = await fetch(served.url, { method: "POST", headers: { "Content-Type": `application/vnd.apache.arrow.${format}` }, body: compressed(format) });
    const body = (await res.json()) as { error_code: string; message: string };
    expect(res.status).toBe(400);
    expect(body.error_code).toBe("BAD_REQUEST");
    expect(body.message).toMatch(/^Could not decode the Arrow IPC data: its record batches are compressed \(LZ4 or ZSTD\)/);
    expect(body.message).toContain('write it uncompressed (pandas: to_feather(path, compression="uncompressed")');
  });
});
