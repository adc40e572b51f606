/**
 * The signature a packaged model gets, from logModel.signature and the training data — and the
 * check that the inference pipeline runs on that data before anything is written or registered.
 */
import { DEFAULT_RUNNER } from "../runtime/index.js";
import {
  enforceSchema,
  inferSignature,
  outputToTable,
  signatureFromMlflow,
  signatureToMlflow,
  type ColumnSpec,
  type ColumnTable,
  type ColumnType,
  type MlflowSignature,
  type ParamSpec,
  type Signature,
} from "../tabular/index.js";
import { PackagingError } from "./errors.js";
import { type ColumnOverride, type ParamOverride, type SignatureJson, type SignatureOverrides, isSignatureJson } from "./pipeline-ml.js";

const RUNNER_PARAM = { name: "runner", default: DEFAULT_RUNNER, shape: null, type: "string" } as const;
const FIX = 'Fix logModel.signature, or let pipeserve infer it with signature: "auto".';

export interface SignatureInputs {
  /** logModel.signature. */
  mode: "auto" | SignatureJson | SignatureOverrides | false;
  /** The inference input's name, for messages. */
  inputName: string;
  /** The model's default runner: the `runner` param's default. */
  runner: string;
  /** Rows of the training data for the inference input, if there are any: the inference pipeline runs on them. */
  sample: ColumnTable | undefined;
  /**
   * All of that data, whose every row the input columns' types and nullability come from (as
   * MLflow's infer_signature reads the frame it is given); `sample` when absent. NB: found by an
   * audit: inferred from the first 10,000 rows, a column missing a value only further on was
   * `required`, and the model refused rows of its own training data.
   */
  whole?: ColumnTable | undefined;
  /** Column types the raw data declares (typed arrays, Arrow fields). */
  declared: Readonly<Record<string, ColumnType>>;
  /** The values of the `params:` inputs, from parameters.yml. */
  parameters: Record<string, unknown>;
  /** Params written as decimals: `double` even when their value is whole. */
  floatParams: ReadonlySet<string>;
  /** Runs the inference pipeline on `input` with the trained artifacts; fails with INFERENCE_CHECK_FAILED. */
  predict(input: ColumnTable): Promise<unknown>;
}

/**
 * The model's signature (null for `signature: false`), after running the inference pipeline on the
 * sample — whatever the mode, so a pipeline that fails on its own training data is never packaged.
 * @throws PackagingError NO_EXAMPLE, INVALID_SIGNATURE, SIGNATURE_MISMATCH or INFERENCE_CHECK_FAILED.
 */
export async function resolveSignature(given: SignatureInputs): Promise<MlflowSignature | null> {
  const { mode, sample } = given;
  if (mode === false) {
    if (sample) await given.predict(sample);
    return null;
  }
  if (mode !== "auto" && isSignatureJson(mode)) return explicitSignature(given, mode);
  if (!sample) {
    throw new PackagingError(
      `signature "auto" needs sample data for "${given.inputName}": make it a dataset in catalog.yml or an output of a training node, or give logModel.signature (or false).`,
      { code: "NO_EXAMPLE" },
    );
  }
  const overrides: SignatureOverrides = mode === "auto" ? {} : mode;
  const inferred = inferSignature(given.whole ?? sample, undefined, given.parameters, { declared: given.declared });
  const inputs = applyColumnOverrides(inferred.inputs ?? [], overrides.inputs, "inputs", "the input data");
  const input = fitSample(given, sample, inputs, overrides.inputs !== undefined);
  const output = await given.predict(input);
  const outputs = applyColumnOverrides(inferSignature(sample, output).outputs ?? [], overrides.outputs, "outputs", "the inference output");
  if (overrides.outputs !== undefined) checkOutput(output, outputs);
  const params = applyParamOverrides(inferredParams(inferred, given.floatParams), overrides.params);
  return validated({ inputs, outputs: outputs.length > 0 ? outputs : null, params: [...params, { ...RUNNER_PARAM, default: given.runner }] });
}

function inferredParams(inferred: Signature, floats: ReadonlySet<string>): ParamSpec[] {
  return (inferred.params ?? []).map((p) => (p.type === "long" && floats.has(p.name) ? { ...p, type: "double" as const } : p));
}

