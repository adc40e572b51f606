import { type AddressInfo, Server as NetServer } from "node:net";
import type { Server } from "node:http";
import type { Hono } from "hono";
import type { Logger } from "pino";
import { type ListenErrorCode, PipeserveError } from "../errors/index.js";
import type { ServerState } from "./app.js";
import { ConnectionDrain, IDLE_GRACE_MS } from "./connection-drain.js";
import type { ServerMetrics } from "./metrics.js";
import { honoNodeServer } from "./libraries.js";
import { refuseExpectation } from "./expect-header.js";
import { flushRequestLogs } from "./request-log.js";
import { answerClientError } from "./client-error.js";

/** The server could not listen: the port is taken, or the address or port cannot be used. The message names both and the fix. */
export class ListenError extends PipeserveError<ListenErrorCode> {}

/** The error for a failed listen on `host:port`, worded for the operator; `portFlag` is the flag that chose the port. */
export function listenError(error: NodeJS.ErrnoException, host: string, port: number, portFlag: "-p/--port" | "--grpc-port" = "-p/--port"): ListenError {
  const where = `${host.includes(":") ? `[${host}]` : host}:${port}`;
  const failed = (why: string, code: ListenErrorCode = "LISTEN_FAILED"): ListenError =>
    new ListenError(`Cannot listen on ${where}: ${why}`, { code, cause: error });
  switch (error.code) {
    case "EADDRINUSE":
      return failed(
        `port ${port} is already in use (EADDRINUSE). Stop the process that holds it, or choose another port with ${portFlag} (${portFlag === "-p/--port" ? "-p 0" : "0"} picks a free one).`,
        "ADDRESS_IN_USE",
      );
    case "EACCES":
      return failed(`permission denied (EACCES): ports below 1024 need privileges. Choose port 1024 or above with ${portFlag}.`);
    case "EADDRNOTAVAIL":
      return failed(`this machine has no address ${host} (EADDRNOTAVAIL). Choose one of its addresses with -h/--host (127.0.0.1, or 0.0.0.0 for all).`);
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return failed(`the host name ${host} does not resolve (${error.code}). Use an address with -h/--host (127.0.0.1, or 0.0.0.0 for all).`);
    default:
      return failed(error.message);
  }
}

const netServerClose = NetServer.prototype.close;

export interface ServeOptions {
  port: number;
  host: string;
  state: ServerState;
  logger: Logger;
  /** How long to wait for in-flight requests after SIGTERM before exiting anyway; 30 s by default. */
  drainMs?: number;
  /** Called once the server has stopped (default: exit the process with code 0). */
  onStopped?: (code: number) => void;
  /**
   * Connections open at once; more are closed on arrival (counted in
   * `pipeserve_http_connections_dropped_total`), so a client fails fast and retries elsewhere
   * instead of waiting unseen in the kernel's accept queue. No limit by default.
   */
  maxConnections?: number;
  /** The app's metrics, to count open and dropped connections. */
  metrics?: ServerMetrics;
  /**
   * Called when the server starts to stop (after the state is not ready): what else must drain
   * with it (the gRPC server). The server counts as stopped once this resolves too.
   */
  onStopping?: () => Promise<unknown>;
}

export interface RunningServer {
  server: Server;
  port: number;
  stop(): Promise<void>;
}

/**
 * Stops listening once the connections the kernel had queued are accepted, then calls `closed`
 * when every connection has ended. NB: when the signal comes while the event loop is busy (a
 * pipeline run), clients' connections wait in the kernel's queue with their requests sent; a
 * listening socket closed on them resets them: requests sent, and no answer. Queued connections
 * can take several turns of the event loop to be accepted (seen: one a turn), so the socket is
 * closed after a turn that accepted none, or IDLE_GRACE_MS after the drain began at most; the connections accepted are answered
 * (503 while draining) and ended by ConnectionDrain. net.Server's close, not http.Server's: the
 * latter first destroys every connection it thinks idle, including responses still flushing to
 * slow readers (see ConnectionDrain).
 */
