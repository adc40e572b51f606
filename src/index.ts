/**
 * @module pipeserve
 * The public library API: build pipelines and catalogs, run them, package them with their
 * artifacts, load and serve models, predict over files, and work with tabular data and
 * signatures. Named exports only, each a decision: test/api/public-api.test.ts lists them all.
 * Internals stay in the part folders (`src/<part>/index.ts`), where tests may reach them.
 *
 * NB: this module is also what packaged model code gets when it imports `pipeserve` (see
 * `provideHostModule` below), so whatever model code may use must stay exported here.
 */
import * as api from "./index.js";
import { provideHostModule } from "./runtime/index.js";

// Pipelines: nodes, pipelines, the catalog and its datasets, runners and hooks.
export {
  node,
  Node,
  pipeline,
  Pipeline,
  DataCatalog,
  AbstractDataset,
  MemoryDataset,
  MetricsDataset,
  CsvDataset,
  JsonDataset,
  ParquetDataset,
  ArrowDataset,
  BinaryDataset,
  JsonArtifactDataset,
  FolderArtifactDataset,
  OnnxModelDataset,
  OnnxModel,
  artifactCodec,
  folderCodec,
  type ArtifactCodec,
  type FolderCodec,
  OnnxInputError,
  columnsToTensors,
  tensorsToColumns,
  predictOnnx,
  type OnnxSessionOptions,
  type OnnxTensorInfo,
  type OnnxColumns,
  type ToTensorsOptions,
  type ToColumnsOptions,
  COPY_MODES,
  SequentialRunner,
  ConcurrentRunner,
  WorkerRunner,
  RUNNER_NAMES,
  requireHostModule,
  pipeserveVersion,
  PipelineError,
  NodeError,
  RunTimeoutError,
  RunAbortedError,
  DatasetError,
  type NodeFunction,
  type NodeIO,
  type PipelineParameters,
  type PipelineDatasets,
  type NodeOptions,
  type PipelineOptions,
  type PipelineSource,
  type DataCatalogOptions,
  type CatalogConfigOptions,
  type Dataset,
  type MemoryDatasetOptions,
  type MetricValue,
  type FileDatasetOptions,
  type TabularDatasetOptions,
  type TabularLoadAs,
  type CopyMode,
  type CopyModeSpec,
  type Runner,
  type RunnerName,
  type RunOptions,
  type ConcurrentRunnerOptions,
  type WorkerRunnerOptions,
  type Hooks,
  type RunContext,
  type NodeContext,
} from "./runtime/index.js";

// Tabular data: tables, DataFrames, Arrow, files, and signatures.
export {
  tableFromColumns,
  tableFromRecords,
  tableFromRows,
  tableToColumns,
  tableToRecords,
  asColumnTable,
  toDataFrame,
  fromDataFrame,
  isDataFrame,
  type DataFrame,
  type Series,
  fromArrow,
  toArrow,
  decodeArrowIpc,
  encodeArrowIpc,
  parseCsv,
  toCsv,
  parquetToArrow,
  arrowToParquet,
  decodeTable,
  encodeTable,
  readTableFile,
  writeTableFile,
  INPUT_TYPES,
  COLUMN_TYPES,
  PARAM_TYPES,
  inferSignature,
  signatureToMlflow,
  signatureFromMlflow,
  TabularError,
  FormatError,
  SchemaError,
  type Cell,
  type ColumnTable,
  type CsvParseOptions,
  type TableFormat,
  type InputType,
  type ColumnType,
  type ParamType,
  type ColumnSpec,
  type ParamSpec,
  type Signature,
  type MlflowSignature,
} from "./tabular/index.js";

// Projects and packaging.
export {
  pipelineMl,
  PipelineML,
  loadProject,
  runProject,
  modelify,
  PackagingError,
  type PipelineMlOptions,
  type LogModelOptions,
  type SignatureJson,
  type SignatureOverrides,
  type ColumnOverride,
  type ParamOverride,
  type Project,
  type RunProjectOptions,
  type RunProjectResult,
  type ModelifyOptions,
} from "./packager/index.js";

// Runs and the registry.
export {
  FileStore,
  ModelRegistry,
  resolveTrackingUri,
  StoreError,
  NotFoundError,
  ArchiveError,
  type Experiment,
  type Run,
  type RunInfo,
  type RunStatus,
  type MetricPoint,
  type RegisteredModel,
  type ModelVersion,
  type LoggedModel,
  type LoggedModelMetric,
  type LoggedModelStatus,
  type RunModelOutput,
  type CreateLoggedModelOptions,
} from "./store/index.js";

// Loading models and predicting.
export {
  loadModel,
  currentModelVersion,
  movingModelRef,
  PipelineModel,
  ModelLoadError,
  RunnerNotAllowedError,
  type LoadModelOptions,
  type PredictOptions,
  type Prediction,
  type ModelMetadata,
} from "./loader/index.js";

// Serving.
export { createApp, serveApp, ServerState, type AppOptions, type ServeOptions, type RunningServer } from "./server/index.js";

// Errors: every error pipeserve throws is a PipeserveError with a typed `code`.
export { PipeserveError, HTTP_STATUS, type ErrorCode } from "./errors/index.js";

// Batch prediction.
export { predictFile, BatchError, type PredictFileOptions, type PredictFileResult, type Shard, type OutputFormat } from "./batch/index.js";

// NB: packaged model code reaches `pipeserve` through this registration, wherever the model lives.
provideHostModule("pipeserve", api, import.meta.url);
