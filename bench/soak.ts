/**
 * bench/soak — minutes of mixed load on one `pipeserve serve`, watching its memory and event loop
 * (issue 14: "a flat memory line and zero unexpected errors in 30 minutes"). Not in `npm run bench`
 * without a name: `SOAK_MINUTES=30 npm run bench -- soak`.
 *
 * Trains models/penguins into a temp run store and starts the built `pipeserve serve` on an
 * ephemeral port with default settings (access log at info into a file, as bench/server does).
 * Then, for SOAK_MINUTES:
 * - SOAK_CONNECTIONS keep-alive connections (autocannon) cycle through a shuffled mix: one and many
 *   rows as dataframe_split / dataframe_records / instances / inputs, CSV with `?params=`, NDJSON,
 *   Arrow, Parquet, CSV and Arrow answers, Open Inference v2 infer, runtime params and runners, the
 *   GET routes — and about one request in ten deliberately bad, each with the 4xx it must get;
 * - two clients that open a fresh connection for every request (the same mix);
 * - one client sending large bodies back to back (10,000 rows as JSON, CSV, NDJSON, Arrow, Parquet
 *   and v2 tensors; 100,000 CSV rows once a minute);
 * - one client that hangs up: mid-headers, mid-upload, right after sending, mid-download of a
 *   large answer, and after the 413 of a declared body over --max-body.
 * Every SOAK_SAMPLE_SECONDS it records the server's RSS (/proc), heap used, event-loop delay and open
 * connections (/metrics), and requests per status as the clients saw them and as the server counted.
 *
 * Unexpected: a good request answered anything but 200 or with the wrong number of rows, a bad one
 * answered anything but its 4xx, a socket error or timeout on a request that did not hang up on
 * purpose, a failed /metrics scrape, a 5xx the server counted, an error line in its log, the server
 * exiting during the run or not exiting 0 on SIGTERM, connections or runs still open after the load.
 * Flat memory, after the warm-up, judged on the two lines a leak moves and a busy collector does not:
 * - the live heap, the heap left after each full collection (from the server's --trace-gc): its
 *   slope (Theil–Sen: the median of the slopes between every pair of points) at most
 *   SOAK_MAX_SLOPE_MB_PER_MIN (1) and its end level (median of the last fifth) at most max(10 %, 10 MB)
 *   above its start level (median of the first fifth);
 * - the RSS floor, the lowest RSS in each complete 5-minute window (what the process keeps under the
 *   spikes of large requests): the same slope limit, and its last floor within the same margin of its first.
 * RSS and heap used sampled at random moments are reported beside them, not judged: the first
 * 30-minute runs showed both swinging by 250 MB with the garbage a busy or starved collector had not
 * yet freed (the machine is shared), while the live heap held within 0.5 MB.
 * Either failing, or an unexpected error, sets the exit code to 1. Results: bench/results/soak.json
 * and soak-samples.csv.
 *
 * SOAK_SKIP (comma-separated) leaves out the kinds whose names contain one of its words, e.g.
 * `parquet`, to tell which part of the mix a growing line comes from.
 *
 * The server runs with the node flags SOAK_NODE_FLAGS (default `--trace-gc`): the heap left after each full
 * collection of its main isolate, read from that trace in its log, is the live set, the steadiest
 * sign of a JavaScript leak (heap used at a random moment also holds garbage not yet collected);
 * the table shows its line beside the two the verdict uses.
 *
 * NB: the load generator shares the machine (2 cores) with the server and with whatever else runs:
 * the figures are for leaks and errors, not throughput (bench/server measures that).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { createReadStream } from "node:fs";
import { mkdtemp, open, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { Agent, type IncomingHttpHeaders, request as httpRequest } from "node:http";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import autocannon from "autocannon";
import { arrowToParquet, encodeArrowIpc, parseJsonRequest, toArrow } from "../src/tabular/index.js";
import { benchData, bin, freePort, report, trainPenguins, waitForHttp } from "./harness.js";

// ---------------------------------------------------------------- settings

function setting(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name}=${raw} is not a positive number.`);
  return value;
}

const MINUTES = setting("SOAK_MINUTES", 5);
const CONNECTIONS = Math.round(setting("SOAK_CONNECTIONS", 16));
const WORKERS = Math.round(setting("SOAK_WORKERS", 1));
const SAMPLE_SECONDS = setting("SOAK_SAMPLE_SECONDS", 5);
/** A tenth of the run, between 30 s and 2 minutes: JIT, pools and caches settle in it. */
const WARMUP_SECONDS = setting("SOAK_WARMUP_SECONDS", Math.min(120, Math.max(30, MINUTES * 6)));
const MAX_SLOPE_MB_PER_MIN = setting("SOAK_MAX_SLOPE_MB_PER_MIN", 1);
const END_MARGIN_FRACTION = 0.1;
const END_MARGIN_MB = 10;
const FLOOR_WINDOW_MINUTES = 5;
/** prom-client's event-loop delay histogram ticks every 10 ms and counts the tick itself. */
const LAG_RESOLUTION_MS = 10;
const REQUEST_TIMEOUT_MS = 60_000;
const MODEL = "penguins";
/**
 * Node flags for the server only, e.g. `--trace-gc --heapsnapshot-signal=SIGUSR2 --diagnostic-dir=/tmp`
 * to compare heap snapshots. NB: flags, not NODE_OPTIONS, which refuses --trace-gc.
 */
/** Words of request kinds to leave out (SOAK_SKIP=parquet,arrow). */
const SKIP = (process.env["SOAK_SKIP"] ?? "").split(",").filter((w) => w !== "");
const kept = (kind: Kind): boolean => !SKIP.some((word) => kind.name.includes(word));
const SERVER_NODE_FLAGS = (process.env["SOAK_NODE_FLAGS"] ?? "--trace-gc").split(" ").filter((f) => f !== "");

// ---------------------------------------------------------------- workloads

type Cell = string | number | null;
type Check = (body: string, headers: Record<string, string>) => string | undefined;

/** One kind of request and what it must get. */
interface Kind {
  name: string;
  method: "GET" | "POST";
  path: string;
  headers: Record<string, string>;
  body?: string | Buffer;
  /** The status it must get: 200 for good requests, the 4xx for bad ones. */
  status: number;
  /** For a good request: what is wrong with the answer, if anything. */
  check?: Check;
}

const NUMERIC = new Set(["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g"]);

/** The 10,000 rows of shared/bench-data, cut into bodies of every form. */
class Rows {
  constructor(
    readonly columns: string[],
    readonly data: Cell[][],
    readonly tenKBody: string,
  ) {}

  static async load(): Promise<Rows> {
    const tenKBody = await readFile(join(benchData, "req_10000rows.json"), "utf8");
    const split = (JSON.parse(tenKBody) as { dataframe_split: { columns: string[]; data: Cell[][] } }).dataframe_split;
    return new Rows(split.columns, split.data, tenKBody);
  }

