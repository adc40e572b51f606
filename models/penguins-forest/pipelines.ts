/**
 * Penguins by random forest: the species of a Palmer penguin, by ml-random-forest (an npm ML
 * library) instead of hand-written maths. The forest is the library's own object in every node
 * that uses it — evaluate in training, predict when served — stored as JSON and rebuilt by the
 * `forest` codec below, which catalog.yml names: no node calls `RandomForestClassifier.load`.
 *
 * Training: prepare (rename, the source's "." sex as missing) → split (seeded) → fit the encoder
 * (medians for missing measurements, one-hot island and sex) → fit the forest → evaluate on the
 * held-out split. Inference: encode → predict (the species and the forest's vote for it).
 */
import { RandomForestClassifier } from "ml-random-forest";
import { type ArtifactCodec, artifactCodec, node, pipeline, pipelineMl } from "pipeserve";

type Column = (number | string | null)[];
type Columns = Record<string, Column>;
type InputColumns = Record<string, ArrayLike<number | string | null>>;

const NUMERIC = ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g"] as const;

/** How a row becomes the forest's features: medians fill missing measurements; island and sex one-hot (missing: all zero). */
export interface Encoder {
  medians: Record<string, number>;
  islands: string[];
  sexes: string[];
  classes: string[];
}

/** The forest as ml-random-forest writes it (`toJSON`) and reads it back (`load`). */
type ForestJson = ReturnType<RandomForestClassifier["toJSON"]>;

export const codecs: { forest: ArtifactCodec<RandomForestClassifier, ForestJson> } = {
  forest: artifactCodec({ encode: (forest) => forest.toJSON(), decode: (json) => RandomForestClassifier.load(json) }),
};

// ---------------------------------------------------------------- training

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

/** A seeded shuffle's first `testSize` share is held out. */
export function split(data: Columns, seed: number, testSize: number): { train: Columns; test: Columns } {
  const n = (data["species"] ?? []).length;
  const order = Array.from({ length: n }, (_, i) => i);
  let a = seed >>> 0;
  const random = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j] as number, order[i] as number];
  }
  const cut = Math.round(n * testSize);
  const pick = (rows: number[]): Columns => Object.fromEntries(Object.entries(data).map(([k, v]) => [k, rows.map((r) => v[r] ?? null)]));
  return { test: pick(order.slice(0, cut)), train: pick(order.slice(cut)) };
}

export function trainSplit(parts: { train: Columns }): Columns {
  return parts.train;
}

export function testSplit(parts: { test: Columns }): Columns {
  return parts.test;
}

export function fitEncoder(train: Columns): Encoder {
  const medians: Record<string, number> = {};
  for (const name of NUMERIC) {
    const values = (train[name] ?? []).filter((v): v is number => typeof v === "number").sort((x, y) => x - y);
    medians[name] = values.length === 0 ? 0 : (values[Math.floor((values.length - 1) / 2)]! + values[Math.ceil((values.length - 1) / 2)]!) / 2;
  }
  const levels = (name: string): string[] => [...new Set((train[name] ?? []).filter((v): v is string => typeof v === "string"))].sort();
  return { medians, islands: levels("island"), sexes: levels("sex"), classes: levels("species") };
}

export function fitForest(
  train: Columns,
  encoder: Encoder,
  seed: number,
  options: { n_estimators: number; max_features: number; max_depth: number },
): RandomForestClassifier {
  const labels = (train["species"] ?? []).map((s) => encoder.classes.indexOf(s as string));
  const forest = new RandomForestClassifier({
    seed,
    nEstimators: options.n_estimators,
    maxFeatures: options.max_features,
    replacement: false,
    useSampleBagging: true,
    treeOptions: { maxDepth: options.max_depth },
  });
  forest.train(encode(train, encoder), labels);
  return forest;
}

/** Accuracy and per-class F1 on the held-out split, by the forest object itself. */
export function evaluate(test: Columns, encoder: Encoder, forest: RandomForestClassifier): Record<string, number> {
  const predicted = forest.predict(encode(test, encoder));
  const truth = (test["species"] ?? []).map((s) => encoder.classes.indexOf(s as string));
  const metrics: Record<string, number> = { accuracy: truth.filter((t, i) => t === predicted[i]).length / truth.length };
  encoder.classes.forEach((name, c) => {
    const tp = truth.filter((t, i) => t === c && predicted[i] === c).length;
    const fp = truth.filter((t, i) => t !== c && predicted[i] === c).length;
    const fn = truth.filter((t, i) => t === c && predicted[i] !== c).length;
    metrics[`f1_${name}`] = tp === 0 ? 0 : (2 * tp) / (2 * tp + fp + fn);
  });
  return metrics;
}

export function features(train: Columns): Columns {
  const { species: _, ...rest } = train;
  return rest;
}

// ---------------------------------------------------------------- inference

/** The forest's features, a row each. */
export function encode(instances: InputColumns, encoder: Encoder): number[][] {
  const n = (instances["island"] ?? instances[NUMERIC[0]] ?? []).length;
  const rows: number[][] = [];
  for (let r = 0; r < n; r++) {
    const row: number[] = NUMERIC.map((name) => {
      const v = instances[name]?.[r];
      return typeof v === "number" && Number.isFinite(v) ? v : (encoder.medians[name] as number);
    });
    for (const island of encoder.islands) row.push(instances["island"]?.[r] === island ? 1 : 0);
    for (const sex of encoder.sexes) row.push(instances["sex"]?.[r] === sex ? 1 : 0);
    rows.push(row);
  }
  return rows;
}

/** The species the forest votes for, and the share of its trees that voted so. */
export function predict(rows: number[][], encoder: Encoder, forest: RandomForestClassifier): { species: string[]; probability: number[] } {
  const predicted = forest.predict(rows);
  const species = predicted.map((c) => encoder.classes[c] ?? "unknown");
  const probability = new Array<number>(rows.length);
  const votes = encoder.classes.map((_, c) => forest.predictProbability(rows, c));
  for (let r = 0; r < rows.length; r++) probability[r] = votes[predicted[r] as number]?.[r] ?? 0;
  return { species, probability };
}

const training = pipeline([
  node(prepare, { inputs: "penguins_raw", outputs: "penguins", name: "prepare" }),
  node(split, { inputs: ["penguins", "params:seed", "params:test_size"], outputs: "splits", name: "split" }),
  node(trainSplit, { inputs: "splits", outputs: "train_set", name: "train_split" }),
  node(testSplit, { inputs: "splits", outputs: "test_set", name: "test_split" }),
  node(fitEncoder, { inputs: "train_set", outputs: "encoder", name: "fit_encoder" }),
  node(fitForest, { inputs: ["train_set", "encoder", "params:seed", "params:forest"], outputs: "forest", name: "fit_forest" }),
  node(evaluate, { inputs: ["test_set", "encoder", "forest"], outputs: "metrics", name: "evaluate" }),
  node(features, { inputs: "train_set", outputs: "instances", name: "features" }),
]);

const inference = pipeline([
  node(encode, { inputs: ["instances", "encoder"], outputs: "rows", name: "encode" }),
  node(predict, { inputs: ["rows", "encoder", "forest"], outputs: "predictions", name: "predict" }),
]);

export const pipelines = {
  __default__: pipelineMl({
    training,
    inference,
    inputName: "instances",
    inputType: "columns",
    rowWise: true,
    logModel: { registeredModelName: "penguins-forest" },
  }),
};
