/**
 * JSON as Python's `json.loads` reads it (issue 12, section 1): the bare tokens `NaN`, `Infinity`
 * and `-Infinity` are numbers wherever a number may stand, exactly those spellings (what Python
 * refuses stays a SyntaxError), tokens inside strings stay strings, and everything else is exactly
 * JSON.parse's value and errors. The expected values and refusals below are what Python 3's
 * `json.loads` answers for the same texts.
 */
import { Readable } from "node:stream";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  type ColumnTable,
  FormatError,
  LimitError,
  MAX_JSON_DEPTH,
  SLICED_JSON_MIN,
  decodeTable,
  holdsNaN,
  nanAsMissing,
  parseJsonInSlices,
  parseJsonLines,
  parseJsonLinesInSlices,
  parseJsonText,
  parseJsonWithin,
  readTableChunks,
  type TableLimits,
} from "../../src/tabular/index.js";
import { expectError } from "./expect-error.js";

describe("parseJsonText reads what Python's json reads", () => {
  it.each([
    ["NaN", Number.NaN],
    ["Infinity", Infinity],
    ["-Infinity", -Infinity],
    [" NaN ", Number.NaN],
    ["[NaN]", [Number.NaN]],
    ["[ -Infinity ]", [-Infinity]],
    ['{"a":NaN}', { a: Number.NaN }],
    ["[NaN ,Infinity]", [Number.NaN, Infinity]],
    ["[1e400, -1e400]", [Infinity, -Infinity]],
    ['["Biscoe", NaN, NaN, 230.0, NaN, null]', ["Biscoe", Number.NaN, Number.NaN, 230, Number.NaN, null]],
    ['{"a": [NaN, {"b": [Infinity, "NaN", true, false, null, -0, 1.5e3]}]}', { a: [Number.NaN, { b: [Infinity, "NaN", true, false, null, -0, 1500] }] }],
  ])("%s", (text, expected) => {
    expect(parseJsonText(text)).toEqual(expected);
  });

  it.each([
    ["[nan]", "lower case"],
    ["[NaNx]", "a tail after NaN"],
    ["[NaN1]", "a digit after NaN"],
    ["[Infinityy]", "a tail after Infinity"],
    ["[Infinity1]", "a digit after Infinity"],
    ["[-Infinity-1]", "a tail after -Infinity"],
    ["[-NaN]", "a signed NaN"],
    ["[+Infinity]", "a plus sign"],
    ["[- Infinity]", "a space after the minus"],
    ["[Inf]", "a short spelling"],
    ["[infinity]", "lower case"],
    ["{NaN: 1}", "NaN as a key"],
    ["[NaN,]", "a trailing comma"],
    ["[NaN] x", "text after the value"],
    ['[NaN, "a\\q"]', "a bad escape next to NaN"],
    ['[NaN, "a\u0001"]', "a control character in a string next to NaN"],
    ["[NaN, 01]", "a leading zero next to NaN"],
    ["[NaN, 1.]", "a bare decimal point next to NaN"],
    ["[NaN, .5]", "a number without its zero next to NaN"],
    ["[NaN, tru]", "a misspelled literal next to NaN"],
    ['{"a" NaN}', "a missing colon"],
    ["[NaN", "the end of the text"],
    ['["NaN', "an unterminated string"],
  ])("refuses %s (%s) with a SyntaxError, as Python does", (text) => {
    expectError(() => parseJsonText(text), SyntaxError, /JSON/);
  });

  it("keeps JSON.parse's own error for text without the tokens", () => {
    let native: unknown;
    try {
      JSON.parse('{"a": tru}');
    } catch (error) {
      native = error;
    }
    expectError(() => parseJsonText('{"a": tru}'), SyntaxError, (native as Error).message);
  });

  it("names where text with a token goes wrong", () => {
    expectError(() => parseJsonText("[NaN, tru]"), SyntaxError, "Unexpected token 't' in JSON at position 6");
    expectError(() => parseJsonText("[NaNx]"), SyntaxError, "Unexpected token 'x' in JSON at position 4");
    expectError(() => parseJsonText("[NaN, 1"), SyntaxError, "Unexpected end of JSON input");
  });

  it.each([
    ["escapes and non-ASCII text", '{"s": "a\\"b\\\\c\\/\\b\\f\\n\\r\\t\\u00e9\\ud83d\\udc27", "t": "é🐧", "u": "\\u0000"}'],
    ["numbers", "[0, -0, 1, -1, 1.5, -1.5e-7, 1E+2, 1e400, 123456789012345678901234567890, 0.1e1]"],
    ["key order: whole-number keys first, later duplicates win in their first place", '{"b": 1, "2": 2, "a": 3, "1": 4, "b": 5}'],
    ["__proto__ as an own key", '{"__proto__": {"x": 1}, "constructor": 2}'],
    ["empty containers and whitespace", ' { "a" : [ ] , "b" : { } , "c" : [ [ ] , { } ] } \n\t\r'],
    ["tokens in strings", '["NaN", "Infinity", "-Infinity", "[NaN]", "x NaN y"]'],
  ])("builds exactly JSON.parse's value when the text also holds a token: %s", (_what, text) => {
    const expected: unknown = JSON.parse(text);
    const got = parseJsonText(`[${text}, NaN]`) as unknown[];
    expect(got[1]).toBeNaN();
    expect(got[0]).toEqual(expected);
    expect(JSON.stringify(got[0])).toBe(JSON.stringify(expected));
    if (typeof expected === "object" && expected !== null && Object.hasOwn(expected, "__proto__")) {
      expect(Object.getPrototypeOf(got[0])).toBe(Object.prototype);
      expect(Object.hasOwn(got[0] as object, "__proto__")).toBe(true);
    }
  });

  it("reads any depth without recursion", () => {
    const depth = 100_000;
    let value: unknown = parseJsonText(`${"[".repeat(depth)}NaN${"]".repeat(depth)}`);
    let seen = 0;
    while (Array.isArray(value)) {
      value = value[0];
      seen++;
    }
    expect(seen).toBe(depth);
    expect(value).toBeNaN();
  });

  it("marks a body that held NaN (for the table), and no other", () => {
    expect(holdsNaN(parseJsonText('{"a": [NaN]}'))).toBe(true);
    expect(holdsNaN(parseJsonText('{"a": [Infinity]}'))).toBe(false);
    expect(holdsNaN(parseJsonText('{"a": ["NaN"]}'))).toBe(false);
    expect(holdsNaN(parseJsonText('{"a": [1]}'))).toBe(false);
    expect(holdsNaN({ a: [Number.NaN] })).toBe(false);
  });
});