  slice(n: number, offset = 0): Cell[][] {
    return this.data.slice(offset, offset + n);
  }
  records(n: number, offset = 0): Record<string, Cell>[] {
    return this.slice(n, offset).map((row) => Object.fromEntries(this.columns.map((c, i) => [c, row[i] ?? null])));
  }
  split(n: number, offset = 0, params?: object): string {
    return JSON.stringify({ dataframe_split: { columns: this.columns, data: this.slice(n, offset) }, ...(params ? { params } : {}) });
  }
  columnsOf(n: number, offset = 0): Record<string, Cell[]> {
    const rows = this.slice(n, offset);
    return Object.fromEntries(this.columns.map((c, i) => [c, rows.map((r) => r[i] ?? null)]));
  }
  csv(n: number, offset = 0): string {
    const lines = this.slice(n, offset).map((r) => r.map((v) => (v === null ? "" : String(v))).join(","));
    return `${this.columns.join(",")}\n${lines.join("\n")}\n`;
  }
  ndjson(n: number, offset = 0): string {
    return `${this.records(n, offset)
      .map((r) => JSON.stringify(r))
      .join("\n")}\n`;
  }
  arrow(n: number, offset = 0): Buffer {
    return Buffer.from(encodeArrowIpc(toArrow(parseJsonRequest(this.split(n, offset)).table), "stream"));
  }
  parquet(n: number, offset = 0): Buffer {
    return Buffer.from(arrowToParquet(toArrow(parseJsonRequest(this.split(n, offset)).table)));
  }
  v2(n: number, offset = 0, parameters?: object): string {
    const inputs = Object.entries(this.columnsOf(n, offset)).map(([name, data]) => ({
      name,
      datatype: NUMERIC.has(name) ? "FP64" : "BYTES",
      shape: [n],
      data,
    }));
    return JSON.stringify({ inputs, ...(parameters ? { parameters } : {}) });
  }
}

const JSON_TYPE = { "content-type": "application/json" };

const predictions =
  (rows: number): Check =>
  (body) => {
    const got = (JSON.parse(body) as { predictions?: unknown }).predictions;
    return Array.isArray(got) && got.length === rows ? undefined : `expected ${rows} predictions, got ${Array.isArray(got) ? got.length : typeof got}`;
  };
const csvRows =
  (rows: number): Check =>
  (body) => {
    const lines = body.split("\n").filter((l) => l !== "").length - 1;
    return lines === rows ? undefined : `expected ${rows} CSV rows, got ${lines}`;
  };
const arrowAnswer: Check = (body, headers) =>
  headers["content-type"]?.startsWith("application/vnd.apache.arrow.stream") && body.length > 0
    ? undefined
    : `expected an Arrow stream, got ${headers["content-type"]} (${body.length} bytes)`;
const tensors =
  (rows: number): Check =>
  (body) => {
    const out = (JSON.parse(body) as { outputs?: { shape?: number[]; data?: unknown[] }[] }).outputs;
    return out?.[0]?.shape?.[0] === rows && out[0].data?.length === rows ? undefined : `expected ${rows} rows in the first output tensor`;
  };
const ignored =
  (param: string): Check =>
  (body, headers) =>
    headers["x-pipeserve-ignored-params"] === param ? predictions(1)(body, headers) : `expected X-Pipeserve-Ignored-Params: ${param}`;

const post = (name: string, path: string, body: string | Buffer, headers: Record<string, string>, status: number, check?: Check): Kind => ({
  name,
  method: "POST",
  path,
  headers,
  body,
  status,
  ...(check ? { check } : {}),
});
const get = (name: string, path: string, status = 200): Kind => ({ name, method: "GET", path, headers: {}, status });

/** Good requests with their weights in the mix: mostly small, every body form and route. */
function goodKinds(rows: Rows): [Kind, number][] {
  const params = { threshold: 0.9, return_probabilities: true };
  const q = `?params=${encodeURIComponent(JSON.stringify({ threshold: 0.5 }))}`;
  return [
    [post("split-1", "/invocations", rows.split(1), JSON_TYPE, 200, predictions(1)), 60],
    [post("split-1-params", "/invocations", rows.split(1, 7, params), JSON_TYPE, 200, predictions(1)), 15],
    [post("split-100", "/invocations", rows.split(100, 50), JSON_TYPE, 200, predictions(100)), 4],
    [post("records-5", "/invocations", JSON.stringify({ dataframe_records: rows.records(5, 11) }), JSON_TYPE, 200, predictions(5)), 20],
    [
      post(
        "records-50-params",
        "/invocations",
        JSON.stringify({ dataframe_records: rows.records(50, 3), params: { threshold: 0.5 } }),
        JSON_TYPE,
        200,
        predictions(50),
      ),
      5,
    ],
    [post("instances-3", "/invocations", JSON.stringify({ instances: rows.records(3, 20) }), JSON_TYPE, 200, predictions(3)), 10],
    [post("inputs-20", "/invocations", JSON.stringify({ inputs: rows.columnsOf(20, 30) }), JSON_TYPE, 200, predictions(20)), 10],
    [post("csv-10-params", `/invocations${q}`, rows.csv(10, 40), { "content-type": "text/csv" }, 200, predictions(10)), 10],
    [post("csv-10-csv-answer", "/invocations", rows.csv(10, 60), { "content-type": "text/csv", accept: "text/csv" }, 200, csvRows(10)), 6],
    [post("ndjson-10", `/invocations${q}`, rows.ndjson(10, 70), { "content-type": "application/x-ndjson" }, 200, predictions(10)), 8],
    [post("arrow-100", "/invocations", rows.arrow(100, 80), { "content-type": "application/vnd.apache.arrow.stream" }, 200, predictions(100)), 4],
    [
      post(
        "arrow-20-arrow-answer",
        "/invocations",
        rows.arrow(20, 90),
        { "content-type": "application/vnd.apache.arrow.stream", accept: "application/vnd.apache.arrow.stream" },
        200,
        arrowAnswer,
      ),
      4,
    ],
    [post("parquet-50", "/invocations", rows.parquet(50, 100), { "content-type": "application/vnd.apache.parquet" }, 200, predictions(50)), 3],
    [post("v2-1", `/v2/models/${MODEL}/infer`, rows.v2(1, 5), JSON_TYPE, 200, tensors(1)), 20],
    [post("v2-25-parameters", `/v2/models/${MODEL}/infer`, rows.v2(25, 120, { threshold: 0.8 }), JSON_TYPE, 200, tensors(25)), 8],
    [post("v2-versioned-4", `/v2/models/${MODEL}/versions/1/infer`, rows.v2(4, 150), JSON_TYPE, 200, tensors(4)), 4],
    [post("runner-concurrent", "/invocations", rows.split(8, 200, { runner: "ConcurrentRunner" }), JSON_TYPE, 200, predictions(8)), 4],
    [post("runner-worker", "/invocations", rows.split(8, 210, { runner: "WorkerRunner" }), JSON_TYPE, 200, predictions(8)), 3],
    [post("param-typo", "/invocations", rows.split(1, 220, { threshold: 0.5, treshold: 1 }), JSON_TYPE, 200, ignored("treshold")), 3],
    [get("ping", "/ping"), 4],
    [get("health", "/health"), 1],
    [get("version", "/version"), 1],
    [get("metadata", "/metadata"), 2],
    [get("v2-ready", "/v2/health/ready"), 2],
    [get("v2-live", "/v2/health/live"), 1],
    [get("v2-model", `/v2/models/${MODEL}`), 1],
    [get("v2-model-ready", `/v2/models/${MODEL}/ready`), 1],
  ];
}

