// `pipeserve export` and `pipeserve import` (in-process, main with its own io): a registered model goes out
// as a .tar.gz and comes back into another store byte for byte, registered under a new name, and
// predicts the same; hostile archives are refused before anything is written (no run, no store,
// nothing at any path an entry would have reached), naming the entry.
import { existsSync } from "node:fs";
import { appendFile, chmod, mkdir, readFile, readdir, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { FileStore, ModelRegistry, loadModel, runProject, type ColumnTable } from "../../src/index.js";
import { createModelArchive, extractModelArchive } from "../../src/store/index.js";
import { HOSTILE_CASES, MODEL_LOOKALIKE, hostileSandbox, tarball, writeZeroBomb } from "../fixtures/hostile-archives.js";
import { copyProject, fails, listFiles, ok, readYaml11, sha256Of, tempDir } from "./helpers.js";
import { loggedModelDir } from "../fixtures/model-dir.js";
import { runMain } from "../fixtures/cli.js";

let tracking: string;
let runId: string;
let modelDir: string;
let archive: string;

beforeAll(async () => {
  tracking = await tempDir("pipeserve-tracking-");
  const result = await runProject({ projectDir: await copyProject("linear"), pipelineName: "training", trackingUri: tracking });
  runId = result.runId;
  modelDir = await loggedModelDir(tracking, runId);
  await new ModelRegistry(tracking).setAlias("linear-model", "champion", 1);
  // NB: the archive goes into a folder of its own, made first: export refuses a missing folder, as predict -o does.
  archive = join(await tempDir("pipeserve-export-"), "out", "linear.tar.gz");
  await mkdir(join(archive, ".."));
}, 60_000);

const XS = { x: [-1, 0.25, 3], group: ["a", "b", "a"] };

/** Runs `fn` with the system's temp folder (where import stages archives) at `dir`. */
async function withTmpdir<T>(dir: string, fn: () => Promise<T>): Promise<T> {
  const saved = process.env["TMPDIR"];
  process.env["TMPDIR"] = dir;
  try {
    return await fn();
  } finally {
    if (saved === undefined) delete process.env["TMPDIR"];
    else process.env["TMPDIR"] = saved;
  }
}

describe("pipeserve export", () => {
  it("packs a model named by alias into a .tar.gz", async () => {
    expect(await ok(["export", "-m", "models:/linear-model@champion", "-o", archive, "--tracking-uri", tracking])).toBe(
      `Exported models:/linear-model@champion to ${archive}\n`,
    );
    expect(await readdir(join(archive, ".."))).toEqual(["linear.tar.gz"]);
  });

  it("packs the same bytes from runs:/ and from the folder itself", async () => {
    const dir = await tempDir("pipeserve-export-");
    await ok(["export", "-m", `runs:/${runId}/model`, "-o", join(dir, "a.tar.gz"), "--tracking-uri", tracking]);
    await ok(["export", "-m", modelDir, "-o", join(dir, "b.tar.gz")]);
    expect(await sha256Of(join(dir, "a.tar.gz"))).toBe(await sha256Of(archive));
    expect(await sha256Of(join(dir, "b.tar.gz"))).toBe(await sha256Of(archive));
  });

  it.each([
    ["an unknown model", ["export", "-m", "models:/nope/1", "-o", "x.tar.gz"], 1, ['Registered model "nope" does not exist']],
    ["a folder that is not a model", ["export", "-m", ".", "-o", "x.tar.gz"], 1, ["MLmodel"]],
    ["no output", ["export", "-m", "models:/linear-model/1"], 2, ["error: required option '-o, --output <file>' not specified"]],
    [
      "an output folder that does not exist (as predict -o says it)",
      ["export", "-m", "models:/linear-model/1", "-o", "missing/x.tar.gz"],
      1,
      ["Cannot write", "the folder", "missing does not exist. Create it first."],
    ],
  ])("%s: non-zero exit, a clear message, no archive", async (_why, args, code, messages) => {
    const cwd = await tempDir("pipeserve-cwd-");
    await fails([...(args as string[]), "--tracking-uri", tracking], code as number, messages as string[], { cwd });
    expect(await readdir(cwd)).toEqual([]);
  });
});

describe("export -o - and import -: an archive through a pipe", () => {
  it("export -o - writes the archive's bytes to stdout and says so on stderr; import - reads them from stdin into a new run that predicts the same", async () => {
    const exported = await runMain(["export", "-m", "models:/linear-model@champion", "-o", "-", "--tracking-uri", tracking]);
    expect(exported.code, exported.stderr.toString("utf8")).toBe(0);
    expect(exported.stderr.toString("utf8")).toBe("Exported models:/linear-model@champion to stdout\n");
    const file = join(await tempDir("pipeserve-export-"), "a.tar.gz");
    await ok(["export", "-m", "models:/linear-model@champion", "-o", file, "--tracking-uri", tracking]);
    expect(exported.stdout.equals(await readFile(file)), "stdout holds the same bytes as the file").toBe(true);

    const other = await tempDir("pipeserve-other-store-");
    const tmp = await tempDir("pipeserve-tmp-");
    const imported = await withTmpdir(tmp, () => runMain(["import", "-", "--name", "piped", "--tracking-uri", other], { stdin: exported.stdout }));
    expect(imported.code, imported.stderr.toString("utf8")).toBe(0);
    const m = /^Imported stdin as runs:\/([0-9a-f]{32})\/model \(models:\/piped\/1\)\n$/.exec(imported.stdout.toString("utf8"));
    expect(m, imported.stdout.toString("utf8")).not.toBeNull();
    expect((await (await FileStore.open(other)).getRun(m?.[1] as string)).tags["pipeserve.imported_from"]).toBe("stdin");
    expect(await readdir(tmp), "the copy of stdin was removed").toEqual([]);
    const original = await loadModel("models:/linear-model@champion", { trackingUri: tracking });
    const copy = await loadModel("models:/piped/1", { trackingUri: other });
    try {
      expect((await copy.predict(XS)) as ColumnTable).toEqual((await original.predict(XS)) as ColumnTable);
    } finally {
      await original.close();
      await copy.close();
    }
  });

  it("import - refuses a hostile archive from stdin as from a file: nothing written, the copy removed", async () => {
    const [, entries, named] = HOSTILE_CASES[0] as (typeof HOSTILE_CASES)[number];
    const { sandbox, archive: hostile } = await hostileSandbox(await tempDir("pipeserve-hostile-"), entries);
    const store = join(sandbox, "mlruns");
    const tmp = await tempDir("pipeserve-tmp-");
    const bytes = await readFile(hostile);
    const r = await withTmpdir(tmp, () => runMain(["import", "-", "--tracking-uri", store], { stdin: bytes, cwd: sandbox }));
    expect(r.code).toBe(1);
    expect(r.stderr.toString("utf8")).toContain(`Refusing to extract`);
    expect(r.stderr.toString("utf8")).toContain(named as string);
    expect(existsSync(store)).toBe(false);
    expect(await readdir(tmp)).toEqual([]);
  });

  it("import - refuses stdin longer than an archive within --max-extract-size can be, as it comes, and keeps no copy", async () => {
    const store = join(await tempDir("pipeserve-store-"), "mlruns");
    const tmp = await tempDir("pipeserve-tmp-");
    // NB: 1 KB of files allow 1 KB, plus 1 KB of tar header and padding for each of 100,000 entries, plus 1 MB: 104 MB of stdin is past that.
    const r = await withTmpdir(tmp, () =>
      runMain(["import", "-", "--max-extract-size", "1kb", "--tracking-uri", store], { stdin: Buffer.alloc(104 * 1024 ** 2, 7) }),
    );
    expect(r.code).toBe(1);
    expect(r.stderr.toString("utf8")).toMatch(/Refusing the archive read from stdin: it is longer than .+ the extraction limit of 1 KB/);
    expect(existsSync(store)).toBe(false);
    expect(await readdir(tmp)).toEqual([]);
  });

  // Found by a review: these named the copy of stdin in the staging folder, gone by then.
  it.each([
    [
      "an archive past --max-extract-size",
      ["--max-extract-size", "1kb"],
      () => readFile(archive),
      "Refusing to extract stdin: its files add up to more than the limit of 1 KB",
    ],
    ["nothing at all", [], async () => Buffer.alloc(0), "stdin is not a readable .tar.gz archive"],
  ])("import - refuses %s naming stdin", async (_why, flags, stdin, says) => {
    const store = join(await tempDir("pipeserve-store-"), "mlruns");
    const r = await runMain(["import", "-", ...(flags as string[]), "--tracking-uri", store], { stdin: await (stdin as () => Promise<Buffer>)() });
    expect(r.code).toBe(1);
    expect(r.stderr.toString("utf8")).toContain(says as string);
    expect(r.stderr.toString("utf8")).not.toContain("pipeserve-import-");
  });
});

describe("pipeserve import", () => {
  let other: string;
  beforeAll(async () => {
    other = await tempDir("pipeserve-other-store-");
  });

  it("unpacks into a new FINISHED run of another store, registers it, and the copy predicts the same", async () => {
    const stdout = await ok(["import", archive, "--name", "copy", "--tracking-uri", other]);
    const m = /^Imported (.+) as runs:\/([0-9a-f]{32})\/model \(models:\/copy\/1\)\n$/.exec(stdout);
    expect(m?.[1]).toBe(archive);
    const imported = m?.[2] as string;
    const store = await FileStore.open(other);
    const run = await store.getRun(imported);
    expect(run.info.status).toBe("FINISHED");
    expect(run.tags["pipeserve.imported_from"]).toBe(archive);
    expect((await store.getExperiment(run.info.experimentId)).name).toBe("Imported models");
    const copyDir = join(await store.artifactDir(imported), "model");
    expect(await readdir(join(copyDir, ".."))).toEqual(["model"]);
    expect(await listFiles(copyDir)).toEqual(await listFiles(modelDir));
    for (const file of await listFiles(modelDir)) expect(await sha256Of(join(copyDir, file)), file).toBe(await sha256Of(join(modelDir, file)));
    // The MLmodel still names the run that trained it.
    expect((await readYaml11(join(copyDir, "MLmodel")))["run_id"]).toBe(runId);

    const original = await loadModel("models:/linear-model@champion", { trackingUri: tracking });
    const copy = await loadModel("models:/copy/1", { trackingUri: other });
    try {
      expect(copy.dir).toBe(copyDir);
      expect((await copy.predict(XS)) as ColumnTable).toEqual((await original.predict(XS)) as ColumnTable);
    } finally {
      await original.close();
      await copy.close();
    }
  });

  it("into a SQLite store: a FINISHED run, registered, and the copy predicts the same", async () => {
    const db = join(other, "import.db");
    const uri = `sqlite:///${db}`;
    const stdout = await ok(["import", archive, "--name", "copy-sql", "--tracking-uri", uri]);
    expect(stdout).toMatch(/^Imported .+ as runs:\/[0-9a-f]{32}\/model \(models:\/copy-sql\/1\)\n$/);
    expect(await ok(["runs", "list", "--tracking-uri", uri, "--all"])).toMatch(/FINISHED/);
    expect(await ok(["runs", "list", "--tracking-uri", uri, "--all"])).not.toMatch(/FAILED/);
    const original = await loadModel("models:/linear-model@champion", { trackingUri: tracking });
    const copy = await loadModel("models:/copy-sql/1", { trackingUri: uri });
    try {
      expect((await copy.predict(XS)) as ColumnTable).toEqual((await original.predict(XS)) as ColumnTable);
    } finally {
      await original.close();
      await copy.close();
    }
  });

  it("--json prints the run, the model URI and the version; a second import is version 2", async () => {
    const result = JSON.parse(await ok(["import", archive, "--name", "copy", "--experiment", "restored", "--json", "--tracking-uri", other]));
    expect(result).toEqual({ runId: expect.stringMatching(/^[0-9a-f]{32}$/), modelUri: `runs:/${result.runId}/model`, registeredModel: "copy", version: 2 });
    expect((await (await FileStore.open(other)).getExperiment("restored")).name).toBe("restored");
  });

  // Found by an audit: the name was checked only at registration, after the run was made, so
  // each try left one more finished run holding a copy of the model.
  it.each([" spaced", "a/b", "x:y"])("--name %j is a usage error (exit 2) before anything is written", async (name) => {
    const store = join(await tempDir("pipeserve-import-name-"), "mlruns");
    await fails(["import", archive, "--name", name, "--tracking-uri", store], 2, ["--name: Invalid model name", JSON.stringify(name)]);
    expect(existsSync(store), "a store (or a run) was written").toBe(false);
  });

  it.each(HOSTILE_CASES)("refuses %s: exit 1 naming the entry, nothing written anywhere", async (_why, entries, named, wouldBe) => {
    const { sandbox, archive: hostile } = await hostileSandbox(await tempDir("pipeserve-hostile-"), entries);
    const store = join(sandbox, "mlruns");
    await fails(
      ["import", hostile, "--name", "evil", "--tracking-uri", store],
      1,
      ["Refusing to extract", typeof named === "string" ? named : named(sandbox)],
      { cwd: sandbox },
    );
    expect(existsSync(store), "a store (or a run) was written").toBe(false);
    for (const path of wouldBe(sandbox)) expect(existsSync(path), path).toBe(false);
    expect((await readdir(sandbox)).sort()).toEqual(["hostile.tar.gz", "outside"]);
    expect(await readdir(join(sandbox, "outside"))).toEqual(["secret.txt"]);
    expect(await readFile(join(sandbox, "outside", "secret.txt"), "utf8")).toBe("original");
  });

  it.each([
    ["a file that does not exist", (dir: string) => join(dir, "missing.tar.gz"), 1, ["is not a readable .tar.gz archive"]],
    [
      "an archive without MLmodel",
      (dir: string) => join(dir, "nomodel.tar.gz"),
      1,
      ["is not a model archive: it has no MLmodel at its top level", "pipeserve export"],
    ],
    ["an archive whose MLmodel is not a pipeserve model", (dir: string) => join(dir, "lookalike.tar.gz"), 1, ["has no pipeserve flavor (it has: none)"]],
  ])("refuses %s: non-zero exit and a clear message", async (_why, file, code, messages) => {
    const dir = await tempDir("pipeserve-import-");
    await writeFile(join(dir, "nomodel.tar.gz"), tarball([{ path: "pipeline.json", body: "{}" }]));
    await writeFile(join(dir, "lookalike.tar.gz"), tarball(MODEL_LOOKALIKE));
    const store = join(dir, "mlruns");
    await fails(["import", file(dir), "--name", "bad", "--tracking-uri", store], code as number, messages as string[]);
    expect(existsSync(join(store, "models", "bad")), "registered anyway").toBe(false);
    if (existsSync(store)) {
      // Only an archive that passed the entry check gets a run, which ends FAILED with no model in it.
      const runs = await (await FileStore.open(store)).searchRuns();
      for (const run of runs) {
        expect(run.status).toBe("FAILED");
        expect(await readdir(join(await (await FileStore.open(store)).artifactDir(run.runId)))).toEqual([]);
      }
    }
  });

  /** The exported model, unpacked to edit, then packed again. */
  async function repack(edit: (dir: string) => Promise<void>): Promise<string> {
    const dir = await tempDir("pipeserve-repack-");
    await extractModelArchive(archive, join(dir, "model"));
    await edit(join(dir, "model"));
    await createModelArchive(join(dir, "model"), join(dir, "edited.tar.gz"));
    return join(dir, "edited.tar.gz");
  }

  it.each<[string, (dir: string) => Promise<void>, string[]]>([
    [
      "an artifact changed after packaging",
      async (dir) => {
        const weights = join(dir, "artifacts", (await readdir(join(dir, "artifacts")))[0] as string);
        await writeFile(weights, `${await readFile(weights, "utf8")} `);
      },
      ["does not match its recorded sha256"],
    ],
    [
      "the code bundle changed after packaging",
      (dir) => appendFile(join(dir, "code", "pipeline.mjs"), "\n// edited\n"),
      ["The code bundle (code/pipeline.mjs) does not match"],
    ],
    ["an artifact missing", async (dir) => rm(join(dir, "artifacts"), { recursive: true }), ["is missing from the model"]],
  ])("refuses an archive with %s before writing anything: no run, no version", async (_why, edit, messages) => {
    const tampered = await repack(edit);
    const store = join(await tempDir("pipeserve-store-"), "mlruns");
    const scratch = await tempDir("pipeserve-tmpdir-");
    const r = await withTmpdir(scratch, () =>
      fails(["import", tampered, "--name", "tampered", "--tracking-uri", store], 1, [
        `Refusing to import ${tampered}`,
        ...messages,
        "Nothing was written to the store.",
      ]),
    );
    expect(r.stderr).not.toContain(scratch);
    expect(existsSync(store), "the store was written").toBe(false);
    expect(await readdir(scratch), "the staging folder was left behind").toEqual([]);
  });

  it("refuses an archive whose files add up to more than --max-extract-size, naming the figure, with nothing left behind", async () => {
    const dir = await tempDir("pipeserve-bomb-");
    const bomb = join(dir, "bomb.tar.gz");
    await writeZeroBomb(bomb, 4, 16 * 1024 * 1024);
    const store = join(dir, "mlruns");
    const scratch = await tempDir("pipeserve-tmpdir-");
    await withTmpdir(scratch, () =>
      fails(["import", bomb, "--name", "bomb", "--max-extract-size", "40mb", "--tracking-uri", store], 1, [
        "its files add up to more than the limit of 40 MB",
        "--max-extract-size",
      ]),
    );
    expect(existsSync(store)).toBe(false);
    expect(await readdir(scratch)).toEqual([]);
    expect(await readdir(dir)).toEqual(["bomb.tar.gz"]);
    await fails(["import", bomb, "--max-extract-size", "lots", "--tracking-uri", store], 2, [
      '--max-extract-size must be a size such as 100mb, 512kb or 1048576, got "lots"',
    ]);
  });

  it("imports a model within --max-extract-size", async () => {
    const store = join(await tempDir("pipeserve-store-"), "mlruns");
    expect(await ok(["import", archive, "--name", "small", "--max-extract-size", "10mb", "--tracking-uri", store])).toContain("(models:/small/1)");
  });

  it("masks a setuid code bundle and a setgid folder to 0755", async () => {
    const suid = await repack(async (dir) => {
      await chmod(join(dir, "code", "pipeline.mjs"), 0o4755);
      await chmod(join(dir, "code"), 0o2775);
    });
    const store = join(await tempDir("pipeserve-store-"), "mlruns");
    const m = /runs:\/([0-9a-f]{32})\/model/.exec(await ok(["import", suid, "--tracking-uri", store]));
    const imported = join(await (await FileStore.open(store)).artifactDir(m?.[1] as string), "model");
    const umask = process.umask();
    expect((await stat(join(imported, "code", "pipeline.mjs"))).mode & 0o7777).toBe(0o755 & ~umask);
    expect((await stat(join(imported, "code"))).mode & 0o7777).toBe(0o755 & ~umask);
    expect((await stat(join(imported, "MLmodel"))).mode & 0o7777).toBe(0o644 & ~umask);
  });

  it("no file: exit 2", async () => {
    await fails(["import"], 2, ["error: missing required argument 'file'"]);
  });
});
