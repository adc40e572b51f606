// Made with: npm run build && npx tsx bench/run.ts grpc   (or `npm run bench -- grpc`)
/**
 * bench/grpc — the Open Inference Protocol over gRPC beside the same protocol over REST: one
 * `pipeserve serve --grpc-port` process (the built bin, one worker, default settings, access log
 * to a file as in production) serving models/penguins, trained into a temp run store; both
 * transports driven from this process in the same run, turn about:
 * 1. one-row requests for GRPC_BENCH_SECONDS (4) s at GRPC_BENCH_CONNECTIONS (16) requests in
 *    flight, GRPC_BENCH_ROUNDS (3) rounds;
 * 2. 10,000-row requests (the complete rows of shared/bench-data/req_10000rows.json repeated: the
 *    typed contents of BYTES cannot hold a missing value), GRPC_BENCH_BIG_COUNT (100) requests at
 *    GRPC_BENCH_BIG_CONNECTIONS (2) in flight, the same rounds.
 * Each size, three ways: REST JSON (POST /v2/models/penguins/infer, autocannon, one keep-alive
 * connection per request in flight), gRPC typed contents and gRPC raw contents (ModelInfer, one
 * grpc-js client: one HTTP/2 connection with the calls multiplexed on it, kept full by a closed
 * loop). Each round runs the three back to back, in an order that turns each round; the ratios
 * (gRPC / REST, requests/s and p99) are the medians of the rounds' ratios.
 *
 * NB: both clients send bytes encoded once before the load and do not decode the answers (status
 * only: HTTP 2xx, gRPC OK), so the figures are the server's and the transport's, not a client's
 * encoding; what encoding costs a client is timed apart (clientEncodeUs). Latencies of both are
 * timed the same way (send to last byte, float ms) and their percentiles computed alike. Before
 * the load, one answer of each kind is decoded in full and compared across the three ways. The
 * load generator shares the machine's cores with the server, so each run also reports the CPU
 * time per request of the server (from /proc) and of this process (the clients): a way that costs
 * its client more leaves the server less of the machine.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { createReadStream, readFileSync } from "node:fs";
import { mkdtemp, open, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import autocannon from "autocannon";
import { benchData, bin, measure, median, report, root, round, trainPenguins } from "./harness.js";

const SECONDS = Number(process.env["GRPC_BENCH_SECONDS"] ?? 4);
const ROUNDS = Number(process.env["GRPC_BENCH_ROUNDS"] ?? 3);
const CONNECTIONS = Number(process.env["GRPC_BENCH_CONNECTIONS"] ?? 16);
const BIG_ROWS = 10_000;
const BIG_CONNECTIONS = Number(process.env["GRPC_BENCH_BIG_CONNECTIONS"] ?? 2);
const BIG_COUNT = Number(process.env["GRPC_BENCH_BIG_COUNT"] ?? 100);
/** How long one call or request may take before it counts as failed (autocannon's default). */
const TIMEOUT_S = 10;
const MODEL = "penguins";

/** The penguins model's inputs, in the order of its signature (GET /v2/models/penguins). */
const INPUTS = [
  { name: "island", datatype: "BYTES" },
  { name: "bill_length_mm", datatype: "FP64" },
  { name: "bill_depth_mm", datatype: "FP64" },
  { name: "flipper_length_mm", datatype: "FP64" },
  { name: "body_mass_g", datatype: "FP64" },
  { name: "sex", datatype: "BYTES" },
] as const;

type Row = (string | number | null)[];
type Way = "rest" | "grpcTyped" | "grpcRaw";
const WAYS: readonly Way[] = ["rest", "grpcTyped", "grpcRaw"];

interface Served {
  child: ChildProcess;
  /** REST base URL, e.g. http://127.0.0.1:37775. */
  url: string;
  /** gRPC address, e.g. 127.0.0.1:35857. */
  grpc: string;
  logFile: string;
}

interface InferResponse {
  outputs: { name: string; datatype: string; shape: string[]; contents?: { bytes_contents: Buffer[]; fp64_contents: number[] } }[];
  raw_output_contents: Buffer[];
}

interface GrpcInfer {
  client: grpc.Client;
  path: string;
  serialize(message: object): Buffer;
  deserialize(bytes: Buffer): InferResponse;
}

