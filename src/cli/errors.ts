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
