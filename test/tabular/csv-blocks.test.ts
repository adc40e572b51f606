// `predict --workers` cuts a CSV file into blocks of whole records that threads parse apart
// (readCsvHead, csvBlocks, csvBlockTables), and reads on in one pass from a block that is not plain
// (readCsvTail). Held here to what reading the whole file gives (readTableChunks): the same records
// in the same chunks, over random tables with quotes, delimiters, line ends and blank lines in them.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ColumnTable, csvBlocks, csvBlockTables, readCsvHead, readCsvTail, readTableChunks } from "../../src/tabular/index.js";

let dir: string;
let n = 0;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "pipeserve-csv-blocks-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function file(text: string | Uint8Array): Promise<string> {
  const path = join(dir, `${n++}.csv`);
  await writeFile(path, text);
  return path;
}

async function whole(path: string, chunkRows: number, columns?: string[]): Promise<ColumnTable[]> {
  const chunks: ColumnTable[] = [];
  for await (const chunk of readTableChunks(path, { format: "csv", chunkRows, raw: true, ...(columns ? { columns } : {}) })) chunks.push(chunk);
  return chunks;
}

/** The file's chunks as `predict --workers` makes them: blocks parsed apart, or read on in one pass from the first block that is not plain. */
async function inBlocks(path: string, rowsPerBlock: number, chunkRows: number, columns?: string[]): Promise<{ chunks: ColumnTable[]; reread: boolean }> {
  const head = await readCsvHead(path);
  if (!head) throw new Error("no head");
  const chunks: ColumnTable[] = [];
  let lines = head.lines;
  for await (const block of csvBlocks(path, head, rowsPerBlock, chunkRows)) {
    const offset = "rest" in block ? block.rest : block.offset;
    const parsed = "rest" in block ? undefined : csvBlockTables(block.bytes, head, block.rows, chunkRows, columns);
    if (!parsed) {
      const prefix = head.text + head.lineEnd.repeat(lines - head.lines);
      for await (const chunk of readCsvTail(path, offset, prefix, { chunkRows, raw: true, ...(columns ? { columns } : {}) })) chunks.push(chunk);
      return { chunks, reread: true };
    }
    chunks.push(...parsed.tables);
    lines += parsed.lines;
  }
  return { chunks, reread: false };
}

const cellText = fc.oneof(
  { weight: 6, arbitrary: fc.string({ unit: fc.constantFrom("a", "b", "1", ".", " ", "é", "€"), maxLength: 6 }) },
  { weight: 1, arbitrary: fc.string({ unit: fc.constantFrom("a", ",", '"', "\n", "\r\n", " "), maxLength: 5 }) },
);

