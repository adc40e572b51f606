/**
 * The project `pipeserve init` writes: a typed training and inference pipeline (a logistic
 * regression in plain TypeScript, no extra packages), its catalog and parameters, training data
 * generated on the spot (fixed seed, so every init trains the same model), a tsconfig and a README.
 * It trains with `pipeserve run` and serves with `pipeserve serve` as it is.
 */

const PIPELINES_TS = `// Training and inference pipelines, Kedro-style: nodes are plain functions over named datasets
// (conf/catalog.yml) and parameters (conf/parameters.yml). \`pipeserve run\` runs training in a
// tracked run and packages the inference pipeline with exactly the artifacts training wrote.
import { type ColumnTable, type MetricValue, node, pipeline, pipelineMl } from "pipeserve";

// Parameters by name, so \`params:\` inputs are typed in the editor (see conf/parameters.yml).
declare module "pipeserve" {
  interface PipelineParameters {
    threshold: number;
    model: { epochs: number; learning_rate: number };
  }
}

/** The fitted model: one weight per feature, and a bias. */
export interface Model {
  features: string[];
  weights: number[];
  bias: number;
}

const FEATURES = ["x1", "x2"];

function column(table: ColumnTable, name: string): number[] {
  const i = table.names.indexOf(name);
  if (i < 0) throw new Error(\`Column "\${name}" is missing; the table has [\${table.names.join(", ")}].\`);
  return (table.columns[i] as unknown[]).map(Number);
}

const sigmoid = (z: number): number => 1 / (1 + Math.exp(-z));

/** The model's probability of label 1 for each row, from the feature columns. */
function scores(model: Model, xs: number[][]): number[] {
  const rows = xs[0]?.length ?? 0;
  return Array.from({ length: rows }, (_, r) => sigmoid(model.bias + xs.reduce((sum, x, j) => sum + (model.weights[j] as number) * (x[r] as number), 0)));
}

/** Fits a logistic regression by gradient descent. */
export function fit(train: ColumnTable, params: { epochs: number; learning_rate: number }): Model {
  const xs = FEATURES.map((f) => column(train, f));
  const y = column(train, "label");
  const model: Model = { features: FEATURES, weights: FEATURES.map(() => 0), bias: 0 };
  for (let epoch = 0; epoch < params.epochs; epoch++) {
    const p = scores(model, xs);
    const error = p.map((pi, r) => pi - (y[r] as number));
    model.weights = model.weights.map((w, j) => w - (params.learning_rate * error.reduce((s, e, r) => s + e * ((xs[j] as number[])[r] as number), 0)) / train.numRows);
    model.bias -= (params.learning_rate * error.reduce((s, e) => s + e, 0)) / train.numRows;
  }
  return model;
}

/** Accuracy and log loss on the training data, logged as the run's metrics. */
export function evaluate(train: ColumnTable, model: Model, threshold: number): Record<string, MetricValue> {
  const y = column(train, "label");
  const p = scores(model, model.features.map((f) => column(train, f)));
  const accuracy = p.filter((pi, r) => (pi >= threshold ? 1 : 0) === y[r]).length / p.length;
  const logLoss = -p.reduce((s, pi, r) => s + (y[r] === 1 ? Math.log(Math.max(pi, 1e-12)) : Math.log(Math.max(1 - pi, 1e-12))), 0) / p.length;
  return { accuracy, log_loss: logLoss };
}

/** The features only: what a request holds (and the input example the model is packaged with). */
export function features(train: ColumnTable): ColumnTable {
  return { names: FEATURES, columns: FEATURES.map((f) => column(train, f)), numRows: train.numRows };
}

/** Scores each row and labels it with the threshold, a runtime param (\`{"params": {"threshold": 0.8}}\`). */
export function predict(instances: Record<string, unknown[]>, model: Model, threshold: number): ColumnTable {
  const xs = model.features.map((f) => {
    const values = instances[f];
    if (!values) throw new Error(\`The request has no column "\${f}"; it needs [\${model.features.join(", ")}].\`);
    return values.map(Number);
  });
  const p = scores(model, xs);
  return { names: ["score", "label"], columns: [p, p.map((pi) => (pi >= threshold ? 1 : 0))], numRows: p.length };
}

const training = pipeline([
  node(fit, { inputs: ["train", "params:model"], outputs: "model", name: "fit" }),
  node(evaluate, { inputs: ["train", "model", "params:threshold"], outputs: "metrics", name: "evaluate" }),
  node(features, { inputs: "train", outputs: "instances", name: "features" }),
]);

const inference = pipeline([node(predict, { inputs: ["instances", "model", "params:threshold"], outputs: "predictions", name: "predict" })]);

export const pipelines = {
  __default__: pipelineMl({
    training,
    inference,
    inputName: "instances",
    inputType: "columns",
    rowWise: true,
    logModel: { registeredModelName: "__NAME__", signature: { outputs: { label: "long" } } },
  }),
};
`;

