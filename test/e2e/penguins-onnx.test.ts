/**
 * The "model from Python" example (issue 20): models/penguins-onnx — a scikit-learn random forest
 * exported to ONNX, with TypeScript nodes around it — packaged by the real `pipeserve modelify`,
 * then its predictions for all 344 penguins compared with test/fixtures/onnx/expected.csv (made
 * by onnxruntime in Python): labels exactly, probabilities to 1e-6, through PipelineModel.predict,
 * /invocations (JSON, and Arrow), the Open Inference /infer, the WorkerRunner (a session per
 * thread) and `pipeserve predict`. A corrupt .onnx is refused at packaging with a clear message.
 */
import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp, encodeArrowIpc, loadModel, tableFromColumns, toArrow, type PipelineModel } from "../../src/index.js";
import { cli, ensureBuilt, root } from "./helpers.js";

const CLASSES = ["Adelie", "Chinstrap", "Gentoo"] as const;
const COLUMNS = ["island", "bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g", "sex"] as const;

interface Expected {
  label: string;
  probabilities: number[];
}

/** expected.csv: the inputs (empty = missing) and onnxruntime's label and probabilities, for every row. */
async function readExpected(): Promise<{ rows: (string | number | null)[][]; expected: Expected[] }> {
  const text = await readFile(join(root, "test", "fixtures", "onnx", "expected.csv"), "utf8");
  const [header, ...lines] = text.trim().split("\n");
  const names = (header as string).split(",");
  const at = (name: string): number => names.indexOf(name);
  const rows: (string | number | null)[][] = [];
  const expected: Expected[] = [];
  for (const line of lines) {
    const f = line.split(",");
    rows.push(
      COLUMNS.map((c) => {
        const v = f[at(c)] as string;
        if (v === "") return null;
        return c === "island" || c === "sex" ? v : Number(v);
      }),
    );
    expected.push({ label: f[at("predicted_label")] as string, probabilities: CLASSES.map((c) => Number(f[at(`prob_${c}`)])) });
  }
  return { rows, expected };
}

/** Every prediction against expected.csv: the species exactly, each class probability within 1e-6. */
function expectReference(predictions: Record<string, unknown>[], expected: readonly Expected[], via: string): void {
  expect(predictions, via).toHaveLength(expected.length);
  const labels = predictions.map((p) => p["species"]);
  expect(labels, `${via}: labels`).toEqual(expected.map((e) => e.label));
  let worst = 0;
  predictions.forEach((p, r) => {
    CLASSES.forEach((c, i) => {
      worst = Math.max(worst, Math.abs(Number(p[`probability_${c}`]) - (expected[r]?.probabilities[i] as number)));
    });
  });
  expect(worst, `${via}: largest probability difference`).toBeLessThanOrEqual(1e-6);
}

/** `pipeserve modelify` of the example's inference pipeline (a project folder like models/penguins-onnx) into `tracking`. */
function modelifyArgs(project: string, tracking: string): string[] {
  return [
    "modelify",
    "--project",
    project,
    "--pipeline",
    "inference",
    "--input-name",
    "instances",
    "--input-type",
    "columns",
    "--row-wise",
    "--tracking-uri",
    tracking,
  ];
}

let tracking: string;
let model: PipelineModel;
let reference: Awaited<ReturnType<typeof readExpected>>;
const PARAMS = { return_probabilities: true };

beforeAll(async () => {
  ensureBuilt();
  tracking = await mkdtemp(join(tmpdir(), "pipeserve-onnx-e2e-"));
  const packaged = cli([...modelifyArgs(join(root, "models", "penguins-onnx"), tracking), "--registered-model-name", "penguins-onnx", "--json"]);
  expect(packaged.code, packaged.stderr).toBe(0);
  model = await loadModel("models:/penguins-onnx/1", { trackingUri: tracking });
  reference = await readExpected();
}, 120_000);

afterAll(async () => {
  await model?.close();
  await rm(tracking, { recursive: true, force: true });
});

