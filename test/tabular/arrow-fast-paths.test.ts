// toArrow writes number and text columns straight into Arrow's buffers, and fromArrow reads number
// and text columns straight from them (issue 15 §2: ~8× faster both ways on 10,000 rows). These
// property tests hold the fast paths to the plain ones — apache-arrow's builders and its iterator —
// over random tables: every column type toArrow infers, missing values, NaN, ±Infinity, -0, any
// Unicode text, empty tables, sliced tables and tables of several record batches.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type Cell, type ColumnTable, FormatError, decodeArrowIpc, encodeArrowIpc, fromArrow, toArrow } from "../../src/index.js";
import { arrowLib } from "../../src/tabular/index.js";

const number = fc.oneof(
  fc.double(),
  fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -0, 0),
  fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
);
// NB: short and long (past the 64-character ASCII copy), ASCII and not, in one column.
const text = fc.oneof(
  fc.string(),
  fc.string({ unit: "binary" }),
  fc.string({ minLength: 60, maxLength: 80 }),
  fc.string({ unit: "binary", minLength: 60, maxLength: 70 }),
  fc.constantFrom("", "é", "😀", "a\u0000b", `${"x".repeat(63)}é`),
);
// NB: labels repeat, and fromArrow shares one string per short ASCII value it meets again in a
// column of 256 rows or more, found by a hash of its bytes: these pairs hash alike ("Aa" and "BB",
// as in Java's String#hashCode).
const label = fc.constantFrom("Aa", "BB", "AaAa", "BBBB", "AaBB", "BBAa", "Dream", "Biscoe", "x".repeat(24), "x".repeat(25), "é");
const missing = fc.constantFrom(null, undefined);

/** A column: numbers, text, booleans, dates or a mix, with or without missing values. */
const column = (rows: number): fc.Arbitrary<Cell[]> =>
  fc.oneof(
    fc.array(fc.oneof({ weight: 5, arbitrary: number }, { weight: 1, arbitrary: missing }), { minLength: rows, maxLength: rows }),
    fc.array(fc.oneof({ weight: 5, arbitrary: text }, { weight: 1, arbitrary: missing }), { minLength: rows, maxLength: rows }),
    fc.array(fc.oneof({ weight: 5, arbitrary: label }, { weight: 1, arbitrary: text }, { weight: 1, arbitrary: missing }), {
      minLength: rows,
      maxLength: rows,
    }),
    fc.array(fc.oneof(fc.boolean(), missing), { minLength: rows, maxLength: rows }),
    fc.array(fc.oneof(fc.date({ noInvalidDate: true }), missing), { minLength: rows, maxLength: rows }),
    // A text column (its first value is text) that also holds numbers and dates: the builders' path (values made text).
    fc
      .array(fc.oneof(text, number, fc.date({ noInvalidDate: true }), missing), { minLength: rows, maxLength: rows })
      .map((values) => (values.length > 0 ? ["x", ...values.slice(1)] : values)),
  ) as fc.Arbitrary<Cell[]>;

const table: fc.Arbitrary<ColumnTable> = fc
  .integer({ min: 0, max: 40 })
  .chain((rows) =>
    fc.array(column(rows), { minLength: 1, maxLength: 5 }).map((columns) => ({ names: columns.map((_, i) => `c${i}`), columns, numRows: rows })),
  );

/** What apache-arrow's own iterator reads, as fromArrow converts it (numbers of 64-bit ints and dates aside). */
function plainRead(t: ReturnType<typeof toArrow>): Cell[][] {
  const A = arrowLib();
  return t.schema.fields.map((f, i) => {
    const values = Array.from(t.getChildAt(i) as Iterable<Cell>);
    return A.DataType.isTimestamp(f.type) ? values.map((v) => (typeof v === "number" ? new Date(v) : v)) : values;
  });
}

