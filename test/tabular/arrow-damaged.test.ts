/**
 * Damaged Arrow IPC data that apache-arrow read forever (found by the fuzz suite,
 * test/reliability/fuzz); pipeserve's readers now refuse each with a FormatError at once:
 * - a file whose footer points a record batch's block at another message, such as a dictionary
 *   batch: read again and again, so a 1 KB request body held the server's event loop for good and
 *   `pipeserve predict` spun without end;
 * - a stream whose length prefix is negative, read lazily from a file (`pipeserve predict`): the
 *   reader's position went before the start of the file, where every read gives nothing;
 * - a column whose offsets are out of range: arrow threw a TypeError when the values were read,
 *   which the server answered with a bare 500;
 * - a schema whose field list claims 2^31 entries in a 420-byte body: apache-arrow's FlatBuffers
 *   decoding looped two billion times over reads past the end (fuzz seed 7);
 * - a column whose buffers end before its length (the IPC message gives both apart): each value
 *   past the end read as a missing value, a boolean as false, binary as the whole buffer.
 * Good files read as before.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runInNewContext } from "node:vm";
import {
  Binary,
  Bool,
  DateDay,
  Dictionary,
  Float64,
  Int32,
  Int64,
  LargeUtf8,
  RecordBatchReader,
  Table,
  TimestampMillisecond,
  TimestampNanosecond,
  TimestampSecond,
  Utf8,
  makeData,
  makeVector,
  tableToIPC,
  vectorFromArray,
  type Data,
  type RecordBatchFileReader,
} from "apache-arrow";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FormatError, decodeArrowIpc, encodeArrowIpc, fromArrow, tableFromColumns, toArrow, type ColumnTable } from "../../src/index.js";
import { readTableChunks } from "../../src/tabular/index.js";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "pipeserve-arrow-footer-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A file of two record batches: rows 1–2, then row 3. */
function twoBatchFile(): Uint8Array {
  return encodeArrowIpc(toArrow(tableFromColumns({ a: [1, 2], b: [0.5, 1.5] })).concat(toArrow(tableFromColumns({ a: [3], b: [2.5] }))), "file");
}

/** A file with a dictionary-encoded column: a dictionary batch, then a record batch. */
function dictionaryFile(): Uint8Array {
  // NB: written by the test's own apache-arrow (an ES module build; pipeserve's is the CommonJS one).
  return tableToIPC(new Table({ a: vectorFromArray([1, 2], new Float64()), tag: vectorFromArray(["x", "y"]) }), "file");
}

/** The file with its footer's first record batch block pointing at the file's dictionary batch instead. */
function batchPointingAtDictionary(): Uint8Array {
  const bytes = Buffer.from(dictionaryFile());
  const reader = RecordBatchReader.from(bytes) as RecordBatchFileReader;
  reader.open();
  const batchOffset = reader.footer?.getRecordBatch(0)?.offset as number;
  const dictionaryOffset = reader.footer?.getDictionaryBatch(0)?.offset as number;
  expect(dictionaryOffset, "a dictionary batch before the record batch").toBeLessThan(batchOffset);
  const footerStart = bytes.length - 10 - bytes.readInt32LE(bytes.length - 10);
  const needle = Buffer.alloc(8);
  needle.writeBigInt64LE(BigInt(batchOffset));
  const at = bytes.indexOf(needle, footerStart);
  expect(at, "the batch's offset in the footer").toBeGreaterThan(footerStart);
  bytes.writeBigInt64LE(BigInt(dictionaryOffset), at);
  return new Uint8Array(bytes);
}

/** Runs `fn`, stopped after `ms` if it never returns: a regression must fail the test, not hold the runner for good. */
function within<T>(ms: number, fn: () => T): T {
  return runInNewContext("run()", { run: fn }, { timeout: ms }) as T;
}

async function readAll(path: string): Promise<ColumnTable[]> {
  const chunks: ColumnTable[] = [];
  for await (const chunk of readTableChunks(path)) chunks.push(chunk);
  return chunks;
}

/** `promise`, or a rejection after `ms`. */
function orTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`still reading after ${ms} ms`)), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

