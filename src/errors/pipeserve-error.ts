import type { ErrorCode } from "./codes.js";

/** What every pipeserve error is made with: its code, and optionally the error that caused it and data about it. */
export interface PipeserveErrorOptions<C extends ErrorCode, D = unknown> {
  code: C;
  cause?: unknown;
  data?: D;
}

/** The options of a part's base error: its code may be left out, for the part's default. */
export type PartErrorOptions<C extends ErrorCode, D = unknown> = Partial<PipeserveErrorOptions<C, D>>;

/**
 * The base of every pipeserve error: a stable `code` (one of a part's codes, with its HTTP status
 * in `HTTP_STATUS`), the message for people, the `cause` passed through, and optional `data` for
 * programs (as Zod's issues carry `code` and `path` apart from their wording). Each part has one
 * base class extending it with the part's code union.
 */
export class PipeserveError<C extends ErrorCode = ErrorCode, D = unknown> extends Error {
  readonly code: C;
  /** Set only when given, so errors without data look as they always did (no `data` key). */
  declare readonly data?: D;

  constructor(message: string, options: PipeserveErrorOptions<C, D>) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = options.code;
    if (options.data !== undefined) this.data = options.data;
  }
}
