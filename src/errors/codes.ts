/**
 * Every error code pipeserve raises, listed per error base (which part raises it), and the one
 * table from code to HTTP status. A code is a string literal of its part's union: a misspelt or
 * new code is a type error until it is listed here and given a status.
 */
export const ERROR_CODES = {
  /** The codes an HTTP reply carries: MLflow's (mlflow/exceptions.py) and the HTTP-level ones pipeserve adds. */
  http: [
    "BAD_REQUEST",
    "INVALID_PARAMETER_VALUE",
    "MALFORMED_REQUEST",
    "NOT_FOUND",
    "RESOURCE_DOES_NOT_EXIST",
    "METHOD_NOT_ALLOWED",
    "NOT_ACCEPTABLE",
    "REQUEST_TIMEOUT",
    "REQUEST_TOO_LARGE",
    "UNSUPPORTED_MEDIA_TYPE",
    "REQUEST_HEADER_FIELDS_TOO_LARGE",
    "RESOURCE_EXHAUSTED",
    "REQUEST_LIMIT_EXCEEDED",
    "INTERNAL_ERROR",
    "TEMPORARILY_UNAVAILABLE",
    "DEADLINE_EXCEEDED",
    "CLIENT_CLOSED_REQUEST",
  ],
  /** runtime: building and running pipelines (`PipelineError`). */
  pipeline: [
    "PIPELINE_ERROR",
    "NODE_FAILED",
    "CYCLE",
    "DUPLICATE_NODE",
    "DUPLICATE_OUTPUT",
    "UNKNOWN_NODE",
    "UNKNOWN_DATASET",
    "OUTPUT_MISMATCH",
    "INVALID_RUNNER_OPTION",
    "NO_PIPELINE_SOURCE",
    "RUNNER_CLOSED",
    "RUN_TIMED_OUT",
    "RUN_ABORTED",
  ],
  /** runtime: datasets and the catalog (`DatasetError`). */
  dataset: [
    "DATASET_ERROR",
    "INVALID_CATALOG",
    "INVALID_DATASET",
    "INVALID_COPY_MODE",
    "DATASET_EXISTS",
    "DATASET_NOT_FOUND",
    "DATASET_EMPTY",
    "DATASET_LOAD_FAILED",
    "DATASET_SAVE_FAILED",
    "DATASET_CHECK_FAILED",
    "UNKNOWN_PARAMETER",
    "MISSING_INPUTS",
    "READ_ONLY",
  ],
  /** tabular: reading, converting and checking data (`TabularError`); bad input carries MLflow's codes; files that cannot be read or written (`FileAccessError`); a request past the row and cell limits (`LimitError`). */
  tabular: ["TABULAR_ERROR", "BAD_REQUEST", "INVALID_PARAMETER_VALUE", "UNREADABLE_INPUT", "UNWRITABLE_OUTPUT", "REQUEST_TOO_LARGE"],
  /** store: runs, the registry, archives (`StoreError`). */
  store: ["STORE_ERROR", "RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE", "INVALID_URI", "INVALID_ARCHIVE", "ARCHIVE_TOO_LARGE", "CORRUPT_STORE"],
  /** packager: building and writing a model (`PackagingError`). */
  packaging: [
    "PACKAGING_ERROR",
    "INVALID_PROJECT",
    "INVALID_PIPELINE_ML",
    "INVALID_PARAMS",
    "UNKNOWN_PIPELINE",
    "MISSING_PARAMETER",
    "MISSING_INPUTS",
    "INVALID_SIGNATURE",
    "SIGNATURE_MISMATCH",
    "INVALID_EXAMPLE",
    "NO_EXAMPLE",
    "INFERENCE_CHECK_FAILED",
    "BUNDLE_FAILED",
    "MODEL_EXISTS",
    "MISSING_ARTIFACT",
    "ARTIFACT_NAME_CLASH",
    "TYPE_ERRORS",
  ],
  /** loader: finding, checking and loading a model (`ModelLoadError`). */
  modelLoad: [
    "MODEL_LOAD_ERROR",
    "INVALID_URI",
    "INVALID_ARCHIVE",
    "ARCHIVE_TOO_LARGE",
    "MODEL_NOT_FOUND",
    "RUN_DELETED",
    "INVALID_MODEL_FILE",
    "UNSUPPORTED_FLAVOR",
    "UNSUPPORTED_FORMAT_VERSION",
    "MISSING_FILE",
    "UNREADABLE_FILE",
    "INTEGRITY_ERROR",
    "REGISTRY_DIGEST_MISMATCH",
    "GRAPH_MISMATCH",
    "ENVIRONMENT_MISMATCH",
    "CODE_IMPORT_FAILED",
    "INVALID_RUNNER",
  ],
  /** loader: a runner named at call time that is not allowed (`RunnerNotAllowedError`). */
  runnerNotAllowed: ["INVALID_PARAMETER_VALUE"],
  /** batch: `pipeserve predict` over files (`BatchError`). */
  batch: ["BATCH_ERROR", "USAGE", "BAD_ROW", "BAD_OUTPUT", "WORKER_FAILED"],
  /** cli: how a command was called (`UsageError`). */
  usage: ["USAGE"],
  /** server: `serve` could not listen on its address and port (`ListenError`). */
  listen: ["ADDRESS_IN_USE", "LISTEN_FAILED"],
} as const;

