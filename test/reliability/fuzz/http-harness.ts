// The servers the HTTP fuzz properties attack, and the one check every answer goes through. Each
// server is the real thing: createApp over a real packaged model (test/server/fixtures/models.ts),
// listening with serveApp on an ephemeral 127.0.0.1 port; requests go over one keep-alive
// connection per server from this process. Errors a server logs are kept by request id, so a 5xx
// fails with the error behind it.
import { Agent, type IncomingHttpHeaders, request } from "node:http";
import { Writable } from "node:stream";
import { type Logger, pino } from "pino";
import { afterAll, beforeAll } from "vitest";
import { ServerState, createApp, serveApp, type AppOptions, type RunningServer } from "../../../src/index.js";
import { SIGNATURES, buildModel, type Behaviour, type BuildOptions } from "../../server/fixtures/models.js";
import type { MlflowSignature } from "../../../src/index.js";
import { RICH_SIGNATURE } from "./rich-signature.js";
import { HANG_MS, hang, trying, useWatchdog } from "./watchdog.js";

/** A positional signature: two unnamed columns, checked by count and position only. */
const POSITIONAL: MlflowSignature = { inputs: '[{"type": "long", "required": true}, {"type": "double", "required": true}]', outputs: null, params: null };

/**
 * The models under attack: a DataFrame pipeline typed by every column and param type; the same
 * with no signature (anything reaches the DataFrame); a row-wise pipeline of plain columns (its
 * small requests are batched); a danfojs node that fails on zero rows; a positional signature.
 */
const TARGETS = {
  typed: ["echo", RICH_SIGNATURE, {}],
  untyped: ["echo", null, {}],
  rowwise: ["row_sum_ndarray", SIGNATURES.ab, { rowWise: true }],
  sorted: ["sort_index", SIGNATURES.ab, {}],
  positional: ["row_sum_series", POSITIONAL, {}],
} as const satisfies Record<string, readonly [Behaviour, MlflowSignature | null, BuildOptions]>;

export type TargetName = keyof typeof TARGETS;
export const TARGET_NAMES = Object.keys(TARGETS) as TargetName[];

/** Small limits, so generated bodies can pass them without megabytes of text. */
const LIMITS: AppOptions = { maxRows: 5_000, maxCells: 50_000, maxBodyBytes: 8 * 1024 * 1024, timeoutMs: 20_000 };

interface Target {
  running: RunningServer;
  agent: Agent;
  /** What the server logged at error level, by request id. */
  errors: Map<string, string[]>;
}

const targets = new Map<TargetName, Target>();

/** A pino logger whose error lines (level ≥ 50) are kept by request id. */
function errorLog(errors: Map<string, string[]>): Logger {
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split("\n")) {
        if (!line) continue;
        const entry = JSON.parse(line) as { level: number; reqId?: string };
        if (entry.level < 50) continue;
        const id = entry.reqId ?? "none";
        errors.set(id, [...(errors.get(id) ?? []), line]);
      }
      done();
    },
  });
  return pino({ level: "error" }, sink);
}

/** Starts every target server once for the calling test file, and stops them when it ends. */
export function useFuzzServers(): void {
  useWatchdog();
  beforeAll(async () => {
    for (const name of TARGET_NAMES) {
      const [behaviour, signature, options] = TARGETS[name];
      const errors = new Map<string, string[]>();
      const state = new ServerState();
      const app = createApp(await buildModel(behaviour, signature, options), { ...LIMITS, logger: errorLog(errors), state });
      const running = await serveApp(app as never, { port: 0, host: "127.0.0.1", state, logger: pino({ level: "silent" }), onStopped: () => undefined });
      targets.set(name, { running, agent: new Agent({ keepAlive: true, maxSockets: 1 }), errors });
    }
  }, 120_000);
  afterAll(async () => {
    for (const target of targets.values()) {
      target.agent.destroy();
      await target.running.stop();
    }
    targets.clear();
  });
}

/** One generated request. */
export interface FuzzRequest {
  target: TargetName;
  method?: string;
  path: string;
  headers?: Record<string, string>;
  body?: Uint8Array;
}

export interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** Sends one request over the target's keep-alive connection. */
export async function send(req: FuzzRequest): Promise<Answer> {
  const target = targets.get(req.target);
  if (!target) throw new Error(`useFuzzServers() has not started "${req.target}"`);
  trying(`${summary(req)}\nwhole body, base64: ${Buffer.from(req.body ?? new Uint8Array()).toString("base64")}`);
  try {
    return await sendOnce(target, req);
  } catch (error) {
    // NB: a kept-alive connection the server closed as idle just as it was reused (the process
    // stalls on a loaded machine, so both timers fire together): Node's advice is to retry once.
    // A server that closes connections on purpose would do so again, on the fresh one.
    if (!(error as { reusedSocket?: boolean }).reusedSocket) throw error;
    return sendOnce(target, req);
  }
}

