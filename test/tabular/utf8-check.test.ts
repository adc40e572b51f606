// checkedUtf8: the bytes of a text input pass through unchanged when they are UTF-8, however they
// are cut into chunks; the first sequence UTF-8 does not allow stops them, naming its line.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { NotUtf8Error, checkedUtf8 } from "../../src/tabular/index.js";

async function read(chunks: Uint8Array[], linesBefore = 0): Promise<Buffer> {
  const out: Buffer[] = [];
  for await (const chunk of checkedUtf8(chunks, linesBefore, "in.csv")) out.push(Buffer.from(chunk));
  return Buffer.concat(out);
}

/** `bytes` cut at `cuts` (any places, in characters or not). */
function cut(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const at = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  return [0, ...at].map((start, i) => bytes.subarray(start, at[i] ?? bytes.length));
}

describe("checkedUtf8", () => {
  it("passes UTF-8 on unchanged, cut anywhere (inside characters too)", async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ unit: "grapheme" }), fc.array(fc.nat(), { maxLength: 6 }), async (text, cuts) => {
        const bytes = Buffer.from(text);
        expect((await read(cut(bytes, cuts))).equals(bytes)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it.each([
    ["a Latin-1 é", Buffer.from("a,b\n1,x\nDr\xe9am,2\n", "latin1"), 3, "E9 61 6D 2C"],
    ["a lone continuation byte", Buffer.from([0x61, 0x0a, 0x80, 0x0a]), 2, "80 0A"],
    ["a character cut short at the end", Buffer.from([0x61, 0x0a, 0x0a, 0xe2, 0x82]), 3, "E2 82"],
    ["a surrogate written as UTF-8 (CESU)", Buffer.from([0x0a, 0xed, 0xa0, 0x80]), 2, "ED A0 80"],
  ])("refuses %s, naming its line and bytes, cut anywhere", async (_why, bytes, line, shown) => {
    for (let at = 0; at <= bytes.length; at++) {
      const chunks = [bytes.subarray(0, at), bytes.subarray(at)];
      const error = await read(chunks).catch((e: unknown) => e);
      expect(error, `cut at ${at}`).toBeInstanceOf(NotUtf8Error);
      // NB: the bytes shown are those read so far, from the first bad one (up to 4).
      expect((error as Error).message).toMatch(
        new RegExp(
          `^The input in\\.csv is not valid UTF-8: line ${line} holds bytes UTF-8 does not allow \\(${shown.slice(0, 2)}[ 0-9A-F]*\\), as Latin-1 or Windows-1252 text does\\. Save it as UTF-8 \\(e\\.g\\. iconv -f latin1 -t utf-8\\)\\.$`,
        ),
      );
      expect(shown.startsWith((error as Error).message.match(/allow \(([^)]*)\)/)?.[1] ?? "?"), `cut at ${at}`).toBe(true);
    }
  });

  it("numbers lines after those before a tail; passes UTF-16 (FF FE) on unchecked, as csv-parse reads it, however its first bytes come", async () => {
    await expect(read([Buffer.from("\n\xff", "latin1")], 10)).rejects.toThrow("line 12 holds bytes");
    const utf16 = Buffer.from("\ufeffa,b\n1,2\n", "utf16le");
    expect((await read([utf16])).equals(utf16)).toBe(true);
    // Found by a review: a first piece of one byte (FF) was checked alone, and refused.
    expect((await read([utf16.subarray(0, 1), utf16.subarray(1)])).equals(utf16)).toBe(true);
    await expect(read([Buffer.from([0xff]), Buffer.from("a\n")])).rejects.toThrow("line 1 holds bytes UTF-8 does not allow (FF");
  });

  // Found by a review: only line feeds were counted, so a file of \r line ends named line 1.
  it.each([
    ["\r", "a\rb\rc\rDr\xe9am\r"],
    ["\r\n", "a\r\nb\r\nc\r\nDr\xe9am\r\n"],
    ["mixed", "a\nb\r\nc\rDr\xe9am\n"],
  ])("numbers lines ended by %j, as csv-parse does, cut anywhere", async (_ends, text) => {
    const bytes = Buffer.from(text, "latin1");
    for (let at = 0; at <= bytes.length; at++) {
      await expect(read([bytes.subarray(0, at), bytes.subarray(at)]), `cut at ${at}`).rejects.toThrow("line 4 holds bytes");
    }
  });
});
