// A CSV cell is missing when it is blank, NaN or one of pandas' default na_values (as MLflow's
// server reads a CSV body with read_csv). isMissing answers cells that end with a digit at once;
// this holds it to the plain definition over random cells: numbers, every spelling, whitespace
// around them, and text that ends with a digit after a spelling ("NA1", "#N/A 2").
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isMissing } from "../../src/tabular/enforce-common.js";

const PANDAS_NA = ["NA", "N/A", "n/a", "NULL", "null", "None", "<NA>", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "1.#IND", "-1.#QNAN", "1.#QNAN"];

/** The definition, step by step: trimmed, blank or NaN (any case, signed) or a pandas spelling. */
function plainMissing(text: string): boolean {
  const t = text.trim();
  return t === "" || /^[+-]?nan$/i.test(t) || PANDAS_NA.includes(t);
}

const space = fc.constantFrom("", " ", "\t", "  ", "\u00a0", "\r");
const core = fc.oneof(
  fc.constantFrom(...PANDAS_NA, "nan", "NaN", "-nan", "+NAN", "", "0", "12", "-1", "1.5e3", "1.", "N", "NA1", "#N/A 2", "1.#IND9"),
  fc.double().map(String),
  fc.integer().map(String),
  fc.string({ maxLength: 6 }),
  fc.string({ unit: "binary", maxLength: 4 }),
);
const cell = fc.tuple(space, core, space, fc.constantFrom("", "0", "7", "9")).map(([a, b, c, d]) => `${a}${b}${c}${d}`);

describe("isMissing for CSV text: the same answer as the plain definition", () => {
  it("random cells: numbers, every spelling, whitespace, a digit after", () => {
    fc.assert(
      fc.property(cell, (text) => {
        expect(isMissing(text, true)).toBe(plainMissing(text));
        expect(isMissing(text, false)).toBe(false);
      }),
      { numRuns: 3000, seed: 15 },
    );
  });

  it("every pandas spelling, and NaN in any case, is missing; with a digit after it is not", () => {
    for (const text of [...PANDAS_NA, "nan", "-NaN", " NA ", "\t#N/A\t"]) {
      expect(isMissing(text, true), text).toBe(true);
      expect(isMissing(`${text}1`, true), `${text}1`).toBe(false);
    }
    for (const text of ["", " ", "\t"]) expect(isMissing(text, true)).toBe(true);
  });
});
