/**
 * Penguins: species classification on the Palmer penguins (vega-datasets' penguins.json).
 *
 * Training splits the data with a seed, fits an imputer + standard scaler + one-hot encoder (the
 * `preprocessor` artifact), trains a multinomial logistic regression (the `model` artifact) and
 * logs accuracy and per-class F1. Inference reuses exactly those artifacts: preprocess → predict
 * → postprocess, with runtime params `threshold` (below it the species is "unknown") and
 * `return_probabilities`. Nodes work on plain columns (`inputType: "columns"`), the fastest form.
 */
import { node, pipeline, pipelineMl } from "pipeserve";

type Column = (number | string | null)[];
type Columns = Record<string, Column>;

const NUMERIC = ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g"] as const;

export interface Preprocessor {
  numeric: Record<string, { median: number; mean: number; std: number }>;
  islands: string[];
  sexes: string[];
}

export interface Model {
  classes: string[];
  /** weights[class][feature] */
  weights: number[][];
  bias: number[];
}

// ---------------------------------------------------------------- training

/** Renames the source's columns to snake_case and turns its "." sex into a missing value. */
export function prepare(raw: Record<string, unknown>[]): Columns {
  const out: Columns = { species: [], island: [], bill_length_mm: [], bill_depth_mm: [], flipper_length_mm: [], body_mass_g: [], sex: [] };
  for (const r of raw) {
    out["species"]!.push(r["Species"] as string);
    out["island"]!.push(r["Island"] as string);
    out["bill_length_mm"]!.push((r["Beak Length (mm)"] as number | null) ?? null);
    out["bill_depth_mm"]!.push((r["Beak Depth (mm)"] as number | null) ?? null);
    out["flipper_length_mm"]!.push((r["Flipper Length (mm)"] as number | null) ?? null);
    out["body_mass_g"]!.push((r["Body Mass (g)"] as number | null) ?? null);
    const sex = r["Sex"];
    out["sex"]!.push(sex === "MALE" || sex === "FEMALE" ? sex : null);
  }
  return out;
}

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function take(data: Columns, rows: number[]): Columns {
  const out: Columns = {};
  for (const [k, v] of Object.entries(data)) out[k] = rows.map((r) => v[r] as number | string | null);
  return out;
}

/** A seeded, stratified-free shuffle split into train and test. */
export function split(data: Columns, seed: number, testSize: number): [Columns, Columns] {
  const n = data["species"]!.length;
  const order = Array.from({ length: n }, (_, i) => i);
  const random = mulberry32(seed);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  const cut = Math.round(n * (1 - testSize));
  return [take(data, order.slice(0, cut)), take(data, order.slice(cut))];
}

/** The test rows without the label: what a client would send. */
export function features(test: Columns): Columns {
  const { species: _label, ...rest } = test;
  return rest;
}

export function fitPreprocessor(train: Columns): Preprocessor {
  const numeric: Preprocessor["numeric"] = {};
  for (const name of NUMERIC) {
    const values = (train[name] as (number | null)[]).filter((v): v is number => typeof v === "number").sort((a, b) => a - b);
    const median = values[Math.floor(values.length / 2)] ?? 0;
    const mean = values.reduce((a, b) => a + b, 0) / values.length;
    const std = Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / values.length) || 1;
    numeric[name] = { median, mean, std };
  }
  const categories = (col: Column): string[] => [...new Set(col.filter((v): v is string => typeof v === "string"))].sort();
  return { numeric, islands: categories(train["island"]!), sexes: categories(train["sex"]!) };
}

/** Rows of features: imputed and standardised numbers, then one-hot island and sex (unknown → all zeros). */
export function transform(data: Columns, pre: Preprocessor): number[][] {
  const n = (data["island"] ?? data[NUMERIC[0]] ?? []).length;
  const rows: number[][] = new Array(n);
  for (let r = 0; r < n; r++) {
    const row: number[] = [];
    for (const name of NUMERIC) {
      const s = pre.numeric[name]!;
      const v = data[name]?.[r];
      row.push(((typeof v === "number" ? v : s.median) - s.mean) / s.std);
    }
    const island = data["island"]?.[r];
    for (const i of pre.islands) row.push(island === i ? 1 : 0);
    const sex = data["sex"]?.[r];
    for (const s of pre.sexes) row.push(sex === s ? 1 : 0);
    rows[r] = row;
  }
  return rows;
}

function softmax(scores: number[]): number[] {
  const max = Math.max(...scores);
  const exp = scores.map((s) => Math.exp(s - max));
  const sum = exp.reduce((a, b) => a + b, 0);
  return exp.map((e) => e / sum);
}

