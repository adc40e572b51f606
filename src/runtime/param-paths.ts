/**
 * Dotted parameter names (`model.lr`) over nested parameter objects, the one implementation for
 * the catalog (`params:model.lr`), packaging and prediction.
 */
import { isPlainObject } from "../util/index.js";

/** Reads `a.b.c` from nested parameters. */
export function getParam(params: unknown, key: string): { found: boolean; value: unknown } {
  let value: unknown = params;
  for (const part of key.split(".")) {
    if (!isPlainObject(value) || !Object.hasOwn(value, part)) return { found: false, value: undefined };
    value = value[part];
  }
  return { found: true, value };
}

/** A copy of `params` with `a.b.c` set; objects along the path are copied, the rest is shared. */
export function withParam(params: Readonly<Record<string, unknown>>, key: string, value: unknown): Record<string, unknown> {
  const [head, ...rest] = key.split(".") as [string, ...string[]];
  const out: Record<string, unknown> = { ...params };
  if (rest.length === 0) out[head] = value;
  else out[head] = withParam(isPlainObject(params[head]) ? params[head] : {}, rest.join("."), value);
  return out;
}

/** Nested parameters from dotted names (`{"model.lr": 0.1}` → `{ model: { lr: 0.1 } }`). */
export function nestParams(flat: Readonly<Record<string, unknown>>): Record<string, unknown> {
  let out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(flat)) out = withParam(out, key, value);
  return out;
}
