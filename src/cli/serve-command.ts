import cluster from "node:cluster";
import { type Command, Option } from "commander";
import type { Logger, pino as PinoFn } from "pino";
import type { PipelineModel, currentModelVersion as currentModelVersionFn, movingModelRef as movingModelRefFn } from "../loader/index.js";
import type { Registry } from "prom-client";
import type {
  ClusterMetrics as ClusterMetricsClass,
  GrpcModels,
  MetricsExposition,
  ModelSetEntry,
  ModelSlot,
  RunningGrpcServer,
  ModelWatcher as ModelWatcherClass,
  ServerMetrics,
  ServerState,
  TurnBatchedDestination as TurnBatchedDestinationClass,
  createModelSetApp as createModelSetAppFn,
  createServingApp as createServingAppFn,
  serveGrpc as serveGrpcFn,
} from "../server/index.js";
import { loadAllowedRunners } from "./allowed-runners.js";
import { ModelStartError, UsageError } from "./errors.js";
import { LOG_LEVELS, logLevelParser, serveEnvHelp, withServeEnv } from "./serve-env.js";
import { type CliIo, modelUriFromCwd, optionalRegistry, trackingUriOf } from "./io.js";
import { allowDeletedOption, collect, parseInteger, parseSeconds, parseSize, registryOption, trackingOption, watchSecondsParser } from "./parse-options.js";

/** One model of `serve -m NAME=URI -m NAME=URI`. */
export interface NamedModelUri {
  name: string;
  uri: string;
}

export interface ServeCommandOptions {
  /** The model served (the first, when several are). */
  modelUri: string;
  /**
   * Named models (`-m NAME=URI`, repeatable): served side by side, each under `/models/NAME/…`
   * and `/v2/models/NAME/…`, the first also at `/invocations`. Undefined for a bare `-m URI`.
   */
  models?: NamedModelUri[];
  /** With several models: start even when some fail to load, reporting them not ready (`--allow-partial-start`). */
  allowPartialStart?: boolean;
  /** The model's page at `GET /`; false with `--no-ui`. */
  ui?: boolean;
  /** The folder `--allow-runner ./module.mjs#Export` paths are relative to. */
  cwd: string;
  port: number;
  host: string;
  /**
   * Also serve the Open Inference Protocol over gRPC (`inference.GRPCInferenceService`, and
   * `grpc.health.v1`) on this port (`--grpc-port`; 0 picks a free one). Off when undefined.
   */
  grpcPort?: number;
  workers: number;
  allowRunner: string[];
  debug: boolean;
  timeoutMs?: number;
  maxBodyBytes?: number;
  maxQueue?: number;
  maxBatchRows?: number;
  maxRows?: number;
  maxCells?: number;
  maxConnections?: number;
  modelName?: string;
  trackingUri?: string;
  /** The model registry (`--registry-uri`), when not the tracking store's. */
  registryUri?: string;
  /** Serve the model of a deleted run (`--allow-deleted`). */
  allowDeleted?: boolean;
  logLevel: string;
  /**
   * Seconds between checks of a moving URI (`models:/NAME@ALIAS`, `models:/NAME/latest`) for
   * another version to swap in; 30 by default, 0 checks only on SIGHUP. Fixed URIs never reload.
   */
  watchSeconds?: number;
}

/** How often a moving model URI is checked when `--watch` is not given. */
export const DEFAULT_WATCH_SECONDS = 30;

/** A worker's exit code when it could not load the model: the primary stops, since every worker would fail alike. */
const EXIT_LOAD_FAILED = 3;
/** A worker's exit code when it could not listen (the port in use…): the primary stops, after saying why once. */
const EXIT_LISTEN_FAILED = 4;
/** The message a worker sends the primary before it exits with EXIT_LISTEN_FAILED. */
const LISTEN_FAILED = "listen-failed";

/**
 * The primary of `serve -w N`: forks the workers, starts another when one dies, forwards SIGTERM
 * and SIGINT, and stops everything (exit 1) when a worker cannot load the model or listen — which
 * every other worker would meet too — saying why once.
 */
