/**
 * SIGTERM drain over REAL sockets against the built CLI (`node dist/cli/bin.js serve`): the attacks
 * of issue 14 item 2. A slow reader must get every byte of an answer that was flushing when the
 * signal came; an upload under way at the signal is finished with 200; answers given while
 * draining say `Connection: close`; an idle kept-alive connection is ended cleanly (FIN, not a
 * reset); and the process exits 0.
 */
import { existsSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { Agent, type IncomingMessage, request as httpRequest } from "node:http";
import { type Socket, connect } from "node:net";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { SIGNATURES, packageBehaviour } from "./fixtures/models.js";
import { CLI, REPO, ServeProcess, http, tryConnect } from "./fixtures/server-process.js";

let modelDir: string;
/** A model whose node computes without yielding for `params:delay_ms`: the server's event loop is busy. */
let spinDir: string;
const running: ServeProcess[] = [];
const agents: Agent[] = [];

function serve(...args: string[]): ServeProcess {
  const p = new ServeProcess(["serve", "-m", modelDir, "-p", "0", ...args]);
  running.push(p);
  return p;
}

function keepAliveAgent(): Agent {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  agents.push(agent);
  return agent;
}

/** `rows` rows of `a` (whole) and `b` (fractional), for the sleep model, as a dataframe_split body. */
function rowsBody(rows: number, delayMs: number): Buffer {
  const data = Array.from({ length: rows }, (_, i) => [100_000 + i, i + 0.25]);
  return Buffer.from(JSON.stringify({ dataframe_split: { columns: ["a", "b"], data }, params: { delay_ms: delayMs } }));
}

/** Reads a response's whole body (resuming it if it was paused). */
function readAll(res: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on("data", (chunk: Buffer) => chunks.push(chunk));
    res.on("end", () => resolve(Buffer.concat(chunks)));
    res.on("error", reject);
    res.on("aborted", () => reject(new Error("the response was cut short")));
    res.resume();
  });
}

/** The server's in-flight request gauge, minus the poll itself. */
async function inFlight(url: string): Promise<number> {
  const res = await http(`${url}/metrics`);
  return Number(/^pipeserve_http_requests_in_flight (\d+)$/m.exec(res.body)?.[1] ?? 1) - 1;
}

async function until(what: string, check: () => Promise<boolean>, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`Timed out waiting for ${what}`);
}

/** Waits until new connections are refused: the signal has been handled and the port closed. */
function portClosed(url: string): Promise<void> {
  return until("the port to close", async () => (await tryConnect(url)) === "ECONNREFUSED");
}

beforeAll(async () => {
  if (!existsSync(CLI)) execFileSync("npm", ["run", "build"], { cwd: REPO, stdio: "inherit" });
  [modelDir, spinDir] = await Promise.all([packageBehaviour("sleep", SIGNATURES.sleepParams), packageBehaviour("spin", SIGNATURES.sleepParams)]);
});

/** What a raw connection got back for a request it wrote: the bytes until the server ended it, or the error that ended it. */
interface RawOutcome {
  text: string;
  error: string | undefined;
}

/** Collects what `socket` receives until it closes. */
function outcomeOf(socket: Socket): Promise<RawOutcome> {
  return new Promise((resolve) => {
    let text = "";
    let error: string | undefined;
    socket.on("data", (chunk: Buffer) => (text += chunk.toString("utf8")));
    socket.on("error", (e: NodeJS.ErrnoException) => (error = e.code ?? e.message));
    socket.on("close", () => resolve({ text, error }));
  });
}

