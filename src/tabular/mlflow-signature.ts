/** Signatures to and from MLflow's form in `MLmodel`: JSON strings as Python's `json.dumps` writes them. */
// NB: zod's v3 API (shipped and kept in zod 4): it loads in ~15 ms where zod 4's takes ~70 ms, and
// every model load reads these files (bench/startup).
import { z } from "zod/v3";
import { checkParamValue } from "./enforce-params.js";
import { SchemaError } from "./errors.js";
import { pyJsonString, pyJsonValue } from "./python-json.js";
import {
  COLUMN_TYPES,
  type ColumnSpec,
  type ColumnType,
  type MlflowSignature,
  PARAM_TYPES,
  type ParamSpec,
  type ParamType,
  type Signature,
} from "./signature.js";

const ColumnSpecJson = z
  .object({
    type: z.string(),
    name: z.string().optional(),
    required: z.boolean().optional(),
  })
  .passthrough();

const ParamSpecJson = z
  .object({
    name: z.string(),
    type: z.string(),
    default: z.unknown(),
    shape: z.unknown(),
  })
  .passthrough();

const MlflowSignatureJson = z
  .object({
    inputs: z.string().nullish(),
    outputs: z.string().nullish(),
    params: z.string().nullish(),
  })
  .passthrough();

const isColumnType = (type: string): type is ColumnType => (COLUMN_TYPES as readonly string[]).includes(type);
const isParamType = (type: string): type is ParamType => (PARAM_TYPES as readonly string[]).includes(type);

// Writing

function columnSpecToJson(spec: ColumnSpec): string {
  const name = spec.name === undefined ? "" : `, "name": ${pyJsonString(spec.name)}`;
  return `{"type": ${pyJsonString(spec.type)}${name}, "required": ${spec.required ? "true" : "false"}}`;
}

function paramSpecToJson(spec: ParamSpec): string {
  const where = `Param "${spec.name}"`;
  const check = checkParamValue(spec.type, spec.shape, spec.default);
  if (!check.ok) throw new SchemaError(`${where} has an invalid default: ${check.reason}. Fix the default or the param's type.`);
  const shape = spec.shape === null ? "null" : "[-1]";
  return `{"name": ${pyJsonString(spec.name)}, "default": ${pyJsonValue(spec.default, spec.type, where)}, "shape": ${shape}, "type": ${pyJsonString(spec.type)}}`;
}

/**
 * The signature as `MLmodel` stores it, byte for byte what MLflow writes: JSON strings with
 * Python's `json.dumps` spacing (`", "`, `": "`) and `ensure_ascii` escapes; column specs keyed
 * `type`, `name`, `required` (no `name` when unnamed); param specs keyed `name`, `default`,
 * `shape`, `type`. Defaults of `float`/`double` params are written as Python floats (`1.0`, not
 * `1`), those of `datetime` params as Python's `isoformat()` of the UTC time
 * (`"2023-06-26T00:00:00"`). Empty or null parts are written as `null`.
 *
 * @throws SchemaError for a param default that does not fit its type, or that JSON cannot carry (NaN).
 */
export function signatureToMlflow(signature: Signature): MlflowSignature {
  const columns = (specs: ColumnSpec[] | null): string | null => (specs && specs.length > 0 ? `[${specs.map(columnSpecToJson).join(", ")}]` : null);
  return {
    inputs: columns(signature.inputs),
    outputs: columns(signature.outputs),
    params: signature.params && signature.params.length > 0 ? `[${signature.params.map(paramSpecToJson).join(", ")}]` : null,
  };
}

// Reading

function parseJsonPart(text: string, part: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (cause) {
    throw new SchemaError(`signature.${part} is not valid JSON (${(cause as Error).message}). It must be the JSON string MLflow writes.`, {
      cause,
    });
  }
}

/** The first problems zod found, each where it is: `nodes.0.name: Required; …` (also the loader's model-file messages). */
export function describeZodIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((i) => `${i.path.length > 0 ? i.path.join(".") : "(top level)"}: ${i.message}`)
    .join("; ");
}