function startWorkers(options: ServeCommandOptions, logger: Logger, metrics: ClusterMetricsClass): void {
  let stopping = false;
  let listenFailure: string | undefined;
  // NB: counted here, not from cluster.workers: Node removes a worker from that map on its
  // 'disconnect', which may come after its 'exit'; the last exit would then see a worker left and the
  // primary end on its own with code 0 after a failure.
  const live = new Set<number>();
  const fork = (): void => {
    const worker = cluster.fork();
    live.add(worker.id);
    // NB: a write to a worker that just died fails with EPIPE, emitted as 'error' on it: unhandled, it
    // would stop the primary and every worker. Its exit is what counts (and restarts it).
    worker.on("error", (error) => logger.warn({ worker: worker.process.pid, err: error }, "A message to a worker failed"));
  };
  const stopAll = (signal: NodeJS.Signals): void => {
    stopping = true;
    for (const w of Object.values(cluster.workers ?? {})) w?.process.kill(signal);
    if (live.size === 0) process.exit();
  };
  for (let i = 0; i < options.workers; i++) fork();
  cluster.on("message", (_worker, message: { pipeserve?: string; message?: string }) => {
    if (message?.pipeserve === LISTEN_FAILED) listenFailure ??= message.message;
  });
  cluster.on("exit", (worker, code, signal) => {
    live.delete(worker.id);
    metrics.exited(worker.id);
    if (stopping) {
      if (live.size === 0) process.exit();
      return;
    }
    if (code === EXIT_LOAD_FAILED || code === EXIT_LISTEN_FAILED) {
      // NB: set before anything else, so however the primary ends from here its exit says failure.
      process.exitCode = 1;
      if (code === EXIT_LOAD_FAILED) logger.fatal({ worker: worker.process.pid }, "The worker could not load the model; stopping.");
      // NB: on stderr, as `serve -w 1` (and every other command) says why it failed: one line.
      else process.stderr.write(`pipeserve: ${listenFailure ?? `Cannot listen on ${options.host}:${options.port}.`}\n`);
      stopAll("SIGTERM");
      return;
    }
    logger.error({ worker: worker.process.pid, code, signal }, "A worker stopped unexpectedly; starting another");
    metrics.restarted();
    fork();
  });
  const stop = (): void => {
    logger.info({ signal: "SIGTERM" }, "Stopping workers");
    stopAll("SIGTERM");
  };
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
  // NB: each worker follows the registry itself; SIGHUP to the primary asks every one to check now.
  process.on("SIGHUP", () => {
    for (const w of Object.values(cluster.workers ?? {})) w?.process.kill("SIGHUP");
  });
  logger.info({ workers: options.workers, port: options.port, host: options.host }, "Started workers");
}

/**
 * The server's log: JSON lines on stdout, written asynchronously (under load one write per batch
 * of lines instead of one syscall per request: access-log lines are written every 10 ms, and the
 * lines of one event-loop turn reach sonic-boom as one write), and flushed before the process exits
 * however it ends; `exit` flushes, then exits.
 */
function serveLogger(
  pino: typeof PinoFn,
  Destination: typeof TurnBatchedDestinationClass,
  level: string,
  flushRequestLogs: () => void,
): { logger: Logger; exit: (code: number) => never } {
  const destination = new Destination(pino.destination({ dest: 1, sync: false }));
  const logger = pino({ level, base: { pid: process.pid } }, destination);
  const flushLog = (): void => {
    // NB: the access-log lines still waiting for their timer first (see RequestLog), then the
    // destination; each on its own, so a failure of the first does not keep the second from running.
    try {
      flushRequestLogs();
    } catch {
      // a metric or a line that could not be recorded: the rest is still flushed
    }
    try {
      destination.flushSync();
    } catch {
      // nothing buffered, or stdout already closed
    }
  };
  process.once("exit", flushLog);
  const exit = (code: number): never => {
    flushLog();
    return process.exit(code);
  };
  return { logger, exit };
}

/**
 * `pipeserve serve`: loads the model once per process and serves it. With `-w N` the primary
 * forks N workers sharing the port and forwards SIGTERM to them; each drains its requests.
 */
