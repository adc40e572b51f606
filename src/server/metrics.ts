import type { Server } from "node:http";
import type { Counter, Gauge, Histogram, Registry } from "prom-client";
import type { Hooks } from "../loader/index.js";
import { promClient } from "./libraries.js";

/** The server's Prometheus metrics, in a registry of its own (one per app). */
export class ServerMetrics {
  readonly registry: Registry;
  /** The labels every series carries (`{model: name}` with several models). */
  readonly labels: Readonly<Record<string, string>>;
  readonly requests: Counter<"route" | "method" | "status">;
  readonly latency: Histogram<"route" | "method" | "status">;
  readonly inFlight: Gauge;
  /** Requests being handled now (the server counts; the gauge reads it at scrape time). */
  requestsInFlight = 0;
  readonly rows: Counter;
  readonly nodeDuration: Histogram<"node">;
  /** Requests per pipeline run: above 1 when small concurrent requests ran as one batch. */
  readonly batchRequests: Histogram;
  /** Times each node of a prediction; pass to `predict` as hooks. */
  readonly hooks: Hooks;
  /** Client connections open now (counted by `trackConnections`; read at scrape time). */
  openConnections = 0;
  /** Connections the server closed at once because `--max-connections` were open. */
  readonly connectionsDropped: Counter;
  /** Predictions answered 504 because their run passed the timeout. */
  readonly timedOut: Counter;
  /** Runs stopped at their deadline while nodes were still running. */
  readonly abandonedRuns: Counter;
  /** Abandoned runs whose nodes have not ended yet (read at scrape time). */
  abandonedRunning = 0;
  /** Model swaps (a moved alias): `swapped`, or `failed` when the new version could not load or warm up. */
  readonly modelSwaps: Counter<"result">;
  /** 1 for the model version being served (registered version, else run id). */
  readonly modelServed: Gauge<"version">;
  /** For each model of a set: 1 when it loaded, 0 when it failed to (`--allow-partial-start`). */
  readonly modelLoaded: Gauge<"model">;

  /** Marks `version` as the one served (the previous one's series removed). */
  serving(version: string | undefined): void {
    this.modelServed.reset();
    if (version !== undefined) this.modelServed.set({ version }, 1);
  }

