import { createRequire } from "node:module";
import type * as HonoNodeServer from "@hono/node-server";
import type * as HonoLib from "hono";
import type * as PinoLib from "pino";
import type * as PromClient from "prom-client";

/**
 * The server's libraries, loaded when a server is built rather than when the package is imported.
 * Every command, and the model code of `pipeserve predict`, imports the package's index (model code
 * gets it as `pipeserve`), which includes `createApp`; prom-client, pino, hono and
 * @hono/node-server cost ~55 ms to load and are used only to serve. All four ship CommonJS builds,
 * so they are loaded with `require` on first use, synchronously, and `createApp` stays synchronous.
 */
const require = createRequire(import.meta.url);
let prom: typeof PromClient | undefined;
let pinoModule: typeof PinoLib | undefined;
let hono: typeof HonoLib | undefined;
let nodeServer: typeof HonoNodeServer | undefined;

/** prom-client. */
export function promClient(): typeof PromClient {
  prom ??= require("prom-client") as typeof PromClient;
  return prom;
}

/** pino. */
export function pinoLib(): typeof PinoLib {
  pinoModule ??= require("pino") as typeof PinoLib;
  return pinoModule;
}

/** A logger at `PIPESERVE_LOG_LEVEL` (info), for servers built without one. */
export function defaultLogger(): PinoLib.Logger {
  return pinoLib().pino({ level: process.env["PIPESERVE_LOG_LEVEL"] ?? "info" });
}

/** hono. */
export function honoLib(): typeof HonoLib {
  hono ??= require("hono") as typeof HonoLib;
  return hono;
}

/** @hono/node-server. */
export function honoNodeServer(): typeof HonoNodeServer {
  nodeServer ??= require("@hono/node-server") as typeof HonoNodeServer;
  return nodeServer;
}