/** MLflow's JSON form, taken as given: checked against the sample; its params inferred when it has no `params` key. */
async function explicitSignature(given: SignatureInputs, json: SignatureJson): Promise<MlflowSignature> {
  let signature: Signature;
  try {
    signature = signatureFromMlflow({ inputs: json.inputs ?? null, outputs: json.outputs ?? null, params: json.params ?? null });
  } catch (cause) {
    throw new PackagingError(`logModel.signature is not a valid MLflow signature: ${(cause as Error).message}`, { code: "INVALID_SIGNATURE", cause });
  }
  if (json.params === undefined) {
    const params = inferredParams(inferSignature({ names: [], columns: [], numRows: 0 }, undefined, given.parameters), given.floatParams);
    signature = { ...signature, params: [...params, { ...RUNNER_PARAM, default: given.runner }] };
  }
  if (given.sample) {
    const input = signature.inputs ? fitSample(given, given.sample, signature.inputs, true) : given.sample;
    const output = await given.predict(input);
    if (signature.outputs) checkOutput(output, signature.outputs);
  }
  return signatureToMlflow(signature);
}

/** The sample as serving would pass it to the pipeline: checked against (and converted to) the input columns. */
function fitSample(given: SignatureInputs, sample: ColumnTable, inputs: readonly ColumnSpec[], declared: boolean): ColumnTable {
  try {
    return enforceSchema(sample, inputs).table;
  } catch (cause) {
    const what = declared ? "logModel.signature's inputs" : "the signature inferred from it";
    throw new PackagingError(
      `The sample data of "${given.inputName}" does not fit ${what}, so the served model would refuse data like it: ${(cause as Error).message} ${FIX}`,
      { code: "SIGNATURE_MISMATCH", cause },
    );
  }
}

function checkOutput(output: unknown, outputs: readonly ColumnSpec[]): void {
  try {
    enforceSchema(outputToTable(output), outputs);
  } catch (cause) {
    throw new PackagingError(`The inference output on the sample data does not match logModel.signature's outputs: ${(cause as Error).message} ${FIX}`, {
      code: "SIGNATURE_MISMATCH",
      cause,
    });
  }
}

function applyColumnOverrides(
  specs: readonly ColumnSpec[],
  overrides: Readonly<Record<string, ColumnOverride>> | undefined,
  part: "inputs" | "outputs",
  where: string,
): ColumnSpec[] {
  if (overrides === undefined) return [...specs];
  const names = new Set(specs.map((s) => s.name));
  const unknown = Object.keys(overrides).filter((name) => !names.has(name));
  if (unknown.length > 0) {
    const has = specs.length === 0 || specs[0]?.name === undefined ? "has no named columns" : `has [${[...names].join(", ")}]`;
    throw new PackagingError(`logModel.signature.${part} names ${unknown.map((n) => `"${n}"`).join(", ")}, which ${where} does not have; it ${has}.`, {
      code: "INVALID_SIGNATURE",
    });
  }
  return specs.map((spec) => {
    const override = spec.name === undefined || !Object.hasOwn(overrides, spec.name) ? undefined : overrides[spec.name];
    if (override === undefined) return spec;
    return typeof override === "string" ? { ...spec, type: override } : { ...spec, ...definedOf(override) };
  });
}

function applyParamOverrides(specs: readonly ParamSpec[], overrides: Readonly<Record<string, ParamOverride>> | undefined): ParamSpec[] {
  if (overrides === undefined) return [...specs];
  const names = new Set(specs.map((s) => s.name));
  const unknown = Object.keys(overrides).filter((name) => !names.has(name));
  if (unknown.length > 0) {
    throw new PackagingError(
      `logModel.signature.params names ${unknown.map((n) => `"${n}"`).join(", ")}, which the inference pipeline does not read${names.size > 0 ? ` (it reads ${[...names].join(", ")})` : ""}. Params come from its params: inputs; "runner" is reserved.`,
      { code: "INVALID_SIGNATURE" },
    );
  }
  return specs.map((spec) => {
    const override = Object.hasOwn(overrides, spec.name) ? overrides[spec.name] : undefined;
    if (override === undefined) return spec;
    return typeof override === "string" ? { ...spec, type: override } : ({ ...spec, ...definedOf(override) } as ParamSpec);
  });
}

function definedOf<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** The signature in MLflow's form, after checking it as the loader will (a param default of the wrong type…). */
function validated(signature: Signature): MlflowSignature {
  try {
    const json = signatureToMlflow(signature);
    signatureFromMlflow(json);
    return json;
  } catch (cause) {
    throw new PackagingError(`logModel.signature's overrides do not make a valid signature: ${(cause as Error).message}`, { code: "INVALID_SIGNATURE", cause });
  }
}