/** What one way sends: the bytes, as encoded once before the load. */
type Encoded = { way: "rest"; body: string } | { way: "grpcTyped" | "grpcRaw"; bytes: Buffer };

interface LoadResult {
  ok: number;
  failures: number;
  requestsPerSec: number;
  p50Ms: number;
  p99Ms: number;
}

/** A run's figures with the CPU time each side spent per request (answered or failed), in ms. */
interface RunResult extends LoadResult {
  serverCpuMsPerRequest: number;
  clientCpuMsPerRequest: number;
}

/** Starts `serve` on free ports for REST and gRPC and waits for its "Serving" log line (60 s at most). */
async function startServer(tracking: string): Promise<Served> {
  const logFile = join(tracking, "serve.log");
  const log = await open(logFile, "w");
  const child = spawn(
    process.execPath,
    [bin, "serve", "-m", `models:/${MODEL}/latest`, "--tracking-uri", tracking, "-p", "0", "--grpc-port", "0", "--log-level", "info"],
    { stdio: ["ignore", log.fd, "pipe"] },
  );
  await log.close();
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
  const started = performance.now();
  for (;;) {
    const line = (await readFile(logFile, "utf8")).split("\n").find((l) => l.includes('"msg":"Serving"'));
    if (line) {
      const serving = JSON.parse(line) as { url?: string; grpc?: string };
      if (!serving.url || !serving.grpc) throw new Error(`The "Serving" line names no REST url or no gRPC address: ${line}`);
      return { child, url: serving.url, grpc: serving.grpc, logFile };
    }
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`serve exited before serving: ${stderr}`);
    if (performance.now() - started > 60_000) {
      child.kill("SIGKILL");
      throw new Error(`serve logged no "Serving" line in 60 s: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** SIGTERM, then waits for the exit (SIGKILL after 20 s); how it ended. */
async function stopServer(served: Served): Promise<{ code: number | null; signal: string | null; ms: number; killed: boolean }> {
  const t0 = performance.now();
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => {
    if (served.child.exitCode !== null || served.child.signalCode !== null) resolve({ code: served.child.exitCode, signal: served.child.signalCode });
    else served.child.once("exit", (code, signal) => resolve({ code, signal }));
  });
  served.child.kill("SIGTERM");
  let killed = false;
  const timer = setTimeout(() => {
    killed = true;
    served.child.kill("SIGKILL");
  }, 20_000);
  const end = await exited;
  clearTimeout(timer);
  return { ...end, ms: Math.round(performance.now() - t0), killed };
}

/** Error and fatal lines (pino levels 50, 60) in the server's log. */
async function errorLines(logFile: string): Promise<number> {
  let n = 0;
  for await (const line of createInterface({ input: createReadStream(logFile) })) if (/"level":(50|60)\b/.test(line)) n++;
  return n;
}

/** The rows of shared/bench-data/req_10000rows.json without a missing value, and its first row. */
async function penguinRows(): Promise<{ one: Row[]; complete: Row[] }> {
  const one = JSON.parse(await readFile(join(benchData, "req_1row.json"), "utf8")) as { dataframe_split: { data: Row[] } };
  const all = JSON.parse(await readFile(join(benchData, "req_10000rows.json"), "utf8")) as { dataframe_split: { columns: string[]; data: Row[] } };
  const columns = all.dataframe_split.columns;
  if (columns.join() !== INPUTS.map((i) => i.name).join()) throw new Error(`req_10000rows.json has columns ${columns.join(", ")}.`);
  return { one: one.dataframe_split.data, complete: all.dataframe_split.data.filter((r) => r.every((v) => v !== null)) };
}

/** `rows` repeated in order, cut at `n`. */
function repeatRows(rows: Row[], n: number): Row[] {
  return Array.from({ length: n }, (_, i) => rows[i % rows.length] as Row);
}

/** Each input's column of `rows`. */
function columnsOf(rows: Row[]): { name: string; datatype: "BYTES" | "FP64"; values: (string | number)[] }[] {
  return INPUTS.map((input, c) => ({ ...input, values: rows.map((r) => r[c] as string | number) }));
}

function restBody(rows: Row[]): string {
  return JSON.stringify({
    id: "bench",
    inputs: columnsOf(rows).map((c) => ({ name: c.name, datatype: c.datatype, shape: [rows.length], data: c.values })),
  });
}

function typedMessage(rows: Row[]): object {
  return {
    model_name: MODEL,
    id: "bench",
    inputs: columnsOf(rows).map((c) => ({
      name: c.name,
      datatype: c.datatype,
      shape: [rows.length],
      contents: c.datatype === "BYTES" ? { bytes_contents: c.values.map((v) => Buffer.from(v as string)) } : { fp64_contents: c.values },
    })),
  };
}

/** FP64 as little-endian float64s; BYTES as each element after its 4-byte little-endian length. */
function rawTensor(datatype: "BYTES" | "FP64", values: (string | number)[]): Buffer {
  // NB: a Float64Array is in the host's byte order: little-endian on the machines this runs on (x64, arm64).
  if (datatype === "FP64") return Buffer.from(new Float64Array(values as number[]).buffer);
  const texts = values.map((v) => Buffer.from(v as string));
  const out = Buffer.allocUnsafe(texts.reduce((n, t) => n + 4 + t.length, 0));
  let at = 0;
  for (const text of texts) {
    at = out.writeUInt32LE(text.length, at);
    at += text.copy(out, at);
  }
  return out;
}

function rawMessage(rows: Row[]): object {
  const columns = columnsOf(rows);
  return {
    model_name: MODEL,
    id: "bench",
    inputs: columns.map((c) => ({ name: c.name, datatype: c.datatype, shape: [rows.length] })),
    raw_input_contents: columns.map((c) => rawTensor(c.datatype, c.values)),
  };
}

function encode(way: Way, rows: Row[], infer: GrpcInfer): Encoded {
  if (way === "rest") return { way, body: restBody(rows) };
  return { way, bytes: infer.serialize(way === "grpcTyped" ? typedMessage(rows) : rawMessage(rows)) };
}

function connect(address: string): GrpcInfer {
  const definition = protoLoader.loadSync(join(root, "proto", "inference.proto"), { keepCase: true, longs: String, defaults: true, oneofs: true });
  const loaded = grpc.loadPackageDefinition(definition) as unknown as { inference: { GRPCInferenceService: grpc.ServiceClientConstructor } };
  const Service = loaded.inference.GRPCInferenceService;
  const method = Service.service["ModelInfer"] as grpc.MethodDefinition<object, InferResponse>;
  const client = new Service(address, grpc.credentials.createInsecure(), { "grpc.max_receive_message_length": -1, "grpc.max_send_message_length": -1 });
  return { client, path: method.path, serialize: method.requestSerialize, deserialize: method.responseDeserialize };
}

/** One ModelInfer call with bytes already encoded; the answer's bytes, undecoded. */
function callRaw(infer: GrpcInfer, bytes: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    infer.client.makeUnaryRequest<Buffer, Buffer>(
      infer.path,
      (b) => b,
      (b) => b,
      bytes,
      new grpc.Metadata(),
      { deadline: Date.now() + TIMEOUT_S * 1000 },
      (error, answer) => (error || !answer ? reject(error ?? new Error("no answer")) : resolve(answer)),
    );
  });
}

/** Nearest-rank percentile of sorted values. */
function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))] as number;
}

function summarise(latencies: number[], failures: number, seconds: number): LoadResult {
  latencies.sort((a, b) => a - b);
  return {
    ok: latencies.length,
    failures,
    requestsPerSec: round(latencies.length / seconds, 1),
    p50Ms: round(percentile(latencies, 0.5), 2),
    p99Ms: round(percentile(latencies, 0.99), 2),
  };
}

type Stop = { seconds: number } | { count: number };

/** REST load with autocannon: `connections` keep-alive connections, each with one request in flight. */
async function restLoad(url: string, body: string, connections: number, stop: Stop): Promise<LoadResult> {
  const latencies: number[] = [];
  let failures = 0;
  const t0 = performance.now();
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      {
        url: `${url}/v2/models/${MODEL}/infer`,
        method: "POST",
        headers: { "content-type": "application/json" },
        body,
        connections,
        pipelining: 1,
        timeout: TIMEOUT_S,
        ...("seconds" in stop ? { duration: stop.seconds } : { amount: stop.count }),
      },
      (error: unknown, done) => (error ? reject(error instanceof Error ? error : new Error(String(error))) : resolve(done)),
    );
    instance.on("response", (_client, statusCode, _bytes, ms) => {
      if (statusCode >= 200 && statusCode < 300) latencies.push(ms);
      else failures++;
    });
  });
  const seconds = (performance.now() - t0) / 1000;
  // NB: non-2xx answers are counted above; errors and timeouts (no answer) only by autocannon.
  return summarise(latencies, failures + result.errors + result.timeouts, seconds);
}

/** gRPC load: one client (one HTTP/2 connection), `inFlight` calls kept in flight by a closed loop. */
async function grpcLoad(infer: GrpcInfer, bytes: Buffer, inFlight: number, stop: Stop): Promise<LoadResult> {
  const latencies: number[] = [];
  let failures = 0;
  let issued = 0;
  const t0 = performance.now();
  const end = "seconds" in stop ? t0 + stop.seconds * 1000 : Number.POSITIVE_INFINITY;
  const more = (): boolean => ("count" in stop ? issued < stop.count : performance.now() < end);
  let last = t0;
  const loop = async (): Promise<void> => {
    while (more()) {
      issued++;
      const start = performance.now();
      try {
        await callRaw(infer, bytes);
        last = performance.now();
        latencies.push(last - start);
      } catch {
        last = performance.now();
        failures++;
      }
    }
  };
  await Promise.all(Array.from({ length: inFlight }, loop));
  return summarise(latencies, failures, (last - t0) / 1000);
}

const CLOCK_TICKS = Number(spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).stdout?.trim()) || 100;

/** CPU time (user + system, all threads) a process has used, in ms, from /proc (NaN where there is none). */
function processCpuMs(pid: number | undefined): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // NB: utime and stime are the stat file's fields 14 and 15, here 12 and 13 (after pid and comm).
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
  } catch {
    return Number.NaN;
  }
}

/** One run of one way, with the CPU time the server and this process (the client) spent on it. */
async function load(encoded: Encoded, served: Served, infer: GrpcInfer, connections: number, stop: Stop): Promise<RunResult> {
  const server0 = processCpuMs(served.child.pid);
  const client0 = process.cpuUsage();
  const result = encoded.way === "rest" ? await restLoad(served.url, encoded.body, connections, stop) : await grpcLoad(infer, encoded.bytes, connections, stop);
  const client = process.cpuUsage(client0);
  const requests = Math.max(1, result.ok + result.failures);
  return {
    ...result,
    serverCpuMsPerRequest: round((processCpuMs(served.child.pid) - server0) / requests, 3),
    clientCpuMsPerRequest: round((client.user + client.system) / 1000 / requests, 3),
  };
}

/**
 * One answer of each way for `rows`, decoded in full: the species and probabilities, which must
 * be the same three times (and one per row).
 */
async function checkAnswers(rows: Row[], served: Served, infer: GrpcInfer): Promise<string[]> {
  const problems: string[] = [];
  const res = await fetch(`${served.url}/v2/models/${MODEL}/infer`, { method: "POST", headers: { "content-type": "application/json" }, body: restBody(rows) });
  const rest = (await res.json()) as { outputs?: { name: string; data: unknown[] }[] };
  if (res.status !== 200) problems.push(`REST answered ${res.status}: ${JSON.stringify(rest).slice(0, 300)}`);
  const restOut = (name: string): unknown[] => rest.outputs?.find((o) => o.name === name)?.data ?? [];
  const typed = infer.deserialize(await callRaw(infer, infer.serialize(typedMessage(rows))));
  const typedOut = (name: string): unknown[] => {
    const contents = typed.outputs.find((o) => o.name === name)?.contents;
    return name === "species" ? (contents?.bytes_contents ?? []).map((b) => b.toString()) : (contents?.fp64_contents ?? []);
  };
  const raw = infer.deserialize(await callRaw(infer, infer.serialize(rawMessage(rows))));
  const rawOut = (name: string): unknown[] => {
    const i = raw.outputs.findIndex((o) => o.name === name);
    const bytes = raw.raw_output_contents[i];
    if (i < 0 || !bytes) return [];
    if (name === "probability") return Array.from({ length: bytes.length / 8 }, (_, k) => bytes.readDoubleLE(k * 8));
    const values: string[] = [];
    for (let at = 0; at < bytes.length; ) {
      const length = bytes.readUInt32LE(at);
      values.push(bytes.toString("utf8", at + 4, at + 4 + length));
      at += 4 + length;
    }
    return values;
  };
  for (const name of ["species", "probability"]) {
    const expected = restOut(name);
    if (expected.length !== rows.length) problems.push(`${rows.length} rows: REST answered ${expected.length} ${name} values.`);
    for (const [way, got] of [
      ["gRPC typed", typedOut(name)],
      ["gRPC raw", rawOut(name)],
    ] as const) {
      if (JSON.stringify(got) !== JSON.stringify(expected)) problems.push(`${rows.length} rows: ${way} ${name} differs from REST's.`);
    }
  }
  return problems;
}