/** The error bases, by the key `ERROR_CODES` lists their codes under. */
export type ErrorKind = keyof typeof ERROR_CODES;
/** The codes of one error base. */
export type ErrorCodeOf<K extends ErrorKind> = (typeof ERROR_CODES)[K][number];

export type HttpErrorCode = ErrorCodeOf<"http">;
export type PipelineErrorCode = ErrorCodeOf<"pipeline">;
export type DatasetErrorCode = ErrorCodeOf<"dataset">;
export type TabularErrorCode = ErrorCodeOf<"tabular">;
export type StoreErrorCode = ErrorCodeOf<"store">;
export type PackagingErrorCode = ErrorCodeOf<"packaging">;
export type ModelLoadErrorCode = ErrorCodeOf<"modelLoad">;
export type RunnerNotAllowedErrorCode = ErrorCodeOf<"runnerNotAllowed">;
export type BatchErrorCode = ErrorCodeOf<"batch">;
export type UsageErrorCode = ErrorCodeOf<"usage">;
export type ListenErrorCode = ErrorCodeOf<"listen">;
/** Every code pipeserve raises. */
export type ErrorCode = ErrorCodeOf<ErrorKind>;

/**
 * The HTTP status of every code: 4xx when the caller's input or call is wrong (a reply names the
 * fix), 5xx when the model, the store or the server is at fault. MLflow's codes keep MLflow's
 * statuses. NB: `satisfies` makes a missing or unknown code a type error.
 */
export const HTTP_STATUS = {
  // MLflow's codes, and the HTTP-level ones pipeserve adds.
  BAD_REQUEST: 400,
  INVALID_PARAMETER_VALUE: 400,
  MALFORMED_REQUEST: 400,
  NOT_FOUND: 404,
  RESOURCE_DOES_NOT_EXIST: 404,
  METHOD_NOT_ALLOWED: 405,
  NOT_ACCEPTABLE: 406,
  REQUEST_TIMEOUT: 408,
  REQUEST_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  REQUEST_HEADER_FIELDS_TOO_LARGE: 431,
  RESOURCE_EXHAUSTED: 429,
  REQUEST_LIMIT_EXCEEDED: 429,
  INTERNAL_ERROR: 500,
  TEMPORARILY_UNAVAILABLE: 503,
  DEADLINE_EXCEEDED: 504,
  // NB: nginx's status for a client that closed its connection before the answer; no client sees it.
  CLIENT_CLOSED_REQUEST: 499,
  // runtime: pipelines built wrong are the caller's mistake; failures while running are not.
  PIPELINE_ERROR: 500,
  NODE_FAILED: 500,
  CYCLE: 400,
  DUPLICATE_NODE: 400,
  DUPLICATE_OUTPUT: 400,
  UNKNOWN_NODE: 400,
  UNKNOWN_DATASET: 400,
  OUTPUT_MISMATCH: 500,
  INVALID_RUNNER_OPTION: 400,
  NO_PIPELINE_SOURCE: 500,
  RUNNER_CLOSED: 503,
  RUN_TIMED_OUT: 504,
  RUN_ABORTED: 503,
  DATASET_ERROR: 500,
  INVALID_CATALOG: 400,
  INVALID_DATASET: 400,
  INVALID_COPY_MODE: 400,
  DATASET_EXISTS: 409,
  DATASET_NOT_FOUND: 404,
  DATASET_EMPTY: 500,
  DATASET_LOAD_FAILED: 500,
  DATASET_SAVE_FAILED: 500,
  DATASET_CHECK_FAILED: 500,
  UNKNOWN_PARAMETER: 400,
  MISSING_INPUTS: 400,
  READ_ONLY: 400,
  // tabular: the caller names the files.
  TABULAR_ERROR: 400,
  UNREADABLE_INPUT: 400,
  UNWRITABLE_OUTPUT: 400,
  // store
  STORE_ERROR: 500,
  INVALID_ARCHIVE: 400,
  // an archive whose files add up to more than the extraction limit
  ARCHIVE_TOO_LARGE: 413,
  CORRUPT_STORE: 500,
  // packager
  PACKAGING_ERROR: 500,
  INVALID_PROJECT: 400,
  TYPE_ERRORS: 400,
  INVALID_PIPELINE_ML: 400,
  INVALID_PARAMS: 400,
  UNKNOWN_PIPELINE: 404,
  MISSING_PARAMETER: 400,
  INVALID_SIGNATURE: 400,
  SIGNATURE_MISMATCH: 400,
  INVALID_EXAMPLE: 400,
  NO_EXAMPLE: 400,
  INFERENCE_CHECK_FAILED: 500,
  BUNDLE_FAILED: 500,
  MODEL_EXISTS: 409,
  MISSING_ARTIFACT: 500,
  ARTIFACT_NAME_CLASH: 400,
  // loader: a model that is not valid is the caller's to fix; one that will not load here is the server's.
  MODEL_LOAD_ERROR: 500,
  INVALID_URI: 400,
  MODEL_NOT_FOUND: 404,
  // the model's run was deleted (`pipeserve runs delete`); `--allow-deleted` serves it anyway
  RUN_DELETED: 410,
  INVALID_MODEL_FILE: 400,
  UNSUPPORTED_FLAVOR: 400,
  UNSUPPORTED_FORMAT_VERSION: 400,
  MISSING_FILE: 400,
  UNREADABLE_FILE: 500,
  INTEGRITY_ERROR: 400,
  // the model's pipeline.json is not the one its registry version recorded
  REGISTRY_DIGEST_MISMATCH: 400,
  GRAPH_MISMATCH: 400,
  ENVIRONMENT_MISMATCH: 500,
  CODE_IMPORT_FAILED: 500,
  INVALID_RUNNER: 400,
  // batch and cli
  BATCH_ERROR: 500,
  USAGE: 400,
  BAD_ROW: 400,
  BAD_OUTPUT: 500,
  // a `predict --workers` thread stopped (crashed, exited) mid-run
  WORKER_FAILED: 500,
  // server start-up: no request ever carries these.
  ADDRESS_IN_USE: 500,
  LISTEN_FAILED: 500,
} as const satisfies Record<ErrorCode, number>;