const CATALOG_YML = `# The datasets nodes read and write, by name.
train:
  type: CsvDataset
  filepath: data/train.csv
  load_args:
    as: table
model:
  type: JsonArtifactDataset
  filepath: data/model.json
metrics:
  type: MetricsDataset
`;

const PARAMETERS_YML = `# Parameters nodes read as params:<name>; override with pipeserve run --params key=value.
threshold: 0.5
model:
  epochs: 300
  learning_rate: 0.5
`;

const TSCONFIG = `{
  "compilerOptions": {
    "target": "ES2022",
    "lib": ["ES2023"],
    "module": "NodeNext",
    "moduleResolution": "NodeNext",
    "strict": true,
    "noEmit": true,
    "skipLibCheck": true
  },
  "files": ["pipelines.ts"]
}
`;

const GITIGNORE = `mlruns/
data/model.json
node_modules/
`;

const README = `# __NAME__

A model project made by \`pipeserve init\`: a logistic regression on two features, in plain
TypeScript. \`pipelines.ts\` holds the training and inference pipelines; \`conf/\` their datasets
and parameters; \`data/train.csv\` the training data.

\`\`\`sh
npx pipeserve run --project .                       # train, package, register "__NAME__"
npx pipeserve serve -m models:/__NAME__/latest      # serve it on http://127.0.0.1:5000
curl -s localhost:5000/invocations -H 'Content-Type: application/json' \\
  -d '{"dataframe_split": {"columns": ["x1", "x2"], "data": [[1.5, 0.2]]}, "params": {"threshold": 0.7}}'
\`\`\`

\`npx pipeserve\` runs the pipeserve installed in the npm project around this folder (pipeserve's
README says how: its package, two \`overrides\` and an \`.npmrc\`). With TypeScript installed there
too, \`pipeserve run\` type-checks the project before it trains, and your editor knows its types.
`;

/** One row of the training data: two features and a label from a line through them, with some noise. */
function trainingCsv(rows: number): string {
  // NB: a fixed-seed generator (mulberry32), so every init writes the same data and trains the same model.
  let seed = 20261205;
  const random = (): number => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = seed;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const lines = ["x1,x2,label"];
  for (let i = 0; i < rows; i++) {
    const x1 = Math.round((random() * 4 - 2) * 1000) / 1000;
    const x2 = Math.round((random() * 4 - 2) * 1000) / 1000;
    const label = x1 + 0.5 * x2 + (random() - 0.5) * 0.6 > 0 ? 1 : 0;
    lines.push(`${x1},${x2},${label}`);
  }
  return `${lines.join("\n")}\n`;
}

/** The files of a new project named `name` (its registered model's name), by relative path. */
export function initFiles(name: string): Record<string, string> {
  const named = (text: string): string => text.replaceAll("__NAME__", name);
  return {
    "pipelines.ts": named(PIPELINES_TS),
    "conf/catalog.yml": CATALOG_YML,
    "conf/parameters.yml": PARAMETERS_YML,
    "data/train.csv": trainingCsv(300),
    "tsconfig.json": TSCONFIG,
    ".gitignore": GITIGNORE,
    "README.md": named(README),
  };
}