interface SizeResult {
  rows: number;
  inFlight: number;
  stop: Stop;
  requestBytes: Record<Way, number>;
  rounds: Record<Way, RunResult>[];
  median: Record<Way, { requestsPerSec: number; p50Ms: number; p99Ms: number; serverCpuMsPerRequest: number; clientCpuMsPerRequest: number }>;
  failures: number;
  /** gRPC / REST, the medians of the rounds' ratios. */
  ratios: Record<"grpcTyped" | "grpcRaw", { requestsPerSec: number; p99: number }>;
}

/** The three ways at one size: a warm-up of each, then ROUNDS rounds of the three, back to back. */
async function compare(rows: Row[], served: Served, infer: GrpcInfer, inFlight: number, stop: Stop, warmup: Stop): Promise<SizeResult> {
  const encoded = Object.fromEntries(WAYS.map((w) => [w, encode(w, rows, infer)])) as Record<Way, Encoded>;
  for (const way of WAYS) await load(encoded[way], served, infer, inFlight, warmup);
  const rounds: Record<Way, RunResult>[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const result = {} as Record<Way, RunResult>;
    for (let k = 0; k < WAYS.length; k++) {
      const way = WAYS[(r + k) % WAYS.length] as Way;
      result[way] = await load(encoded[way], served, infer, inFlight, stop);
    }
    rounds.push(result);
  }
  const med = (way: Way) => ({
    requestsPerSec: median(rounds.map((r) => r[way].requestsPerSec)),
    p50Ms: median(rounds.map((r) => r[way].p50Ms)),
    p99Ms: median(rounds.map((r) => r[way].p99Ms)),
    serverCpuMsPerRequest: median(rounds.map((r) => r[way].serverCpuMsPerRequest)),
    clientCpuMsPerRequest: median(rounds.map((r) => r[way].clientCpuMsPerRequest)),
  });
  const ratio = (way: "grpcTyped" | "grpcRaw") => ({
    requestsPerSec: round(median(rounds.map((r) => r[way].requestsPerSec / r.rest.requestsPerSec)), 2),
    p99: round(median(rounds.map((r) => r[way].p99Ms / r.rest.p99Ms)), 2),
  });
  return {
    rows: rows.length,
    inFlight,
    stop,
    requestBytes: Object.fromEntries(WAYS.map((w) => [w, Buffer.byteLength(wire(encoded[w]))])) as Record<Way, number>,
    rounds,
    median: { rest: med("rest"), grpcTyped: med("grpcTyped"), grpcRaw: med("grpcRaw") },
    failures: rounds.reduce((n, r) => n + WAYS.reduce((m, w) => m + r[w].failures, 0), 0),
    ratios: { grpcTyped: ratio("grpcTyped"), grpcRaw: ratio("grpcRaw") },
  };
}

