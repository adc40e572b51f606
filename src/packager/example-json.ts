import type { MlflowSignature } from "../tabular/index.js";

/**
 * A double whose value is whole. MLflow writes the input example from a pandas frame, where a
 * double column's 17 is the float 17.0 and `json.dumps` writes `17.0`; JavaScript has one number
 * type and would write `17`, which a reader typing columns from the example takes for an integer.
 */
class WholeDouble {
  constructor(readonly value: number) {}
}

/** Beyond this, Python writes floats with an exponent (`1e+16`) and JavaScript whole digits: both read back the same. */
const FIXED_LIMIT = 1e16;

function asDouble(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(asDouble);
  return typeof value === "number" && Number.isInteger(value) && Math.abs(value) < FIXED_LIMIT ? new WholeDouble(value) : value;
}

/** The names the signature's column or param specs (a JSON string in MLmodel) type as `double` or `float`. */
function doubleNames(specs: string | null | undefined): Set<string> {
  const out = new Set<string>();
  if (!specs) return out;
  for (const spec of JSON.parse(specs) as { name?: string; type?: string }[]) {
    if (spec.name !== undefined && (spec.type === "double" || spec.type === "float")) out.add(spec.name);
  }
  return out;
}

/** A split example (`{columns, data}`) with the whole values of the signature's double columns marked to be written `17.0`. */
export function markDoubleColumns(
  split: { columns: string[]; data: unknown[][] },
  signature: MlflowSignature | null,
): { columns: string[]; data: unknown[][] } {
  const doubles = doubleNames(signature?.inputs);
  if (doubles.size === 0) return split;
  const isDouble = split.columns.map((c) => doubles.has(c));
  return { columns: split.columns, data: split.data.map((row) => row.map((v, i) => (isDouble[i] ? asDouble(v) : v))) };
}

/** Params with the whole values of the signature's double params marked to be written `17.0`. */
export function markDoubleParams(params: Record<string, unknown>, signature: MlflowSignature | null): Record<string, unknown> {
  const doubles = doubleNames(signature?.params);
  return Object.fromEntries(Object.entries(params).map(([k, v]) => [k, doubles.has(k) ? asDouble(v) : v]));
}

/**
 * `JSON.stringify(value, null, indent)`, byte for byte, except that marked whole doubles are
 * written as Python writes floats (`17.0`). `value` is plain JSON data (see `toJsonValue`).
 */
export function stringifyExample(value: unknown, indent = 0): string {
  return write(value, indent, 0);
}

function write(value: unknown, indent: number, depth: number): string {
  if (value instanceof WholeDouble) return `${JSON.stringify(value.value)}.0`;
  const inner = indent > 0 ? `\n${" ".repeat(indent * (depth + 1))}` : "";
  const outer = indent > 0 ? `\n${" ".repeat(indent * depth)}` : "";
  if (Array.isArray(value)) {
    if (value.length === 0) return "[]";
    return `[${inner}${value.map((v) => write(v, indent, depth + 1)).join(`,${inner}`)}${outer}]`;
  }
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value).filter(([, v]) => v !== undefined);
    if (entries.length === 0) return "{}";
    const colon = indent > 0 ? ": " : ":";
    return `{${inner}${entries.map(([k, v]) => `${JSON.stringify(k)}${colon}${write(v, indent, depth + 1)}`).join(`,${inner}`)}${outer}}`;
  }
  return JSON.stringify(value) ?? "null";
}
