import type { Cluster, Worker } from "node:cluster";
import type { Registry } from "prom-client";
import { promClient } from "./libraries.js";

/** One process's metrics, as prom-client's `getMetricsAsJSON` gives them (every registry's, one after another). */
export type MetricsJson = Awaited<ReturnType<Registry["getMetricsAsJSON"]>>;

/**
 * The IPC messages between the primary of `serve -w N` and its workers, in their `pipeserve` field
 * (so no other message is taken for one): a worker asks for the sum (`ASK`, answered `SUM`); the
 * primary asks each worker for its figures (`COLLECT`, answered `COLLECTED`).
 */
export const METRICS_MESSAGES = { ASK: "metrics-ask", SUM: "metrics-sum", COLLECT: "metrics-collect", COLLECTED: "metrics-collected" } as const;
const { ASK, SUM, COLLECT, COLLECTED } = METRICS_MESSAGES;

/** How long the primary waits for the workers' figures before it answers with the last ones of those that have not given theirs. */
export const DEFAULT_COLLECT_TIMEOUT_MS = 2_000;

/**
 * The primary's half of `/metrics` under `serve -w N`: a worker asked for `/metrics` asks the
 * primary, which gathers every worker's figures over IPC and answers with their sum, as
 * prom-client's `AggregatorRegistry` aggregates them (each metric by its aggregator: counters and
 * histograms summed, the event-loop lag averaged, the served version's gauge by max…). So every
 * scrape sees the whole server, whichever worker takes it.
 *
 * Counters stay monotonic as Prometheus' `rate()` needs:
 * - a worker that does not answer in time (a long synchronous prediction) counts with its last figures;
 * - a worker that stops keeps its counters and histograms in the sum (its gauges leave with it), so
 *   a restarted worker does not make the sum fall and `rate()` see a reset.
 *
 * The primary adds `pipeserve_cluster_workers` (workers whose figures the answer holds) and
 * `pipeserve_cluster_worker_restarts_total`.
 */
export class ClusterMetrics {
  readonly #cluster: Cluster;
  readonly #timeoutMs: number;
  /** The workers that listen (those still loading their model have served nothing, and cannot answer yet). */
  readonly #listening = new Set<number>();
  /** Each live worker's last figures, by worker id. */
  readonly #last = new Map<number, MetricsJson>();
  /** The counters and histograms of the workers that stopped, summed. */
  #retired: MetricsJson = [];
  /** The last change to `#retired`: a sum is read after it. */
  #retiring: Promise<void> = Promise.resolve();
  readonly #pending = new Map<number, { waiting: Set<number>; done(): void }>();
  #nextCollect = 0;
  readonly #own: Registry;
  readonly #restarts;

  constructor(cluster: Cluster, options: { timeoutMs?: number } = {}) {
    this.#cluster = cluster;
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_COLLECT_TIMEOUT_MS;
    const { Counter, Gauge, Registry } = promClient();
    this.#own = new Registry();
    const registers = [this.#own];
    const workers: InstanceType<typeof Gauge> = new Gauge({
      name: "pipeserve_cluster_workers",
      help: "Worker processes (serve -w N) whose figures this answer sums.",
      registers,
      collect: () => workers.set(this.#last.size),
    });
    this.#restarts = new Counter({
      name: "pipeserve_cluster_worker_restarts_total",
      help: "Worker processes started again after one stopped unexpectedly.",
      registers,
    });
    cluster.on("message", (worker, message) => this.#onMessage(worker, message));
    cluster.on("listening", (worker) => this.#listening.add(worker.id));
  }

  /** Counts a worker started again after one stopped unexpectedly. */
  restarted(): void {
    this.#restarts.inc();
  }

  /** Keeps the counters and histograms of a worker that stopped in the sum; its gauges leave with it. */
  exited(workerId: number): void {
    const last = this.#last.get(workerId);
    this.#last.delete(workerId);
    this.#listening.delete(workerId);
    for (const [, pending] of this.#pending) {
      pending.waiting.delete(workerId);
      if (pending.waiting.size === 0) pending.done();
    }
    if (!last) return;
    const kept = last.filter((m) => String(m.type) === "counter" || String(m.type) === "histogram");
    this.#retiring = this.#retiring.then(async () => {
      this.#retired = await promClient()
        .AggregatorRegistry.aggregate([this.#retired, kept] as never)
        .getMetricsAsJSON();
    });
  }

  /** Every worker's figures summed, as Prometheus text. */
  async collect(): Promise<{ text: string; contentType: string }> {
    await this.#gather();
    await this.#retiring;
    const all = [this.#retired, ...this.#last.values(), await this.#own.getMetricsAsJSON()];
    const registry = promClient().AggregatorRegistry.aggregate(all as never);
    return { text: await registry.metrics(), contentType: registry.contentType };
  }

  /** Asks every listening worker for its figures, and waits until each has answered or stopped, or the timeout. */
  #gather(): Promise<void> {
    const id = this.#nextCollect++;
    const waiting = new Set<number>();
    const workers = Object.values(this.#cluster.workers ?? {}).filter((w): w is Worker => w !== undefined && w.isConnected() && this.#listening.has(w.id));
    if (workers.length === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.#pending.delete(id);
        resolve();
      };
      const timer = setTimeout(done, this.#timeoutMs);
      this.#pending.set(id, { waiting, done });
      for (const worker of workers) waiting.add(worker.id);
      for (const worker of workers) {
        // NB: with a callback: a worker that died a moment ago (still "connected" until its disconnect
        // is handled) fails the write with EPIPE, which without one is an 'error' event nobody
        // handles, and the primary would stop with every worker. It counts with its last figures.
        worker.send({ pipeserve: COLLECT, id }, undefined, {}, (error) => {
          if (!error || !waiting.delete(worker.id)) return;
          if (waiting.size === 0) done();
        });
      }
    });
  }

  #onMessage(worker: Worker, message: unknown): void {
    if (typeof message !== "object" || message === null) return;
    const m = message as { pipeserve?: unknown; id?: unknown; metrics?: unknown };
    if (m.pipeserve === COLLECTED && typeof m.id === "number" && Array.isArray(m.metrics)) {
      // NB: an answer that arrives after its worker's exit is dropped: its counts are already retired, and its gauges left with it.
      if (!this.#listening.has(worker.id)) return;
      this.#last.set(worker.id, m.metrics as MetricsJson);
      const pending = this.#pending.get(m.id);
      if (!pending) return;
      pending.waiting.delete(worker.id);
      if (pending.waiting.size === 0) pending.done();
    } else if (m.pipeserve === ASK && typeof m.id === "number") {
      const id = m.id;
      const answer = (reply: object): void => {
        if (worker.isConnected()) worker.send({ pipeserve: SUM, id, ...reply }, undefined, () => undefined);
      };
      this.collect().then(answer, (error: unknown) => answer({ error: error instanceof Error ? error.message : String(error) }));
    }
  }
}
