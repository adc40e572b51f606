/**
 * `pipeserve serve --grpc-port` as a real process (the built bin): it serves the Open Inference
 * Protocol over gRPC beside REST, from the flag or PIPESERVE_GRPC_PORT; drains both on SIGTERM
 * (the call in flight answered, the process exits 0); with -w 2 every worker serves gRPC; a gRPC
 * port in use or a bad value stops it with one line naming the flag.
 */
import * as grpc from "@grpc/grpc-js";
import { type Server, createServer } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { useBuiltBin } from "../cli/helpers.js";
import { InferenceClient, outputValues, typedInput } from "./fixtures/grpc-client.js";
import { SIGNATURES, packageBehaviour } from "./fixtures/models.js";
import { ServeProcess, http } from "./fixtures/server-process.js";

useBuiltBin();
let modelDir: string;
const processes: ServeProcess[] = [];
const clients: InferenceClient[] = [];

beforeAll(async () => {
  modelDir = await packageBehaviour("sleep", SIGNATURES.sleepParams);
}, 60_000);

afterAll(async () => {
  for (const c of clients) c.close();
  for (const p of processes) await p.stop();
});

function serve(args: string[], env: NodeJS.ProcessEnv = {}): ServeProcess {
  const p = new ServeProcess(["serve", "-m", modelDir, "-p", "0", ...args], env);
  processes.push(p);
  return p;
}

function client(address: string): InferenceClient {
  const c = new InferenceClient(address, { ownConnection: true });
  clients.push(c);
  return c;
}

const INPUTS = [typedInput("a", "INT64", "int64_contents", [1, 2]), typedInput("b", "FP64", "fp64_contents", [0.5, 0.25])];

/** The gRPC address of the first "Serving" line. */
async function grpcAddress(p: ServeProcess, workers = 1): Promise<string> {
  await p.serving(workers);
  const line = p.logs().find((l) => l.msg === "Serving");
  expect(line?.["grpc"], "the Serving line names the gRPC address").toMatch(/^127\.0\.0\.1:\d+$/);
  return line?.["grpc"] as string;
}

describe("serve --grpc-port", { timeout: 60_000 }, () => {
  it("serves gRPC beside REST; on SIGTERM the call in flight is answered and the process exits 0", async () => {
    const p = serve(["--grpc-port", "0"]);
    const c = client(await grpcAddress(p));
    const { url } = await p.serving();
    expect((await http(`${url}/v2/health/ready`)).status).toBe(200);
    expect((await c.health()).response).toEqual({ status: "SERVING" });
    const quick = await c.call("ModelInfer", { model_name: "model", inputs: INPUTS, parameters: { delay_ms: { int64_param: 1 } } });
    expect(quick.code, quick.details).toBe(grpc.status.OK);
    expect(outputValues(quick.response, 0)).toEqual([1, 2]);
    const inFlight = c.call("ModelInfer", { model_name: "model", inputs: INPUTS, parameters: { delay_ms: { int64_param: 600 } } });
    // NB: in flight now: the gauge counts it beside the /metrics request that reads it.
    const deadline = Date.now() + 10_000;
    for (;;) {
      const inFlight = Number(/^pipeserve_http_requests_in_flight (\d+)/m.exec((await http(`${url}/metrics`)).body)?.[1] ?? 0);
      if (inFlight >= 2) break;
      if (Date.now() > deadline) throw new Error("the slow call never showed in pipeserve_http_requests_in_flight");
      await new Promise((r) => setTimeout(r, 20));
    }
    p.child.kill("SIGTERM");
    const answered = await inFlight;
    expect(answered.code, answered.details).toBe(grpc.status.OK);
    expect(await p.exited).toEqual({ code: 0, signal: null });
  });

  it("reads PIPESERVE_GRPC_PORT; with -w 2 every worker serves gRPC", async () => {
    const p = serve(["-w", "2"], { PIPESERVE_GRPC_PORT: "0" });
    const { pids } = await p.serving(2);
    expect(new Set(pids).size).toBe(2);
    const address = await grpcAddress(p, 2);
    // NB: one connection per client; the primary hands connections to the workers in turn.
    const answers = await Promise.all(
      Array.from({ length: 8 }, () =>
        client(address).call("ModelInfer", { model_name: "model", inputs: INPUTS, parameters: { delay_ms: { int64_param: 1 } } }),
      ),
    );
    expect(answers.map((a) => a.code)).toEqual(Array(8).fill(grpc.status.OK));
    await p.waitForLogs("calls logged by both workers", (lines) => {
      const served = new Set(lines.filter((l) => l.method === "GRPC").map((l) => l.pid));
      return served.size === 2 ? true : undefined;
    });
  });

  it("a gRPC port in use: exit 1 with one line naming --grpc-port, and nothing left serving", async () => {
    const holder: Server = createServer();
    await new Promise<void>((resolve) => holder.listen(0, "127.0.0.1", resolve));
    const port = (holder.address() as { port: number }).port;
    try {
      const p = serve(["--grpc-port", String(port)]);
      expect(await p.exited).toEqual({ code: 1, signal: null });
      expect(p.stderr).toBe(
        `pipeserve: Cannot listen on 127.0.0.1:${port}: port ${port} is already in use (EADDRINUSE). Stop the process that holds it, or choose another port with --grpc-port (0 picks a free one).\n`,
      );
      expect(p.logs().some((l) => l.msg === "Serving")).toBe(false);
    } finally {
      await new Promise((resolve) => holder.close(resolve));
    }
  });

  it.each([
    [["--grpc-port", "70000"], {}, "--grpc-port"],
    [[], { PIPESERVE_GRPC_PORT: "eighty" }, "PIPESERVE_GRPC_PORT"],
  ] as const)("refuses %j %j: exit 2 naming it", async (args, env, named) => {
    const p = serve([...args], env);
    const exit = await p.exited;
    expect(exit.code).toBe(2);
    expect(p.stderr).toContain(named);
  });
});
