// Shared helpers for the packager suite: fixture projects copied into throwaway folders (so runs
// never write into test/fixtures and test files never race on the same data/), raw readers for the
// files a model directory holds, and an error check that always looks at the class and the message.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { cp, mkdir, mkdtemp, readFile, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, expect } from "vitest";
import { parse } from "yaml";

export const REPO_ROOT = fileURLToPath(new URL("../..", import.meta.url));
export const FIXTURES = join(REPO_ROOT, "test", "fixtures", "projects");

const tempDirs: string[] = [];

/** A fresh temp dir, removed when the file's tests are done. `parent` defaults to the OS temp dir. */
export async function tempDir(prefix = "pipeserve-packager-", parent = tmpdir()): Promise<string> {
  await mkdir(parent, { recursive: true });
  const dir = await mkdtemp(join(parent, prefix));
  tempDirs.push(dir);
  return dir;
}

afterAll(async () => {
  await Promise.all(tempDirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

/**
 * Copies a fixture project into a fresh folder and returns the copy's path. With `inRepo`, the copy
 * lives under the repository's git-ignored `.tmp/`, so it sits inside a git work tree.
 */
export async function copyProject(name: string, options: { inRepo?: boolean } = {}): Promise<string> {
  const parent = options.inRepo ? await tempDir(`${name}-`, join(REPO_ROOT, ".tmp")) : await tempDir(`${name}-`);
  const dir = join(parent, name);
  await cp(join(FIXTURES, name), dir, { recursive: true });
  return dir;
}

/** The sha256 of a file, hex. */
export async function sha256Of(file: string): Promise<string> {
  return createHash("sha256")
    .update(await readFile(file))
    .digest("hex");
}

/** Every file under `dir`, relative and sorted (`artifacts/weights.json`). */
export async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)))
    .sort();
}

/** A YAML file read as MLflow's PyYAML would (YAML 1.1 rules). */
export async function readYaml11(file: string): Promise<Record<string, any>> {
  return parse(await readFile(file, "utf8"), { version: "1.1" }) as Record<string, any>;
}

export async function readJson(file: string): Promise<any> {
  return JSON.parse(await readFile(file, "utf8"));
}

/** The HEAD commit of the repository, or undefined outside git. */
export function gitHead(cwd = REPO_ROOT): string | undefined {
  try {
    return (
      execFileSync("git", ["rev-parse", "HEAD"], { cwd, stdio: ["ignore", "pipe", "ignore"] })
        .toString()
        .trim() || undefined
    );
  } catch {
    return undefined;
  }
}

/** True when `python3 -c "import yaml"` works: MLflow reads MLmodel and meta.yaml with PyYAML. */
export function hasPyYaml(): boolean {
  try {
    execFileSync("python3", ["-c", "import yaml"], { stdio: "ignore", timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
}

/** Loads YAML files with PyYAML's safe_load and returns them as JSON (dates and all as PyYAML sees them, via str()). */
export function pyYamlLoad(files: string[]): any[] {
  const script = [
    "import json, sys, yaml",
    "out = [yaml.safe_load(open(f)) for f in sys.argv[1:]]",
    "print(json.dumps(out, default=lambda v: {'__python_type__': type(v).__name__, 'value': str(v)}))",
  ].join("\n");
  return JSON.parse(execFileSync("python3", ["-c", script, ...files]).toString()) as any[];
}

type ErrorClass<E extends Error> = abstract new (...args: never[]) => E;

/**
 * Awaits `promise`, expects it to reject with a `cls` whose message matches every pattern (a
 * regex, or a substring that must appear verbatim), and returns the error for further checks.
 */
export async function rejects<E extends Error>(promise: Promise<unknown>, cls: ErrorClass<E>, ...messages: (RegExp | string)[]): Promise<E> {
  let thrown: unknown;
  try {
    await promise;
  } catch (error) {
    thrown = error;
  }
  expect(thrown, "expected a rejection").toBeInstanceOf(cls);
  const error = thrown as E;
  for (const message of messages) {
    if (typeof message === "string") expect(error.message).toContain(message);
    else expect(error.message).toMatch(message);
  }
  return error;
}

/** Same as `rejects`, for code that throws synchronously. */
export function throws<E extends Error>(fn: () => unknown, cls: ErrorClass<E>, ...messages: (RegExp | string)[]): E {
  let thrown: unknown;
  try {
    fn();
  } catch (error) {
    thrown = error;
  }
  expect(thrown, "expected a throw").toBeInstanceOf(cls);
  const error = thrown as E;
  for (const message of messages) {
    if (typeof message === "string") expect(error.message).toContain(message);
    else expect(error.message).toMatch(message);
  }
  return error;
}
