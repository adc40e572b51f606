import { type PackagingErrorCode, type PartErrorOptions, PipeserveError } from "../errors/index.js";

/** Base of the errors about building, checking and writing a packaged model. */
export class PackagingError extends PipeserveError<PackagingErrorCode> {
  constructor(message: string, options: PartErrorOptions<PackagingErrorCode> = {}) {
    super(message, { ...options, code: options.code ?? "PACKAGING_ERROR" });
  }
}
