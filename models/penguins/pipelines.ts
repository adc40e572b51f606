/**
 * Penguins: species classification on the Palmer penguins (vega-datasets' penguins.json).
 *
 * Training splits the data with a seed, fits an imputer + standard scaler + one-hot encoder (the
 * `preprocessor` artifact), trains a multinomial logistic regression (the `model` artifact) and
 * logs accuracy and per-class F1. Inference reuses exactly those artifacts: preprocess → predict
 * → postprocess, with runtime params `threshold` (below it the species is "unknown") and
 * `return_probabilities`. Nodes work on columns (`inputType: "columns"`), the fastest form: served,
 * numeric columns without missing values arrive as typed arrays (Float64Array), so the code reads
 * them by index and keeps its matrices in Float64Arrays too.
 */
import { node, pipeline, pipelineMl } from "pipeserve";

type Column = (number | string | null)[];
type Columns = Record<string, Column>;
/** What inference nodes receive: plain arrays in training, typed arrays for numbers when served. */
type InputColumns = Record<string, ArrayLike<number | string | null>>;

/** A row-major matrix of numbers: row r, column i is `values[r * width + i]`. */
export interface Matrix {
  rows: number;
  width: number;
  values: Float64Array;
}

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
export function transform(data: InputColumns, pre: Preprocessor): Matrix {
  const n = (data["island"] ?? data[NUMERIC[0]] ?? []).length;
  const width = NUMERIC.length + pre.islands.length + pre.sexes.length;
  const values = new Float64Array(n * width);
  const columns = NUMERIC.map((name) => data[name]);
  const stats = NUMERIC.map((name) => pre.numeric[name]!);
  const island = data["island"];
  const sex = data["sex"];
  const sexAt = NUMERIC.length + pre.islands.length;
  // NB: one pass over the rows, each row's features written side by side.
  for (let r = 0; r < n; r++) {
    const row = r * width;
    for (let i = 0; i < columns.length; i++) {
      const s = stats[i]!;
      const v = columns[i]?.[r];
      values[row + i] = ((typeof v === "number" ? v : s.median) - s.mean) / s.std;
    }
    const isl = island?.[r];
    for (let c = 0; c < pre.islands.length; c++) values[row + NUMERIC.length + c] = isl === pre.islands[c] ? 1 : 0;
    const sx = sex?.[r];
    for (let c = 0; c < pre.sexes.length; c++) values[row + sexAt + c] = sx === pre.sexes[c] ? 1 : 0;
  }
  return { rows: n, width, values };
}

/** Softmax of the k scores at `from` in `scores`, written over them. */
function softmaxInPlace(scores: Float64Array, from: number, k: number): void {
  let max = -Infinity;
  for (let c = 0; c < k; c++) max = Math.max(max, scores[from + c]!);
  let sum = 0;
  for (let c = 0; c < k; c++) {
    const e = Math.exp(scores[from + c]! - max);
    scores[from + c] = e;
    sum += e;
  }
  for (let c = 0; c < k; c++) scores[from + c]! /= sum;
}

/** The class scores of row r of x, written at `out[r * k…]`. */
function scoresInto(x: Matrix, r: number, model: Model, out: Float64Array): void {
  const k = model.weights.length;
  const row = r * x.width;
  for (let c = 0; c < k; c++) {
    const w = model.weights[c]!;
    let acc = model.bias[c]!;
    for (let i = 0; i < w.length; i++) acc += w[i]! * x.values[row + i]!;
    out[r * k + c] = acc;
  }
}

/** Multinomial logistic regression by full-batch gradient descent with L2. */
export function trainModel(train: Columns, pre: Preprocessor, options: { learning_rate: number; epochs: number; l2: number }): Model {
  const x = transform(train, pre);
  const labels = train["species"] as string[];
  const classes = [...new Set(labels)].sort();
  const y = labels.map((l) => classes.indexOf(l));
  const d = x.width;
  const weights = classes.map(() => new Array<number>(d).fill(0));
  const bias = classes.map(() => 0);
  const p = new Float64Array(x.rows * classes.length);
  for (let epoch = 0; epoch < options.epochs; epoch++) {
    const gw = classes.map(() => new Array<number>(d).fill(0));
    const gb = classes.map(() => 0);
    for (let r = 0; r < x.rows; r++) {
      scoresInto(x, r, { classes, weights, bias }, p);
      softmaxInPlace(p, r * classes.length, classes.length);
      for (let k = 0; k < classes.length; k++) {
        const err = p[r * classes.length + k]! - (y[r] === k ? 1 : 0);
        gb[k]! += err;
        for (let i = 0; i < d; i++) gw[k]![i]! += err * x.values[r * d + i]!;
      }
    }
    for (let k = 0; k < classes.length; k++) {
      bias[k]! -= (options.learning_rate * gb[k]!) / x.rows;
      for (let i = 0; i < d; i++) weights[k]![i]! -= options.learning_rate * (gw[k]![i]! / x.rows + options.l2 * weights[k]![i]!);
    }
  }
  return { classes, weights, bias };
}

/** Accuracy and per-class F1 on the held-out split. */
export function evaluate(test: Columns, pre: Preprocessor, model: Model): Record<string, number> {
  const probabilities = predictProbabilities(transform(test, pre), model);
  const k = probabilities.width;
  const predicted = Array.from({ length: probabilities.rows }, (_, r) => model.classes[bestOf(probabilities.values, r * k, k)]!);
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

export function preprocess(instances: InputColumns, pre: Preprocessor): Matrix {
  return transform(instances, pre);
}

export function predictProbabilities(x: Matrix, model: Model): Matrix {
  const k = model.weights.length;
  const d = x.width;
  // NB: the weights side by side in one typed array, read in the same order as scoresInto's.
  const weights = new Float64Array(k * d);
  model.weights.forEach((w, c) => weights.set(w, c * d));
  const bias = Float64Array.from(model.bias);
  const xs = x.values;
  const values = new Float64Array(x.rows * k);
  for (let r = 0; r < x.rows; r++) {
    const row = r * d;
    const at = r * k;
    for (let c = 0; c < k; c++) {
      let acc = bias[c]!;
      for (let i = 0; i < d; i++) acc += weights[c * d + i]! * xs[row + i]!;
      values[at + c] = acc;
    }
    softmaxInPlace(values, at, k);
  }
  return { rows: x.rows, width: k, values };
}

/** The first index of the largest of the k values at `from`. */
function bestOf(values: Float64Array, from: number, k: number): number {
  let best = 0;
  for (let c = 1; c < k; c++) if (values[from + c]! > values[from + best]!) best = c;
  return best;
}

/** The most likely species and its probability; "unknown" below the threshold; every class's probability on request. */
export function postprocess(probabilities: Matrix, model: Model, threshold: number, returnProbabilities: boolean): Record<string, string[] | Float64Array> {
  const { rows, width: k, values } = probabilities;
  const species = new Array<string>(rows);
  const probability = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    const best = bestOf(values, r * k, k);
    const p = values[r * k + best]!;
    species[r] = p >= threshold ? model.classes[best]! : "unknown";
    probability[r] = p;
  }
  const out: Record<string, string[] | Float64Array> = { species, probability };
  if (returnProbabilities) {
    model.classes.forEach((c, j) => {
      const column = new Float64Array(rows);
      for (let r = 0; r < rows; r++) column[r] = values[r * k + j]!;
      out[`probability_${c}`] = column;
    });
  }
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
