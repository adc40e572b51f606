import { setFlagsFromString } from "node:v8";
import { isMainThread } from "node:worker_threads";

/**
 * How much of a WebAssembly function runs (V8's rough count of bytes executed) before V8 compiles
 * it again with its optimising compiler, TurboFan: ~1,100× V8's default of 1,800,000.
 *
 * NB: parquet-wasm is one large module. At V8's default, writing and reading a few million rows
 * makes about a hundred of its functions hot, and TurboFan compiles each in the background (the
 * compiled module is shared by the process's threads): CPU taken from the rows, and ~100 MB more
 * peak memory per process. Its baseline code (Liftoff) decodes nearly as fast. bench/batch, one
 * run, `predict` of flights-3m.parquet (3,000,000 rows), best of 2: one thread 2.21 s and 222 MB
 * against 2.42 s and 347 MB at V8's budget; two threads 1.85 s and 366 MB against 2.29 s and 477 MB.
 * A function that stays hot far longer (a file of tens of millions of rows) is still optimised.
 */
export const WASM_TIERING_BUDGET = 2_000_000_000;

/** The environment variable that sets another budget (V8's own: 1800000). */
export const WASM_TIERING_BUDGET_ENV = "PIPESERVE_WASM_TIERING_BUDGET";

/** A PIPESERVE_WASM_TIERING_BUDGET that is no whole number V8 takes. */
export class WasmTieringBudgetError extends Error {
  constructor(value: string) {
    super(`${WASM_TIERING_BUDGET_ENV} must be a whole number from 1 to 2147483647 (V8's own budget is 1800000), got "${value}".`);
    this.name = "WasmTieringBudgetError";
  }
}

/**
 * The budget to set: PIPESERVE_WASM_TIERING_BUDGET when `env` has it, else `WASM_TIERING_BUDGET`.
 * @throws WasmTieringBudgetError when the variable is not a whole number from 1 to 2^31 − 1.
 */
export function wasmTieringBudget(env: Readonly<Record<string, string | undefined>> = process.env): number {
  const text = env[WASM_TIERING_BUDGET_ENV];
  if (text === undefined || text === "") return WASM_TIERING_BUDGET;
  const value = /^\s*\d+\s*$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(value) || value < 1 || value > 2147483647) throw new WasmTieringBudgetError(text);
  return value;
}

let tuned = false;

/**
 * Sets V8's WebAssembly tiering budget (`wasmTieringBudget`), once, from the main thread, before
 * parquet-wasm is first loaded or a thread that may load it starts. V8's flags are the process's:
 * any other WebAssembly is tiered alike. Not when node was started with a `--wasm-tiering-budget`
 * or `--liftoff-only` of its own.
 * @throws WasmTieringBudgetError for a PIPESERVE_WASM_TIERING_BUDGET V8 would not take.
 */
export function tuneWasmTiering(): void {
  if (tuned || !isMainThread) return;
  const budget = wasmTieringBudget();
  tuned = true;
  if (process.execArgv.some((arg) => /^--(wasm[-_]tiering[-_]budget|liftoff[-_]only|no[-_]liftoff)\b/.test(arg))) return;
  setFlagsFromString(`--wasm-tiering-budget=${budget}`);
}
