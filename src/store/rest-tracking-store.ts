import { userInfo } from "node:os";
import type { ArtifactProxyRepository } from "./artifact-proxy.js";
import { NotFoundError, StoreError } from "./errors.js";
import type { CreateLoggedModelOptions, Experiment, MetricPoint, Run, RunInfo, RunStatus } from "./file-store.js";
import { type SearchRunsOptions, checkRunStage } from "./run-lifecycle.js";
import { checkKey } from "./fs-utils.js";
import { LOGGED_MODEL_ID, type LoggedModel, type LoggedModelStatus, type RunModelOutput, checkLoggedModelName } from "./logged-model.js";
import type { RestClient } from "./rest-client.js";
import {
  type WireExperiment,
  type WireLoggedModel,
  type WireRun,
  type WireRunInfo,
  experimentOf,
  fromWireTags,
  loggedModelOf,
  metricPointOf,
  runInfoOf,
  toWireDouble,
  toWireTags,
  wireLoggedModelStatus,
} from "./rest-wire.js";
import type { TrackingStore } from "./tracking-store.js";

const API = "/api/2.0/mlflow";
/** MLflow's log-batch limits (MAX_PARAMS_TAGS_PER_BATCH, MAX_METRICS_PER_BATCH). */
const PARAMS_TAGS_PER_BATCH = 100;
const DEFAULT_EXPERIMENT_ID = "0";

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

function safeUser(): string {
  try {
    return userInfo().username;
  } catch {
    return "unknown";
  }
}

/** What `logParam` logs: strings as they are, anything else as JSON (the file store's rule). */
function paramText(value: unknown): string {
  return typeof value === "string" ? value : (JSON.stringify(value) ?? String(value));
}

/** The error a store method reports for an answer the server gave with RESOURCE_ALREADY_EXISTS. */
export function alreadyExists(error: unknown): boolean {
  return error instanceof StoreError && (error.data as { errorCode?: string } | undefined)?.errorCode === "RESOURCE_ALREADY_EXISTS";
}

/**
 * The tracking store of an MLflow tracking server (`http://host:port`, `https://…`), over MLflow's
 * REST API with the endpoints, methods and fields MLflow 3's own Python client sends: runs and
 * their data through `/runs/*` (GET calls carry both `run_uuid` and `run_id`, as MLflow's do),
 * MLflow 3 LoggedModels through `/logged-models`, artifacts through the server's artifact proxy.
 */
export class RestTrackingStore implements TrackingStore {
  readonly kind = "rest" as const;
  readonly uri: string;
  readonly artifacts: ArtifactProxyRepository;
  readonly #client: RestClient;

  constructor(uri: string, client: RestClient, artifacts: ArtifactProxyRepository) {
    this.uri = uri;
    this.#client = client;
    this.artifacts = artifacts;
  }

  async close(): Promise<void> {
    this.artifacts.close();
    this.#client.close();
  }

