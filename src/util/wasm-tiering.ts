import { setFlagsFromString } from "node:v8";
import { isMainThread } from "node:worker_threads";

/**
 * How much of a WebAssembly function runs (V8's rough count of bytes executed) before V8 compiles
 * it again with its optimising compiler, TurboFan: ~1,100× V8's default of 1,800,000.
 *
 * NB: parquet-wasm is one large module. At V8's default, decoding and writing a few million rows
 * makes hundreds of its functions hot, and each thread that decodes (`predict --workers`) has them
 * compiled again in the background: CPU taken from the rows, and ~100 MB more peak memory per
 * process. Its baseline code (Liftoff) decodes nearly as fast. `predict` of flights-3m.parquet
 * (3,000,000 rows) with this budget against V8's, alternating in one session: one thread 2.5–2.7 s
 * and 253–261 MB against 2.55–2.7 s and 322–356 MB; two threads 2.0 s and 353–369 MB against 2.5 s
 * and 442–454 MB. A function that stays hot far longer (a file of tens of millions of rows) is
 * still optimised.
 */
export const WASM_TIERING_BUDGET = 2_000_000_000;

let tuned = false;

/**
 * Sets V8's WebAssembly tiering budget to `WASM_TIERING_BUDGET`, once, before the first
 * WebAssembly module is instantiated. V8's flags are the process's: it is set from the main
 * thread only, before it starts any thread that decodes, and not when node was started with a
 * `--wasm-tiering-budget` or `--liftoff-only` of its own.
 */
export function tuneWasmTiering(): void {
  if (tuned || !isMainThread) return;
  tuned = true;
  if (process.execArgv.some((arg) => /^--(wasm[-_]tiering[-_]budget|liftoff[-_]only|no[-_]liftoff)\b/.test(arg))) return;
  setFlagsFromString(`--wasm-tiering-budget=${WASM_TIERING_BUDGET}`);
}
