import { type ModelLoadErrorCode, type PartErrorOptions, PipeserveError, type RunnerNotAllowedErrorCode } from "../errors/index.js";

/** Base of the errors about finding, checking and loading a model. */
export class ModelLoadError extends PipeserveError<ModelLoadErrorCode> {
  constructor(message: string, options: PartErrorOptions<ModelLoadErrorCode> = {}) {
    super(message, { ...options, code: options.code ?? "MODEL_LOAD_ERROR" });
  }
}

/** A runner named at call time that is not on the allow-list: a caller's mistake (400), never an import. */
export class RunnerNotAllowedError extends PipeserveError<RunnerNotAllowedErrorCode> {
  constructor(name: unknown, allowed: readonly string[]) {
    super(`Runner ${JSON.stringify(name)} is not allowed. Use one of: ${allowed.join(", ")}.`, { code: "INVALID_PARAMETER_VALUE" });
  }
}
