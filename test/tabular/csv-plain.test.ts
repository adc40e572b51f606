import { parse } from "csv-parse/sync";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { PlainCsvCheck, plainCsvRecords } from "../../src/tabular/csv-plain.js";
import { CSV_PARSE_OPTIONS, csvRecordBatches, utf8Cut } from "../../src/tabular/csv-stream.js";
import { parseCsv, toCsv } from "../../src/tabular/index.js";
import { stringify } from "csv-stringify/sync";

/** What csv-parse gives for the bytes: records, or its error's message. */
function reference(bytes: Uint8Array): string[][] | string {
  try {
    return parse(Buffer.from(bytes), CSV_PARSE_OPTIONS) as string[][];
  } catch (error) {
    return (error as Error).message;
  }
}

async function streamed(bytes: Uint8Array, cuts: readonly number[]): Promise<string[][] | string> {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  async function* pieces(): AsyncGenerator<Uint8Array> {
    let from = 0;
    for (const p of [...points, bytes.length]) {
      yield bytes.subarray(from, p);
      from = p;
    }
  }
  const records: string[][] = [];
  try {
    for await (const batch of csvRecordBatches(pieces())) records.push(...batch);
    return records;
  } catch (error) {
    return (error as Error).message;
  }
}

const field = fc.oneof(
  fc.constantFrom("", "a", "1", "-2.5e3", "+.5", "NaN", "-inf", "true", "FALSE", "0x1F", " 7 ", "é", "😀", "\uFEFF", "null", "\t"),
  fc.string({ maxLength: 6 }),
  fc.string({ unit: "grapheme", maxLength: 4 }),
  fc.double().map(String),
);
const quoted = fc
  .tuple(field, fc.constantFrom("", ",", '"', "\n", "\r\n", "\r", ",,", '""'), field)
  .map(([a, mid, b]) => `"${`${a}${mid}${b}`.replaceAll('"', '""')}"`);
const cell = fc.oneof({ weight: 3, arbitrary: field.filter((s) => !/[",\r\n]/.test(s)) }, { weight: 1, arbitrary: quoted });
/** Mostly well-formed CSV (one line end throughout, rows as wide as the header), sometimes damaged. */
const csvText = fc
  .record({
    width: fc.integer({ min: 1, max: 4 }),
    rows: fc.integer({ min: 0, max: 8 }),
    lineEnd: fc.constantFrom("\n", "\r\n", "\r"),
    cells: fc.array(cell, { minLength: 40, maxLength: 40 }),
    bom: fc.boolean(),
    trailing: fc.constantFrom("", "\n", "\r\n", "\n\n"),
    blank: fc.nat({ max: 10 }),
    ragged: fc.option(fc.nat({ max: 10 })),
    damage: fc.array(fc.tuple(fc.nat(), fc.constantFrom('"', ",", "\n", "\r", "\r\n", "x", '""', " ", "\uFEFF")), { maxLength: 2 }),
  })
  .map(({ width, rows, lineEnd, cells, bom, trailing, blank, ragged, damage }) => {
    const lines: string[] = [];
    let k = 0;
    for (let r = 0; r <= rows; r++) {
      const w = ragged !== null && ragged === r ? width + 1 : width;
      lines.push(Array.from({ length: w }, () => cells[k++ % cells.length] as string).join(","));
      if (r === blank) lines.push("");
    }
    let text = (bom ? "\uFEFF" : "") + lines.join(lineEnd) + trailing;
    for (const [at, piece] of damage) {
      const p = at % (text.length + 1);
      text = text.slice(0, p) + piece + text.slice(p);
    }
    return text;
  });
const anyText = fc.oneof(csvText, fc.string({ unit: fc.constantFrom('"', ",", "\n", "\r", "a", "é", "\uFEFF"), maxLength: 30 }));
/** Bytes of the text, with a few bytes that are no UTF-8 (or a UTF-16 byte-order mark) sometimes put in. */
const csvBytes = fc
  .tuple(anyText, fc.array(fc.tuple(fc.nat(), fc.constantFrom(0x80, 0xc3, 0xe2, 0xf0, 0xff, 0xfe)), { maxLength: 2 }), fc.boolean())
  .map(([text, bad, utf16]) => {
    const bytes = [...Buffer.from(text)];
    for (const [at, byte] of bad) bytes.splice(at % (bytes.length + 1), 0, byte);
    if (utf16) bytes.unshift(0xff, 0xfe);
    return Uint8Array.from(bytes);
  });

describe("CSV read by uDSV where plain, else csv-parse", () => {
  it("gives csv-parse's records, or its error, for any text read whole", () => {
    fc.assert(
      fc.property(anyText, (text) => {
        const expected = reference(Buffer.from(text));
        const plain = plainCsvRecords(text, ",");
        if (plain !== undefined) expect(plain).toEqual(expected);
      }),
      { numRuns: 3000 },
    );
  });

  it("gives csv-parse's records, or its error with the same line, for any bytes read in pieces cut anywhere", async () => {
    await fc.assert(
      fc.asyncProperty(csvBytes, fc.array(fc.nat(), { maxLength: 6 }), async (bytes, cuts) => {
        expect(await streamed(bytes, cuts)).toEqual(reference(bytes));
      }),
      { numRuns: 2000 },
    );
  });

  it("parseCsv gives the table csv-parse's records make, or the same error", () => {
    fc.assert(
      fc.property(csvBytes, fc.boolean(), (bytes, raw) => {
        const outcome = (read: () => unknown): unknown => {
          try {
            return read();
          } catch (error) {
            return `${(error as Error).constructor.name}: ${(error as Error).message}`;
          }
        };
        const expected = reference(bytes);
        const got = outcome(() => parseCsv(bytes, { raw }));
        if (typeof expected === "string") expect(got).toBe(`FormatError: Could not parse the CSV input: ${expected}`);
        else if (expected.length === 0) expect(got).toMatch(/The CSV input is empty/);
        else expect(got).toEqual(outcome(() => parseCsv(Buffer.from(bytes).toString("utf8") === "" ? "" : bytes, { raw })));
      }),
      { numRuns: 500 },
    );
  });

  it("reads a plain CSV file of real shape whole and in pieces alike", async () => {
    const text = `island,bill_length_mm,sex\r\n${Array.from({ length: 2000 }, (_, i) => `Torgersen,${(i / 7).toFixed(2)},"M, ""x""\r\nale"`).join("\r\n")}\r\n`;
    const bytes = Buffer.from(text);
    expect(plainCsvRecords(text, ",")).toEqual(reference(bytes));
    expect(await streamed(bytes, [1, 100, 4096, 4097, 30_000])).toEqual(reference(bytes));
  });

  it.each([
    ["a ragged row", "a,b\n1,2\n3\n", /CSV line 3 has 1 fields but the header has 2/],
    ["an unclosed quote", 'a,b\n1,"unclosed\n', /Could not parse the CSV input: Quote Not Closed: the parsing is finished with an opening quote at line 2/],
    ["a stray quote", 'a,b\n1,2\n3,x"y\n', /Invalid Opening Quote: a quote is found on field 1 at line 3/],
    ["a header only", "a,b\n", null],
    ["an empty file", "", /The CSV input is empty/],
  ])("keeps today's outcome for %s", (_, text, message) => {
    if (message) expect(() => parseCsv(text, { raw: true })).toThrow(message);
    else expect(parseCsv(text, { raw: true })).toEqual({ names: ["a", "b"], columns: [[], []], numRows: 0 });
  });

  it.each([
    ["x\n1\n2\n", true],
    ["x\r\n1\r\n2", true],
    ["x\n1\n\n2\n", false],
    ["\nx\n1\n", false],
    ['x\n""\n3\n', false],
    ['"x"\n1\n', false],
    ["x\n\uFEFF\n", false],
  ])("one column %j is plain (read by uDSV, ~10× faster than csv-parse) only without quotes, inner empty lines or byte-order marks: %s", (text, plain) => {
    const check = new PlainCsvCheck(",");
    check.run(text);
    check.finish();
    expect(check.plain).toBe(plain);
  });

  it("cuts bytes only where decoding the parts gives the whole's text", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 12 }), fc.uint8Array({ maxLength: 6 }), (a, b) => {
        const cut = utf8Cut(a);
        const parts = Buffer.from(a.subarray(0, cut)).toString("utf8") + Buffer.concat([a.subarray(cut), b]).toString("utf8");
        expect(parts).toBe(Buffer.concat([a, b]).toString("utf8"));
      }),
      { numRuns: 3000 },
    );
  });
});

