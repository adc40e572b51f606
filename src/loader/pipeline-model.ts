import {
  type DataCatalog,
  RUNNER_NAMES,
  RunTimeoutError,
  WorkerRunner,
  createRunner,
  isRunnerName,
  withParam,
  type Hooks,
  type Pipeline,
  type RunOptions,
  type Runner,
} from "../runtime/index.js";
import {
  JSON_REQUEST_FORMS,
  asColumnTable,
  enforceParams,
  enforceSchema,
  inferCsvCell,
  concatTables,
  parseJsonRequest,
  splitRows,
  toInputType,
  type Cell,
  type ColumnArrays,
  type ColumnTable,
  type InputType,
  type Signature,
  type TableLimits,
} from "../tabular/index.js";
import { isPlainObject } from "../util/index.js";
import { ModelLoadError, RunnerNotAllowedError } from "./errors.js";

export interface PredictOptions {
  /** Runtime params (validated against the signature's params; defaults fill the rest). */
  params?: Record<string, unknown> | null;
  /** A runner name from the allow-list; the `runner` param or the model's default otherwise. */
  runner?: string;
  /** The input's cells are text (a CSV body): numbers and booleans are parsed by column type. */
  fromText?: boolean;
  /** The input's cells came typed from Arrow IPC or Parquet: a refusal says how to send a column's type in Arrow. */
  fromArrow?: boolean;
  /** Hooks for this call's run (the server times nodes with them). */
  hooks?: Hooks | readonly Hooks[];
  /** Stops the run when it fires (see `RunOptions.signal`). */
  signal?: AbortSignal;
}

/** Options for `runBatch`. */
export interface BatchRunOptions extends RunOptions {
  /** Told the number of inputs of every pipeline run it makes (retries of a failed batch included). */
  onRun?: (inputs: number) => void;
}

/** A prediction and what was done to the request on the way. */
export interface Prediction {
  output: unknown;
  /** Request params the model does not declare (ignored, as MLflow does). */
  ignoredParams: string[];
  /** Input columns the signature does not have (dropped). */
  droppedColumns: string[];
  runner: string;
  rows: number;
}

/**
 * A request checked against the signature, its params enforced and its runner chosen: ready to
 * run alone (`run`) or stacked with others (`runBatch`). Made by `PipelineModel.prepare`.
 */
export interface PreparedInput {
  /** The input, enforced against the signature. */
  readonly table: ColumnTable;
  /** The params the pipeline gets: the request's, checked, with the signature's defaults. */
  readonly params: Readonly<Record<string, unknown>>;
  readonly ignoredParams: string[];
  readonly droppedColumns: string[];
  readonly runner: string;
  /**
   * Inputs with the same key may run as one batch: same columns, params and runner. `undefined`
   * when this input may not be batched (see `PipelineModel.batchable`).
   */
  readonly batchKey: string | undefined;
}

export interface ModelMetadata {
  runId?: string;
  modelUuid?: string;
  /** The MLflow 3 LoggedModel (`models:/<model_id>`) the model was logged as, if it was. */
  modelId?: string;
  utcTimeCreated?: string;
  artifactPath?: string;
  registeredName?: string;
  version?: number;
  pipeserveVersion?: string;
  flavor: Record<string, unknown>;
}

export interface PipelineModelParts {
  uri: string;
  dir: string;
  pipeline: Pipeline;
  inputName: string;
  outputName: string;
  inputType: InputType;
  rowWise: boolean;
  /** How a `columns` input hands numeric columns to nodes; `typed` by default. */
  columnArrays?: ColumnArrays;
  defaultRunner: string;
  signature: Signature | null;
  /** Parameter values recorded at packaging (nested, as `params:a.b` reads them). */
  parameters: Record<string, unknown>;
  /** Artifacts, loaded once, in memory datasets with the model's copy modes. */
  catalog: DataCatalog;
  metadata: ModelMetadata;
  inputExample: { columns: string[]; data: unknown[][] } | undefined;
  runners?: Readonly<Record<string, Runner>>;
  cleanup?: () => Promise<void>;
}