export async function serveCommand(options: ServeCommandOptions): Promise<void> {
  // NB: imported here, not at the top: `pipeserve --help` and the other commands never load the server.
  const [
    { pino },
    {
      ClusterMetrics,
      ModelWatcher,
      ServerMetrics,
      ServerState,
      TurnBatchedDestination,
      createModelSetApp,
      createServingApp,
      defaultTimeoutMs,
      serveApp,
      serveGrpc,
      workerMetrics,
      flushRequestLogs,
    },
    { loadModel, currentModelVersion, movingModelRef, pipeserveVersion },
  ] = await Promise.all([
    import("pino"),
    import("../server/index.js"),
    // NB: the package's main entry: it registers the `pipeserve` API that the model's code imports.
    import("../index.js"),
  ]);
  const { logger, exit } = serveLogger(pino, TurnBatchedDestination, options.logLevel, flushRequestLogs);
  if (options.workers > 1 && cluster.isPrimary) return startWorkers(options, logger, new ClusterMetrics(cluster));
  const stores = {
    ...(options.trackingUri !== undefined ? { trackingUri: options.trackingUri } : {}),
    ...(options.registryUri !== undefined ? { registryUri: options.registryUri } : {}),
  };
  const runners = await loadAllowedRunners(options.allowRunner, options.cwd);
  const load = (uri: string) =>
    loadModel(uri, { ...stores, ...(options.allowDeleted ? { allowDeleted: true } : {}), runners, onWarning: (message) => logger.warn(message) });
  let loaded: LoadedModels;
  try {
    loaded = await loadModels(options, load, logger);
  } catch (error) {
    if (cluster.isWorker) {
      logger.fatal({ err: error }, options.models === undefined ? `Cannot load ${options.modelUri}` : (error as Error).message);
      exit(EXIT_LOAD_FAILED);
    }
    throw error;
  }
  const state = new ServerState();
  const metrics = new ServerMetrics({ defaultMetrics: true });
  // NB: a worker of `-w N` answers /metrics with every worker's figures, summed by the primary.
  let registries: readonly Registry[] = [];
  const metricsExposition = cluster.isWorker ? workerMetrics(() => registries) : undefined;
  const { app, served, grpcModels } = servingApp(loaded, options, { logger, state, metrics, metricsExposition, createServingApp, createModelSetApp });
  registries = [...new Set([metrics.registry, ...served.map((s) => s.metrics.registry)])];
  const closeAll = (): Promise<unknown> => Promise.all(served.map((s) => s.slot.current.model.close().catch(() => undefined)));
  const watchers: ModelWatcherClass[] = [];
  for (const s of served) {
    s.metrics.serving(s.slot.current.versionHeader);
    const watcher = followRegistry({ ...s, options, load, ModelWatcher, currentModelVersion, movingModelRef, stores });
    if (watcher) watchers.push(watcher);
  }
  // NB: SIGHUP checks every moving URI now; with none, it only says there is nothing to reload.
  process.on("SIGHUP", () => {
    if (watchers.length === 0) {
      logger.info({ signal: "SIGHUP" }, `${served.map((s) => s.uri).join(", ")}: every model URI names one model for good: nothing to reload`);
      return;
    }
    logger.info({ signal: "SIGHUP", models: served.map((s) => s.uri) }, "Checking the registry for other versions now");
    for (const watcher of watchers) void watcher.check();
  });
  let running: Awaited<ReturnType<typeof serveApp>>;
  let grpcServer: RunningGrpcServer | undefined;
  // NB: a request accepted just before the signal may run its whole timeout, then write its answer.
  const drainMs = (options.timeoutMs ?? defaultTimeoutMs()) + 5_000;
  try {
    // NB: gRPC first: once HTTP listens, /v2/health/ready says ready, and a probe may send gRPC traffic.
    if (options.grpcPort !== undefined)
      grpcServer = await startGrpc(options, options.grpcPort, { models: grpcModels, logger, version: pipeserveVersion(), serveGrpc });
    running = await serveApp(app as never, {
      port: options.port,
      host: options.host,
      state,
      logger,
      metrics,
      ...(options.maxConnections !== undefined ? { maxConnections: options.maxConnections } : {}),
      drainMs,
      // NB: SIGTERM drains both servers; the process ends when both have.
      onStopping: async () => grpcServer?.drain(drainMs),
      onStopped: (code) => {
        for (const watcher of watchers) watcher.stop();
        void closeAll().finally(() => exit(code));
      },
    });
  } catch (error) {
    // NB: nothing is served: the gRPC server (when HTTP could not listen) and the models' resources
    // (worker threads) must not keep the process alive.
    await grpcServer?.drain(0);
    await closeAll();
    // NB: a worker says why to the primary, which says it once for all workers and stops them.
    if (cluster.isWorker) {
      const send = process.send?.bind(process);
      if (send) await new Promise<void>((resolve) => send({ pipeserve: LISTEN_FAILED, message: (error as Error).message }, undefined, {}, () => resolve()));
      exit(EXIT_LISTEN_FAILED);
    }
    throw error;
  }
  for (const watcher of watchers) watcher.start();
  logServing(logger, options, loaded, served, running.port, grpcServer?.port);
}

