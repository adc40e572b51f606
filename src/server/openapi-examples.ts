import type { PipelineModel } from "../loader/index.js";
import type { ColumnSpec, ColumnType, Signature } from "../tabular/index.js";
import { tensorsOf } from "./open-inference.js";
import { columnName, jsonDefault } from "./openapi-schemas.js";

/** An input example as `{columns, data}` (MLflow's split orient), and whether it was made up from the signature. */
export interface SplitExample {
  columns: string[];
  data: unknown[][];
  generated: boolean;
}

/** A value of each type for an example the model did not bring. */
const SAMPLE_VALUES: Readonly<Record<ColumnType, unknown>> = {
  boolean: true,
  integer: 1,
  long: 1,
  float: 0.5,
  double: 0.5,
  string: "text",
  binary: "cGlwZXNlcnZl",
  datetime: "2024-01-01T00:00:00Z",
};

/**
 * The model's input example; without one, a row made up from the signature's types (so every
 * documented request can still be tried); none without input columns.
 */
export function splitExample(model: PipelineModel): SplitExample | undefined {
  if (model.inputExample) return { ...model.inputExample, generated: false };
  const inputs = model.signature?.inputs;
  if (!inputs || inputs.length === 0) return undefined;
  return { columns: inputs.map(columnName), data: [inputs.map((c) => SAMPLE_VALUES[c.type])], generated: true };
}

/** Each param's default, as JSON; none when no param has one. */
export function paramsExample(signature: Signature | null): Record<string, unknown> | undefined {
  const entries = (signature?.params ?? []).filter((p) => p.default !== null && p.default !== undefined).map((p) => [p.name, jsonDefault(p.default)]);
  return entries.length > 0 ? Object.fromEntries(entries) : undefined;
}

function records(example: SplitExample): Record<string, unknown>[] {
  return example.data.map((row) => Object.fromEntries(example.columns.map((name, i) => [name, row[i] ?? null])));
}

function columnsOf(example: SplitExample): Record<string, unknown[]> {
  return Object.fromEntries(example.columns.map((name, i) => [name, example.data.map((row) => row[i] ?? null)]));
}

/** An OpenAPI Example Object. */
interface ExampleObject {
  summary: string;
  value: unknown;
}

/** The example in each MLflow JSON form (params with their defaults on the first). */
export function jsonBodyExamples(example: SplitExample, params: Record<string, unknown> | undefined): Record<string, ExampleObject> {
  const from = example.generated ? "a row made up from the signature's types" : "the model's input example";
  return {
    dataframe_split: {
      summary: `dataframe_split: ${from}`,
      value: { dataframe_split: { columns: example.columns, data: example.data }, ...(params ? { params } : {}) },
    },
    dataframe_records: { summary: `dataframe_records: ${from}`, value: { dataframe_records: records(example) } },
    instances: { summary: `instances: ${from}`, value: { instances: records(example) } },
    inputs: { summary: `inputs (columns): ${from}`, value: { inputs: columnsOf(example) } },
  };
}

/** The example as a KServe V1 predict request: the rows as `instances`, the params' defaults. */
export function v1PredictExample(example: SplitExample, params: Record<string, unknown> | undefined): ExampleObject {
  const instances = jsonBodyExamples(example, params)["instances"] as ExampleObject;
  return { ...instances, value: { ...(instances.value as object), ...(params ? { params } : {}) } };
}

function csvCell(value: unknown): string {
  if (value === null || value === undefined) return "";
  const text = String(value);
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** The example as CSV: a header row, an empty cell for a missing value. */
export function csvExample(example: SplitExample): string {
  return [example.columns, ...example.data].map((row) => row.map(csvCell).join(",")).join("\n") + "\n";
}

/** The example as JSON Lines: one row object per line. */
export function ndjsonExample(example: SplitExample): string {
  return records(example)
    .map((r) => JSON.stringify(r))
    .join("\n")
    .concat("\n");
}

/** The example as an Open Inference infer request: one tensor per column, the params as request parameters. */
export function inferExample(example: SplitExample, inputs: readonly ColumnSpec[] | null, params: Record<string, unknown> | undefined): unknown {
  const datatypeOf = new Map(tensorsOf(inputs).map((t) => [t.name, t.datatype]));
  const tensors = example.columns.map((name, i) => {
    const data = example.data.map((row) => row[i] ?? null);
    const datatype = datatypeOf.get(name) ?? (typeof data[0] === "number" ? "FP64" : typeof data[0] === "boolean" ? "BOOL" : "BYTES");
    return { name, shape: [data.length], datatype, data };
  });
  return { inputs: tensors, ...(params ? { parameters: params } : {}) };
}