function scoresOf(x: number[], model: Model): number[] {
  return model.weights.map((w, k) => w.reduce((acc, wi, i) => acc + wi * (x[i] as number), model.bias[k] as number));
}

/** Multinomial logistic regression by full-batch gradient descent with L2. */
export function trainModel(train: Columns, pre: Preprocessor, options: { learning_rate: number; epochs: number; l2: number }): Model {
  const x = transform(train, pre);
  const labels = train["species"] as string[];
  const classes = [...new Set(labels)].sort();
  const y = labels.map((l) => classes.indexOf(l));
  const d = x[0]?.length ?? 0;
  const weights = classes.map(() => new Array<number>(d).fill(0));
  const bias = classes.map(() => 0);
  for (let epoch = 0; epoch < options.epochs; epoch++) {
    const gw = classes.map(() => new Array<number>(d).fill(0));
    const gb = classes.map(() => 0);
    for (let r = 0; r < x.length; r++) {
      const p = softmax(scoresOf(x[r]!, { classes, weights, bias }));
      for (let k = 0; k < classes.length; k++) {
        const err = p[k]! - (y[r] === k ? 1 : 0);
        gb[k]! += err;
        for (let i = 0; i < d; i++) gw[k]![i]! += err * x[r]![i]!;
      }
    }
    for (let k = 0; k < classes.length; k++) {
      bias[k]! -= (options.learning_rate * gb[k]!) / x.length;
      for (let i = 0; i < d; i++) weights[k]![i]! -= options.learning_rate * (gw[k]![i]! / x.length + options.l2 * weights[k]![i]!);
    }
  }
  return { classes, weights, bias };
}

/** Accuracy and per-class F1 on the held-out split. */
export function evaluate(test: Columns, pre: Preprocessor, model: Model): Record<string, number> {
  const probabilities = predictProbabilities(transform(test, pre), model);
  const predicted = probabilities.map((p) => model.classes[p.indexOf(Math.max(...p))]!);
  const actual = test["species"] as string[];
  const metrics: Record<string, number> = { accuracy: predicted.filter((p, i) => p === actual[i]).length / actual.length };
  for (const c of model.classes) {
    const tp = predicted.filter((p, i) => p === c && actual[i] === c).length;
    const fp = predicted.filter((p, i) => p === c && actual[i] !== c).length;
    const fn = predicted.filter((p, i) => p !== c && actual[i] === c).length;
    metrics[`f1_${c}`] = tp === 0 ? 0 : (2 * tp) / (2 * tp + fp + fn);
  }
  return metrics;
}

// ---------------------------------------------------------------- inference

export function preprocess(instances: Columns, pre: Preprocessor): number[][] {
  return transform(instances, pre);
}

export function predictProbabilities(x: number[][], model: Model): number[][] {
  return x.map((row) => softmax(scoresOf(row, model)));
}

/** The most likely species and its probability; "unknown" below the threshold; every class's probability on request. */
export function postprocess(probabilities: number[][], model: Model, threshold: number, returnProbabilities: boolean): Columns {
  const species: Column = [];
  const probability: Column = [];
  for (const p of probabilities) {
    const best = Math.max(...p);
    species.push(best >= threshold ? model.classes[p.indexOf(best)]! : "unknown");
    probability.push(best);
  }
  const out: Columns = { species, probability };
  if (returnProbabilities) model.classes.forEach((c, k) => (out[`probability_${c}`] = probabilities.map((p) => p[k]!)));
  return out;
}

const training = pipeline([
  node(prepare, { inputs: "penguins_raw", outputs: "penguins", name: "prepare" }),
  node(split, { inputs: ["penguins", "params:seed", "params:test_size"], outputs: ["train", "test"], name: "split" }),
  node(features, { inputs: "test", outputs: "instances", name: "features" }),
  node(fitPreprocessor, { inputs: "train", outputs: "preprocessor", name: "fit_preprocessor" }),
  node(trainModel, { inputs: ["train", "preprocessor", "params:model"], outputs: "model", name: "train_model" }),
  node(evaluate, { inputs: ["test", "preprocessor", "model"], outputs: "metrics", name: "evaluate" }),
]);

const inference = pipeline([
  node(preprocess, { inputs: ["instances", "preprocessor"], outputs: "features_matrix", name: "preprocess" }),
  node(predictProbabilities, { inputs: ["features_matrix", "model"], outputs: "probabilities", name: "predict" }),
  node(postprocess, {
    inputs: ["probabilities", "model", "params:threshold", "params:return_probabilities"],
    outputs: "predictions",
    name: "postprocess",
  }),
]);

export const pipelines = {
  __default__: pipelineMl({
    training,
    inference,
    inputName: "instances",
    inputType: "columns",
    rowWise: true,
    logModel: { registeredModelName: "penguins" },
  }),
  training,
};
