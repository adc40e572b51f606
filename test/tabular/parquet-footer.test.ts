/**
 * readParquetFooter: the rows and leaf columns of a Parquet footer, read from the bytes. It
 * replaces parquet-wasm's `ParquetFile.fromFile` for request bodies, which retained ~1.7 KB of heap
 * per call (bench/soak: a server taking Parquet bodies grew without bound) and, on a corrupted
 * footer, panicked in a promise callback: an uncaught exception that ended the server.
 */
import { readFileSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { Field, Int32, List, Struct, Table, Utf8, tableFromArrays, tableToIPC, vectorFromArray } from "apache-arrow";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  DEFAULT_LIMITS,
  FormatError,
  loadParquetWasm,
  parquetFileRowGroups,
  parquetToTable,
  readParquetFileFooter,
  readParquetFooter,
} from "../../src/tabular/index.js";
import { expectError } from "./expect-error.js";

/** A corrupted footer on which parquet-wasm 0.7.2's `ParquetFile.fromFile` panics (found by mutating a 3-row file's footer bytes). */
const PANICS = new Uint8Array(readFileSync(join(import.meta.dirname, "..", "fixtures", "requests", "parquet-wasm-panic.parquet")));

function parquet(table: Table, maxRowGroupSize?: number): Uint8Array {
  const pq = loadParquetWasm();
  const props = maxRowGroupSize ? new pq.WriterPropertiesBuilder().setMaxRowGroupSize(maxRowGroupSize).build() : undefined;
  return pq.writeParquet(pq.Table.fromIPCStream(tableToIPC(table, "stream")), props);
}

/** What parquet-wasm's own metadata says: rows, and the leaf columns of the first row group. */
async function metadata(bytes: Uint8Array): Promise<{ rows: number; columns: number }> {
  const { rows, columns } = await metadataWithGroups(bytes);
  return { rows, columns };
}

/** What parquet-wasm's own metadata says, with each row group's rows. */
async function metadataWithGroups(bytes: Uint8Array): Promise<{ rows: number; columns: number; groups: number[] }> {
  const file = await loadParquetWasm().ParquetFile.fromFile(new Blob([bytes]));
  try {
    const meta = file.metadata();
    const groups = meta.rowGroups() as { numColumns(): number; numRows(): number }[];
    return { rows: meta.fileMetadata().numRows(), columns: groups[0]?.numColumns() ?? 0, groups: groups.map((g) => Number(g.numRows())) };
  } finally {
    file.free();
  }
}

/** Thrift compact bytes wrapped as a Parquet file: magic, a page-less body, the footer, its length, magic. */
function withFooter(meta: number[]): Uint8Array {
  const length = [meta.length & 0xff, (meta.length >> 8) & 0xff, (meta.length >> 16) & 0xff, meta.length >>> 24];
  return new Uint8Array([0x50, 0x41, 0x52, 0x31, ...meta, ...length, 0x50, 0x41, 0x52, 0x31]);
}

