// createModelArchive() / extractModelArchive(): a packaged model round-trips through a .tar.gz
// byte for byte and loads from it; hostile archives (entries climbing out with "..", absolute
// paths, symlinks and hard links out of the target, a path through a symlinked folder, a pax
// header that renames an entry) are refused whole, naming the entry, with nothing written
// anywhere: not in the target, not at any path the entry would have reached.
import { existsSync } from "node:fs";
import { mkdir, readFile, readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { list } from "tar";
import { beforeAll, describe, expect, it } from "vitest";
import { ArchiveError, ModelLoadError, StoreError, loadModel, runProject, type ColumnTable } from "../../src/index.js";
import { createModelArchive, extractModelArchive } from "../../src/store/index.js";
import { HOSTILE_CASES, MODEL_LOOKALIKE, hostileSandbox, tarball } from "../fixtures/hostile-archives.js";
import { copyProject, listFiles, rejects, sha256Of, tempDir } from "./helpers.js";
import { loggedModelDir } from "../fixtures/model-dir.js";

let modelDir: string;

beforeAll(async () => {
  const tracking = await tempDir("pipeserve-tracking-");
  const { runId } = await runProject({ projectDir: await copyProject("linear"), pipelineName: "training", trackingUri: tracking });
  modelDir = await loggedModelDir(tracking, runId);
});

describe("a model round-trips through an archive", () => {
  it("packs the model's files (sorted, relative, nothing else) and unpacks them byte for byte", async () => {
    const dir = await tempDir();
    const archive = join(dir, "out", "model.tar.gz");
    await createModelArchive(modelDir, archive);
    const entries: string[] = [];
    await list({ file: archive, onReadEntry: (e) => void entries.push(e.path) });
    const topLevel = entries.filter((e) => !e.slice(0, -1).includes("/"));
    expect(topLevel).toEqual([...topLevel].sort());
    expect(topLevel.every((e) => !e.startsWith("."))).toBe(true);
    expect(entries.filter((e) => !e.endsWith("/")).sort()).toEqual(await listFiles(modelDir));
    expect(entries.every((e) => !e.startsWith("/") && !e.split("/").includes(".."))).toBe(true);
    expect(await readdir(join(dir, "out")), "no temp file left beside it").toEqual(["model.tar.gz"]);

    const target = join(dir, "unpacked");
    await extractModelArchive(archive, target);
    expect(await listFiles(target)).toEqual(await listFiles(modelDir));
    for (const file of await listFiles(modelDir)) expect(await sha256Of(join(target, file)), file).toBe(await sha256Of(join(modelDir, file)));
  });

  it("is reproducible: the same model packs to the same bytes", async () => {
    const dir = await tempDir();
    await createModelArchive(modelDir, join(dir, "a.tar.gz"));
    await createModelArchive(modelDir, join(dir, "b.tar.gz"));
    expect(await sha256Of(join(dir, "a.tar.gz"))).toBe(await sha256Of(join(dir, "b.tar.gz")));
  });

  it("loads and predicts straight from the .tar.gz", async () => {
    const archive = join(await tempDir(), "model.tar.gz");
    await createModelArchive(modelDir, archive);
    const model = await loadModel(archive);
    try {
      expect(((await model.predict({ x: [1, 2], group: ["a", "b"] })) as ColumnTable).numRows).toBe(2);
    } finally {
      await model.close();
    }
  });

  it("refuses to pack a folder that is not a model", async () => {
    const dir = await tempDir();
    await writeFile(join(dir, "notes.txt"), "hi");
    await rejects(createModelArchive(dir, join(dir, "x.tar.gz")), ArchiveError, "is not a model directory (no MLmodel file)");
  });
});

describe("hostile archives are refused whole, naming the entry, with nothing written", () => {
  it.each(HOSTILE_CASES)("%s", async (_why, entries, named, wouldBe) => {
    const { sandbox, archive } = await hostileSandbox(await tempDir("pipeserve-hostile-"), entries);
    const target = join(sandbox, "target");
    const error = await rejects(extractModelArchive(archive, target), ArchiveError, "Refusing to extract", typeof named === "string" ? named : named(sandbox));
    expect(error.code).toBe("INVALID_ARCHIVE");
    expect(error).toBeInstanceOf(StoreError);
    expect(existsSync(target), "the target was created").toBe(false);
    for (const path of wouldBe(sandbox)) expect(existsSync(path), path).toBe(false);
    expect((await readdir(sandbox)).sort()).toEqual(["hostile.tar.gz", "outside"]);
    expect(await readdir(join(sandbox, "outside"))).toEqual(["secret.txt"]);
    expect(await readFile(join(sandbox, "outside", "secret.txt"), "utf8")).toBe("original");
  });

  it("the loader refuses a hostile archive URI the same way", async () => {
    const { sandbox, archive } = await hostileSandbox(await tempDir("pipeserve-hostile-"), () => [...MODEL_LOOKALIKE, { path: "../evil", body: "pwned" }]);
    await rejects(loadModel(archive), ModelLoadError, "Cannot load", '"../evil" would land outside');
    expect(existsSync(join(sandbox, "evil"))).toBe(false);
  });
});

describe("archives that are not model archives", () => {
  it.each([
    ["plain text", () => Buffer.from("this is not gzip"), "is not a readable .tar.gz archive"],
    ["a tar without MLmodel", () => tarball([{ path: "pipeline.json", body: "{}" }]), "is not a model archive: it has no MLmodel at its top level"],
    ["a tar with MLmodel only in a sub-folder", () => tarball([{ path: "model/MLmodel", body: "x" }]), "is not a model archive"],
  ])("refuses %s", async (_why, bytes, message) => {
    const dir = await tempDir();
    await writeFile(join(dir, "x.tar.gz"), bytes());
    await rejects(extractModelArchive(join(dir, "x.tar.gz"), join(dir, "target")), ArchiveError, message);
    expect(existsSync(join(dir, "target"))).toBe(false);
  });

  it("refuses to extract into a folder that is not empty", async () => {
    const dir = await tempDir();
    await writeFile(join(dir, "m.tar.gz"), tarball(MODEL_LOOKALIKE));
    await mkdir(join(dir, "target"));
    await writeFile(join(dir, "target", "keep.txt"), "mine");
    await rejects(extractModelArchive(join(dir, "m.tar.gz"), join(dir, "target")), ArchiveError, "the folder is not empty");
    expect(await readdir(join(dir, "target"))).toEqual(["keep.txt"]);
  });
});
