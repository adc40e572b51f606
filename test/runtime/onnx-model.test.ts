/**
 * OnnxModelDataset and the tensor helpers (issue 20) on the real scikit-learn → ONNX penguins model
 * (test/fixtures/onnx, copied from the MLflow reference): the session's inputs and outputs, one
 * session shared whatever the copy mode, columns to tensors and back with missing values and type
 * errors that name the tensor, the column and the row, load_args checked, a corrupt file refused.
 */
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  DataCatalog,
  DatasetError,
  MemoryDataset,
  OnnxInputError,
  OnnxModel,
  OnnxModelDataset,
  columnsToTensors,
  predictOnnx,
  tensorsToColumns,
} from "../../src/index.js";

const ONNX = fileURLToPath(new URL("../fixtures/onnx/penguins_rf.onnx", import.meta.url));
const ROW = { island: ["Torgersen"], bill_length_mm: [39.1], bill_depth_mm: [18.7], flipper_length_mm: [181], body_mass_g: [3750], sex: ["MALE"] };

let model: OnnxModel;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "pipeserve-onnx-"));
  model = await new OnnxModelDataset({ filepath: ONNX }).load();
});

afterAll(async () => {
  await model.close();
});

describe("OnnxModelDataset", () => {
  it("loads a session whose inputs and outputs are the graph's", () => {
    expect(model).toBeInstanceOf(OnnxModel);
    expect(model.inputs.map((i) => [i.name, i.type, i.shape.length])).toEqual([
      ["island", "string", 2],
      ["bill_length_mm", "float32", 2],
      ["bill_depth_mm", "float32", 2],
      ["flipper_length_mm", "float32", 2],
      ["body_mass_g", "float32", 2],
      ["sex", "string", 2],
    ]);
    expect(model.outputs.map((o) => [o.name, o.type])).toEqual([
      ["label", "string"],
      ["probabilities", "float32"],
    ]);
    expect(model.bytes.buffer).toBeInstanceOf(SharedArrayBuffer);
  });

  it("is never copied: every copy mode hands out the same session", async () => {
    for (const copyMode of ["assign", "copy", "deepcopy"] as const) {
      const dataset = new MemoryDataset({ data: model, copyMode });
      expect(await dataset.load(), copyMode).toBe(model);
    }
    // And with no mode given (Kedro's inference would deep-copy a plain object).
    expect(await new MemoryDataset({ data: model }).load()).toBe(model);
  });

  it("reads its session options from the catalog's load_args, and refuses unknown or bad ones", async () => {
    const catalog = DataCatalog.fromConfig({ m: { type: "OnnxModelDataset", filepath: ONNX, load_args: { intraOpNumThreads: 1 } } }, { baseDir: dir });
    const loaded = (await catalog.load("m")) as OnnxModel;
    expect(loaded.options).toEqual({ intraOpNumThreads: 1 });
    await loaded.close();
    expect(() => new OnnxModelDataset({ filepath: ONNX, loadArgs: { threads: 2 } as never })).toThrow(
      /unknown load_args key "threads".*intraOpNumThreads, interOpNumThreads/,
    );
    expect(() => new OnnxModelDataset({ filepath: ONNX, loadArgs: { intraOpNumThreads: 0 } })).toThrow(
      /intraOpNumThreads must be a whole number of threads, 1 or more; got 0/,
    );
  });

  it("refuses a corrupt or truncated file with a message naming it", async () => {
    const truncated = join(dir, "truncated.onnx");
    await writeFile(truncated, (await readFile(ONNX)).subarray(0, 4_000));
    const garbage = join(dir, "garbage.onnx");
    await writeFile(garbage, "this is not a protobuf");
    for (const file of [truncated, garbage]) {
      const error = await new OnnxModelDataset({ filepath: file }).load().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(DatasetError);
      expect((error as Error).message).toContain(`The ONNX file ${file} is not an ONNX model onnxruntime can load`);
    }
  });

  it("saves an ONNX file's bytes, or a model's", async () => {
    const target = join(dir, "saved", "model.onnx");
    await new OnnxModelDataset({ filepath: target }).save(model);
    expect(Buffer.compare(await readFile(target), await readFile(ONNX))).toBe(0);
    await expect(new OnnxModelDataset({ filepath: target }).save({ not: "bytes" } as never)).rejects.toThrow(/saves an ONNX file's bytes/);
  });
});

describe("columns → tensors → columns", () => {
  it("predicts a row; missing measurements become NaN and a missing sex the imputer's marker", async () => {
    const out = await predictOnnx(model, ROW, { names: { probabilities: ["Adelie", "Chinstrap", "Gentoo"] } });
    expect(out["label"]).toEqual(["Adelie"]);
    expect(Object.keys(out)).toEqual(["label", "Adelie", "Chinstrap", "Gentoo"]);
    const missing = { island: ["Torgersen"], bill_length_mm: [null], bill_depth_mm: [null], flipper_length_mm: [null], body_mass_g: [null], sex: [null] };
    const tensors = await columnsToTensors(model, missing);
    expect(Number.isNaN((tensors["bill_length_mm"]?.data as Float32Array)[0])).toBe(true);
    expect(tensors["sex"]?.data).toEqual([""]);
    expect(tensors["sex"]?.dims).toEqual([1, 1]);
    const scored = tensorsToColumns(await model.run(tensors));
    // Row 3 of the reference (all four measurements and sex missing): Adelie.
    expect(scored["label"]).toEqual(["Adelie"]);
    expect(Object.keys(scored)).toEqual(["label", "probabilities_0", "probabilities_1", "probabilities_2"]);
  });

  it("typed arrays feed float tensors as they are", async () => {
    const typed = { ...ROW, bill_length_mm: Float64Array.of(39.1), body_mass_g: Int32Array.of(3750) };
    expect(await predictOnnx(model, typed)).toEqual(await predictOnnx(model, ROW));
  });

  it("a value of the wrong type, or a missing column, is an error naming the tensor, the column and the row", async () => {
    await expect(
      columnsToTensors(model, {
        ...ROW,
        bill_depth_mm: [18, "deep"] as never,
        island: ["a", "b"],
        bill_length_mm: [1, 2],
        flipper_length_mm: [1, 2],
        body_mass_g: [1, 2],
        sex: ["MALE", "MALE"],
      }),
    ).rejects.toThrow(OnnxInputError);
    await expect(columnsToTensors(model, { ...ROW, bill_depth_mm: ["deep"] as never })).rejects.toThrow(
      'The ONNX input "bill_depth_mm" (float32) takes numbers (a missing value becomes NaN); column "bill_depth_mm" row 0 holds "deep" (string).',
    );
    await expect(columnsToTensors(model, { ...ROW, sex: [1] as never })).rejects.toThrow(
      'The ONNX input "sex" (string) takes strings (a missing value becomes ""); column "sex" row 0 holds 1 (number).',
    );
    const { island: _, ...noIsland } = ROW;
    await expect(columnsToTensors(model, noIsland)).rejects.toThrow(/The ONNX input "island" reads the column "island", which the node was not given/);
    await expect(columnsToTensors(model, ROW, { columns: { island: ["island", "sex"] } })).rejects.toThrow(
      'The ONNX input "island" has shape [N, 1]: give it 1 column(s), not 2 ([island, sex]).',
    );
  });

  it("output names must match the output's width", async () => {
    const outputs = await model.run(await columnsToTensors(model, ROW));
    expect(() => tensorsToColumns(outputs, { names: { probabilities: ["a", "b"] } })).toThrow(
      'The ONNX output "probabilities" has 3 column(s) but 2 name(s) were given ([a, b]).',
    );
  });
});
