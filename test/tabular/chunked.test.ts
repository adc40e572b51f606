import { readFileSync } from "node:fs";
import { mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FormatError, readTableFile, tableFromRecords, writeTableFile, type ColumnTable } from "../../src/index.js";
import {
  FileAccessError,
  concatTables,
  createTableFileWriter,
  encodeTextRows,
  readDataFrameChunks,
  readTableChunks,
  sliceTable,
} from "../../src/tabular/index.js";

const require = createRequire(import.meta.url);
const dataDir = join(require.resolve("vega-datasets"), "..", "..", "data");

/** The real penguins data (344 rows), columns renamed as the examples use them. */
function penguins(): ColumnTable {
  const raw = JSON.parse(readFileSync(join(dataDir, "penguins.json"), "utf8")) as Record<string, unknown>[];
  return tableFromRecords(
    raw.map((r) => ({
      species: r["Species"],
      island: r["Island"],
      bill_length_mm: r["Beak Length (mm)"],
      bill_depth_mm: r["Beak Depth (mm)"],
      flipper_length_mm: r["Flipper Length (mm)"],
      body_mass_g: r["Body Mass (g)"],
      sex: r["Sex"] === "." ? null : r["Sex"],
    })),
  );
}

let dir: string;
let data: ColumnTable;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "pipeserve-chunks-"));
  data = penguins();
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function collect(source: AsyncIterable<ColumnTable>): Promise<ColumnTable[]> {
  const out: ColumnTable[] = [];
  for await (const chunk of source) out.push(chunk);
  return out;
}

const FORMATS = ["csv", "jsonl", "parquet", "arrow", "arrows"] as const;