  #call<T>(method: string, path: string, options: Parameters<RestClient["json"]>[2] = {}): Promise<T> {
    return this.#client.json<T>(method, `${API}${path}`, options);
  }

  async listExperiments(): Promise<Experiment[]> {
    const out: Experiment[] = [];
    let pageToken: string | undefined;
    do {
      const page = await this.#call<{ experiments?: WireExperiment[]; next_page_token?: string }>("POST", "/experiments/search", {
        json: { max_results: 1000, view_type: "ACTIVE_ONLY", ...(pageToken ? { page_token: pageToken } : {}) },
      });
      out.push(...(page.experiments ?? []).map(experimentOf));
      pageToken = page.next_page_token || undefined;
    } while (pageToken);
    return out.filter((e) => e.lifecycleStage === "active").sort((a, b) => a.creationTime - b.creationTime);
  }

  async getExperimentByName(name: string): Promise<Experiment | undefined> {
    try {
      const answer = await this.#call<{ experiment: WireExperiment }>("GET", "/experiments/get-by-name", { query: { experiment_name: name } });
      const experiment = experimentOf(answer.experiment);
      return experiment.lifecycleStage === "active" ? experiment : undefined;
    } catch (error) {
      if (error instanceof NotFoundError) return undefined;
      throw error;
    }
  }

  async #experimentById(id: string): Promise<Experiment | undefined> {
    try {
      const answer = await this.#call<{ experiment: WireExperiment }>("GET", "/experiments/get", { query: { experiment_id: id } });
      const experiment = experimentOf(answer.experiment);
      return experiment.lifecycleStage === "active" ? experiment : undefined;
    } catch (error) {
      if (error instanceof NotFoundError) return undefined;
      throw error;
    }
  }

  /** The experiment with this id (numbers are ids first, as in the file store) or name. */
  async getExperiment(nameOrId: string): Promise<Experiment> {
    const found = (/^\d+$/.test(nameOrId) ? await this.#experimentById(nameOrId) : undefined) ?? (await this.getExperimentByName(nameOrId));
    if (!found) throw new NotFoundError(`No experiment named or numbered "${nameOrId}" on the tracking server ${this.#client.shown}.`);
    return found;
  }

  async getOrCreateExperiment(name: string): Promise<Experiment> {
    if (typeof name !== "string" || name.trim() === "")
      throw new StoreError("An experiment name must be a non-empty string.", { code: "INVALID_PARAMETER_VALUE" });
    const existing = await this.getExperimentByName(name);
    if (existing) return existing;
    try {
      await this.#call("POST", "/experiments/create", { json: { name } });
    } catch (error) {
      // NB: another process created it meanwhile.
      if (!alreadyExists(error)) throw error;
    }
    return this.getExperiment(name);
  }

  async createRun(options: { experimentId?: string; runName?: string; tags?: Record<string, string>; userId?: string } = {}): Promise<RunInfo> {
    const userId = options.userId ?? safeUser();
    // NB: without a name the server picks one (and sets mlflow.runName), as for MLflow's client.
    const tags = { "mlflow.user": userId, ...(options.tags ?? {}), ...(options.runName ? { "mlflow.runName": options.runName } : {}) };
    const answer = await this.#call<{ run: WireRun }>("POST", "/runs/create", {
      json: {
        experiment_id: options.experimentId ?? DEFAULT_EXPERIMENT_ID,
        user_id: userId,
        ...(options.runName ? { run_name: options.runName } : {}),
        start_time: Date.now(),
        tags: toWireTags(tags),
      },
    });
    return runInfoOf(answer.run.info);
  }

  async #run(runId: string): Promise<WireRun> {
    // NB: MLflow's client sends the run id twice, as run_uuid (deprecated) and run_id.
    return (await this.#call<{ run: WireRun }>("GET", "/runs/get", { query: { run_uuid: runId, run_id: runId } })).run;
  }

  async getRunInfo(runId: string): Promise<RunInfo> {
    return runInfoOf((await this.#run(runId)).info);
  }

  async endRun(runId: string, status: Exclude<RunStatus, "RUNNING" | "SCHEDULED"> = "FINISHED"): Promise<RunInfo> {
    const answer = await this.#call<{ run_info: WireRunInfo }>("POST", "/runs/update", {
      json: { run_uuid: runId, status, end_time: Date.now(), run_id: runId },
    });
    return runInfoOf(answer.run_info);
  }

  /** `runs/delete`: the server marks the run deleted (MLflow's own stores check first; so do we, for one message on every backend). */
  async deleteRun(runId: string): Promise<RunInfo> {
    checkRunStage(await this.getRunInfo(runId), "delete");
    await this.#call("POST", "/runs/delete", { json: { run_id: runId } });
    return this.getRunInfo(runId);
  }

  /** `runs/restore`. */
  async restoreRun(runId: string): Promise<RunInfo> {
    checkRunStage(await this.getRunInfo(runId), "restore");
    await this.#call("POST", "/runs/restore", { json: { run_id: runId } });
    return this.getRunInfo(runId);
  }

  async logParam(runId: string, key: string, value: unknown): Promise<void> {
    checkKey("param", key);
    await this.#call("POST", "/runs/log-parameter", { json: { run_uuid: runId, key, value: paramText(value), run_id: runId } });
  }

  async logParams(runId: string, params: Readonly<Record<string, unknown>>): Promise<void> {
    const list = Object.entries(params).map(([key, value]) => ({ key: checkKey("param", key), value: paramText(value) }));
    for (const batch of chunks(list, PARAMS_TAGS_PER_BATCH)) await this.#call("POST", "/runs/log-batch", { json: { run_id: runId, params: batch } });
  }

  async logMetric(runId: string, key: string, value: number, options: { step?: number; timestamp?: number } = {}): Promise<void> {
    checkKey("metric", key);
    // NB: NaN is a metric value MLflow takes (a file store writes "nan", SQL sets is_nan, REST sends "NaN").
    if (typeof value !== "number")
      throw new StoreError(`Metric "${key}" must be a number, got ${typeof value === "number" ? String(value) : JSON.stringify(value)}.`, {
        code: "INVALID_PARAMETER_VALUE",
      });
    await this.#call("POST", "/runs/log-metric", {
      json: {
        run_uuid: runId,
        key,
        value: toWireDouble(value),
        timestamp: Math.trunc(options.timestamp ?? Date.now()),
        step: Math.trunc(options.step ?? 0),
        run_id: runId,
      },
    });
  }

  async setTag(runId: string, key: string, value: string): Promise<void> {
    checkKey("tag", key);
    await this.#call("POST", "/runs/set-tag", { json: { run_uuid: runId, key, value: String(value), run_id: runId } });
  }

  async setTags(runId: string, tags: Readonly<Record<string, string>>): Promise<void> {
    for (const key of Object.keys(tags)) checkKey("tag", key);
    for (const batch of chunks(toWireTags(tags) ?? [], PARAMS_TAGS_PER_BATCH))
      await this.#call("POST", "/runs/log-batch", { json: { run_id: runId, tags: batch } });
  }

  async getRun(runId: string): Promise<Run> {
    const run = await this.#run(runId);
    return {
      info: runInfoOf(run.info),
      params: fromWireTags(run.data?.params),
      metrics: Object.fromEntries((run.data?.metrics ?? []).map((m) => [m.key, metricPointOf(m)])),
      tags: fromWireTags(run.data?.tags),
      outputs: outputsOf(run),
    };
  }

  async getMetricHistory(runId: string, key: string): Promise<MetricPoint[]> {
    checkKey("metric", key);
    const out: MetricPoint[] = [];
    let pageToken: string | undefined;
    do {
      const page = await this.#call<{ metrics?: Parameters<typeof metricPointOf>[0][]; next_page_token?: string }>("GET", "/metrics/get-history", {
        query: { run_uuid: runId, metric_key: key, run_id: runId, max_results: 25000, page_token: pageToken },
      });
      out.push(...(page.metrics ?? []).map(metricPointOf));
      pageToken = page.next_page_token || undefined;
    } while (pageToken);
    return out;
  }

  async searchRuns(options: SearchRunsOptions = {}): Promise<RunInfo[]> {
    const ids = options.experimentIds ?? (await this.listExperiments()).map((e) => e.experimentId);
    if (ids.length === 0) return [];
    const out: RunInfo[] = [];
    let pageToken: string | undefined;
    do {
      const page = await this.#call<{ runs?: WireRun[]; next_page_token?: string }>("POST", "/runs/search", {
        json: {
          experiment_ids: ids,
          run_view_type: (options.view ?? "active_only").toUpperCase(),
          max_results: 1000,
          order_by: ["attributes.start_time DESC"],
          ...(pageToken ? { page_token: pageToken } : {}),
        },
      });
      out.push(...(page.runs ?? []).map((r) => runInfoOf(r.info)));
      pageToken = page.next_page_token || undefined;
    } while (pageToken);
    return out.sort((a, b) => b.startTime - a.startTime);
  }

  #checkModelId(modelId: string): string {
    if (typeof modelId !== "string" || !LOGGED_MODEL_ID.test(modelId))
      throw new NotFoundError(`"${modelId}" is not a LoggedModel id: MLflow 3 model ids are "m-" and 32 hexadecimal characters, as in models:/m-<id>.`);
    return modelId;
  }

  async getLoggedModel(modelId: string): Promise<LoggedModel> {
    const answer = await this.#call<{ model: WireLoggedModel }>("GET", `/logged-models/${this.#checkModelId(modelId)}`);
    return loggedModelOf(answer.model);
  }

  async #searchLoggedModels(experimentIds: string[], filter?: string): Promise<LoggedModel[]> {
    const out: LoggedModel[] = [];
    let pageToken: string | undefined;
    do {
      const page = await this.#call<{ models?: WireLoggedModel[]; next_page_token?: string }>("POST", "/logged-models/search", {
        json: {
          experiment_ids: experimentIds,
          ...(filter ? { filter } : {}),
          max_results: 100,
          order_by: [{ field_name: "creation_time", ascending: false }],
          ...(pageToken ? { page_token: pageToken } : {}),
        },
      });
      out.push(...(page.models ?? []).map(loggedModelOf));
      pageToken = page.next_page_token || undefined;
    } while (pageToken);
    return out.sort((a, b) => b.creationTimestamp - a.creationTimestamp);
  }

  async searchLoggedModels(options: { experimentIds?: string[] } = {}): Promise<LoggedModel[]> {
    const ids = options.experimentIds ?? (await this.listExperiments()).map((e) => e.experimentId);
    return ids.length === 0 ? [] : this.#searchLoggedModels(ids);
  }

  /**
   * The LoggedModel named `name` whose source run is `runId` (the newest READY one, else the
   * newest), found as MLflow 3 finds the model of `runs:/<run_id>/<name>`: a LoggedModel search in
   * the run's experiment filtered on `source_run_id` and `name`.
   */
  async findRunLoggedModel(runId: string, name: string): Promise<LoggedModel | undefined> {
    const info = await this.getRunInfo(runId);
    // NB: a name with quotes is no LoggedModel's (MLflow refuses them) and would break the filter.
    if (/['"\\]/.test(name)) return undefined;
    let found: LoggedModel[];
    try {
      found = await this.#searchLoggedModels([info.experimentId], `source_run_id = '${runId}' AND name = '${name}'`);
    } catch (error) {
      // NB: a server whose search cannot filter on these attributes: the experiment's models, filtered here.
      if (!(error instanceof StoreError) || error.code !== "INVALID_PARAMETER_VALUE") throw error;
      found = await this.#searchLoggedModels([info.experimentId]);
    }
    const mine = found.filter((m) => m.name === name && m.sourceRunId === runId);
    return mine.find((m) => m.status === "READY") ?? mine[0];
  }

  async createLoggedModel(experimentId: string, options: CreateLoggedModelOptions = {}): Promise<LoggedModel> {
    const name = checkLoggedModelName(options.name ?? "model");
    const answer = await this.#call<{ model: WireLoggedModel }>("POST", "/logged-models", {
      json: {
        experiment_id: experimentId,
        name,
        ...(options.modelType ? { model_type: options.modelType } : {}),
        ...(options.sourceRunId ? { source_run_id: options.sourceRunId } : {}),
        ...(toWireTags(options.params) ? { params: toWireTags(options.params) } : {}),
        ...(toWireTags(options.tags) ? { tags: toWireTags(options.tags) } : {}),
      },
    });
    return loggedModelOf(answer.model);
  }

  /**
   * Sets a LoggedModel's final status (`PATCH /logged-models/<id>`, as MLflow's
   * `finalize_logged_model`). NB: MLflow's REST API has no status message: `statusMessage` is not
   * recorded on a tracking server.
   */
  async finalizeLoggedModel(modelId: string, status: Extract<LoggedModelStatus, "READY" | "FAILED">, _statusMessage?: string): Promise<LoggedModel> {
    const answer = await this.#call<{ model: WireLoggedModel }>("PATCH", `/logged-models/${this.#checkModelId(modelId)}`, {
      json: { model_id: modelId, status: wireLoggedModelStatus(status) },
    });
    return loggedModelOf(answer.model);
  }

  async setLoggedModelTag(modelId: string, key: string, value: string): Promise<void> {
    checkKey("tag", key);
    await this.#call("PATCH", `/logged-models/${this.#checkModelId(modelId)}/tags`, { json: { tags: [{ key, value: String(value) }] } });
  }

  /**
   * Logs a point of a LoggedModel's metric. MLflow's REST API has no endpoint of its own for it:
   * MLflow 3 logs the point in a run's `log-batch` with the metric's `model_id` (the server then
   * records it for the run and for the model); so does pipeserve, in `point.runId`, else the
   * model's source run.
   */
  async logLoggedModelMetric(modelId: string, key: string, point: { value: number; timestamp: number; step: number; runId?: string }): Promise<void> {
    checkKey("metric", key);
    const runId = point.runId ?? (await this.getLoggedModel(modelId)).sourceRunId;
    if (!runId) {
      throw new StoreError(
        `Cannot log metric "${key}" of LoggedModel ${modelId} on ${this.#client.shown}: a tracking server takes a model's metrics through a run, and the model has none.`,
        { code: "INVALID_PARAMETER_VALUE" },
      );
    }
    const metric = { key, value: toWireDouble(point.value), timestamp: Math.trunc(point.timestamp), step: Math.trunc(point.step), model_id: modelId };
    await this.#call("POST", "/runs/log-batch", { json: { run_id: runId, metrics: [metric] } });
  }

  async logRunOutput(runId: string, output: RunModelOutput): Promise<void> {
    if (!LOGGED_MODEL_ID.test(output.modelId)) throw new StoreError(`"${output.modelId}" is not a LoggedModel id.`, { code: "INVALID_PARAMETER_VALUE" });
    await this.#call("POST", "/runs/outputs", { json: { run_id: runId, models: [{ model_id: output.modelId, step: output.step }] } });
  }

  async getRunOutputs(runId: string): Promise<RunModelOutput[]> {
    return outputsOf(await this.#run(runId));
  }
}

function outputsOf(run: WireRun): RunModelOutput[] {
  return (run.outputs?.model_outputs ?? []).map((o) => ({ modelId: o.model_id, step: Number(o.step ?? 0) }));
}
