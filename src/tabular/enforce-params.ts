import { isPlainObject } from "../util/index.js";
import { hasSubMillisecondFraction, parseIsoDateTime } from "./cell-codecs.js";
import { FLOAT32_MAX, INT32_MAX, INT32_MIN, INT64_MAX, INT64_MIN, SAFE_MAX, SAFE_MIN, isMissing } from "./enforce-common.js";
import { SchemaError } from "./errors.js";
import { MLFLOW_WORDING, pyRepr, pythonClass, pythonTypeName, showValue } from "./messages.js";
import { pyStr } from "./python-json.js";
import type { ParamSpec, ParamType } from "./signature.js";

/** What `enforceParams` hands back: every declared param (defaults filled), and the unknown keys it ignored. */
export interface EnforcedParams {
  params: Record<string, unknown>;
  ignored: string[];
}

/**
 * The outcome of checking one param value: the value to use, or why it was refused — pipeserve's
 * `reason`, MLflow's own words for the same refusal in `mlflow` when MLflow refuses it too, and
 * `shape` when the value is not the 1-D list a `shape: [-1]` param takes.
 */
export type ParamCheck = { ok: true; value: unknown } | { ok: false; reason: string; mlflow?: string; shape?: true };

/** MLflow's words for a value its `_enforce_param_datatype` refuses. */
function mlflowRefusal(type: ParamType, value: unknown): string {
  if (type === "datetime") return `Failed to convert value \`${pyStr(value)}\` from type \`${pythonClass(value)}\` to \`${type}\``;
  if (typeof value === "object" && value !== null) return `Value must be a scalar for type \`${type}\`, got \`${pyStr(value)}\``;
  return `Can not safely convert \`${pythonClass(value)}\` to \`${type}\` for value \`${pyStr(value)}\``;
}

const PARAM_EXPECTED: Readonly<Record<ParamType, string>> = {
  boolean: "true or false",
  integer: "a whole number (int32)",
  long: "a whole number",
  float: "a number",
  double: "a number",
  string: "a string",
  datetime: 'an ISO-8601 date-time string such as "2023-06-26T00:00:00"',
};

function checkScalarParam(type: ParamType, value: unknown): ParamCheck {
  switch (type) {
    case "string":
      if (typeof value === "string") return { ok: true, value };
      break;
    case "boolean":
      if (typeof value === "boolean") return { ok: true, value };
      break;
    case "integer":
      if (typeof value === "number" && Number.isInteger(value) && value >= INT32_MIN && value <= INT32_MAX) return { ok: true, value };
      if (typeof value === "bigint" && value >= BigInt(INT32_MIN) && value <= BigInt(INT32_MAX)) return { ok: true, value: Number(value) };
      break;
    case "long":
      if (typeof value === "number" && Number.isInteger(value)) {
        if (Number.isSafeInteger(value)) return { ok: true, value };
        return { ok: false, reason: `got ${showValue(value)}, beyond the whole numbers a JSON number keeps exactly; expected ${PARAM_EXPECTED[type]}` };
      }
      if (typeof value === "bigint" && value >= INT64_MIN && value <= INT64_MAX) {
        return { ok: true, value: value >= SAFE_MIN && value <= SAFE_MAX ? Number(value) : value };
      }
      break;
    case "float":
    case "double":
      if (typeof value === "number") {
        // NB: NaN and ±Infinity are doubles (the bare tokens, or 1e400), as Python's json reads them; a float32 overflows sooner.
        if (type === "float" && Math.abs(value) > FLOAT32_MAX && Number.isFinite(value))
          return { ok: false, reason: `got ${showValue(value)}, out of the float32 range (±3.4e38); expected ${PARAM_EXPECTED[type]}` };
        return { ok: true, value };
      }
      if (typeof value === "bigint" && value >= SAFE_MIN && value <= SAFE_MAX) return { ok: true, value: Number(value) };
      break;
    case "datetime":
      if (value instanceof Date && !Number.isNaN(value.getTime())) return { ok: true, value };
      if (typeof value === "string") {
        const date = parseIsoDateTime(value);
        if (date !== null && hasSubMillisecondFraction(value))
          return { ok: false, reason: `got ${showValue(value)}, finer than a millisecond, which pipeserve's dates cannot hold; round it to milliseconds` };
        if (date !== null) return { ok: true, value: date };
      }
      break;
  }
  return { ok: false, reason: `got ${showValue(value)}, expected ${PARAM_EXPECTED[type]}`, mlflow: mlflowRefusal(type, value) };
}

/**
 * Checks one param value against its type and shape: the exact type or a widening (integer →
 * long → float → double; an integral number is fine for `long`/`integer`), ISO text → `Date` for
 * `datetime`; `shape: [-1]` takes a 1-D list whose every element passes. `null` passes (a
 * missing value). Used for request params and for defaults read from `MLmodel`.
 */
export function checkParamValue(type: ParamType, shape: null | readonly [-1], value: unknown): ParamCheck {
  if (value === null) return { ok: true, value: null };
  if (shape === null) {
    if (Array.isArray(value)) {
      return { ok: false, reason: `got ${showValue(value)}, expected a single value: ${PARAM_EXPECTED[type]}`, mlflow: mlflowRefusal(type, value) };
    }
    return checkScalarParam(type, value);
  }
  if (!Array.isArray(value) || value.some(Array.isArray)) {
    return { ok: false, reason: `got ${showValue(value)}, expected a list (shape [-1]) of ${type} values`, shape: true };
  }
  let out: unknown[] | undefined;
  for (let i = 0; i < value.length; i++) {
    const element: unknown = value[i];
    const check = checkScalarParam(type, element);
    if (!check.ok) return { ...check, reason: `element ${i} of the list ${check.reason}` };
    if (check.value !== element) (out ??= value.slice())[i] = check.value;
  }
  return { ok: true, value: out ?? value.slice() };
}

