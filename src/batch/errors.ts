import { type BatchErrorCode, type PartErrorOptions, PipeserveError } from "../errors/index.js";

/** A batch run that cannot go on: a bad row, a bad option, an unreadable input. */
export class BatchError extends PipeserveError<BatchErrorCode> {
  constructor(message: string, options: PartErrorOptions<BatchErrorCode> = {}) {
    super(message, { ...options, code: options.code ?? "BATCH_ERROR" });
  }
}