describe("the direct Arrow paths give what apache-arrow's builders and iterator give", () => {
  it("toArrow: the same types and values as vectorFromArray, through IPC and back", () => {
    fc.assert(
      fc.property(table, (t) => {
        const fast = toArrow(t);
        const built = toArrow(t, {}, { builders: true });
        expect(fast.schema.fields.map((f) => String(f.type))).toEqual(built.schema.fields.map((f) => String(f.type)));
        const fastBack = decodeArrowIpc(encodeArrowIpc(fast));
        const builtBack = decodeArrowIpc(encodeArrowIpc(built));
        expect(plainRead(fastBack)).toEqual(plainRead(builtBack));
        expect(fromArrow(fastBack)).toEqual(fromArrow(builtBack));
      }),
      { numRuns: 300, seed: 15 },
    );
  });

  it("fromArrow: the same values as apache-arrow's iterator, also for sliced tables and several batches", () => {
    fc.assert(
      fc.property(table, fc.nat(), fc.nat(), (t, a, b) => {
        const arrow = toArrow(t, {}, { builders: true });
        const twice = arrow.concat(toArrow(t));
        const start = t.numRows === 0 ? 0 : a % t.numRows;
        const end = start + (t.numRows === 0 ? 0 : b % (t.numRows - start + 1));
        for (const x of [arrow, twice, arrow.slice(start, end), twice.slice(start, end + t.numRows)]) {
          expect(fromArrow(x).columns).toEqual(plainRead(x));
          expect(fromArrow(x).numRows).toBe(x.numRows);
        }
      }),
      { numRuns: 300, seed: 15 },
    );
  });

  it("a round trip keeps every value, -0 and NaN included", () => {
    fc.assert(
      fc.property(table, (t) => {
        const back = fromArrow(decodeArrowIpc(encodeArrowIpc(toArrow(t))));
        t.columns.forEach((values, i) => {
          const got = back.columns[i] as Cell[];
          values.forEach((v, r) => {
            if (typeof v === "number" && typeof got[r] === "number") expect(Object.is(got[r], v)).toBe(true);
            else if (v === undefined) expect(got[r]).toBeNull();
          });
        });
      }),
      { numRuns: 200, seed: 15 },
    );
  });
});

describe("text read from Arrow's buffers: repeated short values shared", () => {
  it("random columns long enough to share (256 rows or more): the same values as apache-arrow's iterator, sliced too", () => {
    const longColumn = fc.array(fc.oneof({ weight: 8, arbitrary: label }, { weight: 1, arbitrary: text }, { weight: 1, arbitrary: missing }), {
      minLength: 256,
      maxLength: 700,
    });
    fc.assert(
      fc.property(longColumn, fc.nat(), (values, a) => {
        const arrow = toArrow({ names: ["s"], columns: [values as Cell[]], numRows: values.length });
        const start = a % 100;
        for (const x of [arrow, arrow.concat(arrow).slice(start, start + values.length)]) expect(fromArrow(x).columns).toEqual(plainRead(x));
      }),
      { numRuns: 100, seed: 15 },
    );
  });

  it("more distinct values than the shared slots (4,096), hash twins, and repeats in every chunk: each cell its own value", () => {
    // 9,000 distinct ids (more than fromArrow's 4,096 slots: past them it stops sharing), then
    // labels and hash twins repeated, in three record batches, one of them sliced.
    const ids = Array.from({ length: 9_000 }, (_, i) => `id-${i}`);
    const labels = Array.from({ length: 9_000 }, (_, i) => ["Aa", "BB", "Torgersen", "Biscoe", null, ""][i % 6] as Cell);
    for (const values of [
      [...ids, ...labels],
      [...labels, ...ids],
      [...labels, ...labels],
    ]) {
      const arrow = toArrow({ names: ["s"], columns: [values], numRows: values.length });
      const batches = arrow.concat(arrow.slice(7, 5_000), arrow);
      for (const x of [arrow, batches, decodeArrowIpc(encodeArrowIpc(batches))]) expect(fromArrow(x).columns).toEqual(plainRead(x));
    }
  });
});

