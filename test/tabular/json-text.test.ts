/**
 * Bounded JSON reading (issue 14, items 1 and 5): `parseJsonWithin` and `parseJsonInSlices` refuse
 * nesting deeper than MAX_JSON_DEPTH (400) and more rows or values than the limits (413, as soon as
 * the count is passed), and `parseJsonInSlices` gives exactly JSON.parse's value — key order,
 * duplicate keys and `__proto__` included — for texts big enough to be parsed chunk by chunk,
 * letting the event loop run in between.
 */
import { describe, expect, it } from "vitest";
import {
  FormatError,
  LimitError,
  MAX_JSON_DEPTH,
  NotUtf8Error,
  SLICED_JSON_MIN,
  parseJsonInSlices,
  parseJsonWithin,
  type TableLimits,
} from "../../src/tabular/index.js";

const LIMITS: TableLimits = { maxRows: 1_000, maxCells: 10_000 };
const bytes = (text: string): Uint8Array => Buffer.from(text, "utf8");

/** A JSON text of at least `min` characters: `make(n)` with n doubled until it is long enough. */
function atLeast(min: number, make: (n: number) => string): string {
  for (let n = 64; ; n *= 2) {
    const text = make(n);
    if (text.length >= min) return text;
  }
}

const rowArrays = (n: number): string =>
  `{"dataframe_split": {"columns": ["a", "s", "o"], "data": [${Array.from({ length: n }, (_, i) => `[${i}, "r\\"${i}]\\\\", {"k": [${i}, null]}]`).join(",\n ")}]}, "params": {"t": 0.5}}`;
const manyKeys = (n: number): string =>
  `{${Array.from({ length: n }, (_, i) => `"k${i % (n / 2)}": ${i}, "${i}": "v${i}"`).join(", ")}, "__proto__": {"x": 1}}`;
const nestedBig = (n: number): string =>
  `[${Array.from({ length: 4 }, (_, j) => `{"id": ${j}, "big": [${Array.from({ length: n }, (_, i) => `"${"é🐧".repeat(i % 5)}${i}"`).join(",")}], "id": "again ${j}"}`).join(",")}]`;
/** JSON string content full of structural characters: `a,[{\"}]` reads as a,[{"}]. */
const TRICKY = 'a,[{\\"}]';
const bigString = (n: number): string => `{"inputs": {"text": ["${TRICKY.repeat(n)}"]}, "params": null}`;
const duplicateBig = (n: number): string =>
  `{"inputs": [${Array.from({ length: n }, (_, i) => i).join(",")}], "inputs": {"a": [1]}, "x": [${"1,".repeat(n)}2]}`;

describe("parseJsonInSlices gives JSON.parse's value", () => {
  it.each([
    { what: "row arrays with strings that hold quotes, brackets and backslashes", make: rowArrays },
    { what: "an object with many keys, duplicates across chunks, whole-number keys and __proto__", make: manyKeys },
    { what: "big arrays inside a big array's objects, a later duplicate key, non-ASCII text", make: nestedBig },
    { what: "one big string full of structural characters", make: bigString },
    { what: "a big member replaced by a later duplicate key", make: duplicateBig },
  ])("$what", async ({ make }) => {
    const text = atLeast(SLICED_JSON_MIN * 2, make);
    const expected: unknown = JSON.parse(text);
    const got = await parseJsonInSlices(bytes(text));
    expect(got).toEqual(expected);
    // NB: the same key order, and `__proto__` as an own key, not the prototype.
    expect(JSON.stringify(got)).toBe(JSON.stringify(expected));
    if (Object.hasOwn(expected as object, "__proto__")) {
      expect(Object.getPrototypeOf(got)).toBe(Object.prototype);
      expect(Object.hasOwn(got as object, "__proto__")).toBe(true);
    }
  });

  it("lets the event loop run while it parses", async () => {
    const text = atLeast(SLICED_JSON_MIN * 4, rowArrays);
    let turns = 0;
    const count = (): void => {
      turns++;
      if (pending) setImmediate(count);
    };
    let pending = true;
    setImmediate(count);
    await parseJsonInSlices(bytes(text));
    pending = false;
    expect(turns).toBeGreaterThan(10);
  });

  it("decodes each chunk alone: a byte-order mark is dropped, bytes that are not UTF-8 are refused wherever they are", async () => {
    const text = atLeast(SLICED_JSON_MIN * 2, rowArrays);
    expect(await parseJsonInSlices(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), bytes(text)]))).toEqual(JSON.parse(text));
    const broken = bytes(text);
    broken[Math.floor(broken.length / 2)] = 0xff;
    const error = await parseJsonInSlices(broken).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NotUtf8Error);
    expect((error as Error).message).toBe("The request body is not valid UTF-8.");
  });

  it.each([
    { what: "a truncated body", edit: (t: string) => t.slice(0, -1) },
    { what: "trailing text", edit: (t: string) => `${t} x` },
    { what: "a second value", edit: (t: string) => `${t} []` },
    { what: "a mismatched bracket", edit: (t: string) => `${t.slice(0, -2)}]}` },
    { what: "a trailing comma in a big array", edit: (t: string) => t.replace(']}, "params"', ',]}, "params"') },
    { what: "a bad token deep in a chunk", edit: (t: string) => t.replace(`[${600}, `, `[${600}, tru, `) },
    { what: "an unterminated string", edit: (t: string) => `${t.slice(0, -3)}"` },
  ])("refuses $what as JSON.parse does (SyntaxError)", async ({ edit }) => {
    const text = edit(atLeast(SLICED_JSON_MIN * 2, rowArrays));
    expect(() => JSON.parse(text)).toThrow(SyntaxError);
    const error = await parseJsonInSlices(bytes(text)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SyntaxError);
    expect((error as Error).message).toMatch(/JSON|Unexpected|Unterminated|position/);
  });
});