/** The gRPC server beside the HTTP one (`--grpc-port`), within the same body limit. @throws ListenError when it cannot bind. */
function startGrpc(
  options: ServeCommandOptions,
  port: number,
  parts: { models: GrpcModels; logger: Logger; version: string; serveGrpc: typeof serveGrpcFn },
): Promise<RunningGrpcServer> {
  return parts.serveGrpc({
    port,
    host: options.host,
    models: parts.models,
    logger: parts.logger,
    version: parts.version,
    debug: options.debug,
    ...(options.maxBodyBytes !== undefined ? { maxMessageBytes: options.maxBodyBytes } : {}),
  });
}

/** Each model served: its name (with several), URI, slot, metrics, and logger (which names it, with several). */
type ServedModels = { name?: string; uri: string; slot: ModelSlot; metrics: ServerMetrics; logger: Logger }[];

/** The app for the model (createServingApp) or the models (createModelSetApp), within the command's limits. */
function servingApp(
  loaded: LoadedModels,
  options: ServeCommandOptions,
  parts: {
    logger: Logger;
    state: ServerState;
    metrics: ServerMetrics;
    metricsExposition: MetricsExposition | undefined;
    createServingApp: typeof createServingAppFn;
    createModelSetApp: typeof createModelSetAppFn;
  },
): { app: unknown; served: ServedModels; grpcModels: GrpcModels } {
  const { logger, state, metrics } = parts;
  const limits = {
    logger,
    ...(parts.metricsExposition ? { metricsExposition: parts.metricsExposition } : {}),
    debug: options.debug,
    ui: options.ui !== false,
    ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
    ...(options.maxBodyBytes !== undefined ? { maxBodyBytes: options.maxBodyBytes } : {}),
    ...(options.maxQueue !== undefined ? { maxQueue: options.maxQueue } : {}),
    ...(options.maxBatchRows !== undefined ? { maxBatchRows: options.maxBatchRows } : {}),
    ...(options.maxRows !== undefined ? { maxRows: options.maxRows } : {}),
    ...(options.maxCells !== undefined ? { maxCells: options.maxCells } : {}),
  };
  if (loaded.kind === "one") {
    const serving = parts.createServingApp(loaded.model, {
      ...limits,
      state,
      metrics,
      ...(options.modelName !== undefined ? { modelName: options.modelName } : {}),
    });
    return {
      app: serving.app,
      served: [{ uri: options.modelUri, slot: serving.slot, metrics, logger }],
      grpcModels: { services: new Map([[serving.service.name, serving.service]]), failed: [], state, metrics },
    };
  }
  const set = parts.createModelSetApp(loaded.entries, { ...limits, state, metrics });
  const uriOf = new Map(loaded.entries.map((e) => [e.name, e.uri]));
  return {
    app: set.app,
    served: [...set.services.values()].map((s) => ({ name: s.name, uri: uriOf.get(s.name) as string, slot: s.slot, metrics: s.metrics, logger: s.log })),
    grpcModels: { services: set.services, failed: set.failed, state, metrics },
  };
}

