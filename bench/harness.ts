/**
 * Tiny helpers shared by the benchmarks: time a function over many iterations after a warm-up,
 * and write results as JSON under bench/results/.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";

export interface Timing {
  /** Mean time of one iteration, in microseconds. */
  meanUs: number;
  /** Median of the per-batch means, in microseconds (robust to a noisy neighbour). */
  medianUs: number;
  iterations: number;
}

/** Runs `fn` `warmup` times, then `batches` batches of `perBatch` calls, and reports the time of one call. */
export async function measure(fn: () => unknown, options: { warmup?: number; batches?: number; perBatch?: number } = {}): Promise<Timing> {
  const { warmup = 200, batches = 15, perBatch = 200 } = options;
  for (let i = 0; i < warmup; i++) await fn();
  const means: number[] = [];
  let total = 0;
  for (let b = 0; b < batches; b++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < perBatch; i++) await fn();
    const ns = Number(process.hrtime.bigint() - start);
    total += ns;
    means.push(ns / perBatch / 1000);
  }
  means.sort((a, b) => a - b);
  return { meanUs: total / (batches * perBatch) / 1000, medianUs: means[Math.floor(means.length / 2)] as number, iterations: batches * perBatch };
}

/** Writes a benchmark's results to bench/results/<name>.json and prints them. */
export async function report(name: string, results: unknown): Promise<void> {
  const dir = join(import.meta.dirname, "results");
  await mkdir(dir, { recursive: true });
  const body = { bench: name, node: process.version, date: new Date().toISOString(), results };
  await writeFile(join(dir, `${name}.json`), JSON.stringify(body, null, 2) + "\n");
  console.log(JSON.stringify(body, null, 2));
}
