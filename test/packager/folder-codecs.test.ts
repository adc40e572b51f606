/**
 * Folder-shaped artifacts (issue 20): a TensorFlow.js layers model, stored as TensorFlow.js stores
 * one (model.json and a weights file) through a folder codec. Training saves it as a folder (and
 * publishes it to catalog.yml's path), the next training node gets the library's object, the
 * packaged model lists every file with its sha256, and the served model's nodes (in worker
 * threads too) get the object back. Tampered files and file lists, paths that leave the folder,
 * wrong codec kinds and failed saves are refused with messages that say what to do.
 */
import { cp, mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  DataCatalog,
  DatasetError,
  FolderArtifactDataset,
  ModelLoadError,
  artifactCodec,
  createApp,
  folderCodec,
  loadModel,
  runProject,
} from "../../src/index.js";
import { verifyModelFiles } from "../../src/loader/index.js";
import { quietLogger } from "../server/fixtures/http.js";

const FIXTURE = fileURLToPath(new URL("../fixtures/projects/tfjs-folder", import.meta.url));
let dir: string;
let project: string;
let tracking: string;
let modelDir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "pipeserve-folder-codecs-"));
  project = join(dir, "project");
  await cp(FIXTURE, project, { recursive: true });
  tracking = join(dir, "mlruns");
  const result = await runProject({ projectDir: project, pipelineName: "__default__", trackingUri: tracking, typecheck: false });
  expect(result.metrics["accuracy"]).toBeGreaterThanOrEqual(0.95);
  const model = await loadModel("models:/tfjs-model/1", { trackingUri: tracking });
  modelDir = model.dir;
  await model.close();
}, 120_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A copy of the packaged model whose pipeline.json `edit` changes. */
async function modelCopy(edit: (artifact: Record<string, any>) => void, files?: (copy: string) => Promise<void>): Promise<string> {
  const copy = await mkdtemp(join(dir, "model-"));
  await cp(modelDir, copy, { recursive: true });
  const path = join(copy, "pipeline.json");
  const pipeline = JSON.parse(await readFile(path, "utf8"));
  edit(pipeline.artifacts.model);
  await writeFile(path, JSON.stringify(pipeline));
  await files?.(copy);
  return copy;
}

const X = { dataframe_split: { columns: ["x"], data: [[-2.5], [2.5]] } };

describe("a folder artifact (a TensorFlow.js model) stored through a folder codec", () => {
  it("is published as a folder, and packaged with each file's sha256 and the codec", async () => {
    expect((await readdir(join(project, "data", "model"))).sort()).toEqual(["model.json", "weights.bin"]);
    const pipeline = JSON.parse(await readFile(join(modelDir, "pipeline.json"), "utf8"));
    const artifact = pipeline.artifacts.model;
    expect(artifact).toMatchObject({ type: "FolderArtifactDataset", path: "artifacts/model", codec: "tfjs" });
    expect(Object.keys(artifact.files).sort()).toEqual(["model.json", "weights.bin"]);
    expect(artifact.files["weights.bin"]).toEqual({ sha256: expect.stringMatching(/^[0-9a-f]{64}$/), bytes: 8 });
    expect((await readdir(join(modelDir, "artifacts", "model"))).sort()).toEqual(["model.json", "weights.bin"]);
  });

  it("reaches the served model's nodes as the library's object: in-process, in worker threads, and over the app", async () => {
    const model = await loadModel("models:/tfjs-model/1", { trackingUri: tracking });
    try {
      const out = (await model.predict(X)) as { label: number[]; probability: number[] };
      expect(out.label).toEqual([0, 1]);
      // NB: predict throws unless it gets a LayersModel; each thread loads it from the folder with the bundled codec.
      for (let i = 0; i < 2; i++) expect(await model.predict(X, { runner: "WorkerRunner" })).toEqual(out);
      const res = await createApp(model, { logger: quietLogger() }).request("/invocations", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(X),
      });
      expect(res.status).toBe(200);
      expect(((await res.json()) as { predictions: { label: number }[] }).predictions.map((p) => p.label)).toEqual([0, 1]);
    } finally {
      await model.close();
    }
  });

  it.each([
    [
      "a file changed after packaging",
      (_: Record<string, any>): void => undefined,
      (copy: string): Promise<void> => writeFile(join(copy, "artifacts", "model", "weights.bin"), Buffer.alloc(8)),
      "INTEGRITY_ERROR",
      'Artifact "model" (artifacts/model/weights.bin) does not match its recorded sha256',
    ],
    [
      "a file list edited in pipeline.json",
      (a: Record<string, any>) => delete a.files["weights.bin"],
      undefined,
      "INTEGRITY_ERROR",
      "(its file list)) does not match its recorded sha256",
    ],
    [
      "a file that leaves its folder",
      (a: Record<string, any>) => {
        a.files["../../MLmodel"] = a.files["model.json"];
        delete a.files["model.json"];
      },
      undefined,
      "INVALID_MODEL_FILE",
      'lists the file "../../MLmodel", which points outside its folder',
    ],
  ] as const)("refuses %s", async (_, edit, files, code, message) => {
    const copy = await modelCopy(edit as (a: Record<string, any>) => void, files);
    const error = await loadModel(copy).then(
      (m) => m.close().then(() => undefined),
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ModelLoadError);
    expect((error as ModelLoadError).code).toBe(code);
    expect((error as Error).message).toContain(message);
  });
});

