import cluster from "node:cluster";
import { pino } from "pino";
import { ServerState, TurnBatchedDestination, createApp, serveApp } from "../server/index.js";
import { loadModel } from "../index.js";
import { loadAllowedRunners } from "./allowed-runners.js";

export interface ServeCommandOptions {
  modelUri: string;
  port: number;
  host: string;
  workers: number;
  allowRunner: string[];
  debug: boolean;
  timeoutMs?: number;
  maxBodyBytes?: number;
  maxQueue?: number;
  maxBatchRows?: number;
  modelName?: string;
  trackingUri?: string;
  logLevel: string;
}

/**
 * `pipeserve serve`: loads the model once per process and serves it. With `-w N` the primary
 * forks N workers sharing the port and forwards SIGTERM to them; each drains its requests.
 */
export async function serveCommand(options: ServeCommandOptions): Promise<void> {
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
  if (options.workers > 1 && cluster.isPrimary) {
    let stopping = false;
    // NB: 1 once a worker could not load the model, so the last worker's exit does not report success.
    let exitCode = 0;
    for (let i = 0; i < options.workers; i++) cluster.fork();
    cluster.on("exit", (worker, code, signal) => {
      if (stopping) {
        if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(exitCode);
        return;
      }
      logger.error({ worker: worker.process.pid, code, signal }, "A worker stopped unexpectedly; starting another");
      if (code === 3) {
        logger.fatal("The worker could not load the model; stopping.");
        stopping = true;
        exitCode = 1;
        for (const w of Object.values(cluster.workers ?? {})) w?.kill("SIGTERM");
        if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(exitCode);
        return;
      }
      cluster.fork();
    });
    const stop = (signal: NodeJS.Signals): void => {
      stopping = true;
      logger.info({ signal }, "Stopping workers");
      for (const w of Object.values(cluster.workers ?? {})) w?.process.kill(signal);
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(exitCode);
    };
    process.once("SIGTERM", () => stop("SIGTERM"));
    process.once("SIGINT", () => stop("SIGTERM"));
    logger.info({ workers: options.workers, port: options.port, host: options.host }, "Started workers");
    return;
  }
  let model;
  try {
    model = await loadModel(options.modelUri, {
      ...(options.trackingUri !== undefined ? { trackingUri: options.trackingUri } : {}),
      runners: await loadAllowedRunners(options.allowRunner),
      onWarning: (message) => logger.warn(message),
    });
  } catch (error) {
    if (cluster.isWorker) {
      logger.fatal({ err: error }, `Cannot load ${options.modelUri}`);
      exit(3);
    }
    throw error;
  }
  const state = new ServerState();
  const app = createApp(model, {
    logger,
    state,
    debug: options.debug,
    ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
    ...(options.maxBodyBytes !== undefined ? { maxBodyBytes: options.maxBodyBytes } : {}),
    ...(options.maxQueue !== undefined ? { maxQueue: options.maxQueue } : {}),
    ...(options.maxBatchRows !== undefined ? { maxBatchRows: options.maxBatchRows } : {}),
    ...(options.modelName !== undefined ? { modelName: options.modelName } : {}),
  });
  const running = await serveApp(app as never, {
    port: options.port,
    host: options.host,
    state,
    logger,
    ...(options.timeoutMs !== undefined ? { drainMs: options.timeoutMs + 5_000 } : {}),
    onStopped: (code) => {
      void model.close().finally(() => exit(code));
    },
  });
  // NB: the one line operators (and scripts) wait for is logged whatever the level.
  logger
    .child({}, { level: "info" })
    .info({ model: options.modelUri, url: `http://${options.host.includes(":") ? `[${options.host}]` : options.host}:${running.port}` }, "Serving");
}