/** A whole /invocations request for the spin model, as raw HTTP/1.1. */
function rawPredict(delayMs: number): string {
  const body = JSON.stringify({ dataframe_split: { columns: ["a", "b"], data: [[1, 0.5]] }, params: { delay_ms: delayMs } });
  return `POST /invocations HTTP/1.1\r\nHost: pipeserve\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
}

afterEach(async () => {
  for (const agent of agents.splice(0)) agent.destroy();
  await Promise.all(running.splice(0).map((p) => p.stop()));
});

describe("pipeserve serve drains on SIGTERM", () => {
  it("a slow reader gets every byte of a large answer that was still flushing at the signal", async () => {
    const p = serve();
    const { url } = await p.serving();
    const rows = 400_000;
    const body = rowsBody(rows, 0);
    // The headers arrive, then the client stops reading: megabytes wait in the server's buffers.
    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      const req = httpRequest(
        `${url}/invocations`,
        { method: "POST", agent: keepAliveAgent(), headers: { "Content-Type": "application/json", "Content-Length": String(body.byteLength) } },
        resolve,
      );
      req.on("error", reject);
      req.end(body);
    });
    res.pause();
    expect(res.statusCode).toBe(200);
    expect(res.headers["connection"]).toBe("keep-alive");

    p.child.kill("SIGTERM");
    await portClosed(url);
    // Long past the old drain's 100 ms sweep of "idle" connections.
    await new Promise((r) => setTimeout(r, 400));
    const text = (await readAll(res)).toString("utf8");
    expect(Buffer.byteLength(text)).toBe(Number(res.headers["content-length"]));
    const predictions = (JSON.parse(text) as { predictions: { a: number; b: number }[] }).predictions;
    expect(predictions).toHaveLength(rows);
    expect(predictions[rows - 1]).toEqual({ a: 100_000 + rows - 1, b: rows - 1 + 0.25 });
    expect(await p.exited).toEqual({ code: 0, signal: null });
  });

  it("an upload under way at the signal is finished with 200 and Connection: close", async () => {
    const p = serve();
    const { url } = await p.serving();
    const body = rowsBody(2_000, 0);
    const half = Math.floor(body.byteLength / 2);
    let sendRest!: () => void;
    const answer = new Promise<{ res: IncomingMessage; text: string }>((resolve, reject) => {
      const req = httpRequest(
        `${url}/invocations`,
        { method: "POST", agent: keepAliveAgent(), headers: { "Content-Type": "application/json", "Content-Length": String(body.byteLength) } },
        (res) => void readAll(res).then((b) => resolve({ res, text: b.toString("utf8") }), reject),
      );
      req.on("error", reject);
      req.write(body.subarray(0, half));
      sendRest = () => req.end(body.subarray(half));
    });
    // The server has the request (its handler is reading the body) before the signal.
    await until("the upload to reach the server", async () => (await inFlight(url)) === 1);

    p.child.kill("SIGTERM");
    await portClosed(url);
    sendRest();
    const { res, text } = await answer;
    expect(res.statusCode).toBe(200);
    expect(res.headers["connection"]).toBe("close");
    expect((JSON.parse(text) as { predictions: unknown[] }).predictions).toHaveLength(2_000);
    expect(await p.exited).toEqual({ code: 0, signal: null });
  });

  it("answers requests running at the signal with Connection: close, and ends idle kept-alive connections cleanly", async () => {
    const p = serve();
    const { url, port } = await p.serving();

    // An idle kept-alive connection: one request answered, then nothing.
    const idle = connect(port, "127.0.0.1");
    let received = "";
    const idleEnded = new Promise<{ ended: boolean; hadError: boolean }>((resolve) => {
      let ended = false;
      idle.on("data", (chunk: Buffer) => (received += chunk.toString("utf8")));
      idle.on("end", () => (ended = true));
      idle.on("error", () => undefined);
      idle.on("close", (hadError) => resolve({ ended, hadError }));
    });
    idle.write("GET /ping HTTP/1.1\r\nHost: pipeserve\r\n\r\n");
    await until("the idle connection's first answer", async () => received.includes("\r\n\r\n"));
    expect(received).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(received.toLowerCase()).toContain("connection: keep-alive");

    // A slow prediction on another kept-alive connection, running when the signal comes.
    const slow = new Promise<{ res: IncomingMessage; text: string }>((resolve, reject) => {
      const body = rowsBody(2, 1_500);
      const req = httpRequest(
        `${url}/invocations`,
        { method: "POST", agent: keepAliveAgent(), headers: { "Content-Type": "application/json", "Content-Length": String(body.byteLength) } },
        (res) => void readAll(res).then((b) => resolve({ res, text: b.toString("utf8") }), reject),
      );
      req.on("error", reject);
      req.end(body);
    });
    await until("the slow prediction to start", async () => (await inFlight(url)) === 1);

    p.child.kill("SIGTERM");
    // The idle connection is ended by the server with a FIN, not reset.
    expect(await idleEnded).toEqual({ ended: true, hadError: false });
    const { res, text } = await slow;
    expect(res.statusCode).toBe(200);
    expect(res.headers["connection"]).toBe("close");
    expect(JSON.parse(text)).toEqual({
      predictions: [
        { a: 100_000, b: 0.25 },
        { a: 100_001, b: 1.25 },
      ],
    });
    expect(await p.exited).toEqual({ code: 0, signal: null });
    expect(p.logs().some((l) => l.msg.startsWith("Stopping: no new connections"))).toBe(true);
  });

  it("requests sent while the event loop is busy when the signal comes are answered (200 or 503), none reset", async () => {
    const p = new ServeProcess(["serve", "-m", spinDir, "-p", "0"]);
    running.push(p);
    const { port } = await p.serving();
    const open = (): Socket => connect(port, "127.0.0.1");
    // Connections the server accepted before it got busy, with nothing sent on them yet.
    const accepted = [open(), open(), open(), open(), open(), open()];
    await Promise.all(accepted.map((s) => new Promise((resolve) => s.once("connect", resolve))));
    await new Promise((r) => setTimeout(r, 100));
    // A prediction that holds the event loop for 1.5 s.
    const busy = open();
    const busyOutcome = outcomeOf(busy);
    busy.write(rawPredict(1_500));
    await new Promise((r) => setTimeout(r, 400));
    const send = (sockets: Socket[]): Promise<RawOutcome>[] =>
      sockets.map((s) => {
        const outcome = outcomeOf(s);
        s.write(rawPredict(0));
        return outcome;
      });
    // While it is busy: requests on accepted connections, and on new ones the kernel queues (the
    // listening socket is not read), and a queued connection that sends nothing; then the signal;
    // then requests on the other accepted connections.
    const before = send([...accepted.slice(0, 3), open(), open(), open()]);
    const silent = open();
    const silentOutcome = outcomeOf(silent);
    await new Promise((r) => setTimeout(r, 200));
    p.child.kill("SIGTERM");
    const signalled = Date.now();
    await new Promise((r) => setTimeout(r, 100));
    const after = send(accepted.slice(3));

    expect((await busyOutcome).text).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    for (const outcome of await Promise.all([...before, ...after])) {
      expect(outcome.error, "a request the client sent was reset").toBeUndefined();
      // NB: a request read before the signal was handled is predicted (200); one read after it is refused (503).
      expect(outcome.text).toMatch(/^HTTP\/1\.1 (503 Service Unavailable|200 OK)\r\n/);
      if (outcome.text.startsWith("HTTP/1.1 503")) expect(outcome.text.toLowerCase()).toContain("connection: close");
    }
    // The connection accepted while draining that sent nothing is ended (FIN, not a reset), not
    // waited for until the drain period (30 s) is over.
    expect(await silentOutcome).toEqual({ text: "", error: undefined });
    expect(await p.exited).toEqual({ code: 0, signal: null });
    expect(Date.now() - signalled).toBeLessThan(10_000);
  });
});