function wire(encoded: Encoded): string | Buffer {
  return encoded.way === "rest" ? encoded.body : encoded.bytes;
}

/** Microseconds a client spends turning rows into request bytes, each way (not part of the load figures). */
async function clientEncodeUs(rows: Row[], infer: GrpcInfer): Promise<Record<Way, number>> {
  const big = rows.length > 100;
  const options = big ? { warmup: 5, batches: 5, perBatch: 4 } : { warmup: 200, batches: 10, perBatch: 200 };
  const out = {} as Record<Way, number>;
  for (const way of WAYS) out[way] = round((await measure(() => encode(way, rows, infer), options)).medianUs, 1);
  return out;
}

/** The medians of the rounds, one line a way, with the ratios to REST at the same size. */
function table(sizes: SizeResult[]): string {
  const label: Record<Way, string> = { rest: "REST JSON", grpcTyped: "gRPC typed", grpcRaw: "gRPC raw" };
  const widths = [7, 12, 10, 9, 9, 14, 12, 15, 15, 10];
  const line = (cells: (string | number)[]): string =>
    cells.map((c, i) => (i < 2 ? String(c).padEnd(widths[i] ?? 0) : String(c).padStart(widths[i] ?? 0))).join("");
  const lines = [line(["rows", "way", "req/s", "p50 ms", "p99 ms", "× REST req/s", "× REST p99", "server CPU ms", "client CPU ms", "failures"])];
  for (const s of sizes) {
    for (const way of WAYS) {
      const m = s.median[way];
      const ratio = way === "rest" ? { requestsPerSec: 1, p99: 1 } : s.ratios[way];
      const failures = s.rounds.reduce((n, r) => n + r[way].failures, 0);
      lines.push(
        line([
          s.rows,
          label[way],
          m.requestsPerSec,
          m.p50Ms,
          m.p99Ms,
          ratio.requestsPerSec,
          ratio.p99,
          m.serverCpuMsPerRequest,
          m.clientCpuMsPerRequest,
          failures,
        ]),
      );
    }
  }
  return `${lines.join("\n")}\n(medians of ${ROUNDS} rounds; ratios: medians of the rounds' gRPC / REST; CPU: ms per request)`;
}