/** How MLflow prints a param spec in its messages (`repr(ParamSpec)`): `'n': long (default: 1)`, `... (shape: (-1,))` for a list. */
function mlflowSpec(spec: ParamSpec): string {
  return `${pyRepr(spec.name)}: ${spec.type} (default: ${pyStr(spec.default ?? null, spec.type)})${spec.shape === null ? "" : " (shape: (-1,))"}`;
}

/** The number of list levels a value has, as numpy counts them (`ndim`), following first elements. */
function ndim(value: unknown): number {
  let n = 0;
  for (let v = value; Array.isArray(v); v = v[0]) n++;
  return n;
}

/**
 * One refused param as MLflow words it (`ParamSpec.validate_type_and_shape`), then pipeserve's
 * reason: `Failed to validate type and shape for 'n': long (default: 1), error: Can not safely
 * convert ... : got 1.5, expected a whole number`.
 */
function paramProblem(spec: ParamSpec, value: unknown, check: { reason: string; mlflow?: string; shape?: true }): string {
  if (check.shape) {
    return `Value must be a 1D array with shape (-1,) for param ${mlflowSpec(spec)}, received ${pythonTypeName(value)} with ndim ${ndim(value)}: ${check.reason}`;
  }
  return `Failed to validate type and shape for ${mlflowSpec(spec)}, error: ${check.mlflow ? `${check.mlflow}: ` : ""}${check.reason}`;
}

/** A fresh copy of a default, so a node that changes its param cannot change the next request's. */
function freshDefault(value: unknown): unknown {
  if (value instanceof Date) return new Date(value.getTime());
  if (Array.isArray(value)) return value.map(freshDefault);
  return value;
}

/**
 * The names among `params` a model with `schema` ignores: those it does not declare, `runner` aside
 * (it chooses the runner). What enforceParams reports as `ignored`, for a caller that only warns.
 */
export function ignoredParams(params: Readonly<Record<string, unknown>>, schema: readonly ParamSpec[] | null): string[] {
  return undeclaredKeys(params, new Set((schema ?? []).map((s) => s.name)));
}

function undeclaredKeys(params: Readonly<Record<string, unknown>>, declared: ReadonlySet<string>): string[] {
  return Object.keys(params).filter((key) => key !== "runner" && !declared.has(key));
}

/**
 * Checks request params against the model's params schema (PROTOCOL.md §4) and returns what the
 * pipeline receives: every declared param, in schema order, with the request's value or its
 * default (a key given as `null` also takes the default). Unknown keys are ignored and named in
 * `ignored` (for the `X-Pipeserve-Ignored-Params` header and the log). A model without a params
 * schema (`schema` null) ignores every key.
 *
 * `runner` is reserved: when given and not declared, it is passed on as-is in `params` (a string
 * is required); whether the runner is allowed is checked elsewhere. When declared, it is checked
 * like any other param and gets its default.
 *
 * @throws SchemaError (INVALID_PARAMETER_VALUE) when params is not an object
 *   (`Parameters must be a dictionary. Got type 'list'.`), and listing every bad value at once,
 *   each as MLflow words it, then why: `Invalid parameters found: Failed to validate type and shape
 *   for 'n': long (default: 1), error: Can not safely convert ...: got 1.5, expected a whole number; ...`.
 */
export function enforceParams(params: Record<string, unknown> | null | undefined, schema: readonly ParamSpec[] | null): EnforcedParams {
  if (params !== null && params !== undefined && !isPlainObject(params)) {
    throw new SchemaError(`${MLFLOW_WORDING.paramsNotAnObject} Got type '${pythonTypeName(params)}'. Send params as a JSON object such as {"threshold": 0.5}.`);
  }
  const given: Record<string, unknown> = params ?? {};
  const out: Record<string, unknown> = {};
  const problems: string[] = [];
  const declared = new Set<string>();
  for (const spec of schema ?? []) {
    declared.add(spec.name);
    const value = Object.hasOwn(given, spec.name) ? given[spec.name] : undefined;
    if (isMissing(value)) {
      out[spec.name] = freshDefault(spec.default ?? null);
      continue;
    }
    const check = checkParamValue(spec.type, spec.shape, value);
    if (check.ok) out[spec.name] = check.value;
    else problems.push(paramProblem(spec, value, check));
  }
  const runner = given["runner"];
  if (!declared.has("runner") && Object.hasOwn(given, "runner") && !isMissing(runner)) {
    if (typeof runner === "string") out["runner"] = runner;
    else problems.push(`'runner' got ${showValue(runner)}, expected the name of a runner such as "SequentialRunner"`);
  }
  const ignored = undeclaredKeys(given, declared);
  if (problems.length > 0) {
    throw new SchemaError(`${MLFLOW_WORDING.invalidParams} ${problems.join("; ")}. Fix these values, or leave them out to use the defaults.`);
  }
  return { params: out, ignored };
}