/** Bad requests, once each in the mix, with the status each must get. */
function badKinds(rows: Rows): Kind[] {
  const one = JSON.stringify({ inputs: { island: ["Dream"] } });
  const tensor = (datatype: string, shape: number[], data: unknown[]) => JSON.stringify({ inputs: [{ name: "island", datatype, shape, data }] });
  const arrowType = { "content-type": "application/vnd.apache.arrow.stream" };
  return [
    post("bad-json-syntax", "/invocations", rows.split(2).slice(0, -7), JSON_TYPE, 400),
    post(
      "bad-string-in-double",
      "/invocations",
      JSON.stringify({ dataframe_split: { columns: ["island", "bill_length_mm"], data: [["Dream", "long"]] } }),
      JSON_TYPE,
      400,
    ),
    post("bad-missing-required", "/invocations", JSON.stringify({ dataframe_split: { columns: ["bill_length_mm"], data: [[40.1]] } }), JSON_TYPE, 400),
    post("bad-null-required", "/invocations", JSON.stringify({ dataframe_records: [{ island: null }] }), JSON_TYPE, 400),
    post("bad-no-content-type", "/invocations", one, {}, 415),
    post("bad-text-plain", "/invocations", one, { "content-type": "text/plain" }, 415),
    post("bad-charset", "/invocations", one, { "content-type": "application/json; charset=latin1" }, 415),
    get("bad-route", "/nope", 404),
    get("bad-method", "/invocations", 405),
    post("bad-empty-body", "/invocations", "", JSON_TYPE, 400),
    post("bad-unknown-field", "/invocations", JSON.stringify({ foo: 1 }), JSON_TYPE, 400),
    post("bad-param-type", "/invocations", JSON.stringify({ inputs: { island: ["Dream"] }, params: { threshold: "high" } }), JSON_TYPE, 400),
    post("bad-runner", "/invocations", JSON.stringify({ inputs: { island: ["Dream"] }, params: { runner: "EvilRunner" } }), JSON_TYPE, 400),
    post("bad-deep-nesting", "/invocations", `${"[".repeat(500)}${"]".repeat(500)}`, JSON_TYPE, 400),
    post("bad-params-query", "/invocations?params=%7Bbad", rows.csv(1), { "content-type": "text/csv" }, 400),
    post("bad-csv-ragged", "/invocations", "island,bill_length_mm\nDream,1,2,3\n", { "content-type": "text/csv" }, 400),
    post("bad-ndjson", "/invocations", '{"island":"Dream"}\n{"island":', { "content-type": "application/x-ndjson" }, 400),
    post("bad-arrow", "/invocations", "notarrow", arrowType, 400),
    post("bad-parquet", "/invocations", "PAR1xxxxPAR1", { "content-type": "application/vnd.apache.parquet" }, 400),
    post("bad-v2-model", "/v2/models/other/infer", tensor("BYTES", [1], ["Dream"]), JSON_TYPE, 404),
    post("bad-v2-version", `/v2/models/${MODEL}/versions/7/infer`, tensor("BYTES", [1], ["Dream"]), JSON_TYPE, 404),
    post("bad-v2-shape", `/v2/models/${MODEL}/infer`, tensor("BYTES", [2], ["Dream"]), JSON_TYPE, 400),
    post("bad-v2-datatype", `/v2/models/${MODEL}/infer`, tensor("FP64", [1], [1]), JSON_TYPE, 400),
    post("bad-v2-empty", `/v2/models/${MODEL}/infer`, JSON.stringify({ inputs: [] }), JSON_TYPE, 400),
  ];
}

/** The weighted mix, shuffled with a fixed seed so that bad requests are spread out. */
function mix(rows: Rows): Kind[] {
  const list: Kind[] = [];
  for (const [kind, weight] of goodKinds(rows)) for (let i = 0; i < weight && kept(kind); i++) list.push(kind);
  list.push(...badKinds(rows).filter(kept));
  let seed = 14;
  const random = (): number => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648;
  };
  for (let i = list.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [list[i], list[j]] = [list[j] as Kind, list[i] as Kind];
  }
  return list;
}

/** Large bodies, sent one after another by one client. */
function largeKinds(rows: Rows, csv100k: string): { regular: Kind[]; huge: Kind } {
  const n = rows.data.length;
  return {
    regular: [
      post("large-json-10k", "/invocations", rows.tenKBody, JSON_TYPE, 200, predictions(n)),
      post("large-csv-10k", "/invocations", rows.csv(n), { "content-type": "text/csv" }, 200, predictions(n)),
      post("large-ndjson-10k", "/invocations", rows.ndjson(n), { "content-type": "application/x-ndjson", accept: "text/csv" }, 200, csvRows(n)),
      post("large-arrow-10k", "/invocations", rows.arrow(n), { "content-type": "application/vnd.apache.arrow.stream" }, 200, predictions(n)),
      post("large-parquet-10k", "/invocations", rows.parquet(n), { "content-type": "application/vnd.apache.parquet" }, 200, predictions(n)),
      post("large-records-10k", "/invocations", JSON.stringify({ dataframe_records: rows.records(n) }), JSON_TYPE, 200, predictions(n)),
      post("large-v2-10k", `/v2/models/${MODEL}/infer`, rows.v2(n), JSON_TYPE, 200, tensors(n)),
    ],
    huge: post("large-csv-100k", "/invocations", csv100k, { "content-type": "text/csv", accept: "text/csv" }, 200, csvRows(csv100k.split("\n").length - 2)),
  };
}

// ---------------------------------------------------------------- counting

/** A latency histogram with 2 % wide buckets from 10 µs to over 10 minutes. */
class Histogram {
  static readonly #base = Math.log(1.02);
  readonly #counts = new Float64Array(1000);
  count = 0;

