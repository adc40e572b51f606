import { randomInt, randomUUID } from "node:crypto";
import { appendFile, mkdir, readdir, readFile } from "node:fs/promises";
import { userInfo } from "node:os";
import { isAbsolute, join } from "node:path";
import { fileURLToPath } from "node:url";
import { LocalArtifactRepository } from "./artifact-repository.js";
import { NotFoundError, StoreError } from "./errors.js";
import { checkKey, isDirectory, isFile, readYaml, writeAtomic, writeYaml } from "./fs-utils.js";
import { withLock } from "./lock.js";
import {
  LOGGED_MODEL_ID,
  type LoggedModel,
  type LoggedModelStatus,
  type RunModelOutput,
  checkLoggedModelName,
  loggedModelMeta,
  newLoggedModelId,
  parseMetricValue,
  readKeyFiles,
  readLoggedModel,
  readLoggedModelMeta,
  readRunOutputs,
  runOutputMeta,
} from "./logged-model.js";
import { type SearchRunsOptions, checkRunStage, inRunView } from "./run-lifecycle.js";
import { inMovedStore } from "./moved-store.js";
import { toFileUri } from "./tracking-uri.js";

/** MLflow's run status codes, as written in `meta.yaml`. */
export const RUN_STATUS = { RUNNING: 1, SCHEDULED: 2, FINISHED: 3, FAILED: 4, KILLED: 5 } as const;
export type RunStatus = keyof typeof RUN_STATUS;

export interface Experiment {
  experimentId: string;
  name: string;
  artifactLocation: string;
  lifecycleStage: string;
  creationTime: number;
  lastUpdateTime: number;
  /** The experiment's tags (`<experiment>/tags/<key>`). */
  tags: Record<string, string>;
}

export interface RunInfo {
  runId: string;
  runName: string;
  experimentId: string;
  userId: string;
  status: RunStatus;
  startTime: number;
  endTime: number | null;
  artifactUri: string;
  lifecycleStage: string;
}

export interface MetricPoint {
  timestamp: number;
  value: number;
  step: number;
}

export interface Run {
  info: RunInfo;
  params: Record<string, string>;
  /** The last point logged for each metric. */
  metrics: Record<string, MetricPoint>;
  tags: Record<string, string>;
  /** The MLflow 3 LoggedModels the run logged (`outputs/<model_id>/meta.yaml`). */
  outputs: RunModelOutput[];
}

/** What `createLoggedModel` records besides the experiment. */
export interface CreateLoggedModelOptions {
  /** The model's name: one path part, as MLflow 3 requires (`model` by default). */
  name?: string;
  sourceRunId?: string;
  modelType?: string;
  params?: Readonly<Record<string, string>>;
  tags?: Readonly<Record<string, string>>;
}

const DEFAULT_EXPERIMENT_ID = "0";
const RUN_ID = /^[0-9a-f]{32}$/;
const EXPERIMENT_ID = /^\d+$/;
const TEMP_FILE = /^\..+\.[0-9a-f]{12}\.tmp$/;

/** NB: only writeAtomic's temp files (`.<key>.<12 hex>.tmp`) are skipped; MLflow allows keys that start with ".". */
const isTempFile = (name: string): boolean => TEMP_FILE.test(name);

function statusName(code: unknown): RunStatus {
  const entry = Object.entries(RUN_STATUS).find(([, v]) => v === code);
  return (entry?.[0] as RunStatus | undefined) ?? "FAILED";
}

async function listKeyFiles(dir: string, prefix = ""): Promise<string[]> {
  if (!(await isDirectory(dir))) return [];
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    // NB: only writeAtomic's temp files (`.<key>.<12 hex>.tmp`) are skipped; MLflow allows keys that start with ".".
    if (TEMP_FILE.test(entry.name)) continue;
    if (entry.isDirectory()) out.push(...(await listKeyFiles(join(dir, entry.name), `${prefix}${entry.name}/`)));
    else out.push(`${prefix}${entry.name}`);
  }
  return out.sort();
}

/**
 * A tracking store in MLflow's FileStore layout (`mlruns/`): experiments, runs with params,
 * metrics, tags and artifacts. MLflow's own UI and client can read what it writes. Every file is
 * written atomically; several processes may log into one store at once.
 */
