/**
 * @module store
 * The tracking store (`mlruns/`, MLflow's FileStore layout, with MLflow 3's LoggedModels under
 * `<experiment>/models/`; or `sqlite:///path.db`, MLflow's SQL schema) and the model registry
 * (`mlruns/models/`, or the same database), written atomically so
 * several processes can share one store and MLflow's own UI can browse it. Imports no other part
 * of pipeserve.
 */
export { StoreError, NotFoundError } from "./errors.js";
export { resolveTrackingUri, toFileUri } from "./tracking-uri.js";
export type { TrackingStore, RegistryStore, StoreKind } from "./tracking-store.js";
export { RUN_VIEWS, RUN_WRITER_TAG, endRunsOfGoneWriters, type RunView, type SearchRunsOptions } from "./run-lifecycle.js";
export {
  parseStoreUri,
  openTrackingStore,
  openRegistryStore,
  registerStoreBackend,
  trackingUriFrom,
  registryUriFrom,
  registryKindOf,
  type StoreTarget,
  type StoreBackend,
  type OpenStoreOptions,
} from "./open-store.js";
export {
  LocalArtifactRepository,
  SUPPORTED_ARTIFACT_SCHEMES,
  artifactScheme,
  joinArtifactUri,
  localArtifactPath,
  unreachableArtifacts,
  type ArtifactRepository,
} from "./artifact-repository.js";
export {
  FileStore,
  RUN_STATUS,
  type RunStatus,
  type Experiment,
  type RunInfo,
  type Run,
  type MetricPoint,
  type CreateLoggedModelOptions,
} from "./file-store.js";
export {
  LOGGED_MODEL_STATUS,
  LOGGED_MODEL_ID,
  checkLoggedModelName,
  type LoggedModel,
  type LoggedModelStatus,
  type LoggedModelMetric,
  type RunModelOutput,
} from "./logged-model.js";
export {
  ModelRegistry,
  PIPELINE_SHA256_TAG,
  DELETED_STAGE,
  checkModelName,
  checkNewModelName,
  checkFolderModelName,
  modelLockFile,
  type RegisteredModel,
  type ModelVersion,
  type CreateVersionOptions,
  type RegistryHooks,
} from "./model-registry.js";
export { SqlTrackingStore } from "./sql-tracking-store.js";
export { SqlModelRegistry } from "./sql-registry.js";
export { MLFLOW_ALEMBIC_VERSION, MLFLOW_SCHEMA_SQL } from "./sql-schema.js";
// NB: imported for its effect: registers the sqlite backend with openTrackingStore / openRegistryStore.
export { sqliteBackend } from "./sql-backend.js";
export { toYaml, readYaml, checkKey } from "./fs-utils.js";
// NB: registers the http(s):// backend with openTrackingStore / openRegistryStore.
import "./rest-backend.js";
export { RestClient, restSettingsFrom, type RestSettings } from "./rest-client.js";
export { ArtifactProxyRepository, cacheDirFrom, guessMimeType } from "./artifact-proxy.js";
export { RestTrackingStore } from "./rest-tracking-store.js";
export { RestRegistryStore } from "./rest-registry.js";
export { withLock, hostTag, LOCK_STALE_MS, type LockOwner } from "./lock.js";
export {
  createModelArchive,
  writeModelArchive,
  spoolModelArchive,
  checkModelArchive,
  extractModelArchive,
  maxExtractBytes,
  ArchiveError,
  DEFAULT_MAX_EXTRACT_BYTES,
  MAX_ARCHIVE_ENTRIES,
  MAX_EXTRACT_SIZE_ENV,
  type ArchiveLimits,
  type ArchiveSummary,
} from "./archive.js";
