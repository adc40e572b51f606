// Decimal columns, as clients send them: pandas' `Decimal` objects (pyarrow writes decimal128),
// SQL NUMERIC columns through ADBC or Spark, and Parquet files holding either. fromArrow reads
// each value as the number it is, its scale applied; apache-arrow's iterator gives raw words
// whose text and Number() ignore the scale (123.45 in a decimal128(10, 2) reads as 12345).
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type Cell, FormatError, decodeArrowIpc, encodeArrowIpc, fromArrow } from "../../src/index.js";
import { arrowLib } from "../../src/tabular/index.js";

const A = arrowLib();
type ArrowTable = Parameters<typeof fromArrow>[0];

/** A column `c` of decimals of `bitWidth` bits and `scale`, from their unscaled values (null: missing). */
function decimalTable(values: readonly (bigint | null)[], scale: number, bitWidth: 32 | 64 | 128 | 256 = 128, precision = 38): ArrowTable {
  const stride = bitWidth / 32;
  const data = new Uint32Array(values.length * stride);
  const nullBitmap = new Uint8Array(Math.ceil(values.length / 8));
  values.forEach((v, i) => {
    if (v === null) return;
    nullBitmap[i >> 3]! |= 1 << (i & 7);
    for (let w = 0; w < stride; w++) data[i * stride + w] = Number(BigInt.asUintN(32, v >> BigInt(32 * w)));
  });
  const nullCount = values.filter((v) => v === null).length;
  const type = new A.Decimal(scale, precision, bitWidth);
  return new A.Table({ c: A.makeVector(A.makeData({ type, length: values.length, nullCount, nullBitmap, data } as never)) }) as ArrowTable;
}

/**
 * The number a decimal is: its digits with the scale applied, read as a JSON number of those digits
 * reads; scale 0 past 2^53 and within 64 bits a bigint (as Int64 columns give it).
 */
function expected(v: bigint | null, scale: number): Cell {
  if (v === null) return null;
  const int64 = v <= 2n ** 63n - 1n && v >= -(2n ** 63n);
  if (scale === 0) return (v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= BigInt(Number.MIN_SAFE_INTEGER)) || !int64 ? Number(v) : v;
  return Number(`${v}e${-scale}`);
}

describe("decimal columns are read as their numbers", () => {
  it.each([
    {
      why: "pandas Decimal('123.45') and Decimal('-0.01') as decimal128(10, 2)",
      values: [12345n, -1n, null],
      scale: 2,
      bitWidth: 128,
      want: [123.45, -0.01, null],
    },
    {
      why: "a whole-number NUMERIC(38, 0): numbers where safe, a bigint where not (as Int64 columns)",
      values: [42n, -(2n ** 60n)],
      scale: 0,
      bitWidth: 128,
      want: [42, -(2n ** 60n)],
    },
    {
      why: "digits past a double's, in the high words: the nearest double",
      values: [123456789012345678901234567890n],
      scale: 10,
      bitWidth: 128,
      want: [12345678901234567890.123456789],
    },
    { why: "decimal256", values: [12345n, -(10n ** 70n)], scale: 3, bitWidth: 256, want: [12.345, -1e67] },
    {
      why: "a whole number beyond 64 bits (NUMERIC(38, 0)): the nearest double, not a bigint an Arrow or Parquet output would wrap",
      values: [10n ** 30n, -(2n ** 63n) - 1n, 2n ** 63n - 1n],
      scale: 0,
      bitWidth: 128,
      want: [1e30, -9223372036854775809, 2n ** 63n - 1n],
    },
    { why: "decimal32 (pyarrow 18 and later)", values: [12345n, -7n], scale: 2, bitWidth: 32, want: [123.45, -0.07] },
    { why: "decimal64 (pyarrow 18 and later)", values: [12345n, -(2n ** 62n)], scale: 0, bitWidth: 64, want: [12345, -(2n ** 62n)] },
    { why: "a negative scale multiplies", values: [7n, -3n], scale: -2, bitWidth: 128, want: [700, -300] },
  ] as const)("$why", ({ values, scale, bitWidth, want }) => {
    const table = decimalTable(values, scale, bitWidth);
    for (const format of ["stream", "file"] as const) {
      for (const t of [table, decodeArrowIpc(encodeArrowIpc(table, format))]) expect(fromArrow(t).columns[0]).toEqual(want);
    }
  });

  it("any value and scale, missing values, sliced tables and several batches: the number of its digits", () => {
    const unscaled = fc.oneof(
      fc.bigInt({ min: -(2n ** 127n), max: 2n ** 127n - 1n }),
      fc.bigInt({ min: -(2n ** 53n) - 5n, max: 2n ** 53n + 5n }),
      fc.bigInt({ min: -(2n ** 33n), max: 2n ** 33n }),
      fc.constantFrom(0n, -1n, 1n, 2n ** 32n - 1n, 2n ** 32n, -(2n ** 32n), 2n ** 53n - 1n, 2n ** 53n, -(2n ** 53n), 2n ** 127n - 1n, -(2n ** 127n)),
    );
    fc.assert(
      fc.property(fc.array(fc.option(unscaled, { freq: 5 }), { maxLength: 30 }), fc.integer({ min: -5, max: 38 }), fc.nat(), (values, scale, cut) => {
        const table = decimalTable(values, scale);
        const start = values.length === 0 ? 0 : cut % values.length;
        const want = values.map((v) => expected(v, scale));
        expect(fromArrow(table).columns[0]).toEqual(want);
        expect(fromArrow(table.slice(start) as ArrowTable).columns[0]).toEqual(want.slice(start));
        expect(fromArrow(decodeArrowIpc(encodeArrowIpc(table.concat(table) as ArrowTable))).columns[0]).toEqual([...want, ...want]);
      }),
      { numRuns: 300, seed: 15 },
    );
  });

  it("values that end before the column does (damaged data) are refused, naming the column", () => {
    const data = A.makeData({ type: new A.Decimal(2, 10, 128), length: 3, nullCount: 0, data: new Uint32Array([12345, 0, 0, 0]) } as never);
    const table = new A.Table({ c: A.makeVector(data) }) as ArrowTable;
    expect(() => fromArrow(table)).toThrow(FormatError);
    expect(() => fromArrow(table)).toThrow('column "c" of the Arrow data, which is damaged: its values end after 1 of its 3 decimals');
  });
});

describe("decimals of a width Arrow does not have (damaged data)", () => {
  it("a 48-bit decimal is refused, naming the column and the widths Arrow has, not read as NaN", () => {
    const type = new A.Decimal(2, 10, 48 as never);
    const data = new Uint32Array(12);
    const table = new A.Table({ c: A.makeVector(A.makeData({ type, length: 4, nullCount: 0, data } as never)) }) as ArrowTable;
    expect(() => fromArrow(table)).toThrow(FormatError);
    expect(() => fromArrow(table)).toThrow(/column "c" .*damaged: it is a decimal of 48 bits; Arrow's decimals have 32, 64, 128 or 256/);
  });
});
