// parseNumberText reads the common cell (a sign, digits, a point) itself, without the regular
// expression and Number(). This holds it to the plain reading — the pattern, then Number(), then
// NaN and ±inf words — over random cells: every digit count around the 15-digit edge, points,
// signs, exponents, whitespace, hex, underscores, words; -0 and NaN compared with Object.is.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseNumberText } from "../../src/tabular/index.js";

const NUMBER = /^[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$/;
const WORDS: Record<string, number> = {
  nan: Number.NaN,
  inf: Infinity,
  "+inf": Infinity,
  infinity: Infinity,
  "+infinity": Infinity,
  "-inf": -Infinity,
  "-infinity": -Infinity,
};

function plainReading(text: string): number | undefined {
  if (NUMBER.test(text)) return Number(text);
  const word = text.toLowerCase();
  return Object.hasOwn(WORDS, word) ? WORDS[word] : undefined;
}

const digits = (min: number, max: number) => fc.stringMatching(new RegExp(`^[0-9]{${min},${max}}$`));
const decimal = fc
  .tuple(fc.constantFrom("", "-", "+"), digits(0, 18), fc.constantFrom("", "."), digits(0, 18), fc.constantFrom("", "e5", "E-3", "e+308", "e400"))
  .map(([sign, a, point, b, exp]) => `${sign}${a}${point}${point ? b : ""}${exp}`);
const odd = fc.constantFrom(
  "",
  ".",
  "-",
  "+",
  "-.",
  "1.2.3",
  " 1",
  "1 ",
  "0x10",
  "1_000",
  "1e",
  "--1",
  "+-1",
  "NaN",
  "-inf",
  "Infinity",
  "1,5",
  "١٢",
  "-0",
  "0.",
  ".0",
);
const cell = fc.oneof(
  decimal,
  odd,
  fc.double({ noNaN: true }).map(String),
  fc.double().map((v) => v.toFixed(Math.abs(v) < 1e20 ? 6 : 0)),
  fc.string({ maxLength: 8 }),
);

describe("parseNumberText: the same number (or none) as the plain reading", () => {
  it("random cells around every edge of the direct reading", () => {
    fc.assert(
      fc.property(cell, (text) => {
        const got = parseNumberText(text);
        const want = plainReading(text);
        expect(got === undefined ? "none" : Object.is(got, want) ? "same" : got, text).toBe(want === undefined ? "none" : "same");
      }),
      { numRuns: 5000, seed: 15 },
    );
  });

  it("15 digits (leading zeros count) are read directly and exactly; 16 and more by Number()", () => {
    for (const text of ["123456789012345", "0.123456789012345", "-12345678.9012345", "1234567890123456", "0.1234567890123456789", "9007199254740993"]) {
      expect(Object.is(parseNumberText(text), Number(text)), text).toBe(true);
    }
    expect(Object.is(parseNumberText("-0"), -0)).toBe(true);
    expect(Object.is(parseNumberText("-0.0"), -0)).toBe(true);
  });

  // Found by an audit: a cell of 90,000 digits and a letter held the server 5 s (the pattern's
  // backtracking was quadratic); two million now take milliseconds. Quadratic, these would run for
  // hours: the test's timeout fails them.
  it("a long run of digits that is no number is refused in one pass, as is a long number read", () => {
    const run = "1".repeat(2_000_000);
    for (const text of [`${run}x`, `-${run}.${run}x`, `${run}e${run}x`, `.${run}.`, `${run}.5.`]) expect(parseNumberText(text), text.slice(-8)).toBeUndefined();
    expect(parseNumberText(`${run}.5`)).toBe(Number(`${run}.5`));
    expect(parseNumberText(`${run}e-${run}`)).toBe(0);
  });
});
