import { open } from "node:fs/promises";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { DEFAULT_WORKERS_MIN_BYTES, defaultWorkers } from "../../src/batch/predict-file.js";
import { tempDir } from "./helpers.js";

/** A sparse file of `bytes` bytes (no data written). */
async function fileOf(path: string, bytes: number): Promise<string> {
  const handle = await open(path, "w");
  await handle.truncate(bytes);
  await handle.close();
  return path;
}

describe("predict's threads when --workers is not given", () => {
  it("a Parquet file of 16 MiB or more: one per core; a smaller one: this thread alone", async () => {
    const dir = await tempDir("pipeserve-default-workers-");
    expect(defaultWorkers(await fileOf(join(dir, "big.parquet"), DEFAULT_WORKERS_MIN_BYTES), "parquet")).toBe(availableParallelism());
    expect(defaultWorkers(await fileOf(join(dir, "small.parquet"), DEFAULT_WORKERS_MIN_BYTES - 1), "parquet")).toBe(1);
  });

  it("text formats (parsed on the main thread whatever the threads), stdin and a missing file: this thread alone", async () => {
    const dir = await tempDir("pipeserve-default-workers-");
    expect(defaultWorkers(await fileOf(join(dir, "big.csv"), DEFAULT_WORKERS_MIN_BYTES * 2), "csv")).toBe(1);
    expect(defaultWorkers(await fileOf(join(dir, "big.jsonl"), DEFAULT_WORKERS_MIN_BYTES * 2), "jsonl")).toBe(1);
    expect(defaultWorkers("-", "parquet")).toBe(1);
    expect(defaultWorkers(join(dir, "missing.parquet"), "parquet")).toBe(1);
  });
});
