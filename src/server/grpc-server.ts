import { randomUUID } from "node:crypto";
import { fileURLToPath } from "node:url";
import type * as grpc from "@grpc/grpc-js";
import type { Logger } from "pino";
import { GRPC_CODE, grpcCodeOfHttpStatus, type GrpcCodeName } from "../errors/index.js";
import { listenError } from "./serve.js";
import { HttpError, toErrorReply } from "./errors.js";
import { decodeGrpcInferRequest, encodeGrpcInferResponse, type ModelInferRequestMessage } from "./grpc-codec.js";
import { checkInferRequestWire } from "./grpc-wire-budget.js";
import { type FailedModel, failedModelMessage } from "./model-set-app.js";
import type { ModelService } from "./model-service.js";
import type { ServedModel } from "./model-slot.js";
import { checkServedVersion, inPositionalOrder, modelMetadataOf } from "./open-inference.js";
import { RequestLog } from "./request-log.js";
import type { ServerMetrics } from "./metrics.js";
import type { ServerState } from "./scorer.js";

/** The Open Inference Protocol's gRPC service definition, shipped with pipeserve for clients too. */
export const INFERENCE_PROTO = fileURLToPath(new URL("../../proto/inference.proto", import.meta.url));

/** The gRPC service's full name, as health checks name it. */
export const INFERENCE_SERVICE = "inference.GRPCInferenceService";

const REQUEST_ID = /^[\w.:-]{1,128}$/;

/** What the gRPC server serves: the loaded models by name (the first is the default), those that failed, and the server's state. */
export interface GrpcModels {
  services: ReadonlyMap<string, ModelService>;
  failed: readonly FailedModel[];
  /** The server's state, which the HTTP server turns off while draining. */
  state: ServerState;
  /** The server's own metrics, where calls that name no model are counted. */
  metrics: ServerMetrics;
}

export interface GrpcServeOptions {
  port: number;
  host: string;
  models: GrpcModels;
  logger: Logger;
  version: string;
  /** Largest request message in bytes (the REST body limit, `--max-body`); 100 MB by default. */
  maxMessageBytes?: number;
  /** Stack traces and internal messages in error details. Off by default. */
  debug?: boolean;
}

export interface RunningGrpcServer {
  server: grpc.Server;
  port: number;
  /**
   * Stops taking calls (health NOT_SERVING, new calls refused) and resolves once the calls in
   * flight are answered, or after `ms` when it cancels those left.
   */
  drain(ms: number): Promise<void>;
}

/** An error as a gRPC status: the REST route's status mapped to its gRPC code, its message as the details. */
function errorStatus(grpcJs: typeof grpc, error: unknown, requestId: string, debug: boolean, log: Logger): grpc.ServiceError {
  // NB: the request id an unexpected error's message points at travels as x-request-id metadata here.
  const reply = toErrorReply(error, debug, "the x-request-id metadata");
  if (reply.internal) log.error({ reqId: requestId, err: error }, reply.message);
  const metadata = new grpcJs.Metadata();
  metadata.set("x-request-id", requestId);
  return Object.assign(new Error(reply.message), {
    code: GRPC_CODE[grpcCodeOfHttpStatus(reply.status)],
    details: reply.message,
    metadata,
  }) as grpc.ServiceError;
}

/** The name of a gRPC status code. */
function codeName(code: number): GrpcCodeName {
  return (Object.keys(GRPC_CODE) as GrpcCodeName[]).find((k) => GRPC_CODE[k] === code) ?? "UNKNOWN";
}

/** The models a call can name: finds one by name, checks a version, and says whether all can take predictions. */
class GrpcModelDirectory {
  readonly #models: GrpcModels;
  readonly #failed: ReadonlyMap<string, FailedModel>;
  readonly #servedNames: string;

  constructor(models: GrpcModels) {
    this.#models = models;
    this.#failed = new Map(models.failed.map((f) => [f.name, f]));
    this.#servedNames = [...models.services.keys(), ...this.#failed.keys()].map((n) => `"${n}"`).join(", ");
  }

  isFailed(name: string | undefined): boolean {
    return name !== undefined && this.#failed.has(name);
  }

