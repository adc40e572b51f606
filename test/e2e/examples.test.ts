import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FileStore, createApp, loadModel, readTableFile, writeTableFile, type PipelineModel } from "../../src/index.js";
import { readTableChunks } from "../../src/tabular/index.js";
import { pino } from "pino";
import { cli, ensureBuilt, root } from "./helpers.js";

const dataDir = join(createRequire(import.meta.url).resolve("vega-datasets"), "..", "..", "data");
let tracking: string;

beforeAll(async () => {
  ensureBuilt();
  tracking = await mkdtemp(join(tmpdir(), "pipeserve-examples-"));
});
afterAll(async () => {
  await rm(tracking, { recursive: true, force: true });
});

/** Trains an example with the real CLI and returns its run's metrics and model. */
async function train(example: string): Promise<{ metrics: Record<string, number>; model: PipelineModel; runId: string }> {
  // NB: --no-typecheck: the examples' types are checked by `npm run typecheck` (tsconfig.json includes models/), not once more per run.
  const run = cli(["run", "--project", join(root, "models", example), "--pipeline", "__default__", "--tracking-uri", tracking, "--json", "--no-typecheck"]);
  expect(run.code, run.stderr).toBe(0);
  const { runId, modelUri, registeredVersion } = JSON.parse(run.stdout) as { runId: string; modelUri: string; registeredVersion: { name: string } };
  expect(registeredVersion.name).toBe(example);
  const store = await FileStore.open(tracking);
  const stored = await store.getRun(runId);
  expect(stored.info.status).toBe("FINISHED");
  const metrics = Object.fromEntries(Object.entries(stored.metrics).map(([k, p]) => [k, p.value]));
  return { metrics, model: await loadModel(modelUri, { trackingUri: tracking }), runId };
}

/** Serves the model in-process and sends its own serving example. */
async function serveExample(model: PipelineModel): Promise<unknown[]> {
  const app = createApp(model, { logger: pino({ level: "silent" }) });
  const body = await readFile(join(model.dir, "serving_input_example.json"), "utf8");
  const response = await app.request("/invocations", { method: "POST", headers: { "Content-Type": "application/json" }, body });
  expect(response.status).toBe(200);
  return ((await response.json()) as { predictions: unknown[] }).predictions;
}

describe("penguins", () => {
  it("reaches accuracy ≥ 0.95 and F1 ≥ 0.9 per class on the held-out split, serves, and batch-predicts CSV", async () => {
    const { metrics, model } = await train("penguins");
    // A model that learned nothing gets ≈ 0.44 (always Adelie); a real one ≈ 0.98.
    expect(metrics["accuracy"]).toBeGreaterThanOrEqual(0.95);
    for (const c of ["Adelie", "Chinstrap", "Gentoo"]) expect(metrics[`f1_${c}`]).toBeGreaterThanOrEqual(0.9);
    const predictions = (await serveExample(model)) as { species: string; probability: number }[];
    expect(predictions.length).toBeGreaterThan(0);
    for (const p of predictions) expect(["Adelie", "Chinstrap", "Gentoo"]).toContain(p.species);

    const input = join(tracking, "penguins.csv");
    await writeFile(
      input,
      "island,bill_length_mm,bill_depth_mm,flipper_length_mm,body_mass_g,sex\nTorgersen,39.1,18.7,181,3750,MALE\nBiscoe,50.0,15.2,218,5700,MALE\nDream,49.5,19.0,200,3800,\n",
    );
    const out = join(tracking, "penguins-out.csv");
    const predict = cli(["predict", "-m", "models:/penguins/latest", "-i", input, "-o", out, "--tracking-uri", tracking]);
    expect(predict.code, predict.stderr).toBe(0);
    expect((await readTableFile(out)).columns[0]).toEqual(["Adelie", "Gentoo", "Chinstrap"]);
    await model.close();
  }, 60_000);
});

describe("spam", () => {
  it("reaches accuracy ≥ 0.93 and F1 ≥ 0.9 on the held-out split, serves, flags an obvious spam, and batch-predicts JSON Lines", async () => {
    const { metrics, model } = await train("spam");
    // Always "ham" scores ≈ 0.69 accuracy and F1 0.
    expect(metrics["accuracy"]).toBeGreaterThanOrEqual(0.93);
    expect(metrics["f1"]).toBeGreaterThanOrEqual(0.9);
    const predictions = (await serveExample(model)) as { is_spam: boolean; spam_probability: number }[];
    expect(predictions.length).toBeGreaterThan(0);
    const out = (await model.predict({
      dataframe_records: [
        { text: "CLICK HERE to claim your FREE prize!!! Limited time offer, buy cheap viagra now, unsubscribe here, earn $$$ money fast" },
        {
          text: "Hi Tom, the build failed on the CI machine again; I pushed a fix for the linker flags to the branch, can you review it before the release meeting?",
        },
      ],
    })) as { is_spam: boolean[] };
    expect(out.is_spam).toEqual([true, false]);

    const input = join(tracking, "messages.jsonl");
    await writeFile(
      input,
      [
        '{"text": "FREE money!!! Click here to claim your prize now, limited offer, unsubscribe"}',
        '{"text": "Meeting notes attached; see you at the design review on Monday."}',
      ].join("\n") + "\n",
    );
    const outFile = join(tracking, "messages-out.jsonl");
    const predict = cli(["predict", "-m", "models:/spam/latest", "-i", input, "-o", outFile, "--params", '{"threshold": 0.5}', "--tracking-uri", tracking]);
    expect(predict.code, predict.stderr).toBe(0);
    expect((await readTableFile(outFile)).columns[0]).toEqual([true, false]);
    await model.close();
  }, 60_000);
});

describe("flights", () => {
  it("beats the base rate (AUC ≥ 0.58, log loss below the constant predictor's) and batch-predicts flights-3m rows from Parquet", async () => {
    const { metrics, model } = await train("flights");
    // A model without signal has AUC 0.5 and the base log loss.
    expect(metrics["auc"]).toBeGreaterThanOrEqual(0.58);
    expect(metrics["log_loss"]).toBeLessThan(metrics["base_log_loss"] as number);
    await serveExample(model);
    // The first 20,000 rows of flights-3m.parquet: date, delay, distance, origin, destination.
    let first: Awaited<ReturnType<typeof readTableFile>> | undefined;
    for await (const chunk of readTableChunks(join(dataDir, "flights-3m.parquet"), { chunkRows: 20_000 })) {
      first = chunk;
      break;
    }
    const input = join(tracking, "flights-20k.parquet");
    await writeTableFile(input, first!);
    const out = join(tracking, "flights-out.parquet");
    const predict = cli(["predict", "-m", "models:/flights/latest", "-i", input, "-o", out, "--tracking-uri", tracking]);
    expect(predict.code, predict.stderr).toBe(0);
    const result = await readTableFile(out);
    expect(result.names).toEqual(["delay_probability", "delayed"]);
    expect(result.numRows).toBe(20_000);
    const probabilities = result.columns[0] as number[];
    expect(Math.min(...probabilities)).toBeGreaterThan(0);
    expect(Math.max(...probabilities)).toBeLessThan(1);
    expect(new Set(probabilities.map((p) => p.toFixed(3))).size).toBeGreaterThan(10);
    await model.close();
  }, 60_000);
});