export class FileStore {
  readonly kind = "file" as const;
  readonly root: string;
  readonly artifacts = new LocalArtifactRepository();

  private constructor(root: string) {
    this.root = root;
  }

  /** The store's folder, as a tracking URI. */
  get uri(): string {
    return this.root;
  }

  /** Nothing to release: every call opens and closes its own files. */
  async close(): Promise<void> {}

  /**
   * Opens a store to read it, writing nothing (`runs list`, `runs show`).
   * @throws NotFoundError when there is no folder at `root`.
   */
  static async openExisting(root: string): Promise<FileStore> {
    if (!(await isDirectory(root))) {
      throw new NotFoundError(
        `There is no run store at ${root}: nothing has been logged there. Point --tracking-uri (or MLFLOW_TRACKING_URI) at the folder that holds your runs, e.g. ./mlruns.`,
      );
    }
    return new FileStore(root);
  }

  /** Opens (creating when needed) a store: `0/` (the Default experiment), `.trash/` and `models/` always exist. */
  static async open(root: string): Promise<FileStore> {
    const store = new FileStore(root);
    await mkdir(join(root, ".trash"), { recursive: true });
    await mkdir(join(root, "models"), { recursive: true });
    if (!(await isFile(join(root, DEFAULT_EXPERIMENT_ID, "meta.yaml")))) {
      await withLock(join(root, ".experiments.lock"), async () => {
        if (!(await isFile(join(root, DEFAULT_EXPERIMENT_ID, "meta.yaml")))) await store.#writeExperiment(DEFAULT_EXPERIMENT_ID, "Default");
      });
    }
    return store;
  }

