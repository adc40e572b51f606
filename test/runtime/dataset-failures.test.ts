// A node's dataset that fails to load or save, on real files through a catalog.yml-like config:
// the error names the node, the dataset, its type and file, and why (a missing `return`, a metric
// that is no number, a file that is not there), keeps the original error as `cause` and the
// DatasetError code callers branch on.
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConcurrentRunner, DataCatalog, DatasetError, SequentialRunner, node, pipeline, type Runner } from "../../src/index.js";
import { expectRejects, makeTempDir } from "./helpers.js";

let tmp: Awaited<ReturnType<typeof makeTempDir>>;
beforeAll(async () => {
  tmp = await makeTempDir();
  await writeFile(join(tmp.path, "train.csv"), "x,y\n1,2\n3,4\n");
});
afterAll(async () => {
  await tmp.remove();
});

/** The catalog of a small training project in the temp folder, with `train` at `trainPath`. */
function catalog(trainPath = "train.csv"): DataCatalog {
  return DataCatalog.fromConfig(
    {
      train: { type: "CsvDataset", filepath: trainPath, load_args: { as: "table" } },
      model: { type: "JsonArtifactDataset", filepath: "data/model.json" },
      metrics: { type: "MetricsDataset" },
      pair: { type: "JsonArtifactDataset", filepath: "data/pair.json" },
    },
    { baseDir: tmp.path, params: { epochs: 3 } },
  );
}

const fit = (_train: unknown, _epochs: number): unknown => undefined;
const evaluate = (_model: unknown): unknown => ({ accuracy: "0.97" });

const runners: [string, () => Runner][] = [
  ["SequentialRunner", () => new SequentialRunner()],
  ["ConcurrentRunner", () => new ConcurrentRunner()],
];

describe.each(runners)("%s: a dataset that fails names the node and the dataset", (_name, runner) => {
  it("a node that forgets `return`: its JsonArtifactDataset output, the file and the likely cause", async () => {
    const p = pipeline([node(fit, { inputs: ["train", "params:epochs"], outputs: "model", name: "fit" })]);
    const error = await expectRejects(
      runner().run(p, catalog()),
      DatasetError,
      `Node "fit": its output "model" (JsonArtifactDataset, ${join(tmp.path, "data", "model.json")}) could not be saved: the node returned undefined (a missing \`return\`?)`,
    );
    expect(error.code).toBe("DATASET_SAVE_FAILED");
    expect(error.cause).toBeInstanceOf(DatasetError);
    expect((error.cause as Error).message).toBe("JsonArtifactDataset cannot save undefined as JSON.");
  });

  it("one of several outputs left undefined: the output named, no `return` hint", async () => {
    const p = pipeline([node(() => [{ a: 1 }, undefined], { inputs: null, outputs: ["model", "pair"], name: "split" })]);
    await expectRejects(
      runner().run(p, catalog()),
      DatasetError,
      /^Node "split": its output "pair" \(JsonArtifactDataset, .*pair\.json\) could not be saved: the node returned undefined for it$/,
    );
  });

  it("an evaluate node returning a string metric: the node, the MetricsDataset and the metric", async () => {
    const p = pipeline([node(evaluate, { inputs: "train", outputs: "metrics", name: "evaluate" })]);
    const error = await expectRejects(
      runner().run(p, catalog()),
      DatasetError,
      'Node "evaluate": its output "metrics" (MetricsDataset) could not be saved: Metric "accuracy" must be a number or { value: number, step?: integer }, got "0.97".',
    );
    expect(error.cause).toBeInstanceOf(DatasetError);
  });

  // Found by an audit: NaN was refused ("got null"), where MLflow logs it.
  it("an evaluate node returning NaN for a metric: saved, as MLflow logs it", async () => {
    const cat = catalog();
    await runner().run(pipeline([node(() => ({ auc: Number.NaN, acc: 0.5 }), { inputs: null, outputs: "metrics", name: "evaluate" })]), cat);
    const saved = (await cat.load("metrics")) as Record<string, { value: number }>;
    expect(saved["auc"]?.value ?? saved["auc"]).toBeNaN();
  });

  it("a CSV path typo in the catalog: the node that needed it, the dataset, its file, and where to fix it", async () => {
    const p = pipeline([node(fit, { inputs: ["train", "params:epochs"], outputs: "model", name: "fit" })]);
    const typo = join(tmp.path, "trian.csv");
    const error = await expectRejects(
      runner().run(p, catalog("trian.csv")),
      DatasetError,
      `Node "fit": its input "train" (CsvDataset, ${typo}) could not be loaded: the file does not exist: check the dataset's filepath in catalog.yml`,
    );
    expect(error.code).toBe("DATASET_LOAD_FAILED");
    expect((error.cause as Error).message).toContain(`Failed to load data from CsvDataset(filepath=${typo}`);
  });

  it("an input nobody saved keeps its DATASET_EMPTY code", async () => {
    const p = pipeline([node((m: unknown) => m, { inputs: "metrics", outputs: "copy", name: "read_metrics" })]);
    const error = await expectRejects(
      runner().run(p, catalog()),
      DatasetError,
      /^Node "read_metrics": its input "metrics" \(MetricsDataset\) could not be loaded: Dataset "metrics" has no data yet/,
    );
    expect(error.code).toBe("DATASET_EMPTY");
  });
});