describe("timestamps and dates read from their buffers give apache-arrow's instants", () => {
  const A = arrowLib();
  const types = [
    () => new A.TimestampSecond(),
    () => new A.TimestampMillisecond(),
    () => new A.TimestampMicrosecond(),
    () => new A.TimestampNanosecond(),
    () => new A.DateMillisecond(),
    () => new A.DateDay(),
  ];
  // NB: around zero, today's instants in every unit, the edges of safe integers and of 64 bits
  // (apache-arrow refuses second and millisecond counts past 2^53; sub-millisecond units divide first).
  const int64 = fc.oneof(
    fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
    fc.bigInt({ min: -(2n ** 53n) - 5n, max: 2n ** 53n + 5n }),
    fc.bigInt({ min: -5000n, max: 5000n }),
    fc.constantFrom(1_733_500_000n, 1_733_500_000_123n, 1_733_500_000_123_456n, 1_733_500_000_123_456_789n, -1n, -999n, -1000n, -1001n),
  );
  const instant = (v: Cell): number | null | string => (v instanceof Date ? v.getTime() : v === null ? null : `not a Date: ${String(v)}`);
  const read = (run: () => Cell[]): (number | null | string)[] | string => {
    try {
      return run().map(instant);
    } catch (error) {
      return `throws: ${(error as Error).message}`;
    }
  };

  it("every unit, missing values, slices: the same Date as the iterator, or a refusal of a time no Date holds", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: types.length - 1 }), fc.array(fc.option(int64, { freq: 5 }), { maxLength: 30 }), fc.nat(), (which, cells, cut) => {
        const type = types[which]!();
        const days = A.DataType.isDate(type) && type.unit === A.DateUnit.DAY;
        // NB: times finer than a millisecond are refused (the test below): here, whole milliseconds of every unit.
        const perMs = A.DataType.isTimestamp(type) ? [0n, 0n, 1000n, 1_000_000n][type.unit]! : 0n;
        const whole = (v: bigint): bigint => (perMs === 0n ? v : BigInt.asIntN(64, v - (v % perMs)));
        const values = days ? Int32Array.from(cells, (v) => Number(BigInt.asIntN(32, v ?? 0n))) : BigInt64Array.from(cells, (v) => whole(v ?? 0n));
        const nullBitmap = new Uint8Array(Math.ceil(cells.length / 8));
        cells.forEach((v, i) => {
          if (v !== null) nullBitmap[i >> 3]! |= 1 << (i & 7);
        });
        const nullCount = cells.filter((v) => v === null).length;
        const vector = A.makeVector(A.makeData({ type, length: cells.length, nullCount, nullBitmap, data: values } as never));
        const table = new A.Table({ t: vector });
        const start = cells.length === 0 ? 0 : cut % cells.length;
        for (const x of [table, table.slice(start), table.concat(table).slice(start)]) {
          const iterated = read(() => Array.from(x.getChildAt(0) as Iterable<Cell>).map((v) => (typeof v === "number" ? new Date(v) : v)));
          const fast = read(() => fromArrow(x).columns[0] as Cell[]);
          // NB: a time no Date holds was an Invalid Date from the iterator (its instant NaN), or its refusal
          // "not safe to convert to a number" (called damaged data); fromArrow refuses it, naming its first value.
          const invalidAt = typeof iterated === "string" ? -1 : iterated.findIndex((v) => typeof v === "number" && Number.isNaN(v));
          if (invalidAt >= 0 || (typeof iterated === "string" && /not safe to convert/.test(iterated))) {
            expect(fast).toMatch(
              /^throws: Column "t" of the Arrow data holds a time JavaScript's dates cannot: -?\d+ (days|seconds|milliseconds|microseconds|nanoseconds) from 1970/,
            );
            // NB: the first such value, as the cells give it.
            if (invalidAt >= 0) expect(fast).toContain(`cannot: ${String(x.getChildAt(0)?.data[0]?.values[invalidAt] ?? "")}`);
          } else expect(fast).toEqual(iterated);
        }
      }),
      { numRuns: 600, seed: 15 },
    );
  });

  // Found by an audit: a time finer than a millisecond was cut to it without a word, where the same
  // time as text (JSON, CSV) is refused as lossy.
  it.each([
    ["microseconds", () => new A.TimestampMicrosecond(), 1_609_459_200_123_456n, "1609459200123456 microseconds from 1970"],
    ["nanoseconds", () => new A.TimestampNanosecond(), 1_700_000_000_123_456_789n, "1700000000123456789 nanoseconds from 1970"],
    ["nanoseconds before 1970", () => new A.TimestampNanosecond(), -1n, "-1 nanoseconds from 1970"],
  ])("a time in %s finer than a millisecond is refused, naming the column and the value; whole milliseconds read", (_unit, type, value, named) => {
    const column = (v: bigint) =>
      new A.Table({ t: A.makeVector(A.makeData({ type: type(), length: 2, nullCount: 0, data: BigInt64Array.of(0n, v) } as never)) });
    expect(() => fromArrow(column(value))).toThrow(
      `Column "t" of the Arrow data holds a time finer than a millisecond (${named}), which pipeserve's dates cannot hold.`,
    );
    const perMs = type().unit === A.TimeUnit.MICROSECOND ? 1000n : 1_000_000n;
    const whole = value - (((value % perMs) + perMs) % perMs);
    expect((fromArrow(column(whole)).columns[0] as Date[])[1]?.getTime()).toBe(Number(whole / perMs));
  });
});

