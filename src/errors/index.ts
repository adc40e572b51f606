/**
 * @module errors
 * The error foundation every part builds on: `PipeserveError` (a stable typed `code`, `cause`
 * passed through, optional `data` beside the message), the codes of each part as string-literal
 * unions, and the one table from code to HTTP status (and from there to gRPC status) that the
 * server answers with. It imports nothing, so every part may import it.
 */
export {
  ERROR_CODES,
  HTTP_STATUS,
  GRPC_CODE,
  grpcCodeOf,
  grpcCodeOfHttpStatus,
  type GrpcCodeName,
  isErrorCodeOf,
  type ErrorKind,
  type ErrorCodeOf,
  type ErrorCode,
  type HttpStatus,
  type HttpErrorCode,
  type PipelineErrorCode,
  type DatasetErrorCode,
  type TabularErrorCode,
  type StoreErrorCode,
  type PackagingErrorCode,
  type ModelLoadErrorCode,
  type RunnerNotAllowedErrorCode,
  type BatchErrorCode,
  type UsageErrorCode,
  type ListenErrorCode,
} from "./codes.js";
export { PipeserveError, type PipeserveErrorOptions, type PartErrorOptions } from "./pipeserve-error.js";
