// What an archive may write: its files add up to at most the extraction limit (2 GB by default,
// PIPESERVE_MAX_EXTRACT_SIZE, or the caller's), checked from the entry headers before anything is
// written, so a decompression bomb is refused with the figure and leaves nothing behind — for
// extractModelArchive and for .tar.gz model URIs alike; and modes are masked to 0644/0755 (no
// setuid, setgid or sticky bits). Bombs of gigabytes and of 100,000 entries: test/reliability/archives.test.ts.
import { existsSync } from "node:fs";
import { readdir, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { ArchiveError, ModelLoadError, loadModel } from "../../src/index.js";
import { DEFAULT_MAX_EXTRACT_BYTES, MAX_EXTRACT_SIZE_ENV, extractModelArchive } from "../../src/store/index.js";
import { MODEL_LOOKALIKE, tarball, writeZeroBomb } from "../fixtures/hostile-archives.js";
import { rejects, tempDir } from "./helpers.js";

const MB = 1024 * 1024;

afterEach(() => {
  delete process.env[MAX_EXTRACT_SIZE_ENV];
});

type BombCase = [why: string, write: (file: string) => Promise<void>, limit: number | undefined, named: string[]];

const BOMBS: BombCase[] = [
  [
    "64 MB of zeros (a few hundred KB packed) against a 40 MB limit",
    (file) => writeZeroBomb(file, 4, 16 * MB),
    40 * MB,
    ['its files add up to more than the limit of 40 MB (41943040 bytes; 48 MB by entry "artifacts/zeros-2.bin")', "--max-extract-size"],
  ],
  [
    "one header that promises 3 GB, against the default limit",
    (file) => writeFile(file, tarball([...MODEL_LOOKALIKE, { path: "huge.bin", body: "x", declaredSize: 3 * 1024 ** 3 }])),
    undefined,
    ['more than the limit of 2 GB (2147483648 bytes; 3 GB by entry "huge.bin")', MAX_EXTRACT_SIZE_ENV],
  ],
];

describe("the extraction limit", () => {
  it("is 2 GB unless told otherwise", () => {
    expect(DEFAULT_MAX_EXTRACT_BYTES).toBe(2 * 1024 ** 3);
  });

  it.each(BOMBS)("refuses %s, naming the figure, with nothing written", async (_why, write, limit, named) => {
    const dir = await tempDir("pipeserve-bomb-");
    const archive = join(dir, "bomb.tar.gz");
    await write(archive);
    const target = join(dir, "target");
    const error = await rejects(extractModelArchive(archive, target, limit === undefined ? {} : { maxExtractBytes: limit }), ArchiveError, ...named);
    expect(error.code).toBe("ARCHIVE_TOO_LARGE");
    expect(existsSync(target), "the target was created").toBe(false);
    expect(await readdir(dir)).toEqual(["bomb.tar.gz"]);
  });

  it(`takes the limit from ${MAX_EXTRACT_SIZE_ENV} when none is given`, async () => {
    const dir = await tempDir("pipeserve-bomb-");
    const archive = join(dir, "bomb.tar.gz");
    await writeZeroBomb(archive, 2, 2 * MB);
    process.env[MAX_EXTRACT_SIZE_ENV] = "3mb";
    await rejects(extractModelArchive(archive, join(dir, "a")), ArchiveError, "more than the limit of 3 MB");
    process.env[MAX_EXTRACT_SIZE_ENV] = "5mb";
    await extractModelArchive(archive, join(dir, "b"));
    expect((await stat(join(dir, "b", "artifacts", "zeros-1.bin"))).size).toBe(2 * MB);
    process.env[MAX_EXTRACT_SIZE_ENV] = "lots";
    await rejects(
      extractModelArchive(archive, join(dir, "c")),
      ArchiveError,
      `${MAX_EXTRACT_SIZE_ENV} must be a size such as 2gb, 500mb or 1048576, got "lots"`,
    );
  });

  it("refuses a bomb given as a model URI, removing its private folder", async () => {
    const dir = await tempDir("pipeserve-bomb-");
    const archive = join(dir, "bomb.tar.gz");
    await writeZeroBomb(archive, 4, 16 * MB);
    const scratch = await tempDir("pipeserve-tmpdir-");
    const savedTmp = process.env["TMPDIR"];
    process.env["TMPDIR"] = scratch;
    try {
      const error = await rejects(loadModel(archive, { maxExtractBytes: 40 * MB }), ModelLoadError, `Cannot load ${archive}`, "more than the limit of 40 MB");
      expect(error.code).toBe("ARCHIVE_TOO_LARGE");
      process.env[MAX_EXTRACT_SIZE_ENV] = "20mb";
      await rejects(loadModel(archive), ModelLoadError, "more than the limit of 20 MB");
    } finally {
      if (savedTmp === undefined) delete process.env["TMPDIR"];
      else process.env["TMPDIR"] = savedTmp;
    }
    expect(await readdir(scratch), "an extraction folder was left behind").toEqual([]);
  });
});

describe("modes", () => {
  it("are masked to 0644 and 0755: no setuid, setgid or sticky bit survives", async () => {
    const dir = await tempDir("pipeserve-modes-");
    const archive = join(dir, "modes.tar.gz");
    await writeFile(
      archive,
      tarball([
        ...MODEL_LOOKALIKE,
        { path: "shared/", type: "5", mode: 0o1777 },
        { path: "shared/setuid", body: "#!/bin/sh\n", mode: 0o4755 },
        { path: "shared/setgid", body: "data", mode: 0o2644 },
        { path: "shared/both", body: "#!/bin/sh\n", mode: 0o6777 },
        { path: "shared/private", body: "data", mode: 0o600 },
      ]),
    );
    const target = join(dir, "target");
    await extractModelArchive(archive, target);
    const umask = process.umask();
    const modeOf = async (p: string): Promise<number> => (await stat(join(target, p))).mode & 0o7777;
    expect({
      shared: await modeOf("shared"),
      setuid: await modeOf("shared/setuid"),
      setgid: await modeOf("shared/setgid"),
      both: await modeOf("shared/both"),
      private: await modeOf("shared/private"),
      MLmodel: await modeOf("MLmodel"),
    }).toEqual({
      shared: 0o755 & ~umask,
      setuid: 0o755 & ~umask,
      setgid: 0o644 & ~umask,
      both: 0o755 & ~umask,
      private: 0o644 & ~umask,
      MLmodel: 0o644 & ~umask,
    });
  });
});
