import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { FileStore } from "../store/index.js";
import { removeStalePartials } from "../util/index.js";

/**
 * How deep under a run's artifacts model folders are looked for: `artifacts/.model.….partial`
 * (the default artifact path) is depth 0, `artifacts/a/.b.….partial` (artifact path `a/b`) depth 1.
 */
const MAX_DEPTH = 2;

async function sweepTree(dir: string, depth: number, removed: string[]): Promise<void> {
  for (const name of await removeStalePartials(dir)) removed.push(join(dir, name));
  if (depth >= MAX_DEPTH) return;
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  for (const entry of entries) {
    if (entry.isDirectory() && !entry.name.endsWith(".partial")) await sweepTree(join(dir, entry.name), depth + 1, removed);
  }
}

/** Sweeps each LoggedModel folder (`<experiment>/models/<model_id>/`), where packaging assembles `.artifacts.….partial`. */
async function sweepLoggedModels(store: FileStore, removed: string[]): Promise<void> {
  for (const experiment of await store.listExperiments()) {
    const models = join(store.root, experiment.experimentId, "models");
    const entries = await readdir(models, { withFileTypes: true }).catch(() => []);
    for (const entry of entries) if (entry.isDirectory()) await sweepTree(join(models, entry.name), MAX_DEPTH, removed).catch(() => undefined);
  }
}

/**
 * Removes the temporary model folders (`.model.<writer>.<hex>.partial`, see util's partialPath)
 * that packaging or `import` left in runs' artifacts or in LoggedModels' folders (`.artifacts.….partial`)
 * when they were killed (SIGKILL, a crash):
 * only those whose writing process is gone, so a packaging still under way elsewhere keeps its
 * folder. Called when `run`, `modelify` and `import` start: the commands that write model folders.
 * Best effort: it never fails the command. Returns the paths removed.
 */
export async function removeStaleModelPartials(store: FileStore): Promise<string[]> {
  const removed: string[] = [];
  let runs: Awaited<ReturnType<FileStore["searchRuns"]>>;
  try {
    runs = await store.searchRuns();
  } catch {
    return removed;
  }
  for (const run of runs) {
    if (!run.artifactUri.startsWith("file:") && !run.artifactUri.startsWith("/")) continue;
    const artifacts = run.artifactUri.startsWith("file:") ? fileURLToPath(run.artifactUri) : run.artifactUri;
    await sweepTree(artifacts, 0, removed).catch(() => undefined);
  }
  await sweepLoggedModels(store, removed).catch(() => undefined);
  return removed;
}
