/** Base of every error raised while reading, converting or checking tabular data. */
export class TabularError extends Error {
  readonly code: string;
  constructor(message: string, options?: { code?: string; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = options?.code ?? "TABULAR_ERROR";
  }
}

/** Input that cannot be parsed: malformed JSON or CSV, ragged rows, an unknown request form. */
export class FormatError extends TabularError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, { code: "BAD_REQUEST", ...options });
  }
}

/** Data that parses but breaks the model signature: a missing column, a lossy value, a bad param. */
export class SchemaError extends TabularError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, { code: "INVALID_PARAMETER_VALUE", ...options });
  }
}