describe("models/penguins-onnx equals onnxruntime in Python on all 344 penguins", () => {
  it("through PipelineModel.predict", async () => {
    const output = (await model.predict({ dataframe_split: { columns: COLUMNS, data: reference.rows }, params: PARAMS })) as Record<string, unknown[]>;
    const predictions = (output["species"] as unknown[]).map((_, r) => Object.fromEntries(Object.entries(output).map(([k, v]) => [k, v[r]])));
    expectReference(predictions, reference.expected, "predict");
  });

  it("through /invocations (JSON and Arrow), the WorkerRunner and the Open Inference /infer", async () => {
    const app = createApp(model, { logger: pino({ level: "silent" }) });
    const json = await app.request("/invocations", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ dataframe_split: { columns: COLUMNS, data: reference.rows }, params: PARAMS }),
    });
    expect(json.status).toBe(200);
    expectReference(((await json.json()) as { predictions: Record<string, unknown>[] }).predictions, reference.expected, "/invocations JSON");

    const table = tableFromColumns(Object.fromEntries(COLUMNS.map((c, i) => [c, reference.rows.map((r) => r[i] ?? null)])));
    const arrow = await app.request(`/invocations?params=${encodeURIComponent(JSON.stringify(PARAMS))}`, {
      method: "POST",
      headers: { "Content-Type": "application/vnd.apache.arrow.stream" },
      body: encodeArrowIpc(toArrow(table), "stream"),
    });
    expect(arrow.status).toBe(200);
    expectReference(((await arrow.json()) as { predictions: Record<string, unknown>[] }).predictions, reference.expected, "/invocations Arrow");

    const worker = await app.request("/invocations", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ dataframe_split: { columns: COLUMNS, data: reference.rows }, params: { ...PARAMS, runner: "WorkerRunner" } }),
    });
    expect(worker.status).toBe(200);
    expectReference(((await worker.json()) as { predictions: Record<string, unknown>[] }).predictions, reference.expected, "WorkerRunner");

    const inputs = COLUMNS.map((c, i) => {
      const text = c === "island" || c === "sex";
      return { name: c, shape: [reference.rows.length], datatype: text ? "BYTES" : "FP64", data: reference.rows.map((r) => r[i] ?? null) };
    });
    const infer = await app.request("/v2/models/penguins-onnx/infer", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ inputs, parameters: PARAMS }),
    });
    expect(infer.status, await infer.clone().text()).toBe(200);
    const outputs = ((await infer.json()) as { outputs: { name: string; data: unknown[] }[] }).outputs;
    const byName = Object.fromEntries(outputs.map((o) => [o.name, o.data]));
    const predictions = (byName["species"] as unknown[]).map((_, r) => Object.fromEntries(Object.entries(byName).map(([k, v]) => [k, v[r]])));
    expectReference(predictions, reference.expected, "/v2 infer");
  });

  it("through pipeserve predict over a CSV file", async () => {
    const dir = await mkdtemp(join(tmpdir(), "pipeserve-onnx-predict-"));
    try {
      const csv = [COLUMNS.join(","), ...reference.rows.map((r) => r.map((v) => (v === null ? "" : String(v))).join(","))].join("\n");
      await writeFile(join(dir, "in.csv"), `${csv}\n`);
      const run = cli([
        "predict",
        "-m",
        "models:/penguins-onnx/1",
        "--tracking-uri",
        tracking,
        "-i",
        join(dir, "in.csv"),
        "-o",
        join(dir, "out.jsonl"),
        "--params",
        JSON.stringify(PARAMS),
      ]);
      expect(run.code, run.stderr).toBe(0);
      const lines = (await readFile(join(dir, "out.jsonl"), "utf8")).trim().split("\n");
      expectReference(
        lines.map((l) => JSON.parse(l) as Record<string, unknown>),
        reference.expected,
        "pipeserve predict",
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("a request of the wrong type or without a required column is a 400 naming the column", async () => {
    const app = createApp(model, { logger: pino({ level: "silent" }) });
    const send = (body: unknown) =>
      app.request("/invocations", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
    const wrong = await send({ dataframe_split: { columns: ["island", "bill_length_mm"], data: [["Biscoe", "long"]] } });
    expect(wrong.status).toBe(400);
    expect(((await wrong.json()) as { message: string }).message).toContain("bill_length_mm");
    const missing = await send({ dataframe_split: { columns: ["bill_length_mm"], data: [[40]] } });
    expect(missing.status).toBe(400);
    expect(((await missing.json()) as { message: string }).message).toContain("island");
  });
});

describe("pipeserve inspect", () => {
  it("shows the ONNX artifact's format, operator sets, producer, inputs and outputs (as its README gives them)", () => {
    const run = cli(["inspect", "-m", "models:/penguins-onnx/1", "--tracking-uri", tracking]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain("penguins_rf: OnnxModelDataset artifacts/penguins_rf.onnx (55947 bytes, sha256 0b9a8c8e9212…)");
    expect(run.stdout).toContain("ONNX ir 8; opsets ai.onnx 17, ai.onnx.ml 2; made by skl2onnx 1.21.0");
    expect(run.stdout).toContain(
      "inputs  island string [N,1], bill_length_mm float32 [N,1], bill_depth_mm float32 [N,1], flipper_length_mm float32 [N,1], body_mass_g float32 [N,1], sex string [N,1]",
    );
    expect(run.stdout).toContain("outputs label string [N], probabilities float32 [N,3]");
    const json = JSON.parse(cli(["inspect", "-m", "models:/penguins-onnx/1", "--tracking-uri", tracking, "--json"]).stdout) as {
      artifacts: Record<string, { load_args?: unknown; onnx?: { opsets: unknown } }>;
    };
    expect(json.artifacts["penguins_rf"]?.load_args).toEqual({ intraOpNumThreads: 1 });
    expect(json.artifacts["penguins_rf"]?.onnx?.opsets).toEqual([
      { domain: "ai.onnx", version: 17 },
      { domain: "ai.onnx.ml", version: 2 },
    ]);
  });
});

describe("a corrupt .onnx", () => {
  it("is refused when packaging, naming the file and what to do", async () => {
    const project = await mkdtemp(join(tmpdir(), "pipeserve-onnx-corrupt-"));
    try {
      await cp(join(root, "models", "penguins-onnx"), project, { recursive: true });
      const file = join(project, "model", "penguins_rf.onnx");
      await writeFile(file, (await readFile(file)).subarray(0, 10_000));
      const run = cli(modelifyArgs(project, join(project, "mlruns")));
      expect(run.code).toBe(1);
      expect(run.stderr).toContain(`is not an ONNX model onnxruntime can load`);
      expect(run.stderr).toContain("penguins_rf.onnx");
    } finally {
      await rm(project, { recursive: true, force: true });
    }
  });
});
