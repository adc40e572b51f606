/**
 * Flights: will a flight be more than 15 minutes late? Trained on a seeded sample of
 * vega-datasets' flights-200k.arrow (delay, distance, time of day); served row-wise, which makes
 * it the batch workload for flights-3m.parquet (date, delay, distance, origin, destination): the
 * time of day comes from `time` when given, else from `date`.
 *
 * Training standardises the features (the `scaler` artifact), fits a logistic regression (the
 * `model` artifact) and logs accuracy, AUC and log loss on a held-out split.
 */
import { node, pipeline, pipelineMl, type ColumnTable } from "pipeserve";

type Columns = Record<string, (number | string | boolean | Date | null)[]>;

export interface Scaler {
  mean: number[];
  std: number[];
}
export interface Model {
  weights: number[];
  bias: number;
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

function column(table: ColumnTable, name: string): unknown[] {
  const i = table.names.indexOf(name);
  if (i < 0) throw new Error(`The flights data has no column "${name}".`);
  return table.columns[i] as unknown[];
}

/** A seeded sample, split into train and test, with the label `delayed` (delay > 15 minutes). */
export function sampleAndSplit(flights: ColumnTable, options: { seed: number; size: number; test_size: number }): [Columns, Columns] {
  const random = mulberry32(options.seed);
  const n = flights.numRows;
  const picked: number[] = [];
  for (let i = 0; i < options.size; i++) picked.push(Math.floor(random() * n));
  const delay = column(flights, "delay") as number[];
  const distance = column(flights, "distance") as number[];
  const time = column(flights, "time") as number[];
  const take = (rows: number[]): Columns => ({
    distance: rows.map((r) => distance[r]!),
    time: rows.map((r) => time[r]!),
    delayed: rows.map((r) => delay[r]! > 15),
  });
  const cut = Math.round(picked.length * (1 - options.test_size));
  return [take(picked.slice(0, cut)), take(picked.slice(cut))];
}

export function features(test: Columns): Columns {
  return { distance: test["distance"]!, time: test["time"]! };
}

/** Hour of day from `time` (decimal hours) or, when absent, from `date` (UTC). */
function hourOf(data: Columns, r: number): number {
  const t = data["time"]?.[r];
  if (typeof t === "number") return t;
  const d = data["date"]?.[r];
  if (d instanceof Date) return d.getUTCHours() + d.getUTCMinutes() / 60;
  return 12;
}

/** log distance, and the hour on a circle (sin, cos) with its second harmonic. */
export function featureMatrix(data: Columns): number[][] {
  const n = (data["distance"] ?? []).length;
  const rows: number[][] = new Array(n);
  for (let r = 0; r < n; r++) {
    const distance = data["distance"]![r];
    const angle = (2 * Math.PI * hourOf(data, r)) / 24;
    rows[r] = [Math.log1p(typeof distance === "number" ? distance : 0), Math.sin(angle), Math.cos(angle), Math.sin(2 * angle), Math.cos(2 * angle)];
  }
  return rows;
}

export function fitScaler(train: Columns): Scaler {
  const x = featureMatrix(train);
  const d = x[0]!.length;
  const mean = Array.from({ length: d }, (_, j) => x.reduce((a, row) => a + row[j]!, 0) / x.length);
  const std = Array.from({ length: d }, (_, j) => Math.sqrt(x.reduce((a, row) => a + (row[j]! - mean[j]!) ** 2, 0) / x.length) || 1);
  return { mean, std };
}

export function scale(x: number[][], scaler: Scaler): number[][] {
  return x.map((row) => row.map((v, j) => (v - scaler.mean[j]!) / scaler.std[j]!));
}

export function trainModel(train: Columns, scaler: Scaler, options: { learning_rate: number; epochs: number }): Model {
  const x = scale(featureMatrix(train), scaler);
  const y = (train["delayed"] as boolean[]).map((v) => (v ? 1 : 0));
  const weights = new Array<number>(x[0]!.length).fill(0);
  let bias = 0;
  for (let epoch = 0; epoch < options.epochs; epoch++) {
    const gw = new Array<number>(weights.length).fill(0);
    let gb = 0;
    for (let r = 0; r < x.length; r++) {
      const p = 1 / (1 + Math.exp(-(bias + weights.reduce((a, w, j) => a + w * x[r]![j]!, 0))));
      const err = p - y[r]!;
      gb += err;
      for (let j = 0; j < weights.length; j++) gw[j]! += err * x[r]![j]!;
    }
    bias -= (options.learning_rate * gb) / x.length;
    for (let j = 0; j < weights.length; j++) weights[j]! -= (options.learning_rate * gw[j]!) / x.length;
  }
  return { weights, bias };
}

export function predictProbabilities(x: number[][], model: Model): number[] {
  return x.map((row) => 1 / (1 + Math.exp(-(model.bias + model.weights.reduce((a, w, j) => a + w * row[j]!, 0)))));
}

/** The area under the ROC curve, by the rank-sum formula. */
export function auc(scores: number[], labels: boolean[]): number {
  const order = scores.map((s, i) => [s, i] as const).sort((a, b) => a[0] - b[0]);
  let rankSum = 0;
  let positives = 0;
  order.forEach(([, i], rank) => {
    if (labels[i]) {
      rankSum += rank + 1;
      positives++;
    }
  });
  const negatives = labels.length - positives;
  return (rankSum - (positives * (positives + 1)) / 2) / Math.max(1, positives * negatives);
}

export function evaluate(test: Columns, scaler: Scaler, model: Model): Record<string, number> {
  const p = predictProbabilities(scale(featureMatrix(test), scaler), model);
  const y = test["delayed"] as boolean[];
  const eps = 1e-12;
  const logLoss = -p.reduce((a, pi, i) => a + (y[i] ? Math.log(pi + eps) : Math.log(1 - pi + eps)), 0) / p.length;
  const base = y.filter(Boolean).length / y.length;
  const baseLogLoss = -(base * Math.log(base) + (1 - base) * Math.log(1 - base));
  return { auc: auc(p, y), log_loss: logLoss, base_log_loss: baseLogLoss, accuracy: p.filter((pi, i) => pi >= 0.5 === y[i]).length / p.length };
}

export function preprocess(instances: Columns, scaler: Scaler): number[][] {
  return scale(featureMatrix(instances), scaler);
}

export function postprocess(probabilities: number[], threshold: number): Columns {
  return { delay_probability: probabilities, delayed: probabilities.map((p) => p >= threshold) };
}

const training = pipeline([
  node(sampleAndSplit, { inputs: ["flights", "params:sample"], outputs: ["train", "test"], name: "sample_and_split" }),
  node(features, { inputs: "test", outputs: "instances", name: "features" }),
  node(fitScaler, { inputs: "train", outputs: "scaler", name: "fit_scaler" }),
  node(trainModel, { inputs: ["train", "scaler", "params:model"], outputs: "model", name: "train_model" }),
  node(evaluate, { inputs: ["test", "scaler", "model"], outputs: "metrics", name: "evaluate" }),
]);

const inference = pipeline([
  node(preprocess, { inputs: ["instances", "scaler"], outputs: "features_matrix", name: "preprocess" }),
  node(predictProbabilities, { inputs: ["features_matrix", "model"], outputs: "probabilities", name: "predict" }),
  node(postprocess, { inputs: ["probabilities", "params:threshold"], outputs: "predictions", name: "postprocess" }),
]);

export const pipelines = {
  __default__: pipelineMl({
    training,
    inference,
    inputName: "instances",
    inputType: "columns",
    rowWise: true,
    logModel: {
      registeredModelName: "flights",
      // Explicit, so the model takes both the training data's `time` and flights-3m's `date`.
      signature: {
        inputs:
          '[{"type": "double", "name": "distance", "required": true}, {"type": "double", "name": "time", "required": false}, {"type": "datetime", "name": "date", "required": false}]',
        outputs: '[{"type": "double", "name": "delay_probability", "required": true}, {"type": "boolean", "name": "delayed", "required": true}]',
        params:
          '[{"name": "threshold", "default": 0.5, "shape": null, "type": "double"}, {"name": "runner", "default": "SequentialRunner", "shape": null, "type": "string"}]',
      },
    },
  }),
};
