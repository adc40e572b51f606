import { readdir } from "node:fs/promises";
import { dirname, join } from "node:path";
import { type TrackingStore, localArtifactPath } from "../store/index.js";
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

/** The local folder of an artifact URI, or undefined for one elsewhere (a tracking server's). */
function localFolderOf(uri: string): string | undefined {
  try {
    return localArtifactPath(uri);
  } catch {
    return undefined;
  }
}

/**
 * Sweeps the folder around each LoggedModel's files (`<experiment>/models/<model_id>/`), where
 * packaging assembles `.artifacts.….partial`: every LoggedModel of the store, listed through the
 * store (a folder or a database alike).
 */
async function sweepLoggedModels(store: TrackingStore, removed: string[]): Promise<void> {
  for (const model of await store.searchLoggedModels()) {
    const files = localFolderOf(model.artifactLocation);
    if (files !== undefined) await sweepTree(dirname(files), MAX_DEPTH, removed).catch(() => undefined);
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
export async function removeStaleModelPartials(store: TrackingStore): Promise<string[]> {
  const removed: string[] = [];
  // NB: a tracking server's files are never half-written here: packaging stages them in a temp folder.
  if (store.kind === "rest") return removed;
  let runs: Awaited<ReturnType<TrackingStore["searchRuns"]>>;
  try {
    runs = await store.searchRuns();
  } catch {
    return removed;
  }
  for (const run of runs) {
    const artifacts = localFolderOf(run.artifactUri);
    if (artifacts !== undefined) await sweepTree(artifacts, 0, removed).catch(() => undefined);
  }
  await sweepLoggedModels(store, removed).catch(() => undefined);
  return removed;
}