// Found by an audit: each piece of a record not yet ended was added to the pending text and the
// pending bytes, copying the whole record again: one record of 20 MB took 20 s. Quadratic, this
// one would run for minutes: the test's timeout fails it.
it("a record of 48 MB read in 64 KiB pieces is read in one pass", async () => {
  const long = "x".repeat(48 << 20);
  const bytes = Buffer.from(`a,b\n1,${long}\n"q",2\n`);
  async function* pieces(): AsyncGenerator<Uint8Array> {
    for (let at = 0; at < bytes.length; at += 1 << 16) yield bytes.subarray(at, at + (1 << 16));
  }
  const records: string[][] = [];
  for await (const batch of csvRecordBatches(pieces())) records.push(...batch);
  expect(records.map((r) => r.map((cell) => (cell.length > 10 ? cell.length : cell)))).toEqual([
    ["a", "b"],
    ["1", long.length],
    ["q", "2"],
  ]);
});

describe("toCsv", () => {
  // Found by an audit: a one-column answer with a missing value was `a\n1\n\n3\n`, which pandas
  // (and pipeserve) read back as two rows.
  it("a one-column table with empty cells reads back with every row", () => {
    const table = { names: ["a"], columns: [[1, null, "", Number.NaN, 3]], numRows: 5 };
    const text = toCsv(table);
    expect(text).toBe('a\n1\n""\n""\n""\n3\n');
    expect(parseCsv(text, { raw: true }).numRows).toBe(5);
  });

  it("writes what csv-stringify writes for any table of text, numbers, booleans and missing values", () => {
    const value = fc.oneof(field, quoted, fc.double(), fc.boolean(), fc.constant(null), fc.string({ unit: fc.constantFrom('"', ",", "\n", "\r", "a") }));
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 4 }), fc.array(value, { maxLength: 24 }), fc.boolean(), (width, values, header) => {
        const names = Array.from({ length: width }, (_, i) => (i === 0 ? 'a,"b"' : `c${i}`));
        const numRows = Math.floor(values.length / width);
        const columns = names.map((_, c) => Array.from({ length: numRows }, (_, r) => values[r * width + c]));
        const table = { names, columns, numRows };
        const rows: string[][] = header ? [names] : [];
        for (let r = 0; r < numRows; r++) rows.push(columns.map((col) => cellText(col[r])));
        // NB: one empty field is a record written `""` (as Python's csv module and pandas write it); bare, it was a blank line, which readers skip.
        expect(toCsv(table, { header })).toBe(stringify(rows, width === 1 ? { quoted_match: /^$/ } : {}));
      }),
      { numRuns: 2000 },
    );
  });
});

function cellText(value: unknown): string {
  if (value === null || value === undefined) return "";
  if (typeof value === "number") return Number.isFinite(value) ? String(value) : Number.isNaN(value) ? "" : value > 0 ? "inf" : "-inf";
  return String(value);
}
