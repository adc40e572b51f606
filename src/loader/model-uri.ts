import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { isAbsolute, join, normalize, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import {
  LOGGED_MODEL_ID,
  NotFoundError,
  PIPELINE_SHA256_TAG,
  type TrackingStore,
  extractModelArchive,
  joinArtifactUri,
  openRegistryStore,
  openTrackingStore,
  registryUriFrom,
  trackingUriFrom,
} from "../store/index.js";
import { ModelLoadError } from "./errors.js";

/** Where a model URI led. */
export interface ResolvedModel {
  /** The model directory on disk. */
  dir: string;
  uri: string;
  registeredName?: string;
  version?: number;
  runId?: string;
  /** The MLflow 3 LoggedModel the directory belongs to (`models:/<model_id>`), when it is one. */
  modelId?: string;
  /** For a registered version: the sha256 of `pipeline.json` its registry tag records, when it has one. */
  registeredPipelineSha256?: string;
  /** Removes what resolving created (an extracted archive). */
  cleanup(): Promise<void>;
}

export interface ResolveOptions {
  /** The run store (`--tracking-uri`); `MLFLOW_TRACKING_URI`, then `./mlruns`, by default. */
  trackingUri?: string;
  /** The model registry (`--registry-uri`); `MLFLOW_REGISTRY_URI`, then the tracking URI, by default. */
  registryUri?: string;
  /** The most a `.tar.gz` model may extract to; `PIPESERVE_MAX_EXTRACT_SIZE`, then 2 GB, by default. */
  maxExtractBytes?: number;
  /** Load the model of a deleted run (`--allow-deleted`); refused by default, as a deleted run is one someone meant to retire. */
  allowDeleted?: boolean;
}

type Resolver = (uri: string, options: ResolveOptions) => Promise<ResolvedModel>;

const noCleanup = async (): Promise<void> => {};

function safeSubpath(path: string, uri: string): string {
  const clean = normalize(path).replace(/^[/\\]+/, "");
  if (clean === "" || clean.split(/[/\\]/).includes("..") || isAbsolute(clean)) {
    throw new ModelLoadError(`Invalid artifact path in ${uri}: use a path inside the run's artifacts, like runs:/<run_id>/model.`, { code: "INVALID_URI" });
  }
  return clean;
}

async function checkDir(dir: string, uri: string): Promise<string> {
  const found = await stat(dir).catch(() => undefined);
  if (found?.isDirectory()) return dir;
  if (found) {
    // NB: a data file given as -m (a common slip: `-m input.csv`) is said to be one, not "missing".
    throw new ModelLoadError(
      `${uri} is a file, not a model: a model is a folder holding MLmodel (made by \`pipeserve run\`), a models:/ or runs:/ URI, or a .tar.gz from \`pipeserve export\`. Data to predict goes to \`pipeserve predict -i\`.`,
      { code: "MODEL_NOT_FOUND" },
    );
  }
  throw new ModelLoadError(`${uri} resolves to ${dir}, which is not a model directory (it does not exist).`, { code: "MODEL_NOT_FOUND" });
}

/** "latest" in a models:/ URI, in any case, as MLflow's _parse_model_uri reads it (a pattern's source). */
const LATEST = "[Ll][Aa][Tt][Ee][Ss][Tt]";
/** `models:/NAME/VERSION`, `models:/NAME/latest` or `models:/NAME@ALIAS`. */
const REGISTERED_URI = new RegExp(`^models:/+([^/@]+)(?:/([1-9]\\d*|${LATEST})|@([^/]+))/?$`);
/** The registered URIs that move as the registry changes: `models:/NAME/latest` and `models:/NAME@ALIAS`. */
const MOVING_URI = new RegExp(`^models:/+([^/@]+)(?:/(${LATEST})|@([^/]+))/?$`);

/** Refuses the model of a deleted run unless `allowDeleted`, naming the run and both ways on. */
function checkRunNotDeleted(run: { runId: string; lifecycleStage: string }, uri: string, options: ResolveOptions): void {
  if (run.lifecycleStage !== "deleted" || options.allowDeleted) return;
  throw new ModelLoadError(
    `${uri} belongs to run ${run.runId}, which was deleted. Restore it with \`pipeserve runs restore ${run.runId}\`, or pass --allow-deleted to load it anyway.`,
    { code: "RUN_DELETED" },
  );
}

/** Runs `fn` with the tracking store of `options`, closed afterwards. */
async function withTrackingStore<T>(options: ResolveOptions, fn: (store: TrackingStore) => Promise<T>): Promise<T> {
  const store = await openTrackingStore(trackingUriFrom(options.trackingUri));
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

/** The local folder of the artifacts at `uri` in `store`, or the MODEL_NOT_FOUND error naming both. */
async function storedFolder(store: TrackingStore, artifactUri: string, uri: string): Promise<string> {
  const dir = await store.artifacts.localFolder(artifactUri);
  if (dir === undefined) {
    throw new ModelLoadError(`${uri} resolves to ${artifactUri}, which is not a model directory (it does not exist).`, { code: "MODEL_NOT_FOUND" });
  }
  return dir;
}

/**
 * `runs:/<run_id>/<path>`: the run's artifacts at `<path>` (a model logged as run artifacts, as
 * MLflow 2 and older pipeserve did); failing that, as MLflow 3 reads it, the LoggedModel that the
 * run logged under the name `<path>`'s first part, and the rest of `<path>` inside its files.
 */
const resolveRun: Resolver = async (uri, options) => {
  const m = /^runs:\/+([^/]+)\/(.+)$/.exec(uri);
  if (!m)
    throw new ModelLoadError(`Invalid run URI ${JSON.stringify(uri)}: write runs:/<run_id>/<artifact_path>, e.g. runs:/0a1b…/model.`, { code: "INVALID_URI" });
  const [, runId, path] = m as unknown as [string, string, string];
  // NB: the path is checked before the store is asked, so a malformed URI never reads as "no such run".
  const subpath = safeSubpath(path, uri);
  return withTrackingStore(options, async (store) => {
    const run = await store.getRunInfo(runId);
    checkRunNotDeleted(run, uri, options);
    const parts = subpath.split(/[/\\]/);
    const asRunArtifacts = joinArtifactUri(run.artifactUri, ...parts);
    const dir = await store.artifacts.localFolder(asRunArtifacts);
    if (dir !== undefined) return { dir, uri, runId, cleanup: noCleanup };
    const [name, ...rest] = parts as [string, ...string[]];
    const logged = await store.findRunLoggedModel(runId, name);
    if (logged) await checkLoggedModelWhole(store, logged, uri);
    if (logged) {
      const modelDir = await storedFolder(store, joinArtifactUri(logged.artifactLocation, ...rest), uri);
      return { dir: modelDir, uri, runId, modelId: logged.modelId, cleanup: noCleanup };
    }
    if (run.status !== "FINISHED") throw await runWithoutModel(store, run, uri);
    return { dir: await storedFolder(store, asRunArtifacts, uri), uri, runId, cleanup: noCleanup };
  });
};

/** Why a run that did not finish has no model: it failed (with its error), was stopped, or is still running. */
async function runWithoutModel(store: TrackingStore, run: { runId: string; status: string }, uri: string): Promise<ModelLoadError> {
  const see = `See \`pipeserve runs show ${run.runId}\`.`;
  if (run.status === "RUNNING" || run.status === "SCHEDULED")
    return new ModelLoadError(`${uri}: run ${run.runId} is still running; its model appears once it has trained and packaged it. ${see}`, {
      code: "MODEL_NOT_FOUND",
    });
  // NB: the error `pipeserve run` recorded on the run, when it did.
  const error = (await store.getRun(run.runId).catch(() => undefined))?.tags["pipeserve.error"];
  const how = run.status === "FAILED" ? `failed${error ? ` (${error})` : ""}` : `was stopped (${run.status})`;
  return new ModelLoadError(`${uri}: run ${run.runId} ${how} before it packaged a model, so it has none. ${see}`, { code: "MODEL_NOT_FOUND" });
}

/**
 * Refuses a LoggedModel whose packaging failed, or has not finished and left no files, naming its
 * run and what to do. NB: found by an audit: only `runs:/` checked, so `models:/m-<id>` and a
 * registered version of a FAILED model loaded whatever files it had.
 */
async function checkLoggedModelWhole(
  store: TrackingStore,
  logged: { modelId: string; name: string; status?: string; statusMessage?: string | null; sourceRunId?: string | null; artifactLocation: string },
  uri: string,
): Promise<void> {
  const run = logged.sourceRunId ? `run ${logged.sourceRunId}` : "its run";
  if (logged.status === "FAILED")
    throw new ModelLoadError(
      `${uri}: ${run} began packaging the model "${logged.name}" (${logged.modelId}), and that failed${logged.statusMessage ? `: ${logged.statusMessage}` : ""}. Train it again with \`pipeserve run\`.`,
      { code: "MODEL_NOT_FOUND" },
    );
  if (logged.status === "PENDING" && (await store.artifacts.localFolder(logged.artifactLocation)) === undefined)
    throw new ModelLoadError(
      `${uri}: the model "${logged.name}" (${logged.modelId}) of ${run} is not whole yet: its packaging has not finished, or was stopped. Load it once \`pipeserve run\` has ended, or train it again.`,
      { code: "MODEL_NOT_FOUND" },
    );
}

/** `models:/<model_id>`: an MLflow 3 LoggedModel's files (`<experiment>/models/<model_id>/artifacts`). */
async function resolveLoggedModel(uri: string, modelId: string, options: ResolveOptions): Promise<ResolvedModel> {
  return withTrackingStore(options, async (store) => {
    const model = await store.getLoggedModel(modelId);
    await checkLoggedModelWhole(store, model, uri);
    if (model.sourceRunId) await checkStoredRunNotDeleted(store, model.sourceRunId, uri, options);
    const dir = await storedFolder(store, model.artifactLocation, uri);
    return { dir, uri, modelId, ...(model.sourceRunId ? { runId: model.sourceRunId } : {}), cleanup: noCleanup };
  });
}

/** The id in `models:/<model_id>`, MLflow 3's URI of a LoggedModel (a registered model always has a version or alias after its name). */
function loggedModelIdOf(uri: string): string | undefined {
  const m = /^models:\/+([^/@]+)\/?$/.exec(uri);
  return m && LOGGED_MODEL_ID.test(m[1] as string) ? m[1] : undefined;
}

/**
 * Refuses `uri` when `runId` is a deleted run of `store`, unless `allowDeleted`. A run the store
 * does not hold is not refused: its model or version may have been copied in alone.
 */
async function checkStoredRunNotDeleted(store: TrackingStore, runId: string, uri: string, options: ResolveOptions): Promise<void> {
  if (options.allowDeleted) return;
  const run = await store.getRunInfo(runId).catch((error: unknown) => (error instanceof NotFoundError ? undefined : Promise.reject(error)));
  if (run) checkRunNotDeleted(run, uri, options);
}

/**
 * Refuses a registered version whose run was deleted. A run missing from the tracking store is
 * not refused (the version may have been copied alone), nor is a missing store created to look
 * (found by a review: loading such a version made ./mlruns, or failed where it could not).
 */
async function checkVersionRunNotDeleted(runId: string, uri: string, options: ResolveOptions): Promise<void> {
  const store = await openTrackingStore(trackingUriFrom(options.trackingUri), { create: false }).catch((error: unknown) =>
    error instanceof NotFoundError ? undefined : Promise.reject(error),
  );
  if (!store) return;
  try {
    await checkStoredRunNotDeleted(store, runId, uri, options);
  } finally {
    await store.close();
  }
}

/**
 * Where a registered version's files are: its `source` (a run, a path or `file://` URI, a tracking
 * server's `mlflow-artifacts:` URI, or, as `mlflow.register_model` records it,
 * `models:/<model_id>`); for a LoggedModel missing from this tracking store, the version's
 * `storage_location` when it is a local folder. A version whose run was deleted is refused
 * unless `allowDeleted`.
 */
async function resolveVersionSource(
  mv: { version: number; source: string; storageLocation?: string; runId?: string },
  name: string,
  options: ResolveOptions,
): Promise<ResolvedModel> {
  const modelId = loggedModelIdOf(mv.source);
  const uri = `models:/${name}/${mv.version}`;
  if (modelId !== undefined) {
    try {
      return await resolveLoggedModel(mv.source, modelId, options);
    } catch (error) {
      const location = mv.storageLocation;
      // NB: a LoggedModel this store does not hold is read from the version's storage location; one
      // it holds as deleted is not (found by a review), nor one whose run was deleted.
      const deleted = (error as NotFoundError).data as { lifecycleStage?: string } | undefined;
      if (!(error instanceof NotFoundError) || deleted?.lifecycleStage === "deleted" || !location?.startsWith("file:")) throw error;
      if (!options.allowDeleted && mv.runId) await checkVersionRunNotDeleted(mv.runId, uri, options);
      return { ...(await resolvePath(location, options)), modelId };
    }
  }
  // NB: found by an audit: a version registered from a run's files (a folder, `file://`,
  // `mlflow-artifacts:`) loaded after its run was deleted, though `runs delete` says it will not.
  // A `runs:/` or `models:/m-` source is checked where it is resolved.
  if (!options.allowDeleted && mv.runId && !mv.source.startsWith("runs:")) await checkVersionRunNotDeleted(mv.runId, uri, options);
  // NB: a source that is no URI is the registry's data, not the caller's mistake (INVALID_URI is a usage error: exit 2).
  if (mv.source.startsWith("models:")) {
    throw new ModelLoadError(
      `Version ${mv.version} of "${name}" points at another registered model (${mv.source}); point it at a run, a LoggedModel (models:/m-<id>) or a folder.`,
      { code: "MODEL_LOAD_ERROR" },
    );
  }
  try {
    return await resolveModelUri(mv.source, options);
  } catch (error) {
    if (!(error instanceof ModelLoadError) || error.code !== "INVALID_URI") throw error;
    throw new ModelLoadError(`Version ${mv.version} of "${name}" has a source pipeserve cannot read: ${error.message}`, {
      code: "MODEL_LOAD_ERROR",
      cause: error,
    });
  }
}

const resolveRegistered: Resolver = async (uri, options) => {
  const loggedModelId = loggedModelIdOf(uri);
  if (loggedModelId !== undefined) return resolveLoggedModel(uri, loggedModelId, options);
  // NB: a version is a whole number from 1 or "latest"; stages (models:/<name>/Production) are not supported.
  // NB: as MLflow's _parse_model_uri, "latest" in any case.
  const m = REGISTERED_URI.exec(uri);
  if (!m) {
    throw new ModelLoadError(
      `Invalid model URI ${JSON.stringify(uri)}: write models:/<name>/<version>, models:/<name>/latest, models:/<name>@<alias> or models:/<model_id> (an MLflow 3 LoggedModel, m-<32 hex>).`,
      {
        code: "INVALID_URI",
      },
    );
  }
  const [, name, version, alias] = m as unknown as [string, string, string | undefined, string | undefined];
  const registry = await openRegistryStore(trackingUriFrom(options.trackingUri), options.registryUri ?? registryUriFrom(undefined), { create: false });
  let mv: Awaited<ReturnType<typeof registry.getVersion>>;
  try {
    mv =
      alias !== undefined
        ? await registry.getVersionByAlias(name, alias)
        : version?.toLowerCase() === "latest"
          ? await registry.getLatestVersion(name)
          : await registry.getVersion(name, version as string);
  } finally {
    await registry.close();
  }
  const target = await resolveVersionSource(mv, name, options);
  const digest = mv.tags[PIPELINE_SHA256_TAG];
  return {
    ...target,
    uri,
    registeredName: name,
    version: mv.version,
    ...(mv.runId ? { runId: mv.runId } : {}),
    ...(digest !== undefined ? { registeredPipelineSha256: digest } : {}),
  };
};

/**
 * `mlflow-artifacts:/<path>` (or `mlflow-artifacts://host:port/<path>`): files a tracking server
 * keeps, as its `get-download-uri` and a version registered from a run's files name them; read
 * through the tracking server's artifact proxy.
 */
const resolveServerArtifacts: Resolver = (uri, options) =>
  withTrackingStore(options, async (store) => {
    if (store.kind !== "rest") {
      throw new ModelLoadError(
        `${uri} names files a tracking server keeps, but the tracking URI is a local store (${store.uri}): give the server's, e.g. --tracking-uri http://127.0.0.1:5000.`,
        { code: "INVALID_URI" },
      );
    }
    return { dir: await storedFolder(store, uri, uri), uri, cleanup: noCleanup };
  });

const resolveArchive: Resolver = async (uri, options) => {
  const file = uri.startsWith("file:") ? fileURLToPath(uri) : resolve(uri);
  const dir = await mkdtemp(join(tmpdir(), "pipeserve-model-"));
  const cleanup = (): Promise<void> => rm(dir, { recursive: true, force: true });
  try {
    await extractModelArchive(file, dir, options.maxExtractBytes === undefined ? {} : { maxExtractBytes: options.maxExtractBytes });
  } catch (error) {
    await cleanup();
    const code = (error as { code?: unknown }).code === "ARCHIVE_TOO_LARGE" ? "ARCHIVE_TOO_LARGE" : "INVALID_ARCHIVE";
    throw new ModelLoadError(`Cannot load ${uri}: ${(error as Error).message}`, { code, cause: error });
  }
  return { dir, uri, cleanup };
};

const resolvePath: Resolver = async (uri) => {
  const dir = uri.startsWith("file:") ? fileURLToPath(uri) : resolve(uri);
  return { dir: await checkDir(dir, uri), uri, cleanup: noCleanup };
};

/**
 * The registry reference of a URI whose target can move: `models:/NAME@ALIAS` (when the alias is
 * moved) and `models:/NAME/latest` (when a version is registered); undefined for fixed URIs (a
 * version number, `runs:/`, a LoggedModel, a path, an archive), which always name the same model.
 */
export function movingModelRef(uri: string): { name: string; alias?: string } | undefined {
  // NB: "latest" in any case, as resolveRegistered reads it (found by a review: models:/m/Latest was never followed).
  const m = MOVING_URI.exec(uri);
  if (!m || loggedModelIdOf(uri) !== undefined) return undefined;
  return m[3] !== undefined ? { name: m[1] as string, alias: m[3] } : { name: m[1] as string };
}

/**
 * The registered version a moving URI (see `movingModelRef`) names now: one registry read,
 * nothing downloaded. @throws ModelLoadError for a fixed URI; the registry's errors otherwise.
 */
export async function currentModelVersion(uri: string, options: ResolveOptions = {}): Promise<number> {
  const ref = movingModelRef(uri);
  if (!ref) throw new ModelLoadError(`${uri} names one model for good; only models:/NAME@ALIAS and models:/NAME/latest move.`, { code: "INVALID_URI" });
  const registry = await openRegistryStore(trackingUriFrom(options.trackingUri), options.registryUri ?? registryUriFrom(undefined), { create: false });
  try {
    const mv = ref.alias !== undefined ? await registry.getVersionByAlias(ref.name, ref.alias) : await registry.getLatestVersion(ref.name);
    return mv.version;
  } finally {
    await registry.close();
  }
}

/** The URI forms, by scheme; the error for an unknown scheme lists them. */
const SCHEMES: ReadonlyMap<string, Resolver> = new Map([
  ["runs", resolveRun],
  ["models", resolveRegistered],
  ["file", resolvePath],
  ["mlflow-artifacts", resolveServerArtifacts],
]);

/**
 * Finds the model directory a URI names: `runs:/<run_id>/<path>` (the run's artifacts, or the
 * MLflow 3 LoggedModel the run logged under that name), `models:/<name>/<version>`,
 * `models:/<name>/latest`, `models:/<name>@<alias>`, `models:/<model_id>` (an MLflow 3
 * LoggedModel), `mlflow-artifacts:/<path>` (a tracking server's files), a path or `file://` URL, or a `.tar.gz`
 * made by `pipeserve export` (extracted safely into a private temp folder).
 * @throws ModelLoadError or the store's NotFoundError, naming what exists nearby.
 */
export async function resolveModelUri(uri: string, options: ResolveOptions = {}): Promise<ResolvedModel> {
  if (typeof uri !== "string" || uri.trim() === "")
    throw new ModelLoadError("A model URI is required, e.g. runs:/<run_id>/model or models:/<name>@<alias>.", { code: "INVALID_URI" });
  if (/\.(tar\.gz|tgz)$/i.test(uri)) return resolveArchive(uri, options);
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(uri)?.[1];
  if (scheme && scheme.length > 1) {
    const resolver = SCHEMES.get(scheme.toLowerCase());
    if (!resolver) {
      throw new ModelLoadError(
        `Unknown model URI scheme "${scheme}:" in ${uri}. Use runs:/, models:/, file://, mlflow-artifacts:/ (with a tracking server), a path, or a .tar.gz archive.`,
        {
          code: "INVALID_URI",
        },
      );
    }
    return resolver(uri, options);
  }
  return resolvePath(uri, options);
}