describe("an Arrow file whose footer points a record batch at a dictionary batch", () => {
  it("decodeArrowIpc refuses it at once (before: an endless loop)", () => {
    const bytes = batchPointingAtDictionary();
    let caught: unknown;
    try {
      within(5_000, () => decodeArrowIpc(bytes));
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(FormatError);
    expect((caught as Error).message).toContain("Could not decode the Arrow IPC data");
  });

  it("readTableChunks (pipeserve predict) refuses it at once (before: it never ended)", async () => {
    const path = join(dir, "damaged.arrow");
    await writeFile(path, batchPointingAtDictionary());
    const reading = orTimeout(readAll(path), 10_000);
    await expect(reading).rejects.toThrow(FormatError);
    await expect(reading).rejects.toThrow("Could not read the Arrow IPC data");
  });
});

/** The 216 bytes the fuzz suite found: an Arrow stream whose first length prefix is negative. */
const NEGATIVE_LENGTH_STREAM =
  "L6Lo6JdPQVJST1cxAAD/////UAAAABQAAAAAAAAAAAAKAA4ADAAHAAgACgAAAAAAAAMQAAAABAAKABgADAAIAAQACgAAABQAAAAYAAAAAQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" +
  "/////wAAAAAQAAAADAAUAA4AEAAEAAgADAAAABAAAAAUAAAAAAAEADQAAAAAAAAAAAAAAAEAAAAIAAAAAAAAAFgAAAAAAAAAAAAAAAAAAAAAAAAACAAIAAAABAAIAAAABAAAAAAAAABgAAAAQVJST1cx";

describe("an Arrow stream whose length prefix is negative, read from a file", () => {
  it("readTableChunks (pipeserve predict) refuses it at once (before: it never ended)", async () => {
    const path = join(dir, "negative.arrows");
    await writeFile(path, Buffer.from(NEGATIVE_LENGTH_STREAM, "base64"));
    const reading = orTimeout(readAll(path), 10_000);
    await expect(reading).rejects.toThrow(FormatError);
    await expect(reading).rejects.toThrow("Could not read the Arrow IPC data: a length in it points outside the file");
  });
});

/** The 420 bytes the fuzz suite found (seed 7): a stream whose schema's field list claims 2,013,265,921 entries. */
const HUGE_VECTOR_STREAM =
  "eAAAABAAAAAAAAoAEAAOAAcACAAKAAAAAAAAARAAAAAAAAQACAAIAAAABAAIAAAABAAAAAEAAHgAAAAQAAAAAAAKABAADgAHAAgACgAAAAAAAAEQAAAAAAAEAAgACAAAAAQACAAAAAQAAAABAAAAFAAAABAAGAAEAAsAEwAUAAAADAAQAAAAFAAAAAAAAAEUAAAAAAAAARQAAAABAAAAaQAAAAAAAAAEAAQABAAAAAAAAAD/////YAAAABQAAAAAAAAAAAAKAA4ADAAHAAgACgAAAAAAAAMQAAAABAAKABgADAAIAAQACgAAABQAAAAYAAAABQAAAAAAAAAAAAAAAAAAAAAAAAABAAAABQAAAAAAAAAFAAAAAAAAAP////8AAAAA";

describe("an Arrow schema whose list of fields claims more entries than the bytes hold", () => {
  it("decodeArrowIpc refuses it at once (before: two billion reads past the end, minutes of a blocked event loop)", () => {
    let caught: unknown;
    try {
      within(5_000, () => decodeArrowIpc(Buffer.from(HUGE_VECTOR_STREAM, "base64")));
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(FormatError);
    expect((caught as Error).message).toBe(
      "Could not decode the Arrow IPC data: its metadata declares a list of 2013265921 entries where 68 bytes remain. The data is damaged or not Arrow IPC",
    );
  });

  it("readTableChunks (pipeserve predict) refuses it at once", async () => {
    const path = join(dir, "huge-vector.arrows");
    await writeFile(path, Buffer.from(HUGE_VECTOR_STREAM, "base64"));
    const reading = orTimeout(readAll(path), 10_000);
    await expect(reading).rejects.toThrow(FormatError);
    await expect(reading).rejects.toThrow("its metadata declares a list of 2013265921 entries");
  });
});

describe("an Arrow column whose offsets are out of range", () => {
  it("fromArrow refuses it with a FormatError naming the column (before: a TypeError, a 500 over HTTP)", () => {
    const bytes = Buffer.from(tableToIPC(new Table({ s: vectorFromArray(["a", "b"], new LargeUtf8()) }), "stream"));
    const offsets = Buffer.alloc(24);
    offsets.writeBigInt64LE(1n, 8);
    offsets.writeBigInt64LE(2n, 16);
    const at = bytes.indexOf(offsets);
    expect(at, "the offsets 0, 1, 2 in the body").toBeGreaterThan(0);
    bytes.writeBigInt64LE(2n ** 53n, at + 16);
    const table = decodeArrowIpc(bytes);
    expect(() => fromArrow(table)).toThrow(FormatError);
    expect(() => fromArrow(table)).toThrow('Could not read the values of column "s" of the Arrow data, which is damaged');
  });
});

describe("an Arrow column whose buffers end before its length", () => {
  /** Column "c" of `data`, through IPC bytes (as a request or a file brings it), read by pipeserve. */
  const readBack = (data: Data) => fromArrow(decodeArrowIpc(tableToIPC(new Table({ c: makeVector(data) }), "stream")));
  const labels = vectorFromArray(["x", "y"], new Dictionary(new Utf8(), new Int32())).data[0] as Data;

  // NB: IPC pads each buffer to a multiple of 8 bytes, and the padding reads as values (zeros): only a shortfall past it shows.
  it.each([
    { kind: "doubles", data: makeData({ type: new Float64(), length: 5, nullCount: 0, data: new Float64Array([1, 2]) }), held: 2, of: 5 },
    { kind: "int32s", data: makeData({ type: new Int32(), length: 9, nullCount: 0, data: new Int32Array([1, 2, 3]) }), held: 4, of: 9 },
    { kind: "int64s", data: makeData({ type: new Int64(), length: 4, nullCount: 0, data: new BigInt64Array([1n]) }), held: 1, of: 4 },
    { kind: "timestamps", data: makeData({ type: new TimestampMillisecond(), length: 3, nullCount: 0, data: new BigInt64Array([1n]) }), held: 1, of: 3 },
    { kind: "dates", data: makeData({ type: new DateDay(), length: 5, nullCount: 0, data: new Int32Array([1]) }), held: 2, of: 5 },
    // NB: booleans past the end read as false; 1 byte, padded to 8 as IPC writes buffers, holds 64 of 100.
    { kind: "booleans", data: makeData({ type: new Bool(), length: 100, nullCount: 0, data: new Uint8Array([255]) }), held: 64, of: 100 },
    // NB: binary past its offsets read as the whole buffer.
    {
      kind: "binary",
      data: makeData({ type: new Binary(), length: 3, nullCount: 0, valueOffsets: new Int32Array([0, 1]), data: new Uint8Array([7, 8]) }),
      held: 1,
      of: 3,
    },
    { kind: "dictionary indices", data: labels.clone(labels.type, 0, 4, 0, [undefined, new Int32Array([0, 1]), undefined] as never), held: 2, of: 4 },
  ])("$kind: refused with a FormatError naming the column", ({ data, held, of }) => {
    expect(() => readBack(data as Data)).toThrow(FormatError);
    expect(() => readBack(data as Data)).toThrow(
      `Could not read the values of column "c" of the Arrow data, which is damaged: its buffers hold ${held} of its ${of} values`,
    );
  });

  it("a validity bitmap that ends before the column: refused (its bits past the end read as missing values)", () => {
    const data = makeData({ type: new Float64(), length: 100, nullCount: 1, nullBitmap: new Uint8Array([0b1111_1110]), data: new Float64Array(100) });
    expect(() => readBack(data)).toThrow("its validity bitmap ends after 64 of its 100 values");
  });

  it("slices of whole columns still read (bitmaps are not sliced with their chunk; the check counts from its offset)", () => {
    const bools = makeVector(makeData({ type: new Bool(), length: 20, nullCount: 0, data: new Uint8Array([0, 0b0000_0010, 0b0001_0000]) })).slice(9, 21);
    expect(fromArrow(new Table({ c: bools }) as never).columns[0]).toEqual(
      [true, false, false, false, false, false, false, false, false, false, false, false].slice(0, 11),
    );
    const bitmap = new Uint8Array([255, 255, 0b0000_1011]);
    const doubles = makeVector(
      makeData({ type: new Float64(), length: 20, nullCount: 1, nullBitmap: bitmap, data: Float64Array.from({ length: 20 }, (_, i) => i) }),
    ).slice(15, 20);
    const read = fromArrow(decodeArrowIpc(tableToIPC(new Table({ c: doubles }), "stream")));
    expect(read.columns[0]).toEqual([15, 16, 17, null, 19]);
  });
});

describe("good Arrow files still read whole", () => {
  it("every record batch of a file, in order", async () => {
    const decoded = decodeArrowIpc(twoBatchFile());
    expect(decoded.numRows).toBe(3);
    expect([...(decoded.getChild("a") ?? [])]).toEqual([1, 2, 3]);
    const path = join(dir, "two.arrow");
    await writeFile(path, twoBatchFile());
    expect(await readAll(path)).toEqual([
      {
        names: ["a", "b"],
        columns: [
          [1, 2, 3],
          [0.5, 1.5, 2.5],
        ],
        numRows: 3,
      },
    ]);
  });

  it("a file with a dictionary-encoded column", () => {
    const decoded = decodeArrowIpc(dictionaryFile());
    expect([...(decoded.getChild("tag") ?? [])]).toEqual(["x", "y"]);
  });

  it("a file with no record batches is its schema with no rows", async () => {
    const schemaOnly = encodeArrowIpc(toArrow(tableFromColumns({ a: [1] })).slice(0, 0), "file");
    expect(decodeArrowIpc(schemaOnly).schema.fields.map((f) => f.name)).toEqual(["a"]);
    const path = join(dir, "empty.arrow");
    await writeFile(path, schemaOnly);
    expect(await readAll(path)).toEqual([{ names: ["a"], columns: [[]], numRows: 0 }]);
  });
});

describe("Arrow data cut short", () => {
  it("every prefix of a stream and of a file is a FormatError saying what is wrong, never JavaScript's own words", () => {
    const table = toArrow(tableFromColumns({ a: [1, 2, 3], s: ["x", "y", "z"] }));
    for (const format of ["stream", "file"] as const) {
      const whole = encodeArrowIpc(table, format);
      for (let n = 1; n < whole.length; n++) {
        let caught: unknown;
        try {
          decodeArrowIpc(whole.subarray(0, n));
        } catch (error) {
          caught = error;
        }
        // NB: a stream cut between its messages is a shorter stream (fewer batches), not an error.
        if (caught === undefined) continue;
        expect(caught, `${format} cut at ${n} bytes`).toBeInstanceOf(FormatError);
        expect((caught as Error).message, `${format} cut at ${n} bytes`).not.toMatch(/Cannot read properties|undefined|is not a function/);
      }
    }
  });
});

describe("Arrow times beyond what a JavaScript Date holds (well-formed data, not damage)", () => {
  const readBack = (data: Data) => fromArrow(decodeArrowIpc(tableToIPC(new Table({ when: makeVector(data) }), "stream")));
  it.each([
    // NB: before, 2^60 ms was refused as damaged ("not safe to convert to a number"), 9e15 ms became an Invalid Date without a word.
    { type: new TimestampMillisecond(), value: 2n ** 60n, words: "1152921504606846976 milliseconds from 1970" },
    { type: new TimestampMillisecond(), value: 9_000_000_000_000_000n, words: "9000000000000000 milliseconds from 1970" },
    { type: new TimestampSecond(), value: 10n ** 14n, words: "100000000000000 seconds from 1970" },
  ])("$words: refused, naming the column and the range", ({ type, value, words }) => {
    const data = makeData({ type, length: 2, nullCount: 0, data: new BigInt64Array([0n, value]) } as never) as Data;
    expect(() => readBack(data)).toThrow(FormatError);
    expect(() => readBack(data)).toThrow(
      `Column "when" of the Arrow data holds a time JavaScript's dates cannot: ${words}, beyond ±8,640,000,000,000,000 milliseconds`,
    );
    expect(() => readBack(data)).not.toThrow(/damaged/);
  });

  it("the last millisecond a Date holds still reads, and today's nanoseconds do, in whole milliseconds", () => {
    const edge = makeData({
      type: new TimestampMillisecond(),
      length: 2,
      nullCount: 0,
      data: new BigInt64Array([8_640_000_000_000_000n, -8_640_000_000_000_000n]),
    });
    expect((readBack(edge).columns[0] as Date[]).map((d) => d.getTime())).toEqual([8.64e15, -8.64e15]);
    const nanos = makeData({ type: new TimestampNanosecond(), length: 1, nullCount: 0, data: new BigInt64Array([1_700_000_000_123_000_000n]) });
    expect((readBack(nanos).columns[0] as Date[])[0]?.toISOString()).toBe("2023-11-14T22:13:20.123Z");
  });
});

describe("a short chunk among several (a stream of two record batches)", () => {
  it("is refused, not read as zeros: the column's whole length would otherwise match", () => {
    const short = makeData({ type: new Float64(), length: 20, nullCount: 0, data: new Float64Array([1, 2]) });
    const whole = makeData({ type: new Float64(), length: 3, nullCount: 0, data: new Float64Array([7, 8, 9]) });
    const vector = makeVector([short, whole] as never);
    const bytes = tableToIPC(new Table({ c: vector }), "stream");
    const table = decodeArrowIpc(bytes);
    expect(table.batches.length).toBe(2);
    expect(() => fromArrow(table)).toThrow('Could not read the values of column "c" of the Arrow data, which is damaged: its buffers hold 2 of its 20 values');
  });
});