const n = 1000;
describe("readParquetFooter", () => {
  it.each([
    { shape: "two columns", table: tableFromArrays({ a: Float64Array.from({ length: n }, (_, i) => i), b: Array.from({ length: n }, (_, i) => `s${i}`) }) },
    { shape: "ten row groups", table: tableFromArrays({ a: Int32Array.from({ length: n }, (_, i) => i) }), groups: 100 },
    {
      shape: "30 columns",
      table: tableFromArrays(Object.fromEntries(Array.from({ length: 30 }, (_, c) => [`c${c}`, Float64Array.from({ length: 5 }, (_, i) => i)]))),
    },
    {
      shape: "nested columns (a struct of two, a list)",
      table: new Table({
        s: vectorFromArray([{ x: 1, y: "a" }, null], new Struct([new Field("x", new Int32()), new Field("y", new Utf8())])),
        l: vectorFromArray([[1, 2], []], new List(new Field("item", new Int32()))),
      }),
    },
  ])("reads what parquet-wasm reads: $shape", async ({ table, groups }) => {
    const bytes = parquet(table, groups);
    expect(readParquetFooter(bytes)).toEqual(await metadata(bytes));
  });

  it("reads a file without rows", () => {
    expect(readParquetFooter(parquet(tableFromArrays({ a: new Float64Array(0), b: new Float64Array(0) })))).toEqual({ rows: 0, columns: 2 });
  });

  it("counts leaves, skipping fields of every type (a hand-made footer)", () => {
    // FileMetaData { 1: version 1, 2: [root {4: "r", 5: 2 children}, {4: "a", 6: true}, {4: "b", 7: 1.0}], 3: 5 rows,
    // 4: [row group {3: 5 rows}], 5: map {"k": "v"} }
    const meta = [
      0x15, 0x02, 0x19, 0x3c, 0x48, 0x01, 0x72, 0x15, 0x04, 0x00, 0x48, 0x01, 0x61, 0x21, 0x00, 0x48, 0x01, 0x62, 0x37, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f, 0x00,
    ];
    meta.push(0x16, 0x0a, 0x19, 0x1c, 0x36, 0x0a, 0x00, 0x1b, 0x01, 0x88, 0x01, 0x6b, 0x01, 0x76, 0x00);
    expect(readParquetFooter(withFooter(meta))).toEqual({ rows: 5, columns: 2 });
  });

  it.each([
    { why: "too short", bytes: new Uint8Array([1, 2, 3, 4, 5]), message: 'Could not read the Parquet data: 5 bytes that do not start and end with "PAR1".' },
    { why: "magic only", bytes: new TextEncoder().encode("PAR1PAR1"), message: 'do not start and end with "PAR1"' },
    {
      why: "a length past the file",
      bytes: withFooter([]).map((b, i) => (i === 4 ? 0xe8 : i === 5 ? 0x03 : b)),
      message: "its footer says 1000 bytes of metadata, but the file has 12",
    },
    { why: "no row count", bytes: withFooter([0x00]), message: "Could not read the Parquet data: its footer has no valid row count." },
    { why: "a negative row count", bytes: withFooter([0x36, 0x01, 0x00]), message: "no valid row count" },
    { why: "a value cut short", bytes: withFooter([0x36]), message: "Could not read the Parquet data: the footer ends inside a value." },
    { why: "a string past the end", bytes: withFooter([0x18, 0x7f, 0x00]), message: "the footer ends inside a value" },
    { why: "an endless varint", bytes: withFooter([0x36, ...new Array<number>(11).fill(0xff), 0x00]), message: "a varint is longer than 64 bits" },
    { why: "an unknown type", bytes: withFooter([0x1d, 0x00]), message: "unknown compact-protocol type 13" },
    {
      why: "structs nested 100 deep",
      bytes: withFooter([...new Array<number>(100).fill(0x1c), ...new Array<number>(101).fill(0)]),
      message: "values nest more than 64 levels deep",
    },
    { why: "a schema of numbers", bytes: withFooter([0x29, 0x15, 0x02, 0x00]), message: "the schema is not a list of elements" },
    {
      // A file-level count of 1 over row groups of 2,000,000 rows: it passed the limits, and the decoder made a batch per row.
      why: "a row count its row groups do not add up to",
      bytes: withFooter([0x36, 0x02, 0x19, 0x1c, 0x36, ...zigzagVarint(2_000_000), 0x00, 0x00]),
      message: "Could not read the Parquet data: its footer says 1 rows, but its row groups hold 2000000: the file is damaged.",
    },
    { why: "rows and no row groups", bytes: withFooter([0x36, 0x0a, 0x00]), message: "its footer says 5 rows, but its row groups hold 0" },
    { why: "the footer parquet-wasm panics on", bytes: PANICS, message: "Could not read the Parquet data: the footer ends inside a value." },
  ])("refuses $why with a FormatError", ({ bytes, message }) => {
    expectError(() => readParquetFooter(bytes), FormatError, message);
  });
});

/** A compact-protocol i64: zigzag, then a varint. */
function zigzagVarint(n: number): number[] {
  let v = n * 2;
  const out: number[] = [];
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
  return out;
}

