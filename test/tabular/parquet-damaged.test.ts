/**
 * Damaged Parquet files on which parquet-wasm panics (found by the fuzz suite, test/reliability/fuzz):
 * in its stream decoder (a damaged page) or its footer reader (a damaged footer, read for the row
 * count of `--shard` and progress). The panic came out of a task of parquet-wasm's own as an
 * uncaught exception — `pipeserve predict` crashed with a stack — and the read never ended. Files
 * are now read in a thread of their own, so the panic is that thread's error: a FormatError naming
 * the file. Footers are counted without parquet-wasm (readParquetFileFooter). Good files read as before.
 */
import { copyFile, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FormatError, arrowToParquet, tableFromColumns, toArrow, type ColumnTable } from "../../src/index.js";
import { parquetFileRows, readTableChunks } from "../../src/tabular/index.js";

/** The 1,503 bytes the fuzz suite found: a generated table's Parquet, with some bytes changed. */
const PANICKING_FILE = fileURLToPath(new URL("../fixtures/parquet/panicking-page.parquet", import.meta.url));

/** The 533 bytes the fuzz suite found: a Parquet file whose footer makes parquet-wasm panic. */
const PANICKING_FOOTER = fileURLToPath(new URL("../fixtures/parquet/panicking-footer.parquet", import.meta.url));

let dir: string;
const uncaught: unknown[] = [];
const onUncaught = (error: unknown): void => {
  uncaught.push(error);
};

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "pipeserve-parquet-damaged-"));
  process.on("uncaughtException", onUncaught);
});
afterAll(async () => {
  process.off("uncaughtException", onUncaught);
  await rm(dir, { recursive: true, force: true });
});

async function readAll(path: string, chunkRows: number): Promise<ColumnTable[]> {
  const chunks: ColumnTable[] = [];
  for await (const chunk of readTableChunks(path, { chunkRows })) chunks.push(chunk);
  return chunks;
}

/** `promise`, or a rejection after `ms`. */
function orTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`still reading after ${ms} ms`)), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

describe("a Parquet file on which the decoder panics", () => {
  it("readTableChunks (pipeserve predict) refuses it with a FormatError naming the file (before: an uncaught exception, and no end)", async () => {
    const path = join(dir, "damaged.parquet");
    await copyFile(PANICKING_FILE, path);
    const reading = orTimeout(readAll(path, 3), 20_000);
    await expect(reading).rejects.toThrow(FormatError);
    await expect(reading).rejects.toThrow(`Could not read the Parquet file ${path}: unreachable`);
    expect(uncaught).toEqual([]);
  });
});

describe("a Parquet file whose footer makes the decoder panic", () => {
  it("readTableChunks (pipeserve predict) refuses it with a FormatError naming the file (before: an uncaught exception, and no end)", async () => {
    const path = join(dir, "footer.parquet");
    await copyFile(PANICKING_FOOTER, path);
    const reading = orTimeout(readAll(path, 3), 20_000);
    await expect(reading).rejects.toThrow(FormatError);
    await expect(reading).rejects.toThrow(`Could not read the Parquet file ${path}: unreachable`);
    expect(uncaught).toEqual([]);
  });

  it("parquetFileRows (--shard, progress) gives the count its footer declares (unchecked against the data), read without parquet-wasm: no panic to catch", async () => {
    // NB: the footer is read by readParquetFileFooter; the file's readers then refuse it (above), and
    // `predict` with threads does too (test/reliability/batch-workers.test.ts).
    const path = join(dir, "footer-count.parquet");
    await copyFile(PANICKING_FOOTER, path);
    expect(await orTimeout(parquetFileRows(path), 20_000)).toBe(11);
    expect(uncaught).toEqual([]);
  });
});

describe("good Parquet files still read, in chunks", () => {
  it("every row, in order, a chunk at a time", async () => {
    const path = join(dir, "good.parquet");
    await writeFile(path, arrowToParquet(toArrow(tableFromColumns({ a: [1, 2, 3, 4, 5], b: ["p", "q", "r", "s", "t"] }))));
    const chunks = await readAll(path, 2);
    expect(chunks.map((c) => c.numRows)).toEqual([2, 2, 1]);
    expect(chunks.flatMap((c) => c.columns[1])).toEqual(["p", "q", "r", "s", "t"]);
    expect(await parquetFileRows(path)).toBe(5);
  });

  it("a file that is not Parquet: a FormatError naming it", async () => {
    const path = join(dir, "not.parquet");
    await writeFile(path, "PAR1 but not really");
    await expect(readAll(path, 2)).rejects.toThrow(`Could not read the Parquet file ${path}`);
  });
});