describe("chunked readers", () => {
  it("the penguins data is real: 344 rows with missing values", () => {
    expect(data.numRows).toBe(344);
    expect(data.columns[data.names.indexOf("sex")]).toContain(null);
  });

  it.each(FORMATS.map((f) => [f]))("%s read in chunks of 50 equals the file read whole", async (format) => {
    const path = join(dir, `penguins.${format}`);
    await writeTableFile(path, data);
    const chunks = await collect(readTableChunks(path, { chunkRows: 50 }));
    expect(chunks.map((c) => c.numRows)).toEqual([50, 50, 50, 50, 50, 50, 44]);
    const whole = await readTableFile(path);
    expect(concatTables(chunks)).toEqual(whole);
    expect(whole.columns).toEqual(data.columns);
  });

  it("reads CSV and JSON Lines from a stream (stdin)", async () => {
    const csv = Readable.from([Buffer.from("a,b\n1,x\n2,"), Buffer.from("y\n3,z\n")]);
    const chunks = await collect(readTableChunks(csv, { format: "csv", chunkRows: 2 }));
    expect(chunks.map((c) => c.columns)).toEqual([
      [
        [1, 2],
        ["x", "y"],
      ],
      [[3], ["z"]],
    ]);
    const jsonl = Readable.from(['{"a":1}\n', '{"a":2}\n\n{"a":3}\n']);
    expect((await collect(readTableChunks(jsonl, { format: "jsonl", chunkRows: 10 })))[0]?.columns).toEqual([[1, 2, 3]]);
  });

  it("hands out DataFrames when asked", async () => {
    const path = join(dir, "frames.csv");
    await writeTableFile(path, data);
    const frames = [];
    for await (const frame of readDataFrameChunks(path, { chunkRows: 200 })) frames.push(frame);
    expect(frames.map((f) => f.shape)).toEqual([
      [200, 7],
      [144, 7],
    ]);
  });

  it("gives one empty chunk with the header's columns for a CSV without rows", async () => {
    const path = join(dir, "empty.csv");
    await writeTableFile(path, sliceTable(data, 0, 0));
    const chunks = await collect(readTableChunks(path));
    expect(chunks).toEqual([{ names: data.names, columns: data.names.map(() => []), numRows: 0 }]);
  });

  it("reads the real flights Arrow file (200k rows) in chunks equal to the whole", async () => {
    const path = join(dataDir, "flights-200k.arrow");
    const chunks = await collect(readTableChunks(path, { chunkRows: 65_536 }));
    const whole = await readTableFile(path);
    expect(whole.numRows).toBe(200_000);
    expect(chunks.map((c) => c.numRows)).toEqual([65_536, 65_536, 65_536, 200_000 - 3 * 65_536]);
    expect(concatTables(chunks)).toEqual(whole);
  });

  it.each([
    [{ chunkRows: 0 }, /chunkRows must be a whole number from 1 to 4294967295, got 0/],
    [{ chunkRows: 1.5 }, /chunkRows must be a whole number/],
    // NB: Parquet's reader counts a batch in 32 bits: more was blamed on the file (found by an audit).
    [{ chunkRows: 2 ** 32 }, /chunkRows must be a whole number from 1 to 4294967295, got 4294967296/],
  ])("rejects %j", async (options, message) => {
    await expect(collect(readTableChunks(join(dir, "penguins.csv"), options))).rejects.toThrow(FormatError);
    await expect(collect(readTableChunks(join(dir, "penguins.csv"), options))).rejects.toThrow(message);
  });

  it("names the line of a ragged CSV row, even in a later chunk", async () => {
    const path = join(dir, "ragged.csv");
    await writeTableFile(path, data);
    const text = readFileSync(path, "utf8").split("\n");
    text.splice(120, 0, "just,three,fields");
    await writeFile(path, text.join("\n"));
    await expect(collect(readTableChunks(path, { chunkRows: 50 }))).rejects.toThrow(/CSV line 121 has 3 fields but the header has 7/);
  });

  it("a CSV file whose line ends change (CRLF lines, LF lines appended, a lone CR): every line a record, read in chunks or whole", async () => {
    const rows = 30_000;
    const ends = ["\r\n", "\n", "\r\n", "\r\n", "\n", "\r"];
    let text = "id,name\r\n";
    for (let i = 0; i < rows; i++) text += `${i},"n ${i}"${ends[i % ends.length]}`;
    const path = join(dir, "mixed-ends.csv");
    await writeFile(path, text);
    const expected: ColumnTable = {
      names: ["id", "name"],
      columns: [Array.from({ length: rows }, (_, i) => i), Array.from({ length: rows }, (_, i) => `n ${i}`)],
      numRows: rows,
    };
    expect(concatTables(await collect(readTableChunks(path, { chunkRows: 7_000 })))).toEqual(expected);
    expect(await readTableFile(path)).toEqual(expected);
  });

  it("names the line of a ragged CSV row after blank lines and line ends inside quotes, in a later chunk", async () => {
    const path = join(dir, "ragged-quoted.csv");
    const rows = Array.from({ length: 300 }, (_, i) => `${i},"two\nlines ${i}"${i % 50 === 0 ? "\n" : ""}`);
    await writeFile(path, `id,text\n${rows.join("\n")}\njust,three,fields\n`);
    // The header, 300 records of two lines each, 6 blank lines: the ragged record is on line 608.
    await expect(collect(readTableChunks(path, { chunkRows: 50 }))).rejects.toThrow(`${path}: CSV line 608 has 3 fields but the header has 2.`);
  });

  // A run may read several files (shards, --merge's parts): a parse error names the one it is in.
  it.each([
    ["csv", 'x,y\n1,"2\n', "Quote Not Closed"],
    ["jsonl", '{"x": 1}\n{bad\n', "JSON Lines line 2 is not valid JSON"],
    ["arrow", "ARROW1\0\0garbage", "Could not read the Arrow IPC data"],
  ] as const)("a damaged %s file: a FormatError that names the file first", async (format, text, says) => {
    const path = join(dir, `damaged.${format}`);
    await writeFile(path, text);
    const error = await collect(readTableChunks(path)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FormatError);
    expect((error as Error).message.startsWith(`${path}: `), (error as Error).message).toBe(true);
    expect((error as Error).message).toContain(says);
  });

  it("rejects a JSON array, which cannot be streamed", async () => {
    await expect(collect(readTableChunks(join(dir, "x.json")))).rejects.toThrow(/use JSON Lines/);
  });

  it.each(["csv", "jsonl", "parquet", "arrow"] as const)("a %s path that is missing or a folder: FileAccessError naming it, no crash", async (format) => {
    const missing = join(dir, `missing.${format}`);
    const error = await collect(readTableChunks(missing)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FileAccessError);
    expect((error as FileAccessError).code).toBe("UNREADABLE_INPUT");
    expect((error as Error).message).toBe(`Cannot read ${missing}: there is no such file. Check the path (a relative path starts from the current folder).`);
    const folder = join(dir, `folder-${format}`);
    await mkdir(folder, { recursive: true });
    await expect(collect(readTableChunks(folder, { format }))).rejects.toThrow(`Cannot read ${folder}: it is a folder, not a file.`);
  });
});

