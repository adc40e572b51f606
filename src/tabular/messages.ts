/**
 * Wording helpers for error messages (internal: not exported from the folder's index). Values are
 * shown as JSON, cut short, with their kind, so a message says exactly what arrived.
 */

const MAX_SHOWN = 60;

function clip(text: string): string {
  return text.length <= MAX_SHOWN ? text : `${text.slice(0, MAX_SHOWN - 1)}…`;
}

function json(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/** A value as a message shows it: `"abc" (a string)`, `1.7`, `null`, `[1,2] (a list)`. */
export function showValue(value: unknown): string {
  switch (typeof value) {
    case "string":
      return `${clip(JSON.stringify(value))} (a string)`;
    case "number":
      return String(value);
    case "boolean":
      return `${String(value)} (a boolean)`;
    case "bigint":
      return `${value.toString()} (a bigint)`;
    case "undefined":
      return "nothing";
    case "object": {
      if (value === null) return "null";
      if (value instanceof Date) return `the date ${Number.isNaN(value.getTime()) ? "Invalid Date" : value.toISOString()}`;
      if (value instanceof Uint8Array) return `${value.byteLength} bytes`;
      if (Array.isArray(value)) return `${clip(json(value))} (a list)`;
      return `${clip(json(value))} (an object)`;
    }
    default:
      return typeof value;
  }
}

/** Python's name for the JSON kind of a value, as MLflow's messages print it (`list`, `dict`, `str`). */
export function pythonTypeName(value: unknown): string {
  if (value === null || value === undefined) return "NoneType";
  if (Array.isArray(value)) return "list";
  switch (typeof value) {
    case "string":
      return "str";
    case "number":
      return Number.isInteger(value) ? "int" : "float";
    case "boolean":
      return "bool";
    case "object":
      return "dict";
    default:
      return typeof value;
  }
}

/** Python's `repr()` of a string: `'a'`, or `"it's"` when it holds a single quote. */
export function pyRepr(text: string): string {
  if (text.includes("'") && !text.includes('"')) return `"${text.replace(/\\/g, "\\\\")}"`;
  return `'${text.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;
}

/** Python's `repr()` of a list of strings: `['a', 'b']`. */
export function pyList(texts: readonly string[]): string {
  return `[${texts.map(pyRepr).join(", ")}]`;
}
