import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  FormatError,
  decodeTable,
  encodeTable,
  fromDataFrame,
  parseCsv,
  readTableFile,
  tableFromColumns,
  toDataFrame,
  writeTableFile,
  type ColumnTable,
  type TableFormat,
} from "../../src/index.js";
import { TABLE_FORMATS, createTableFileWriter, formatFromPath } from "../../src/tabular/index.js";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "pipeserve-formats-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Strings with quoting hazards and unicode, numbers (negative, fractional, large but safe), booleans and missing values. */
const sample: ColumnTable = tableFromColumns({
  island: ["Torgersen", 'Biscoe, "north"', "Dream\nline two", "Ærø 🐧", null],
  bill_length_mm: [39.1, -0.5, null, 1e-7, 46.2],
  body_mass_g: [3750, 9007199254740991, 0, null, -12],
  male: [true, false, null, true, false],
});

function column(table: ColumnTable, name: string): unknown[] {
  const i = table.names.indexOf(name);
  expect(i, `column ${name}`).toBeGreaterThanOrEqual(0);
  return table.columns[i] as unknown[];
}

describe("whole-table formats", () => {
  it.each(TABLE_FORMATS.map((f) => [f]))("%s keeps names, values and missing values through encode → decode", (format) => {
    const encoded = encodeTable(sample, format as TableFormat);
    const decoded = decodeTable(typeof encoded === "string" ? Buffer.from(encoded) : encoded, format as TableFormat);
    expect(decoded.names).toEqual(sample.names);
    expect(decoded.numRows).toBe(5);
    for (const name of sample.names) expect(column(decoded, name)).toEqual(column(sample, name));
  });

  it.each(TABLE_FORMATS.map((f) => [f]))("%s round-trips through a real file, chosen by extension", async (format) => {
    const ext = { csv: "csv", json: "json", jsonl: "jsonl", parquet: "parquet", arrow: "arrow", arrows: "arrows" }[format as TableFormat];
    const path = join(dir, `sample.${ext}`);
    await writeTableFile(path, sample);
    expect(formatFromPath(path)).toBe(format);
    const back = await readTableFile(path);
    expect(back.columns).toEqual(sample.columns);
    expect((await readdir(dir)).filter((f) => f.endsWith(".tmp"))).toEqual([]);
  });

  it("keeps dates as dates in Arrow and Parquet, and writes them ISO-8601 in CSV", () => {
    const when = new Date("2026-11-22T04:12:49.123Z");
    const table = tableFromColumns({ at: [when, null] });
    for (const format of ["arrow", "parquet"] as const) {
      expect(column(decodeTable(encodeTable(table, format) as Uint8Array, format), "at")).toEqual([when, null]);
    }
    // NB: a missing value alone on its line is `""` (a blank line would be skipped when read back).
    expect(encodeTable(table, "csv")).toBe('at\n2026-11-22T04:12:49.123Z\n""\n');
    expect(decodeTable(Buffer.from(encodeTable(table, "csv") as string), "csv").numRows).toBe(2);
  });

  it("keeps an empty table's columns in Arrow", () => {
    const empty = tableFromColumns({ a: [], b: [] });
    const back = decodeTable(encodeTable(empty, "arrow") as Uint8Array, "arrow");
    expect(back).toEqual({ names: ["a", "b"], columns: [[], []], numRows: 0 });
  });

  it("reads CSV cells one by one: empty is missing, numbers and booleans typed, the rest strings", () => {
    const t = parseCsv('a,b,c\n1,true,"x,y"\n,FALSE,007x\n-2.5e3,,\n');
    expect(t.columns).toEqual([
      [1, null, -2500],
      [true, false, null],
      ["x,y", "007x", null],
    ]);
    expect(parseCsv("a\n1\n", { raw: true }).columns).toEqual([["1"]]);
  });
});

describe("DataFrame conversions", () => {
  it("turns a table into a danfojs DataFrame and back without changing a value", () => {
    const frame = toDataFrame(sample);
    expect(frame.columns).toEqual(sample.names);
    expect(frame.shape).toEqual([5, 4]);
    expect(fromDataFrame(frame).columns).toEqual(sample.columns);
  });

  it("keeps the columns of an empty table", () => {
    const frame = toDataFrame(tableFromColumns({ a: [], b: [] }));
    expect(frame.columns).toEqual(["a", "b"]);
    expect(fromDataFrame(frame)).toEqual({ names: ["a", "b"], columns: [[], []], numRows: 0 });
  });
});

describe("bad input", () => {
  it.each([
    ["csv", 'a,b\n1,"unclosed\n', /Could not parse the CSV input/],
    ["csv", "a,b\n1,2\n3\n", /CSV line 3 has 1 fields but the header has 2/],
    ["csv", "", /The CSV input is empty/],
    ["csv", "a,a\n1,2\n", /names the column "a" twice/],
    ["jsonl", '{"a":1}\n{"a":\n', /JSON Lines line 2 is not valid JSON/],
    ["jsonl", '{"a":1}\n[1,2]\n', /Record 1 is not an object/],
    ["json", "{not json", /Invalid JSON/],
    ["json", '{"a":1}', /must hold an array of row objects/],
    ["parquet", "PAR1 but not really", /Could not read the Parquet data/],
    ["arrow", "definitely not arrow", /Could not decode the Arrow IPC data/],
  ])("%s %j is a FormatError", (format, text, message) => {
    const run = (): unknown => decodeTable(Buffer.from(text), format as TableFormat);
    expect(run).toThrow(FormatError);
    expect(run).toThrow(message);
  });

  // Found by the fuzz suite: parquet-wasm's writer panicked on a column named "" (RuntimeError:
  // unreachable), which `pipeserve predict` reported as no pipeserve error at all.
  it('refuses to write Parquet with a column named "": a FormatError, whole or in chunks', async () => {
    const table = tableFromColumns({ "": [1, 2], b: ["x", "y"] });
    const message = "A column has an empty name, which Parquet cannot hold";
    expect(() => encodeTable(table, "parquet")).toThrow(FormatError);
    expect(() => encodeTable(table, "parquet")).toThrow(message);
    const writer = createTableFileWriter(join(dir, "empty-name.parquet"));
    await expect(writer.write(table)).rejects.toThrow(FormatError);
    await writer.abort();
    expect((await readdir(dir)).filter((f) => f.includes("empty-name"))).toEqual([]);
    expect(encodeTable(tableFromColumns({ " ": [1] }), "parquet")).toBeInstanceOf(Uint8Array);
  });

  it("names the known extensions for an unknown one", () => {
    expect(() => formatFromPath("data.xlsx")).toThrow(FormatError);
    expect(() => formatFromPath("data.xlsx")).toThrow(/Cannot tell the format of "data.xlsx".*\.csv/);
  });

  it("reports a missing file as the file system does", async () => {
    await expect(readTableFile(join(dir, "missing.csv"))).rejects.toThrow(/ENOENT/);
  });

  it("leaves no file behind when encoding fails", async () => {
    const path = join(dir, "bad.json");
    const cyclic: Record<string, unknown> = {};
    cyclic["self"] = cyclic;
    await expect(writeTableFile(path, tableFromColumns({ a: [cyclic] }))).rejects.toThrow(/circular/i);
    expect((await readdir(dir)).filter((f) => f.startsWith("bad.json") || f.startsWith(".bad.json"))).toEqual([]);
    await writeFile(path, "[]");
  });
});
