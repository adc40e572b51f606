// How many inputs each fuzz property generates, and from which seed. Issue 14 asks for 10,000
// generated bad inputs across the suite: each property has its share of them. CI runs the same
// inputs every time (fixed seeds); FUZZ_SEED picks other inputs, FUZZ_RUNS another total:
//
//   FUZZ_SEED=7 FUZZ_RUNS=50000 npx vitest run --project reliability test/reliability/fuzz
//
// When a property fails, fast-check prints the shrunk counterexample with its seed and path;
// FUZZ_SEED=<seed> FUZZ_PATH=<path> with `-t <property>` reruns exactly it. FUZZ_STATS=1 prints
// the answers by status and error code (=messages: with their messages), FUZZ_TRACE=1 each input.
import type { Parameters } from "fast-check";

/** The suite's generated inputs, unless FUZZ_RUNS says otherwise. */
export const DEFAULT_TOTAL_RUNS = 10_000;
/** The seed every property's own seed derives from, unless FUZZ_SEED says otherwise. */
const DEFAULT_SEED = 14;

/**
 * Each property's share of the total (they add up to 1): the HTTP ones over every request form and
 * content type, the file ones over every format `pipeserve predict` reads.
 */
export const SHARES = {
  "http json forms": 0.17,
  "http json text": 0.12,
  "http csv": 0.1,
  "http ndjson": 0.06,
  "http arrow": 0.08,
  "http parquet": 0.06,
  "http v2 infer": 0.12,
  "http headers": 0.09,
  "files csv": 0.05,
  "files json": 0.05,
  "files jsonl": 0.04,
  "files parquet": 0.03,
  "files arrow": 0.03,
} as const;

export type PropertyName = keyof typeof SHARES;

function envNumber(name: string): number | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === "") return undefined;
  const value = Number(raw);
  if (!Number.isSafeInteger(value)) throw new Error(`${name} must be a whole number, got "${raw}".`);
  return value;
}

/** A stable 31-bit number for a property's name, so each property draws its own inputs from one seed. */
function nameHash(name: string): number {
  let h = 0;
  for (let i = 0; i < name.length; i++) h = (Math.imul(h, 31) + name.charCodeAt(i)) | 0;
  return h & 0x7fffffff;
}

/** The seed of inputs made before a property runs (a corpus of Parquet files): FUZZ_SEED, else fixed. */
export function fuzzSeed(): number {
  return envNumber("FUZZ_SEED") ?? DEFAULT_SEED;
}

/** Valid Parquet files the Parquet properties damage: written once per test file, in a thread. */
export const PARQUET_CORPUS = 150;

/** The runs of one property: its share of FUZZ_RUNS (10,000 by default), at least one. */
export function runsOf(name: PropertyName): number {
  const total = envNumber("FUZZ_RUNS") ?? DEFAULT_TOTAL_RUNS;
  return Math.max(1, Math.round(total * SHARES[name]));
}

/**
 * fast-check's parameters for one property: its runs, a seed derived from FUZZ_SEED (fixed by
 * default) and the property's name, and, with FUZZ_PATH, the replay of one counterexample.
 */
export function fuzzParameters<T>(name: PropertyName): Parameters<T> {
  const path = process.env["FUZZ_PATH"];
  const seed = envNumber("FUZZ_SEED");
  // NB: a replayed counterexample's seed is the one fast-check printed, used as is.
  if (path !== undefined && seed !== undefined) return { seed, path, numRuns: runsOf(name) };
  return { seed: ((seed ?? DEFAULT_SEED) ^ nameHash(name)) | 0, numRuns: runsOf(name) };
}
