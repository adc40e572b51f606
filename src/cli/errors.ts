import { PipeserveError, type UsageErrorCode } from "../errors/index.js";

/** A mistake in how a command was called: printed without a stack, exit code 2. */
export class UsageError extends PipeserveError<UsageErrorCode> {
  constructor(message: string) {
    super(message, { code: "USAGE" });
  }
}