/** The one line operators (and scripts) wait for, logged whatever the level: the URL, and each model served. */
function logServing(
  logger: Logger,
  options: ServeCommandOptions,
  loaded: LoadedModels,
  served: ServedModels,
  port: number,
  grpcPort: number | undefined,
): void {
  const host = options.host.includes(":") ? `[${options.host}]` : options.host;
  const url = `http://${host}:${port}`;
  // NB: `grpc` is the gRPC server's address (host:port, as gRPC clients take it), when there is one.
  const grpc = grpcPort !== undefined ? { grpc: `${host}:${grpcPort}` } : {};
  const info = logger.child({}, { level: "info" });
  if (loaded.kind === "one") {
    info.info({ model: options.modelUri, version: served[0]?.slot.current.versionHeader, url, ...grpc }, "Serving");
    return;
  }
  const models = loaded.entries.map((e) =>
    "failure" in e
      ? { name: e.name, uri: e.uri, ready: false }
      : { name: e.name, uri: e.uri, version: served.find((s) => s.name === e.name)?.slot.current.versionHeader, ready: true },
  );
  info.info({ model: options.modelUri, models, url, ...grpc }, "Serving");
}

/** What `loadModels` gives: the one model of a bare `-m URI`, or the named models (some failed, with --allow-partial-start). */
type LoadedModels = { kind: "one"; model: PipelineModel } | { kind: "set"; entries: ModelSetEntry[] };

/**
 * Loads the model, or the named models side by side. A model that fails to load stops start-up
 * with its name (the others loaded are closed), unless --allow-partial-start: then it is served
 * as not ready, and logged; if none loads, start-up fails all the same.
 * @throws ModelStartError naming the model and its URI.
 */
async function loadModels(options: ServeCommandOptions, load: (uri: string) => Promise<PipelineModel>, logger: Logger): Promise<LoadedModels> {
  if (options.models === undefined) return { kind: "one", model: await load(options.modelUri) };
  const named = options.models;
  const results = await Promise.allSettled(named.map((m) => load(m.uri)));
  const entries: ModelSetEntry[] = [];
  const failures: string[] = [];
  for (const [i, result] of results.entries()) {
    const { name, uri } = named[i] as NamedModelUri;
    if (result.status === "fulfilled") {
      entries.push({ name, uri, model: result.value });
      continue;
    }
    // NB: without its closing period: the reasons are joined, and the message ends with one.
    const why = (result.reason instanceof Error ? result.reason.message : String(result.reason)).replace(/\.+$/, "");
    failures.push(`model "${name}" (${uri}): ${why}`);
    entries.push({ name, uri, failure: why });
    if (options.allowPartialStart)
      logger.error(
        { model: name, uri, err: result.reason },
        `Model "${name}" failed to load; serving the others, with "${name}" not ready (--allow-partial-start)`,
      );
  }
  const loaded = entries.filter((e): e is Extract<ModelSetEntry, { model: PipelineModel }> => "model" in e);
  if (failures.length > 0 && (!options.allowPartialStart || loaded.length === 0)) {
    await Promise.all(loaded.map((e) => e.model.close().catch(() => undefined)));
    const hint = options.allowPartialStart ? " None of the models loaded." : " Fix it, or start with --allow-partial-start to serve the others meanwhile.";
    throw new ModelStartError(`Cannot load ${failures.join("; ")}.${hint}`);
  }
  return { kind: "set", entries };
}

/** What `followRegistry` needs of `serveCommand`'s loaded parts (the server and loader modules load on demand). */
interface FollowParts {
  options: ServeCommandOptions;
  /** The model's URI as given. */
  uri: string;
  slot: ModelSlot;
  logger: Logger;
  metrics: ServerMetrics;
  load: (uri: string) => Promise<PipelineModel>;
  ModelWatcher: typeof ModelWatcherClass;
  currentModelVersion: typeof currentModelVersionFn;
  movingModelRef: typeof movingModelRefFn;
  stores: { trackingUri?: string; registryUri?: string };
}

/**
 * A watcher for a moving URI (an alias, latest), checked every --watch seconds and on SIGHUP;
 * undefined for a fixed URI, which is never reloaded.
 */
