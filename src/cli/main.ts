/**
 * The `pipeserve` command: thin commands over the library (serve, predict, run, modelify,
 * inspect, runs, models, export, import). `main` runs one command line against an io (the real
 * process's in the bin, a test's own in-process) and returns the exit code; it never exits the
 * process. Errors print one clear line (and where the user's code threw, when it did) and exit
 * non-zero; stack traces, the causes' too, only with PIPESERVE_DEBUG=1.
 */
import { Command, CommanderError } from "commander";
import { WasmTieringBudgetError, pipeserveVersion, wasmTieringBudget } from "../util/index.js";
import { errorReport } from "./error-report.js";
import { InterruptedError, UsageError } from "./errors.js";
import { booleanParser } from "./parse-options.js";
import type { CliIo } from "./io.js";
import { registerPredictCommand } from "./predict-command.js";
import { registerProjectCommands } from "./project-commands.js";
import { registerInitCommand } from "./init-command.js";
import { registerServeCommand } from "./serve-command.js";
import { registerStoreCommands } from "./store-commands.js";

/**
 * The commander program, writing its help and usage errors to `io` (subcommands inherit that).
 * `argv` is the command line, which `run` logs as its run's command tag.
 */
export function buildProgram(argv: readonly string[], io: CliIo): Command {
  const program = new Command("pipeserve")
    .description(
      "Package inference pipelines with their training artifacts, and serve them (MLflow /invocations and Open Inference Protocol v2) or run them over files.",
    )
    .configureOutput({
      writeOut: (text) => void io.stdout.write(text),
      writeErr: (text) => void io.stderr.write(text),
      // NB: commander's own default: the terminal's width, else 80.
      getOutHelpWidth: () => (io.stdout.isTTY ? io.stdout.columns : undefined) ?? 80,
      getErrHelpWidth: () => (io.stderr.isTTY ? io.stderr.columns : undefined) ?? 80,
    })
    .version(pipeserveVersion(), "-V, --version")
    .showHelpAfterError("(run with --help for usage)")
    .exitOverride();
  registerServeCommand(program, io);
  registerPredictCommand(program, io);
  registerInitCommand(program, io);
  registerProjectCommands(program, argv, io);
  registerStoreCommands(program, io);
  return program;
}

/**
 * Runs `pipeserve` with `argv` (the arguments after the command name, as in
 * `process.argv.slice(2)`) and returns the exit code: 0, 1 for a failure, 2 for a usage error,
 * 130 or 143 for a run stopped by SIGINT or SIGTERM.
 */
export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  const program = buildProgram(argv, io);
  let debug = false;
  try {
    debug = debugFromEnv(io.env);
    // NB: read when Parquet is first met, deep in a run: a bad value is refused before anything starts.
    checkWasmTieringBudget(io.env);
    await program.parseAsync([...argv], { from: "user" });
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2;
    io.stderr.write(errorReport(error, { debug, cwd: io.cwd }));
    if (error instanceof InterruptedError) return error.exitCode;
    // NB: a model or tracking URI that is no URI came from a flag or a variable: a usage error too (it was 1; found by an audit).
    return error instanceof UsageError || (error as { code?: unknown } | null)?.code === "INVALID_URI" ? 2 : 1;
  }
}

/**
 * PIPESERVE_DEBUG, a boolean as every variable takes it (`1`/`0`, `true`/`false`, `yes`/`no`; unset:
 * off). NB: any value used to turn it on, `PIPESERVE_DEBUG=false` too.
 * @throws UsageError (exit 2) naming the variable for another value.
 */
function debugFromEnv(env: Readonly<Record<string, string | undefined>>): boolean {
  const value = env["PIPESERVE_DEBUG"];
  return value === undefined ? false : booleanParser("PIPESERVE_DEBUG")(value);
}

/** @throws UsageError (exit 2) for a PIPESERVE_WASM_TIERING_BUDGET that V8 would not take. */
function checkWasmTieringBudget(env: Readonly<Record<string, string | undefined>>): void {
  try {
    wasmTieringBudget(env);
  } catch (error) {
    if (error instanceof WasmTieringBudgetError) throw new UsageError(error.message);
    throw error;
  }
}
