/**
 * What an operator sees of a running `pipeserve serve` (issue 14, item 6): process metrics (memory,
 * heap, event-loop lag) and open connections in /metrics, and `--max-connections`, which closes
 * connections beyond the limit on arrival — a client fails fast instead of waiting unseen in the
 * kernel's accept queue — and counts them.
 */
import { connect, type Socket } from "node:net";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { ensureBuilt } from "../fixtures/cli.js";
import { SIGNATURES, packageBehaviour } from "./fixtures/models.js";
import { ServeProcess, http } from "./fixtures/server-process.js";

let modelDir: string;
const running: ServeProcess[] = [];
const sockets: Socket[] = [];

beforeAll(async () => {
  await ensureBuilt();
  modelDir = await packageBehaviour("sleep", SIGNATURES.sleepParams);
});

afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await Promise.all(running.splice(0).map((p) => p.stop()));
});

function serve(...args: string[]): ServeProcess {
  const p = new ServeProcess(["serve", "-m", modelDir, "-p", "0", ...args]);
  running.push(p);
  return p;
}

/** A keep-alive connection that has had one answer, so the server surely counts it as open. */
async function openConnection(port: number): Promise<Socket> {
  const socket = connect(port, "127.0.0.1");
  sockets.push(socket);
  socket.setEncoding("utf8");
  await new Promise<void>((resolve, reject) => {
    let seen = "";
    socket.on("data", (chunk: string) => {
      seen += chunk;
      if (seen.includes("\r\n\r\n")) resolve();
    });
    socket.once("error", reject);
    socket.write("GET /ping HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  });
  return socket;
}

/** The value of one sample line of the Prometheus text (`name value`), or undefined. */
function sample(metrics: string, name: string): number | undefined {
  const m = new RegExp(`^${name} ([-+0-9.eE]+|NaN)$`, "m").exec(metrics);
  return m ? Number(m[1]) : undefined;
}

describe("pipeserve serve: what /metrics shows of the process", () => {
  it("has resident memory, heap, event-loop lag and open connections", async () => {
    const { url, port } = await serve().serving();
    await openConnection(port);
    await openConnection(port);
    const { status, body } = await http(`${url}/metrics`);
    expect(status).toBe(200);
    expect(sample(body, "pipeserve_process_resident_memory_bytes")).toBeGreaterThan(10_000_000);
    expect(sample(body, "pipeserve_nodejs_heap_size_used_bytes")).toBeGreaterThan(1_000_000);
    expect(sample(body, "pipeserve_nodejs_eventloop_lag_seconds")).toBeGreaterThanOrEqual(0);
    // The two kept open and the scrape's own.
    expect(sample(body, "pipeserve_http_open_connections")).toBe(3);
    expect(sample(body, "pipeserve_http_connections_dropped_total")).toBe(0);
  });
});

describe("pipeserve serve --max-connections", () => {
  it("closes a connection beyond the limit on arrival, counts it, and takes new ones once others close", async () => {
    const { url, port } = await serve("--max-connections", "2").serving();
    const first = await openConnection(port);
    await openConnection(port);

    const refused = await http(`${url}/ping`).then(
      () => "answered",
      (error: NodeJS.ErrnoException) => error.code ?? error.message,
    );
    expect(["ECONNRESET", "EPIPE", "socket hang up"]).toContain(refused);

    first.destroy();
    // NB: the server sees the close a moment later; until then a new connection is still dropped.
    let metrics = "";
    for (let i = 0; i < 50 && metrics === ""; i++) {
      metrics = await http(`${url}/metrics`).then(
        (r) => r.body,
        () => "",
      );
      if (metrics === "") await new Promise((r) => setTimeout(r, 20));
    }
    expect(sample(metrics, "pipeserve_http_open_connections")).toBe(2);
    expect(sample(metrics, "pipeserve_http_connections_dropped_total")).toBeGreaterThanOrEqual(1);
  });

  it.each([["0"], ["-1"], ["many"]])("refuses --max-connections %s: exit 2 naming the flag", async (value) => {
    const p = serve("--max-connections", value);
    const exit = await p.exited;
    expect(exit.code).toBe(2);
    expect(p.stderr).toContain("--max-connections");
  });
});