function isJsonBody(input: unknown): boolean {
  return typeof input === "string" || (isPlainObject(input) && JSON_REQUEST_FORMS.some((k) => Object.hasOwn(input, k)));
}

/**
 * A loaded model: the inference pipeline with its artifacts in memory, ready to predict many
 * times. Each call gets its own catalog and params, so concurrent calls never share state.
 */
export class PipelineModel {
  readonly uri: string;
  readonly dir: string;
  readonly pipeline: Pipeline;
  readonly inputName: string;
  readonly outputName: string;
  readonly inputType: InputType;
  readonly rowWise: boolean;
  readonly columnArrays: ColumnArrays;
  readonly defaultRunner: string;
  readonly signature: Signature | null;
  readonly parameters: Readonly<Record<string, unknown>>;
  readonly metadata: ModelMetadata;
  readonly inputExample: { columns: string[]; data: unknown[][] } | undefined;
  readonly #catalog: DataCatalog;
  readonly #extraRunners: Readonly<Record<string, Runner>>;
  readonly #runners = new Map<string, Runner>();
  readonly #cleanup: (() => Promise<void>) | undefined;
  /** The signature's input names, for the bare-value request forms. */
  readonly #schemaNames: readonly string[] | undefined;
  /** The signature names and types the input's columns. */
  readonly #typedInputs: boolean;

