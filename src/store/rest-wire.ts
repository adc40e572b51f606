/**
 * MLflow's REST messages (proto3 JSON, as `mlflow server` writes them) and their reading into
 * pipeserve's store types. Proto3 JSON leaves out empty repeated fields and unset messages, so
 * every list and most fields may be missing; ids and model versions are strings, int64 times numbers.
 */
import type { Experiment, MetricPoint, RunInfo, RunStatus } from "./file-store.js";
import { LOGGED_MODEL_ID, type LoggedModel, type LoggedModelMetric, type LoggedModelStatus } from "./logged-model.js";
import type { ModelVersion, RegisteredModel } from "./model-registry.js";

export interface WireTag {
  key: string;
  value?: string;
}

export interface WireExperiment {
  experiment_id: string;
  name: string;
  artifact_location?: string;
  lifecycle_stage?: string;
  creation_time?: number;
  last_update_time?: number;
  tags?: WireTag[];
}

export interface WireRunInfo {
  run_id?: string;
  run_uuid?: string;
  run_name?: string;
  experiment_id: string;
  user_id?: string;
  status?: string;
  start_time?: number;
  end_time?: number;
  artifact_uri?: string;
  lifecycle_stage?: string;
}

export interface WireMetric {
  key: string;
  value?: number | string;
  timestamp?: number;
  step?: number;
  run_id?: string;
  model_id?: string;
}

export interface WireRun {
  info: WireRunInfo;
  data?: { metrics?: WireMetric[]; params?: WireTag[]; tags?: WireTag[] };
  outputs?: { model_outputs?: { model_id: string; step?: number }[] };
}

export interface WireLoggedModel {
  info: {
    model_id: string;
    experiment_id: string;
    name?: string;
    creation_timestamp_ms?: number;
    last_updated_timestamp_ms?: number;
    artifact_uri?: string;
    status?: string;
    status_message?: string;
    model_type?: string;
    source_run_id?: string;
    tags?: WireTag[];
  };
  data?: { params?: WireTag[]; metrics?: WireMetric[] };
}

export interface WireModelVersion {
  name: string;
  version: string;
  creation_timestamp?: number;
  last_updated_timestamp?: number;
  user_id?: string;
  current_stage?: string;
  description?: string;
  source?: string;
  run_id?: string;
  status?: string;
  status_message?: string;
  tags?: WireTag[];
  run_link?: string;
  aliases?: string[];
  model_id?: string;
  storage_location?: string;
}

export interface WireRegisteredModel {
  name: string;
  creation_timestamp?: number;
  last_updated_timestamp?: number;
  description?: string;
  latest_versions?: WireModelVersion[];
  tags?: WireTag[];
  aliases?: { alias: string; version: string }[];
}

/** A `{key: value}` record as MLflow's `[{key, value}]` list (empty: left out, as proto3 JSON). */
export function toWireTags(record: Readonly<Record<string, unknown>> | undefined): WireTag[] | undefined {
  const list = Object.entries(record ?? {}).map(([key, value]) => ({ key, value: String(value) }));
  return list.length === 0 ? undefined : list;
}

export function fromWireTags(list: readonly WireTag[] | undefined): Record<string, string> {
  return Object.fromEntries((list ?? []).map((t) => [t.key, t.value ?? ""]));
}

/** A double as proto3 JSON writes it: NaN and ±Infinity as strings. */
export function toWireDouble(value: number): number | string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "Infinity";
  if (value === -Infinity) return "-Infinity";
  return value;
}

export function fromWireDouble(value: number | string | undefined): number {
  if (typeof value === "number") return value;
  if (value === "Infinity") return Infinity;
  if (value === "-Infinity") return -Infinity;
  return Number(value ?? Number.NaN);
}

export function experimentOf(e: WireExperiment): Experiment {
  return {
    experimentId: String(e.experiment_id),
    name: e.name,
    artifactLocation: e.artifact_location ?? "",
    lifecycleStage: e.lifecycle_stage ?? "active",
    creationTime: Number(e.creation_time ?? 0),
    lastUpdateTime: Number(e.last_update_time ?? 0),
    tags: fromWireTags(e.tags),
  };
}

const RUN_STATUSES: readonly RunStatus[] = ["RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED"];