function followRegistry(parts: FollowParts): ModelWatcherClass | undefined {
  const { options, uri, slot, logger, metrics, load, ModelWatcher, currentModelVersion, movingModelRef, stores } = parts;
  const moving = movingModelRef(uri);
  const version = slot.current.model.metadata.version;
  if (!moving || version === undefined) return undefined;
  return new ModelWatcher({
    uri,
    currentVersion: () => currentModelVersion(uri, stores),
    load: (v) => load(`models:/${moving.name}/${v}`),
    servedVersion: version,
    slot,
    logger,
    metrics,
    intervalSeconds: options.watchSeconds ?? DEFAULT_WATCH_SECONDS,
  });
}

/**
 * MLflow's `mlflow models serve` flags, so its users' command lines work: the environment flags are
 * accepted and ignored with a note on stderr; --enable-mlserver is refused, since /v2 is always on.
 * @throws UsageError for --enable-mlserver.
 */
function acceptMlflowFlags(o: Record<string, unknown>, io: CliIo): void {
  if (o["enableMlserver"] === true) {
    throw new UsageError(
      "--enable-mlserver is not needed: pipeserve serves the Open Inference Protocol (MLServer's /v2 routes: /v2/models/{name}/infer, /v2/health/ready…) beside /invocations, always. Drop the flag.",
    );
  }
  const ignored = [
    ...(o["envManager"] !== undefined ? [`--env-manager ${String(o["envManager"])}`] : []),
    ...(o["conda"] === false ? ["--no-conda"] : []),
    ...(o["installMlflow"] === true ? ["--install-mlflow"] : []),
  ];
  if (ignored.length > 0) {
    io.stderr.write(`pipeserve: ignoring ${ignored.join(", ")}: pipeserve needs no Python environment; the model's code and artifacts are bundled in it.\n`);
  }
}

const GRPC_PORT_HELP =
  "also serve the Open Inference Protocol over gRPC (inference.GRPCInferenceService, with grpc.health.v1) on this port; KServe uses 8081 (0 picks a free one; default: off)";

/**
 * Registers `pipeserve serve`. NB: serve is a real process's command: it logs to fd 1, forks
 * workers, exits the process when it stops, and commander reads `MODEL_URI` and `PORT` from
 * `process.env` (not `io.env`).
 */
