import { mkdir, readFile, stat } from "node:fs/promises";
import { dirname } from "node:path";
import { parse, stringify } from "yaml";
import { writeFileAtomic } from "../util/index.js";
import { StoreError } from "./errors.js";

/** Writes a file atomically, creating its folder first (the store makes its folders on demand). */
export async function writeAtomic(path: string, data: string | Uint8Array): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFileAtomic(path, data);
}

/**
 * YAML as MLflow's `yaml.safe_dump(default_flow_style=False)` writes it: block style, keys sorted.
 *
 * NB: YAML 1.1 rules, as PyYAML reads them: strings that 1.1 would take for timestamps, booleans
 * (`yes`, `no`) or numbers are quoted, and our own reader uses the same rules.
 */
export function toYaml(value: unknown): string {
  return stringify(value, { sortMapEntries: true, lineWidth: 0, nullStr: "null", version: "1.1" });
}

/** Writes a YAML file atomically. */
export async function writeYaml(path: string, value: unknown): Promise<void> {
  await writeAtomic(path, toYaml(value));
}

/** How many store files may be open for reading at once in the process, whatever reads them. */
export const MAX_OPEN_READS = 64;
let openReads = 0;
const waitingReads: (() => void)[] = [];

/**
 * Reads a store file as UTF-8 text, holding one of MAX_OPEN_READS slots while it is open. NB: the
 * store reads folders side by side (mapInOrder), and nested reads (a model's versions, each with
 * its tags) multiply: without one bound for the process, thousands of small files could be open
 * at once and meet EMFILE. Only these leaf reads take a slot, so nested ones cannot deadlock.
 */
export async function readText(path: string): Promise<string> {
  if (openReads < MAX_OPEN_READS) openReads++;
  else await new Promise<void>((slot) => waitingReads.push(slot));
  try {
    return await readFile(path, "utf8");
  } finally {
    // NB: the slot passes straight to the next waiting read, so no new read can take it between.
    const next = waitingReads.shift();
    if (next) next();
    else openReads--;
  }
}

/** Reads a YAML file as plain data (the `yaml` package never builds objects from tags). */
export async function readYaml(path: string): Promise<Record<string, unknown>> {
  const text = await readText(path);
  let value: unknown;
  try {
    value = parse(text, { version: "1.1" });
  } catch (cause) {
    throw new StoreError(`${path} is not valid YAML: ${(cause as Error).message}`, { code: "CORRUPT_STORE", cause });
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new StoreError(`${path} must hold a YAML mapping.`, { code: "CORRUPT_STORE" });
  }
  return value as Record<string, unknown>;
}

export async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

export async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

/** Rejects keys that would escape their folder or that MLflow cannot store. */
export function checkKey(kind: string, key: string): string {
  if (
    typeof key !== "string" ||
    key === "" ||
    key.length > 250 ||
    !/^[\w\-./ ]+$/.test(key) ||
    key.split("/").some((p) => p === "" || p === "." || p === "..")
  ) {
    throw new StoreError(
      `Invalid ${kind} name ${JSON.stringify(key)}: use letters, digits, _ - . / and spaces (at most 250 characters), with no empty, "." or ".." path parts.`,
      { code: "INVALID_PARAMETER_VALUE" },
    );
  }
  return key;
}

/**
 * Waits for every promise (reads of a store's files, side by side) and gives their values, or
 * throws the error of the first one, in the given order, that failed: the error reading one at a
 * time would have thrown, whichever failed sooner.
 */
export async function allInOrder<const T extends readonly unknown[]>(promises: T): Promise<{ -readonly [K in keyof T]: Awaited<T[K]> }> {
  const settled = await Promise.allSettled(promises);
  for (const result of settled) if (result.status === "rejected") throw result.reason;
  return settled.map((result) => (result as PromiseFulfilledResult<unknown>).value) as { -readonly [K in keyof T]: Awaited<T[K]> };
}

/** How many of a folder's files `mapInOrder` reads at once (a run may log thousands of params: one descriptor each). */
export const READS_AT_ONCE = 32;

/**
 * `read` over each item, at most `limit` at a time, started in order: the results in order, or
 * the error of the first item, in order, that failed (none is started after a failure is seen,
 * and the ones under way are waited for).
 */
export async function mapInOrder<T, R>(items: readonly T[], read: (item: T) => Promise<R>, limit = READS_AT_ONCE): Promise<R[]> {
  const results = new Array<R>(items.length);
  const failures = new Map<number, unknown>();
  let next = 0;
  const reader = async (): Promise<void> => {
    while (next < items.length && failures.size === 0) {
      const i = next++;
      try {
        results[i] = await read(items[i] as T);
      } catch (error) {
        failures.set(i, error);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(Math.max(1, limit), items.length) }, reader));
  if (failures.size > 0) throw failures.get(Math.min(...failures.keys()));
  return results;
}
