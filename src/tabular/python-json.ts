/**
 * JSON as Python's `json.dumps` writes it, byte for byte, for the signature strings of `MLmodel`
 * (MLflow writes them with Python; pipeserve writes the same bytes); and values as Python's `str()`
 * prints them, for messages worded as MLflow's.
 */
import { formatIsoDateTimePython } from "./cell-codecs.js";
import { SchemaError } from "./errors.js";
import { pyRepr, showValue } from "./messages.js";
import type { ParamType } from "./signature.js";

const NON_ASCII = /[\u007f-\uffff]/g;

/** A JSON string literal as Python's `json.dumps` writes it (`ensure_ascii`: non-ASCII as `\uXXXX`). */
export function pyJsonString(text: string): string {
  return JSON.stringify(text).replace(NON_ASCII, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/**
 * Python's `repr(float)`: the shortest round-tripping digits (as JS), but fixed notation only for
 * exponents -4 to 15, a `.0` on whole numbers, and two-digit exponents (`1e-05`, `1e+16`).
 */
function pyFloatRepr(value: number): string {
  if (Number.isNaN(value)) return "nan";
  if (!Number.isFinite(value)) return value > 0 ? "inf" : "-inf";
  if (Object.is(value, -0)) return "-0.0";
  const [mantissa = "", exponentText = "0"] = value.toExponential().split("e");
  const exponent = Number(exponentText);
  const sign = mantissa.startsWith("-") ? "-" : "";
  const digits = mantissa.replace("-", "").replace(".", "");
  if (exponent >= -4 && exponent <= 15) {
    if (exponent < 0) return `${sign}0.${"0".repeat(-exponent - 1)}${digits}`;
    const whole = digits.slice(0, exponent + 1).padEnd(exponent + 1, "0");
    const fraction = digits.slice(exponent + 1);
    return `${sign}${whole}.${fraction === "" ? "0" : fraction}`;
  }
  const head = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
  const exp = Math.abs(exponent).toString().padStart(2, "0");
  return `${sign}${head}e${exponent < 0 ? "-" : "+"}${exp}`;
}

/** One param value as `json.dumps` writes it, given the param's type (floats keep their `.0`). */
export function pyJsonValue(value: unknown, type: ParamType, where: string): string {
  if (value === null || value === undefined) return "null";
  if (Array.isArray(value)) return `[${value.map((v) => pyJsonValue(v, type, where)).join(", ")}]`;
  switch (typeof value) {
    case "string":
      return pyJsonString(value);
    case "boolean":
      return value ? "true" : "false";
    case "bigint":
      return value.toString();
    case "number":
      if (!Number.isFinite(value)) {
        throw new SchemaError(`${where} has the default ${value}, which JSON cannot carry. Use a finite number or null.`);
      }
      if (type === "float" || type === "double") return pyFloatRepr(value);
      return Number.isSafeInteger(value) ? String(value) : BigInt(value).toString();
    default:
      if (value instanceof Date) return pyJsonString(formatIsoDateTimePython(value));
      throw new SchemaError(`${where} has the default ${showValue(value)}, which a param cannot hold. Use a ${type} value.`);
  }
}

/**
 * A value as Python's `str()` prints it once `json` has read it (what MLflow's messages show):
 * `None`, `True`, `1`, `1.5`, `nan`, a string as is, `['a', 'b']`, `{'k': 1}`. With `type` float or
 * double a whole number is a float (`1.0`), as MLflow keeps a double param's default.
 */
export function pyStr(value: unknown, type?: ParamType): string {
  return typeof value === "string" ? value : pyReprOf(value, type);
}

function pyReprOf(value: unknown, type: ParamType | undefined): string {
  if (value === null || value === undefined) return "None";
  if (Array.isArray(value)) return `[${value.map((v) => pyReprOf(v, type)).join(", ")}]`;
  switch (typeof value) {
    case "string":
      return pyRepr(value);
    case "boolean":
      return value ? "True" : "False";
    case "bigint":
      return value.toString();
    case "number":
      return type === "float" || type === "double" || !Number.isInteger(value) ? pyFloatRepr(value) : String(value);
    case "object": {
      if (value instanceof Date) return formatIsoDateTimePython(value).replace("T", " ");
      const entries = Object.entries(value as Record<string, unknown>).map(([k, v]) => `${pyRepr(k)}: ${pyReprOf(v, type)}`);
      return `{${entries.join(", ")}}`;
    }
    default:
      return String(value);
  }
}
