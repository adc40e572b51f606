// Reading only the columns a model uses from a Parquet file: the others are never decoded (the
// Arrow tables the readers hand out hold only those), the values are those of a full read, and a
// wanted column the file lacks, or one that is nested, falls back to reading every column (a
// projection naming a column the file lacks stops parquet-wasm with a WebAssembly `unreachable`);
// and reading only some row groups.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Table, tableToIPC, vectorFromArray } from "apache-arrow";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  concatTables,
  loadParquetWasm,
  parquetFileRowGroups,
  parquetFileTables,
  parquetProjection,
  readParquetSegments,
  readTableChunks,
  type ColumnTable,
} from "../../src/tabular/index.js";

let dir: string;
let file: string;
const ROWS = 7;
const a = Array.from({ length: ROWS }, (_, i) => i + 0.5);
const b = Array.from({ length: ROWS }, (_, i) => `b${i}`);
const c = Array.from({ length: ROWS }, (_, i) => i * 10);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "pipeserve-projection-"));
  file = join(dir, "mixed.parquet");
  const table = new Table({
    a: vectorFromArray(a),
    s: vectorFromArray(Array.from({ length: ROWS }, (_, i) => ({ x: i }))),
    b: vectorFromArray(b),
    c: vectorFromArray(c),
    "d.e": vectorFromArray(c),
  });
  // NB: written by parquet-wasm from the Arrow table as it is, so `s` stays a struct (leaves s.x).
  const pq = loadParquetWasm();
  await writeFile(file, pq.writeParquet(pq.Table.fromIPCStream(tableToIPC(table, "stream"))));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

async function threadRead(columns?: string[]): Promise<Table[]> {
  const tables: Table[] = [];
  for await (const t of parquetFileTables(file, 3, { columns })) tables.push(t);
  return tables;
}

async function segmentRead(columns?: string[]): Promise<Table[]> {
  const tables: Table[] = [];
  for await (const t of readParquetSegments(file, [{ group: 0, offset: 1, limit: 5 }], 2, columns)) tables.push(t);
  return tables;
}

const names = (tables: Table[]): string[][] => tables.map((t) => t.schema.fields.map((f) => f.name));
const rows = (tables: Table[]): number => tables.reduce((n, t) => n + t.numRows, 0);

describe("parquetProjection", () => {
  const leaves = [["a"], ["s", "x"], ["b"], ["c"], ["d.e"]];
  it("keeps the wanted top-level columns the file has, once each", () => {
    expect(parquetProjection(leaves, ["c", "a", "missing", "c"])).toEqual(["c", "a"]);
  });
  it("reads every column when nothing is wanted, a wanted column is nested, or none is in the file", () => {
    expect(parquetProjection(leaves, undefined)).toBeUndefined();
    expect(parquetProjection(leaves, ["a", "s"])).toBeUndefined();
    expect(parquetProjection(leaves, ["missing"])).toBeUndefined();
    expect(parquetProjection([], ["a"])).toBeUndefined();
  });
});

describe("Parquet readers with wanted columns", () => {
  it("the file-reading thread decodes only the wanted columns, every row", async () => {
    const tables = await threadRead(["c", "a", "missing"]);
    expect(names(tables).every((n) => n.join() === "a,c")).toBe(true);
    expect(rows(tables)).toBe(ROWS);
    const whole = await threadRead();
    expect(names(whole)[0]).toEqual(["a", "s", "b", "c", "d.e"]);
  });

  it("a nested or absent wanted column: every column is decoded", async () => {
    expect(names(await threadRead(["s", "a"]))[0]).toEqual(["a", "s", "b", "c", "d.e"]);
    const none = await threadRead(["missing"]);
    expect(names(none)[0]).toEqual(["a", "s", "b", "c", "d.e"]);
    expect(rows(none)).toBe(ROWS);
  });

  it("a worker's segment reader decodes only the wanted columns of its rows", async () => {
    const tables = await segmentRead(["b"]);
    expect(names(tables).every((n) => n.join() === "b")).toBe(true);
    expect(tables.flatMap((t) => t.getChild("b")!.toArray() as string[])).toEqual(b.slice(1, 6));
    expect(names(await segmentRead(["s"]))[0]).toEqual(["a", "s", "b", "c", "d.e"]);
    // NB: a dot in a top-level column's name is no path: the column is found.
    expect(names(await segmentRead(["d.e"]))[0]).toEqual(["d.e"]);
    expect(names(await segmentRead())[0]).toEqual(["a", "s", "b", "c", "d.e"]);
  });

  it("readTableChunks with columns gives the values of a full read, in chunks of the same rows", async () => {
    const read = async (columns?: string[]): Promise<ColumnTable[]> => {
      const chunks: ColumnTable[] = [];
      for await (const chunk of readTableChunks(file, { chunkRows: 3, ...(columns ? { columns } : {}) })) chunks.push(chunk);
      return chunks;
    };
    const projected = await read(["c", "a"]);
    expect(projected.map((t) => t.numRows)).toEqual([3, 3, 1]);
    const joined = concatTables(projected);
    expect(joined.names).toEqual(["a", "c"]);
    expect(joined.columns).toEqual([a, c]);
    const full = concatTables(await read());
    expect(full.columns[full.names.indexOf("a")]).toEqual(joined.columns[0]);
    expect(full.columns[full.names.indexOf("c")]).toEqual(joined.columns[1]);
  });
});

describe("reading only some row groups in the reader thread", () => {
  it("gives the rows of the groups asked for, in order, and never those of the others", async () => {
    // NB: row groups of 3 rows: 0–2, 3–5 and 6–8.
    const grouped = join(dir, "groups.parquet");
    const n = Array.from({ length: 9 }, (_, i) => i);
    const table = new Table({ n: vectorFromArray(n), t: vectorFromArray(n.map((i) => `r${i}`)) });
    const pq = loadParquetWasm();
    const properties = new pq.WriterPropertiesBuilder().setMaxRowGroupSize(3).build();
    await writeFile(grouped, pq.writeParquet(pq.Table.fromIPCStream(tableToIPC(table, "stream")), properties));
    expect(await parquetFileRowGroups(grouped)).toEqual([3, 3, 3]);
    const read = async (rowGroups: number[], columns?: string[]): Promise<Table[]> => {
      const tables: Table[] = [];
      for await (const t of parquetFileTables(grouped, 10, { rowGroups, columns })) tables.push(t);
      return tables;
    };
    const values = (tables: Table[]): number[] => tables.flatMap((t) => Array.from(t.getChild("n")!.toArray() as ArrayLike<number>));
    expect(values(await read([1]))).toEqual([3, 4, 5]);
    expect(values(await read([0, 2]))).toEqual([0, 1, 2, 6, 7, 8]);
    const projected = await read([2], ["n"]);
    expect(names(projected)).toEqual([["n"]]);
    expect(values(projected)).toEqual([6, 7, 8]);
    await expect(read([3])).rejects.toThrow(`Could not read the Parquet file ${grouped}: it has no row group 3 (it has 3)`);
  });
});
