import { ConcurrentRunner, type Runner, SequentialRunner } from "./runner.js";
import { WorkerRunner } from "./worker-runner.js";

/**
 * The built-in runners' names, the one list: what a model's default runner may be, what a request
 * may name without the operator allowing more.
 */
export const RUNNER_NAMES = ["SequentialRunner", "ConcurrentRunner", "WorkerRunner"] as const;
export type RunnerName = (typeof RUNNER_NAMES)[number];

/** The runner a model uses when it names none. */
export const DEFAULT_RUNNER: RunnerName = "SequentialRunner";

/** True for the name of a built-in runner. */
export function isRunnerName(name: unknown): name is RunnerName {
  return typeof name === "string" && (RUNNER_NAMES as readonly string[]).includes(name);
}

/** A new built-in runner, by name, with its default options (check a name from outside with `isRunnerName`). */
export function createRunner(name: RunnerName): Runner {
  switch (name) {
    case "SequentialRunner":
      return new SequentialRunner();
    case "ConcurrentRunner":
      return new ConcurrentRunner();
    case "WorkerRunner":
      return new WorkerRunner();
  }
}
