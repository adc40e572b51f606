import {
  DEFAULT_RUNNER,
  Pipeline,
  RUNNER_NAMES,
  isParameterInput,
  isRunnerName,
  parseCopyModeSpec,
  type CopyModeSpec,
  type DataCatalog,
  type Dataset,
} from "../runtime/index.js";
import { COLUMN_ARRAYS, COLUMN_TYPES, INPUT_TYPES, type ColumnArrays, PARAM_TYPES, type ColumnType, type InputType, type ParamType } from "../tabular/index.js";
import { PackagingError } from "./errors.js";

/** MLflow's JSON form of a signature, as written in `MLmodel`. */
export interface SignatureJson {
  inputs: string | null;
  outputs: string | null;
  params?: string | null;
}

/** A column's type in `SignatureOverrides`, or its type and whether it may be missing. */
export type ColumnOverride = ColumnType | { type?: ColumnType; required?: boolean };

/** A param's type in `SignatureOverrides`, or any of its type, default and shape (`[-1]` for a list). */
export type ParamOverride = ParamType | { type?: ParamType; default?: unknown; shape?: readonly [-1] | null };

/**
 * Changes to the inferred signature, by name: `{ inputs: { Cylinders: "long" } }`. What is not
 * named stays inferred; a name the data does not have fails packaging.
 */
export interface SignatureOverrides {
  inputs?: Readonly<Record<string, ColumnOverride>>;
  outputs?: Readonly<Record<string, ColumnOverride>>;
  params?: Readonly<Record<string, ParamOverride>>;
}

/** Whether a logModel.signature is MLflow's JSON form (strings or null), not overrides (objects). */
export function isSignatureJson(value: SignatureJson | SignatureOverrides): value is SignatureJson {
  return [value.inputs, value.outputs, value.params].some((part) => part === null || typeof part === "string");
}

export interface LogModelOptions {
  /** The name of the MLflow 3 LoggedModel the run logs (`runs:/<run_id>/<artifactPath>` reaches it); `model` by default. */
  artifactPath?: string;
  /** Registers a new version of this model after packaging. */
  registeredModelName?: string;
  /**
   * `"auto"` (default) infers it from the training data and the inference output; overrides
   * (`{ inputs: { Cylinders: "long" } }`) change parts of the inferred one; an MLflow JSON
   * signature (`{ inputs: "[…]", outputs: "[…]" }`) is taken as given, with the params inferred
   * when it has no `params` key; `false` writes none.
   */
  signature?: "auto" | SignatureJson | SignatureOverrides | false;
  /** Rows of the input data saved as the input example; 5 by default, 0 for none. */
  exampleRows?: number;
  /** Packages kept out of the code bundle (besides pipeserve and the heavy defaults). */
  external?: readonly string[];
}

export interface PipelineMlOptions {
  training: Pipeline;
  inference: Pipeline;
  /** The inference input that receives the request's data. */
  inputName: string;
  /** How artifacts are handed to inference nodes; `assign` by default. */
  copyMode?: CopyModeSpec;
  /** The default runner when serving, one of `RUNNER_NAMES`; `SequentialRunner` by default. */
  runner?: string;
  inputType?: InputType;
  /** Rows are independent: the server may split or merge batches. `false` by default. */
  rowWise?: boolean;
  /**
   * With `inputType: "columns"`: `typed` (the default) hands numeric columns without missing values
   * to nodes as typed arrays (Float64Array for double, Int32Array for integer, an Arrow vector's
   * own array), `plain` always as plain arrays.
   */
  columnArrays?: ColumnArrays;
  logModel?: LogModelOptions;
}

/**
 * A training pipeline bound to the inference pipeline that uses its outputs (kedro-mlflow's
 * `pipeline_ml_factory`). Running it trains, then packages the inference pipeline with exactly
 * the artifacts that run produced. Behaves as the training pipeline everywhere else.
 */
export class PipelineML extends Pipeline {
  readonly training: Pipeline;
  readonly inference: Pipeline;
  readonly inputName: string;
  readonly outputName: string;
  readonly copyMode: CopyModeSpec;
  readonly runner: string;
  readonly inputType: InputType;
  readonly rowWise: boolean;
  readonly columnArrays: ColumnArrays;
  readonly logModel: Readonly<LogModelOptions>;

