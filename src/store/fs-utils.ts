import { mkdir, readFile, rm, stat, writeFile } from "node:fs/promises";
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

/** Reads a YAML file as plain data (the `yaml` package never builds objects from tags). */
export async function readYaml(path: string): Promise<Record<string, unknown>> {
  const text = await readFile(path, "utf8");
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

const LOCK_STALE_MS = 30_000;

/**
 * Runs `fn` while holding a lock shared by every process using this store: a file created with
 * `O_CREAT | O_EXCL` (flag `wx`, atomic on local file systems). A lock older than 30 s is taken
 * to be left by a dead process and broken.
 *
 * NB: a file, not a directory: MLflow reads every folder at the store root as an experiment and
 * its `search_experiments` fails on a name such as `.locks`.
 */
export async function withLock<T>(lockFile: string, fn: () => Promise<T>): Promise<T> {
  await mkdir(dirname(lockFile), { recursive: true });
  const deadline = Date.now() + 60_000;
  for (let attempt = 0; ; attempt++) {
    try {
      await writeFile(lockFile, String(process.pid), { flag: "wx" });
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      try {
        if (Date.now() - (await stat(lockFile)).mtimeMs > LOCK_STALE_MS) await rm(lockFile, { force: true });
      } catch {
        // the holder released it meanwhile
      }
      if (Date.now() > deadline) throw new StoreError(`Timed out waiting for the store lock ${lockFile}. If no other pipeserve process is running, delete it.`);
      await new Promise((r) => setTimeout(r, Math.min(50, 2 + attempt * 2) + Math.random() * 5));
    }
  }
  try {
    return await fn();
  } finally {
    await rm(lockFile, { force: true });
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
