// Shared test helpers for the runtime suite: temp dirs, real DataFrames, and error checks that
// always look at both the error class and its message.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "vitest";
import type { DataFrame } from "danfojs-node";
import { fromDataFrame, isDataFrame, tableFromColumns, toDataFrame, type Cell } from "../../src/index.js";

type ErrorClass = abstract new (...args: any[]) => Error;

/** Calls `fn`, expects it to throw an instance of `cls` whose message matches, and returns the error. */
export function expectThrows<E extends ErrorClass>(fn: () => unknown, cls: E, message: string | RegExp): InstanceType<E> {
  let thrown: unknown;
  try {
    fn();
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(cls);
  expect((thrown as Error).message).toMatch(message);
  return thrown as InstanceType<E>;
}

/** Awaits `promise`, expects it to reject with an instance of `cls` whose message matches, and returns the error. */
export async function expectRejects<E extends ErrorClass>(promise: Promise<unknown>, cls: E, message: string | RegExp): Promise<InstanceType<E>> {
  let thrown: unknown;
  let settled = false;
  try {
    await promise;
    settled = true;
  } catch (error) {
    thrown = error;
  }
  expect(settled, "expected a rejection, but the promise resolved").toBe(false);
  expect(thrown).toBeInstanceOf(cls);
  expect((thrown as Error).message).toMatch(message);
  return thrown as InstanceType<E>;
}

/** A fresh folder under the OS temp dir; `remove()` deletes it. */
export async function makeTempDir(prefix = "pipeserve-runtime-"): Promise<{ path: string; remove(): Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

/** A small real DataFrame with nulls, unicode strings, numbers and booleans. */
export function mixedFrame(): DataFrame {
  return toDataFrame(
    tableFromColumns({
      id: [1, 2, 3, 4],
      name: ["Zoë", "北京 🐧", null, 'naïve, "quoted"'],
      score: [1.5, null, -2.25, 1e-3],
      flag: [true, false, null, true],
    }),
  );
}

/** A few penguins (Palmer Penguins rows). */
export function penguinsFrame(): DataFrame {
  return toDataFrame(
    tableFromColumns({
      species: ["Adelie", "Gentoo", "Chinstrap", "Gentoo", "Adelie"],
      bill_length_mm: [39.1, 46.1, 46.5, 50.0, 38.9],
      body_mass_g: [3750, 4500, 3500, 5700, 3625],
    }),
  );
}

/** A DataFrame as plain `{ column: values }` for deep equality. */
export function frameColumns(frame: unknown): Record<string, Cell[]> {
  expect(isDataFrame(frame), "expected a danfojs DataFrame").toBe(true);
  const table = fromDataFrame(frame as DataFrame);
  return Object.fromEntries(table.names.map((n, i) => [n, table.columns[i] as Cell[]]));
}

/** Lets every pending microtask and I/O callback run once. */
export function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