export async function main(): Promise<void> {
  const tracking = await mkdtemp(join(tmpdir(), "pipeserve-bench-grpc-"));
  let served: Served | undefined;
  let infer: GrpcInfer | undefined;
  try {
    trainPenguins(tracking);
    const { one, complete } = await penguinRows();
    const big = repeatRows(complete, BIG_ROWS);
    served = await startServer(tracking);
    infer = connect(served.grpc);
    const problems = [...(await checkAnswers(one, served, infer)), ...(await checkAnswers(big, served, infer))];
    const oneRow = await compare(one, served, infer, CONNECTIONS, { seconds: SECONDS }, { seconds: 2 });
    const tenK = await compare(big, served, infer, BIG_CONNECTIONS, { count: BIG_COUNT }, { count: 3 * BIG_CONNECTIONS });
    const encodeUs = { oneRow: await clientEncodeUs(one, infer), tenThousandRows: await clientEncodeUs(big, infer) };
    infer.client.close();
    infer = undefined;
    const stopped = await stopServer(served);
    const serverErrorLines = await errorLines(served.logFile);
    served = undefined;
    const failures = oneRow.failures + tenK.failures;
    if (failures > 0) problems.push(`${failures} requests failed (non-2xx, gRPC status not OK, errors or timeouts).`);
    if (serverErrorLines > 0) problems.push(`${serverErrorLines} error lines in the server log.`);
    if (stopped.killed || stopped.code !== 0) problems.push(`The server did not exit cleanly on SIGTERM: ${JSON.stringify(stopped)}.`);
    console.log(`\n${table([oneRow, tenK])}\n`);
    console.log(problems.length > 0 ? `PROBLEMS:\n  ${problems.join("\n  ")}` : "All requests succeeded; the three ways answered alike.");
    const file = await report(
      "grpc",
      {
        model: "models/penguins (3 nodes), one worker, default settings; the Open Inference Protocol over REST and over gRPC on one server",
        clients: "REST: autocannon, one keep-alive connection per request in flight; gRPC: one grpc-js client (one HTTP/2 connection), closed loop",
        roundsEach: ROUNDS,
        oneRow: { ...oneRow, secondsPerRun: SECONDS },
        tenThousandRows: { ...tenK, what: "complete rows of req_10000rows.json repeated" },
        clientEncodeUs: encodeUs,
        server: { stop: stopped, errorLines: serverErrorLines },
        failures,
        problems,
      },
      { print: false },
    );
    console.log(`Results: ${file}`);
    if (problems.length > 0) process.exitCode = 1;
  } finally {
    infer?.client.close();
    if (served) await stopServer(served);
    await rm(tracking, { recursive: true, force: true });
  }
}
