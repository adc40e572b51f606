import cluster from "node:cluster";
import { type Command, Option } from "commander";
import type { Logger } from "pino";
import type { PipelineModel, currentModelVersion as currentModelVersionFn, movingModelRef as movingModelRefFn } from "../loader/index.js";
import type { ModelSlot, ModelWatcher as ModelWatcherClass, ServerMetrics } from "../server/index.js";
import { loadAllowedRunners } from "./allowed-runners.js";
import { UsageError } from "./errors.js";
import { type CliIo, modelUriFromCwd, optionalRegistry, trackingUriOf } from "./io.js";
import { allowDeletedOption, collect, parseInteger, parseSeconds, parseSize, registryOption, trackingOption } from "./parse-options.js";

export interface ServeCommandOptions {
  modelUri: string;
  /** The folder `--allow-runner ./module.mjs#Export` paths are relative to. */
  cwd: string;
  port: number;
  host: string;
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
function startWorkers(options: ServeCommandOptions, logger: Logger): void {
  let stopping = false;
  // NB: 1 once a worker could not load the model or listen, so the last worker's exit does not report success.
  let exitCode = 0;
  let listenFailure: string | undefined;
  const stopAll = (signal: NodeJS.Signals): void => {
    stopping = true;
    for (const w of Object.values(cluster.workers ?? {})) w?.process.kill(signal);
    if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(exitCode);
  };
  for (let i = 0; i < options.workers; i++) cluster.fork();
  cluster.on("message", (_worker, message: { pipeserve?: string; message?: string }) => {
    if (message?.pipeserve === LISTEN_FAILED) listenFailure ??= message.message;
  });
  cluster.on("exit", (worker, code, signal) => {
    if (stopping) {
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(exitCode);
      return;
    }
    if (code === EXIT_LOAD_FAILED || code === EXIT_LISTEN_FAILED) {
      exitCode = 1;
      if (code === EXIT_LOAD_FAILED) logger.fatal({ worker: worker.process.pid }, "The worker could not load the model; stopping.");
      // NB: on stderr, as `serve -w 1` (and every other command) says why it failed: one line.
      else process.stderr.write(`pipeserve: ${listenFailure ?? `Cannot listen on ${options.host}:${options.port}.`}\n`);
      stopAll("SIGTERM");
      return;
    }
    logger.error({ worker: worker.process.pid, code, signal }, "A worker stopped unexpectedly; starting another");
    cluster.fork();
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
 * `pipeserve serve`: loads the model once per process and serves it. With `-w N` the primary
 * forks N workers sharing the port and forwards SIGTERM to them; each drains its requests.
 */
export async function serveCommand(options: ServeCommandOptions): Promise<void> {
  // NB: imported here, not at the top: `pipeserve --help` and the other commands never load the server.
  const [
    { pino },
    { ModelWatcher, ServerMetrics, ServerState, TurnBatchedDestination, createServingApp, defaultTimeoutMs, serveApp },
    { loadModel, currentModelVersion, movingModelRef },
  ] = await Promise.all([
    import("pino"),
    import("../server/index.js"),
    // NB: the package's main entry: it registers the `pipeserve` API that the model's code imports.
    import("../index.js"),
  ]);
  // NB: asynchronous writes coalesce under load (one write per batch of lines instead of one
  // syscall per request), and the lines of one event-loop turn reach sonic-boom as one write;
  // flushed before the process exits.
  const destination = new TurnBatchedDestination(pino.destination({ dest: 1, sync: false }));
  const logger = pino({ level: options.logLevel, base: { pid: process.pid } }, destination);
  const flushLog = (): void => {
    try {
      destination.flushSync();
    } catch {
      // nothing buffered, or stdout already closed
    }
  };
  // NB: whatever path ends the process, the lines of its last turn are written.
  process.once("exit", flushLog);
  const exit = (code: number): never => {
    flushLog();
    return process.exit(code);
  };
  if (options.workers > 1 && cluster.isPrimary) return startWorkers(options, logger);
  const stores = {
    ...(options.trackingUri !== undefined ? { trackingUri: options.trackingUri } : {}),
    ...(options.registryUri !== undefined ? { registryUri: options.registryUri } : {}),
  };
  const runners = await loadAllowedRunners(options.allowRunner, options.cwd);
  const load = (uri: string) =>
    loadModel(uri, { ...stores, ...(options.allowDeleted ? { allowDeleted: true } : {}), runners, onWarning: (message) => logger.warn(message) });
  let model;
  try {
    model = await load(options.modelUri);
  } catch (error) {
    if (cluster.isWorker) {
      logger.fatal({ err: error }, `Cannot load ${options.modelUri}`);
      exit(EXIT_LOAD_FAILED);
    }
    throw error;
  }
  const state = new ServerState();
  const metrics = new ServerMetrics({ defaultMetrics: true });
  const { app, slot } = createServingApp(model, {
    logger,
    state,
    metrics,
    debug: options.debug,
    ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
    ...(options.maxBodyBytes !== undefined ? { maxBodyBytes: options.maxBodyBytes } : {}),
    ...(options.maxQueue !== undefined ? { maxQueue: options.maxQueue } : {}),
    ...(options.maxBatchRows !== undefined ? { maxBatchRows: options.maxBatchRows } : {}),
    ...(options.maxRows !== undefined ? { maxRows: options.maxRows } : {}),
    ...(options.maxCells !== undefined ? { maxCells: options.maxCells } : {}),
    ...(options.modelName !== undefined ? { modelName: options.modelName } : {}),
  });
  metrics.serving(slot.current.versionHeader);
  const watcher = followRegistry({ options, model, slot, logger, metrics, load, ModelWatcher, currentModelVersion, movingModelRef, stores });
  let running: Awaited<ReturnType<typeof serveApp>>;
  try {
    running = await serveApp(app as never, {
      port: options.port,
      host: options.host,
      state,
      logger,
      metrics,
      ...(options.maxConnections !== undefined ? { maxConnections: options.maxConnections } : {}),
      // NB: a request accepted just before the signal may run its whole timeout, then write its answer.
      drainMs: (options.timeoutMs ?? defaultTimeoutMs()) + 5_000,
      onStopped: (code) => {
        watcher?.stop();
        void slot.current.model.close().finally(() => exit(code));
      },
    });
  } catch (error) {
    // NB: nothing is served: the model's resources (worker threads) must not keep the process alive.
    await model.close().catch(() => undefined);
    // NB: a worker says why to the primary, which says it once for all workers and stops them.
    if (cluster.isWorker) {
      const send = process.send?.bind(process);
      if (send) await new Promise<void>((resolve) => send({ pipeserve: LISTEN_FAILED, message: (error as Error).message }, undefined, {}, () => resolve()));
      exit(EXIT_LISTEN_FAILED);
    }
    throw error;
  }
  // NB: the one line operators (and scripts) wait for is logged whatever the level.
  watcher?.start();
  logger.child({}, { level: "info" }).info(
    {
      model: options.modelUri,
      version: slot.current.versionHeader,
      url: `http://${options.host.includes(":") ? `[${options.host}]` : options.host}:${running.port}`,
    },
    "Serving",
  );
}

/** What `followRegistry` needs of `serveCommand`'s loaded parts (the server and loader modules load on demand). */
interface FollowParts {
  options: ServeCommandOptions;
  model: PipelineModel;
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
 * A moving URI (an alias, latest) is followed: checked every --watch seconds and on SIGHUP, which
 * otherwise (a fixed URI) only logs that there is nothing to reload.
 * @returns the watcher (to start once serving, and stop), or undefined for a fixed URI.
 */
function followRegistry(parts: FollowParts): ModelWatcherClass | undefined {
  const { options, model, slot, logger, metrics, load, ModelWatcher, currentModelVersion, movingModelRef, stores } = parts;
  const moving = movingModelRef(options.modelUri);
  const watcher =
    moving && model.metadata.version !== undefined
      ? new ModelWatcher({
          uri: options.modelUri,
          currentVersion: () => currentModelVersion(options.modelUri, stores),
          load: (version) => load(`models:/${moving.name}/${version}`),
          servedVersion: model.metadata.version,
          slot,
          logger,
          metrics,
          intervalSeconds: options.watchSeconds ?? DEFAULT_WATCH_SECONDS,
        })
      : undefined;
  process.on("SIGHUP", () => {
    if (watcher) {
      logger.info({ signal: "SIGHUP", model: options.modelUri }, "Checking the registry for another version now");
      void watcher.check();
    } else logger.info({ signal: "SIGHUP", model: options.modelUri }, `${options.modelUri} names one model for good: nothing to reload`);
  });
  return watcher;
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

const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"];

/** `--watch SECONDS`: 0 or more (fractions too). @throws UsageError naming the value. */
function parseWatchSeconds(value: string): number {
  const n = Number(value);
  if (!/^\s*\d+(\.\d+)?\s*$/.test(value) || !Number.isFinite(n)) {
    throw new UsageError(`--watch must be a number of seconds, 0 or more (0 checks only on SIGHUP), got "${value}".`);
  }
  return n;
}

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
      new Option("-m, --model-uri <uri>", "runs:/<run_id>/model, models:/<name>/<version|latest>, models:/<name>@<alias>, a folder, or a .tar.gz")
        .env("MODEL_URI")
        .makeOptionMandatory(),
    )
    .addOption(
      new Option("-p, --port <port>", "port to listen on (0 picks a free one)")
        .env("PORT")
        .argParser(parseInteger("--port", 0, 65535))
        .default(5000),
    )
    .option("-h, --host <host>", "address to bind", "127.0.0.1")
    .option("-w, --workers <n>", "worker processes sharing the port", parseInteger("--workers", 1, 256), 1)
    .option("--allow-runner <module#Export>", "allow requests to choose this runner too (repeatable); loaded once at start", collect, [])
    .option("-t, --timeout <seconds>", "request timeout (default: $MLFLOW_SCORING_SERVER_REQUEST_TIMEOUT or 60)", parseSeconds("--timeout"))
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
      parseWatchSeconds,
    )
    .option("--model-name <name>", "the model's name in /v2/models/{name} (default: the registered name, else 'model')")
    .option("--log-level <level>", "fatal, error, warn, info, debug", "info")
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
      "\nMLflow's flags: --env-manager, --no-conda and --install-mlflow are accepted and ignored (the model's code is bundled in it:\nthere is no environment to build); --enable-mlserver is not needed: /v2 (the Open Inference Protocol) is always served.",
    )
    .action(async (o: Record<string, unknown>) => {
      acceptMlflowFlags(o, io);
      if (!LOG_LEVELS.includes(o["logLevel"] as string))
        throw new UsageError(`--log-level must be one of fatal, error, warn, info, debug; got "${String(o["logLevel"])}".`);
      await serveCommand(serveOptionsFrom(o, io));
    });
}

/** `serveCommand`'s options from commander's parsed flags. */
function serveOptionsFrom(o: Record<string, unknown>, io: CliIo): ServeCommandOptions {
  return {
    modelUri: modelUriFromCwd(io, o["modelUri"] as string),
    cwd: io.cwd,
    port: o["port"] as number,
    host: o["host"] as string,
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
