import { type PartErrorOptions, PipeserveError, type TabularErrorCode } from "../errors/index.js";
import type { ColumnType } from "./signature.js";

/**
 * What a refused column value carries beside its message, for programs (batch sets the row
 * aside by it): the column, the row as the message numbers it (its position plus `rowOffset`),
 * the column's type and the value seen.
 */
export interface ColumnValueIssue {
  column: string;
  row: number;
  expected: ColumnType;
  received: unknown;
}

/** The options of the tabular errors: a cause, and the refused value's issue when there is one. */
export type TabularErrorOptions = Omit<PartErrorOptions<TabularErrorCode, ColumnValueIssue>, "code">;

/** Base of every error raised while reading, converting or checking tabular data. */
export class TabularError extends PipeserveError<TabularErrorCode, ColumnValueIssue> {
  constructor(message: string, options: PartErrorOptions<TabularErrorCode, ColumnValueIssue> = {}) {
    super(message, { ...options, code: options.code ?? "TABULAR_ERROR" });
  }
}

/** Input that cannot be parsed: malformed JSON or CSV, ragged rows, an unknown request form, a value that cannot be converted. */
export class FormatError extends TabularError {
  constructor(message: string, options: TabularErrorOptions = {}) {
    super(message, { ...options, code: "BAD_REQUEST" });
  }
}

/** Data that parses but breaks the model signature: a missing column, a lossy value, a bad param. */
export class SchemaError extends TabularError {
  constructor(message: string, options: TabularErrorOptions = {}) {
    super(message, { ...options, code: "INVALID_PARAMETER_VALUE" });
  }
}

/** Input bigger than the work one request may cause: more rows or cells than the server's limits (413). */
export class LimitError extends TabularError {
  constructor(message: string, options: TabularErrorOptions = {}) {
    super(message, { ...options, code: "REQUEST_TOO_LARGE" });
  }
}

/** Bytes that are not UTF-8 where text is expected (a request body): a FormatError (400) a protocol may word its own way. */
export class NotUtf8Error extends FormatError {}