const deep = (levels: number, inner = "1"): string => `${"[".repeat(levels)}${inner}${"]".repeat(levels)}`;

describe.each([
  { name: "parseJsonWithin", parse: async (text: string, limits?: TableLimits) => parseJsonWithin(text, limits) },
  { name: "parseJsonWithin on bytes", parse: async (text: string, limits?: TableLimits) => parseJsonWithin(bytes(text), limits) },
  { name: "parseJsonInSlices", parse: (text: string, limits?: TableLimits) => parseJsonInSlices(bytes(text), limits) },
])("$name: bounds", ({ parse }) => {
  it(`reads ${MAX_JSON_DEPTH} levels of nesting, and refuses more with a 400 naming the limit`, async () => {
    expect(await parse(`{"inputs": ${deep(MAX_JSON_DEPTH - 1)}}`)).toEqual({ inputs: JSON.parse(deep(MAX_JSON_DEPTH - 1)) });
    for (const text of [`{"inputs": ${deep(MAX_JSON_DEPTH)}}`, deep(10_000), `{"a": ${deep(10_000, '{"b": 1}')}}`]) {
      const error = await parse(text).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(FormatError);
      expect(error).not.toBeInstanceOf(LimitError);
      expect((error as FormatError).code).toBe("BAD_REQUEST");
      expect((error as Error).message).toContain(`more than ${MAX_JSON_DEPTH} levels deep`);
    }
  });

  it("does not count brackets inside strings", async () => {
    const text = `{"inputs": ["${"[".repeat(500)}", "\\"${"{".repeat(500)}"]}`;
    expect(await parse(text)).toEqual(JSON.parse(text));
  });

  it.each([
    {
      what: "a list of rows longer than maxRows, named by its path",
      text: `{"inputs": {"island": [${'"D",'.repeat(5_000)}"D"]}}`,
      parts: ["more than 1,000 rows", "inputs.island", "--max-rows"],
    },
    {
      what: "too many row objects",
      text: `{"dataframe_records": [${"{},".repeat(1_500)}{}]}`,
      parts: ["more than 1,000 rows", "dataframe_records", "--max-rows"],
    },
    {
      what: "more values than maxCells",
      text: `{"dataframe_split": {"data": [${Array.from({ length: 990 }, () => "[1,2,3,4,5,6,7,8,9,10,11,12]").join(",")}]}}`,
      parts: ["more than 10,000 cells", "--max-cells"],
    },
  ])("refuses $what with a 413 naming the figure and the flag", async ({ text, parts }) => {
    const error = await parse(text, LIMITS).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LimitError);
    expect((error as LimitError).code).toBe("REQUEST_TOO_LARGE");
    for (const part of parts) expect((error as Error).message).toContain(part);
  });

  it("takes up to the limits", async () => {
    const text = `{"inputs": [${Array.from({ length: 1_000 }, (_, i) => i).join(",")}]}`;
    expect(await parse(text, LIMITS)).toEqual(JSON.parse(text));
  });
});

describe("a big body past the limits is refused early", () => {
  it("a 50 MB list of 13 million strings is refused with the first rows past the limit", async () => {
    const text = `{"inputs": {"island": [${'"D",'.repeat(13_000_000)}"D"]}}`;
    const error = await parseJsonInSlices(bytes(text), { maxRows: 1_000_000, maxCells: 20_000_000 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LimitError);
    expect((error as Error).message).toContain("The request has more than 1,000,000 rows (inputs.island holds more than that many values)");
  });
});