export function runInfoOf(info: WireRunInfo): RunInfo {
  const status = RUN_STATUSES.find((s) => s === info.status) ?? "FAILED";
  return {
    runId: info.run_id ?? info.run_uuid ?? "",
    runName: info.run_name ?? "",
    experimentId: String(info.experiment_id),
    userId: info.user_id ?? "",
    status,
    startTime: Number(info.start_time ?? 0),
    endTime: info.end_time === undefined || info.end_time === null ? null : Number(info.end_time),
    artifactUri: info.artifact_uri ?? "",
    lifecycleStage: info.lifecycle_stage ?? "active",
  };
}

export function metricPointOf(m: WireMetric): MetricPoint {
  return { timestamp: Number(m.timestamp ?? 0), value: fromWireDouble(m.value), step: Number(m.step ?? 0) };
}

/** `LOGGED_MODEL_READY` → `READY`; MLflow's wire name for FAILED is `LOGGED_MODEL_UPLOAD_FAILED`. */
function loggedModelStatusOf(status: string | undefined): LoggedModelStatus {
  const name = (status ?? "").replace(/^LOGGED_MODEL_/, "");
  if (name === "UPLOAD_FAILED") return "FAILED";
  return name === "PENDING" || name === "READY" ? name : "UNSPECIFIED";
}

/** A status as MLflow's REST API spells it: `READY` → `LOGGED_MODEL_READY`, `FAILED` → `LOGGED_MODEL_UPLOAD_FAILED`. */
export function wireLoggedModelStatus(status: LoggedModelStatus): string {
  return status === "FAILED" ? "LOGGED_MODEL_UPLOAD_FAILED" : `LOGGED_MODEL_${status}`;
}

export function loggedModelOf(model: WireLoggedModel): LoggedModel {
  const { info } = model;
  const metrics: LoggedModelMetric[] = (model.data?.metrics ?? []).map((m) => ({
    key: m.key,
    value: fromWireDouble(m.value),
    timestamp: Number(m.timestamp ?? 0),
    step: Number(m.step ?? 0),
    runId: m.run_id || null,
  }));
  // NB: by key, then as the server listed them: the file store's order.
  const byKey = metrics.map((m, i) => [m, i] as const).sort(([a, i], [b, j]) => (a.key < b.key ? -1 : a.key > b.key ? 1 : i - j));
  return {
    modelId: info.model_id,
    name: info.name ?? "",
    experimentId: String(info.experiment_id),
    sourceRunId: info.source_run_id || null,
    status: loggedModelStatusOf(info.status),
    statusMessage: info.status_message || null,
    modelType: info.model_type || null,
    artifactLocation: info.artifact_uri ?? "",
    creationTimestamp: Number(info.creation_timestamp_ms ?? 0),
    lastUpdatedTimestamp: Number(info.last_updated_timestamp_ms ?? info.creation_timestamp_ms ?? 0),
    params: fromWireTags(model.data?.params),
    tags: fromWireTags(info.tags),
    metrics: byKey.map(([m]) => m),
  };
}

export function modelVersionOf(mv: WireModelVersion): ModelVersion {
  // NB: a SQL-backed server answers without model_id (its registry has no such column); the source names it.
  const fromSource = /^models:\/+([^/@]+)\/?$/.exec(mv.source ?? "")?.[1];
  const modelId = mv.model_id || (fromSource !== undefined && LOGGED_MODEL_ID.test(fromSource) ? fromSource : undefined);
  return {
    name: mv.name,
    version: Number(mv.version),
    source: mv.source ?? "",
    runId: mv.run_id ?? "",
    status: mv.status ?? "READY",
    creationTimestamp: Number(mv.creation_timestamp ?? 0),
    lastUpdatedTimestamp: Number(mv.last_updated_timestamp ?? 0),
    userId: mv.user_id ?? "",
    description: mv.description ?? "",
    aliases: [...(mv.aliases ?? [])],
    tags: fromWireTags(mv.tags),
    ...(modelId ? { modelId } : {}),
    ...(mv.storage_location ? { storageLocation: mv.storage_location } : {}),
  };
}

export function registeredModelOf(rm: WireRegisteredModel): RegisteredModel {
  const versions = (rm.latest_versions ?? []).map((v) => Number(v.version)).filter((n) => Number.isInteger(n));
  return {
    name: rm.name,
    description: rm.description ?? "",
    creationTimestamp: Number(rm.creation_timestamp ?? 0),
    lastUpdatedTimestamp: Number(rm.last_updated_timestamp ?? 0),
    aliases: Object.fromEntries((rm.aliases ?? []).map((a) => [a.alias, Number(a.version)])),
    tags: fromWireTags(rm.tags),
    latestVersion: versions.length === 0 ? undefined : Math.max(...versions),
  };
}
