import { type ModelLoadErrorCode, PipeserveError, type UsageErrorCode } from "../errors/index.js";

/** A mistake in how a command was called: printed without a stack, exit code 2. */
export class UsageError extends PipeserveError<UsageErrorCode> {
  constructor(message: string) {
    super(message, { code: "USAGE" });
  }
}

/** `serve` could not start: a model it was given failed to load. The message names the model, its URI and why. */
export class ModelStartError extends PipeserveError<ModelLoadErrorCode> {
  constructor(message: string) {
    super(message, { code: "MODEL_LOAD_ERROR" });
  }
}

/** The exit codes of a command ended by a signal, as shells report them (128 + the signal's number). */
const SIGNAL_EXIT_CODES: Partial<Record<NodeJS.Signals, number>> = { SIGHUP: 129, SIGINT: 130, SIGTERM: 143 };

/**
 * A command stopped by a signal (Ctrl-C, a Job's SIGTERM) after cleaning up: printed without a
 * stack, with the exit code a shell gives a command that signal ended (130 for SIGINT, 143 for
 * SIGTERM), so scripts and Kubernetes tell an interruption from a failure.
 */
export class InterruptedError extends Error {
  readonly exitCode: number;

  /** `what`: what became of the output, e.g. "the partial output was removed". */
  constructor(
    readonly signal: NodeJS.Signals,
    what: string,
  ) {
    super(`Interrupted by ${signal}; ${what}.`);
    this.name = "InterruptedError";
    this.exitCode = SIGNAL_EXIT_CODES[signal] ?? 1;
  }
}
