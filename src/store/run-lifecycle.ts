import { StoreError } from "./errors.js";

/** Which runs a search returns, by lifecycle stage: MLflow's ViewType (`mlflow runs list --view`). */
export type RunView = "active_only" | "deleted_only" | "all";

/** The run views, for flags and messages. */
export const RUN_VIEWS: readonly RunView[] = ["active_only", "deleted_only", "all"];

/** What `searchRuns` takes: experiments (all active ones when none given) and the view (active runs by default, as MLflow). */
export interface SearchRunsOptions {
  experimentIds?: string[];
  view?: RunView;
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
