// `predict --workers` cuts a JSON Lines file into blocks of whole lines that threads parse apart
// (jsonLinesBlocks, jsonLinesBlockTables), and reads on in one pass from a block they cannot read
// (readJsonLinesTail), its lines numbered as over the whole file. Held here to what reading the
// whole file gives (readTableChunks): the same chunks, or the same error naming the same line.
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ColumnTable, jsonLinesBlocks, jsonLinesBlockTables, readJsonLinesTail, readTableChunks } from "../../src/tabular/index.js";

let dir: string;
let n = 0;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "pipeserve-jsonl-blocks-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function file(text: string): Promise<string> {
  const path = join(dir, `${n++}.jsonl`);
  await writeFile(path, text);
  return path;
}

async function whole(path: string, chunkRows: number, columns?: string[]): Promise<ColumnTable[]> {
  const chunks: ColumnTable[] = [];
  for await (const chunk of readTableChunks(path, { format: "jsonl", chunkRows, ...(columns ? { columns } : {}) })) if (chunk.numRows > 0) chunks.push(chunk);
  return chunks;
}

/** The file's chunks as `predict --workers` makes them: blocks parsed apart, or read on in one pass from the first block that cannot be. */
async function inBlocks(
  path: string,
  rowsPerBlock: number,
  chunkRows: number,
  columns?: string[],
  maxBlockBytes?: number,
): Promise<{ chunks: ColumnTable[]; reread: boolean }> {
  const blocks = await jsonLinesBlocks(path, rowsPerBlock, chunkRows, maxBlockBytes);
  if (!blocks) throw new Error("not cut");
  const chunks: ColumnTable[] = [];
  let lines = 0;
  for await (const block of blocks) {
    const offset = "rest" in block ? block.rest : block.offset;
    const parsed = "rest" in block ? undefined : jsonLinesBlockTables(block.bytes, block.rows, chunkRows, columns);
    if (!parsed) {
      for await (const chunk of readJsonLinesTail(path, offset, lines, { chunkRows, ...(columns ? { columns } : {}) })) chunks.push(chunk);
      return { chunks, reread: true };
    }
    expect(parsed.lines, "a block's line feeds").toBe("rest" in block ? -1 : block.lines);
    chunks.push(...parsed.tables);
    lines += parsed.lines;
  }
  return { chunks, reread: false };
}

const outcome = (p: Promise<ColumnTable[]>): Promise<ColumnTable[] | string> =>
  p.then(
    (c) => c,
    (e: Error) => e.message,
  );

const good = fc.oneof(
  fc.record({ x: fc.oneof(fc.double({ noNaN: true }), fc.constant(null)), s: fc.string({ maxLength: 5 }) }).map((r) => JSON.stringify(r)),
  fc.record({ x: fc.integer(), extra: fc.boolean() }).map((r) => `  ${JSON.stringify(r)}\t`),
  fc.constant('{"x": NaN, "s": "nan"}'),
  fc.constant(""),
  fc.constant("   "),
);
const bad = fc.constantFrom("{", "[1, 2]", "7", "null", '{"x": nan}', "\u00a0", '{"a":1}\r{"b":2}', '{"x":\r1}', '{"s": "\u2028"}');

describe("JSON Lines blocks: the chunks of the whole file, or its error naming the same line", () => {
  it("random lines (blank, padded, NaN tokens, CRLF, no final line end)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(good, { minLength: 1, maxLength: 50 }),
        fc.constantFrom("\n", "\r\n"),
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 1, max: 3 }),
        fc.boolean(),
        async (lines, lineEnd, chunkRows, perBlock, finalEnd) => {
          const path = await file(lines.join(lineEnd) + (finalEnd ? lineEnd : ""));
          const expected = await whole(path, chunkRows);
          const { chunks, reread } = await inBlocks(path, chunkRows * perBlock, chunkRows);
          expect(chunks).toEqual(expected);
          expect(reread).toBe(false);
        },
      ),
      { numRuns: 300, seed: 11 },
    );
  });

  it("random lines with bad ones (not JSON, not an object, a lone CR, unicode whitespace alone): the same chunks or the same error", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.oneof({ weight: 6, arbitrary: good }, { weight: 1, arbitrary: bad }), { minLength: 1, maxLength: 40 }),
        fc.integer({ min: 1, max: 5 }),
        async (lines, chunkRows) => {
          const path = await file(`${lines.join("\n")}\n`);
          expect(await outcome(inBlocks(path, chunkRows * 2, chunkRows).then((r) => r.chunks))).toEqual(await outcome(whole(path, chunkRows)));
        },
      ),
      { numRuns: 300, seed: 12 },
    );
  });

  it("over many reads (megabytes), only the columns asked for; a line past maxBlockBytes hands the rest to one pass", async () => {
    const lines = Array.from({ length: 50_000 }, (_, i) => JSON.stringify({ id: i, note: `n${"é".repeat(i % 9)}`, x: i / 3 }));
    const path = await file(`${lines.join("\n")}\n`);
    const { chunks, reread } = await inBlocks(path, 4096, 512, ["x", "id"]);
    expect(reread).toBe(false);
    expect(chunks).toEqual(await whole(path, 512, ["x", "id"]));
    expect(chunks[0]?.names).toEqual(["id", "x"]);
    const long = await file(`{"x": 1}\n{"x": "${"y".repeat(3 << 20)}"}\n{"x": 2}\n`);
    const cut = await inBlocks(long, 1, 1, undefined, 1 << 20);
    expect(cut.reread).toBe(true);
    expect(cut.chunks).toEqual(await whole(long, 1));
  });

  it("a read stopped by a bad line leaves no file open (readline only pauses its input)", async () => {
    // NB: more than a read's 64 KiB after the bad line: the file is not read to its end (where a stream closes itself).
    const path = await file(`{"x": 1}\n{"x": \n${'{"x": 3}\n'.repeat(30_000)}`);
    const open = async (): Promise<number> => (await readdir("/proc/self/fd")).length;
    const before = await open();
    for (let i = 0; i < 20; i++) {
      await expect(whole(path, 1)).rejects.toThrow("JSON Lines line 2");
      await expect(
        (async () => {
          for await (const chunk of readJsonLinesTail(path, 0, 0, { chunkRows: 1 })) void chunk;
        })(),
      ).rejects.toThrow("JSON Lines line 2");
    }
    // NB: a stream's close is a turn or two behind its destroy.
    await new Promise((r) => setTimeout(r, 50));
    expect(await open()).toBeLessThan(before + 5);
  });

  it("a named pipe or a folder is not cut into blocks", async () => {
    expect(await jsonLinesBlocks("/dev/stdin", 8, 8).catch(() => undefined)).toBeUndefined();
    expect(await jsonLinesBlocks(dir, 8, 8)).toBeUndefined();
  });
});
