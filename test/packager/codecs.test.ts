/**
 * Library models as artifacts (issue 20): a project exports `codecs`, and catalog.yml names one
 * for an artifact (`codec: cutoff`). Training saves the object through it, the next training node
 * gets the object back (not plain JSON), the packaged model records the codec, and the served
 * model's nodes get the object too, rebuilt by the codec bundled with the model's code. Unknown
 * codecs and malformed `codecs` exports are refused with messages that say what to do.
 */
import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DataCatalog, DatasetError, artifactCodec, loadModel, runProject } from "../../src/index.js";

const PROJECT = fileURLToPath(new URL("../fixtures/projects/codec", import.meta.url));
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "pipeserve-codecs-"));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("an artifact stored through a codec", () => {
  it("reaches every training node and the served model's nodes as the library's object", async () => {
    const tracking = join(dir, "mlruns");
    // NB: evaluate (training) and predict (served) throw unless they get a Cutoff instance.
    const result = await runProject({ projectDir: PROJECT, pipelineName: "__default__", trackingUri: tracking, typecheck: false });
    expect(result.modelUri).toBeDefined();
    expect(JSON.parse(await readFile(join(PROJECT, "data", "model.json"), "utf8"))).toEqual({ cut: expect.any(Number) });
    const model = await loadModel("models:/cutoff-model/1", { trackingUri: tracking });
    try {
      const pipelineJson = JSON.parse(await readFile(join(model.dir, "pipeline.json"), "utf8")) as { artifacts: Record<string, { codec?: string }> };
      expect(pipelineJson.artifacts["model"]?.codec).toBe("cutoff");
      const out = (await model.predict({ dataframe_split: { columns: ["x"], data: [[-5], [50]] } })) as { label: number[] };
      expect(Array.from(out.label)).toEqual([0, 1]);
      // In a worker thread the object is rebuilt by the bundled codec (structured clone would hand over plain JSON), twice over.
      for (let i = 0; i < 2; i++) {
        const threaded = (await model.predict({ dataframe_split: { columns: ["x"], data: [[-5], [50]] } }, { runner: "WorkerRunner" })) as { label: number[] };
        expect(Array.from(threaded.label)).toEqual([0, 1]);
      }
    } finally {
      await model.close();
    }
  });

  it("a catalog entry naming a codec the project does not declare is refused, listing the ones it does", () => {
    const codecs = { cutoff: artifactCodec({ encode: (v: unknown) => v, decode: (v: unknown) => v }) };
    expect(() => DataCatalog.fromConfig({ m: { type: "JsonArtifactDataset", filepath: "m.json", codec: "forest" } }, { baseDir: dir, codecs })).toThrow(
      'Dataset "m" names the codec "forest", which the project does not declare. Its codecs: cutoff.',
    );
    expect(() => DataCatalog.fromConfig({ m: { type: "JsonArtifactDataset", filepath: "m.json", codec: "forest" } }, { baseDir: dir })).toThrow(
      /Export `codecs` from pipelines.ts/,
    );
    expect(() => DataCatalog.fromConfig({ m: { type: "CsvDataset", filepath: "m.csv", codec: "cutoff" } }, { baseDir: dir, codecs })).toThrow(DatasetError);
  });

  it("a codecs export that is not made of codecs is refused when the project loads", async () => {
    const project = join(dir, "bad-codecs");
    await cp(PROJECT, project, { recursive: true });
    const file = join(project, "pipelines.ts");
    await writeFile(file, (await readFile(file, "utf8")).replace("export const codecs = {", "export const codecs = { broken: { encode: 1 },"));
    await expect(runProject({ projectDir: project, pipelineName: "__default__", trackingUri: join(project, "mlruns"), typecheck: false })).rejects.toThrow(
      /codecs\.broken is not a codec; declare it with artifactCodec/,
    );
  });

  it("a codec that cannot rebuild its artifact says which codec and which file", async () => {
    const file = join(dir, "m.json");
    await writeFile(file, '{"cut": 1}');
    const codecs = {
      strict: artifactCodec({
        encode: (v: unknown) => v,
        decode: () => {
          throw new Error("version 2 weights expected");
        },
      }),
    };
    const catalog = DataCatalog.fromConfig({ m: { type: "JsonArtifactDataset", filepath: file, codec: "strict" } }, { baseDir: dir, codecs });
    await expect(catalog.load("m")).rejects.toThrow(`The codec "strict" could not rebuild ${file}: version 2 weights expected`);
  });
});