  constructor(parts: PipelineModelParts) {
    this.uri = parts.uri;
    this.dir = parts.dir;
    this.pipeline = parts.pipeline;
    this.inputName = parts.inputName;
    this.outputName = parts.outputName;
    this.inputType = parts.inputType;
    this.rowWise = parts.rowWise;
    this.columnArrays = parts.columnArrays ?? "typed";
    this.defaultRunner = parts.defaultRunner;
    this.signature = parts.signature;
    this.parameters = parts.parameters;
    this.metadata = parts.metadata;
    this.inputExample = parts.inputExample;
    this.#catalog = parts.catalog;
    this.#extraRunners = parts.runners ?? {};
    this.#cleanup = parts.cleanup;
    this.#schemaNames = parts.signature?.inputs?.flatMap((c) => (c.name === undefined ? [] : [c.name]));
    this.#typedInputs = (this.#schemaNames?.length ?? 0) > 0;
    const clash = Object.keys(this.#extraRunners).filter(isRunnerName);
    if (clash.length > 0) throw new ModelLoadError(`Extra runners may not reuse the built-in names [${clash.join(", ")}].`, { code: "INVALID_RUNNER" });
  }

  /** Every runner name a call may choose. */
  get runnerNames(): string[] {
    return [...RUNNER_NAMES, ...Object.keys(this.#extraRunners)];
  }

  /**
   * The runner for a name on the allow-list.
   * @throws RunnerNotAllowedError for any other name: a request can never make the server load code.
   */
  runner(name: string): Runner {
    const existing = this.#runners.get(name);
    if (existing) return existing;
    let runner: Runner | undefined;
    if (Object.hasOwn(this.#extraRunners, name)) runner = this.#extraRunners[name];
    else if (isRunnerName(name)) runner = createRunner(name);
    if (!runner) throw new RunnerNotAllowedError(name, this.runnerNames);
    this.#runners.set(name, runner);
    return runner;
  }

  /**
   * Any accepted input as a table: a `ColumnTable`, a danfojs DataFrame, an Arrow table, row
   * objects, an object of columns, or an MLflow JSON body (object or text).
   */
  toTable(input: unknown): { table: ColumnTable; params: Record<string, unknown> | null } {
    if (isJsonBody(input)) return this.parseJsonBody(input);
    return { table: asColumnTable(input), params: null };
  }

  /**
   * An MLflow JSON request body (text, bytes or already parsed) as a table, against the signature's
   * column names, and the params it carries; bounded by `limits` as it is built.
   * @throws FormatError / SchemaError (4xx) for a bad body, LimitError (413) past the limits.
   */
  parseJsonBody(body: unknown, limits?: TableLimits): { table: ColumnTable; params: Record<string, unknown> | null } {
    // NB: a model without a params schema ignores params that are not an object, as MLflow does (the conformance case params-not-object).
    const parsed = parseJsonRequest(body, this.#schemaNames, limits, { paramsDeclared: (this.signature?.params ?? null) !== null });
    return { table: parsed.table, params: parsed.params };
  }

  /**
   * What a row-wise model answers for zero rows, without running: a table of the signature's output
   * columns with no rows (no columns when the signature names none). Its rows depend on input rows
   * alone, so there are none; other models must run to say.
   */
  emptyOutput(): ColumnTable {
    const names = (this.signature?.outputs ?? []).map((spec, i) => spec.name ?? String(i));
    return { names, columns: names.map(() => []), numRows: 0 };
  }

  /** Predicts and returns only the output. */
  async predict(input: unknown, options: PredictOptions = {}): Promise<unknown> {
    return (await this.predictWithInfo(input, options)).output;
  }

  /**
   * Enforces the signature and params, runs the pipeline with the preloaded artifacts and the
   * input under `inputName`, and returns its single output.
   * @throws FormatError / SchemaError / RunnerNotAllowedError for bad input (4xx), NodeError when a node fails.
   */
  async predictWithInfo(input: unknown, options: PredictOptions = {}): Promise<Prediction> {
    const prepared = this.prepare(input, options);
    const run: RunOptions = {};
    if (options.hooks) run.hooks = options.hooks;
    if (options.signal) run.signal = options.signal;
    return this.run(prepared, run);
  }

  /**
   * Checks an input and its params without running anything: the signature enforced, params
   * validated with defaults filled, the runner taken from the allow-list.
   * @throws FormatError / SchemaError / RunnerNotAllowedError for bad input (4xx).
   */
  prepare(input: unknown, options: Omit<PredictOptions, "hooks"> = {}): PreparedInput {
    const { table: raw, params: bodyParams } = this.toTable(input);
    let table = raw;
    let droppedColumns: string[] = [];
    if (this.signature?.inputs) {
      const enforced = enforceSchema(raw, this.signature.inputs, options.fromText ? { fromText: true } : options.fromArrow ? { fromArrow: true } : {});
      table = enforced.table;
      droppedColumns = enforced.droppedColumns;
    } else if (options.fromText) {
      // No signature to type the text by: read each cell as CSV files are read (numbers, booleans, text).
      table = {
        names: raw.names,
        columns: raw.columns.map((c) => Array.from(c, (v: Cell) => (typeof v === "string" ? inferCsvCell(v) : v))),
        numRows: raw.numRows,
      };
    }
    const given = options.params !== undefined ? options.params : bodyParams;
    const { params, ignored } = enforceParams(given, this.signature?.params ?? null);
    const runner = options.runner ?? (typeof params["runner"] === "string" ? (params["runner"] as string) : undefined) ?? this.defaultRunner;
    this.runner(runner);
    // NB: most requests send no params and no runner: their key is the same every time.
    const plain = (given === null || given === undefined) && options.runner === undefined;
    const batchKey = !this.batchable ? undefined : plain ? (this.#plainBatchKey ??= this.#batchKey(params, runner)) : this.#batchKey(params, runner);
    return { table, params, ignoredParams: ignored, droppedColumns, runner, batchKey };
  }

  /** Runs one prepared input. @throws NodeError when a node fails. */
  async run(prepared: PreparedInput, options: RunOptions = {}): Promise<Prediction> {
    const output = await this.#runTable(prepared.table, prepared.params, prepared.runner, options);
    return this.#prediction(prepared, output);
  }

  /**
   * Runs inputs with one `batchKey` as one pipeline run over their stacked rows, and splits the
   * output back into one prediction per input: for row-wise models (`row_wise: true`, each output
   * row depends on its input row alone), whose many small requests then share one run's overhead.
   * If the run fails, each half is run again the same way, down to single inputs, so every input
   * gets the result or the error it would have had by itself, and one bad input among n costs
   * about 2·log2(n) more runs. An output that is not row-aligned is answered input by input, and
   * the model stops batching.
   * @returns one settled prediction per input, in order.
   */
  async runBatch(inputs: readonly PreparedInput[], options: BatchRunOptions = {}): Promise<PromiseSettledResult<Prediction>[]> {
    const key = inputs[0]?.batchKey;
    if (inputs.length < 2 || key === undefined || !this.#splittable || !inputs.every((i) => i.batchKey === key)) return this.#runEach(inputs, options);
    const first = inputs[0] as PreparedInput;
    let parts: unknown[] | undefined;
    try {
      options.onRun?.(inputs.length);
      const output = await this.#runTable(concatTables(inputs.map((i) => i.table)), first.params, first.runner, options);
      parts = splitRows(
        output,
        inputs.map((i) => i.table.numRows),
      );
    } catch (error) {
      // A run stopped by its signal or deadline is not any input's fault: no retries.
      if (options.signal?.aborted || error instanceof RunTimeoutError) {
        return inputs.map(() => ({ status: "rejected", reason: error }));
      }
      // Some input made the run fail: halve the batch until the culprits run alone.
      const half = Math.ceil(inputs.length / 2);
      return [...(await this.runBatch(inputs.slice(0, half), options)), ...(await this.runBatch(inputs.slice(half), options))];
    }
    if (parts) return inputs.map((input, i) => ({ status: "fulfilled", value: this.#prediction(input, (parts as unknown[])[i]) }));
    // NB: an output that is not row-aligned will not be next time either.
    this.#splittable = false;
    return this.#runEach(inputs, options);
  }

  async #runEach(inputs: readonly PreparedInput[], options: BatchRunOptions): Promise<PromiseSettledResult<Prediction>[]> {
    return Promise.allSettled(
      inputs.map((input) => {
        options.onRun?.(1);
        return this.run(input, options);
      }),
    );
  }

  /**
   * Whether `runBatch` may stack inputs: the model is row-wise, its input signature types every
   * column, its pipeline takes plain `columns` or `records` (a DataFrame or an Arrow table would
   * type a column from its values, so neighbours could change a request's types), and its output
   * splits by rows.
   */
  get batchable(): boolean {
    return this.rowWise && this.#typedInputs && (this.inputType === "columns" || this.inputType === "records") && this.#splittable;
  }

  #splittable = true;
  #plainBatchKey: string | undefined;

  /** NB: inputs are enforced against the signature (its columns, in its order, typed), so the runner and params decide. */
  #batchKey(params: Record<string, unknown>, runner: string): string {
    // NB: JSON would write NaN and ±Infinity all as null: each gets its own spelling, so they never share a run.
    const paramsKey =
      Object.keys(params).length === 0
        ? ""
        : JSON.stringify(params, (_, v: unknown) => (typeof v === "bigint" ? `${v}n` : typeof v === "number" && !Number.isFinite(v) ? `${v}` : v));
    return `${runner}\u0000${paramsKey}`;
  }

  #prediction(prepared: PreparedInput, output: unknown): Prediction {
    return { output, ignoredParams: prepared.ignoredParams, droppedColumns: prepared.droppedColumns, runner: prepared.runner, rows: prepared.table.numRows };
  }

  async #runTable(table: ColumnTable, params: Readonly<Record<string, unknown>>, runnerName: string, options: RunOptions): Promise<unknown> {
    const runner = this.runner(runnerName);
    let pipelineParams: Record<string, unknown> = this.parameters as Record<string, unknown>;
    for (const [k, v] of Object.entries(params)) if (k !== "runner") pipelineParams = withParam(pipelineParams, k, v);
    const catalog = this.#catalog.derive({ params: pipelineParams, feed: { [this.inputName]: toInputType(table, this.inputType, this.columnArrays) } });
    const outputs = await runner.run(this.pipeline, catalog, options);
    return outputs[this.outputName];
  }

  /** Stops worker threads and removes what loading created (an extracted archive). */
  async close(): Promise<void> {
    for (const runner of this.#runners.values()) {
      if (runner instanceof WorkerRunner) await runner.close();
    }
    await this.#cleanup?.();
  }
}
