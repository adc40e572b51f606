import { parseDocument } from "yaml";
import { getParam, withParam } from "../runtime/index.js";
import { PackagingError } from "./errors.js";
import { PROJECT_YAML } from "./project-yaml.js";

/** The words YAML reads as null, which set any parameter to none. */
const NULL_WORDS = new Set(["null", "Null", "NULL", "~"]);

/** A key before `=`: dotted names (`model.lr`), as `--params` takes them. */
const OVERRIDE_KEY = /^[^=,\s]+=/;

/**
 * The `key=value` overrides in `--params` entries: one per entry, or several in one entry
 * separated by commas as Kedro writes them (`a=1,b.c=2`) when every comma-separated piece starts
 * with a key; `tags=a,b` stays one override whose value holds a comma.
 */
export function splitParamOverrides(entries: readonly string[]): string[] {
  return entries.flatMap((entry) => {
    const pieces = entry.split(",");
    return pieces.length > 1 && pieces.every((p) => OVERRIDE_KEY.test(p)) ? pieces : [entry];
  });
}

/**
 * `a.b.c=v` overrides merged into parameters (values read as YAML scalars: `0.5` a number, `true`
 * a boolean). Each must name a parameter the project declares (conf/parameters.yml), and its value
 * must be of the declared value's kind: a typo or a wrong type would otherwise train, log and
 * register a model nobody asked for.
 * @throws PackagingError INVALID_PARAMS naming the entry and what to write instead.
 */
export function applyParamOverrides(params: Record<string, unknown>, overrides: readonly string[]): Record<string, unknown> {
  let out: Record<string, unknown> = params;
  for (const item of splitParamOverrides(overrides)) {
    const eq = item.indexOf("=");
    if (eq <= 0) throw invalidParams(`Invalid --params entry ${JSON.stringify(item)}: write key=value, e.g. --params model.lr=0.1.`);
    const key = item.slice(0, eq);
    const text = item.slice(eq + 1);
    if (key.split(".").some((p) => p === ""))
      throw invalidParams(`Invalid parameter name ${JSON.stringify(key)} in --params: dotted names need a name on each side of every dot.`);
    const declared = getParam(params, key);
    if (!declared.found) throw invalidParams(`--params ${item}: ${unknownParam(params, key)}`);
    out = withParam(out, key, overrideValue(item, text, declared.value));
  }
  return out;
}

function invalidParams(message: string): PackagingError {
  return new PackagingError(message, { code: "INVALID_PARAMS" });
}

/** Why `key` is not a parameter, with the declared name it is likely a typo of. */
function unknownParam(params: Record<string, unknown>, key: string): string {
  const names = Object.keys(flattenParams(params));
  const near = names.filter((n) => editDistance(n, key) <= (key.length <= 3 ? 1 : 2));
  const hint =
    near.length > 0 ? ` Did you mean ${near.map((n) => JSON.stringify(n)).join(" or ")}?` : names.length > 0 ? ` Its parameters: ${names.join(", ")}.` : "";
  return `the project declares no parameter "${key}" (conf/parameters.yml).${hint} A new parameter goes in conf/parameters.yml first, with its default.`;
}

/**
 * The value an override's text gives a declared parameter: the YAML scalar it reads as, when of
 * the declared value's kind (any number for a number; text for text, as written; a list or mapping
 * in YAML's flow form for one). A declared null takes anything; `null` sets any parameter to null.
 */
function overrideValue(item: string, text: string, declared: unknown): unknown {
  if (text.trim() === "") throw invalidParams(`--params ${item}: give a value after "=" (write null for none).`);
  // NB: a text parameter takes the text as written (found by an audit: `name=#1 choice` read as a
  // YAML comment and set it to null, `name=&a x` lost its anchor); only a null word sets it to none.
  if (typeof declared === "string") return NULL_WORDS.has(text.trim()) ? null : text;
  let value: unknown;
  try {
    // NB: as conf/parameters.yml is read (YAML 1.1 as PyYAML: dates, yes/no), so a declared date or boolean can be overridden.
    const doc = parseDocument(text, PROJECT_YAML);
    value = doc.errors.length > 0 ? text : doc.toJS();
  } catch {
    value = text;
  }
  if (value === null || declared === null || declared === undefined) return value ?? null;
  const kind = kindOf(declared);
  if (kindOf(value) === kind) return value;
  throw invalidParams(
    `--params ${item}: ${JSON.stringify(item.slice(0, item.indexOf("=")))} is ${kind} in conf/parameters.yml (${JSON.stringify(declared)}); ${JSON.stringify(text)} is not.`,
  );
}

function kindOf(value: unknown): string {
  if (Array.isArray(value)) return "a list";
  if (value instanceof Date) return "a date";
  if (typeof value === "object" && value !== null) return "a mapping";
  return `a ${typeof value}`;
}

/** Levenshtein distance: how many one-character edits turn `a` into `b`. */
function editDistance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++)
      next[j] = Math.min((row[j] as number) + 1, (next[j - 1] as number) + 1, (row[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1));
    row = next;
  }
  return row[b.length] as number;
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