describe("nanAsMissing", () => {
  it("makes NaN cells null, copying only the columns that hold one", () => {
    const plain = ["x", "y"];
    const numbers = [1, Number.NaN, Infinity];
    const table = { names: ["p", "n"], columns: [plain, numbers], numRows: 3 };
    const out = nanAsMissing(table);
    expect(out.columns).toEqual([plain, [1, null, Infinity]]);
    expect(out.columns[0]).toBe(plain);
    expect(numbers[1]).toBeNaN();
    expect(nanAsMissing({ names: ["p"], columns: [plain], numRows: 2 }).columns[0]).toBe(plain);
  });
});

describe("the bounded readers take the tokens too", () => {
  const LIMITS: TableLimits = { maxRows: 1_000, maxCells: 10_000 };

  it("parseJsonWithin: text and bytes, with its limits", () => {
    expect(parseJsonWithin('{"a": [NaN, -Infinity]}', LIMITS)).toEqual({ a: [Number.NaN, -Infinity] });
    expect(parseJsonWithin(new TextEncoder().encode('{"a": [NaN, Infinity]}'), LIMITS)).toEqual({ a: [Number.NaN, Infinity] });
    expectError(() => parseJsonWithin(`[${"NaN,".repeat(2_000)}NaN]`, LIMITS), LimitError, "more than 1,000");
  });

  it("parseJsonWithin: only the row lists of MLflow's forms count against maxRows (none for Open Inference bodies)", () => {
    const limits = { maxRows: 3, maxCells: 1_000 };
    const four = "[1, 2, 3, 4]";
    const pad = " ".repeat(100); // NB: long enough to be scanned (short bodies skip the scan).
    const rows = [
      `{"dataframe_split": {"columns": ["a"], "data": ${four}}}`,
      `{"dataframe_split": {"columns": ["a"], "index": ${four}, "data": []}}`,
      `{"dataframe_records": ${four}}`,
      `{"instances": ${four}}`,
      `{"inputs": ${four}}`,
      `{"inputs": {"a": ${four}}}`,
      `{"instances": {"a": ${four}}}`,
      four,
    ];
    for (const body of rows) expectError(() => parseJsonWithin(`${body}${pad}`, limits), LimitError, "more than 3 rows");
    const notRows = [
      `{"dataframe_split": {"columns": ["a", "b", "c", "d"], "data": [${four}]}}`,
      `{"inputs": [${four}]}`,
      `{"dataframe_records": [{"a": ${four}}]}`,
      `{"params": {"w": ${four}}, "inputs": [1]}`,
      `{"other": ${four}, "inputs": [1]}`,
      `{"dataframe_split": {"other": ${four}}}`,
    ];
    for (const body of notRows) expect(parseJsonWithin(`${body}${pad}`, limits)).toEqual(JSON.parse(body));
    // An infer body's lists are tensors: rows come from their shapes, checked once the body is read.
    const infer = `{"inputs": [${Array.from({ length: 4 }, (_, i) => `{"name": "c${i}", "shape": [4], "datatype": "FP64", "data": ${four}}`).join(", ")}]}`;
    expect(parseJsonWithin(`${infer}${pad}`, limits, MAX_JSON_DEPTH, "none")).toEqual(JSON.parse(infer));
    expectError(() => parseJsonWithin(`${infer}${pad}`, limits), LimitError, "more than 3 rows");
  });

  it("parseJsonWithin: the smallest bodies over a bound are refused, though short bodies skip the structure scan", () => {
    // Depth: the shortest body 5 levels deep is 10 bytes; with a depth limit of 4 it is refused, 4 levels pass.
    expectError(() => parseJsonWithin("[[[[[]]]]]", LIMITS, 4), FormatError, "more than 4 levels deep");
    expect(parseJsonWithin("[[[[]]]]", LIMITS, 4)).toEqual([[[[]]]]);
    // Values: the shortest list of 3 values is 7 bytes; with a limit of 2 rows it is refused.
    expectError(() => parseJsonWithin("[1,2,3]", { maxRows: 2, maxCells: 100 }), LimitError, "rows");
    expect(parseJsonWithin("[1,2]", { maxRows: 2, maxCells: 100 })).toEqual([1, 2]);
    // Malformed short text is refused by the parser instead of a bound: still refused.
    expect(() => parseJsonWithin("[,,,]", { maxRows: 3, maxCells: 100 })).toThrow(SyntaxError);
    expect(() => parseJsonWithin("[".repeat(101), LIMITS)).toThrow(SyntaxError);
    // A property: whatever the bounds, a short body gets the answer the scan gives a long one with the same structure.
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 8 }), (depth, rows, limit) => {
        const body = `${"[".repeat(depth - 1)}[${Array.from({ length: rows }, () => "1").join(",")}]${"]".repeat(depth - 1)}`;
        const padded = `${body}${" ".repeat(400)}`;
        const outcome = (text: string): string => {
          try {
            parseJsonWithin(text, { maxRows: limit, maxCells: 1_000 }, limit);
            return "ok";
          } catch (error) {
            return (error as Error).constructor.name;
          }
        };
        expect(outcome(body)).toBe(outcome(padded));
      }),
      { numRuns: 300, seed: 15 },
    );
  });

  it("parseJsonInSlices: a body parsed chunk by chunk gives the same value, and is marked", async () => {
    const rows = Array.from({ length: 40_000 }, (_, i) => `["r${i}", ${i % 3 === 0 ? "NaN" : i}, ${i % 5 === 0 ? "-Infinity" : "0.5"}, "NaN"]`);
    const text = `{"dataframe_split": {"columns": ["s", "x", "y", "t"], "data": [${rows.join(",\n")}]}, "params": {"t": Infinity}}`;
    expect(text.length).toBeGreaterThan(SLICED_JSON_MIN);
    const got = await parseJsonInSlices(new TextEncoder().encode(text));
    expect(got).toEqual(parseJsonText(text));
    expect(holdsNaN(got)).toBe(true);
    const data = (got as { dataframe_split: { data: unknown[][] } }).dataframe_split.data;
    expect(data[3]).toEqual(["r3", Number.NaN, 0.5, "NaN"]);
    expect(data[5]).toEqual(["r5", 5, -Infinity, "NaN"]);
  });

  it("parseJsonInSlices: a big body without NaN is not marked", async () => {
    const text = `[${Array.from({ length: 200_000 }, (_, i) => (i % 7 === 0 ? "Infinity" : String(i))).join(",")}]`;
    expect(text.length).toBeGreaterThan(SLICED_JSON_MIN);
    const got = await parseJsonInSlices(new TextEncoder().encode(text));
    expect(holdsNaN(got)).toBe(false);
    expect((got as number[])[7]).toBe(Infinity);
  });
});

