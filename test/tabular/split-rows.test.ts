/**
 * splitRows: the output of one run over stacked inputs, split back per input. What matters is that
 * every part is written (JSON predictions, CSV, Arrow, tensors' table) exactly as the output of
 * that input's rows alone would be, for every output kind a pipeline may return; and that an
 * output that is not row-aligned is refused, so the caller runs the inputs one by one.
 */
import { describe, expect, it } from "vitest";
import { encodeArrowIpc, toArrow, toCsv, type ColumnTable } from "../../src/index.js";
import { encodePredictions, loadDanfo, outputToTable, splitRows } from "../../src/tabular/index.js";

/** Rows 0..n-1 of a two-column input: a number and a label. */
const rows = (from: number, n: number): { x: number[]; label: string[] } => ({
  x: Array.from({ length: n }, (_, i) => (from + i) * 1.5),
  label: Array.from({ length: n }, (_, i) => `r${from + i}`),
});

/** How each output kind is made from some rows: what a pipeline would return for them. */
const KINDS: [string, (r: { x: number[]; label: string[] }) => unknown][] = [
  ["a ColumnTable", (r) => ({ names: ["x", "label"], columns: [r.x, r.label], numRows: r.x.length }) satisfies ColumnTable],
  ["an object of columns", (r) => ({ x: r.x, label: r.label })],
  [
    "an object of columns with a typed-array column and a __proto__ key",
    (r) => Object.defineProperty({ x: Float64Array.from(r.x) }, "__proto__", { value: r.label, enumerable: true, writable: true, configurable: true }),
  ],
  ["a list of values", (r) => r.x],
  ["a list of row objects", (r) => r.x.map((x, i) => ({ x, label: r.label[i] }))],
  ["a list of lists (class probabilities)", (r) => r.x.map((x) => [x, 1 - x])],
  ["a typed array", (r) => Float64Array.from(r.x)],
  ["a danfojs DataFrame", (r) => new (loadDanfo<typeof import("danfojs-node")>().DataFrame)({ x: r.x, label: r.label })],
  ["a named danfojs Series", (r) => new (loadDanfo<typeof import("danfojs-node")>().Series)(r.x, { columns: ["score"] })],
  ["an unnamed danfojs Series", (r) => new (loadDanfo<typeof import("danfojs-node")>().Series)(r.x)],
];

/** Every encoding a response may use, as text or bytes. */
function encodings(output: unknown): unknown[] {
  let table: ColumnTable | undefined;
  try {
    table = outputToTable(output, "output-0");
  } catch {
    table = undefined;
  }
  return [encodePredictions(output), table && toCsv(table), table && Buffer.from(encodeArrowIpc(toArrow(table), "stream")).toString("base64"), table?.names];
}

describe("splitRows", () => {
  const counts = [1, 3, 2];

  it.each(KINDS)("splits %s into parts written exactly as each input's own output", (_, make) => {
    const parts = splitRows(make(rows(0, 6)), counts);
    expect(parts).toHaveLength(3);
    let from = 0;
    counts.forEach((n, i) => {
      expect(encodings(parts![i]), `part ${i}`).toEqual(encodings(make(rows(from, n))));
      from += n;
    });
  });

  it.each(KINDS)("refuses %s whose row count is not the inputs' total (not row-aligned)", (_, make) => {
    expect(splitRows(make(rows(0, 5)), counts)).toBeUndefined();
    expect(splitRows(make(rows(0, 7)), counts)).toBeUndefined();
  });

  it.each([
    ["a number", 3],
    ["a string", "abc"],
    ["null", null],
    ["an object that is no table", { model: "v1", rows: 6 }],
    ["an object of columns of unequal lengths", { a: [1, 2, 3, 4, 5, 6], b: [1] }],
  ])("refuses %s", (_, output) => {
    expect(splitRows(output, counts)).toBeUndefined();
  });

  it("leaves the stacked output as it was", () => {
    const output = { x: [1, 2, 3], label: ["a", "b", "c"] };
    splitRows(output, [1, 2]);
    expect(output).toEqual({ x: [1, 2, 3], label: ["a", "b", "c"] });
  });
});
