/** Base of the errors about building, checking and writing a packaged model. */
export class PackagingError extends Error {
  readonly code: string;
  constructor(message: string, options?: { code?: string; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = options?.code ?? "PACKAGING_ERROR";
  }
}
