import { randomUUID } from "node:crypto";
import { userInfo } from "node:os";
import { fileURLToPath } from "node:url";
import { LocalArtifactRepository } from "./artifact-repository.js";
import { NotFoundError, StoreError } from "./errors.js";
import type { CreateLoggedModelOptions, Experiment, MetricPoint, Run, RunInfo, RunStatus } from "./file-store.js";
import { RUN_STATUS } from "./file-store.js";
import { type SearchRunsOptions, checkRunStage, inRunView } from "./run-lifecycle.js";
import { checkKey } from "./fs-utils.js";
import { inMovedStore } from "./moved-store.js";
import {
  LOGGED_MODEL_ID,
  LOGGED_MODEL_STATUS,
  type LoggedModel,
  type LoggedModelMetric,
  type LoggedModelStatus,
  type RunModelOutput,
  checkLoggedModelName,
  newLoggedModelId,
} from "./logged-model.js";
import { type Db, defaultArtifactRoot, immediate, openMlflowDatabase, withRetry } from "./sql-database.js";
import type { TrackingStore } from "./tracking-store.js";

const RUN_ID = /^[0-9a-f]{32}$/;
const EXPERIMENT_ID = /^\d+$/;
/** MLflow's SQL store keeps ±infinity as ±DBL_MAX (`metrics.value` is NOT NULL and SQLite has no infinity literal). */
const DBL_MAX = 1.7976931348623157e308;

interface ExperimentRow {
  experiment_id: number;
  name: string;
  artifact_location: string | null;
  lifecycle_stage: string | null;
  creation_time: number | null;
  last_update_time: number | null;
}

interface RunRow {
  run_uuid: string;
  name: string | null;
  user_id: string | null;
  status: string | null;
  start_time: number | null;
  end_time: number | null;
  lifecycle_stage: string | null;
  artifact_uri: string | null;
  experiment_id: number;
}

interface LoggedModelRow {
  model_id: string;
  experiment_id: number;
  name: string;
  artifact_location: string;
  creation_timestamp_ms: number;
  last_updated_timestamp_ms: number;
  status: number;
  model_type: string | null;
  source_run_id: string | null;
  status_message: string | null;
  lifecycle_stage?: string | null;
}

function safeUser(): string {
  try {
    return userInfo().username;
  } catch {
    return "unknown";
  }
}

function runStatus(text: string | null): RunStatus {
  return text !== null && text in RUN_STATUS ? (text as RunStatus) : "FAILED";
}

function modelStatus(code: number): LoggedModelStatus {
  const entry = Object.entries(LOGGED_MODEL_STATUS).find(([, v]) => v === code);
  return (entry?.[0] as LoggedModelStatus | undefined) ?? "UNSPECIFIED";
}

/** A metric value as MLflow's SQL store writes it: NaN as 0 with is_nan, infinities clamped to ±DBL_MAX. */
function sqlMetric(value: number): { value: number; isNan: 0 | 1 } {
  if (Number.isNaN(value)) return { value: 0, isNan: 1 };
  if (value === Infinity) return { value: DBL_MAX, isNan: 0 };
  if (value === -Infinity) return { value: -DBL_MAX, isNan: 0 };
  return { value, isNan: 0 };
}

const metricOf = (r: { value: number; timestamp: number; step: number; is_nan: number }): MetricPoint => ({
  timestamp: Number(r.timestamp),
  value: r.is_nan ? Number.NaN : r.value,
  step: Number(r.step),
});

function pairs(rows: unknown[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const r of rows as { k: string; v: string | null }[]) out[r.k] = r.v ?? "";
  return out;
}

/**
 * A tracking store in MLflow's SQL schema (`sqlite:///path.db`), writing rows exactly as MLflow
 * 3.6's SqlAlchemyStore does, so MLflow reads what pipeserve logs and the other way round.
 * Artifacts are local folders under the experiments' `file://` artifact locations. Every write is
 * one transaction; several processes may log into one database at once.
 */
export class SqlTrackingStore implements TrackingStore {
  readonly kind = "sqlite" as const;
  readonly artifacts = new LocalArtifactRepository();
  readonly uri: string;
  /** The database file. */
  readonly path: string;
  readonly #db: Db;