describe("JSON Lines read in chunks: a line that is not a row", () => {
  it("is named by its line in the file, not its place in a chunk", async () => {
    const lines = Array.from({ length: 40 }, (_, i) => (i === 29 ? "[1, 2]" : JSON.stringify({ x: i })));
    const read = async (): Promise<void> => {
      for await (const chunk of readTableChunks(Readable.from([`${lines.join("\n")}\n`]), { format: "jsonl", chunkRows: 10 })) void chunk;
    };
    await expect(read()).rejects.toThrow(FormatError);
    await expect(read()).rejects.toThrow("JSON Lines line 30: it is not an object of column values (one row per line");
  });
});

describe("chunked writers", () => {
  it.each(FORMATS.map((f) => [f]))("%s written in chunks reads back as the whole table", async (format) => {
    const path = join(dir, `written.${format}`);
    const writer = createTableFileWriter(path);
    for (let start = 0; start < data.numRows; start += 100) await writer.write(sliceTable(data, start, start + 100));
    await expect(stat(path)).rejects.toThrow(/ENOENT/);
    await writer.close();
    expect(writer.rowsWritten).toBe(344);
    expect((await readTableFile(path)).columns).toEqual(data.columns);
  });

  it("leaves nothing behind on abort", async () => {
    const path = join(dir, "aborted.csv");
    const writer = createTableFileWriter(path);
    await writer.write(sliceTable(data, 0, 10));
    await writer.abort();
    expect((await readdir(dir)).filter((f) => f.includes("aborted"))).toEqual([]);
  });

  it.each(["arrow", "arrows", "parquet"])("%s: a column with no value in the first chunks takes its type from its first value, not text", async (format) => {
    const path = join(dir, `late-values.${format}`);
    const writer = createTableFileWriter(path);
    await writer.write({ names: ["id", "score"], columns: [["a"], [null]], numRows: 1 });
    await writer.write({ names: ["id", "score"], columns: [[], []], numRows: 0 });
    await writer.write({
      names: ["id", "score"],
      columns: [
        ["b", "c"],
        [null, null],
      ],
      numRows: 2,
    });
    await writer.write({
      names: ["id", "score"],
      columns: [
        ["d", "e"],
        [1.5, 2],
      ],
      numRows: 2,
    });
    await writer.write({ names: ["id", "score"], columns: [["f"], [-3]], numRows: 1 });
    await writer.close();
    expect(writer.rowsWritten).toBe(6);
    const back = await readTableFile(path);
    expect(back.columns).toEqual([
      ["a", "b", "c", "d", "e", "f"],
      [null, null, null, 1.5, 2, -3],
    ]);
  });

  it.each(["arrow", "parquet"])("%s: held chunks keep every other column's type from the first chunk (an Int32 column stays Int32)", async (format) => {
    const { decodeArrowIpc, parquetToArrow } = await import("../../src/tabular/index.js");
    const path = join(dir, `held-types.${format}`);
    const writer = createTableFileWriter(path);
    await writer.write({ names: ["x", "y"], columns: [[null, null], Int32Array.from([1, 2])], numRows: 2 });
    await writer.write({
      names: ["x", "y"],
      columns: [
        [3, 4],
        [3, null],
      ],
      numRows: 2,
    });
    await writer.close();
    const bytes = new Uint8Array(await readFile(path));
    const table = format === "parquet" ? parquetToArrow(bytes) : decodeArrowIpc(bytes);
    expect(table.schema.fields.map((f) => `${f.name}:${String(f.type)}`)).toEqual(["x:Float64", "y:Int32"]);
    expect((await readTableFile(path)).columns.map((c) => Array.from(c))).toEqual([
      [null, null, 3, 4],
      [1, 2, 3, null],
    ]);
  });

  it.each(["arrow", "parquet"])("%s: emptyTypes given as a function is called at the first write, not before, and types the empty column", async (format) => {
    const { arrowLib, decodeArrowIpc, parquetToArrow } = await import("../../src/tabular/index.js");
    const path = join(dir, `lazy-types.${format}`);
    let calls = 0;
    const writer = createTableFileWriter(path, {
      emptyTypes: () => {
        calls++;
        return { score: new (arrowLib().Int32)() };
      },
    });
    expect(calls).toBe(0);
    await writer.write({
      names: ["id", "score"],
      columns: [
        ["a", "b"],
        [null, null],
      ],
      numRows: 2,
    });
    await writer.write({ names: ["id", "score"], columns: [["c"], [7]], numRows: 1 });
    await writer.close();
    expect(calls).toBe(1);
    const bytes = new Uint8Array(await readFile(path));
    const table = format === "parquet" ? parquetToArrow(bytes) : decodeArrowIpc(bytes);
    expect(table.schema.fields.map((f) => `${f.name}:${String(f.type)}`)).toEqual(["id:Utf8", "score:Int32"]);
    expect((await readTableFile(path)).columns.map((c) => Array.from(c))).toEqual([
      ["a", "b", "c"],
      [null, null, 7],
    ]);
  });

  it.each(["arrow", "parquet"])("%s: a column that never holds a value is text, in a valid file", async (format) => {
    const path = join(dir, `no-values.${format}`);
    const writer = createTableFileWriter(path);
    await writer.write({ names: ["id", "note"], columns: [["a"], [null]], numRows: 1 });
    await writer.write({ names: ["id", "note"], columns: [["b"], [null]], numRows: 1 });
    await writer.close();
    expect(await readTableFile(path)).toEqual({
      names: ["id", "note"],
      columns: [
        ["a", "b"],
        [null, null],
      ],
      numRows: 2,
    });
  });

  it("rejects a chunk whose columns differ from the first, while chunks are held for a column's type", async () => {
    const writer = createTableFileWriter(join(dir, "mixed-held.parquet"));
    await writer.write({ names: ["score"], columns: [[null]], numRows: 1 });
    await expect(writer.write(tableFromRecords([{ other: 1 }]))).rejects.toThrow(/A chunk has columns \[other\] but the output started with \[score\]/);
    await writer.abort();
  });

  it.each(["arrow", "arrows", "parquet"])("%s closed without a chunk: a valid file with no columns and no rows", async (format) => {
    const path = join(dir, `nothing.${format}`);
    const writer = createTableFileWriter(path);
    await writer.close();
    expect(await readTableFile(path)).toEqual({ names: [], columns: [], numRows: 0 });
  });

  it("rejects a chunk whose columns differ from the first", async () => {
    const writer = createTableFileWriter(join(dir, "mixed.csv"));
    await writer.write(sliceTable(data, 0, 1));
    await expect(writer.write(tableFromRecords([{ other: 1 }]))).rejects.toThrow(/A chunk has columns \[other\] but the output started with \[species/);
    await writer.abort();
  });
});

describe("chunked writers: rows encoded in another thread (writeEncoded)", () => {
  const table = (from: number, n: number): ColumnTable => ({
    names: ["id", "note"],
    columns: [
      Array.from({ length: n }, (_, i) => from + i),
      Array.from({ length: n }, (_, i) => (i % 3 === 0 ? 'say "hi", twice' : i % 3 === 1 ? null : `n${from + i}`)),
    ],
    numRows: n,
  });

  it.each(["csv", "jsonl"] as const)(
    "%s: encoded chunks, mixed with plain ones, write the bytes plain chunks write (one header); rowsWritten counts them",
    async (format) => {
      const parts = [table(0, 5), table(5, 0), table(5, 7), table(12, 3)];
      const plain = join(dir, `plain-encoded.${format}`);
      const writer = createTableFileWriter(plain);
      for (const part of parts) await writer.write(part);
      await writer.close();
      const mixed = join(dir, `mixed-encoded.${format}`);
      const other = createTableFileWriter(mixed);
      for (const [i, part] of parts.entries()) {
        if (i === 2) await other.write(part);
        else await other.writeEncoded?.(encodeTextRows(part, format));
      }
      expect(other.rowsWritten).toBe(15);
      await other.close();
      expect(await readFile(mixed, "utf8")).toBe(await readFile(plain, "utf8"));
    },
  );

  it("an encoded chunk of other columns, or of another format, is refused; Arrow and Parquet writers take none", async () => {
    const writer = createTableFileWriter(join(dir, "refuse-encoded.csv"));
    await writer.writeEncoded?.(encodeTextRows(table(0, 2), "csv"));
    await expect(writer.writeEncoded?.(encodeTextRows({ names: ["id"], columns: [[1]], numRows: 1 }, "csv"))).rejects.toThrow(
      "A chunk has columns [id] but the output started with [id, note].",
    );
    await expect(writer.writeEncoded?.(encodeTextRows(table(2, 1), "jsonl"))).rejects.toThrow("Rows encoded as jsonl cannot be written to a csv output.");
    await writer.abort();
    for (const format of ["parquet", "arrow"]) {
      const binary = createTableFileWriter(join(dir, `no-encoded.${format}`));
      expect(binary.writeEncoded).toBeUndefined();
      await binary.abort();
    }
  });
});