function sendOnce(target: Target, req: FuzzRequest): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = { ...(req.headers ?? {}) };
    if (req.body !== undefined) headers["Content-Length"] = req.body.byteLength;
    const outgoing = request(
      {
        host: "127.0.0.1",
        port: target.running.port,
        method: req.method ?? (req.body !== undefined ? "POST" : "GET"),
        path: req.path,
        headers,
        agent: target.agent,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString("utf8") }));
        res.on("error", reject);
      },
    );
    outgoing.setTimeout(HANG_MS, () => {
      hang.note();
      outgoing.destroy(new Error(`no answer within ${HANG_MS / 1000} s: a hang`));
    });
    outgoing.on("error", (error: NodeJS.ErrnoException) => {
      const code = error.code ?? "";
      reject(Object.assign(error, { reusedSocket: outgoing.reusedSocket && (code === "ECONNRESET" || error.message === "socket hang up") }));
    });
    outgoing.end(req.body);
  });
}

/** What a request looked like, for a failure message: the body shortened. */
function summary(req: FuzzRequest): string {
  const body = req.body === undefined ? "" : Buffer.from(req.body.subarray(0, 300)).toString("utf8");
  return `${req.method ?? "POST"} ${req.path} → ${req.target} ${JSON.stringify(req.headers ?? {})} ${JSON.stringify(body)}${(req.body?.byteLength ?? 0) > 300 ? `… (${req.body?.byteLength} bytes)` : ""}`;
}

/**
 * The property every generated request must hold: the answer is 200 (the input happened to be
 * valid) or a 4xx, never a 5xx; an error is JSON — MLflow's `{error_code, message}`, or the Open
 * Inference Protocol's `{error}` under /v2 — with no stack trace; and X-Request-Id is set.
 */
export function checkAnswer(req: FuzzRequest, answer: Answer): void {
  const fail = (why: string): never => {
    const id = String(answer.headers["x-request-id"] ?? "");
    const logged = targets.get(req.target)?.errors.get(id) ?? [];
    throw new Error(
      `${why}\nrequest: ${summary(req)}\nanswer: ${answer.status} ${answer.body.slice(0, 2000)}\nserver log: ${logged.join("\n") || "(nothing)"}`,
    );
  };
  if (answer.status >= 500 || answer.status < 200) fail(`status ${answer.status}: a bad input must get a 4xx`);
  if (answer.status >= 300 && answer.status < 400) fail(`status ${answer.status}: no redirects here`);
  if (!answer.headers["x-request-id"]) fail("no X-Request-Id");
  if (answer.status === 200 || req.method === "HEAD") return;
  if (!String(answer.headers["content-type"]).startsWith("application/json")) fail(`an error's Content-Type is ${answer.headers["content-type"]}`);
  let body: unknown;
  try {
    body = JSON.parse(answer.body);
  } catch {
    fail("an error body that is not JSON");
  }
  const v2 = req.path.startsWith("/v2");
  const fields = body !== null && typeof body === "object" ? (body as Record<string, unknown>) : {};
  if (v2 ? typeof fields["error"] !== "string" : typeof fields["error_code"] !== "string" || typeof fields["message"] !== "string")
    fail(v2 ? 'a /v2 error body must be {"error": "..."}' : 'an error body must be {"error_code": "...", "message": "..."}');
  const message = String(v2 ? fields["error"] : fields["message"]);
  if ("stack_trace" in fields || /\n\s+at .+:\d+:\d+/.test(message)) fail("a stack trace in an error body");
  if (message.trim() === "") fail("an empty error message");
}

/** Answers by status and error code (FUZZ_STATS=1) or message too (FUZZ_STATS=messages), printed when the file ends: what the generators reach. */
const tally = new Map<string, number>();

afterAll(() => {
  if (!process.env["FUZZ_STATS"]) return;
  console.log(Object.fromEntries([...tally].sort(([a], [b]) => a.localeCompare(b))));
});

function count(answer: Answer): void {
  let code = "";
  if (answer.status !== 200) {
    try {
      const body = JSON.parse(answer.body) as { error_code?: string; error?: string; message?: string };
      const message = body.message ?? body.error ?? "";
      code = `${body.error_code ?? (body.error !== undefined ? "(v2)" : "")}${process.env["FUZZ_STATS"] === "messages" ? ` ${message.slice(0, 60)}` : ""}`;
    } catch {
      code = answer.body === "" ? "(no body)" : "(not JSON)";
    }
  }
  const key = `${answer.status} ${code}`;
  tally.set(key, (tally.get(key) ?? 0) + 1);
}

/** Sends a request, checks its answer, then that the server still answers /ping with 200. */
export async function attack(req: FuzzRequest): Promise<void> {
  if (hang.seen) return;
  const answer = await send(req);
  count(answer);
  checkAnswer(req, answer);
  const ping = await send({ target: req.target, method: "GET", path: "/ping" });
  if (ping.status !== 200 || ping.body !== "\n") throw new Error(`/ping answered ${ping.status} ${ping.body} after ${summary(req)}`);
}
