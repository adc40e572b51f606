import { randomUUID } from "node:crypto";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { StoreError } from "./errors.js";
import { allInOrder, isDirectory, isFile, mapInOrder, readText, readYaml } from "./fs-utils.js";
import { inMovedStore } from "./moved-store.js";

/**
 * MLflow 3's LoggedModel statuses (`LoggedModelStatus`), as the integer its FileStore writes in
 * `meta.yaml`: a model is PENDING while its files are written, READY once complete.
 */
export const LOGGED_MODEL_STATUS = { UNSPECIFIED: 0, PENDING: 1, READY: 2, FAILED: 3 } as const;
export type LoggedModelStatus = keyof typeof LOGGED_MODEL_STATUS;

/**
 * A LoggedModel id as read from a store: `m-` then letters and digits. MLflow's FileStore and SQL
 * store write `m-<32 hex>`; other stores write ULIDs. NB: never a path separator or a dot, so an
 * id always names one folder.
 */
export const LOGGED_MODEL_ID = /^m-[0-9A-Za-z]{1,64}$/;

/** A new id as MLflow's FileStore makes one: `m-` and a uuid4 in hex. */
export function newLoggedModelId(): string {
  return `m-${randomUUID().replaceAll("-", "")}`;
}

/**
 * Characters MLflow 3 refuses in a LoggedModel name (`_validate_logged_model_name`): a name is also
 * the `<name>` of `runs:/<run_id>/<name>`, so it must be one path part.
 */
const BAD_NAME_CHARS = ["/", ":", ".", "%", '"', "'"];

/** @throws StoreError (INVALID_PARAMETER_VALUE) when MLflow would refuse the name. */
export function checkLoggedModelName(name: string): string {
  if (typeof name !== "string" || name === "" || BAD_NAME_CHARS.some((c) => name.includes(c))) {
    throw new StoreError(
      `Invalid LoggedModel name ${JSON.stringify(name)}: MLflow 3 names a logged model with one non-empty path part, without ${BAD_NAME_CHARS.map((c) => JSON.stringify(c)).join(", ")} (e.g. "model").`,
      { code: "INVALID_PARAMETER_VALUE" },
    );
  }
  return name;
}

/** One point of a LoggedModel's metric: `<timestamp_ms> <value> <step> <run_id>` in its file. */
export interface LoggedModelMetric {
  key: string;
  value: number;
  timestamp: number;
  step: number;
  /** The run that logged it (the 4th column), when the line has one. */
  runId: string | null;
}

/** An MLflow 3 LoggedModel (`mlruns/<experiment>/models/<model_id>/`): a model as an entity of its own. */
export interface LoggedModel {
  modelId: string;
  name: string;
  experimentId: string;
  /** The run that logged it, if any. */
  sourceRunId: string | null;
  status: LoggedModelStatus;
  statusMessage: string | null;
  modelType: string | null;
  /** Where its files (the model directory) are: a `file://` URI in a local store. */
  artifactLocation: string;
  creationTimestamp: number;
  lastUpdatedTimestamp: number;
  params: Record<string, string>;
  tags: Record<string, string>;
  /** Every point of every metric, by key then file order. */
  metrics: LoggedModelMetric[];
}

/** A run's link to a model it logged (`outputs/<model_id>/meta.yaml`). */
export interface RunModelOutput {
  modelId: string;
  step: number;
}

function statusName(code: unknown): LoggedModelStatus {
  if (typeof code === "string" && code in LOGGED_MODEL_STATUS) return code as LoggedModelStatus;
  const entry = Object.entries(LOGGED_MODEL_STATUS).find(([, v]) => v === code);
  return (entry?.[0] as LoggedModelStatus | undefined) ?? "UNSPECIFIED";
}

const orNull = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));

/** A metric value as Python writes it (`inf`, `-inf`, `nan`). */
export function parseMetricValue(text: string | undefined): number {
  const lower = text?.toLowerCase();
  if (lower === "inf" || lower === "+inf" || lower === "infinity") return Infinity;
  if (lower === "-inf" || lower === "-infinity") return -Infinity;
  return Number(text);
}

/** Reads the files of a folder of key files (`params/`, `tags/`): one file per key, `/` in a key a sub-folder. */
export async function readKeyFiles(dir: string, skip: (name: string) => boolean): Promise<Record<string, string>> {
  // NB: the files are listed first, then read side by side (a model's params, tags and metrics
  // are dozens of files: one at a time, each waited for its own trip to libuv's threads, they were
  // most of resolving a model), at most READS_AT_ONCE in all, kept in folder order.
  const files = await keyFilesIn(dir, skip, "");
  const values = await mapInOrder(files, (file) => readText(file.path));
  return Object.fromEntries(files.map((file, i) => [file.key, values[i] as string]));
}

