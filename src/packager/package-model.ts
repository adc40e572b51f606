import {
  DataCatalog,
  FolderArtifactDataset,
  JsonArtifactDataset,
  MemoryDataset,
  OnnxModelDataset,
  SequentialRunner,
  getParam,
  nestParams,
  type Dataset,
  type NodeIO,
  type Pipeline,
} from "../runtime/index.js";
import { asColumnTable, declaredColumnTypes, sliceTable, toInputType, type ColumnArrays, type ColumnTable, type InputType } from "../tabular/index.js";
import { bundlePipelines, type BundleResult } from "./bundle.js";
import { PackagingError } from "./errors.js";
import { assertArtifactWritten, writeModel, type ModelArtifact } from "./model-writer.js";
import { resolveSignature } from "./model-signature.js";
import type { LogModelOptions } from "./pipeline-ml.js";

/** What packaging needs to know about the inference side (a PipelineML has all of it). */
export interface InferenceSpec {
  inference: Pipeline;
  inputName: string;
  outputName: string;
  copyMode: string | Readonly<Record<string, string>>;
  runner: string;
  inputType: InputType;
  rowWise: boolean;
  /** How `columns` inputs hand numeric columns to nodes (see PipelineMlOptions.columnArrays). */
  columnArrays: ColumnArrays;
  logModel: Readonly<LogModelOptions>;
  artifactNames(): string[];
  parameterInputs(): string[];
}

export interface PackageModelOptions {
  ml: InferenceSpec;
  pipelinesFile: string;
  pipelineName: string;
  /** The catalog training ran with: artifacts are read from its file datasets. */
  catalog: DataCatalog;
  params: Record<string, unknown>;
  /** Data of the inference input seen in training (for the signature and the input example). */
  exampleData: unknown;
  target: string;
  /** The inference code, bundled already (by the run, before training); bundled here otherwise. */
  bundle?: BundleResult;
  /** Params written as decimals: inferred as `double` even when their value is whole. */
  floatParams?: ReadonlySet<string>;
  runId?: string;
  artifactPath?: string;
  /** The MLflow 3 LoggedModel the model directory is written for (see `writeModel`). */
  loggedModel?: { modelId: string; artifactLocation: string };
}

/** Rows of the input data the inference pipeline runs on to check it and infer its outputs (the input columns come from every row). */
const SIGNATURE_SAMPLE_ROWS = 10_000;

function artifactOf(catalog: DataCatalog, name: string): { dataset: Dataset; artifact: ModelArtifact } {
  const dataset = catalog.get(name);
  const filepath = (dataset as { filepath?: unknown } | undefined)?.filepath;
  if (!dataset || typeof filepath !== "string") {
    throw new PackagingError(`Artifact "${name}" must be a file dataset in catalog.yml (it is ${dataset ? dataset.constructor.name : "not in the catalog"}).`, {
      code: "INVALID_PIPELINE_ML",
    });
  }
  // NB: an ONNX artifact's session options (threads) travel with the model, to open its session alike when served.
  const loadArgs = dataset instanceof OnnxModelDataset && Object.keys(dataset.loadArgs).length > 0 ? { loadArgs: { ...dataset.loadArgs } } : {};
  // NB: an artifact stored through a codec is decoded by the same codec (bundled with the code) when served.
  const codecName = dataset instanceof JsonArtifactDataset || dataset instanceof FolderArtifactDataset ? dataset.codecName : undefined;
  const codec = codecName !== undefined ? { codec: codecName } : {};
  return { dataset, artifact: { source: filepath, type: dataset.constructor.name, ...loadArgs, ...codec } };
}

/**
 * Runs the inference pipeline once on sample data with the artifacts training just wrote, as the
 * loader will: the output's shape becomes the signature's outputs.
 */