describe("64-bit integers, LargeUtf8 and dictionary-encoded text read from their buffers (pandas, Polars and Parquet send them)", () => {
  const A = arrowLib();
  const int64 = fc.oneof(
    fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
    fc.bigInt({ min: -(2n ** 53n) - 5n, max: 2n ** 53n + 5n }),
    fc.bigInt({ min: -(2n ** 33n), max: 2n ** 33n }),
    fc.constantFrom(0n, -1n, 2n ** 32n - 1n, 2n ** 32n, -(2n ** 32n), 2n ** 53n - 1n, -(2n ** 53n - 1n), 2n ** 53n, -(2n ** 53n), 2n ** 63n - 1n, -(2n ** 63n)),
  );
  /** A table of one column from cells and a type, with a validity bitmap for the nulls. */
  function tableOf<T>(type: InstanceType<typeof A.DataType>, cells: (T | null)[], build: (cells: (T | null)[]) => Record<string, unknown>) {
    const nullBitmap = new Uint8Array(Math.ceil(cells.length / 8));
    cells.forEach((v, i) => {
      if (v !== null) nullBitmap[i >> 3]! |= 1 << (i & 7);
    });
    const nullCount = cells.filter((v) => v === null).length;
    return new A.Table({ c: A.makeVector(A.makeData({ type, length: cells.length, nullCount, nullBitmap, ...build(cells) } as never)) });
  }
  /** What the iterator gives, with fromArrow's one conversion: safe 64-bit integers as numbers. */
  const iterated = (x: { getChildAt(index: number): unknown }): Cell[] =>
    Array.from(x.getChildAt(0) as Iterable<Cell>).map((v) =>
      typeof v === "bigint" && v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(v) : v,
    );

  it("Int64: numbers where safe, bigints where not, null where missing, as the iterator reads them; sliced and in several batches", () => {
    fc.assert(
      fc.property(fc.array(fc.option(int64, { freq: 5 }), { maxLength: 40 }), fc.nat(), (cells, cut) => {
        const table = tableOf(new A.Int64(), cells, (c) => ({ data: BigInt64Array.from(c, (v) => v ?? 0n) }));
        const start = cells.length === 0 ? 0 : cut % cells.length;
        for (const x of [table, table.slice(start), table.concat(table).slice(start), decodeArrowIpc(encodeArrowIpc(table.concat(table)))]) {
          const got = fromArrow(x as Parameters<typeof fromArrow>[0]).columns[0] as Cell[];
          expect(got).toEqual(iterated(x));
          got.forEach((v) => expect(typeof v === "bigint" ? v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER) : true).toBe(true));
        }
      }),
      { numRuns: 400, seed: 15 },
    );
  });

  it("LargeUtf8: the same strings as the iterator, labels shared or not, sliced, several batches, through IPC", () => {
    const cell = fc.oneof({ weight: 4, arbitrary: label }, { weight: 2, arbitrary: text }, { weight: 1, arbitrary: fc.constant(null) });
    fc.assert(
      fc.property(fc.oneof(fc.array(cell, { maxLength: 40 }), fc.array(cell, { minLength: 256, maxLength: 400 })), fc.nat(), (cells, cut) => {
        const vector = A.vectorFromArray(cells, new A.LargeUtf8());
        const table = new A.Table({ c: vector });
        const start = cells.length === 0 ? 0 : cut % cells.length;
        for (const x of [table, table.slice(start), table.concat(table).slice(start), decodeArrowIpc(encodeArrowIpc(table.concat(table)))]) {
          expect(A.DataType.isLargeUtf8(x.schema.fields[0]!.type)).toBe(true);
          expect(fromArrow(x as Parameters<typeof fromArrow>[0]).columns[0]).toEqual(iterated(x));
        }
      }),
      { numRuns: 300, seed: 15 },
    );
  });

  it("dictionary-encoded text (pandas categoricals): the same strings as the iterator; several dictionaries, slices, IPC", () => {
    const cell = fc.oneof({ weight: 4, arbitrary: label }, { weight: 2, arbitrary: text }, { weight: 1, arbitrary: fc.constant(null) });
    const indexTypes = [() => new A.Int8(), () => new A.Int16(), () => new A.Int32(), () => new A.Uint8(), () => new A.Uint16(), () => new A.Uint32()];
    fc.assert(
      fc.property(
        // NB: apache-arrow's own getChildAt fails on a table that concatenates an empty dictionary batch.
        fc.array(cell, { minLength: 1, maxLength: 60 }),
        fc.array(cell, { minLength: 1, maxLength: 30 }),
        fc.integer({ min: 0, max: indexTypes.length - 1 }),
        fc.boolean(),
        fc.nat(),
        (first, second, which, large, cut) => {
          const valueType = () => (large ? new A.LargeUtf8() : new A.Utf8());
          // NB: Uint8 and Int8 indices hold few values: a column of at most as many distinct ones.
          const narrow = (cells: (string | null)[]) => (which === 0 || which === 3 ? cells.map((v) => (v === null ? v : v.slice(0, 1))) : cells);
          const a = A.vectorFromArray(narrow(first), new A.Dictionary(valueType(), indexTypes[which]!()));
          const b = A.vectorFromArray(narrow(second), new A.Dictionary(valueType(), indexTypes[which]!()));
          const table = new A.Table({ c: a }).concat(new A.Table({ c: b }));
          const start = table.numRows === 0 ? 0 : cut % table.numRows;
          for (const x of [table, table.slice(start), table.slice(0, start), decodeArrowIpc(encodeArrowIpc(table))]) {
            expect(A.DataType.isDictionary(x.schema.fields[0]!.type)).toBe(true);
            expect(fromArrow(x as Parameters<typeof fromArrow>[0]).columns[0]).toEqual(iterated(x));
          }
        },
      ),
      { numRuns: 300, seed: 15 },
    );
  });

  it("a dictionary index outside its dictionary (damaged data) is refused, naming the column", () => {
    const dictionary = A.vectorFromArray(["x", "y"], new A.Utf8());
    const type = new A.Dictionary(new A.Utf8(), new A.Int32());
    for (const bad of [2, -1]) {
      const data = A.makeData({ type, length: 2, nullCount: 0, data: Int32Array.from([0, bad]), dictionary } as never);
      const table = new A.Table({ c: A.makeVector(data) });
      expect(() => fromArrow(table as Parameters<typeof fromArrow>[0])).toThrow(FormatError);
      expect(() => fromArrow(table as Parameters<typeof fromArrow>[0])).toThrow(
        new RegExp(`column "c" of the Arrow data, which is damaged: value 1 has dictionary index ${bad}, outside its 2 values`),
      );
    }
  });

  it("reads Int64, LargeUtf8 and dictionary-encoded text without apache-arrow's iterator (Uint64 still takes it)", () => {
    const proto = A.Vector.prototype as unknown as Record<symbol, (this: unknown) => Iterator<unknown>>;
    const original = proto[Symbol.iterator] as (this: unknown) => Iterator<unknown>;
    let calls = 0;
    proto[Symbol.iterator] = function (this: unknown) {
      calls++;
      return original.call(this);
    };
    const iteratorCalls = (vector: unknown): number => {
      calls = 0;
      fromArrow(new A.Table({ c: vector as never }) as Parameters<typeof fromArrow>[0]);
      return calls;
    };
    try {
      const labels = Array.from({ length: 300 }, (_, i) => (i % 7 === 0 ? null : ["Dream", "Biscoe", "é"][i % 3]!));
      expect(iteratorCalls(A.vectorFromArray([1n, null, -(2n ** 60n)], new A.Int64()))).toBe(0);
      expect(iteratorCalls(A.vectorFromArray(labels, new A.LargeUtf8()))).toBe(0);
      expect(iteratorCalls(A.vectorFromArray(labels, new A.Dictionary(new A.Utf8(), new A.Int32())))).toBe(0);
      expect(iteratorCalls(A.vectorFromArray([1n, null], new A.Uint64()))).toBeGreaterThan(0);
    } finally {
      proto[Symbol.iterator] = original;
    }
  });

  it("LargeUtf8 offsets outside the values (damaged data) are refused, naming the column", () => {
    for (const bad of [2n ** 40n, 2n ** 31n, 4n, -1n]) {
      const offsets = BigInt64Array.from([0n, 2n, bad]);
      const table = tableOf(new A.LargeUtf8(), ["ab", "c"], () => ({ valueOffsets: offsets, data: new TextEncoder().encode("abc") }));
      expect(() => fromArrow(table)).toThrow(FormatError);
      expect(() => fromArrow(table)).toThrow(/column "c" of the Arrow data, which is damaged: offset 2 is -?\d+, outside its 3 bytes/);
    }
  });
});