/** The key files of a folder and its sub-folders, in folder order: each file's key and path. */
async function keyFilesIn(dir: string, skip: (name: string) => boolean, prefix: string): Promise<{ key: string; path: string }[]> {
  if (!(await isDirectory(dir))) return [];
  const files: { key: string; path: string }[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (skip(entry.name)) continue;
    if (entry.isDirectory()) files.push(...(await keyFilesIn(join(dir, entry.name), skip, `${prefix}${entry.name}/`)));
    else files.push({ key: `${prefix}${entry.name}`, path: join(dir, entry.name) });
  }
  return files;
}

async function readModelMetrics(dir: string, skip: (name: string) => boolean): Promise<LoggedModelMetric[]> {
  const files = await readKeyFiles(dir, skip);
  const out: LoggedModelMetric[] = [];
  for (const key of Object.keys(files).sort()) {
    for (const line of (files[key] as string).split("\n")) {
      if (line.trim() === "") continue;
      // NB: MLflow may add dataset columns after the run id; they are ignored here.
      const [t, v, s, runId] = line.trim().split(/\s+/);
      out.push({ key, value: parseMetricValue(v), timestamp: Number(t), step: Number(s ?? 0), runId: runId ?? null });
    }
  }
  return out;
}

/** Reads the LoggedModel in `dir` (`<experiment>/models/<model_id>/`). */
export async function readLoggedModel(dir: string, skip: (name: string) => boolean): Promise<LoggedModel> {
  const [meta, params, tags, metrics] = await allInOrder([
    readLoggedModelMeta(dir),
    readKeyFiles(join(dir, "params"), skip),
    readKeyFiles(join(dir, "tags"), skip),
    readModelMetrics(join(dir, "metrics"), skip),
  ]);
  return { ...meta, params, tags, metrics };
}

/** A LoggedModel's `meta.yaml` alone: enough to find one by name and run without reading its metric files. */
export async function readLoggedModelMeta(dir: string): Promise<Omit<LoggedModel, "params" | "tags" | "metrics">> {
  const m = await readYaml(join(dir, "meta.yaml"));
  return {
    modelId: String(m["model_id"]),
    name: String(m["name"] ?? ""),
    experimentId: String(m["experiment_id"]),
    sourceRunId: orNull(m["source_run_id"]),
    status: statusName(m["status"]),
    statusMessage: orNull(m["status_message"]),
    modelType: orNull(m["model_type"]),
    // NB: the store may have moved since the model recorded its absolute path (see inMovedStore).
    artifactLocation: await inMovedStore(String(m["artifact_location"]), join(dir, "artifacts"), 3),
    creationTimestamp: Number(m["creation_timestamp"]),
    lastUpdatedTimestamp: Number(m["last_updated_timestamp"]),
  };
}

/** A LoggedModel's `meta.yaml`, with the keys MLflow 3.6's FileStore writes (the tags, params and metrics have folders). */
export function loggedModelMeta(model: Omit<LoggedModel, "params" | "tags" | "metrics">): Record<string, unknown> {
  return {
    artifact_location: model.artifactLocation,
    creation_timestamp: model.creationTimestamp,
    experiment_id: model.experimentId,
    last_updated_timestamp: model.lastUpdatedTimestamp,
    model_id: model.modelId,
    model_type: model.modelType,
    name: model.name,
    source_run_id: model.sourceRunId,
    status: LOGGED_MODEL_STATUS[model.status],
    status_message: model.statusMessage,
  };
}

/** The link file a run gets for a model it logged, as MLflow 3.6 writes it (source and destination both name the model). */
export function runOutputMeta(output: RunModelOutput): Record<string, unknown> {
  return {
    destination_id: output.modelId,
    destination_type: "MODEL_OUTPUT",
    source_id: output.modelId,
    source_type: "RUN_OUTPUT",
    step: output.step,
    tags: {},
  };
}

/** The models a run logged, from its `outputs/<model_id>/meta.yaml` files. */
export async function readRunOutputs(runDir: string): Promise<RunModelOutput[]> {
  const dir = join(runDir, "outputs");
  if (!(await isDirectory(dir))) return [];
  const out: RunModelOutput[] = [];
  for (const entry of (await readdir(dir)).sort()) {
    const meta = join(dir, entry, "meta.yaml");
    if (!(await isFile(meta))) continue;
    const m = await readYaml(meta);
    if (m["destination_type"] !== "MODEL_OUTPUT") continue;
    out.push({ modelId: String(m["destination_id"] ?? entry), step: Number(m["step"] ?? 0) });
  }
  return out;
}