describe("a folder artifact's file names", () => {
  it.each(["/etc/passwd", "a\\b", "a//b", "./model.json", "x/../../../MLmodel", "line\nbreak"])(
    "%j is refused before any file is read, by loading and by verifying (export/import)",
    async (bad) => {
      const copy = await modelCopy((a) => {
        a.files[bad] = a.files["model.json"];
        delete a.files["model.json"];
      });
      for (const attempt of [() => loadModel(copy).then((m) => m.close()), () => verifyModelFiles(copy)]) {
        const error = await attempt().catch((e: unknown) => e);
        expect(error).toBeInstanceOf(ModelLoadError);
        expect((error as ModelLoadError).code).toBe("INVALID_MODEL_FILE");
        expect((error as Error).message).toContain(`lists the file ${JSON.stringify(bad)}, which points outside its folder artifacts/model`);
      }
    },
  );

  it("verifying (export/import) checks every file of the folder too", async () => {
    const copy = await modelCopy(
      () => undefined,
      (c) => writeFile(join(c, "artifacts", "model", "model.json"), "{}"),
    );
    await expect(verifyModelFiles(copy)).rejects.toThrow('Artifact "model" (artifacts/model/model.json) does not match its recorded sha256');
  });
});

describe("FolderArtifactDataset", () => {
  const folder = folderCodec<{ n: number }>({
    save: (value, d) => writeFile(join(d, "n.txt"), String(value.n)),
    load: async (d) => ({ n: Number(await readFile(join(d, "n.txt"), "utf8")) }),
  });
  const json = artifactCodec({ encode: (v: unknown) => v, decode: (v: unknown) => v });

  it("needs a folder codec: none, or a JSON codec, is refused naming the fix; a JSON dataset refuses a folder codec", () => {
    const codecs = { folder, json };
    expect(() => DataCatalog.fromConfig({ m: { type: "FolderArtifactDataset", filepath: "m" } }, { baseDir: dir, codecs })).toThrow(
      'Dataset "m" is a FolderArtifactDataset and needs a codec: add `codec: NAME`',
    );
    expect(() => DataCatalog.fromConfig({ m: { type: "FolderArtifactDataset", filepath: "m", codec: "json" } }, { baseDir: dir, codecs })).toThrow(
      'the codec "json" stores JSON (artifactCodec): make it a JsonArtifactDataset, or declare a folderCodec.',
    );
    expect(() => DataCatalog.fromConfig({ m: { type: "JsonArtifactDataset", filepath: "m.json", codec: "folder" } }, { baseDir: dir, codecs })).toThrow(
      'the codec "folder" stores a folder of files (folderCodec): make it a FolderArtifactDataset.',
    );
  });

  it("saves into a fresh folder swapped in whole: a save that fails leaves the last complete folder and no partial one", async () => {
    const base = await mkdtemp(join(dir, "ds-"));
    const target = join(base, "m");
    const good = new FolderArtifactDataset({ filepath: target, codec: folder, codecName: "folder" });
    await good.save({ n: 1 });
    await good.save({ n: 2 });
    expect(await good.load()).toEqual({ n: 2 });
    const failing = new FolderArtifactDataset({
      filepath: target,
      codec: folderCodec({
        save: async (_v: unknown, d: string) => {
          await writeFile(join(d, "half.txt"), "x");
          throw new Error("disk full");
        },
        load: (): undefined => undefined,
      }),
    });
    const error = await failing.save({ n: 3 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DatasetError);
    expect((error as DatasetError).message).toContain("could not save");
    expect((error as DatasetError).message).toContain("disk full");
    expect(await readdir(base)).toEqual(["m"]);
    expect(await good.load()).toEqual({ n: 2 });
    await expect(new FolderArtifactDataset({ filepath: join(base, "none"), codec: folder }).load()).rejects.toThrow(
      "is not a folder: the artifact was never saved",
    );
  });
});
