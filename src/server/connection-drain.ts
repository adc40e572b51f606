import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { Socket } from "node:net";

/** How long a connection with no request under way is kept once draining starts (see `#endWhenIdle`). */
export const IDLE_GRACE_MS = 100;

/**
 * Drains an HTTP server's connections without cutting a byte. It follows every connection and the
 * responses under way on it; once `drain()` is called:
 * - a response whose headers are not sent yet says `Connection: close` (and Node ends its
 *   connection once the last byte is written), as does every request that still arrives on a
 *   connection that is busy;
 * - a connection with no response under way (and one accepted while draining) is ended gracefully
 *   once a request it may already hold has had its chance to be read (IDLE_GRACE_MS, then one
 *   more read of every socket): what is buffered is written, then FIN, so a client reading slowly
 *   still gets its whole answer;
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
      if (this.#draining) this.#endWhenIdle(socket);
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
      if (responses.size === 0) this.#endWhenIdle(socket);
      for (const response of responses) if (!response.headersSent) response.shouldKeepAlive = false;
    }
  }

  /**
   * Ends a connection that has no response under way (an idle one, or one accepted while draining:
   * see serve.ts's `closeListener`) once a request it may hold has been read: after IDLE_GRACE_MS
   * and one more poll of every socket. A request read by then is answered (503 while draining, with
   * `Connection: close`) and the connection ends after its answer. NB: a socket closed with a
   * request unread in it is reset (RST): the client sent a request and gets no answer. And a
   * connection accepted while draining that sends nothing would otherwise hold the drain open
   * until its period is over.
   */
  #endWhenIdle(socket: Socket): void {
    setTimeout(() => {
      setImmediate(() => {
        if ((this.#responses.get(socket)?.size ?? 0) === 0) endGracefully(socket);
      });
    }, IDLE_GRACE_MS).unref();
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
