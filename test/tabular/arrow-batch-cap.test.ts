/**
 * decodeArrowIpc's `maxBatches` (an Arrow request body's cap): every batch counts before any is
 * decoded — record batches, and dictionary batches too, which a file's reader reads as it opens.
 */
import { createRequire } from "node:module";
import { describe, expect, it } from "vitest";
import { FormatError, LimitError, MAX_BODY_BATCHES, arrowLib, decodeArrowIpc } from "../../src/tabular/index.js";

const { Footer } = createRequire(import.meta.url)("apache-arrow/ipc/metadata/file") as typeof import("apache-arrow/ipc/metadata/file");

/** An Arrow file of one row with a dictionary column, whose footer lists its one dictionary batch `copies` times. */
function fileWithDictionaries(copies: number): Uint8Array {
  const { Dictionary, Int32, Table, Utf8, tableToIPC, vectorFromArray } = arrowLib();
  const bytes = tableToIPC(new Table({ s: vectorFromArray(["a"], new Dictionary(new Utf8(), new Int32())) }), "file");
  const n = bytes.byteLength;
  const length = new DataView(bytes.buffer, bytes.byteOffset, n).getInt32(n - 10, true);
  const footer = Footer.decode(bytes.subarray(n - 10 - length, n - 10));
  const [dictionary] = [...footer.dictionaryBatches()];
  const listed = new Footer(footer.schema, footer.version, [...footer.recordBatches()], new Array(copies).fill(dictionary));
  const encoded = Footer.encode(listed);
  const size = new Uint8Array(4);
  new DataView(size.buffer).setInt32(0, encoded.byteLength, true);
  return Buffer.concat([bytes.subarray(0, n - 10 - length), encoded, size, Buffer.from("ARROW1")]);
}

describe("decodeArrowIpc with maxBatches", () => {
  it("counts a file's dictionary batches, before it opens the file (which reads them all)", () => {
    expect(decodeArrowIpc(fileWithDictionaries(1), { maxBatches: MAX_BODY_BATCHES }).numRows).toBe(1);
    const started = performance.now();
    expect(() => decodeArrowIpc(fileWithDictionaries(MAX_BODY_BATCHES + 1), { maxBatches: MAX_BODY_BATCHES })).toThrow(FormatError);
    expect(() => decodeArrowIpc(fileWithDictionaries(MAX_BODY_BATCHES + 1), { maxBatches: MAX_BODY_BATCHES })).toThrow(
      "The Arrow data holds more than 10000 record and dictionary batches",
    );
    expect(performance.now() - started, "refused from the footer, not after reading every batch").toBeLessThan(1_000);
  });

  it("without it, a file of many listed dictionaries is read as before", () => {
    expect(decodeArrowIpc(fileWithDictionaries(3)).numRows).toBe(1);
  });
});

/** One row of `columns` float64 columns, as an Arrow stream or file. */
function wide(columns: number, format: "stream" | "file"): Uint8Array {
  const { tableFromArrays, tableToIPC } = arrowLib();
  const arrays: Record<string, Float64Array> = {};
  for (let i = 0; i < columns; i++) arrays[`c${i}`] = Float64Array.of(i);
  return tableToIPC(tableFromArrays(arrays), format);
}

// Found by an audit: apache-arrow builds each column at ~70 µs, so 40,000 one-row columns held the
// event loop 4.6 s. A wider table is refused from its schema (a stream's first message, a file's footer).
describe("decodeArrowIpc with maxColumns", () => {
  it.each(["stream", "file"] as const)("%s: as many columns as the cap are read; one more is a LimitError naming both counts", (format) => {
    expect(decodeArrowIpc(wide(40, format), { maxColumns: 40 }).numCols).toBe(40);
    const tooWide = wide(41, format);
    expect(() => decodeArrowIpc(tooWide, { maxColumns: 40 })).toThrow(LimitError);
    expect(() => decodeArrowIpc(tooWide, { maxBatches: MAX_BODY_BATCHES, maxColumns: 40 })).toThrow(
      "The Arrow data has 41 columns (nested fields counted), more than the 40 a request may hold; send only the columns the model reads.",
    );
    expect(decodeArrowIpc(tooWide).numCols, "without the cap, read as before").toBe(41);
  });

  // Found by a review: the cost is each column of each batch, and nested fields are columns too.
  it("a struct's fields count as columns", () => {
    const { Field, Float64, Struct, Table, makeData, makeVector, tableToIPC } = arrowLib();
    const fields = Array.from({ length: 40 }, (_, i) => new Field(`f${i}`, new Float64()));
    const children = fields.map(() => makeData({ type: new Float64(), length: 1, nullCount: 0, data: Float64Array.of(1) }));
    const struct = makeVector(makeData({ type: new Struct(fields), length: 1, nullCount: 0, children }));
    expect(() => decodeArrowIpc(tableToIPC(new Table({ s: struct }), "stream"), { maxColumns: 40 })).toThrow(
      "The Arrow data has 41 columns (nested fields counted)",
    );
    expect(decodeArrowIpc(tableToIPC(new Table({ s: struct }), "stream"), { maxColumns: 41 }).numCols).toBe(1);
  });

  it.each(["stream", "file"] as const)("%s: more than 50,000 columns × record batches is a LimitError, whatever each alone", (format) => {
    const { RecordBatchFileWriter, RecordBatchStreamWriter, tableFromArrays } = arrowLib();
    const arrays: Record<string, Float64Array> = {};
    for (let c = 0; c < 10; c++) arrays[`c${c}`] = Float64Array.of(c);
    const oneRow = tableFromArrays(arrays).batches[0]!;
    const bytes = (batches: number): Uint8Array => {
      const writer = format === "stream" ? new RecordBatchStreamWriter() : new RecordBatchFileWriter();
      for (let i = 0; i < batches; i++) writer.write(oneRow);
      return writer.finish().toUint8Array(true);
    };
    expect(decodeArrowIpc(bytes(1_000), { maxBatches: MAX_BODY_BATCHES, maxColumns: 100 }).numRows).toBe(1_000);
    expect(() => decodeArrowIpc(bytes(5_001), { maxBatches: MAX_BODY_BATCHES, maxColumns: 100 })).toThrow(
      "The Arrow data has 10 columns in 5,001 record batches, more than the 50,000 column chunks a request may hold; write it in fewer batches",
    );
  });
});