export function registerServeCommand(program: Command, io: CliIo): void {
  program
    .command("serve")
    .description("Serve a model over HTTP: MLflow's /invocations protocol and the Open Inference Protocol v2.")
    .helpOption("--help", "show help for serve")
    .addOption(
      new Option(
        "-m, --model-uri <uri>",
        "runs:/<run_id>/model, models:/<name>/<version|latest>, models:/<name>@<alias>, models:/m-<model_id>, a folder (or file://), or a .tar.gz; repeat as NAME=URI to serve several models",
      )
        .env("MODEL_URI")
        .argParser(collect)
        .makeOptionMandatory(),
    )
    .addOption(
      // NB: PORT is read below PIPESERVE_PORT (serve-env.ts), not by commander, which read it first and named --port for its bad value.
      new Option("-p, --port <port>", "port to listen on (0 picks a free one; env: PIPESERVE_PORT, then PORT)")
        .argParser(parseInteger("--port", 0, 65535))
        .default(5000),
    )
    .option("-h, --host <host>", "address to bind", "127.0.0.1")
    .option("--grpc-port <port>", GRPC_PORT_HELP, parseInteger("--grpc-port", 0, 65535))
    .option("-w, --workers <n>", "worker processes sharing the port", parseInteger("--workers", 1, 256), 1)
    .option("--allow-runner <module#Export>", "allow requests to choose this runner too (repeatable); loaded once at start", collect, [])
    .option(
      "-t, --timeout <seconds>",
      "request timeout: the client gets a 504 and the run starts no more nodes (a node running then holds this process until it returns, unless it takes the abort signal or runs in WorkerRunner's threads) (default: $MLFLOW_SCORING_SERVER_REQUEST_TIMEOUT or 60)",
      parseSeconds("--timeout"),
    )
    .option("--max-body <size>", "largest request body, e.g. 100mb (default 100mb)", parseSize)
    .option("--max-queue <n>", "predictions running or waiting before new ones get 503 (default 1024)", parseInteger("--max-queue", 1))
    .option(
      "--max-batch-rows <n>",
      "row-wise models: small requests that arrive together run as one pipeline run of at most this many rows (default 256; 1 turns batching off)",
      parseInteger("--max-batch-rows", 1),
    )
    .option("--max-rows <n>", "rows one request may hold; more is refused with 413 while the body is read (default 1000000)", parseInteger("--max-rows", 1))
    .option(
      "--max-cells <n>",
      "cells (rows × columns, or values of a JSON body) one request may hold; more is refused with 413 (default 20000000)",
      parseInteger("--max-cells", 1),
    )
    .option(
      "--max-connections <n>",
      "client connections open at once per process; more are closed on arrival, so clients fail fast instead of waiting in the kernel's queue (default: no limit)",
      parseInteger("--max-connections", 1),
    )
    .option(
      "--watch <seconds>",
      `for models:/NAME@ALIAS and models:/NAME/latest: check the registry this often and swap in the version it names, without dropping a request (default ${DEFAULT_WATCH_SECONDS}; 0: only on SIGHUP). Other URIs never reload`,
      watchSecondsParser("--watch"),
    )
    .option("--model-name <name>", "the model's name in /v2/models/{name} (default: the registered name, else 'model'); with NAME=URI, NAME is it")
    .option(
      "--allow-partial-start",
      "with several models: start even if some fail to load; they answer 503 and are listed UNAVAILABLE in /v2/repository/index",
      false,
    )
    .option("--no-ui", "do not serve the model's page (GET /: its pipeline, signature, a try-it form and live figures)")
    .option("--log-level <level>", `${LOG_LEVELS.join(", ")} (info logs a line per request)`, "info")
    .option("--debug", "include stack traces in error responses", false)
    .addOption(trackingOption())
    .addOption(registryOption())
    .addOption(allowDeletedOption())
    .addOption(new Option("--env-manager <manager>", "accepted for MLflow's command lines; pipeserve needs no environment").hideHelp())
    .addOption(new Option("--no-conda", "accepted for MLflow's command lines; pipeserve needs no environment").hideHelp())
    .addOption(new Option("--install-mlflow", "accepted for MLflow's command lines; pipeserve needs no environment").hideHelp())
    .addOption(new Option("--enable-mlserver", "refused: the Open Inference Protocol routes are always on").hideHelp())
    .addHelpText(
      "after",
      "\nSeveral models: -m penguins=models:/penguins@champion -m spam=models:/spam/3 serves each at /models/NAME/invocations\n(and /metadata, /openapi.json) and /v2/models/NAME/..., the first also at /invocations; /v2/repository/index lists them.\nEach has its own queue, timeout and body limit (the sizes above) and its own metrics (label model=NAME).\n\nMLflow's flags: --env-manager, --no-conda and --install-mlflow are accepted and ignored (the model's code is bundled in it:\nthere is no environment to build); --enable-mlserver is refused (drop it): /v2 (the Open Inference Protocol) is always served.",
    )
    .addHelpText(
      "after",
      `\nEvery flag also reads an environment variable when it is not given (Kubernetes manifests set them):\n${serveEnvHelp()}\nand MODEL_URI for -m, PORT (below PIPESERVE_PORT), MLFLOW_TRACKING_URI, MLFLOW_REGISTRY_URI, MLFLOW_SCORING_SERVER_REQUEST_TIMEOUT (below PIPESERVE_TIMEOUT).`,
    )
    .action(async (flags: Record<string, unknown>, command: Command) => {
      const o = withServeEnv(flags, (key) => command.getOptionValueSource(key), io.env);
      acceptMlflowFlags(o, io);
      // NB: a bad PIPESERVE_LOG_LEVEL was refused naming the variable; this is the flag's.
      logLevelParser("--log-level")(String(o["logLevel"]));
      await serveCommand(serveOptionsFrom(o, io));
    });
}

/** `NAME=URI`: a model's name, then its URI. NB: a path with `=` in it is written `./a=b`. */
const NAMED_URI = /^([A-Za-z0-9][A-Za-z0-9_.-]*)=(.*)$/;
/** What was meant as `NAME=URI` but is no name: text before the first `=` with no path separator in it. */
const MEANT_AS_NAMED = /^([^=/\\]*)=/;