  record(ms: number): void {
    const i = Math.min(999, Math.max(0, Math.ceil(Math.log(Math.max(ms, 0.01) / 0.01) / Histogram.#base)));
    this.#counts[i]! += 1;
    this.count++;
  }

  /** The value at quantile `q` (0..1), in ms: the upper edge of its bucket. */
  quantile(q: number): number {
    let seen = 0;
    const target = q * this.count;
    for (let i = 0; i < this.#counts.length; i++) {
      seen += this.#counts[i]!;
      if (seen >= target && seen > 0) return Math.round(0.01 * 1.02 ** i * 100) / 100;
    }
    return Number.NaN;
  }
}

interface Unexpected {
  atSeconds: number;
  kind: string;
  got: string;
  detail: string;
}

/** Counts answers per kind and status, and keeps the first unexpected ones. */
class Tally {
  readonly byKind = new Map<string, Map<string, number>>();
  readonly byStatus = new Map<string, number>();
  readonly examples: Unexpected[] = [];
  total = 0;
  unexpected = 0;
  badOnPurpose = 0;
  hangUps = 0;
  constructor(readonly startedAt: number) {}

  /** Records one answer (or socket outcome `got`); `problem` makes it unexpected. */
  record(kind: string, got: string, problem?: string): void {
    this.total++;
    let statuses = this.byKind.get(kind);
    if (!statuses) this.byKind.set(kind, (statuses = new Map()));
    statuses.set(got, (statuses.get(got) ?? 0) + 1);
    this.byStatus.set(got, (this.byStatus.get(got) ?? 0) + 1);
    if (problem === undefined) return;
    this.unexpected++;
    if (this.examples.length < 50)
      this.examples.push({ atSeconds: Math.round((Date.now() - this.startedAt) / 100) / 10, kind, got, detail: problem.slice(0, 400) });
  }

  /** Classifies an HTTP answer to `kind`; returns whether it was the one expected. */
  answer(kind: Kind, status: number, body: string, headers: Record<string, string>): boolean {
    if (kind.status !== 200) this.badOnPurpose++;
    let problem: string | undefined;
    if (status !== kind.status) problem = `expected ${kind.status}: ${body.slice(0, 300)}`;
    else if (kind.check) {
      try {
        problem = kind.check(body, headers);
      } catch (error) {
        problem = `unreadable answer (${(error as Error).message}): ${body.slice(0, 200)}`;
      }
    }
    this.record(kind.name, String(status), problem);
    return problem === undefined;
  }
}

const lowerKeys = (headers: Record<string, string | string[] | undefined>): Record<string, string> =>
  Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), Array.isArray(v) ? v.join(", ") : (v ?? "")]));

// ---------------------------------------------------------------- clients

interface Load {
  port: number;
  tally: Tally;
  latency: { keepAlive: Histogram; fresh: Histogram; large: Histogram };
  /** True once the load should stop. */
  stopped: () => boolean;
}

/** The keep-alive connections: autocannon cycling through the mix until `seconds` have passed. */
function keepAliveLoad(load: Load, kinds: Kind[], seconds: number): { done: Promise<autocannon.Result>; stop: () => void } {
  // NB: autocannon calls a request's onResponse, then emits 'response' with the latency, in one
  // synchronous step: the kind and verdict noted in the first are those of the second.
  let last: { kind: Kind; ok: boolean } | undefined;
  const requests = kinds.map((kind) => ({
    method: kind.method,
    path: kind.path,
    headers: kind.headers,
    ...(kind.body === undefined ? {} : { body: kind.body }),
    onResponse: (status: number, body: string, _context: object, headers: IncomingHttpHeaders | undefined) => {
      last = { kind, ok: load.tally.answer(kind, status, body, lowerKeys(headers ?? {})) };
    },
  }));
  let instance: autocannon.Instance | undefined;
  const done = new Promise<autocannon.Result>((resolve, reject) => {
    instance = autocannon(
      { url: `http://127.0.0.1:${load.port}`, requests, connections: CONNECTIONS, pipelining: 1, duration: seconds, timeout: REQUEST_TIMEOUT_MS / 1000 },
      (error: unknown, result: autocannon.Result) => (error ? reject(error) : resolve(result)),
    );
    instance.on("response", (_client: unknown, _status: number, _bytes: number, ms: number) => {
      if (last?.ok && last.kind.status === 200) load.latency.keepAlive.record(ms);
      last = undefined;
    });
    instance.on("reqError", (error: Error) => load.tally.record("keep-alive-socket", (error as NodeJS.ErrnoException).code ?? "error", error.message));
  });
  return { done, stop: () => instance?.stop() };
}

interface Answer {
  status: number;
  body: Buffer;
  headers: Record<string, string>;
  ms: number;
}

/** Sends one request with node:http (`agent` false: a fresh connection, closed after). */
function send(port: number, kind: Kind, agent: Agent | false): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const req = httpRequest({ host: "127.0.0.1", port, method: kind.method, path: kind.path, headers: kind.headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks), headers: lowerKeys(res.headers), ms: performance.now() - t0 }));
      res.on("error", reject);
    });
    req.setTimeout(REQUEST_TIMEOUT_MS, () => req.destroy(new Error(`no answer in ${REQUEST_TIMEOUT_MS / 1000} s`)));
    req.on("error", reject);
    req.end(kind.body);
  });
}

/** Sends `kind` and tallies the answer; a socket error is unexpected (these clients never hang up). */
async function sendAndTally(load: Load, kind: Kind, agent: Agent | false, latency: Histogram): Promise<void> {
  try {
    const answer = await send(load.port, kind, agent);
    const ok = load.tally.answer(kind, answer.status, answer.body.toString("utf8"), answer.headers);
    if (ok && kind.status === 200) latency.record(answer.ms);
  } catch (error) {
    load.tally.record(kind.name, (error as NodeJS.ErrnoException).code ?? "socket-error", (error as Error).message);
  }
}

/** A client that opens a new connection for every request of the mix. */
async function freshConnectionClient(load: Load, kinds: Kind[], start: number): Promise<void> {
  for (let i = start; !load.stopped(); i++) await sendAndTally(load, kinds[i % kinds.length] as Kind, false, load.latency.fresh);
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A client sending large bodies one after another on one keep-alive connection, the 100k rows
 * first (so that their peak is part of the warm-up) and then once a minute.
 */
async function largeBodyClient(load: Load, large: { regular: Kind[]; huge: Kind }): Promise<void> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  let lastHuge = 0;
  try {
    for (let i = 0; !load.stopped(); i++) {
      const huge = Date.now() - lastHuge >= 60_000;
      if (huge) lastHuge = Date.now();
      await sendAndTally(load, huge ? large.huge : (large.regular[i % large.regular.length] as Kind), agent, load.latency.large);
      await sleep(200);
    }
  } finally {
    agent.destroy();
  }
}

const HANG_UPS = ["mid-headers", "mid-upload", "after-send", "mid-download", "over-max-body"] as const;

/**
 * Opens a raw connection and hangs up as `how` says. Resolves with a problem when the server did
 * not behave (only `over-max-body` expects something: a 413 before the body is sent).
 */
function hangUp(port: number, how: (typeof HANG_UPS)[number], rows: Rows, small: string): Promise<string | undefined> {
  const head = (length: number, extra = ""): string =>
    `POST /invocations HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/json\r\nContent-Length: ${length}\r\n${extra}\r\n`;
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    let settled = false;
    const finish = (problem?: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(problem);
    };
    const timer = setTimeout(() => finish(how === "over-max-body" || how === "mid-download" ? `no answer in 30 s (${how})` : undefined), 30_000);
    // NB: a reset is what hanging up may cause; only a missing answer is a problem.
    socket.on("error", () => finish(how === "over-max-body" ? "connection failed before the 413" : undefined));
    socket.on("connect", () => {
      if (how === "mid-headers") {
        socket.write(`POST /invocations HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-`);
        setTimeout(finish, 20);
      } else if (how === "mid-upload") {
        socket.write(head(rows.tenKBody.length));
        socket.write(rows.tenKBody.slice(0, rows.tenKBody.length / 3));
        setTimeout(finish, 20);
      } else if (how === "after-send") {
        socket.write(head(Buffer.byteLength(small)) + small, () => finish());
      } else if (how === "mid-download") {
        socket.write(head(rows.tenKBody.length) + rows.tenKBody);
        socket.once("data", () => finish());
      } else {
        socket.write(head(200 * 1024 * 1024));
        socket.write('{"inputs": {"island": [');
        let got = "";
        socket.on("data", (chunk: Buffer) => {
          got += chunk.toString("latin1");
          if (got.includes("\r\n")) finish(got.startsWith("HTTP/1.1 413 ") ? undefined : `expected a 413, got ${got.slice(0, 200)}`);
        });
      }
    });
  });
}

