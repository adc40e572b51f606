import { writerTagIsGone } from "../util/index.js";
import { StoreError } from "./errors.js";
import type { TrackingStore } from "./tracking-store.js";

/** The tag naming the process that runs a run (`writerTag()`), so a run it left RUNNING when killed can be ended. */
export const RUN_WRITER_TAG = "pipeserve.writer";

/** Which runs a search returns, by lifecycle stage: MLflow's ViewType (`mlflow runs list --view`). */
export type RunView = "active_only" | "deleted_only" | "all";

/** The run views, for flags and messages. */
export const RUN_VIEWS: readonly RunView[] = ["active_only", "deleted_only", "all"];

/** What `searchRuns` takes: experiments (all active ones when none given) and the view (active runs by default, as MLflow). */
export interface SearchRunsOptions {
  experimentIds?: string[];
  view?: RunView;
  /** Told of a run a folder store cannot read (a damaged meta.yaml), which the search leaves out, as MLflow's FileStore does; without it, such a run fails the search. */
  onUnreadable?: (runId: string, error: Error) => void;
}

/** Whether a run in lifecycle stage `stage` is in `view`. */
export function inRunView(stage: string, view: RunView = "active_only"): boolean {
  if (view === "all") return true;
  return view === "deleted_only" ? stage === "deleted" : stage !== "deleted";
}

/**
 * Refuses to delete a deleted run or restore an active one, as MLflow's stores do
 * (`check_run_is_active` / `check_run_is_deleted`), with the command that does what was meant.
 */
export function checkRunStage(run: { runId: string; lifecycleStage: string }, action: "delete" | "restore"): void {
  const deleted = run.lifecycleStage === "deleted";
  if (action === "delete" && deleted)
    throw new StoreError(`Run ${run.runId} is already deleted. Restore it with \`pipeserve runs restore ${run.runId}\`.`, {
      code: "INVALID_PARAMETER_VALUE",
    });
  if (action === "restore" && !deleted)
    throw new StoreError(`Run ${run.runId} is not deleted (its lifecycle stage is "${run.lifecycleStage}"); there is nothing to restore.`, {
      code: "INVALID_PARAMETER_VALUE",
    });
}

/**
 * Ends as KILLED the RUNNING runs whose process is gone (Ctrl-C, SIGTERM or SIGKILL during
 * `pipeserve run`, a crash), as MLflow ends a run its process was interrupted in: they would
 * otherwise show RUNNING for ever. Only runs tagged with their writer (RUN_WRITER_TAG) of this
 * machine are looked at; a run that cannot be read or ended is left as it is. Returns their ids.
 */
export async function endRunsOfGoneWriters(store: TrackingStore, experimentIds?: string[]): Promise<string[]> {
  const ended: string[] = [];
  let running: { runId: string }[];
  try {
    // NB: a damaged run folder (left out) must not stop the others being ended.
    const search = { ...(experimentIds ? { experimentIds } : {}), view: "active_only" as const, onUnreadable: () => undefined };
    running = (await store.searchRuns(search)).filter((r) => r.status === "RUNNING");
  } catch {
    return ended;
  }
  for (const { runId } of running) {
    try {
      const writer = (await store.getRun(runId)).tags[RUN_WRITER_TAG];
      if (writer === undefined || !writerTagIsGone(writer)) continue;
      // NB: read again once its writer is known gone (a gone writer changes nothing more): it may
      // have ended the run FINISHED after the search, and exited since.
      if ((await store.getRun(runId)).info.status !== "RUNNING") continue;
      await store.endRun(runId, "KILLED");
      ended.push(runId);
    } catch {
      // read or ended by another process meanwhile
    }
  }
  return ended;
}