  /**
   * @param options.defaultMetrics also collect the process's metrics (memory, event-loop lag…).
   * @param options.labels labels every series carries (`{model: name}` for one model among several).
   */
  constructor(options: { defaultMetrics?: boolean; labels?: Record<string, string> } = {}) {
    const { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } = promClient();
    this.registry = new Registry();
    this.labels = { ...options.labels };
    if (options.labels) this.registry.setDefaultLabels(options.labels);
    const registers = [this.registry];
    this.requests = new Counter({
      name: "pipeserve_http_requests_total",
      help: "Requests by route, method and status: HTTP, and gRPC calls (method GRPC, the RPC path as route, the gRPC status name).",
      labelNames: ["route", "method", "status"],
      registers,
    });
    this.latency = new Histogram({
      name: "pipeserve_http_request_duration_seconds",
      help: "Request latency by route, method and status (as pipeserve_http_requests_total labels them).",
      labelNames: ["route", "method", "status"],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    });
    // NB: read when scraped, from a plain counter the server bumps: no prom-client call per request.
    const inFlight: Gauge = new Gauge({
      name: "pipeserve_http_requests_in_flight",
      help: "Requests being handled now.",
      registers,
      collect: () => inFlight.set(this.requestsInFlight),
    });
    this.inFlight = inFlight;
    this.rows = new Counter({ name: "pipeserve_prediction_rows_total", help: "Rows predicted.", registers });
    this.modelSwaps = new Counter({
      name: "pipeserve_model_swaps_total",
      help: "Model versions swapped in after their alias moved (result=swapped), or refused because they failed to load, verify or warm up (result=failed).",
      labelNames: ["result"],
      registers,
    });
    // NB: both series from the start, at 0: a series that first appears at 1 is never an increase() (the first failed swap went unseen).
    for (const result of ["swapped", "failed"]) this.modelSwaps.inc({ result }, 0);
    this.modelServed = new Gauge({
      name: "pipeserve_model_served",
      help: "1 for the model version being served (its registered version, else its run id).",
      labelNames: ["version"],
      // NB: with -w N, 1 for each version any worker serves (summed, a version every worker serves would read N).
      aggregator: "max",
      registers,
    });
    this.modelLoaded = new Gauge({
      name: "pipeserve_model_loaded",
      help: "For each model of a set (serve -m NAME=URI …): 1 when it loaded, 0 when it failed to and answers 503 (--allow-partial-start).",
      labelNames: ["model"],
      // NB: with -w N, 0 when any worker failed to load it.
      aggregator: "min",
      registers,
    });
    this.nodeDuration = new Histogram({
      name: "pipeserve_pipeline_node_duration_seconds",
      help: "Time spent in each pipeline node, sampled: one pipeline run in 16 is timed.",
      labelNames: ["node"],
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5],
      registers,
    });
    this.batchRequests = new Histogram({
      name: "pipeserve_pipeline_run_requests",
      help: "Requests per pipeline run: more than 1 when small concurrent requests to a row-wise model ran as one batch.",
      buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256],
      registers,
    });
    const open: Gauge = new Gauge({
      name: "pipeserve_http_open_connections",
      help: "Client connections open now (idle keep-alive ones included).",
      registers,
      collect: () => open.set(this.openConnections),
    });
    this.connectionsDropped = new Counter({
      name: "pipeserve_http_connections_dropped_total",
      help: "Connections closed on arrival because --max-connections were already open (the client may retry elsewhere).",
      registers,
    });
    this.timedOut = new Counter({
      name: "pipeserve_prediction_timeouts_total",
      help: "Predictions answered 504 because their pipeline run passed the timeout (--timeout).",
      registers,
    });
    this.abandonedRuns = new Counter({
      name: "pipeserve_abandoned_runs_total",
      help: "Pipeline runs stopped at their deadline while nodes were still running (their worker threads are ended; other nodes are left to finish).",
      registers,
    });
    const abandonedRunning: Gauge = new Gauge({
      name: "pipeserve_abandoned_runs_running",
      help: "Abandoned pipeline runs whose nodes are still running: a value that only grows means nodes that never return.",
      registers,
      collect: () => abandonedRunning.set(this.abandonedRunning),
    });
    // NB: process metrics (resident memory, heap, event-loop lag, open handles), as `serve` asks.
    if (options.defaultMetrics) collectDefaultMetrics({ register: this.registry, prefix: "pipeserve_" });
    this.hooks = nodeTimingHooks(this.nodeDuration);
  }

  /** Counts a run abandoned at its deadline, running until `settled` settles. */
  abandon(settled: Promise<void>): void {
    this.abandonedRuns.inc();
    this.abandonedRunning++;
    void settled.then(() => this.abandonedRunning--);
  }

  /** Counts the connections `server` opens and closes, and those it drops at `maxConnections`. */
  trackConnections(server: Server): void {
    server.on("connection", (socket) => {
      this.openConnections++;
      socket.once("close", () => this.openConnections--);
    });
    server.on("drop", () => this.connectionsDropped.inc());
  }

  readonly #requestChildren = new Map<string, { count: { inc(): void }; latency: { observe(value: number): void } }>();

  /** Counts a finished request and its latency; `status` is the response's, or `aborted`. */
  observeRequest(route: string, method: string, status: number | string, seconds: number): void {
    const key = `${route} ${method} ${status}`;
    let child = this.#requestChildren.get(key);
    if (!child) {
      child = {
        count: this.requests.labels({ route, method, status: String(status) }),
        latency: this.latency.labels({ route, method, status: String(status) }),
      };
      this.#requestChildren.set(key, child);
    }
    child.count.inc();
    child.latency.observe(seconds);
  }
}

/**
 * Hooks that time each node into `histogram`. NB: label children are looked up once per label set;
 * observing through a child skips prom-client's per-call label hashing. The runner times each node itself.
 */
function nodeTimingHooks(histogram: Histogram<"node">): Hooks {
  const nodeTimers = new Map<string, { observe(value: number): void }>();
  const observe = (node: string, seconds: number): void => {
    let timer = nodeTimers.get(node);
    if (!timer) nodeTimers.set(node, (timer = histogram.labels({ node })));
    timer.observe(seconds);
  };
  return {
    afterNodeRun: ({ node, seconds }) => observe(node.name, seconds),
    onNodeError: ({ node, seconds }) => observe(node.name, seconds),
  };
}

/** Writes the `/metrics` answer from an app's registries (the server's and each model's): `mergedMetrics` by default. */
export type MetricsExposition = (registries: readonly Registry[]) => Promise<{ text: string; contentType: string }>;

/**
 * The Prometheus text of several registries as one exposition: the server's and each model's
 * (whose series carry a `model` label). A metric several registries hold (requests, latency…) is
 * written once, with every registry's series. NB: prom-client's cluster aggregation, with every
 * metric summed: the registries' label sets are disjoint, so each series passes through as it is.
 */
export async function mergedMetrics(registries: readonly Registry[]): Promise<{ text: string; contentType: string }> {
  const all = await Promise.all(registries.map(async (r) => (await r.getMetricsAsJSON()).map((m) => ({ ...m, aggregator: "sum" as const }))));
  const merged = promClient().AggregatorRegistry.aggregate(all);
  return { text: await merged.metrics(), contentType: merged.contentType };
}
