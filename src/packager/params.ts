import { parse as parseYaml } from "yaml";
import { withParam } from "../runtime/index.js";
import { PackagingError } from "./errors.js";

/** `a.b.c=v` overrides (values read as YAML scalars: `0.5` a number, `true` a boolean) merged into parameters. */
export function applyParamOverrides(params: Record<string, unknown>, overrides: readonly string[]): Record<string, unknown> {
  let out: Record<string, unknown> = params;
  for (const item of overrides) {
    const eq = item.indexOf("=");
    if (eq <= 0)
      throw new PackagingError(`Invalid --params entry ${JSON.stringify(item)}: write key=value, e.g. --params model.lr=0.1.`, { code: "INVALID_PARAMS" });
    const key = item.slice(0, eq);
    let value: unknown;
    try {
      value = parseYaml(item.slice(eq + 1));
    } catch {
      value = item.slice(eq + 1);
    }
    if (key.split(".").some((p) => p === ""))
      throw new PackagingError(`Invalid parameter name ${JSON.stringify(key)} in --params: dotted names need a name on each side of every dot.`, {
        code: "INVALID_PARAMS",
      });
    out = withParam(out, key, value ?? null);
  }
  return out;
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