  constructor(options: PipelineMlOptions) {
    const { training, inference, inputName } = options;
    if (!(training instanceof Pipeline) || !(inference instanceof Pipeline)) {
      throw new PackagingError("pipelineMl() needs a `training` and an `inference` pipeline, both made with pipeline().", { code: "INVALID_PIPELINE_ML" });
    }
    super([training], training.source ? { source: training.source } : {});
    const inferenceInputs = inference.inputs();
    if (!inferenceInputs.includes(inputName)) {
      throw new PackagingError(
        `inputName "${inputName}" is not an input of the inference pipeline. Its free inputs are [${inferenceInputs.join(", ")}]: set inputName to the one that receives the request's data.`,
        { code: "INVALID_PIPELINE_ML" },
      );
    }
    const outputs = inference.outputs();
    if (outputs.length !== 1) {
      throw new PackagingError(
        `The inference pipeline must have exactly one output (what a prediction returns); it has ${outputs.length}: [${outputs.join(", ")}]. Combine them in a final node, or consume the extra ones.`,
        { code: "INVALID_PIPELINE_ML" },
      );
    }
    const trainingOutputs = new Set(training.datasets().filter((d) => training.producerOf(d) !== undefined));
    const orphans = inferenceInputs.filter((i) => i !== inputName && !isParameterInput(i) && !trainingOutputs.has(i));
    if (orphans.length > 0) {
      throw new PackagingError(
        `Inference input(s) [${orphans.join(", ")}] are neither the inputName "${inputName}", a params: input, nor an output of the training pipeline. Every artifact inference reads must be produced by training, so that what is served is what was trained.`,
        { code: "INVALID_PIPELINE_ML" },
      );
    }
    if (options.inputType !== undefined && !(INPUT_TYPES as readonly string[]).includes(options.inputType)) {
      throw new PackagingError(`Invalid inputType "${String(options.inputType)}". Use one of: ${INPUT_TYPES.join(", ")}.`, { code: "INVALID_PIPELINE_ML" });
    }
    if (options.columnArrays !== undefined && !(COLUMN_ARRAYS as readonly string[]).includes(options.columnArrays)) {
      throw new PackagingError(`Invalid columnArrays "${String(options.columnArrays)}". Use one of: ${COLUMN_ARRAYS.join(", ")}.`, {
        code: "INVALID_PIPELINE_ML",
      });
    }
    const runner = options.runner ?? DEFAULT_RUNNER;
    if (!isRunnerName(runner)) {
      throw new PackagingError(`Invalid default runner "${runner}". Use one of: ${RUNNER_NAMES.join(", ")}.`, { code: "INVALID_PIPELINE_ML" });
    }
    checkSignatureOption(options.logModel?.signature);
    this.training = training;
    this.inference = inference;
    this.inputName = inputName;
    this.outputName = outputs[0] as string;
    this.copyMode = parseCopyModeSpec(options.copyMode ?? "assign");
    this.runner = runner;
    this.inputType = options.inputType ?? "dataframe";
    this.rowWise = options.rowWise ?? false;
    this.columnArrays = options.columnArrays ?? "typed";
    this.logModel = Object.freeze({ ...(options.logModel ?? {}) });
    Object.freeze(this);
  }

  /** The inference inputs that are artifacts: produced by training and read by inference. */
  artifactNames(): string[] {
    return this.inference.inputs().filter((i) => i !== this.inputName && !isParameterInput(i));
  }

  /** The `params:` inputs of inference. */
  parameterInputs(): string[] {
    return this.inference.inputs().filter((i) => i.startsWith("params:"));
  }

  /**
   * Checks the rules that need the catalog, before any training node runs: every artifact must
   * be persisted by a file dataset (a memory dataset is gone when the run ends).
   * @throws PackagingError naming each dataset and what to add to catalog.yml.
   */
  checkCatalog(catalog: DataCatalog): void {
    const problems: string[] = [];
    for (const name of this.artifactNames()) {
      const dataset: Dataset | undefined = catalog.get(name);
      if (!dataset) {
        problems.push(
          `"${name}" is not in the catalog, so it would live only in memory; add it to catalog.yml with a file type (e.g. JsonArtifactDataset with a filepath).`,
        );
      } else if (!("filepath" in dataset) || typeof (dataset as { filepath?: unknown }).filepath !== "string") {
        problems.push(
          `"${name}" is a ${dataset.constructor.name}, which keeps nothing after the run; declare it in catalog.yml with a file type and a filepath.`,
        );
      }
    }
    if (problems.length > 0) {
      throw new PackagingError(`The inference pipeline cannot be packaged:\n- ${problems.join("\n- ")}`, { code: "INVALID_PIPELINE_ML" });
    }
  }
}

/** Binds a training and an inference pipeline into one packageable pipeline. */
export function pipelineMl(options: PipelineMlOptions): PipelineML {
  return new PipelineML(options);
}

const SIGNATURE_FORMS = `"auto", false, overrides such as { inputs: { Cylinders: "long" } }, or MLflow's { inputs, outputs, params } JSON strings`;

function invalidSignature(problem: string): PackagingError {
  return new PackagingError(`logModel.signature ${problem}. It may be ${SIGNATURE_FORMS}.`, { code: "INVALID_PIPELINE_ML" });
}

/** @throws PackagingError when logModel.signature is none of its forms, or an override names an unknown type. */
function checkSignatureOption(signature: unknown): void {
  if (signature === undefined || signature === "auto" || signature === false) return;
  if (typeof signature !== "object" || signature === null || Array.isArray(signature))
    throw invalidSignature(`is ${JSON.stringify(signature) ?? typeof signature}`);
  const parts = signature as Record<string, unknown>;
  const unknown = Object.keys(parts).filter((k) => k !== "inputs" && k !== "outputs" && k !== "params");
  if (unknown.length > 0) throw invalidSignature(`has unknown key(s) ${unknown.map((k) => `"${k}"`).join(", ")}`);
  const json = ["inputs", "outputs", "params"].filter((k) => parts[k] === null || typeof parts[k] === "string");
  const objects = ["inputs", "outputs", "params"].filter((k) => typeof parts[k] === "object" && parts[k] !== null);
  if (json.length > 0 && objects.length > 0) {
    throw invalidSignature(`mixes MLflow JSON strings (${json.join(", ")}) with overrides (${objects.join(", ")}); use one form`);
  }
  if (json.length > 0) return;
  for (const part of ["inputs", "outputs", "params"] as const) {
    const entries = parts[part];
    if (entries === undefined) continue;
    if (typeof entries !== "object" || entries === null || Array.isArray(entries)) throw invalidSignature(`.${part} is not an object of names`);
    const types: readonly string[] = part === "params" ? PARAM_TYPES : COLUMN_TYPES;
    for (const [name, given] of Object.entries(entries)) {
      const type = typeof given === "string" ? given : typeof given === "object" && given !== null ? (given as { type?: unknown }).type : given;
      if (type !== undefined && (typeof type !== "string" || !types.includes(type))) {
        throw new PackagingError(`logModel.signature.${part}.${name} has type ${JSON.stringify(type)}. Use one of: ${types.join(", ")}.`, {
          code: "INVALID_PIPELINE_ML",
        });
      }
    }
  }
}