  async #writeExperiment(id: string, name: string): Promise<Experiment> {
    const dir = join(this.root, id);
    await mkdir(dir, { recursive: true });
    const now = Date.now();
    await writeYaml(join(dir, "meta.yaml"), {
      artifact_location: toFileUri(dir),
      creation_time: now,
      experiment_id: id,
      last_update_time: now,
      lifecycle_stage: "active",
      name,
    });
    return { experimentId: id, name, artifactLocation: toFileUri(dir), lifecycleStage: "active", creationTime: now, lastUpdateTime: now, tags: {} };
  }

  /** Every active experiment. */
  async listExperiments(): Promise<Experiment[]> {
    const out: Experiment[] = [];
    for (const entry of await readdir(this.root, { withFileTypes: true })) {
      if (!entry.isDirectory() || !EXPERIMENT_ID.test(entry.name)) continue;
      const meta = join(this.root, entry.name, "meta.yaml");
      if (!(await isFile(meta))) continue;
      const m = await readYaml(meta);
      if (m["lifecycle_stage"] !== "active") continue;
      out.push({
        experimentId: String(m["experiment_id"]),
        name: String(m["name"]),
        artifactLocation: String(m["artifact_location"]),
        lifecycleStage: String(m["lifecycle_stage"]),
        creationTime: Number(m["creation_time"]),
        lastUpdateTime: Number(m["last_update_time"]),
        tags: await readKeyFiles(join(this.root, entry.name, "tags"), isTempFile),
      });
    }
    return out.sort((a, b) => a.creationTime - b.creationTime);
  }

  async getExperimentByName(name: string): Promise<Experiment | undefined> {
    return (await this.listExperiments()).find((e) => e.name === name);
  }

  /** The experiment with this name or id. */
  async getExperiment(nameOrId: string): Promise<Experiment> {
    const all = await this.listExperiments();
    const found = all.find((e) => e.experimentId === nameOrId) ?? all.find((e) => e.name === nameOrId);
    if (!found)
      throw new NotFoundError(`No experiment named or numbered "${nameOrId}". Experiments: ${all.map((e) => `${e.name} (${e.experimentId})`).join(", ")}.`);
    return found;
  }

  /** The experiment with this name, created if missing (safe when several processes race). */
  async getOrCreateExperiment(name: string): Promise<Experiment> {
    if (typeof name !== "string" || name.trim() === "")
      throw new StoreError("An experiment name must be a non-empty string.", { code: "INVALID_PARAMETER_VALUE" });
    const existing = await this.getExperimentByName(name);
    if (existing) return existing;
    return withLock(join(this.root, ".experiments.lock"), async () => {
      const again = await this.getExperimentByName(name);
      if (again) return again;
      let id: string;
      do id = String(randomInt(1, 9)) + String(randomInt(0, 1e9)).padStart(9, "0") + String(randomInt(0, 1e8)).padStart(8, "0");
      while (await isDirectory(join(this.root, id)));
      return this.#writeExperiment(id, name);
    });
  }

  #runDirCache = new Map<string, string>();

  /** The folder of a run, found in whichever experiment holds it. */
  async runDir(runId: string): Promise<string> {
    if (!RUN_ID.test(runId)) throw new NotFoundError(`"${runId}" is not a run id: run ids are 32 hexadecimal characters.`);
    const cached = this.#runDirCache.get(runId);
    if (cached) return cached;
    for (const entry of await readdir(this.root, { withFileTypes: true })) {
      if (!entry.isDirectory() || !EXPERIMENT_ID.test(entry.name)) continue;
      const dir = join(this.root, entry.name, runId);
      if (await isFile(join(dir, "meta.yaml"))) {
        this.#runDirCache.set(runId, dir);
        return dir;
      }
    }
    throw new NotFoundError(`Run "${runId}" is not in the store at ${this.root}. List runs with \`pipeserve runs list\`.`);
  }

  /** Starts a run (status RUNNING) in an experiment. */
  async createRun(options: { experimentId?: string; runName?: string; tags?: Record<string, string>; userId?: string } = {}): Promise<RunInfo> {
    const experimentId = options.experimentId ?? DEFAULT_EXPERIMENT_ID;
    const expDir = join(this.root, experimentId);
    if (!EXPERIMENT_ID.test(experimentId) || !(await isFile(join(expDir, "meta.yaml"))))
      throw new NotFoundError(`Experiment "${experimentId}" does not exist.`);
    const runId = randomUUID().replaceAll("-", "");
    const runName = options.runName ?? `run-${runId.slice(0, 8)}`;
    const dir = join(expDir, runId);
    await mkdir(join(dir, "artifacts"), { recursive: true });
    await Promise.all(["params", "metrics", "tags"].map((d) => mkdir(join(dir, d))));
    const info: RunInfo = {
      runId,
      runName,
      experimentId,
      userId: options.userId ?? safeUser(),
      status: "RUNNING",
      startTime: Date.now(),
      endTime: null,
      artifactUri: toFileUri(join(dir, "artifacts")),
      lifecycleStage: "active",
    };
    this.#runDirCache.set(runId, dir);
    await this.#writeRunMeta(dir, info);
    await this.setTags(runId, { "mlflow.runName": runName, "mlflow.user": info.userId, ...(options.tags ?? {}) });
    return info;
  }

  /**
   * Writes a run's meta.yaml; `deletedTime` only for a deleted run (MLflow's `deleted_time`, which
   * its `gc` reads). `recorded`: the meta.yaml it replaces, whose artifact URI is kept as recorded,
   * never the one a moved store is read by (inMovedStore): a store mounted elsewhere for a while
   * must still read right where it came from.
   */
  async #writeRunMeta(dir: string, info: RunInfo, deletedTime?: number, recorded?: Record<string, unknown>): Promise<void> {
    const artifactUri = recorded?.["artifact_uri"];
    await writeYaml(join(dir, "meta.yaml"), {
      ...(deletedTime === undefined ? {} : { deleted_time: deletedTime }),
      artifact_uri: typeof artifactUri === "string" ? artifactUri : info.artifactUri,
      end_time: info.endTime,
      entry_point_name: "",
      experiment_id: info.experimentId,
      lifecycle_stage: info.lifecycleStage,
      run_id: info.runId,
      run_name: info.runName,
      source_name: "",
      source_type: 4,
      source_version: "",
      start_time: info.startTime,
      status: RUN_STATUS[info.status],
      tags: [],
      user_id: info.userId,
    });
  }

  async getRunInfo(runId: string): Promise<RunInfo> {
    return (await this.#readRun(runId)).info;
  }

  /** A run's folder, its meta.yaml as written, and the info read from it. */
  async #readRun(runId: string): Promise<{ dir: string; meta: Record<string, unknown>; info: RunInfo }> {
    const dir = await this.runDir(runId);
    const m = await readYaml(join(dir, "meta.yaml"));
    const info: RunInfo = {
      runId: String(m["run_id"]),
      runName: String(m["run_name"] ?? ""),
      experimentId: String(m["experiment_id"]),
      userId: String(m["user_id"] ?? ""),
      status: statusName(m["status"]),
      startTime: Number(m["start_time"]),
      endTime: m["end_time"] === null || m["end_time"] === undefined ? null : Number(m["end_time"]),
      // NB: the store may have moved since the run recorded its absolute path (see inMovedStore).
      artifactUri: await inMovedStore(String(m["artifact_uri"]), join(dir, "artifacts"), 2),
      lifecycleStage: String(m["lifecycle_stage"]),
    };
    return { dir, meta: m, info };
  }

  /** The run's artifacts folder on disk. */
  async artifactDir(runId: string): Promise<string> {
    const info = await this.getRunInfo(runId);
    return info.artifactUri.startsWith("file:") ? fileURLToPath(info.artifactUri) : info.artifactUri;
  }

  /** Ends a run with FINISHED, FAILED or KILLED. */
  async endRun(runId: string, status: Exclude<RunStatus, "RUNNING" | "SCHEDULED"> = "FINISHED"): Promise<RunInfo> {
    const { dir, meta, info: read } = await this.#readRun(runId);
    const info = { ...read, status, endTime: Date.now() };
    const deletedTime = meta["deleted_time"];
    await this.#writeRunMeta(dir, info, typeof deletedTime === "number" ? deletedTime : undefined, meta);
    return info;
  }

  /**
   * Marks a run deleted (lifecycle stage `deleted`, `deleted_time` now), as `mlflow runs delete`:
   * its files stay, searches leave it out, and `restoreRun` brings it back.
   */
  async deleteRun(runId: string): Promise<RunInfo> {
    const { dir, meta, info } = await this.#readRun(runId);
    checkRunStage(info, "delete");
    const deleted = { ...info, lifecycleStage: "deleted" };
    await this.#writeRunMeta(dir, deleted, Date.now(), meta);
    return deleted;
  }

  /** Brings a deleted run back (lifecycle stage `active`), as `mlflow runs restore`. */
  async restoreRun(runId: string): Promise<RunInfo> {
    const { dir, meta, info } = await this.#readRun(runId);
    checkRunStage(info, "restore");
    const restored = { ...info, lifecycleStage: "active" };
    await this.#writeRunMeta(dir, restored, undefined, meta);
    return restored;
  }

  /** Logs a param. Params are immutable: logging a key again with another value is an error. */
  async logParam(runId: string, key: string, value: unknown): Promise<void> {
    checkKey("param", key);
    const path = join(await this.runDir(runId), "params", key);
    const text = typeof value === "string" ? value : (JSON.stringify(value) ?? String(value));
    if (await isFile(path)) {
      const old = await readFile(path, "utf8");
      if (old === text) return;
      throw new StoreError(`Param "${key}" was already logged as ${JSON.stringify(old)}; params cannot change (tried ${JSON.stringify(text)}).`, {
        code: "INVALID_PARAMETER_VALUE",
      });
    }
    await writeAtomic(path, text);
  }

  async logParams(runId: string, params: Readonly<Record<string, unknown>>): Promise<void> {
    for (const [k, v] of Object.entries(params)) await this.logParam(runId, k, v);
  }

  /** Appends a metric point (`<timestamp_ms> <value> <step>`, integers for time and step). */
  async logMetric(runId: string, key: string, value: number, options: { step?: number; timestamp?: number } = {}): Promise<void> {
    checkKey("metric", key);
    // NB: NaN is a metric value MLflow takes (a file store writes "nan", SQL sets is_nan, REST sends "NaN").
    if (typeof value !== "number")
      throw new StoreError(`Metric "${key}" must be a number, got ${typeof value === "number" ? String(value) : JSON.stringify(value)}.`, {
        code: "INVALID_PARAMETER_VALUE",
      });
    const step = Math.trunc(options.step ?? 0);
    const timestamp = Math.trunc(options.timestamp ?? Date.now());
    const path = join(await this.runDir(runId), "metrics", key);
    await mkdir(join(path, ".."), { recursive: true });
    // NB: one small O_APPEND write per point, so concurrent loggers never interleave within a line.
    await appendFile(path, `${timestamp} ${formatMetric(value)} ${step}\n`);
  }

  async setTag(runId: string, key: string, value: string): Promise<void> {
    checkKey("tag", key);
    await writeAtomic(join(await this.runDir(runId), "tags", key), String(value));
  }

  async setTags(runId: string, tags: Readonly<Record<string, string>>): Promise<void> {
    for (const [k, v] of Object.entries(tags)) await this.setTag(runId, k, v);
  }

  /** A run with its params, latest metrics and tags. */
  async getRun(runId: string): Promise<Run> {
    const dir = await this.runDir(runId);
    const info = await this.getRunInfo(runId);
    const params: Record<string, string> = {};
    for (const key of await listKeyFiles(join(dir, "params"))) params[key] = await readFile(join(dir, "params", key), "utf8");
    const tags: Record<string, string> = {};
    for (const key of await listKeyFiles(join(dir, "tags"))) tags[key] = await readFile(join(dir, "tags", key), "utf8");
    const metrics: Record<string, MetricPoint> = {};
    for (const key of await listKeyFiles(join(dir, "metrics"))) {
      const history = await this.getMetricHistory(runId, key);
      const last = history.reduce<MetricPoint | undefined>(
        (best, p) => (!best || p.step > best.step || (p.step === best.step && p.timestamp >= best.timestamp) ? p : best),
        undefined,
      );
      if (last) metrics[key] = last;
    }
    return { info, params, metrics, tags, outputs: await readRunOutputs(dir) };
  }

  async getMetricHistory(runId: string, key: string): Promise<MetricPoint[]> {
    checkKey("metric", key);
    const text = await readFile(join(await this.runDir(runId), "metrics", key), "utf8").catch(() => "");
    return text
      .split("\n")
      .filter((l) => l.trim() !== "")
      .map((line) => {
        const [t, v, s] = line.trim().split(/\s+/);
        return { timestamp: Number(t), value: parseMetricValue(v), step: Number(s ?? 0) };
      });
  }

  /** The runs of some experiments (all active experiments when none given) in a view (active runs by default), newest first. */
  async searchRuns(options: SearchRunsOptions = {}): Promise<RunInfo[]> {
    const ids = options.experimentIds ?? (await this.listExperiments()).map((e) => e.experimentId);
    const out: RunInfo[] = [];
    for (const id of ids) {
      const expDir = join(this.root, id);
      if (!EXPERIMENT_ID.test(id) || !(await isDirectory(expDir))) throw new NotFoundError(`Experiment "${id}" does not exist.`);
      for (const entry of await readdir(expDir, { withFileTypes: true })) {
        if (entry.isDirectory() && RUN_ID.test(entry.name) && (await isFile(join(expDir, entry.name, "meta.yaml")))) {
          this.#runDirCache.set(entry.name, join(expDir, entry.name));
          let info: RunInfo;
          try {
            info = await this.getRunInfo(entry.name);
          } catch (error) {
            if (!options.onUnreadable || !(error instanceof Error)) throw error;
            options.onUnreadable(entry.name, error);
            continue;
          }
          if (inRunView(info.lifecycleStage, options.view)) out.push(info);
        }
      }
    }
    return out.sort((a, b) => b.startTime - a.startTime);
  }

  // MLflow 3 LoggedModels: `<experiment>/models/<model_id>/` with meta.yaml, params/, metrics/, tags/, artifacts/.

  #modelDirCache = new Map<string, string>();

  /** The folder of a LoggedModel, found in whichever experiment holds it. */
  async loggedModelDir(modelId: string): Promise<string> {
    if (typeof modelId !== "string" || !LOGGED_MODEL_ID.test(modelId))
      throw new NotFoundError(`"${modelId}" is not a LoggedModel id: MLflow 3 model ids are "m-" and 32 hexadecimal characters, as in models:/m-<id>.`);
    const cached = this.#modelDirCache.get(modelId);
    if (cached) return cached;
    for (const entry of await readdir(this.root, { withFileTypes: true })) {
      if (!entry.isDirectory() || !EXPERIMENT_ID.test(entry.name)) continue;
      const dir = join(this.root, entry.name, "models", modelId);
      if (await isFile(join(dir, "meta.yaml"))) {
        this.#modelDirCache.set(modelId, dir);
        return dir;
      }
    }
    throw new NotFoundError(`LoggedModel "${modelId}" is not in the store at ${this.root}. A run's models are listed by \`pipeserve runs show <run_id>\`.`);
  }

  /** A LoggedModel with its params, tags and metric points. */
  async getLoggedModel(modelId: string): Promise<LoggedModel> {
    return readLoggedModel(await this.loggedModelDir(modelId), isTempFile);
  }

  /**
   * The folder of a LoggedModel's files (its model directory), from its `artifact_location`.
   * @throws StoreError when that location is not a local folder (an `s3://` one, say).
   */
  async loggedModelArtifactDir(modelId: string): Promise<string> {
    const { artifactLocation } = await this.getLoggedModel(modelId);
    if (artifactLocation.startsWith("file:")) return fileURLToPath(artifactLocation);
    if (isAbsolute(artifactLocation)) return artifactLocation;
    throw new StoreError(
      `LoggedModel "${modelId}" keeps its files at ${artifactLocation}, which is not a local folder; pipeserve reads and writes models in local stores only.`,
      { code: "INVALID_PARAMETER_VALUE" },
    );
  }

  /** The LoggedModels of some experiments (all when none given), newest first. */
  async searchLoggedModels(options: { experimentIds?: string[] } = {}): Promise<LoggedModel[]> {
    const ids = options.experimentIds ?? (await this.listExperiments()).map((e) => e.experimentId);
    const out: LoggedModel[] = [];
    for (const id of ids) {
      if (!EXPERIMENT_ID.test(id) || !(await isDirectory(join(this.root, id)))) throw new NotFoundError(`Experiment "${id}" does not exist.`);
      const dir = join(this.root, id, "models");
      if (!(await isDirectory(dir))) continue;
      for (const entry of await readdir(dir, { withFileTypes: true })) {
        if (entry.isDirectory() && LOGGED_MODEL_ID.test(entry.name) && (await isFile(join(dir, entry.name, "meta.yaml")))) {
          this.#modelDirCache.set(entry.name, join(dir, entry.name));
          out.push(await readLoggedModel(join(dir, entry.name), isTempFile));
        }
      }
    }
    return out.sort((a, b) => b.creationTimestamp - a.creationTimestamp);
  }

  /**
   * The LoggedModel named `name` that a run logged, as MLflow 3 finds it for `runs:/<run_id>/<name>`
   * (a model of that name whose source run is this one; the newest READY one when there are
   * several, so a packaging that failed does not hide the model that succeeded), or undefined.
   * NB: the run's `outputs/` links are looked at first, then the metas of its experiment's models
   * (a model created without a link); metric files are never read.
   */
  async findRunLoggedModel(runId: string, name: string): Promise<LoggedModel | undefined> {
    const info = await this.getRunInfo(runId);
    const linked = (await this.getRunOutputs(runId)).map((o) => o.modelId);
    const dir = join(this.root, info.experimentId, "models");
    const ids = [...linked, ...(await readdir(dir).catch(() => [] as string[])).filter((id) => !linked.includes(id))];
    const found: Awaited<ReturnType<typeof readLoggedModelMeta>>[] = [];
    for (const id of ids) {
      if (!LOGGED_MODEL_ID.test(id) || !(await isFile(join(dir, id, "meta.yaml")))) continue;
      const meta = await readLoggedModelMeta(join(dir, id));
      if (meta.name === name && meta.sourceRunId === runId) found.push(meta);
    }
    const newest = found.sort((a, b) => b.creationTimestamp - a.creationTimestamp);
    const best = newest.find((m) => m.status === "READY") ?? newest[0];
    return best ? this.getLoggedModel(best.modelId) : undefined;
  }

  /**
   * Creates a LoggedModel (status PENDING, no files yet) in an experiment, with its params and tags,
   * as MLflow 3's `create_logged_model` does. Its files go to `loggedModelArtifactDir`; then
   * `finalizeLoggedModel` marks it READY.
   * @throws NotFoundError for an unknown experiment; StoreError for a name MLflow would refuse.
   */
  async createLoggedModel(experimentId: string, options: CreateLoggedModelOptions = {}): Promise<LoggedModel> {
    const name = checkLoggedModelName(options.name ?? "model");
    const experiment = await this.getExperiment(experimentId);
    if (experiment.experimentId !== experimentId) throw new NotFoundError(`Experiment "${experimentId}" does not exist.`);
    const modelId = newLoggedModelId();
    const dir = join(this.root, experimentId, "models", modelId);
    const now = Date.now();
    const model: LoggedModel = {
      modelId,
      name,
      experimentId,
      sourceRunId: options.sourceRunId ?? null,
      status: "PENDING",
      statusMessage: null,
      modelType: options.modelType ?? null,
      artifactLocation: `${experiment.artifactLocation.replace(/\/+$/, "")}/models/${modelId}/artifacts`,
      creationTimestamp: now,
      lastUpdatedTimestamp: now,
      params: { ...(options.params ?? {}) },
      tags: { ...(options.tags ?? {}) },
      metrics: [],
    };
    await Promise.all(["params", "metrics", "tags"].map((d) => mkdir(join(dir, d), { recursive: true })));
    for (const [k, v] of Object.entries(model.params)) await writeAtomic(join(dir, "params", checkKey("param", k)), String(v));
    for (const [k, v] of Object.entries(model.tags)) await writeAtomic(join(dir, "tags", checkKey("tag", k)), String(v));
    // NB: meta.yaml last: a folder without it is not a model to readers.
    await writeYaml(join(dir, "meta.yaml"), loggedModelMeta(model));
    this.#modelDirCache.set(modelId, dir);
    return model;
  }

  /** Sets a LoggedModel's final status (READY once its files are complete) and its last update time. */
  async finalizeLoggedModel(modelId: string, status: Extract<LoggedModelStatus, "READY" | "FAILED">, statusMessage?: string): Promise<LoggedModel> {
    const dir = await this.loggedModelDir(modelId);
    const model = { ...(await readLoggedModel(dir, isTempFile)), status, lastUpdatedTimestamp: Date.now() };
    if (statusMessage !== undefined) model.statusMessage = statusMessage;
    // NB: its location as recorded, never the one a moved store is read by (see #writeRunMeta).
    const recorded = (await readYaml(join(dir, "meta.yaml")))["artifact_location"];
    await writeYaml(join(dir, "meta.yaml"), loggedModelMeta({ ...model, artifactLocation: typeof recorded === "string" ? recorded : model.artifactLocation }));
    return model;
  }

  async setLoggedModelTag(modelId: string, key: string, value: string): Promise<void> {
    checkKey("tag", key);
    await writeAtomic(join(await this.loggedModelDir(modelId), "tags", key), String(value));
  }

  /** Appends a point to a LoggedModel's metric: `<timestamp_ms> <value> <step> <run_id>`, as MLflow 3 writes it. */
  async logLoggedModelMetric(modelId: string, key: string, point: { value: number; timestamp: number; step: number; runId?: string }): Promise<void> {
    checkKey("metric", key);
    const path = join(await this.loggedModelDir(modelId), "metrics", key);
    await mkdir(join(path, ".."), { recursive: true });
    const runId = point.runId === undefined ? "" : ` ${point.runId}`;
    await appendFile(path, `${Math.trunc(point.timestamp)} ${formatMetric(point.value)} ${Math.trunc(point.step)}${runId}\n`);
  }

  /** Links a run to a model it logged (`outputs/<model_id>/meta.yaml`), as MLflow 3's `log_outputs` does. */
  async logRunOutput(runId: string, output: RunModelOutput): Promise<void> {
    if (!LOGGED_MODEL_ID.test(output.modelId)) throw new StoreError(`"${output.modelId}" is not a LoggedModel id.`, { code: "INVALID_PARAMETER_VALUE" });
    await writeYaml(join(await this.runDir(runId), "outputs", output.modelId, "meta.yaml"), runOutputMeta(output));
  }

  /** The LoggedModels a run logged, by its `outputs/` links. */
  async getRunOutputs(runId: string): Promise<RunModelOutput[]> {
    return readRunOutputs(await this.runDir(runId));
  }
}

function safeUser(): string {
  try {
    return userInfo().username;
  } catch {
    return "unknown";
  }
}

/** Metric values as MLflow writes them (Python's float repr: `1.0`, `0.97`, `inf`, `nan`). */
function formatMetric(value: number): string {
  if (Number.isNaN(value)) return "nan";
  if (value === Infinity) return "inf";
  if (value === -Infinity) return "-inf";
  return Number.isInteger(value) && Math.abs(value) < 1e16 ? value.toFixed(1) : String(value);
}