/** A client that hangs up in every way in turn, ten times a second. */
async function hangUpClient(load: Load, rows: Rows): Promise<void> {
  const small = rows.split(1);
  for (let i = 0; !load.stopped(); i++) {
    const how = HANG_UPS[i % HANG_UPS.length] as (typeof HANG_UPS)[number];
    const problem = await hangUp(load.port, how, rows, small);
    load.tally.hangUps++;
    load.tally.record(`hang-up-${how}`, how === "over-max-body" && problem === undefined ? "413" : "hung-up", problem);
    await sleep(100);
  }
}

// ---------------------------------------------------------------- sampling

interface Sample {
  t: number;
  rssMb: number;
  metricsRssMb: number;
  heapUsedMb: number;
  heapTotalMb: number;
  externalMb: number;
  lagMaxMs: number;
  lagP99Ms: number;
  openConnections: number;
  inFlight: number;
  abandonedRunning: number;
  requests: number;
  unexpected: number;
  serverByStatus: Record<string, number>;
}

/** GET /metrics on a fresh connection (so the scrape is no part of the load). */
async function scrape(port: number): Promise<string> {
  const answer = await send(port, get("metrics", "/metrics"), false);
  if (answer.status !== 200) throw new Error(`/metrics answered ${answer.status}`);
  return answer.body.toString("utf8");
}

function metric(text: string, name: string): number {
  return Number(new RegExp(`^${name} (\\S+)$`, "m").exec(text)?.[1] ?? Number.NaN);
}

/** pipeserve_http_requests_total summed by status over routes and methods. */
function serverStatuses(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of text.matchAll(/^pipeserve_http_requests_total\{[^}]*status="([^"]+)"[^}]*\} (\S+)$/gm)) out[m[1]!] = (out[m[1]!] ?? 0) + Number(m[2]);
  return out;
}

/** The server's processes: the child, and with -w N the workers it forked. */
async function serverPids(primary: number): Promise<number[]> {
  if (WORKERS === 1) return [primary];
  const pids = [primary];
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, "utf8").catch(() => "");
    // NB: the command name (field 2) may hold spaces; ppid is the 2nd field after its ")".
    if (Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]) === primary) pids.push(Number(entry));
  }
  return pids;
}

async function rssMb(pids: number[]): Promise<number> {
  let kb = 0;
  for (const pid of pids) kb += Number(/^VmRSS:\s+(\d+)/m.exec(await readFile(`/proc/${pid}/status`, "utf8").catch(() => ""))?.[1] ?? 0);
  return kb / 1024;
}

const mb = (bytes: number): number => Math.round((bytes / 1024 / 1024) * 10) / 10;

async function sample(load: Load, pid: number, t: number): Promise<Sample> {
  const [text, rss] = await Promise.all([scrape(load.port), serverPids(pid).then(rssMb)]);
  const lag = (name: string): number => Math.max(0, Math.round((metric(text, name) * 1000 - LAG_RESOLUTION_MS) * 10) / 10);
  return {
    t: Math.round(t),
    rssMb: Math.round(rss * 10) / 10,
    metricsRssMb: mb(metric(text, "pipeserve_process_resident_memory_bytes")),
    heapUsedMb: mb(metric(text, "pipeserve_nodejs_heap_size_used_bytes")),
    heapTotalMb: mb(metric(text, "pipeserve_nodejs_heap_size_total_bytes")),
    externalMb: mb(metric(text, "pipeserve_nodejs_external_memory_bytes")),
    lagMaxMs: lag("pipeserve_nodejs_eventloop_lag_max_seconds"),
    lagP99Ms: lag("pipeserve_nodejs_eventloop_lag_p99_seconds"),
    openConnections: metric(text, "pipeserve_http_open_connections"),
    inFlight: metric(text, "pipeserve_http_requests_in_flight"),
    abandonedRunning: metric(text, "pipeserve_abandoned_runs_running"),
    requests: load.tally.total,
    unexpected: load.tally.unexpected,
    serverByStatus: serverStatuses(text),
  };
}

/** Samples every SAMPLE_SECONDS until stopped, printing a line a minute; a failed scrape is unexpected. */
async function sampler(load: Load, pid: number, startedAt: number, samples: Sample[]): Promise<void> {
  let nextPrint = 60;
  for (let due = 0; !load.stopped(); due += SAMPLE_SECONDS) {
    await sleep(Math.max(0, startedAt + due * 1000 - Date.now()));
    if (load.stopped()) break;
    const t = (Date.now() - startedAt) / 1000;
    try {
      const s = await sample(load, pid, t);
      samples.push(s);
      if (t >= nextPrint || samples.length === 1) {
        nextPrint = Math.floor(t / 60) * 60 + 60;
        const rate = Math.round(s.requests / Math.max(t, 1));
        console.log(
          `[${clock(t)}] ${s.requests.toLocaleString("en")} requests (${rate}/s), unexpected ${s.unexpected}; RSS ${s.rssMb} MB, heap ${s.heapUsedMb} MB, loop lag max ${s.lagMaxMs} ms, ${s.openConnections} connections${t < WARMUP_SECONDS ? " (warm-up)" : ""}`,
        );
      }
    } catch (error) {
      load.tally.record("metrics-scrape", "failed", (error as Error).message);
    }
  }
}

const clock = (seconds: number): string => `${Math.floor(seconds / 60)}:${String(Math.floor(seconds % 60)).padStart(2, "0")}`;

// ---------------------------------------------------------------- the verdict

