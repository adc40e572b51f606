/**
 * bench/batch — `pipeserve predict` of flights-3m.parquet (vega-datasets, 3,000,000 rows) with the
 * flights example, beside a plain read-and-write of the same file with the same libraries in the
 * same run (the ceiling): rows/s and peak RSS, each in a process of its own. Targets: peak RSS
 * under 400 MB; throughput at least a third of the ceiling.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { report } from "./harness.js";

const root = join(import.meta.dirname, "..");
function child(args: string[]): Record<string, number | string> {
  const out = execFileSync(process.execPath, [join(import.meta.dirname, "batch-child.mjs"), ...args], { encoding: "utf8", maxBuffer: 1 << 20 });
  return JSON.parse(out.trim().split("\n").at(-1) as string) as Record<string, number | string>;
}

export async function main(): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), "pipeserve-bench-batch-"));
  try {
    const input = join(createRequire(import.meta.url).resolve("vega-datasets"), "..", "..", "data", "flights-3m.parquet");
    const tracking = join(work, "mlruns");
    const train = spawnSync(
      process.execPath,
      [join(root, "dist", "cli", "bin.js"), "run", "--project", join(root, "models", "flights"), "--pipeline", "__default__", "--tracking-uri", tracking],
      {
        encoding: "utf8",
      },
    );
    if (train.status !== 0) throw new Error(`Training failed: ${train.stderr}`);
    const predict = child(["predict", input, join(work, "predictions.parquet"), "models:/flights/latest", tracking, "-"]);
    const sameColumns = child(["copy", input, join(work, "copy-2.parquet"), "-", "-", "distance,date"]);
    const allColumns = child(["copy", input, join(work, "copy-all.parquet"), "-", "-", "all"]);
    const ratio = (a: number | string | undefined, b: number | string | undefined): number => Math.round((Number(a) / Number(b)) * 100) / 100;
    await report("batch", {
      input: "vega-datasets/data/flights-3m.parquet (3,000,000 rows × 5 columns)",
      model: "models/flights (row-wise, inputType columns), default --chunk-rows 10000",
      predict,
      ceilingSameColumns: sameColumns,
      ceilingAllColumns: allColumns,
      ratioToCeilingSameColumns: ratio(predict["rowsPerSec"], sameColumns["rowsPerSec"]),
      ratioToCeilingAllColumns: ratio(predict["rowsPerSec"], allColumns["rowsPerSec"]),
      targets: { peakRssMBBelow: 400, ratioToCeilingAtLeast: 0.33 },
      pythonReference: "mlflow models predict on input_100k.csv: 3.3–4.1 s and 265 MB peak (shared/bench-data/README.md)",
    });
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