describe("text whose offsets end before its values do (damaged data)", () => {
  it("Utf8 and LargeUtf8 with fewer offsets than values + 1: refused naming the column, not each cell read as the whole buffer", () => {
    const A = arrowLib();
    for (const [type, offsets] of [
      [new A.Utf8(), Int32Array.from([0, 1])],
      [new A.LargeUtf8(), BigInt64Array.from([0n, 1n])],
    ] as const) {
      const data = A.makeData({ type, length: 100_000, nullCount: 0, valueOffsets: offsets, data: new TextEncoder().encode("x".repeat(1 << 16)) } as never);
      const table = new A.Table({ c: A.makeVector(data) }) as Parameters<typeof fromArrow>[0];
      const started = performance.now();
      expect(() => fromArrow(table)).toThrow(FormatError);
      expect(() => fromArrow(table)).toThrow(/column "c" .*damaged: its 100000 values have 2 offsets, not 100001/);
      expect(performance.now() - started).toBeLessThan(1000);
      // NB: a chunk of no values may come without offsets at all (writers leave the buffer out): no rows, no error.
      const empty = A.makeData({ type, length: 0, nullCount: 0, valueOffsets: offsets.subarray(0, 0), data: new Uint8Array(0) } as never);
      expect(fromArrow(new A.Table({ c: A.makeVector(empty) }) as Parameters<typeof fromArrow>[0])).toEqual({ names: ["c"], columns: [[]], numRows: 0 });
    }
  });
});
