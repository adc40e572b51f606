import { randomUUID } from "node:crypto";
import type { IncomingMessage } from "node:http";
import type { Context } from "hono";
import type { ModelSlot, ServedModel } from "./model-slot.js";
import { readBody } from "./read-body.js";
import type { ScoreResponse, ServerState } from "./scorer.js";

/** What the app keeps per request: the request id and the model answering it, which the endpoint wrapper sets. */
export type Env = { Variables: { requestId: string; served: ServedModel } };

export type Handler = (c: Context<Env>) => Response | Promise<Response>;

/** Adds a route with what every request gets (see `createApp`). */
export type AddRoute = (method: "GET" | "POST", path: string, handler: Handler) => void;

/**
 * What the protocol routes share: the served model (each request reads its own from
 * `c.get("served")`: the model may be swapped between requests), and the server's identity.
 */
export interface RouteContext {
  slot: ModelSlot;
  state: ServerState;
  /** The model's name in the Open Inference Protocol. */
  modelName: string;
  /** pipeserve's version. */
  version: string;
  maxBodyBytes: number;
}

/**
 * A request's body, at most `limit` bytes (see `readBody`), read from the Node request behind it
 * when @hono/node-server serves it (`app.request()` and other hosts go through the web `Request`).
 */
export function readRequestBody(c: Context<Env>, limit: number): Promise<Uint8Array> {
  return readBody(c.req.raw, limit, (c.env as { incoming?: IncomingMessage } | undefined)?.incoming);
}

/**
 * A response with plain headers, X-Request-Id among them. @hono/node-server writes plain headers
 * straight to the socket; Hono's `c.header()` / `c.json()` build a `Headers` object per response,
 * which cost a tenth of single-row throughput (bench/server).
 */
export function send(c: Context<Env>, body: string | Uint8Array, status: number, contentType: string, extra?: Readonly<Record<string, string>>): Response {
  // NB: an error Hono itself raises reaches onError before any endpoint has set an id.
  const headers: Record<string, string> = { "Content-Type": contentType, "X-Request-Id": (c.get("requestId") as string | undefined) ?? randomUUID() };
  const version = (c.get("served") as ServedModel | undefined)?.versionHeader;
  if (version !== undefined) headers["X-Pipeserve-Model-Version"] = version;
  if (extra) for (const name in extra) headers[name] = extra[name] as string;
  return new Response(body, { status, headers });
}

export function json(c: Context<Env>, value: unknown, status = 200, extra?: Readonly<Record<string, string>>): Response {
  return send(c, JSON.stringify(value), status, "application/json", extra);
}

/** The Scorer's answer as a response (plain headers, as `send`), with X-Request-Id added. */
export function reply(c: Context<Env>, scored: ScoreResponse): Response {
  const headers = scored.headers;
  headers["X-Request-Id"] = (c.get("requestId") as string | undefined) ?? randomUUID();
  const version = (c.get("served") as ServedModel | undefined)?.versionHeader;
  if (version !== undefined) headers["X-Pipeserve-Model-Version"] = version;
  return new Response(scored.body, { status: scored.status, headers });
}