function parseColumnSpecs(text: string, part: "inputs" | "outputs"): ColumnSpec[] {
  const parsed = z.array(ColumnSpecJson).safeParse(parseJsonPart(text, part));
  if (!parsed.success) {
    throw new SchemaError(
      `signature.${part} is not a list of column specs like {"type": "long", "name": "a", "required": true}: ${describeZodIssues(parsed.error)}`,
    );
  }
  const specs = parsed.data.map((raw, i): ColumnSpec => {
    const where = `signature.${part}[${i}]${raw.name === undefined ? "" : ` ("${raw.name}")`}`;
    if (raw.type === "tensor") {
      throw new SchemaError(
        `${where} is a tensor spec. pipeserve signatures are column-based: declare one column per input, typed ${COLUMN_TYPES.join(", ")}.`,
      );
    }
    if (!isColumnType(raw.type)) {
      throw new SchemaError(`${where} has the unknown type "${raw.type}". Use one of: ${COLUMN_TYPES.join(", ")}.`);
    }
    const spec: ColumnSpec = { type: raw.type, required: raw.required ?? true };
    if (raw.name !== undefined) spec.name = raw.name;
    return spec;
  });
  const named = specs.filter((s) => s.name !== undefined).length;
  if (named !== 0 && named !== specs.length) {
    throw new SchemaError(`signature.${part} mixes named and unnamed columns. Name every column, or none (a positional schema).`);
  }
  const seen = new Set<string>();
  for (const spec of specs) {
    if (spec.name === undefined) continue;
    if (seen.has(spec.name)) throw new SchemaError(`signature.${part} declares the column "${spec.name}" twice. Column names must be unique.`);
    seen.add(spec.name);
  }
  return specs;
}

function parseParamSpecs(text: string): ParamSpec[] {
  const parsed = z.array(ParamSpecJson).safeParse(parseJsonPart(text, "params"));
  if (!parsed.success) {
    throw new SchemaError(
      `signature.params is not a list of param specs like {"name": "threshold", "default": 0.5, "shape": null, "type": "double"}: ${describeZodIssues(parsed.error)}`,
    );
  }
  const seen = new Set<string>();
  return parsed.data.map((raw): ParamSpec => {
    const where = `signature.params "${raw.name}"`;
    if (seen.has(raw.name)) throw new SchemaError(`${where} is declared twice. Param names must be unique.`);
    seen.add(raw.name);
    if (!isParamType(raw.type)) {
      const note = raw.type === "binary" ? " (binary is not a param type)" : "";
      throw new SchemaError(`${where} has the unknown type "${raw.type}"${note}. Use one of: ${PARAM_TYPES.join(", ")}.`);
    }
    let shape: null | [-1];
    if (raw.shape === null || raw.shape === undefined) shape = null;
    else if (Array.isArray(raw.shape) && raw.shape.length === 1 && raw.shape[0] === -1) shape = [-1];
    else throw new SchemaError(`${where} has the shape ${JSON.stringify(raw.shape)}. Use null (a single value) or [-1] (a list).`);
    const check = checkParamValue(raw.type, shape, raw.default ?? null);
    if (!check.ok) throw new SchemaError(`${where} has an invalid default: ${check.reason}. Fix the default in the signature.`);
    return { name: raw.name, type: raw.type, default: check.value, shape };
  });
}

/**
 * Reads the `signature` mapping of an `MLmodel` (`{inputs, outputs, params}`, each a JSON string
 * or null; a missing part is null). Defaults are checked against their params' types and
 * converted as a request value would be (`datetime` defaults become `Date`s).
 *
 * @throws SchemaError naming the part and the fix for invalid JSON, a wrong shape, an unknown
 *   type (tensor specs; `binary` params), mixed named/unnamed columns, duplicate names, a bad
 *   shape or a default that does not fit its type.
 */
export function signatureFromMlflow(value: unknown): Signature {
  const parsed = MlflowSignatureJson.safeParse(value);
  if (!parsed.success) {
    throw new SchemaError(
      `The MLmodel signature must be a mapping {inputs, outputs, params} of JSON strings (or null), as MLflow writes it: ${describeZodIssues(parsed.error)}`,
    );
  }
  const { inputs, outputs, params } = parsed.data;
  return {
    inputs: inputs === null || inputs === undefined ? null : parseColumnSpecs(inputs, "inputs"),
    outputs: outputs === null || outputs === undefined ? null : parseColumnSpecs(outputs, "outputs"),
    params: params === null || params === undefined ? null : parseParamSpecs(params),
  };
}
