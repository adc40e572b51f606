import { parse as parseYaml } from "yaml";
import { PackagingError } from "./errors.js";

/** `a.b.c=v` overrides (values read as YAML scalars: `0.5` a number, `true` a boolean) merged into parameters. */
export function applyParamOverrides(params: Record<string, unknown>, overrides: readonly string[]): Record<string, unknown> {
  const out = structuredClone(params);
  for (const item of overrides) {
    const eq = item.indexOf("=");
    if (eq <= 0) throw new PackagingError(`Invalid --params entry ${JSON.stringify(item)}: write key=value, e.g. --params model.lr=0.1.`, { code: "INVALID_PARAMS" });
    const key = item.slice(0, eq);
    let value: unknown;
    try {
      value = parseYaml(item.slice(eq + 1));
    } catch {
      value = item.slice(eq + 1);
    }
    setPath(out, key, value ?? null);
  }
  return out;
}

/** Sets `a.b.c` in a nested object, creating objects on the way. */
export function setPath(target: Record<string, unknown>, key: string, value: unknown): void {
  const parts = key.split(".");
  if (parts.some((p) => p === "")) throw new PackagingError(`Invalid parameter name ${JSON.stringify(key)}.`, { code: "INVALID_PARAMS" });
  let node = target;
  for (const part of parts.slice(0, -1)) {
    const next = node[part];
    if (next === null || typeof next !== "object" || Array.isArray(next)) node[part] = {};
    node = node[part] as Record<string, unknown>;
  }
  node[parts.at(-1) as string] = value;
}

/** Reads `a.b.c` from a nested object. */
export function getPath(source: Record<string, unknown>, key: string): { found: boolean; value: unknown } {
  let node: unknown = source;
  for (const part of key.split(".")) {
    if (node === null || typeof node !== "object" || !Object.prototype.hasOwnProperty.call(node, part)) return { found: false, value: undefined };
    node = (node as Record<string, unknown>)[part];
  }
  return { found: true, value: node };
}

/** Parameters flattened with dots, as logged to a run (`model.lr` → 0.1); lists and scalars are leaves. */
export function flattenParams(params: Record<string, unknown>, prefix = ""): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(params)) {
    const key = prefix === "" ? k : `${prefix}.${k}`;
    if (v !== null && typeof v === "object" && !Array.isArray(v) && !(v instanceof Date)) Object.assign(out, flattenParams(v as Record<string, unknown>, key));
    else out[key] = v;
  }
  return out;
}
