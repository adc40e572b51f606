// Decompression bombs at full scale (issue 14, item 9): a few megabytes that would extract to more
// than the default 2 GB limit, and an archive of more than 100,000 entries, are refused by
// `import` and as `.tar.gz` model URIs without writing anything — the store is never created and
// no staging or extraction folder is left behind.
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ModelLoadError, loadModel } from "../../src/index.js";
import { MAX_ARCHIVE_ENTRIES } from "../../src/store/index.js";
import { fails } from "../cli/helpers.js";
import { MODEL_LOOKALIKE, type TarEntry, tarball, writeZeroBomb } from "../fixtures/hostile-archives.js";

const MB = 1024 * 1024;

let dir: string;
let scratch: string;
let savedTmp: string | undefined;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "pipeserve-big-bomb-"));
  scratch = join(dir, "tmp");
  await mkdir(scratch);
  savedTmp = process.env["TMPDIR"];
  // NB: import stages archives and model URIs extract into the system's temp folder: watch it.
  process.env["TMPDIR"] = scratch;
});

afterEach(async () => {
  if (savedTmp === undefined) delete process.env["TMPDIR"];
  else process.env["TMPDIR"] = savedTmp;
  await rm(dir, { recursive: true, force: true });
});

describe.each<[string, (file: string) => Promise<void>, string]>([
  ["2.25 GB of zeros in 9 files (a few MB packed)", (file) => writeZeroBomb(file, 9, 256 * MB), "its files add up to more than the limit of 2 GB"],
  [
    `${MAX_ARCHIVE_ENTRIES + 1} entries`,
    (file) => writeFile(file, tarball([...MODEL_LOOKALIKE, ...Array.from({ length: MAX_ARCHIVE_ENTRIES }, (_, i): TarEntry => ({ path: `f${i}` }))])),
    `it has more than ${MAX_ARCHIVE_ENTRIES} entries`,
  ],
])("an archive of %s", (_what, write, message) => {
  it("is refused by import with the default limit, writing nothing", async () => {
    const bomb = join(dir, "bomb.tar.gz");
    await write(bomb);
    expect((await stat(bomb)).size).toBeLessThan(60 * MB);
    const store = join(dir, "mlruns");
    const started = Date.now();
    await fails(["import", bomb, "--name", "bomb", "--tracking-uri", store], 1, [message]);
    expect(Date.now() - started).toBeLessThan(60_000);
    expect(existsSync(store)).toBe(false);
    expect(await readdir(scratch)).toEqual([]);
  });

  it("is refused as a model URI, writing nothing", async () => {
    const bomb = join(dir, "bomb.tar.gz");
    await write(bomb);
    let error: unknown;
    await loadModel(bomb).catch((e: unknown) => {
      error = e;
    });
    expect(error).toBeInstanceOf(ModelLoadError);
    expect((error as ModelLoadError).code).toBe("ARCHIVE_TOO_LARGE");
    expect((error as Error).message).toContain(message);
    expect(await readdir(scratch)).toEqual([]);
  });
});
