// inPositionalOrder: inputs of an unnamed (positional) signature, matched by the names the metadata
// gives them ("0", "1", …) in any order; extra inputs after them, as sent.
import { describe, expect, it } from "vitest";
import { inPositionalOrder } from "../../src/server/open-inference.js";
import type { ColumnSpec, ColumnTable } from "../../src/tabular/index.js";

const POSITIONAL: ColumnSpec[] = [
  { type: "string", required: true },
  { type: "long", required: true },
];
const table = (...names: string[]): ColumnTable => ({ names, columns: names.map((n) => [n]), numRows: 1 });

describe("inPositionalOrder", () => {
  it.each([
    [
      ["1", "0"],
      ["0", "1"],
    ],
    [
      ["x", "1", "0"],
      ["0", "1", "x"],
    ],
    [
      ["1", "0", "5"],
      ["0", "1", "5"],
    ],
    [["0"], ["0"]],
    [["1"], ["1"]],
    [
      ["01", "0"],
      ["0", "01"],
    ],
  ])("%j → %j", (names, want) => {
    const out = inPositionalOrder(table(...names), POSITIONAL);
    expect(out.names).toEqual(want);
    expect(out.columns).toEqual(want.map((n) => [n]));
  });

  it("leaves tables for a named signature, or none, as they are", () => {
    const t = table("1", "0");
    expect(inPositionalOrder(t, [{ name: "a", type: "long", required: true }])).toBe(t);
    expect(inPositionalOrder(t, null)).toBe(t);
  });
});
