// Shared helpers for the store suite: real temp dirs, error checks that always look at both the
// error class and the message, and readers for the raw files the store writes.
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { afterEach, beforeEach, expect } from "vitest";
import { parse } from "yaml";

/**
 * A fresh temp dir per test, removed afterwards. Returns a getter, since the dir only exists once
 * `beforeEach` has run.
 */
export function useTempDir(prefix = "pipeserve-store-"): () => string {
  let dir: string | undefined;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), prefix));
  });
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
    dir = undefined;
  });
  return () => {
    if (!dir) throw new Error("useTempDir: the temp dir exists only inside a test");
    return dir;
  };
}

type ErrorClass<E extends Error> = abstract new (...args: never[]) => E;

function checkError<E extends Error>(thrown: unknown, cls: ErrorClass<E>, message: RegExp | string): E {
  expect(thrown, "expected an error").toBeInstanceOf(cls);
  const error = thrown as E;
  if (typeof message === "string") expect(error.message).toContain(message);
  else expect(error.message).toMatch(message);
  return error;
}

/** Calls `fn`, expects it to throw a `cls` whose message matches (a regex, or a substring), and returns the error. */
export function expectThrows<E extends Error>(fn: () => unknown, cls: ErrorClass<E>, message: RegExp | string): E {
  let thrown: unknown;
  try {
    fn();
  } catch (error) {
    thrown = error;
  }
  return checkError(thrown, cls, message);
}

/** Awaits `promise`, expects it to reject with a `cls` whose message matches, and returns the error. */
export async function expectRejects<E extends Error>(promise: Promise<unknown>, cls: ErrorClass<E>, message: RegExp | string): Promise<E> {
  let thrown: unknown;
  let resolved = false;
  try {
    await promise;
    resolved = true;
  } catch (error) {
    thrown = error;
  }
  expect(resolved, "expected a rejection, but the promise resolved").toBe(false);
  return checkError(thrown, cls, message);
}

/** A file's raw text. */
export function readText(...parts: string[]): Promise<string> {
  return readFile(join(...parts), "utf8");
}

/**
 * Parses YAML as MLflow reads it: PyYAML implements YAML 1.1, where `yes`, `on`, `2024-11-22`
 * and `1:30` are not strings, so a value only counts as a string if it survives a 1.1 reader.
 */
export function parseAsMlflow(text: string): Record<string, unknown> {
  const value: unknown = parse(text, { version: "1.1" });
  expect(value, "a YAML mapping").toBeTypeOf("object");
  expect(Array.isArray(value)).toBe(false);
  return value as Record<string, unknown>;
}

/** Reads and parses a YAML file; returns the raw text as well. */
export async function readYamlFile(...parts: string[]): Promise<{ raw: string; data: Record<string, unknown> }> {
  const raw = await readText(...parts);
  return { raw, data: parseAsMlflow(raw) };
}

/** The top-level keys of a block-style YAML mapping, in file order. */
export function topLevelKeys(raw: string): string[] {
  return [...raw.matchAll(/^(?:"([^"]+)"|'([^']+)'|([^\s:#'"-][^:]*)):(?: |$)/gm)].map((m) => m[1] ?? m[2] ?? m[3] ?? "");
}

/** Every file and folder below `root`, as paths relative to it (folders end with "/"). */
export async function walk(root: string): Promise<string[]> {
  const out: string[] = [];
  async function visit(dir: string): Promise<void> {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const full = join(dir, entry.name);
      if (entry.isDirectory()) {
        out.push(`${relative(root, full)}/`);
        await visit(full);
      } else out.push(relative(root, full));
    }
  }
  await visit(root);
  return out.sort();
}

/** MLflow 3.6 lists every folder at the store root as an experiment and rejects ids that do not match this. */
export const MLFLOW_EXPERIMENT_ID = /^[a-zA-Z0-9][\w-]{0,63}$/;

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
