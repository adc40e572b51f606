// Arrow IPC data whose record batches are compressed (LZ4 frames or ZSTD): what pandas' to_feather
// writes by default, and pyarrow's or Polars' writers when asked. pipeserve registers no codec with
// apache-arrow, so it cannot read them; the refusal says so and how to write the data instead,
// for a request body (decodeArrowIpc) and for `pipeserve predict` (readTableChunks).
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CompressionType, Float64, RecordBatchFileWriter, RecordBatchStreamWriter, Table, compressionRegistry, vectorFromArray } from "apache-arrow";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FormatError, decodeArrowIpc } from "../../src/index.js";
import { readTableChunks } from "../../src/tabular/index.js";

/** A table written with LZ4-framed buffers: a stand-in encoder (a frame header, then the bytes) makes them, as no codec ships here. */
function compressedArrow(format: "stream" | "file"): Uint8Array {
  const fakeLz4 = { encode: (bytes: Uint8Array) => Uint8Array.from([0x04, 0x22, 0x4d, 0x18, 0x40, 0x40, 0xc0, ...bytes]) };
  compressionRegistry.set(CompressionType.LZ4_FRAME, fakeLz4 as never);
  try {
    const table = new Table({ x: vectorFromArray([0.5, 1.5], new Float64()) });
    const Writer = format === "stream" ? RecordBatchStreamWriter : RecordBatchFileWriter;
    return Writer.writeAll(table, { compressionType: CompressionType.LZ4_FRAME } as never).toUint8Array(true);
  } finally {
    compressionRegistry.set(CompressionType.LZ4_FRAME, null as never);
  }
}

const FIX = /compressed \(LZ4 or ZSTD.*write it uncompressed \(pandas: to_feather\(path, compression="uncompressed"\)/;

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "pipeserve-arrow-compressed-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("Arrow IPC data with compressed record batches is refused with what to do", () => {
  it.each(["stream", "file"] as const)("a request body (decodeArrowIpc), %s format", (format) => {
    const bytes = compressedArrow(format);
    expect(() => decodeArrowIpc(bytes)).toThrow(FormatError);
    expect(() => decodeArrowIpc(bytes)).toThrow(FIX);
  });

  it.each(["stream", "file"] as const)("a file to predict (readTableChunks), %s format", async (format) => {
    const path = join(dir, format === "file" ? "pandas.feather" : "polars.arrows");
    await writeFile(path, compressedArrow(format));
    const reading = (async () => {
      for await (const _ of readTableChunks(path)) {
        // nothing: the first batch is refused
      }
    })();
    await expect(reading).rejects.toThrow(FormatError);
    await expect(reading).rejects.toThrow(FIX);
  });
});