function closeListener(server: Server, closed: () => void): void {
  const deadline = performance.now() + IDLE_GRACE_MS;
  let accepted = 0;
  const onConnection = (): void => void accepted++;
  server.on("connection", onConnection);
  let seen = -1;
  // NB: an immediate set in an immediate runs in the next turn, after that turn's poll for I/O.
  const nextTurn = (): void =>
    void setImmediate(() =>
      setImmediate(() => {
        if (accepted !== seen && performance.now() < deadline) {
          seen = accepted;
          nextTurn();
          return;
        }
        server.off("connection", onConnection);
        netServerClose.call(server, closed);
      }),
    );
  nextTurn();
}

/**
 * Starts the app on @hono/node-server. On SIGTERM or SIGINT it stops accepting connections,
 * reports not-ready, finishes every request already accepted (uploads included) and every byte of
 * its response, with `Connection: close`, refuses new requests on open connections with 503, and
 * stops when the last connection has ended (after `drainMs` at most).
 */
export function serveApp(app: Hono<never>, options: ServeOptions): Promise<RunningServer> {
  return new Promise((resolve, reject) => {
    const server = honoNodeServer().serve({ fetch: app.fetch, port: options.port, hostname: options.host }) as Server;
    server.keepAliveTimeout = 5_000;
    server.on("checkExpectation", (request, response) => refuseExpectation(request, response, options.logger));
    server.on("clientError", (error: NodeJS.ErrnoException, socket) => answerClientError(error, socket, options.logger));
    if (options.maxConnections !== undefined) server.maxConnections = options.maxConnections;
    options.metrics?.trackConnections(server);
    let stopping: Promise<void> | undefined;
    const onSigterm = (): void => onSignal("SIGTERM");
    const onSigint = (): void => onSignal("SIGINT");
    const drain = new ConnectionDrain(server);
    const stop = (): Promise<void> => {
      stopping ??= new Promise<void>((done) => {
        options.state.ready = false;
        options.logger.info({ connections: drain.connections }, "Stopping: no new connections; finishing requests in flight");
        const force = setTimeout(() => {
          options.logger.warn({ connections: drain.connections }, "Requests still running after the drain period; closing connections");
          drain.destroyAll();
        }, options.drainMs ?? 30_000);
        force.unref();
        drain.drain();
        const closed = new Promise<void>((resolve) =>
          closeListener(server, () => {
            clearTimeout(force);
            process.off("SIGTERM", onSigterm);
            process.off("SIGINT", onSigint);
            resolve();
          }),
        );
        const others = options.onStopping?.().catch((error: unknown) => options.logger.error({ err: error }, "Stopping failed"));
        // NB: the last responses may end in the same turn as the close; their setImmediate work
        // (metrics) runs first, then the access-log lines still waiting for their 10 ms timer are
        // written, so none is lost when the process exits.
        void Promise.all([closed, others]).then(() =>
          setImmediate(() => {
            flushRequestLogs();
            done();
          }),
        );
      });
      return stopping;
    };
    const onSignal = (signal: string): void => {
      options.logger.info({ signal }, "Signal received");
      void stop().then(() => (options.onStopped ?? ((code: number) => process.exit(code)))(0));
    };
    const refuse = (error: NodeJS.ErrnoException): void => reject(listenError(error, options.host, options.port));
    server.once("error", refuse);
    server.once("listening", () => {
      server.off("error", refuse);
      // After start-up a server error (e.g. too many open files) is logged, not thrown unhandled.
      server.on("error", (error) => options.logger.error({ err: error }, "Server error"));
      process.once("SIGTERM", onSigterm);
      process.once("SIGINT", onSigint);
      const port = (server.address() as AddressInfo).port;
      resolve({ server, port, stop });
    });
  });
}