describe("the table readers of JSON files and bodies: NaN a missing value, ±Infinity the doubles", () => {
  // As Python's json.dumps writes records with a missing float (pandas' to_json writes null instead).
  const LINES = '{"x": 0.5, "s": "NaN"}\n{"x": NaN, "s": "a"}\n\n{"x": Infinity, "s": null}\n{"x": -Infinity}\n';
  const EXPECTED: ColumnTable = {
    names: ["x", "s"],
    columns: [
      [0.5, null, Infinity, -Infinity],
      ["NaN", "a", null, null],
    ],
    numRows: 4,
  };
  const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);

  it("JSON Lines, at once and in slices", async () => {
    expect(parseJsonLines(LINES)).toEqual(EXPECTED);
    expect(await parseJsonLinesInSlices(bytes(LINES))).toEqual(EXPECTED);
  });

  it("JSON Lines in slices, many of them: only the parts with a NaN are walked, all read right", async () => {
    const lines = Array.from({ length: 30_000 }, (_, i) => `{"x": ${i === 29_000 ? "NaN" : i === 3 ? "Infinity" : i}}`).join("\n");
    const table = await parseJsonLinesInSlices(bytes(lines));
    const x = table.columns[0] as unknown[];
    expect([x[2], x[3], x[28_999], x[29_000], x[29_001]]).toEqual([2, Infinity, 28_999, null, 29_001]);
  });

  it("a JSON file of records, and a JSON Lines file", () => {
    const records = "[" + LINES.trim().split("\n").filter(Boolean).join(", ") + "]";
    expect(decodeTable(bytes(records), "json")).toEqual(EXPECTED);
    expect(decodeTable(bytes(LINES), "jsonl")).toEqual(EXPECTED);
  });

  it("JSON Lines read in chunks: each chunk with its own missing values", async () => {
    const chunks: ColumnTable[] = [];
    for await (const chunk of readTableChunks(Readable.from([LINES]), { format: "jsonl", chunkRows: 2 })) chunks.push(chunk);
    expect(chunks.map((c) => c.columns[0])).toEqual([
      [0.5, null],
      [Infinity, -Infinity],
    ]);
  });

  it("a misspelled token is still an error naming the line", () => {
    expectError(() => parseJsonLines('{"x": 1}\n{"x": nan}\n'), FormatError, "JSON Lines line 2 is not valid JSON");
  });
});