/** A cell as CSV writes it: quoted when it must be (or at random), quotes doubled. */
function quoted(text: string, force: boolean): string {
  return force || /[",\r\n]/.test(text) || text === "" ? `"${text.replaceAll('"', '""')}"` : text;
}

describe("CSV blocks: the records of the whole file, in the same chunks", () => {
  it("random plain tables (quoted delimiters, quotes and line ends in cells, blank lines, CRLF, no final line end)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(cellText, cellText, fc.boolean()), { minLength: 1, maxLength: 60 }),
        fc.constantFrom("\n", "\r\n"),
        fc.integer({ min: 1, max: 7 }),
        fc.integer({ min: 1, max: 4 }),
        fc.boolean(),
        fc.array(fc.nat(60), { maxLength: 3 }),
        async (rows, lineEnd, chunkRows, chunksPerBlock, finalLineEnd, blanks) => {
          const lines = rows.map(([a, b, force]) => `${quoted(a, force)},${quoted(b, false)}`);
          for (const at of blanks) lines.splice(Math.min(at, lines.length), 0, "");
          const text = `a,b${lineEnd}${lines.join(lineEnd)}${finalLineEnd ? lineEnd : ""}`;
          const path = await file(text);
          const expected = await whole(path, chunkRows);
          const { chunks, reread } = await inBlocks(path, chunkRows * chunksPerBlock, chunkRows);
          expect(chunks).toEqual(expected.filter((c) => c.numRows > 0));
          // NB: one line end throughout is plain; a cell holding the other is read in one pass.
          const mixed = rows.some(([a, b]) => (lineEnd === "\n" ? /\r/.test(a + b) : /(^|[^\r])\n/.test(a + b)));
          if (!mixed) expect(reread).toBe(false);
        },
      ),
      { numRuns: 300, seed: 42 },
    );
  });

  it("random text that may not be plain (stray quotes, ragged rows, unclosed quotes, lone CRs): the same records, or the same error", async () => {
    const line = fc.oneof(
      { weight: 8, arbitrary: fc.tuple(cellText, cellText, fc.boolean()).map(([a, b, force]) => `${quoted(a, force)},${quoted(b, false)}`) },
      { weight: 1, arbitrary: fc.constantFrom('1,x"y', "1,2,3", "1", '1,"open', "1,\r2", '"a"b,c', "", " ,") },
    );
    await fc.assert(
      fc.asyncProperty(
        fc.array(line, { minLength: 1, maxLength: 40 }),
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 1, max: 3 }),
        async (lines, chunkRows, chunksPerBlock) => {
          const path = await file(`a,b\n${lines.join("\n")}\n`);
          const outcome = (p: Promise<ColumnTable[]>): Promise<ColumnTable[] | string> =>
            p.then(
              (c) => c.filter((t) => t.numRows > 0),
              (e: Error) => e.message,
            );
          const expected = await outcome(whole(path, chunkRows));
          expect(await outcome(inBlocks(path, chunkRows * chunksPerBlock, chunkRows).then((r) => r.chunks))).toEqual(expected);
        },
      ),
      { numRuns: 300, seed: 7 },
    );
  });

  it("cuts every rowsPerBlock records after line feeds outside quotes; the blocks are the file's bytes after the header", async () => {
    const text = 'a,b\n1,"x\ny"\n\n2,"p,q"\n3,""""\n4,z\n5,w';
    const path = await file(text);
    const head = await readCsvHead(path);
    expect(head).toMatchObject({ header: ["a", "b"], lineEnd: "\n", offset: 4, lines: 1 });
    const blocks = [];
    for await (const block of csvBlocks(path, head!, 2, 2)) blocks.push(block);
    expect(blocks.map((b) => ("rest" in b ? b : { text: Buffer.from(b.bytes).toString(), offset: b.offset, rows: b.rows }))).toEqual([
      { text: '1,"x\ny"\n\n2,"p,q"\n', offset: 4, rows: 2 },
      { text: '3,""""\n4,z\n', offset: 21, rows: 2 },
      { text: "5,w", offset: 32, rows: 1 },
    ]);
    const parsed = blocks.map((b) => ("rest" in b ? undefined : csvBlockTables(b.bytes, head!, b.rows, 10)));
    expect(parsed.map((p) => p?.tables.map((t) => t.columns))).toEqual([
      [
        [
          ["1", "2"],
          ["x\ny", "p,q"],
        ],
      ],
      [
        [
          ["3", "4"],
          ['"', "z"],
        ],
      ],
      [[["5"], ["w"]]],
    ]);
    // NB: line ends, as csv-parse counts them: the last line has none.
    expect(parsed.map((p) => p?.lines)).toEqual([4, 2, 0]);
  });

  it("over many reads of the file (megabytes): quoted line ends and quotes across reads, the same chunks", async () => {
    const lines = ["id,note"];
    for (let i = 0; i < 60_000; i++) lines.push(i % 3 === 0 ? `${i},"line one\nline ""two"", ${"é".repeat(i % 11)}"` : `${i},plain ${i}`);
    const path = await file(`${lines.join("\n")}\n`);
    const { chunks, reread } = await inBlocks(path, 4096, 512);
    expect(reread).toBe(false);
    expect(chunks).toEqual(await whole(path, 512));
    // The only quotes well past the first read (1 MiB): a quoted line end there is no record's end.
    const rare = ["id,note", ...Array.from({ length: 80_000 }, (_, i) => (i === 70_000 ? `${i},"a\nb"` : `${i},plain ${i}`))];
    const rarePath = await file(`${rare.join("\n")}\n`);
    const late = await inBlocks(rarePath, 4096, 512);
    expect(late.reread).toBe(false);
    expect(late.chunks).toEqual(await whole(rarePath, 512));
  });

  it("wide rows: a block ends at the first whole chunk past 8 MiB, however few its records; the same chunks", async () => {
    const wide = "w".repeat(3000);
    const path = await file(`id,note\n${Array.from({ length: 6000 }, (_, i) => `${i},"${wide}\n${i}"`).join("\n")}\n`);
    const head = await readCsvHead(path);
    const sizes: [number, number][] = [];
    for await (const block of csvBlocks(path, head!, 16_384, 7)) if (!("rest" in block)) sizes.push([block.rows, block.bytes.length]);
    expect(sizes.length).toBeGreaterThan(1);
    for (const [rows, bytes] of sizes.slice(0, -1)) {
      expect(rows % 7).toBe(0);
      expect(bytes).toBeGreaterThanOrEqual(8 << 20);
      expect(bytes).toBeLessThan((8 << 20) + 7 * 3020);
    }
    expect(sizes.reduce((a, [rows]) => a + rows, 0)).toBe(6000);
    expect((await inBlocks(path, 16_384, 7)).chunks).toEqual(await whole(path, 7));
  });

  it("a quote left open early: the rest is handed to one pass once maxBlockBytes are read, not the whole file; the same error", async () => {
    const lines = ["id,note", '0,"never closed', ...Array.from({ length: 100_000 }, (_, i) => `${i + 1},text ${i}`)];
    const path = await file(`${lines.join("\n")}\n`);
    const head = await readCsvHead(path);
    const out = [];
    for await (const block of csvBlocks(path, head!, 8, 8, 1 << 20)) out.push(block);
    expect(out).toEqual([{ rest: head!.offset }]);
    const expected = await whole(path, 8).catch((e: Error) => e.message);
    expect(typeof expected).toBe("string");
  });

  it("keeps only the columns asked for, in the file's order", async () => {
    const path = await file("a,b,c\n1,2,3\n4,5,6\n");
    const head = await readCsvHead(path);
    for await (const block of csvBlocks(path, head!, 1, 1)) {
      if ("rest" in block) throw new Error("rest");
      expect(csvBlockTables(block.bytes, head!, block.rows, 5, ["c", "a"])?.tables[0]?.names).toEqual(["a", "c"]);
    }
  });

  it("a block that holds text past a stray quote is not plain, nor one of other line ends, another width, or other than its count", async () => {
    const head = { header: ["a", "b"], lineEnd: "\n" as const };
    const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
    expect(csvBlockTables(bytes("1,2\n3,4\n"), head, 2, 10)).toBeDefined();
    expect(csvBlockTables(bytes('1,x"y\n3,4\n'), head, 2, 10)).toBeUndefined();
    expect(csvBlockTables(bytes("1,2\r\n3,4\r\n"), head, 2, 10)).toBeUndefined();
    expect(csvBlockTables(bytes("1,2,3\n3,4\n"), head, 2, 10)).toBeUndefined();
    expect(csvBlockTables(bytes('1,"open\n'), head, 1, 10)).toBeUndefined();
    expect(csvBlockTables(bytes("1,2\n3,4\n"), head, 3, 10)).toBeUndefined();
  });

  it("from a block that is not plain on, the file is read in one pass: the same records, and csv-parse's error naming the same line", async () => {
    const good = Array.from({ length: 30 }, (_, i) => `${i},v${i}`);
    const ragged = [...good.slice(0, 20), "20,v20,extra", ...good.slice(21)];
    const rpath = await file(`a,b\n${ragged.join("\n")}\n`);
    const wholeError = await whole(rpath, 4).catch((e: Error) => e.message);
    const blockError = await inBlocks(rpath, 8, 4).catch((e: Error) => e.message);
    expect(typeof wholeError).toBe("string");
    expect(blockError).toBe(wholeError);
    // A stray quote, after a quoted line end that csv-parse counts as a line.
    const stray = [...good.slice(0, 3), '3,"two\nlines"', ...good.slice(4, 17), '17,x"y', ...good.slice(18)];
    const spath = await file(`a,b\n${stray.join("\n")}\n`);
    const expected = await whole(spath, 4).catch((e: Error) => e.message);
    expect(
      await inBlocks(spath, 8, 4).then(
        (r) => r.chunks,
        (e: Error) => e.message,
      ),
    ).toEqual(expected);
    // Mixed line ends from the middle on: read in one pass, the same records.
    const mpath = await file(`a,b\r\n${good.slice(0, 12).join("\r\n")}\r\n${good.slice(12).join("\n")}\n`);
    const mixed = await inBlocks(mpath, 8, 4);
    expect(mixed.reread).toBe(true);
    expect(mixed.chunks).toEqual(await whole(mpath, 4));
  });

  it("a block past maxBlockBytes (no line feed: lone CR line ends) hands the rest to one pass", async () => {
    const path = await file(`a,b\n${Array.from({ length: 50 }, (_, i) => `${i},x`).join("\r")}\r`);
    const head = await readCsvHead(path);
    const out = [];
    for await (const block of csvBlocks(path, head!, 4, 4, 64)) out.push(block);
    expect(out).toEqual([{ rest: 4 }]);
  });

  it("readCsvHead: no head for one column, UTF-16, a header that is not plain, a header alone; a UTF-8 byte-order mark and blank lines before are kept in its text", async () => {
    expect(await readCsvHead(await file("x\n1\n2\n"))).toBeUndefined();
    expect(await readCsvHead(await file(Buffer.from("\ufeffa,b\n1,2\n", "utf16le")))).toBeUndefined();
    expect(await readCsvHead(await file('a,b"\n1,2\n'))).toBeUndefined();
    expect(await readCsvHead(await file("a,b\n"))).toBeUndefined();
    expect(await readCsvHead(await file("a,b"))).toBeUndefined();
    // Names that repeat: the one-pass reader refuses them with its message.
    expect(await readCsvHead(await file("a,a\n1,2\n"))).toBeUndefined();
    expect(await readCsvHead(await file("a,,\n1,2,3\n"))).toBeUndefined();
    const bom = await readCsvHead(await file("\ufeff\r\n\r\na,b\r\n1,2\r\n"));
    expect(bom).toMatchObject({ header: ["a", "b"], lineEnd: "\r\n", text: "\ufeff\r\n\r\na,b\r\n", offset: 12, lines: 3 });
    // NB: blank lines ending with LF before a header ending with CRLF are not plain.
    expect(await readCsvHead(await file("\n\na,b\r\n1,2\r\n"))).toBeUndefined();
  });
});
