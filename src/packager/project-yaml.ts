import { readFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import {
  type Document,
  type DocumentOptions,
  LineCounter,
  type ScalarTag,
  type ParseOptions,
  type SchemaOptions,
  isAlias,
  isMap,
  isScalar,
  isSeq,
  parseDocument,
} from "yaml";
import { PackagingError } from "./errors.js";

/**
 * `!!float 10` as PyYAML reads it (10.0): the library's 1.1 float tags only resolve text that
 * looks like a float, so a whole number forced to a float was refused (found by a review). Used
 * for an explicit tag only (no `test`); underscores, `.inf` and `.nan` as YAML 1.1 writes them.
 */
const EXPLICIT_FLOAT: ScalarTag = {
  tag: "tag:yaml.org,2002:float",
  resolve(text, onError) {
    const plain = text.replace(/_/g, "");
    if (/^[-+]?\.inf$/i.test(plain)) return plain.startsWith("-") ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
    if (/^\.nan$/i.test(plain)) return Number.NaN;
    const n = plain.trim() === "" ? Number.NaN : Number(plain);
    if (Number.isNaN(n)) onError(`"${text}" is not a number, so it cannot be a !!float`);
    return n;
  },
};

const UNTAKEN_TAGS = new Set(["tag:yaml.org,2002:binary", "tag:yaml.org,2002:omap", "tag:yaml.org,2002:pairs", "tag:yaml.org,2002:set"]);

/**
 * How a project's YAML is read: YAML 1.1, as Kedro reads it through PyYAML (`2024-01-01` a date,
 * `0755` octal, `yes`/`no`/`on`/`off` booleans), with PyYAML's booleans exactly: the YAML 1.1
 * schema of the `yaml` library also takes `y`, `Y`, `n` and `N` for booleans, which PyYAML keeps as
 * text. NB: found by an audit: a parameter or dataset named `y` or `n` (a label, a count) became
 * "true" or "false". `--params` values are read the same way (params.ts).
 */
export const PROJECT_YAML: ParseOptions & DocumentOptions & SchemaOptions = {
  version: "1.1",
  // NB: !!binary, !!omap, !!pairs and !!set are dropped: what they make (bytes, ordered pairs, a set)
  // is no parameter or catalog value (found by an audit: a set vanished, bytes became b.0, b.1…).
  // Left unresolved, they are refused with any tag the schema does not know (see readYamlFile).
  customTags: (tags) => [
    ...tags
      .filter((tag) => typeof tag !== "object" || !UNTAKEN_TAGS.has(tag.tag))
      .map((tag) => {
        if (typeof tag !== "object" || tag.tag !== "tag:yaml.org,2002:bool" || !("test" in tag) || tag.test === undefined) return tag;
        const truthy = tag.test.test("true");
        return { ...tag, test: truthy ? /^(?:[Yy]es|YES|[Tt]rue|TRUE|[Oo]n|ON)$/ : /^(?:[Nn]o|NO|[Ff]alse|FALSE|[Oo]ff|OFF)$/ };
      }),
    EXPLICIT_FLOAT,
  ],
  // NB: keys are checked here, in linear time (`checkKeys`): the library's check compares each key
  // with those before it, so a catalog of 40,000 entries took 17 s to read (found by an audit).
  uniqueKeys: false,
};

/**
 * Reads a project's YAML file (`what` names it in messages) as a mapping; a missing file is an
 * empty one. `floats` collects the dotted names of scalars written as decimals.
 * @throws PackagingError INVALID_PROJECT naming the file: YAML that does not parse, a document
 * that is not a mapping, or two keys of a mapping that read as the same name.
 */
export async function readYamlFile(path: string, what: string, floats?: Set<string>): Promise<Record<string, unknown>> {
  if (!existsSync(path)) return {};
  const lines = new LineCounter();
  const doc = parseDocument(await readFile(path, "utf8"), { ...PROJECT_YAML, lineCounter: lines });
  const invalid = (message: string, cause?: unknown): PackagingError =>
    new PackagingError(`${what} (${path}) ${message}`, { code: "INVALID_PROJECT", ...(cause === undefined ? {} : { cause }) });
  if (doc.errors.length > 0) throw invalid(`is not valid YAML: ${doc.errors[0]?.message ?? "parse error"}`, doc.errors[0]);
  // NB: a tag the schema does not take (`!custom`, `!!js/function`, `!!set`…) was read as plain text without a word.
  const tag = doc.warnings.find((w) => w.code === "TAG_RESOLVE_FAILED");
  if (tag) {
    const line = lines.linePos(tag.pos[0]).line;
    throw invalid(
      `uses a YAML tag pipeserve does not take, on line ${line} (${tag.message.replace(/\s+at line.*$/s, "")}): a project's YAML holds text, numbers, booleans, dates, lists and mappings. Remove the tag.`,
    );
  }
  checkKeys(doc.contents, "", (offset) => lines.linePos(offset).line, invalid);
  let value: unknown;
  try {
    value = doc.toJS();
  } catch (error) {
    // NB: an alias bomb ("Excessive alias count …") said nothing of the file it was in.
    throw invalid(`cannot be read: ${(error as Error).message}`, error);
  }
  if (value === null || value === undefined) return {};
  if (typeof value !== "object" || Array.isArray(value)) throw invalid("must be a YAML mapping.");
  if (floats) collectFloats(doc.contents, "", floats, doc);
  return value as Record<string, unknown>;
}

/** The name a mapping's key becomes in JavaScript (every key is a string there). */
function keyName(key: unknown): string {
  // NB: the library makes a merge key's value a symbol.
  if (isScalar(key) && typeof key.value === "symbol") return "<<";
  return isScalar(key) ? String(key.value) : String(key);
}

/**
 * Refuses two keys of one mapping that read as the same name: written twice, or two spellings of
 * one name (`yes` and `"true"`, `1` and `"1"`), of which JavaScript would keep the last without a
 * word. A merge key (`<<`) may repeat.
 */
function checkKeys(node: unknown, prefix: string, lineOf: (offset: number) => number, invalid: (message: string) => Error): void {
  if (isSeq(node)) for (const item of node.items) checkKeys(item, prefix, lineOf, invalid);
  if (!isMap(node)) return;
  const seen = new Map<string, unknown>();
  for (const pair of node.items) {
    const name = keyName(pair.key);
    const path = prefix === "" ? name : `${prefix}.${name}`;
    const first = seen.get(name);
    if (first !== undefined && name !== "<<") {
      const at = (key: unknown): string => {
        const range = (key as { range?: [number, number, number] } | null)?.range;
        const source = isScalar(key) && typeof key.source === "string" ? JSON.stringify(key.source) : JSON.stringify(name);
        return range ? `${source} on line ${lineOf(range[0])}` : source;
      };
      throw invalid(`has the key "${path}" twice (${at(first)} and ${at(pair.key)}): keep one, or quote the one meant as text.`);
    }
    seen.set(name, pair.key);
    checkKeys(pair.value, path, lineOf, invalid);
  }
}

/**
 * Records the dotted paths of scalars written as decimals, which JavaScript numbers cannot tell
 * from integers; through aliases and merge keys (`<<: *defaults`) too, whose keys the mapping takes
 * unless it sets them itself (found by an audit: a merged `k: 2.0` was logged 2 and typed long).
 */
function collectFloats(node: unknown, prefix: string, out: Set<string>, doc: Document, depth = 0): void {
  // NB: aliases are followed a bounded number of times (an alias bomb is refused before this runs).
  if (depth > 50) return;
  const target = isAlias(node) ? node.resolve(doc) : node;
  if (!isMap(target)) return;
  const own = new Set(target.items.map((pair) => keyName(pair.key)));
  for (const pair of target.items) {
    const key = keyName(pair.key);
    if (key === "<<") {
      const sources = isSeq(pair.value) ? pair.value.items : [pair.value];
      const merged = new Set<string>();
      for (const source of sources) collectFloats(source, prefix, merged, doc, depth + 1);
      for (const path of merged) if (!own.has(path.slice(prefix === "" ? 0 : prefix.length + 1).split(".")[0] as string)) out.add(path);
      continue;
    }
    const path = prefix === "" ? key : `${prefix}.${key}`;
    const value = isAlias(pair.value) ? pair.value.resolve(doc) : pair.value;
    if (isScalar(value) && typeof value.value === "number" && (/[.eEnN]/.test(value.source ?? "") || value.tag === "tag:yaml.org,2002:float")) out.add(path);
    else collectFloats(value, path, out, doc, depth + 1);
  }
}
