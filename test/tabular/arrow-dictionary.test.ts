// Dictionary-encoded columns of any index width and any value type read as the same column
// without its dictionary would be. pandas' categoricals come with Int8 to Int32 indices and
// Polars' with Uint32, but Arrow allows any integer index: pyarrow's
// DictionaryArray.from_arrays(numpy codes, …) gives Int64 ones, on which apache-arrow's own
// iterator fails ("Cannot mix BigInt and other types").
import type { Vector } from "apache-arrow";
import { describe, expect, it } from "vitest";
import { type Cell, FormatError, decodeArrowIpc, encodeArrowIpc, fromArrow } from "../../src/index.js";
import { arrowLib } from "../../src/tabular/index.js";

const A = arrowLib();
type ArrowTable = Parameters<typeof fromArrow>[0];
type IndexType = InstanceType<typeof A.Int>;

/** Column `c`: `codes` (null: missing) into `dictionary`, with indices of `indexType`. */
function dictionaryTable(dictionary: Vector, codes: readonly (number | null)[], indexType: IndexType): ArrowTable {
  const nullBitmap = new Uint8Array(Math.ceil(codes.length / 8));
  codes.forEach((c, i) => {
    if (c !== null) nullBitmap[i >> 3]! |= 1 << (i & 7);
  });
  const wide = indexType.bitWidth === 64;
  const Indices = wide ? (indexType.isSigned ? BigInt64Array : BigUint64Array) : (indexType.ArrayType as unknown as { from(v: number[]): ArrayLike<number> });
  const data = wide
    ? (Indices as typeof BigInt64Array).from(codes, (c) => BigInt(c ?? 0))
    : (Indices as { from(v: number[]): ArrayLike<number> }).from(codes.map((c) => c ?? 0));
  // NB: apache-arrow's types leave 64-bit indices out of its Dictionary's, though it reads them.
  const type = new A.Dictionary(dictionary.type, indexType as never);
  const nullCount = codes.filter((c) => c === null).length;
  return new A.Table({ c: A.makeVector(A.makeData({ type, length: codes.length, nullCount, nullBitmap, data, dictionary } as never)) }) as ArrowTable;
}

const INDEX_TYPES = [new A.Int8(), new A.Uint8(), new A.Int32(), new A.Uint32(), new A.Int64(), new A.Uint64()];
const CODES = [0, 1, null, 2, 0, 1];

/** The column the dictionary-encoded one stands for, read by fromArrow without a dictionary. */
function plain(dictionary: Vector): Cell[] {
  const values = fromArrow(new A.Table({ c: dictionary }) as ArrowTable).columns[0] as ArrayLike<Cell>;
  return CODES.map((c) => (c === null ? null : (values[c] as Cell)));
}

describe("dictionary-encoded columns: any index width, any value type", () => {
  const dictionaries: { values: string; dictionary: () => Vector }[] = [
    { values: "text (pandas categoricals)", dictionary: () => A.vectorFromArray(["Dream", "Biscoe", "é"], new A.Utf8()) },
    { values: "LargeUtf8 text (Polars categoricals)", dictionary: () => A.vectorFromArray(["Dream", "Biscoe", "é"], new A.LargeUtf8()) },
    { values: "Int64 numbers", dictionary: () => A.vectorFromArray([5n, -(2n ** 60n), 7n], new A.Int64()) },
    { values: "timestamps", dictionary: () => A.vectorFromArray([new Date("2021-01-01T00:00:00Z"), new Date(0), new Date(-1)], new A.TimestampMicrosecond()) },
    { values: "doubles", dictionary: () => A.vectorFromArray([0.5, -1, 2], new A.Float64()) },
  ];
  const cases = dictionaries.flatMap((d) => INDEX_TYPES.map((indexType) => ({ ...d, indexType, index: String(indexType) })));

  it.each(cases)("$values with $index indices: the values the column holds", ({ dictionary, indexType }) => {
    const table = dictionaryTable(dictionary(), CODES, indexType);
    const want = plain(dictionary());
    expect(fromArrow(table).columns[0]).toEqual(want);
    expect(fromArrow(table.slice(2) as ArrowTable).columns[0]).toEqual(want.slice(2));
    for (const format of ["stream", "file"] as const) expect(fromArrow(decodeArrowIpc(encodeArrowIpc(table, format))).columns[0]).toEqual(want);
  });
});