  private constructor(uri: string, path: string, db: Db) {
    this.uri = uri;
    this.path = path;
    this.#db = db;
  }

  /** Opens (creating when `create` is not false) the database at `path`; see openMlflowDatabase. */
  static async open(uri: string, path: string, create = true): Promise<SqlTrackingStore> {
    return new SqlTrackingStore(uri, path, await openMlflowDatabase(path, create));
  }

  async close(): Promise<void> {
    if (this.#db.open) this.#db.close();
  }

  #read<T>(fn: (db: Db) => T): Promise<T> {
    return withRetry(this.path, () => fn(this.#db));
  }

  #write<T>(fn: (db: Db) => T): Promise<T> {
    return immediate(this.#db, this.path, () => fn(this.#db));
  }

  // Experiments.

  #experiment(row: ExperimentRow): Experiment {
    const tags = pairs(this.#db.prepare('SELECT "key" AS k, value AS v FROM experiment_tags WHERE experiment_id = ?').all(row.experiment_id));
    return {
      experimentId: String(row.experiment_id),
      name: row.name,
      artifactLocation: row.artifact_location ?? "",
      lifecycleStage: row.lifecycle_stage ?? "active",
      creationTime: Number(row.creation_time ?? 0),
      lastUpdateTime: Number(row.last_update_time ?? 0),
      tags,
    };
  }

  /** Every active experiment, oldest first. */
  async listExperiments(): Promise<Experiment[]> {
    return this.#read((db) =>
      (db.prepare("SELECT * FROM experiments WHERE lifecycle_stage = 'active' ORDER BY creation_time, experiment_id").all() as ExperimentRow[]).map((r) =>
        this.#experiment(r),
      ),
    );
  }

  async getExperimentByName(name: string): Promise<Experiment | undefined> {
    return this.#read((db) => {
      const row = db.prepare("SELECT * FROM experiments WHERE name = ? AND lifecycle_stage = 'active'").get(name) as ExperimentRow | undefined;
      return row && this.#experiment(row);
    });
  }

  /** The active experiment with this id or name. */
  async getExperiment(nameOrId: string): Promise<Experiment> {
    const found = await this.#read((db) => {
      const byId = EXPERIMENT_ID.test(nameOrId)
        ? (db.prepare("SELECT * FROM experiments WHERE experiment_id = ? AND lifecycle_stage = 'active'").get(Number(nameOrId)) as ExperimentRow | undefined)
        : undefined;
      const row = byId ?? (db.prepare("SELECT * FROM experiments WHERE name = ? AND lifecycle_stage = 'active'").get(nameOrId) as ExperimentRow | undefined);
      return row && this.#experiment(row);
    });
    if (found) return found;
    const all = await this.listExperiments();
    throw new NotFoundError(`No experiment named or numbered "${nameOrId}". Experiments: ${all.map((e) => `${e.name} (${e.experimentId})`).join(", ")}.`);
  }

  /**
   * The experiment with this name, created if missing with the next integer id and the artifact
   * location `<artifact root>/<id>`, as MLflow's SQL store numbers them.
   */
  async getOrCreateExperiment(name: string): Promise<Experiment> {
    if (typeof name !== "string" || name.trim() === "")
      throw new StoreError("An experiment name must be a non-empty string.", { code: "INVALID_PARAMETER_VALUE" });
    const existing = await this.getExperimentByName(name);
    if (existing) return existing;
    return this.#write((db) => {
      const row = db.prepare("SELECT * FROM experiments WHERE name = ?").get(name) as ExperimentRow | undefined;
      if (row && row.lifecycle_stage === "active") return this.#experiment(row);
      if (row) {
        throw new StoreError(
          `Experiment "${name}" (${row.experiment_id}) is deleted; MLflow keeps its name taken. Restore it (\`mlflow experiments restore --experiment-id ${row.experiment_id}\`) or choose another name.`,
          { code: "INVALID_PARAMETER_VALUE" },
        );
      }
      const id = (db.prepare("SELECT coalesce(max(experiment_id), -1) + 1 AS id FROM experiments").get() as { id: number }).id;
      const now = Date.now();
      db.prepare(
        "INSERT INTO experiments (experiment_id, name, artifact_location, lifecycle_stage, creation_time, last_update_time) VALUES (?, ?, ?, 'active', ?, ?)",
      ).run(id, name, `${defaultArtifactRoot(this.path)}/${id}`, now, now);
      return this.#experiment(db.prepare("SELECT * FROM experiments WHERE experiment_id = ?").get(id) as ExperimentRow);
    });
  }

  // Runs.

  #runRow(db: Db, runId: string): RunRow {
    if (typeof runId !== "string" || !RUN_ID.test(runId)) throw new NotFoundError(`"${runId}" is not a run id: run ids are 32 hexadecimal characters.`);
    const row = db.prepare("SELECT * FROM runs WHERE run_uuid = ?").get(runId) as RunRow | undefined;
    if (!row) throw new NotFoundError(`Run "${runId}" is not in the database ${this.path}. List runs with \`pipeserve runs list\`.`);
    return row;
  }

  #runInfo(row: RunRow): RunInfo {
    return {
      runId: row.run_uuid,
      runName: row.name ?? "",
      experimentId: String(row.experiment_id),
      userId: row.user_id ?? "",
      status: runStatus(row.status),
      startTime: Number(row.start_time ?? 0),
      endTime: row.end_time === null ? null : Number(row.end_time),
      artifactUri: row.artifact_uri ?? "",
      lifecycleStage: row.lifecycle_stage ?? "active",
    };
  }

  #setTag(db: Db, runId: string, key: string, value: string): void {
    checkKey("tag", key);
    db.prepare('INSERT INTO tags ("key", value, run_uuid) VALUES (?, ?, ?) ON CONFLICT ("key", run_uuid) DO UPDATE SET value = excluded.value').run(
      key,
      String(value),
      runId,
    );
    // NB: as MLflow does, the run's name follows its mlflow.runName tag.
    if (key === "mlflow.runName") db.prepare("UPDATE runs SET name = ? WHERE run_uuid = ?").run(String(value), runId);
  }

  /**
   * Starts a run (status RUNNING) in an experiment. As MLflow's SQL store writes it: source_type
   * `UNKNOWN` (the real source is in the `mlflow.source.*` tags), empty source and entry point.
   */
  async createRun(options: { experimentId?: string; runName?: string; tags?: Record<string, string>; userId?: string } = {}): Promise<RunInfo> {
    const experimentId = options.experimentId ?? "0";
    const runId = randomUUID().replaceAll("-", "");
    const runName = options.runName ?? `run-${runId.slice(0, 8)}`;
    const userId = options.userId ?? safeUser();
    const tags = { "mlflow.runName": runName, "mlflow.user": userId, ...(options.tags ?? {}) };
    for (const key of Object.keys(tags)) checkKey("tag", key);
    return this.#write((db) => {
      const exp = EXPERIMENT_ID.test(experimentId)
        ? (db.prepare("SELECT * FROM experiments WHERE experiment_id = ? AND lifecycle_stage = 'active'").get(Number(experimentId)) as
            | ExperimentRow
            | undefined)
        : undefined;
      if (!exp) throw new NotFoundError(`Experiment "${experimentId}" does not exist.`);
      db.prepare(
        `INSERT INTO runs (run_uuid, name, source_type, source_name, entry_point_name, user_id, status, start_time, end_time, source_version,
           lifecycle_stage, artifact_uri, experiment_id, deleted_time)
         VALUES (?, ?, 'UNKNOWN', '', '', ?, 'RUNNING', ?, NULL, '', 'active', ?, ?, NULL)`,
      ).run(runId, runName, userId, Date.now(), `${(exp.artifact_location ?? "").replace(/\/+$/, "")}/${runId}/artifacts`, exp.experiment_id);
      for (const [k, v] of Object.entries(tags)) this.#setTag(db, runId, k, v);
      return this.#runInfo(this.#runRow(db, runId));
    });
  }

  async getRunInfo(runId: string): Promise<RunInfo> {
    return this.#moved(await this.#read((db) => this.#runInfo(this.#runRow(db, runId))));
  }

  /**
   * A run's info with its artifact URI inside this store's artifact root when the database and its
   * `mlartifacts/` moved together since the run recorded its absolute path (see inMovedStore).
   */
  async #moved(info: RunInfo): Promise<RunInfo> {
    const own = fileURLToPath(`${defaultArtifactRoot(this.path)}/${info.experimentId}/${info.runId}/artifacts`);
    return { ...info, artifactUri: await inMovedStore(info.artifactUri, own, 2) };
  }

  /** A LoggedModel with its files inside this store's artifact root when they moved with the database (see inMovedStore). */
  async #movedModel(model: LoggedModel): Promise<LoggedModel> {
    const own = fileURLToPath(`${defaultArtifactRoot(this.path)}/${model.experimentId}/models/${model.modelId}/artifacts`);
    return { ...model, artifactLocation: await inMovedStore(model.artifactLocation, own, 3) };
  }

  /** Ends a run with FINISHED, FAILED or KILLED. */
  async endRun(runId: string, status: Exclude<RunStatus, "RUNNING" | "SCHEDULED"> = "FINISHED"): Promise<RunInfo> {
    return this.#write((db) => {
      this.#runRow(db, runId);
      db.prepare("UPDATE runs SET status = ?, end_time = ? WHERE run_uuid = ?").run(status, Date.now(), runId);
      return this.#runInfo(this.#runRow(db, runId));
    });
  }

  /** Marks a run deleted (`lifecycle_stage` 'deleted', `deleted_time` now), as `mlflow runs delete`; its rows and files stay. */
  async deleteRun(runId: string): Promise<RunInfo> {
    return this.#write((db) => {
      checkRunStage(this.#runInfo(this.#runRow(db, runId)), "delete");
      db.prepare("UPDATE runs SET lifecycle_stage = 'deleted', deleted_time = ? WHERE run_uuid = ?").run(Date.now(), runId);
      return this.#runInfo(this.#runRow(db, runId));
    });
  }

  /** Brings a deleted run back, as `mlflow runs restore`. */
  async restoreRun(runId: string): Promise<RunInfo> {
    return this.#write((db) => {
      checkRunStage(this.#runInfo(this.#runRow(db, runId)), "restore");
      db.prepare("UPDATE runs SET lifecycle_stage = 'active', deleted_time = NULL WHERE run_uuid = ?").run(runId);
      return this.#runInfo(this.#runRow(db, runId));
    });
  }

  /** Logs a param. Params are immutable: logging a key again with another value is an error. */
  async logParam(runId: string, key: string, value: unknown): Promise<void> {
    checkKey("param", key);
    const text = typeof value === "string" ? value : (JSON.stringify(value) ?? String(value));
    await this.#write((db) => {
      this.#runRow(db, runId);
      const old = db.prepare('SELECT value FROM params WHERE "key" = ? AND run_uuid = ?').get(key, runId) as { value: string } | undefined;
      if (old?.value === text) return;
      if (old) {
        throw new StoreError(`Param "${key}" was already logged as ${JSON.stringify(old.value)}; params cannot change (tried ${JSON.stringify(text)}).`, {
          code: "INVALID_PARAMETER_VALUE",
        });
      }
      db.prepare('INSERT INTO params ("key", value, run_uuid) VALUES (?, ?, ?)').run(key, text, runId);
    });
  }

  async logParams(runId: string, params: Readonly<Record<string, unknown>>): Promise<void> {
    for (const [k, v] of Object.entries(params)) await this.logParam(runId, k, v);
  }

  /**
   * Logs a metric point into `metrics` and keeps `latest_metrics` (the point of highest step, then
   * timestamp, then value) as MLflow does. A point logged twice is kept once (it is the primary key).
   */
  async logMetric(runId: string, key: string, value: number, options: { step?: number; timestamp?: number } = {}): Promise<void> {
    checkKey("metric", key);
    // NB: NaN is a metric value MLflow takes (a file store writes "nan", SQL sets is_nan, REST sends "NaN").
    if (typeof value !== "number")
      throw new StoreError(`Metric "${key}" must be a number, got ${typeof value === "number" ? String(value) : JSON.stringify(value)}.`, {
        code: "INVALID_PARAMETER_VALUE",
      });
    const step = Math.trunc(options.step ?? 0);
    const timestamp = Math.trunc(options.timestamp ?? Date.now());
    const m = sqlMetric(value);
    await this.#write((db) => {
      this.#runRow(db, runId);
      db.prepare('INSERT OR IGNORE INTO metrics ("key", value, timestamp, run_uuid, step, is_nan) VALUES (?, ?, ?, ?, ?, ?)').run(
        key,
        m.value,
        timestamp,
        runId,
        step,
        m.isNan,
      );
      const latest = db.prepare('SELECT value, timestamp, step, is_nan FROM latest_metrics WHERE "key" = ? AND run_uuid = ?').get(key, runId) as
        | { value: number; timestamp: number; step: number; is_nan: number }
        | undefined;
      const newer =
        !latest ||
        step > latest.step ||
        (step === latest.step && timestamp > latest.timestamp) ||
        (step === latest.step && timestamp === latest.timestamp && m.value > latest.value);
      if (newer) {
        db.prepare(
          `INSERT INTO latest_metrics ("key", value, timestamp, step, is_nan, run_uuid) VALUES (?, ?, ?, ?, ?, ?)
           ON CONFLICT ("key", run_uuid) DO UPDATE SET value = excluded.value, timestamp = excluded.timestamp, step = excluded.step, is_nan = excluded.is_nan`,
        ).run(key, m.value, timestamp, step, m.isNan, runId);
      }
    });
  }

  async setTag(runId: string, key: string, value: string): Promise<void> {
    checkKey("tag", key);
    await this.#write((db) => {
      this.#runRow(db, runId);
      this.#setTag(db, runId, key, value);
    });
  }

  async setTags(runId: string, tags: Readonly<Record<string, string>>): Promise<void> {
    for (const key of Object.keys(tags)) checkKey("tag", key);
    await this.#write((db) => {
      this.#runRow(db, runId);
      for (const [k, v] of Object.entries(tags)) this.#setTag(db, runId, k, v);
    });
  }

  /** A run with its params, latest metrics (`latest_metrics`), tags and LoggedModel outputs. */
  async getRun(runId: string): Promise<Run> {
    return this.#read((db) => {
      const info = this.#runInfo(this.#runRow(db, runId));
      const params = pairs(db.prepare('SELECT "key" AS k, value AS v FROM params WHERE run_uuid = ? ORDER BY "key"').all(runId));
      const tags = pairs(db.prepare('SELECT "key" AS k, value AS v FROM tags WHERE run_uuid = ? ORDER BY "key"').all(runId));
      const metrics: Record<string, MetricPoint> = {};
      const rows = db.prepare('SELECT "key", value, timestamp, step, is_nan FROM latest_metrics WHERE run_uuid = ? ORDER BY "key"').all(runId) as {
        key: string;
        value: number;
        timestamp: number;
        step: number;
        is_nan: number;
      }[];
      for (const r of rows) metrics[r.key] = metricOf(r);
      return { info, params, metrics, tags, outputs: this.#runOutputs(db, runId) };
    }).then(async (run) => ({ ...run, info: await this.#moved(run.info) }));
  }

  /** Every point of a metric, by timestamp then step. */
  async getMetricHistory(runId: string, key: string): Promise<MetricPoint[]> {
    checkKey("metric", key);
    return this.#read((db) => {
      this.#runRow(db, runId);
      const rows = db
        .prepare('SELECT value, timestamp, step, is_nan FROM metrics WHERE run_uuid = ? AND "key" = ? ORDER BY timestamp, step, rowid')
        .all(runId, key) as { value: number; timestamp: number; step: number; is_nan: number }[];
      return rows.map(metricOf);
    });
  }

  /** The runs of some experiments (all active experiments when none given) in a view (active runs by default), newest first. */
  async searchRuns(options: SearchRunsOptions = {}): Promise<RunInfo[]> {
    const ids = options.experimentIds ?? (await this.listExperiments()).map((e) => e.experimentId);
    return this.#read((db) => {
      const out: RunInfo[] = [];
      for (const id of ids) {
        this.#experimentRow(db, id);
        const rows = db.prepare("SELECT * FROM runs WHERE experiment_id = ?").all(Number(id)) as RunRow[];
        for (const r of rows) if (inRunView(r.lifecycle_stage ?? "active", options.view)) out.push(this.#runInfo(r));
      }
      return out.sort((a, b) => b.startTime - a.startTime || a.runId.localeCompare(b.runId));
    });
  }

  #experimentRow(db: Db, id: string): ExperimentRow {
    const row = EXPERIMENT_ID.test(id)
      ? (db.prepare("SELECT * FROM experiments WHERE experiment_id = ?").get(Number(id)) as ExperimentRow | undefined)
      : undefined;
    if (!row) throw new NotFoundError(`Experiment "${id}" does not exist.`);
    return row;
  }

  // MLflow 3 LoggedModels: logged_models, logged_model_params / _tags / _metrics, and `inputs` rows linking runs.

  #modelRow(db: Db, modelId: string): LoggedModelRow {
    if (typeof modelId !== "string" || !LOGGED_MODEL_ID.test(modelId))
      throw new NotFoundError(`"${modelId}" is not a LoggedModel id: MLflow 3 model ids are "m-" and 32 hexadecimal characters, as in models:/m-<id>.`);
    const row = db.prepare("SELECT * FROM logged_models WHERE model_id = ?").get(modelId) as LoggedModelRow | undefined;
    if (!row)
      throw new NotFoundError(`LoggedModel "${modelId}" is not in the database ${this.path}. A run's models are listed by \`pipeserve runs show <run_id>\`.`);
    // NB: as MLflow's get_logged_model: a deleted LoggedModel is not found (found by an audit: it still loaded).
    if ((row.lifecycle_stage ?? "active") !== "active")
      throw new NotFoundError(`LoggedModel "${modelId}" was deleted from the database ${this.path}.`, { data: { lifecycleStage: "deleted" } });
    return row;
  }

  #loggedModel(db: Db, row: LoggedModelRow): LoggedModel {
    const id = row.model_id;
    const metrics = (
      db
        .prepare(
          "SELECT metric_name, metric_value, metric_timestamp_ms, metric_step, run_id FROM logged_model_metrics WHERE model_id = ? ORDER BY metric_name, metric_timestamp_ms, metric_step, rowid",
        )
        .all(id) as { metric_name: string; metric_value: number | null; metric_timestamp_ms: number; metric_step: number; run_id: string }[]
    ).map(
      (r): LoggedModelMetric => ({
        key: r.metric_name,
        value: r.metric_value ?? Number.NaN,
        timestamp: Number(r.metric_timestamp_ms),
        step: Number(r.metric_step),
        runId: r.run_id || null,
      }),
    );
    return {
      modelId: id,
      name: row.name,
      experimentId: String(row.experiment_id),
      sourceRunId: row.source_run_id,
      status: modelStatus(row.status),
      statusMessage: row.status_message,
      modelType: row.model_type,
      artifactLocation: row.artifact_location,
      creationTimestamp: Number(row.creation_timestamp_ms),
      lastUpdatedTimestamp: Number(row.last_updated_timestamp_ms),
      params: pairs(db.prepare("SELECT param_key AS k, param_value AS v FROM logged_model_params WHERE model_id = ? ORDER BY param_key").all(id)),
      tags: pairs(db.prepare("SELECT tag_key AS k, tag_value AS v FROM logged_model_tags WHERE model_id = ? ORDER BY tag_key").all(id)),
      metrics,
    };
  }

  /** A LoggedModel with its params, tags and metric points. */
  async getLoggedModel(modelId: string): Promise<LoggedModel> {
    return this.#movedModel(await this.#read((db) => this.#loggedModel(db, this.#modelRow(db, modelId))));
  }

  /** The active LoggedModels of some experiments (all when none given), newest first. */
  async searchLoggedModels(options: { experimentIds?: string[] } = {}): Promise<LoggedModel[]> {
    const ids = options.experimentIds ?? (await this.listExperiments()).map((e) => e.experimentId);
    return this.#read((db) => {
      const out: LoggedModel[] = [];
      for (const id of ids) {
        this.#experimentRow(db, id);
        const rows = db
          .prepare("SELECT * FROM logged_models WHERE experiment_id = ? AND coalesce(lifecycle_stage, 'active') = 'active'")
          .all(Number(id)) as LoggedModelRow[];
        out.push(...rows.map((r) => this.#loggedModel(db, r)));
      }
      return out.sort((a, b) => b.creationTimestamp - a.creationTimestamp);
    });
  }

  /**
   * The LoggedModel named `name` whose source run is `runId` (as MLflow 3 finds it for
   * `runs:/<run_id>/<name>`): the newest READY one when there are several, else the newest.
   */
  async findRunLoggedModel(runId: string, name: string): Promise<LoggedModel | undefined> {
    return this.#read((db) => {
      this.#runRow(db, runId);
      const rows = db
        .prepare(
          "SELECT * FROM logged_models WHERE source_run_id = ? AND name = ? AND coalesce(lifecycle_stage, 'active') = 'active' ORDER BY creation_timestamp_ms DESC",
        )
        .all(runId, name) as LoggedModelRow[];
      const best = rows.find((r) => r.status === LOGGED_MODEL_STATUS.READY) ?? rows[0];
      return best && this.#loggedModel(db, best);
    }).then((model) => model && this.#movedModel(model));
  }

  /**
   * Creates a LoggedModel (status PENDING, integer 1 as MLflow writes it) with its params and tags;
   * its files go to `<experiment artifact location>/models/<model_id>/artifacts`.
   */
  async createLoggedModel(experimentId: string, options: CreateLoggedModelOptions = {}): Promise<LoggedModel> {
    const name = checkLoggedModelName(options.name ?? "model");
    const params = { ...(options.params ?? {}) };
    const tags = { ...(options.tags ?? {}) };
    for (const k of Object.keys(params)) checkKey("param", k);
    for (const k of Object.keys(tags)) checkKey("tag", k);
    const exp = await this.getExperiment(experimentId);
    if (exp.experimentId !== experimentId) throw new NotFoundError(`Experiment "${experimentId}" does not exist.`);
    const modelId = newLoggedModelId();
    return this.#write((db) => {
      const now = Date.now();
      db.prepare(
        `INSERT INTO logged_models (model_id, experiment_id, name, artifact_location, creation_timestamp_ms, last_updated_timestamp_ms, status,
           lifecycle_stage, model_type, source_run_id, status_message) VALUES (?, ?, ?, ?, ?, ?, ?, 'active', ?, ?, NULL)`,
      ).run(
        modelId,
        Number(experimentId),
        name,
        `${exp.artifactLocation.replace(/\/+$/, "")}/models/${modelId}/artifacts`,
        now,
        now,
        LOGGED_MODEL_STATUS.PENDING,
        options.modelType ?? null,
        options.sourceRunId ?? null,
      );
      const param = db.prepare("INSERT INTO logged_model_params (model_id, experiment_id, param_key, param_value) VALUES (?, ?, ?, ?)");
      for (const [k, v] of Object.entries(params)) param.run(modelId, Number(experimentId), k, String(v));
      const tag = db.prepare("INSERT INTO logged_model_tags (model_id, experiment_id, tag_key, tag_value) VALUES (?, ?, ?, ?)");
      for (const [k, v] of Object.entries(tags)) tag.run(modelId, Number(experimentId), k, String(v));
      return this.#loggedModel(db, this.#modelRow(db, modelId));
    });
  }

  /** Sets a LoggedModel's final status (READY once its files are complete) and its last update time. */
  async finalizeLoggedModel(modelId: string, status: Extract<LoggedModelStatus, "READY" | "FAILED">, statusMessage?: string): Promise<LoggedModel> {
    return this.#write((db) => {
      this.#modelRow(db, modelId);
      db.prepare("UPDATE logged_models SET status = ?, last_updated_timestamp_ms = ?, status_message = coalesce(?, status_message) WHERE model_id = ?").run(
        LOGGED_MODEL_STATUS[status],
        Date.now(),
        statusMessage ?? null,
        modelId,
      );
      return this.#loggedModel(db, this.#modelRow(db, modelId));
    });
  }

  async setLoggedModelTag(modelId: string, key: string, value: string): Promise<void> {
    checkKey("tag", key);
    await this.#write((db) => {
      const row = this.#modelRow(db, modelId);
      db.prepare(
        "INSERT INTO logged_model_tags (model_id, experiment_id, tag_key, tag_value) VALUES (?, ?, ?, ?) ON CONFLICT (model_id, tag_key) DO UPDATE SET tag_value = excluded.tag_value",
      ).run(modelId, row.experiment_id, key, String(value));
    });
  }

  /**
   * Records a point of a LoggedModel's metric. `logged_model_metrics.run_id` is NOT NULL and a
   * foreign key to `runs`: a point without `runId` is recorded under the model's source run.
   * @throws StoreError when neither exists.
   */
  async logLoggedModelMetric(modelId: string, key: string, point: { value: number; timestamp: number; step: number; runId?: string }): Promise<void> {
    checkKey("metric", key);
    await this.#write((db) => {
      const row = this.#modelRow(db, modelId);
      const runId = point.runId ?? row.source_run_id;
      if (!runId) {
        throw new StoreError(
          `A metric of LoggedModel "${modelId}" needs the run that logged it: MLflow's SQL schema records one for every point; pass runId.`,
          {
            code: "INVALID_PARAMETER_VALUE",
          },
        );
      }
      this.#runRow(db, runId);
      const value = Number.isNaN(point.value) ? null : sqlMetric(point.value).value;
      db.prepare(
        `INSERT INTO logged_model_metrics (model_id, metric_name, metric_timestamp_ms, metric_step, metric_value, experiment_id, run_id)
         VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (model_id, metric_name, metric_timestamp_ms, metric_step, run_id) DO UPDATE SET metric_value = excluded.metric_value`,
      ).run(modelId, key, Math.trunc(point.timestamp), Math.trunc(point.step), value, row.experiment_id, runId);
    });
  }

  #runOutputs(db: Db, runId: string): RunModelOutput[] {
    const rows = db
      .prepare(
        "SELECT destination_id, step FROM inputs WHERE source_type = 'RUN_OUTPUT' AND source_id = ? AND destination_type = 'MODEL_OUTPUT' ORDER BY destination_id",
      )
      .all(runId) as { destination_id: string; step: number }[];
    return rows.map((r) => ({ modelId: r.destination_id, step: Number(r.step) }));
  }

  /** Links a run to a model it logged: an `inputs` row (RUN_OUTPUT, run) → (MODEL_OUTPUT, model) with its step, as MLflow's SQL store writes it. */
  async logRunOutput(runId: string, output: RunModelOutput): Promise<void> {
    if (!LOGGED_MODEL_ID.test(output.modelId)) throw new StoreError(`"${output.modelId}" is not a LoggedModel id.`, { code: "INVALID_PARAMETER_VALUE" });
    await this.#write((db) => {
      this.#runRow(db, runId);
      db.prepare(
        `INSERT INTO inputs (input_uuid, source_type, source_id, destination_type, destination_id, step) VALUES (?, 'RUN_OUTPUT', ?, 'MODEL_OUTPUT', ?, ?)
         ON CONFLICT (source_type, source_id, destination_type, destination_id) DO UPDATE SET step = excluded.step`,
      ).run(randomUUID().replaceAll("-", ""), runId, output.modelId, Math.trunc(output.step));
    });
  }

  /** The LoggedModels a run logged, by its `inputs` rows. */
  async getRunOutputs(runId: string): Promise<RunModelOutput[]> {
    return this.#read((db) => {
      this.#runRow(db, runId);
      return this.#runOutputs(db, runId);
    });
  }
}
