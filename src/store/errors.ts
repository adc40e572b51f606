import { type PartErrorOptions, PipeserveError, type StoreErrorCode } from "../errors/index.js";

/** Base of the errors about the run store and the model registry. */
export class StoreError extends PipeserveError<StoreErrorCode> {
  constructor(message: string, options: PartErrorOptions<StoreErrorCode> = {}) {
    super(message, { ...options, code: options.code ?? "STORE_ERROR" });
  }
}

/** A run, experiment, model, version or alias that does not exist; the message names what does. */
export class NotFoundError extends StoreError {
  /** `data`: for an answer of a tracking server, its `error_code` and HTTP status. */
  constructor(message: string, options: Omit<PartErrorOptions<StoreErrorCode>, "code"> = {}) {
    super(message, { ...options, code: "RESOURCE_DOES_NOT_EXIST" });
  }
}