async function predictSample(options: PackageModelOptions, sample: ColumnTable, parameters: Record<string, unknown>): Promise<unknown> {
  const { ml, catalog } = options;
  const datasets: Record<string, Dataset> = {};
  for (const name of ml.artifactNames()) {
    const { dataset, artifact } = artifactOf(catalog, name);
    await assertArtifactWritten(name, artifact);
    datasets[name] = new MemoryDataset({ data: await dataset.load(), copyMode: "deepcopy" });
  }
  const params = nestParams(parameters);
  const run = new DataCatalog(datasets, { params, copyMode: "assign" }).derive({
    feed: { [ml.inputName]: toInputType(sample, ml.inputType, ml.columnArrays) },
  });
  try {
    const outputs = await new SequentialRunner().run(ml.inference, run);
    return outputs[ml.outputName];
  } catch (cause) {
    throw new PackagingError(`Running the inference pipeline on the input example failed, so it would fail when served: ${(cause as Error).message}`, {
      code: "INFERENCE_CHECK_FAILED",
      cause,
    });
  }
}

/**
 * Packages an inference pipeline with the artifacts a training run produced into a model
 * directory at `target` (MODEL_FORMAT.md): copies and hashes the artifacts, infers or takes the
 * signature, saves an input example, bundles the code, writes MLmodel and pipeline.json.
 */
export async function packageModel(options: PackageModelOptions): Promise<void> {
  const { ml, catalog } = options;
  const artifacts: Record<string, ModelArtifact> = {};
  for (const name of ml.artifactNames()) artifacts[name] = artifactOf(catalog, name).artifact;

  const parameters: Record<string, unknown> = {};
  for (const input of ml.parameterInputs()) {
    const key = input.slice("params:".length);
    const { found, value } = getParam(options.params, key);
    if (!found) throw new PackagingError(`The inference pipeline reads "${input}", which parameters.yml does not define.`, { code: "MISSING_PARAMETER" });
    parameters[key] = value;
  }

  let sample: ColumnTable | undefined;
  let whole: ColumnTable | undefined;
  if (options.exampleData !== undefined && options.exampleData !== null) {
    try {
      whole = asColumnTable(options.exampleData);
      sample = sliceTable(whole, 0, SIGNATURE_SAMPLE_ROWS);
    } catch (cause) {
      throw new PackagingError(`The data of "${ml.inputName}" is not tabular, so no signature or example can be made from it: ${(cause as Error).message}`, {
        code: "INVALID_EXAMPLE",
        cause,
      });
    }
  }
  const exampleRows = options.ml.logModel.exampleRows ?? 5;
  const example = sample && exampleRows > 0 ? sliceTable(sample, 0, exampleRows) : undefined;

  const signature = await resolveSignature({
    mode: ml.logModel.signature ?? "auto",
    inputName: ml.inputName,
    runner: ml.runner,
    sample,
    whole,
    declared: options.exampleData === undefined || options.exampleData === null ? {} : declaredColumnTypes(options.exampleData),
    parameters,
    floatParams: options.floatParams ?? new Set<string>(),
    predict: (input) => predictSample(options, input, parameters),
  });

  const bundle =
    options.bundle ??
    (await bundlePipelines(options.pipelinesFile, { pipelineName: options.pipelineName, exportName: "inference", external: ml.logModel.external ?? [] }));
  const nodes = ml.inference.nodes.map((n) => ({ name: n.name, inputs: n.inputs as NodeIO, outputs: n.outputs as NodeIO, tags: n.tags }));
  await writeModel(options.target, {
    nodes,
    inputName: ml.inputName,
    outputName: ml.outputName,
    copyMode: ml.copyMode,
    runner: ml.runner,
    inputType: ml.inputType,
    rowWise: ml.rowWise,
    columnArrays: ml.columnArrays,
    artifacts,
    parameters,
    bundle,
    signature,
    inputExample: example,
    exampleParams: signature?.params ? { ...parameters, runner: ml.runner } : undefined,
    runId: options.runId,
    artifactPath: options.artifactPath,
    loggedModel: options.loggedModel,
  });
}
