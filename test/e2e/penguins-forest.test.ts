/**
 * The library-model example (issue 20): models/penguins-forest trains an ml-random-forest with the
 * real CLI; the forest reaches evaluate (training) and predict (served) as the library's own
 * object, rebuilt by the project's `forest` codec (no node calls `load`). It is accurate on the
 * held-out split, serves its own example, and batch-predicts a CSV alike on one thread and on the
 * WorkerRunner's threads (each rebuilds the forest with the bundled codec).
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FileStore, createApp, loadModel, type PipelineModel } from "../../src/index.js";
import { cli, ensureBuilt, root } from "./helpers.js";

let tracking: string;
let model: PipelineModel;
let metrics: Record<string, number>;

beforeAll(async () => {
  ensureBuilt();
  tracking = await mkdtemp(join(tmpdir(), "pipeserve-forest-"));
  const run = cli(["run", "--project", join(root, "models", "penguins-forest"), "--tracking-uri", tracking, "--json", "--no-typecheck"]);
  expect(run.code, run.stderr).toBe(0);
  const { runId, modelUri } = JSON.parse(run.stdout) as { runId: string; modelUri: string };
  const stored = await (await FileStore.open(tracking)).getRun(runId);
  metrics = Object.fromEntries(Object.entries(stored.metrics).map(([k, p]) => [k, p.value]));
  model = await loadModel(modelUri, { trackingUri: tracking });
}, 120_000);

afterAll(async () => {
  await model?.close();
  await rm(tracking, { recursive: true, force: true });
});

describe("models/penguins-forest (ml-random-forest through a codec)", () => {
  it("is accurate on the held-out split, and records its codec with the model", async () => {
    expect(metrics["accuracy"]).toBeGreaterThanOrEqual(0.95);
    for (const species of ["Adelie", "Chinstrap", "Gentoo"]) expect(metrics[`f1_${species}`], species).toBeGreaterThanOrEqual(0.9);
    const pipelineJson = JSON.parse(await readFile(join(model.dir, "pipeline.json"), "utf8")) as { artifacts: Record<string, { codec?: string }> };
    expect(pipelineJson.artifacts["forest"]?.codec).toBe("forest");
    expect(pipelineJson.artifacts["encoder"]?.codec).toBeUndefined();
  });

  it("serves its own example: a species and the forest's vote for each row", async () => {
    const app = createApp(model, { logger: pino({ level: "silent" }) });
    const body = await readFile(join(model.dir, "serving_input_example.json"), "utf8");
    const res = await app.request("/invocations", { method: "POST", headers: { "Content-Type": "application/json" }, body });
    expect(res.status).toBe(200);
    const { predictions } = (await res.json()) as { predictions: { species: string; probability: number }[] };
    expect(predictions.length).toBeGreaterThan(0);
    for (const p of predictions) {
      expect(["Adelie", "Chinstrap", "Gentoo"]).toContain(p.species);
      expect(p.probability).toBeGreaterThan(0.3);
    }
  });

  it("batch-predicts a CSV alike on one thread and on the WorkerRunner's threads", async () => {
    const dir = await mkdtemp(join(tmpdir(), "pipeserve-forest-predict-"));
    try {
      // The first penguin of each species in the source data, and one with every measurement missing.
      const raw = JSON.parse(await readFile(join(root, "node_modules", "vega-datasets", "data", "penguins.json"), "utf8")) as Record<string, unknown>[];
      const firsts = ["Adelie", "Chinstrap", "Gentoo"].map((s) => raw.find((r) => r["Species"] === s && r["Sex"] !== null) as Record<string, unknown>);
      const cells = ["Island", "Beak Length (mm)", "Beak Depth (mm)", "Flipper Length (mm)", "Body Mass (g)", "Sex"];
      const rows = [
        "island,bill_length_mm,bill_depth_mm,flipper_length_mm,body_mass_g,sex",
        ...firsts.map((r) => cells.map((c) => String(r[c] ?? "")).join(",")),
        "Dream,,,,,",
      ];
      await writeFile(join(dir, "in.csv"), `${rows.join("\n")}\n`);
      const outputs: string[] = [];
      for (const runner of ["SequentialRunner", "WorkerRunner"]) {
        const out = join(dir, `${runner}.csv`);
        const run = cli(["predict", "-m", "models:/penguins-forest/1", "--tracking-uri", tracking, "-i", join(dir, "in.csv"), "-o", out, "--runner", runner]);
        expect(run.code, run.stderr).toBe(0);
        outputs.push(await readFile(out, "utf8"));
      }
      expect(outputs[1]).toBe(outputs[0]);
      const species = (outputs[0] as string)
        .trim()
        .split("\n")
        .slice(1)
        .map((l) => l.split(",")[0]);
      expect(species.slice(0, 3)).toEqual(firsts.map((r) => r["Species"]));
      expect(["Adelie", "Chinstrap", "Gentoo"]).toContain(species[3]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
