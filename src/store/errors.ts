/** Base of the errors about the run store and the model registry. */
export class StoreError extends Error {
  readonly code: string;
  constructor(message: string, options?: { code?: string; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = options?.code ?? "STORE_ERROR";
  }
}

/** A run, experiment, model, version or alias that does not exist; the message names what does. */
export class NotFoundError extends StoreError {
  constructor(message: string) {
    super(message, { code: "RESOURCE_DOES_NOT_EXIST" });
  }
}
