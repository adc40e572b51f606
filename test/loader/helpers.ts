// Shared helpers for the loader suite: the fixture projects trained once per file into a temp
// tracking dir, throwaway copies of a model directory to break, file editors, and an error check
// that always looks at both the error class and the message.
import { createHash } from "node:crypto";
import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, expect } from "vitest";
import { FileStore, runProject, type ColumnTable, type RunProjectResult } from "../../src/index.js";
import { readYaml, toYaml } from "../../src/store/index.js";
import { loggedModelDir } from "../fixtures/model-dir.js";

export const SCALER_PROJECT = fileURLToPath(new URL("../fixtures/projects/scaler", import.meta.url));
export const SHIFTER_PROJECT = fileURLToPath(new URL("../fixtures/projects/shifter", import.meta.url));

export interface TrainedModel {
  trackingDir: string;
  runId: string;
  /** `runs:/<id>/model` */
  modelUri: string;
  /** The model directory inside the run's artifacts. */
  modelDir: string;
  registeredVersion: RunProjectResult["registeredVersion"];
}

const tempDirs: string[] = [];

/** A fresh temp dir, removed when the file's tests are done. */
export async function tempDir(prefix = "pipeserve-loader-"): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  tempDirs.push(dir);
  return dir;
}

afterAll(async () => {
  await Promise.all(tempDirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

/** Trains a fixture project's pipeline into `trackingDir` (a new temp dir when absent). */
export async function train(projectDir: string, pipelineName: string, trackingDir?: string): Promise<TrainedModel> {
  const tracking = trackingDir ?? (await tempDir("pipeserve-tracking-"));
  const result = await runProject({ projectDir, pipelineName, trackingUri: tracking });
  if (!result.modelUri) throw new Error(`${pipelineName} packaged no model`);
  const store = await FileStore.open(tracking);
  return {
    trackingDir: tracking,
    runId: result.runId,
    modelUri: result.modelUri,
    modelDir: await loggedModelDir(store.root, result.runId),
    registeredVersion: result.registeredVersion,
  };
}

/** Trains the scaler fixture once for the calling file (in `beforeAll`); the getter works inside tests. */
export function useScalerModel(): () => TrainedModel {
  let trained: TrainedModel | undefined;
  beforeAll(async () => {
    trained = await train(SCALER_PROJECT, "training");
  });
  return () => {
    if (!trained) throw new Error("useScalerModel: the model exists only once beforeAll has run");
    return trained;
  };
}

/**
 * Copies a model directory into a fresh temp dir (as `<tmp>/model`) and applies `edit` to the copy.
 * Returns the copy's path.
 */
export async function copyModel(modelDir: string, edit?: (dir: string) => Promise<void>): Promise<string> {
  const dir = join(await tempDir("pipeserve-broken-"), "model");
  await cp(modelDir, dir, { recursive: true });
  await edit?.(dir);
  return dir;
}

/** Rewrites a JSON file of a model after `fn` mutated its parsed value (`fn`'s result is ignored). */
export async function editJson(file: string, fn: (value: Record<string, any>) => void): Promise<void> {
  const value = JSON.parse(await readFile(file, "utf8")) as Record<string, any>;
  fn(value);
  await writeFile(file, JSON.stringify(value, null, 2));
}

/** Rewrites a model's MLmodel after `fn` mutated its parsed value (`fn`'s result is ignored). */
export async function editMLmodel(dir: string, fn: (value: Record<string, any>) => void): Promise<void> {
  const value = (await readYaml(join(dir, "MLmodel"))) as Record<string, any>;
  fn(value);
  await writeFile(join(dir, "MLmodel"), toYaml(value));
}

/** The sha256 of a file, as pipeline.json records it. */
export async function sha256Of(file: string): Promise<string> {
  return createHash("sha256")
    .update(await readFile(file))
    .digest("hex");
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

/** What the scaler model must answer for `xs`, computed from its artifacts by hand. */
export async function expectedScaler(modelDir: string, xs: number[], margin = 0): Promise<ColumnTable> {
  const scaler = JSON.parse(await readFile(join(modelDir, "artifacts", "scaler.json"), "utf8")) as { mean: number; std: number };
  const model = JSON.parse(await readFile(join(modelDir, "artifacts", "model.json"), "utf8")) as { cut: number };
  const z = xs.map((x) => (x - scaler.mean) / scaler.std);
  return { names: ["label", "score"], columns: [z.map((v) => (v > model.cut + margin ? 1 : 0)), z.map((v) => v - model.cut)], numRows: xs.length };
}

/** An MLflow `dataframe_split` body for the scaler's one input column. */
export function scalerBody(xs: number[], params?: Record<string, unknown>): Record<string, unknown> {
  return { dataframe_split: { columns: ["x"], data: xs.map((x) => [x]) }, ...(params ? { params } : {}) };
}
