/**
 * @module runtime
 * The pipeline engine: Kedro-style `node()`s and `pipeline()`s, a `DataCatalog` of datasets with
 * copy modes and parameters, and runners (sequential, concurrent, worker threads) with hooks.
 */
export { PipelineError, NodeError, DatasetError } from "./errors.js";
export { Node, node, type NodeFunction, type NodeIO, type NodeOptions } from "./node.js";
export type { InputValue, NodeArgs, NodeCheck, NodeFunctionFor, PipelineDatasets, PipelineParameters } from "./node-types.js";
export { Pipeline, pipeline, isParameterInput, type PipelineOptions, type PipelineSource } from "./pipeline.js";
export {
  type CopyMode,
  type CopyModeSpec,
  COPY_MODES,
  parseCopyMode,
  parseCopyModeSpec,
  copyModeFor,
  inferCopyMode,
  copyData,
  deepClone,
  shallowCopy,
  SHARED_RESOURCE,
  isSharedResource,
} from "./copy-mode.js";
export { type Dataset, AbstractDataset } from "./datasets/dataset.js";
export { MemoryDataset, type MemoryDatasetOptions } from "./datasets/memory-dataset.js";
export { MetricsDataset, type MetricValue } from "./datasets/metrics-dataset.js";
export {
  FileDataset,
  CsvDataset,
  JsonDataset,
  ParquetDataset,
  ArrowDataset,
  BinaryDataset,
  JsonArtifactDataset,
  type FileDatasetOptions,
  type TabularDatasetOptions,
  type TabularLoadAs,
} from "./datasets/file-datasets.js";
export {
  OnnxModel,
  OnnxModelDataset,
  onnxRuntime,
  parseOnnxSessionOptions,
  type OnnxModelDatasetOptions,
  type OnnxSessionOptions,
  type OnnxTensorInfo,
  type OnnxElementType,
} from "./datasets/onnx-model.js";
export {
  artifactCodec,
  decodeWith,
  folderCodec,
  isArtifactCodec,
  isFolderCodec,
  moduleCodecs,
  type AnyCodec,
  type ArtifactCodec,
  type FolderCodec,
} from "./datasets/artifact-codec.js";
export { FolderArtifactDataset, type FolderArtifactDatasetOptions } from "./datasets/folder-artifact.js";
export { describeOnnx, tensorLine, type OnnxInfo } from "./datasets/onnx-info.js";
export {
  columnsToTensors,
  tensorsToColumns,
  predictOnnx,
  OnnxInputError,
  type OnnxColumns,
  type ToTensorsOptions,
  type ToColumnsOptions,
} from "./onnx-tensors.js";
export { DataCatalog, CATALOG_DATASET_TYPES, type DataCatalogOptions, type CatalogConfigOptions } from "./catalog.js";
export type { Hooks, RunContext, NodeContext } from "./hooks.js";
export {
  type Runner,
  type RunOptions,
  AbstractRunner,
  SchedulingRunner,
  SequentialRunner,
  ConcurrentRunner,
  RunState,
  type ConcurrentRunnerOptions,
} from "./runners/runner.js";
export { RunStop, RunTimeoutError, RunAbortedError, neverAborted } from "./runners/run-stop.js";
export { WorkerRunner, type WorkerRunnerOptions } from "./runners/worker-runner.js";
export { RUNNER_NAMES, DEFAULT_RUNNER, type RunnerName, isRunnerName, createRunner } from "./runners/create-runner.js";
export { getParam, withParam, nestParams } from "./param-paths.js";
export { provideHostModule, requireHostModule, hostEntryUrl, installedVersion, pipeserveVersion, HOST_KEY } from "./host-modules.js";
