import { availableParallelism } from "node:os";
import { configDefaults, defineConfig } from "vitest/config";

/**
 * Tests that need real processes (the built bin, signals, pipes, a terminal, `serve`, npm):
 * test/e2e and every `*.process.test.ts`. `npm run test:e2e` runs them; `npm run test:unit`
 * runs the rest, in-process; `npm test` runs both. Long reliability scenarios (load, kills,
 * soak-like loops) live in test/reliability: `npm run test:reliability`, run by .ci/run after
 * `npm test`, so the main suite stays within its time budget.
 */
const REAL_PROCESS = ["test/e2e/**/*.test.ts", "test/**/*.process.test.ts"];
const RELIABILITY = ["test/reliability/**/*.test.ts"];

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: "forks",
    // Unpacks the MLflow-written reference store the interop tests read (test/global-setup.ts).
    globalSetup: ["test/global-setup.ts"],
    // A typed array of numbers equals a plain array of the same numbers in toEqual (test/setup-equality.ts).
    setupFiles: ["test/setup-equality.ts"],
    // NB: one test file per core, not vitest's default of one fewer (on 2 cores: one file at a
    // time); much of the suite waits on child processes, sockets, timers and disk.
    maxWorkers: availableParallelism(),
    projects: [
      // NB: the in-process tests share each worker's module cache (isolate: false): importing
      // danfojs, Arrow and the rest once per worker instead of once per file took the suite's
      // import time from ~92 s to ~16 s. A test file must leave no global state behind (env,
      // cwd, listeners)
      {
        extends: true,
        test: { name: "unit", isolate: false, include: ["test/**/*.test.ts"], exclude: [...configDefaults.exclude, ...REAL_PROCESS, ...RELIABILITY] },
      },
      { extends: true, test: { name: "e2e", include: REAL_PROCESS, exclude: [...configDefaults.exclude, ...RELIABILITY] } },
      { extends: true, test: { name: "reliability", include: RELIABILITY, testTimeout: 300_000 } },
    ],
  },
});
