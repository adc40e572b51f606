import {
  type LoggedModel,
  type ModelVersion,
  type RegistryStore,
  StoreError,
  type TrackingStore,
  checkLoggedModelName,
  joinArtifactUri,
  checkFolderModelName,
  checkNewModelName,
  registryKindOf,
  registryUriFrom,
  trackingUriFrom,
} from "../store/index.js";
import { PackagingError } from "./errors.js";
import { registryTags } from "./registry-tags.js";

/** Where a logged model's files went, and under which ids. */
export interface LoggedModelFiles {
  modelId: string;
  /** Its `artifact_location` (`file://…` in local stores, `mlflow-artifacts:/…` on a tracking server). */
  artifactLocation: string;
  /** The registry tags of the files written (the digest of their `pipeline.json`). */
  registryTags: Record<string, string>;
}

/** The run tags MLflow 3 copies onto a LoggedModel it creates (who and what logged it). */
const SOURCE_TAG = /^mlflow\.(user|source\.)/;

/**
 * Checks, before anything is written, that `name` can name a registered model in the registry the
 * stores give (a folder registry's own limits too, as the registry is opened later).
 * @throws StoreError naming what the registry accepts.
 */
export function checkRegistrationName(name: string, trackingUri: string | undefined, registryUri: string | undefined): void {
  checkNewModelName(name);
  if (registryKindOf(trackingUriFrom(trackingUri), registryUri ?? registryUriFrom(undefined)) === "file") checkFolderModelName(name);
}

/**
 * Checks, before a run trains, that `artifactPath` can name an MLflow 3 LoggedModel (it is the
 * model's name, and the `<name>` of `runs:/<run_id>/<name>`).
 * @throws PackagingError naming the option and what MLflow accepts.
 */
export function checkModelName(artifactPath: string, option: string): string {
  try {
    return checkLoggedModelName(artifactPath);
  } catch (error) {
    if (!(error instanceof StoreError)) throw error;
    throw new PackagingError(`${option} ${JSON.stringify(artifactPath)} cannot name the logged model: ${error.message}`, {
      code: "INVALID_PIPELINE_ML",
      cause: error,
    });
  }
}

/**
 * Logs a model in a run as MLflow 3's `log_model` does: a LoggedModel named `name` in the run's
 * experiment (PENDING, with the run's params and source tags), the run's `outputs/<model_id>`
 * link, the run's step-0 metrics linked to the model (its metric files, with the run id), then
 * `write` puts the model directory at the LoggedModel's `artifacts/`, and the model is READY
 * (FAILED, and the error rethrown, if writing fails).
 *
 * NB: MLflow's FileStore also appends the linked metric points to the run's own metric files
 * again (the duplicate step-0 lines of the reference store); those lines carry nothing new, so
 * pipeserve leaves the run's files as training wrote them.
 */
export async function logModelInRun(
  store: TrackingStore,
  runId: string,
  name: string,
  write: (modelDir: string, loggedModel: { modelId: string; artifactLocation: string }) => Promise<void>,
): Promise<LoggedModelFiles> {
  const run = await store.getRun(runId);
  // NB: runs:/<run_id>/<name> must keep naming one model: models are immutable. One whose packaging
  // failed (FAILED, no files) does not count, so packaging into the run can be tried again.
  const existing = await store.findRunLoggedModel(runId, name);
  const taken =
    (existing !== undefined && existing.status !== "FAILED") || (await store.artifacts.localFolder(joinArtifactUri(run.info.artifactUri, name))) !== undefined;
  if (taken) {
    throw new PackagingError(
      `Run ${runId} already has a model named "${name}" (runs:/${runId}/${name}); models are immutable. Use another artifact path or run.`,
      {
        code: "MODEL_EXISTS",
      },
    );
  }
  const model = await store.createLoggedModel(run.info.experimentId, {
    name,
    sourceRunId: runId,
    params: run.params,
    tags: Object.fromEntries(Object.entries(run.tags).filter(([k]) => SOURCE_TAG.test(k))),
  });
  const { modelId, artifactLocation } = model;
  try {
    await store.logRunOutput(runId, { modelId, step: 0 });
    for (const key of Object.keys(run.metrics)) {
      for (const point of await store.getMetricHistory(runId, key)) {
        if (point.step === 0) await store.logLoggedModelMetric(modelId, key, { ...point, runId });
      }
    }
    const tags = await store.artifacts.writeFolder(artifactLocation, async (modelDir) => {
      await write(modelDir, { modelId, artifactLocation });
      return registryTags(modelDir);
    });
    await store.finalizeLoggedModel(modelId, "READY");
    return { modelId, artifactLocation, registryTags: tags };
  } catch (error) {
    await store.finalizeLoggedModel(modelId, "FAILED", (error as Error).message).catch(() => undefined);
    throw error;
  }
}

/** A JSON string as Python's `json.dumps` writes it (non-ASCII as `\uXXXX`). */
function pyString(text: string): string {
  return JSON.stringify(text).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/**
 * Registers a logged model as `mlflow.register_model("models:/<model_id>")` does: a version whose
 * `source` is `models:/<model_id>`, with its `model_id`, `run_id` and `storage_location` (the
 * artifact location) and pipeserve's digest tag; and the LoggedModel's `mlflow.modelVersions` tag
 * lists the version.
 */
export async function registerLoggedModel(
  store: TrackingStore,
  registry: RegistryStore,
  registeredName: string,
  runId: string,
  files: LoggedModelFiles,
): Promise<ModelVersion> {
  const mv = await registry.createVersion(registeredName, `models:/${files.modelId}`, {
    runId,
    modelId: files.modelId,
    storageLocation: files.artifactLocation,
    tags: files.registryTags,
  });
  const model: LoggedModel = await store.getLoggedModel(files.modelId);
  const versions = parseVersions(model.tags["mlflow.modelVersions"]);
  // NB: a tracking server's handler lists the version itself when it registers it; MLflow's client
  // then adds it again (the tag ends up with it twice); pipeserve lists each version once.
  if (versions.some((v) => v.name === mv.name && String(v.version) === String(mv.version))) return mv;
  versions.push({ name: mv.name, version: mv.version });
  const text = `[${versions.map((v) => `{"name": ${pyString(v.name)}, "version": ${v.version}}`).join(", ")}]`;
  await store.setLoggedModelTag(files.modelId, "mlflow.modelVersions", text);
  return mv;
}

function parseVersions(text: string | undefined): { name: string; version: number }[] {
  try {
    const value: unknown = JSON.parse(text ?? "[]");
    return Array.isArray(value) ? value.filter((v): v is { name: string; version: number } => typeof v?.name === "string") : [];
  } catch {
    return [];
  }
}