describe("parquetToTable on small bodies", () => {
  it("refuses the footer parquet-wasm panics on (it used to end the process)", async () => {
    await expect(parquetToTable(PANICS, DEFAULT_LIMITS)).rejects.toThrow(FormatError);
    await expect(parquetToTable(PANICS, DEFAULT_LIMITS)).rejects.toThrow("Could not read the Parquet data: the footer ends inside a value.");
  });

  it("retains no memory per body (ParquetFile.fromFile kept ~1.7 KB each)", async () => {
    setFlagsFromString("--expose-gc");
    const gc = runInNewContext("gc") as () => void;
    const heapAfterGc = async (): Promise<number> => {
      for (let i = 0; i < 3; i++) {
        gc();
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      return process.memoryUsage().heapUsed;
    };
    const bytes = parquet(tableFromArrays({ a: Float64Array.from({ length: 50 }, (_, i) => i), b: Array.from({ length: 50 }, (_, i) => `s${i}`) }));
    for (let i = 0; i < 200; i++) await parquetToTable(bytes, DEFAULT_LIMITS);
    const before = await heapAfterGc();
    for (let i = 0; i < 2000; i++) await parquetToTable(bytes, DEFAULT_LIMITS);
    // NB: 2,000 bodies left ~3.4 MB behind with fromFile; the margin is for the collector's noise.
    expect((await heapAfterGc()) - before).toBeLessThan(1_200_000);
  });
});

describe("readParquetFileFooter: a file's footer, read without reading the file", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "pipeserve-parquet-footer-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function file(name: string, bytes: Uint8Array): Promise<string> {
    const path = join(dir, name);
    await writeFile(path, bytes);
    return path;
  }

  it.each([
    { shape: "one row group", rows: 1000, groups: undefined },
    { shape: "row groups of 300 rows (the last of 100)", rows: 1000, groups: 300 },
    { shape: "row groups of one row", rows: 7, groups: 1 },
  ])("reads each row group's rows as parquet-wasm does: $shape", async ({ rows, groups }) => {
    const bytes = parquet(tableFromArrays({ a: Int32Array.from({ length: rows }, (_, i) => i), b: Array.from({ length: rows }, (_, i) => `s${i}`) }), groups);
    const path = await file(`groups-${rows}-${groups}.parquet`, bytes);
    const footer = await readParquetFileFooter(path);
    expect(footer).toEqual(await metadataWithGroups(bytes));
    expect({ rows: footer.rows, columns: footer.columns }).toEqual(readParquetFooter(bytes));
    expect(await parquetFileRowGroups(path)).toEqual(footer.groups);
  });

  it("a field given twice counts once, its last value, as parquet-wasm reads it", async () => {
    // FileMetaData { 3: 2 rows, 4: [group {3: 5 rows, 3: 2 rows}], 4: [group {3: 1}, group {3: 1}] }:
    // the second list of row groups, and the last count of each, are the footer's.
    const meta = [0x36, 0x04, 0x19, 0x1c, 0x36, 0x0a, 0x06, 0x06, 0x04, 0x00, 0x09, 0x08, 0x2c, 0x36, 0x02, 0x00, 0x36, 0x02, 0x00, 0x00];
    const path = await file("twice.parquet", withFooter(meta));
    expect(await readParquetFileFooter(path)).toEqual({ rows: 2, columns: 0, groups: [1, 1] });
  });

  it("reads a file without rows: no row groups", async () => {
    const path = await file("empty.parquet", parquet(tableFromArrays({ a: new Float64Array(0) })));
    expect(await readParquetFileFooter(path)).toEqual({ rows: 0, columns: 1, groups: [] });
  });

  it.each([
    { why: "too short", bytes: new Uint8Array([1, 2, 3, 4, 5]), message: 'Could not read the Parquet data: 5 bytes that do not start and end with "PAR1".' },
    { why: "no magic at its start", bytes: new Uint8Array([0, 0, 0, 0, ...withFooter([0x00]).subarray(4)]), message: 'do not start and end with "PAR1"' },
    {
      why: "a length past the file",
      bytes: withFooter([]).map((b, i) => (i === 4 ? 0xe8 : i === 5 ? 0x03 : b)),
      message: "its footer says 1000 bytes of metadata, but the file has 12",
    },
    { why: "a value cut short", bytes: withFooter([0x36]), message: "Could not read the Parquet data: the footer ends inside a value." },
    {
      why: "a negative row group",
      bytes: withFooter([0x36, 0x02, 0x19, 0x2c, 0x36, 0x03, 0x00, 0x36, 0x06, 0x00, 0x00]),
      message: "Could not read the Parquet data: row group 0 holds -2 rows.",
    },
    { why: "rows and no row groups", bytes: withFooter([0x36, 0x0a, 0x00]), message: "its footer says 5 rows, but its row groups hold 0" },
  ])("refuses a file with $why with a FormatError", async ({ why, bytes, message }) => {
    const path = await file(`${why.replaceAll(" ", "-")}.parquet`, bytes);
    await expect(readParquetFileFooter(path)).rejects.toThrow(FormatError);
    await expect(readParquetFileFooter(path)).rejects.toThrow(message);
  });

  it("refuses a named pipe without opening it (an open waits for a writer), and a folder; parquetFileRowGroups then fails as before, naming it", async () => {
    const fifo = join(dir, "pipe.parquet");
    execFileSync("mkfifo", [fifo]);
    const folder = join(dir, "folder.parquet");
    await mkdir(folder);
    for (const path of [fifo, folder]) {
      await expect(readParquetFileFooter(path)).rejects.toThrow("Could not read the Parquet data: it is not a regular file.");
      const counted = Promise.race([
        parquetFileRowGroups(path),
        new Promise((_, reject) => setTimeout(() => reject(new Error("still reading after 10 s")), 10_000).unref()),
      ]);
      await expect(counted).rejects.toThrow(`Could not read the Parquet file ${path}: `);
    }
  });

  it("parquetFileRowGroups gives parquet-wasm's refusal, naming the file, for a file it cannot read here", async () => {
    const path = await file("not.parquet", new TextEncoder().encode("PAR1 but not really PAR1"));
    await expect(readParquetFileFooter(path)).rejects.toThrow(FormatError);
    await expect(parquetFileRowGroups(path)).rejects.toThrow(FormatError);
    await expect(parquetFileRowGroups(path)).rejects.toThrow(`Could not read the Parquet file ${path}: `);
    const missing = join(dir, "missing.parquet");
    await expect(parquetFileRowGroups(missing)).rejects.toThrow(`Could not read the Parquet file ${missing}: `);
  });
});
