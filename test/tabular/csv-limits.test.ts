/**
 * CSV request bodies within limits (issue 14, item 1): records are counted before any is built,
 * quote-aware (a line end inside quotes is no record), and `parseCsvInSlices` reads a big body a
 * chunk of whole records at a time with exactly `parseCsv`'s result.
 */
import { describe, expect, it } from "vitest";
import { FormatError, LimitError, NotUtf8Error, parseCsv, parseCsvInSlices, type TableLimits } from "../../src/tabular/index.js";

const bytes = (text: string): Uint8Array => Buffer.from(text, "utf8");

/** `n` records with quoted commas, quoted line ends (LF and CRLF), escaped quotes, non-ASCII text and blank lines. */
function tricky(n: number): string {
  const lines = ["id,text,x"];
  for (let i = 0; i < n; i++) {
    lines.push(`${i},"a, b\r\n""c""\nd é🐧 ${i}",${i / 4}`);
    if (i % 1000 === 0) lines.push("");
  }
  return `${lines.join("\r\n")}\r\n`;
}

describe("parseCsvInSlices", () => {
  it("reads a body of a few megabytes as parseCsv does", async () => {
    const text = tricky(60_000);
    expect(text.length).toBeGreaterThan(2 << 20);
    const expected = parseCsv(text, { raw: true });
    expect(expected.numRows).toBe(60_000);
    expect(await parseCsvInSlices(bytes(text), { raw: true })).toEqual(expected);
    expect(await parseCsvInSlices(bytes(text), { raw: true, limits: { maxRows: 60_000, maxCells: 180_000 } })).toEqual(expected);
  });

  it("refuses bytes that are not UTF-8, and what csv-parse refuses", async () => {
    const body = bytes(tricky(60_000));
    body[body.length - 100] = 0xff;
    const notUtf8 = await parseCsvInSlices(body).catch((e: unknown) => e);
    expect(notUtf8).toBeInstanceOf(NotUtf8Error);
    expect((notUtf8 as Error).message).toBe("The request body is not valid UTF-8.");
    const notCsv = await parseCsvInSlices(bytes(`${tricky(60_000)}1,"unclosed\n`)).catch((e: unknown) => e);
    expect(notCsv).toBeInstanceOf(FormatError);
    expect((notCsv as Error).message).toContain("Could not parse the CSV input");
  });
});

describe("a ragged record's line", () => {
  // NB: as Excel writes CSV: CRLF between records, a multi-line cell's breaks LF, inside quotes;
  // and blank lines among them: a record's place is not its line. (csv-parse counts a CRLF inside
  // quotes as two lines; Excel does not write those.)
  const text = (n: number): string => {
    const lines = ["id,text,x"];
    for (let i = 0; i < n; i++) lines.push(`${i},"a, b\n""c""\nd é🐧 ${i}",${i / 4}${i % 1000 === 0 ? "\r\n" : ""}`);
    return `${lines.join("\r\n")}\r\n`;
  };
  const lineEnds = (t: string): number => t.match(/\r\n|\n|\r/g)?.length ?? 0;
  it.each([
    { name: "parseCsv", records: 500, parse: async (t: string) => parseCsv(t, { raw: true }) },
    { name: "parseCsvInSlices (over a megabyte: read in slices)", records: 60_000, parse: (t: string) => parseCsvInSlices(bytes(t), { raw: true }) },
  ])("$name names the line it is on in the text", async ({ records, parse }) => {
    const before = text(records);
    const error = await parse(`${before}oops\r\n0,"x",1\r\n`).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FormatError);
    expect((error as Error).message).toBe(`CSV line ${lineEnds(before) + 1} has 1 fields but the header has 3.`);
  });
});

describe.each([
  { name: "parseCsv", parse: async (text: string, limits: TableLimits) => parseCsv(text, { raw: true, limits }) },
  { name: "parseCsvInSlices", parse: (text: string, limits: TableLimits) => parseCsvInSlices(bytes(text), { raw: true, limits }) },
])("$name: limits", ({ parse }) => {
  it("counts records, not lines: line ends inside quotes do not count", async () => {
    const table = await parse(tricky(100), { maxRows: 100, maxCells: 300 });
    expect(table.numRows).toBe(100);
  });

  it.each([
    { what: "more rows", limits: { maxRows: 99, maxCells: 1e9 }, parts: ["more than 99 rows (CSV records after the header)", "--max-rows"] },
    { what: "more cells", limits: { maxRows: 1e9, maxCells: 299 }, parts: ["more than 299 cells", "--max-cells"] },
  ])("refuses $what with a LimitError naming the figure and the flag", async ({ limits, parts }) => {
    const error = await parse(tricky(100), limits).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LimitError);
    for (const part of parts) expect((error as Error).message).toContain(part);
  });

  it("refuses a header of more columns than maxCells, with no rows", async () => {
    const error = await parse(`${Array.from({ length: 50 }, (_, i) => `c${i}`).join(",")}\n`, { maxRows: 10, maxCells: 40 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LimitError);
    expect((error as Error).message).toContain("50 columns (and no rows)");
  });
});
