/** A batch run that cannot go on: a bad row, a bad option, an unreadable input. */
export class BatchError extends Error {
  readonly code: string;
  constructor(message: string, options?: { code?: string; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = options?.code ?? "BATCH_ERROR";
  }
}
