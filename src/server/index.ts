/**
 * @module server
 * The HTTP face of pipeserve: a Hono app built from a loaded model (`createApp`), serving MLflow's
 * scoring protocol and the Open Inference Protocol v2, with limits, metrics and a lifecycle. The
 * scoring itself (limits, timeout, batching, decoding, negotiation, encoding) is the
 * framework-free `Scorer`, which the routes only wrap.
 */
export { createApp, createServingApp, ServerState, type AppOptions } from "./app.js";
export { ModelSlot, ServedModel, servedVersionOf } from "./model-slot.js";
export { ModelService, type ModelRoute } from "./model-service.js";
export { MODEL_NAME, createModelSetApp, type FailedModel, type ModelSetEntry, type ModelSetOptions } from "./model-set-app.js";
export type { RepositoryIndexEntry } from "./repository-routes.js";
export { ModelWatcher, type ModelWatcherOptions } from "./model-watcher.js";
export { Scorer, defaultTimeoutMs, type ErrorShape, type ScoreRequest, type ScoreResponse, type ScorerOptions } from "./scorer.js";
export { ERROR_STATUS, HttpError, toErrorReply, type ErrorReply } from "./errors.js";
export {
  BODY_TYPES,
  RESPONSE_TYPES,
  parseContentType,
  negotiateResponseType,
  acceptedResponseTypes,
  type BodyType,
  type ResponseType,
} from "./content-type.js";
export { decodeBody, encodeResponse, queryParams, type DecodedBody } from "./invocations.js";
export { ServerMetrics, mergedMetrics, type MetricsExposition } from "./metrics.js";
export { ClusterMetrics, METRICS_MESSAGES } from "./cluster-metrics.js";
export { workerMetrics } from "./worker-metrics.js";
export { serveApp, ListenError, listenError, type ServeOptions, type RunningServer } from "./serve.js";
export { TurnBatchedDestination, type LineSink } from "./log-destination.js";
export { flushRequestLogs } from "./request-log.js";
export { INFERENCE_PROTO, INFERENCE_SERVICE, serveGrpc, type GrpcModels, type GrpcServeOptions, type RunningGrpcServer } from "./grpc-server.js";
export {
  decodeGrpcInferRequest,
  encodeGrpcInferResponse,
  type DecodedInferRequest,
  type ModelInferRequestMessage,
  type ModelInferResponseMessage,
} from "./grpc-codec.js";
