/**
 * bench/loader — how long loading the penguins model takes (cold: a fresh process importing
 * pipeserve and loading; warm: another load in the same process), and predict latency for 1 row
 * and 10,000 rows (shared/bench-data bodies) under each copy mode. Target: load under 1 s.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadModel } from "../src/index.js";
import { resolveModelUri } from "../src/loader/index.js";
import { measure, report } from "./harness.js";

const root = join(import.meta.dirname, "..");
const bench = join(root, "..", "shared", "bench-data");

export async function main(): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), "pipeserve-bench-loader-"));
  try {
    const tracking = join(work, "mlruns");
    const train = spawnSync(
      process.execPath,
      [join(root, "dist", "cli", "bin.js"), "run", "--project", join(root, "models", "penguins"), "--pipeline", "__default__", "--tracking-uri", tracking],
      { encoding: "utf8" },
    );
    if (train.status !== 0) throw new Error(`Training failed: ${train.stderr}`);
    const source = (await resolveModelUri("models:/penguins/latest", { trackingUri: tracking })).dir;

    // Cold: node starts, imports the built pipeserve, loads the model (median of 5 processes).
    const script = `const t0 = performance.now(); const { loadModel } = await import(${JSON.stringify(join(root, "dist", "index.js"))}); const t1 = performance.now(); const m = await loadModel(${JSON.stringify(source)}); const t2 = performance.now(); console.log(JSON.stringify({ importMs: t1 - t0, loadMs: t2 - t1 })); await m.close();`;
    const cold: { importMs: number; loadMs: number }[] = [];
    for (let i = 0; i < 5; i++)
      cold.push(
        JSON.parse(execFileSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8" }).trim()) as { importMs: number; loadMs: number },
      );
    const median = (xs: number[]): number => Math.round(xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]! * 10) / 10;
    const warm = await measure(async () => (await loadModel(source)).close(), { warmup: 3, batches: 5, perBatch: 4 });

    const oneRow = await readFile(join(bench, "req_1row.json"), "utf8");
    const tenK = await readFile(join(bench, "req_10000rows.json"), "utf8");
    const predict: Record<string, unknown> = {};
    for (const mode of ["assign", "copy", "deepcopy"]) {
      const dir = join(work, `model-${mode}`);
      await cp(source, dir, { recursive: true });
      const mlmodel = await readFile(join(dir, "MLmodel"), "utf8");
      await writeFile(join(dir, "MLmodel"), mlmodel.replace(/copy_mode: \w+/, `copy_mode: ${mode}`));
      const model = await loadModel(dir);
      const one = await measure(() => model.predict(oneRow), { warmup: 500, batches: 15, perBatch: 300 });
      const many = await measure(() => model.predict(tenK), { warmup: 5, batches: 7, perBatch: 5 });
      predict[mode] = { oneRowUs: Math.round(one.medianUs * 10) / 10, tenThousandRowsMs: Math.round(many.medianUs / 100) / 10 };
      await model.close();
    }
    await report("loader", {
      model: "models/penguins",
      coldProcess: { importPipeserveMs: median(cold.map((c) => c.importMs)), loadModelMs: median(cold.map((c) => c.loadMs)), runs: cold.length },
      warmLoadMs: Math.round(warm.medianUs / 100) / 10,
      predict,
      targets: { loadMsBelow: 1000 },
    });
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