/** An HTTP status some code maps to. */
export type HttpStatus = (typeof HTTP_STATUS)[ErrorCode];

/** Whether `code` is one of a kind's codes (e.g. whether a reply may carry it: `isErrorCodeOf("http", code)`). */
export function isErrorCodeOf<K extends ErrorKind>(kind: K, code: string): code is ErrorCodeOf<K> {
  return (ERROR_CODES[kind] as readonly string[]).includes(code);
}

/** gRPC status codes (grpc/status.h), by name: what a gRPC reply carries instead of an HTTP status. */
export const GRPC_CODE = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;

/** A gRPC status code's name. */
export type GrpcCodeName = keyof typeof GRPC_CODE;

/**
 * The gRPC status of each HTTP status an error maps to, as the gRPC routes answer what the REST
 * routes answer: the caller's mistakes INVALID_ARGUMENT (NOT_FOUND for what is not there), limits
 * RESOURCE_EXHAUSTED, a full queue or a draining server UNAVAILABLE (which clients retry), the
 * timeout DEADLINE_EXCEEDED, the model's or the server's faults INTERNAL.
 */
const GRPC_OF_HTTP: Readonly<Record<number, GrpcCodeName>> = {
  400: "INVALID_ARGUMENT",
  404: "NOT_FOUND",
  405: "UNIMPLEMENTED",
  406: "INVALID_ARGUMENT",
  409: "ALREADY_EXISTS",
  410: "NOT_FOUND",
  413: "RESOURCE_EXHAUSTED",
  415: "INVALID_ARGUMENT",
  429: "RESOURCE_EXHAUSTED",
  499: "CANCELLED",
  500: "INTERNAL",
  503: "UNAVAILABLE",
  504: "DEADLINE_EXCEEDED",
};

/** The gRPC status for an HTTP status (4xx not listed: INVALID_ARGUMENT; 5xx: INTERNAL). */
export function grpcCodeOfHttpStatus(status: number): GrpcCodeName {
  return GRPC_OF_HTTP[status] ?? (status >= 400 && status < 500 ? "INVALID_ARGUMENT" : "INTERNAL");
}

/** The gRPC status of an error code (through its HTTP status: one table for both protocols). */
export function grpcCodeOf(code: ErrorCode): GrpcCodeName {
  return grpcCodeOfHttpStatus(HTTP_STATUS[code]);
}