/**
 * The models of `-m`: one bare URI, or one or more NAME=URI.
 * @throws UsageError for several bare URIs, a bad or repeated name, an empty URI, or --model-name with names.
 */
export function modelsFrom(values: readonly string[], o: Record<string, unknown>, io: CliIo): Pick<ServeCommandOptions, "modelUri" | "models"> {
  const named = values.map((v) => NAMED_URI.exec(v));
  for (const [i, value] of values.entries()) {
    const meant = named[i] === null ? MEANT_AS_NAMED.exec(value) : null;
    if (meant) {
      throw new UsageError(
        `-m "${value}": "${meant[1]}" is not a model name. A name starts with a letter or digit and holds only letters, digits, "_", "." and "-" (e.g. -m penguins=models:/penguins@champion); a path with "=" in it is written ./${value}.`,
      );
    }
  }
  if (values.length === 1 && named[0] === null) {
    if (o["allowPartialStart"])
      throw new UsageError("--allow-partial-start is for several named models (-m NAME=URI -m NAME=URI); a single model that fails to load stops start-up.");
    return { modelUri: modelUriFromCwd(io, values[0] as string) };
  }
  const models: NamedModelUri[] = [];
  for (const [i, match] of named.entries()) {
    if (match === null) {
      throw new UsageError(
        `-m "${values[i]}" has no name: to serve several models, name each, e.g. -m penguins=models:/penguins@champion -m spam=models:/spam/3.`,
      );
    }
    const [, name, uri] = match as unknown as [string, string, string];
    if (name.length > 128) throw new UsageError(`The model name "${name.slice(0, 40)}…" is too long: at most 128 characters.`);
    if (uri.trim() === "") throw new UsageError(`-m ${name}= has no URI after the "=".`);
    if (models.some((m) => m.name === name)) throw new UsageError(`Two models are named "${name}": give each its own name.`);
    models.push({ name, uri: modelUriFromCwd(io, uri) });
  }
  if (o["modelName"] !== undefined)
    throw new UsageError("--model-name names a single model; with -m NAME=URI the NAME is the model's name. Drop --model-name.");
  return { modelUri: (models[0] as NamedModelUri).uri, models };
}

/** `serveCommand`'s options from commander's parsed flags. */
function serveOptionsFrom(o: Record<string, unknown>, io: CliIo): ServeCommandOptions {
  return {
    ...modelsFrom(o["modelUri"] as string[], o, io),
    ...(o["allowPartialStart"] ? { allowPartialStart: true } : {}),
    ...(o["ui"] === false ? { ui: false } : {}),
    cwd: io.cwd,
    port: o["port"] as number,
    host: o["host"] as string,
    ...(o["grpcPort"] !== undefined ? { grpcPort: o["grpcPort"] as number } : {}),
    workers: o["workers"] as number,
    allowRunner: o["allowRunner"] as string[],
    debug: o["debug"] as boolean,
    logLevel: o["logLevel"] as string,
    trackingUri: trackingUriOf(io, o["trackingUri"] as string | undefined),
    ...optionalRegistry(io, o),
    ...(o["allowDeleted"] ? { allowDeleted: true } : {}),
    ...(o["timeout"] !== undefined ? { timeoutMs: o["timeout"] as number } : {}),
    ...(o["maxBody"] !== undefined ? { maxBodyBytes: o["maxBody"] as number } : {}),
    ...(o["maxQueue"] !== undefined ? { maxQueue: o["maxQueue"] as number } : {}),
    ...(o["maxBatchRows"] !== undefined ? { maxBatchRows: o["maxBatchRows"] as number } : {}),
    ...(o["maxRows"] !== undefined ? { maxRows: o["maxRows"] as number } : {}),
    ...(o["maxCells"] !== undefined ? { maxCells: o["maxCells"] as number } : {}),
    ...(o["maxConnections"] !== undefined ? { maxConnections: o["maxConnections"] as number } : {}),
    ...(o["modelName"] !== undefined ? { modelName: o["modelName"] as string } : {}),
    ...(o["watch"] !== undefined ? { watchSeconds: o["watch"] as number } : {}),
  };
}
