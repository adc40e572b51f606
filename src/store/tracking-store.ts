import type { ArtifactRepository } from "./artifact-repository.js";
import type { FileStore } from "./file-store.js";
import type { ModelRegistry } from "./model-registry.js";

/** The tracking operations every backend offers, with FileStore's signatures and meaning. */
type TrackingMethod =
  | "listExperiments"
  | "getExperimentByName"
  | "getExperiment"
  | "getOrCreateExperiment"
  | "createRun"
  | "getRunInfo"
  | "endRun"
  | "deleteRun"
  | "restoreRun"
  | "logParam"
  | "logParams"
  | "logMetric"
  | "setTag"
  | "setTags"
  | "getRun"
  | "getMetricHistory"
  | "searchRuns"
  | "getLoggedModel"
  | "searchLoggedModels"
  | "findRunLoggedModel"
  | "createLoggedModel"
  | "finalizeLoggedModel"
  | "setLoggedModelTag"
  | "logLoggedModelMetric"
  | "logRunOutput"
  | "getRunOutputs";

/** What a store is: `file` (an `mlruns/` folder), `sqlite` (MLflow's SQL schema), `rest` (an MLflow tracking server). */
export type StoreKind = "file" | "sqlite" | "rest";

/**
 * A tracking store: experiments, runs with params, metrics and tags, MLflow 3 LoggedModels, and the
 * artifacts behind them (`artifacts`, by the `artifactUri` of a run and the `artifactLocation` of a
 * LoggedModel). The packager and the loader talk to this interface only, never to a backend.
 * Errors: NotFoundError for what does not exist, StoreError for the rest.
 */
export interface TrackingStore extends Pick<FileStore, TrackingMethod> {
  readonly kind: StoreKind;
  /** The tracking URI the store was opened with, for messages. */
  readonly uri: string;
  readonly artifacts: ArtifactRepository;
  /** Releases what the store holds open (a database handle); the file and REST stores hold nothing. */
  close(): Promise<void>;
}

/** The registry operations every backend offers, with ModelRegistry's signatures and meaning. */
type RegistryMethod =
  | "ensureModel"
  | "listModels"
  | "getModel"
  | "createVersion"
  | "getVersion"
  | "listVersions"
  | "getLatestVersion"
  | "setAlias"
  | "deleteAlias"
  | "deleteVersion"
  | "getVersionByAlias";

/** A model registry: registered models, numbered versions, aliases, tags. */
export interface RegistryStore extends Pick<ModelRegistry, RegistryMethod> {
  readonly kind: StoreKind;
  readonly uri: string;
  close(): Promise<void>;
}