/** Least-squares slope of `y` over `x` (reported beside the verdict's slope, not used by it). */
function leastSquaresSlope(x: number[], y: number[]): number {
  const n = x.length;
  const mx = x.reduce((a, b) => a + b, 0) / n;
  const my = y.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (x[i]! - mx) * (y[i]! - my);
    den += (x[i]! - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
};

/**
 * Theil–Sen slope of `y` over `x`: the median of the slopes between every pair of points. NB: the
 * verdict's slope. Memory here swings by 250 MB for the seconds a 100,000-row request runs; a
 * least-squares line through such spikes tilts by whichever minutes they fall in (the first
 * 30-minute run: 1.14 MB/min by least squares, from one 525 MB sample near the end, while RSS
 * outside the JS heap held within 2 MB over its last 15 minutes). The median of pairwise slopes
 * ignores up to 29 % of the samples being spikes and still follows a line that truly climbs.
 */
function theilSenSlope(x: number[], y: number[]): number {
  const slopes: number[] = [];
  for (let i = 0; i < x.length; i++) {
    for (let j = i + 1; j < x.length; j++) {
      if (x[j] !== x[i]) slopes.push((y[j]! - y[i]!) / (x[j]! - x[i]!));
    }
  }
  return slopes.length === 0 ? 0 : median(slopes);
}
const round = (value: number, digits = 1): number => Math.round(value * 10 ** digits) / 10 ** digits;

interface MemoryLine {
  startMb: number;
  midMb: number;
  endMb: number;
  maxMb: number;
  slopeMbPerMin: number;
  leastSquaresSlopeMbPerMin: number;
  /** The lowest value in each complete 5-minute window: where a leak shows first, under the spikes. */
  floorsMb: number[];
  /** Theil–Sen slope of the floors, and whether they stay flat (the verdict's RSS rule). */
  floorSlopeMbPerMin: number;
  floorsFlat: boolean;
  endMarginMb: number;
  flat: boolean;
}

/**
 * Start, middle and end levels and the slope of one series. NB: a level is the median of a fifth of
 * the samples: heap used swings by 100 MB between collections and while a 100,000-row request
 * runs, and a narrower window lets one such moment decide the verdict.
 */
function memoryLine(seconds: number[], values: number[]): MemoryLine {
  const w = Math.max(3, Math.round(values.length / 5));
  const mid = Math.floor(values.length / 2);
  const startMb = median(values.slice(0, w));
  const endMb = median(values.slice(-w));
  const minutes = seconds.map((t) => t / 60);
  const slopeMbPerMin = theilSenSlope(minutes, values);
  const floors = new Map<number, { min: number; from: number; to: number }>();
  for (let i = 0; i < values.length; i++) {
    const window = Math.floor((minutes[i]! - minutes[0]!) / FLOOR_WINDOW_MINUTES);
    const w = floors.get(window) ?? { min: Number.POSITIVE_INFINITY, from: minutes[i]!, to: minutes[i]! };
    floors.set(window, { min: Math.min(w.min, values[i]!), from: w.from, to: minutes[i]! });
  }
  // NB: only complete windows: a last one of a few samples has no spike-free moment to show.
  const complete = [...floors.entries()].filter(([, w]) => w.to - w.from >= FLOOR_WINDOW_MINUTES * 0.8);
  const floorMinutes = complete.map(([k]) => k * FLOOR_WINDOW_MINUTES);
  const floorValues = complete.map(([, w]) => w.min);
  const floorSlope = floorValues.length >= 2 ? theilSenSlope(floorMinutes, floorValues) : 0;
  const firstFloor = floorValues[0] ?? Number.NaN;
  const lastFloor = floorValues.at(-1) ?? Number.NaN;
  const endMarginMb = Math.max(END_MARGIN_FRACTION * startMb, END_MARGIN_MB);
  const flat = slopeMbPerMin <= MAX_SLOPE_MB_PER_MIN && endMb - startMb <= endMarginMb;
  return {
    startMb: round(startMb),
    midMb: round(median(values.slice(Math.max(0, mid - Math.floor(w / 2)), mid + Math.ceil(w / 2)))),
    endMb: round(endMb),
    maxMb: round(Math.max(...values)),
    slopeMbPerMin: round(slopeMbPerMin, 3),
    leastSquaresSlopeMbPerMin: round(leastSquaresSlope(minutes, values), 3),
    floorsMb: floorValues.map((v) => round(v)),
    floorSlopeMbPerMin: round(floorSlope, 3),
    // NB: a run too short for two complete windows is judged on its whole line instead.
    floorsFlat:
      floorValues.length >= 2
        ? floorSlope <= MAX_SLOPE_MB_PER_MIN && lastFloor - firstFloor <= Math.max(END_MARGIN_FRACTION * firstFloor, END_MARGIN_MB)
        : flat,
    endMarginMb: round(endMarginMb),
    flat,
  };
}

interface LogScan {
  lines: number;
  warnings: number;
  errors: number;
  gcTraceLines: number;
  firstWarnings: string[];
  firstErrors: string[];
  /** The main isolate's full collections: milliseconds since it started, MB left after. */
  fullGcs: { ms: number; afterMb: number }[];
}

/** V8's --trace-gc lines start `[pid:isolate]`; a full one: `…  ms: Mark-Compact before (committed) -> after (committed) MB, …`. */
const GC_TRACE = /^\[\d+:(0x[0-9a-f]+)\]/;
const FULL_GC = /^\[\d+:(0x[0-9a-f]+)\]\s+(\d+) ms: Mark-Compact[^\d]*[\d.]+ \([\d.]+\) -> ([\d.]+) \(/;

/** Counts the server log's lines by level, keeping the first warnings and errors, and reads the GC trace. */
async function scanLog(file: string): Promise<LogScan> {
  const out: LogScan = { lines: 0, warnings: 0, errors: 0, gcTraceLines: 0, firstWarnings: [], firstErrors: [], fullGcs: [] };
  const fullGcs = new Map<string, { ms: number; afterMb: number }[]>();
  for await (const line of createInterface({ input: createReadStream(file) })) {
    out.lines++;
    if (line.startsWith("[") && GC_TRACE.test(line)) {
      out.gcTraceLines++;
      const full = FULL_GC.exec(line);
      if (!full) continue;
      const isolate = full[1] as string;
      if (!fullGcs.has(isolate)) fullGcs.set(isolate, []);
      fullGcs.get(isolate)?.push({ ms: Number(full[2]), afterMb: Number(full[3]) });
      continue;
    }
    // NB: pino writes the level first; matching text keeps a multi-million-line scan fast.
    if (line.includes('"level":40')) {
      out.warnings++;
      if (out.firstWarnings.length < 5) out.firstWarnings.push(line.slice(0, 600));
    } else if (line.includes('"level":50') || line.includes('"level":60') || !line.startsWith("{")) {
      out.errors++;
      if (out.firstErrors.length < 20) out.firstErrors.push(line.slice(0, 600));
    }
  }
  // NB: worker threads (WorkerRunner, big Parquet bodies) trace their own isolates; the main one holds the most.
  const biggest = (gcs: { afterMb: number }[]): number => Math.max(...gcs.map((g) => g.afterMb));
  out.fullGcs = [...fullGcs.values()].sort((a, b) => biggest(b) - biggest(a))[0] ?? [];
  return out;
}

// ---------------------------------------------------------------- the run

interface Server {
  child: ChildProcess;
  port: number;
  log: string;
  /** When it was spawned (Date.now()): its GC trace counts from about then. */
  startedAt: number;
  /** Set when the server exits, with how. */
  exited?: string;
}

async function startServer(tracking: string): Promise<Server> {
  const log = join(tracking, "serve.log");
  const logFile = await open(log, "w");
  const port = await freePort();
  const args = [
    "serve",
    "-m",
    `models:/${MODEL}/latest`,
    "--tracking-uri",
    tracking,
    "-p",
    String(port),
    "--log-level",
    process.env["BENCH_LOG_LEVEL"] ?? "info",
  ];
  if (WORKERS > 1) args.push("-w", String(WORKERS));
  // NB: the access log goes to a file, as in production (see bench/server).
  const startedAt = Date.now();
  const child = spawn(process.execPath, [...SERVER_NODE_FLAGS, bin, ...args], { stdio: ["ignore", logFile.fd, "inherit"] });
  await logFile.close();
  const server: Server = { child, port, log, startedAt };
  child.once("exit", (code, signal) => (server.exited = signal ? `signal ${signal}` : `code ${code}`));
  await waitForHttp(port);
  return server;
}

/** SIGTERM, then the exit it must make: 0 within 30 s. */
async function stopServer(server: Server): Promise<string | undefined> {
  if (server.exited) return `the server had already exited (${server.exited})`;
  server.child.kill("SIGTERM");
  const timer = setTimeout(() => server.child.kill("SIGKILL"), 30_000);
  if (!server.exited) await once(server.child, "exit");
  clearTimeout(timer);
  return server.exited === "code 0" ? undefined : `SIGTERM ended the server with ${server.exited}, not code 0`;
}

/** After the load: connections and runs must drain (keep-alive sockets close after 5 s idle). */
async function afterLoad(
  port: number,
): Promise<{ openConnections: number; inFlight: number; abandonedRunning: number; serverByStatus: Record<string, number> }> {
  let text = "";
  for (let i = 0; i < 20; i++) {
    text = await scrape(port);
    // NB: the scrape itself is one open connection and one request in flight.
    if (metric(text, "pipeserve_http_open_connections") <= 1 && metric(text, "pipeserve_http_requests_in_flight") <= 1) break;
    await sleep(500);
  }
  return {
    openConnections: metric(text, "pipeserve_http_open_connections") - 1,
    inFlight: metric(text, "pipeserve_http_requests_in_flight") - 1,
    abandonedRunning: metric(text, "pipeserve_abandoned_runs_running"),
    serverByStatus: serverStatuses(text),
  };
}

async function runLoad(
  server: Server,
  rows: Rows,
  samples: Sample[],
): Promise<{ load: Load; startedAt: number; seconds: number; autocannon: autocannon.Result }> {
  const csv100k = await readFile(join(benchData, "input_100k.csv"), "utf8");
  const kinds = mix(rows);
  const large = largeKinds(rows, csv100k);
  const startedAt = Date.now();
  let stopped = false;
  const load: Load = {
    port: server.port,
    tally: new Tally(startedAt),
    latency: { keepAlive: new Histogram(), fresh: new Histogram(), large: new Histogram() },
    stopped: () => stopped || server.exited !== undefined,
  };
  const keepAlive = keepAliveLoad(load, kinds, MINUTES * 60);
  const onSignal = (): void => {
    console.log("Interrupted: stopping the load and reporting what ran.");
    keepAlive.stop();
  };
  process.once("SIGINT", onSignal);
  server.child.once("exit", () => keepAlive.stop());
  const others = [
    sampler(load, server.child.pid as number, startedAt, samples),
    freshConnectionClient(load, kinds, 0),
    freshConnectionClient(load, kinds, Math.floor(kinds.length / 2)),
    largeBodyClient(load, { regular: large.regular.filter(kept), huge: large.huge }),
    hangUpClient(load, rows),
  ];
  try {
    const result = await keepAlive.done;
    return { load, startedAt, seconds: (Date.now() - startedAt) / 1000, autocannon: result };
  } finally {
    stopped = true;
    process.off("SIGINT", onSignal);
    await Promise.all(others);
  }
}

function summarise(run: Awaited<ReturnType<typeof runLoad>>, samples: Sample[], checks: string[], fullGcs: { seconds: number; afterMb: number }[]) {
  const { load, seconds } = run;
  const soaked = samples.filter((s) => s.t >= WARMUP_SECONDS);
  if (soaked.length < 6) checks.push(`only ${soaked.length} samples after the warm-up: run longer (SOAK_MINUTES) or warm up shorter (SOAK_WARMUP_SECONDS)`);
  const times = soaked.map((s) => s.t);
  const rss = memoryLine(
    times,
    soaked.map((s) => s.rssMb),
  );
  const heap = memoryLine(
    times,
    soaked.map((s) => s.heapUsedMb),
  );
  const gcs = fullGcs.filter((g) => g.seconds >= WARMUP_SECONDS && g.seconds <= seconds);
  const heapAfterFullGc =
    gcs.length >= 6
      ? memoryLine(
          gcs.map((g) => g.seconds),
          gcs.map((g) => g.afterMb),
        )
      : undefined;
  const p = (h: Histogram) => ({ requests: h.count, p50Ms: h.quantile(0.5), p99Ms: h.quantile(0.99) });
  return {
    seconds: round(seconds),
    requests: load.tally.total,
    requestsPerSecond: Math.round(load.tally.total / seconds),
    badOnPurpose: load.tally.badOnPurpose,
    hangUps: load.tally.hangUps,
    unexpected: load.tally.unexpected,
    serverChecks: checks,
    byStatus: Object.fromEntries([...load.tally.byStatus].sort()),
    rss,
    heapUsed: heap,
    flatMemory: rss.floorsFlat && (heapAfterFullGc?.flat ?? heap.flat),
    heapAfterFullGc: heapAfterFullGc ? { ...heapAfterFullGc, collections: gcs.length } : undefined,
    maxLoopLagMs: Math.max(...soaked.map((s) => s.lagMaxMs)),
    maxLoopLagWarmupIncludedMs: Math.max(...samples.map((s) => s.lagMaxMs)),
    worstIntervalLoopLagP99Ms: Math.max(...soaked.map((s) => s.lagP99Ms)),
    maxOpenConnections: Math.max(...samples.map((s) => s.openConnections)),
    latency: { keepAlive: p(load.latency.keepAlive), freshConnection: p(load.latency.fresh), largeBodies: p(load.latency.large) },
  };
}

function table(summary: ReturnType<typeof summarise>): string {
  const { rss, heapUsed: heap, latency } = summary;
  const n = (v: number): string => v.toLocaleString("en");
  const row = (label: string, m: MemoryLine): string =>
    `${label.padEnd(16)}${String(m.startMb).padStart(8)}${String(m.midMb).padStart(8)}${String(m.endMb).padStart(8)}${String(m.maxMb).padStart(8)}${`${m.slopeMbPerMin >= 0 ? "+" : ""}${m.slopeMbPerMin}`.padStart(12)}   ${m.flat ? "flat" : "NOT FLAT"}`;
  const lat = (label: string, l: { requests: number; p50Ms: number; p99Ms: number }): string =>
    `${label.padEnd(34)}p50 ${l.p50Ms} ms, p99 ${l.p99Ms} ms (${n(l.requests)} good requests)`;
  return [
    `requests                          ${n(summary.requests)} in ${clock(summary.seconds)} (${n(summary.requestsPerSecond)} req/s); bad on purpose ${n(summary.badOnPurpose)}, hang-ups ${n(summary.hangUps)}`,
    `unexpected errors                 ${summary.unexpected}${summary.serverChecks.length > 0 ? ` + server checks failed: ${summary.serverChecks.join("; ")}` : " (server checks: all passed)"}`,
    `answers by status                 ${Object.entries(summary.byStatus)
      .map(([s, c]) => `${s}: ${n(c)}`)
      .join(", ")}`,
    `memory after warm-up (MB)          start     mid     end     max  slope MB/min`,
    `${row("RSS", rss)} (at random moments; not judged)`,
    `${row("heap used", heap)} (at random moments; not judged)`,
    `RSS floors (lowest in each 5 min) ${rss.floorsMb.join(", ")}: slope ${rss.floorSlopeMbPerMin} MB/min   ${rss.floorsFlat ? "flat" : "NOT FLAT"}`,
    summary.heapAfterFullGc
      ? `${row("after full GC", summary.heapAfterFullGc)} (live heap, ${summary.heapAfterFullGc.collections} collections)`
      : "after full GC    (no GC trace: SOAK_NODE_FLAGS without --trace-gc, or too few full collections)",
    `max event-loop lag                ${summary.maxLoopLagMs} ms after warm-up (${summary.maxLoopLagWarmupIncludedMs} ms with it); worst ${SAMPLE_SECONDS}-s p99 ${summary.worstIntervalLoopLagP99Ms} ms`,
    lat("latency, keep-alive mix", latency.keepAlive),
    lat("latency, fresh connections", latency.freshConnection),
    lat("latency, large bodies", latency.largeBodies),
    `max open connections              ${summary.maxOpenConnections}`,
  ].join("\n");
}

function verdict(summary: ReturnType<typeof summarise>): { pass: boolean; text: string } {
  const reasons: string[] = [];
  if (summary.unexpected > 0) reasons.push(`${summary.unexpected} unexpected answers or socket errors`);
  reasons.push(...summary.serverChecks);
  // NB: without a GC trace (SOAK_NODE_FLAGS without --trace-gc), heap used stands in for the live heap.
  const live = summary.heapAfterFullGc ?? summary.heapUsed;
  const liveName = summary.heapAfterFullGc ? "the live heap (after full GC)" : "heap used (no GC trace)";
  if (live.slopeMbPerMin > MAX_SLOPE_MB_PER_MIN) reasons.push(`${liveName} grows ${live.slopeMbPerMin} MB/min (limit ${MAX_SLOPE_MB_PER_MIN})`);
  if (live.endMb - live.startMb > live.endMarginMb)
    reasons.push(`${liveName} ended ${round(live.endMb - live.startMb)} MB above its start (margin ${live.endMarginMb} MB)`);
  if (!summary.rss.floorsFlat)
    reasons.push(`the RSS floor is not flat (${summary.rss.floorsMb.join(", ")} MB; slope ${summary.rss.floorSlopeMbPerMin} MB/min)`);
  const rule = `flat = Theil–Sen slope ≤ ${MAX_SLOPE_MB_PER_MIN} MB/min and end ≤ start + max(${END_MARGIN_FRACTION * 100} %, ${END_MARGIN_MB} MB), for the live heap and the 5-minute RSS floors`;
  return reasons.length === 0
    ? { pass: true, text: `PASS: flat memory (${rule}) and no unexpected errors.` }
    : { pass: false, text: `FAIL: ${reasons.join("; ")}. (${rule})` };
}

async function writeSamplesCsv(samples: Sample[]): Promise<string> {
  const file = join(import.meta.dirname, "results", "soak-samples.csv");
  const cols = [
    "t",
    "rssMb",
    "metricsRssMb",
    "heapUsedMb",
    "heapTotalMb",
    "externalMb",
    "lagMaxMs",
    "lagP99Ms",
    "openConnections",
    "inFlight",
    "requests",
    "unexpected",
  ] as const;
  const lines = samples.map((s) => cols.map((c) => s[c]).join(","));
  await writeFile(file, `${cols.join(",")}\n${lines.join("\n")}\n`);
  return file;
}

export async function main(): Promise<void> {
  if (WARMUP_SECONDS * 2 > MINUTES * 60) throw new Error(`The warm-up (${WARMUP_SECONDS} s) must be at most half the run (SOAK_MINUTES=${MINUTES}).`);
  const tracking = await mkdtemp(join(tmpdir(), "pipeserve-bench-soak-"));
  let server: Server | undefined;
  try {
    trainPenguins(tracking);
    server = await startServer(tracking);
    const rows = await Rows.load();
    console.log(
      `soak: ${MINUTES} min (warm-up ${WARMUP_SECONDS} s)${SKIP.length > 0 ? `, skipping ${SKIP.join(", ")}` : ""}, ${CONNECTIONS} keep-alive connections + 2 fresh-connection, 1 large-body and 1 hang-up client; ${WORKERS} worker(s); pid ${server.child.pid}, port ${server.port}`,
    );
    const samples: Sample[] = [];
    const run = await runLoad(server, rows, samples);
    const checks: string[] = [];
    if (server.exited) checks.push(`the server exited during the run (${server.exited})`);
    else {
      const after = await afterLoad(server.port);
      const fivexx = Object.entries(after.serverByStatus).filter(([s]) => s.startsWith("5"));
      if (fivexx.length > 0) checks.push(`the server counted ${fivexx.map(([s, c]) => `${c} × ${s}`).join(", ")}`);
      if (after.openConnections > 0) checks.push(`${after.openConnections} connections still open after the load`);
      if (after.inFlight > 0) checks.push(`${after.inFlight} requests still in flight after the load`);
      if (after.abandonedRunning > 0) checks.push(`${after.abandonedRunning} abandoned runs still running`);
      const stopped = await stopServer(server);
      if (stopped) checks.push(stopped);
    }
    const { fullGcs, ...log } = await scanLog(server.log);
    if (log.errors > 0) checks.push(`${log.errors} error lines in the server log`);
    const loadAfterMs = run.startedAt - server.startedAt;
    const sinceLoad = fullGcs.map((g) => ({ seconds: round((g.ms - loadAfterMs) / 1000), afterMb: g.afterMb }));
    const summary = summarise(run, samples, checks, sinceLoad);
    const result = verdict(summary);
    console.log(`\n${table(summary)}\n\n${result.text}`);
    const file = await report(
      "soak",
      {
        settings: {
          minutes: MINUTES,
          connections: CONNECTIONS,
          workers: WORKERS,
          warmupSeconds: WARMUP_SECONDS,
          sampleSeconds: SAMPLE_SECONDS,
          maxSlopeMbPerMin: MAX_SLOPE_MB_PER_MIN,
          skipped: SKIP,
          serverNodeFlags: SERVER_NODE_FLAGS,
        },
        machine: "load generator and server on the same machine, shared with other work",
        summary,
        verdict: result.text,
        serverLog: log,
        unexpectedExamples: run.load.tally.examples,
        byKind: Object.fromEntries([...run.load.tally.byKind].map(([k, v]) => [k, Object.fromEntries(v)])),
        autocannon: {
          requests: run.autocannon.requests.total,
          errors: run.autocannon.errors,
          timeouts: run.autocannon.timeouts,
          statusCodeStats: run.autocannon.statusCodeStats,
        },
        samples,
        fullGcs: sinceLoad,
      },
      { print: false },
    );
    console.log(`Results: ${file}, ${await writeSamplesCsv(samples)}`);
    if (!result.pass) process.exitCode = 1;
  } finally {
    if (server && !server.exited) server.child.kill("SIGKILL");
    await rm(tracking, { recursive: true, force: true });
  }
}