describe("dictionary columns of a big request, converted a slice of rows per turn", () => {
  it("two batches, each with its own dictionary of 40,000 values, past the slice size: the same values as one pass and as the iterator", async () => {
    const { fromArrowInSlices } = await import("../../src/tabular/index.js");
    const words = (prefix: string) => Array.from({ length: 40_000 }, (_, i) => `${prefix}${i}`);
    const codes = (n: number) => Array.from({ length: n }, (_, i) => (i % 11 === 0 ? null : (i * 7919) % 40_000));
    const a = dictionaryTable(A.vectorFromArray(words("a"), new A.Utf8()), codes(90_000), new A.Int32());
    const b = dictionaryTable(A.vectorFromArray(words("b"), new A.Utf8()), codes(70_000), new A.Int32());
    const table = decodeArrowIpc(encodeArrowIpc(a.concat(b) as ArrowTable));
    const sliced = await fromArrowInSlices(table);
    const iterated = Array.from(table.getChildAt(0) as Iterable<Cell>);
    expect(sliced.columns[0]).toEqual(iterated);
    expect(fromArrow(table).columns[0]).toEqual(iterated);
    expect((sliced.columns[0] as Cell[])[90_001]).toBe(`b${7919 % 40_000}`);
  });
});

describe("dictionaries: what a body claims, and what a node may change", () => {
  it("a dictionary whose length is past its buffers (a small body claiming millions of values) is refused at once, not read", () => {
    const dictionary = A.vectorFromArray([1.5, 2.5, 3.5], new A.Float64());
    const claimed = A.makeVector(
      A.makeData({ type: new A.Float64(), length: 50_000_000, nullCount: 0, data: (dictionary.data[0] as { values: Float64Array }).values } as never),
    );
    const table = dictionaryTable(claimed, [0, 1], new A.Int32());
    const started = performance.now();
    expect(() => fromArrow(table)).toThrow(FormatError);
    expect(() => fromArrow(table)).toThrow(/column "c" .*damaged: its dictionary says it holds 50000000 values, but its buffers hold \d+/);
    expect(performance.now() - started, "refused before any value is read").toBeLessThan(1000);
  });

  it("a text or bytes dictionary without the offsets its length needs is refused, whatever its bytes' length", () => {
    for (const type of [new A.Utf8(), new A.Binary(), new A.LargeBinary()]) {
      const offsets = A.DataType.isLargeBinary(type) ? new BigInt64Array(0) : new Int32Array(0);
      const claimed = A.makeVector(A.makeData({ type, length: 1_000_000, nullCount: 0, valueOffsets: offsets, data: new Uint8Array(1 << 20) } as never));
      const table = dictionaryTable(claimed, [0, 1], new A.Int32());
      expect(() => fromArrow(table), String(type)).toThrow(/column "c" .*damaged: its dictionary says it holds 1000000 values, but its buffers hold 0/);
    }
  });

  it("each cell of a timestamp dictionary gets a Date of its own: changing one changes no other cell, and no later conversion", () => {
    const dictionary = A.vectorFromArray([new Date(Date.UTC(2024, 0, 1)), new Date(Date.UTC(2024, 5, 1))], new A.TimestampMillisecond());
    const table = dictionaryTable(dictionary, [0, 0, 1, 0], new A.Int32());
    const first = fromArrow(table).columns[0] as Date[];
    first[0]!.setTime(0);
    expect(first.map((d) => d.getTime())).toEqual([0, Date.UTC(2024, 0, 1), Date.UTC(2024, 5, 1), Date.UTC(2024, 0, 1)]);
    expect((fromArrow(table).columns[0] as Date[]).map((d) => d.getTime())).toEqual([
      Date.UTC(2024, 0, 1),
      Date.UTC(2024, 0, 1),
      Date.UTC(2024, 5, 1),
      Date.UTC(2024, 0, 1),
    ]);
  });
});