  /** The model a call names. @throws HttpError BAD_REQUEST (no name), NOT_FOUND, TEMPORARILY_UNAVAILABLE (it failed to load). */
  serviceOf(name: string | undefined): ModelService {
    if (name === undefined || name === "") throw new HttpError("BAD_REQUEST", `Name the model: this server serves ${this.#servedNames}.`);
    const service = this.#models.services.get(name);
    if (service) return service;
    const failure = this.#failed.get(name);
    if (failure) throw new HttpError("TEMPORARILY_UNAVAILABLE", failedModelMessage(failure));
    throw new HttpError("NOT_FOUND", `Model "${name}" is not served here; this server serves ${this.#servedNames}.`);
  }

  /** @throws HttpError NOT_FOUND when a version is asked for and it is not the one served. */
  checkVersion(served: ServedModel, name: string, requested: string | undefined): void {
    checkServedVersion(name, requested, served.registeredVersion);
  }

  /** Why the server cannot take predictions now (draining, a queue full), as GET /v2/health/ready reports it. */
  notReadyReason(): string | undefined {
    const reason = this.#models.state.notReadyReason();
    if (reason !== undefined) return reason;
    for (const service of this.#models.services.values()) {
      const own = service.state.notReadyReason();
      if (own !== undefined) return own;
    }
    return undefined;
  }
}

/** The model a call is answered by: its service, and the version it took when the call began. */
interface CallModel {
  service: ModelService;
  model: ServedModel;
}

type UnaryAnswer<Req, Res> = (request: Req, served: CallModel | undefined, call: grpc.ServerUnaryCall<Req, Res>, requestId: string) => Promise<Res> | Res;

/**
 * Wraps unary RPCs with what every call gets: a request id (the client's `x-request-id` metadata,
 * else a new one), the model the request names taken once (answered wholly by that version, as a
 * REST request), the version and request id sent as metadata, errors as statuses, and the call
 * counted and logged in that model's metrics (the server's when it names none).
 */
function unaryWrapper(grpcJs: typeof grpc, directory: GrpcModelDirectory, options: GrpcServeOptions) {
  const debug = options.debug ?? false;
  const logs = new Map([...options.models.services].map(([name, s]) => [name, new RequestLog(s.log, s.metrics)]));
  const serverLog = new RequestLog(options.logger, options.models.metrics);
  return <Req extends object, Res>(
    rpc: string,
    modelOf: ((request: Req) => string | undefined) | undefined,
    answer: UnaryAnswer<Req, Res>,
  ): grpc.handleUnaryCall<Req, Res> => {
    const route = `/${INFERENCE_SERVICE}/${rpc}`;
    return (call, callback) => {
      const start = performance.now();
      const incoming = call.metadata.get("x-request-id")[0];
      const requestId = typeof incoming === "string" && REQUEST_ID.test(incoming) ? incoming : randomUUID();
      let served: CallModel | undefined;
      const finish = (error: grpc.ServiceError | null, response?: Res): void => {
        if (served) {
          served.service.slot.release(served.model);
          served.service.metrics.requestsInFlight--;
        }
        const status = error ? codeName(error.code ?? GRPC_CODE.UNKNOWN) : "OK";
        const log = (served ? logs.get(served.service.name) : undefined) ?? serverLog;
        log.add({ reqId: requestId, route, method: "GRPC", path: route, status, seconds: (performance.now() - start) / 1000 });
        if (error) callback(error);
        else callback(null, response);
      };
      const fail = (error: unknown): void => finish(errorStatus(grpcJs, error, requestId, debug, served?.service.log ?? options.logger));
      try {
        // NB: a request naming a model that failed to load gets no model (modelOf says undefined).
        const name = modelOf?.(call.request);
        if (name !== undefined) {
          const service = directory.serviceOf(name);
          service.metrics.requestsInFlight++;
          served = { service, model: service.slot.acquire() };
          const metadata = new grpcJs.Metadata();
          metadata.set("x-request-id", requestId);
          if (served.model.versionHeader !== undefined) metadata.set("x-pipeserve-model-version", served.model.versionHeader);
          call.sendMetadata(metadata);
        }
        Promise.resolve(answer(call.request, served, call, requestId)).then((response) => finish(null, response), fail);
      } catch (error) {
        fail(error);
      }
    };
  };
}

