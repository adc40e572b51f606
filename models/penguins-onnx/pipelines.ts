/**
 * Penguins from Python: the species of a Palmer penguin, by a scikit-learn model (imputers,
 * scaler, one-hot encoder and a random forest) exported to ONNX with skl2onnx, served with
 * TypeScript nodes around it. There is no training here: `pipeserve modelify` packages the
 * inference pipeline with the `.onnx` file as it is.
 *
 * clean (the request's columns as the graph wants them) → classify (the ONNX session) →
 * postprocess (the species, "unknown" below the `threshold` param, and the class probabilities
 * with `return_probabilities`), as the hand-written penguins example answers.
 */
import { node, pipeline, predictOnnx, type OnnxModel } from "pipeserve";

/** The request's columns: numbers may arrive as typed arrays, missing values as null. */
type InputColumns = Record<string, ArrayLike<number | string | null>>;

const NUMERIC = ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g"] as const;
/** The classes in the order of the model's `probabilities` output (its README). */
export const CLASSES = ["Adelie", "Chinstrap", "Gentoo"] as const;
const PROBABILITY_COLUMNS = CLASSES.map((c) => `probability_${c}`);

/**
 * The graph's inputs from the request's columns: the four measurements (missing → NaN, by
 * predictOnnx), island, and sex with the source's "." as missing (the graph's imputer reads "" as missing).
 */
export function clean(instances: InputColumns): Record<string, ArrayLike<unknown>> {
  const sex = Array.from(instances["sex"] ?? [], (s) => (s === "." ? null : s));
  const out: Record<string, ArrayLike<unknown>> = { island: instances["island"] ?? [], sex };
  for (const name of NUMERIC) out[name] = instances[name] ?? [];
  return out;
}

/** The ONNX model's outputs as columns: `label`, and one probability column per class. */
export function classify(features: Record<string, ArrayLike<unknown>>, model: OnnxModel): Promise<Record<string, unknown[]>> {
  return predictOnnx(model, features, { names: { probabilities: PROBABILITY_COLUMNS } });
}

/** The species (or "unknown" when its probability is below `threshold`) and its probability; every class's with `return_probabilities`. */
export function postprocess(scores: Record<string, unknown[]>, threshold: number, returnProbabilities: boolean): Record<string, unknown[]> {
  const labels = (scores["label"] ?? []) as string[];
  const probabilities = PROBABILITY_COLUMNS.map((c) => (scores[c] ?? []) as number[]);
  const species = new Array<string>(labels.length);
  const probability = new Array<number>(labels.length);
  for (let r = 0; r < labels.length; r++) {
    const label = labels[r] as string;
    const p = (probabilities[CLASSES.indexOf(label as (typeof CLASSES)[number])] ?? [])[r] ?? 0;
    species[r] = p < threshold ? "unknown" : label;
    probability[r] = p;
  }
  const out: Record<string, unknown[]> = { species, probability };
  if (returnProbabilities) PROBABILITY_COLUMNS.forEach((c, i) => (out[c] = probabilities[i] as number[]));
  return out;
}

const inference = pipeline([
  node(clean, { inputs: "instances", outputs: "features", name: "clean" }),
  node(classify, { inputs: ["features", "penguins_rf"], outputs: "scores", name: "classify" }),
  node(postprocess, { inputs: ["scores", "params:threshold", "params:return_probabilities"], outputs: "predictions", name: "postprocess" }),
]);

export const pipelines = { inference, __default__: inference };
