import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { Hooks } from "../runtime/index.js";

/** The server's Prometheus metrics, in a registry of its own (one per app). */
export class ServerMetrics {
  readonly registry = new Registry();
  readonly requests: Counter<"route" | "method" | "status">;
  readonly latency: Histogram<"route" | "status">;
  readonly inFlight: Gauge;
  readonly rows: Counter;
  readonly nodeDuration: Histogram<"node">;
  /** Times each node of a prediction; pass to `predict` as hooks. */
  readonly hooks: Hooks;

  constructor(options: { defaultMetrics?: boolean } = {}) {
    const registers = [this.registry];
    this.requests = new Counter({ name: "pipeserve_http_requests_total", help: "HTTP requests by route, method and status.", labelNames: ["route", "method", "status"], registers });
    this.latency = new Histogram({
      name: "pipeserve_http_request_duration_seconds",
      help: "HTTP request latency by route and status.",
      labelNames: ["route", "status"],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    });
    this.inFlight = new Gauge({ name: "pipeserve_http_requests_in_flight", help: "Requests being handled now.", registers });
    this.rows = new Counter({ name: "pipeserve_prediction_rows_total", help: "Rows predicted.", registers });
    this.nodeDuration = new Histogram({
      name: "pipeserve_pipeline_node_duration_seconds",
      help: "Time spent in each pipeline node.",
      labelNames: ["node"],
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5],
      registers,
    });
    if (options.defaultMetrics) collectDefaultMetrics({ register: this.registry, prefix: "pipeserve_" });
    const started = new Map<string, bigint>();
    const key = (runId: string, node: string): string => `${runId}\u0000${node}`;
    const end = (runId: string, node: string): void => {
      const k = key(runId, node);
      const t0 = started.get(k);
      if (t0 === undefined) return;
      started.delete(k);
      this.nodeDuration.observe({ node }, Number(process.hrtime.bigint() - t0) / 1e9);
    };
    this.hooks = {
      beforeNodeRun: ({ runId, node }) => void started.set(key(runId, node.name), process.hrtime.bigint()),
      afterNodeRun: ({ runId, node }) => end(runId, node.name),
      onNodeError: ({ runId, node }) => end(runId, node.name),
    };
  }
}
