import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { Socket } from "node:net";

/**
 * Drains an HTTP server's connections without cutting a byte. It follows every connection and the
 * responses under way on it; once `drain()` is called:
 * - a response whose headers are not sent yet says `Connection: close` (and Node ends its
 *   connection once the last byte is written), as does every request that still arrives on a
 *   connection that is busy;
 * - a connection with no response under way is ended gracefully: what is buffered is written,
 *   then FIN, so a client reading slowly still gets its whole answer;
 * - a connection whose response already said keep-alive is ended the same way when that
 *   response has been written.
 *
 * NB: Node's own `closeIdleConnections()` (also called by `server.close()`) destroys every socket
 * whose parser is idle, including one whose last response is still flushing a large body to a slow
 * reader; that is why drain does not use it (issue 14: a 54.9 MB answer arrived as 12.9 MB).
 */
export class ConnectionDrain {
  readonly #responses = new Map<Socket, Set<ServerResponse>>();
  #draining = false;

  constructor(server: Server) {
    server.on("connection", (socket: Socket) => {
      this.#responses.set(socket, new Set());
      socket.once("close", () => this.#responses.delete(socket));
    });
    // NB: before the app's listener, so a response started during drain already says close.
    server.prependListener("request", (request: IncomingMessage, response: ServerResponse) => this.#track(request.socket, response));
  }

  /** Whether `drain()` has been called. */
  get draining(): boolean {
    return this.#draining;
  }

  /** Connections open now. */
  get connections(): number {
    return this.#responses.size;
  }

  /** Starts draining: see the class. */
  drain(): void {
    this.#draining = true;
    for (const [socket, responses] of this.#responses) {
      if (responses.size === 0) endGracefully(socket);
      for (const response of responses) if (!response.headersSent) response.shouldKeepAlive = false;
    }
  }

  /** Destroys every connection (the drain period is over). */
  destroyAll(): void {
    for (const socket of this.#responses.keys()) socket.destroy();
  }

  #track(socket: Socket, response: ServerResponse): void {
    let responses = this.#responses.get(socket);
    if (responses === undefined) {
      responses = new Set();
      this.#responses.set(socket, responses);
    }
    responses.add(response);
    if (this.#draining) response.shouldKeepAlive = false;
    const live = responses;
    response.once("close", () => {
      live.delete(response);
      if (this.#draining && live.size === 0) endGracefully(socket);
    });
  }
}

/** Writes what is buffered, sends FIN, then releases the socket once everything was handed to the kernel. */
function endGracefully(socket: Socket): void {
  if (socket.destroyed) return;
  if (socket.writableEnded) return;
  socket.end(() => socket.destroy());
}