/** A call's deadline as a `performance.now()` time, or undefined when it has none. */
function callerDeadlineOf(call: grpc.ServerUnaryCall<unknown, unknown>): number | undefined {
  const deadline = call.getDeadline();
  const ms = deadline instanceof Date ? deadline.getTime() : deadline;
  return Number.isFinite(ms) ? performance.now() + (ms - Date.now()) : undefined;
}

/** ModelInfer: the REST infer route's steps (admit, decode within limits, predict, encode) over the gRPC codec. */
async function modelInfer(request: ModelInferRequestMessage, served: CallModel, call: grpc.ServerUnaryCall<unknown, unknown>, requestId: string) {
  const { service, model } = served;
  const scorer = model.scorer;
  scorer.admitRequest();
  const decoded = decodeGrpcInferRequest(request, scorer.limits, model.model.signature?.inputs ?? null);
  const result = await scorer.predict(inPositionalOrder(decoded.table, model.model.signature?.inputs), { params: decoded.params }, callerDeadlineOf(call));
  const response = encodeGrpcInferResponse(result.output, model.model.signature, {
    modelName: service.name,
    modelVersion: model.registeredVersion,
    id: decoded.id,
    outputs: decoded.outputs,
    raw: decoded.raw,
  });
  scorer.notePrediction(result, requestId);
  // NB: what REST says in X-Pipeserve-Ignored-Params, a response parameter says here.
  if (result.ignoredParams.length > 0)
    response.parameters["pipeserve_ignored_params"] = { parameter_choice: "string_param", string_param: result.ignoredParams.join(",") };
  return response;
}

/** The six RPCs of `inference.GRPCInferenceService`. */
function inferenceImplementation(
  unary: ReturnType<typeof unaryWrapper>,
  directory: GrpcModelDirectory,
  options: GrpcServeOptions,
): grpc.UntypedServiceImplementation {
  type NamedRequest = { name?: string; version?: string };
  return {
    ServerLive: unary("ServerLive", undefined, () => ({ live: true })),
    ServerReady: unary("ServerReady", undefined, () => ({ ready: directory.notReadyReason() === undefined })),
    // NB: no extensions: the repository RPCs (model_repository) are not served over gRPC.
    ServerMetadata: unary("ServerMetadata", undefined, () => ({ name: "pipeserve", version: options.version, extensions: [] })),
    // NB: a model that failed to load is known, and not ready; an unknown one is NOT_FOUND; no name, INVALID_ARGUMENT.
    ModelReady: unary<NamedRequest, { ready: boolean }>(
      "ModelReady",
      (r) => (directory.isFailed(r.name) ? undefined : (r.name ?? "")),
      (r, served) => {
        if (served === undefined) return { ready: false };
        directory.checkVersion(served.model, served.service.name, r.version);
        return { ready: served.service.state.notReadyReason() === undefined };
      },
    ),
    ModelMetadata: unary<NamedRequest, unknown>(
      "ModelMetadata",
      (r) => r.name ?? "",
      (r, served) => {
        directory.checkVersion((served as CallModel).model, (served as CallModel).service.name, r.version);
        return modelMetadataOf((served as CallModel).service.name, (served as CallModel).model);
      },
    ),
    ModelInfer: unary<ModelInferRequestMessage, unknown>(
      "ModelInfer",
      (r) => {
        // NB: a request refused before it was decoded has no fields, its model's name neither: its refusal is the answer.
        const refused = (r as { [WIRE_REFUSED]?: unknown })[WIRE_REFUSED];
        if (refused !== undefined) throw refused;
        return r.model_name ?? "";
      },
      (r, served, call, requestId) => {
        directory.checkVersion((served as CallModel).model, (served as CallModel).service.name, r.model_version);
        return modelInfer(r, served as CallModel, call as grpc.ServerUnaryCall<unknown, unknown>, requestId);
      },
    ),
  };
}

/** Where a ModelInfer request refused by its wire budget carries why, in place of its fields. */
const WIRE_REFUSED = Symbol("pipeserve.wireRefused");

/**
 * The service definition with ModelInfer's requests counted before they are decoded
 * (`checkInferRequestWire`), against the widest `--max-cells` of the models served (each model's own
 * limits are checked once it is known). A refused request reaches its handler as `WIRE_REFUSED`,
 * which answers with the error as every other (RESOURCE_EXHAUSTED, INVALID_ARGUMENT), not as a
 * failed decoding (INTERNAL).
 */
