/**
 * The signature model: MLflow's column and param types and the parts of a signature, in memory
 * and as `MLmodel` stores it. Reading and writing MLflow's form is in `mlflow-signature.ts`,
 * inference from example data in `infer-signature.ts`.
 */

/** MLflow's column types, in MLflow's order. */
export const COLUMN_TYPES = ["boolean", "integer", "long", "float", "double", "string", "binary", "datetime"] as const;

/** An MLflow column type: `integer` is int32, `long` int64, `float` float32, `double` float64. */
export type ColumnType = (typeof COLUMN_TYPES)[number];

/** The types a param may have: every column type but `binary`. */
export const PARAM_TYPES = ["boolean", "integer", "long", "float", "double", "string", "datetime"] as const;

/** An MLflow param type. */
export type ParamType = (typeof PARAM_TYPES)[number];

/** One input or output column. Without `name` the column is positional (an unnamed schema). */
export interface ColumnSpec {
  name?: string;
  type: ColumnType;
  required: boolean;
}

/**
 * One runtime param. `default` holds the value the pipeline gets when a request leaves the param
 * out (`Date`s for `datetime`, a list for `shape: [-1]`, or `null`).
 */
export interface ParamSpec {
  name: string;
  type: ParamType;
  default: unknown;
  shape: null | [-1];
}

/** A model signature: input columns, output columns and params; each part may be absent (`null`). */
export interface Signature {
  inputs: ColumnSpec[] | null;
  outputs: ColumnSpec[] | null;
  params: ParamSpec[] | null;
}

/** A signature as `MLmodel` stores it: each part a JSON string written by Python's `json.dumps`, or null. */
export interface MlflowSignature {
  inputs: string | null;
  outputs: string | null;
  params: string | null;
}
