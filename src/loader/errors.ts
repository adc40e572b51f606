/** Base of the errors about finding, checking and loading a model. */
export class ModelLoadError extends Error {
  readonly code: string;
  constructor(message: string, options?: { code?: string; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = options?.code ?? "MODEL_LOAD_ERROR";
  }
}

/** A runner named at call time that is not on the allow-list: a caller's mistake (400), never an import. */
export class RunnerNotAllowedError extends Error {
  readonly code = "INVALID_PARAMETER_VALUE";
  constructor(name: unknown, allowed: readonly string[]) {
    super(`Runner ${JSON.stringify(name)} is not allowed. Use one of: ${allowed.join(", ")}.`);
    this.name = new.target.name;
  }
}