function budgetedInfer(service: grpc.ServiceDefinition, models: GrpcModels): grpc.ServiceDefinition {
  const infer = service["ModelInfer"] as grpc.MethodDefinition<unknown, unknown>;
  const maxCells = (): number => Math.max(1, ...[...models.services.values()].map((s) => s.slot.current.scorer.limits.maxCells));
  const requestDeserialize = (bytes: Buffer): unknown => {
    try {
      checkInferRequestWire(bytes, { maxCells: maxCells() });
    } catch (error) {
      return { [WIRE_REFUSED]: error };
    }
    return infer.requestDeserialize(bytes);
  };
  return { ...service, ModelInfer: { ...infer, requestDeserialize } };
}

/**
 * Serves the Open Inference Protocol's gRPC service (`inference.GRPCInferenceService`) and
 * `grpc.health.v1` over the same models, limits, batching, metrics and errors as the REST routes:
 * each call takes a model's current version once (hot swaps included), a ModelInfer goes through
 * its Scorer (queue, timeout or the call's deadline, adaptive batching), and errors are the REST
 * routes' mapped to gRPC codes (the table in src/errors). Calls are counted in each model's
 * metrics with `method="GRPC"`, the RPC's path as the route and the status's name.
 * @throws ListenError when it cannot bind (the port in use…), naming --grpc-port.
 */
export async function serveGrpc(options: GrpcServeOptions): Promise<RunningGrpcServer> {
  // NB: loaded here, not at the top: a server without --grpc-port never loads gRPC.
  const [grpcJs, protoLoader, { HealthImplementation }] = await Promise.all([
    import("@grpc/grpc-js"),
    import("@grpc/proto-loader"),
    import("grpc-health-check"),
  ]);
  // NB: grpc-js writes its own errors to stderr ("E No address added…" beside our one-line bind
  // error); they go to the server's log instead, where every other line goes.
  grpcJs.setLogger({ error: (...args: unknown[]) => options.logger.warn({ source: "grpc-js" }, args.map(String).join(" ")) });
  const directory = new GrpcModelDirectory(options.models);
  const server = new grpcJs.Server({
    "grpc.max_receive_message_length": options.maxMessageBytes ?? 100 * 1024 * 1024,
    "grpc.max_send_message_length": -1,
  });
  // NB: int64 fields as strings, so none loses precision before it is checked.
  const definition = protoLoader.loadSync(INFERENCE_PROTO, { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true });
  server.addService(
    budgetedInfer(definition[INFERENCE_SERVICE] as grpc.ServiceDefinition, options.models),
    inferenceImplementation(unaryWrapper(grpcJs, directory, options), directory, options),
  );
  const health = new HealthImplementation({ "": "SERVING", [INFERENCE_SERVICE]: "SERVING" });
  health.addToServer(server);

  const drain = (ms: number): Promise<void> => {
    health.setStatus("", "NOT_SERVING");
    health.setStatus(INFERENCE_SERVICE, "NOT_SERVING");
    return new Promise((resolve) => {
      const force = setTimeout(() => {
        options.logger.warn("gRPC calls still running after the drain period; cancelling them");
        server.forceShutdown();
        resolve();
      }, ms);
      force.unref();
      server.tryShutdown(() => {
        clearTimeout(force);
        resolve();
      });
    });
  };

  return new Promise((resolve, reject) => {
    const address = `${options.host.includes(":") ? `[${options.host}]` : options.host}:${options.port}`;
    server.bindAsync(address, grpcJs.ServerCredentials.createInsecure(), (error, port) => {
      if (error) {
        server.forceShutdown();
        // NB: grpc-js words it "No address added out of total 1 resolved", with the errno inside.
        const errno = /\b(EADDRINUSE|EACCES|EADDRNOTAVAIL|ENOTFOUND|EAI_AGAIN)\b/.exec(error.message)?.[1];
        const cause = Object.assign(new Error(error.message), errno ? { code: errno } : {});
        reject(listenError(cause, options.host, options.port, "--grpc-port"));
        return;
      }
      resolve({ server, port, drain });
    });
  });
}
