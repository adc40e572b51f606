// The `/invocations` JSON answer of a table is written as UTF-8 bytes straight from the columns
// (`encodePredictionsUtf8`; a small answer as a string, `encodePredictions`), and `predict`'s JSON
// output writes the same bytes (`tableToRecordsJsonBytes`). These property tests hold the writer to a
// plain reference over random tables: every kind of cell (finite and non-finite numbers, -0, text
// with quotes, control characters, non-ASCII and lone surrogates, booleans, null, undefined,
// Dates, bytes, bigints, nested values), column names of every kind (integer-like names keep their
// place), 0, 1 and many rows, columns as plain and typed arrays: the bytes must be exactly the
// reference's UTF-8, each row `{"name":JSON.stringify(value),...}` in column order.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  BYTES_ANSWER_MIN_ROWS,
  type Cell,
  type ColumnTable,
  encodePredictions,
  encodePredictionsBody,
  encodePredictionsUtf8,
  tableToRecordsJson,
  tableToRecordsJsonBytes,
  toJsonValue,
} from "../../src/tabular/index.js";

/** A cell as the answer writes it, the plain way: finite numbers as JSON.stringify writes them, other numbers and nothing as null. */
function referenceCell(value: Cell): string {
  if (typeof value === "number") return Number.isFinite(value) ? JSON.stringify(value) : "null";
  if (value === undefined || value === null) return "null";
  return JSON.stringify(toJsonValue(value)) ?? "null";
}

function referenceRecords(table: ColumnTable): string {
  const rows: string[] = [];
  for (let r = 0; r < table.numRows; r++) {
    rows.push(`{${table.names.map((name, c) => `${JSON.stringify(name)}:${referenceCell((table.columns[c] as ArrayLike<Cell>)[r] as Cell)}`).join(",")}}`);
  }
  return `[${rows.join(",")}]`;
}

const text = fc.oneof(
  fc.string(),
  fc.string({ unit: "grapheme" }),
  fc.string({ unit: "binary" }),
  fc.constantFrom("Adelie", "Gentoo", 'q"uote', "back\\slash", "tab\tnew\nline\u0000", "\ud800", "a\udc00b", "Ærø 🐧", ""),
);
const number = fc.oneof(fc.double(), fc.integer(), fc.constantFrom(-0, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 1e21, 5e-324));
const other: fc.Arbitrary<Cell> = fc.oneof(
  fc.boolean(),
  fc.constantFrom(null, undefined),
  fc.date({ noInvalidDate: true }),
  fc.uint8Array({ maxLength: 6 }),
  fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }),
  fc.array(fc.oneof(number, fc.string()), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 3 }), number, { maxKeys: 2 }),
) as fc.Arbitrary<Cell>;

/** A column of `rows` cells: text, numbers (plain or as a Float64Array), or anything. */
function column(rows: number): fc.Arbitrary<ArrayLike<Cell>> {
  return fc.oneof(
    fc.array(fc.oneof(text, fc.constant(null)), { minLength: rows, maxLength: rows }),
    fc.array(number, { minLength: rows, maxLength: rows }),
    fc.array(fc.double(), { minLength: rows, maxLength: rows }).map((values) => Float64Array.from(values)),
    fc.array(fc.oneof(text, number, other), { minLength: rows, maxLength: rows }),
  ) as fc.Arbitrary<ArrayLike<Cell>>;
}

const table: fc.Arbitrary<ColumnTable> = fc
  .record({
    rows: fc.oneof(fc.constant(0), fc.constant(1), fc.integer({ min: 2, max: 40 })),
    names: fc.uniqueArray(fc.oneof(fc.string(), fc.constantFrom("1", "0", "__proto__", "10", "a")), { maxLength: 5 }),
  })
  .chain(({ rows, names }) =>
    fc.tuple(...names.map(() => column(rows))).map((columns) => ({ names, columns: columns as unknown as ColumnTable["columns"], numRows: rows })),
  );

describe("the JSON answer written as UTF-8 straight from the columns", () => {
  it("is the reference's bytes, for any table", () => {
    fc.assert(
      fc.property(table, (t) => {
        const reference = referenceRecords(t);
        expect(Buffer.from(encodePredictionsUtf8(t)).toString("utf8")).toBe(`{"predictions":${reference}}`);
        expect(Buffer.from(encodePredictionsUtf8(t)).equals(Buffer.from(`{"predictions":${reference}}`, "utf8"))).toBe(true);
        expect(encodePredictions(t)).toBe(`{"predictions":${reference}}`);
        expect(tableToRecordsJson(t)).toBe(reference);
        const body = encodePredictionsBody(t);
        expect(typeof body === "string" ? body : Buffer.from(body).toString("utf8")).toBe(`{"predictions":${reference}}`);
        expect(Buffer.from(tableToRecordsJsonBytes(t)).toString("utf8")).toBe(reference.slice(1, -1));
      }),
      { numRuns: 400 },
    );
  });

  it("an object of columns (what `columns` pipelines return) is written as the same table", () => {
    fc.assert(
      fc.property(table, (t) => {
        if (t.names.length === 0 || t.names.includes("__proto__")) return;
        const object: Record<string, ArrayLike<Cell>> = {};
        t.names.forEach((name, c) => {
          object[name] = t.columns[c] as ArrayLike<Cell>;
        });
        // NB: an object keeps integer-like keys first, in numeric order: its columns are in that order.
        const names = Object.keys(object);
        const reordered: ColumnTable = {
          names,
          columns: names.map((n) => object[n] as ArrayLike<Cell>) as unknown as ColumnTable["columns"],
          numRows: t.numRows,
        };
        expect(Buffer.from(encodePredictionsUtf8(object)).toString("utf8")).toBe(`{"predictions":${referenceRecords(reordered)}}`);
      }),
      { numRuns: 200 },
    );
  });

  it("the server's answer is a string below BYTES_ANSWER_MIN_ROWS rows (cheaper there), bytes from there on: the same text", () => {
    const rows = (n: number): ColumnTable => ({
      names: ["s", "p"],
      columns: [Array.from({ length: n }, (_, i) => `r${i}é`), Float64Array.from({ length: n }, (_, i) => i / 7)],
      numRows: n,
    });
    const below = encodePredictionsBody(rows(BYTES_ANSWER_MIN_ROWS - 1));
    const at = encodePredictionsBody(rows(BYTES_ANSWER_MIN_ROWS));
    expect(typeof below).toBe("string");
    expect(at).toBeInstanceOf(Uint8Array);
    expect(below).toBe(encodePredictions(rows(BYTES_ANSWER_MIN_ROWS - 1)));
    expect(Buffer.from(at as Uint8Array).toString("utf8")).toBe(encodePredictions(rows(BYTES_ANSWER_MIN_ROWS)));
    const object = { s: ["a"], p: [1] };
    expect(encodePredictionsBody(object)).toBe('{"predictions":[{"s":"a","p":1}]}');
  });

  it("a big answer grows its buffer: 100,000 rows of long text and numbers", () => {
    const n = 100_000;
    const t: ColumnTable = {
      names: ["label", "p"],
      columns: [Array.from({ length: n }, (_, i) => `${"x".repeat(i % 50)}ü${i}`), Float64Array.from({ length: n }, (_, i) => i / 3)],
      numRows: n,
    };
    expect(Buffer.from(encodePredictionsUtf8(t)).toString("utf8")).toBe(`{"predictions":${referenceRecords(t)}}`);
  });
});
