import { execFileSync } from "node:child_process";
import { type DataCatalog, MetricsDataset, SequentialRunner, type Hooks, type Pipeline, type Runner } from "../runtime/index.js";
import {
  RUN_WRITER_TAG,
  type TrackingStore,
  checkKey,
  endRunsOfGoneWriters,
  openRegistryStore,
  openTrackingStore,
  registryUriFrom,
  trackingUriFrom,
} from "../store/index.js";
import { redactCredentials, writerTag } from "../util/index.js";
import { bundlePipelines, type BundleResult } from "./bundle.js";
import { PackagingError } from "./errors.js";
import { packageModel } from "./package-model.js";
import { applyParamOverrides, flattenParams, splitParamOverrides } from "./params.js";
import { PipelineML } from "./pipeline-ml.js";
import { checkModelName, checkRegistrationName, logModelInRun, registerLoggedModel } from "./logged-model.js";
import { getPipeline, loadProject, projectCatalog, type Project } from "./project.js";
import { RunCatalog } from "./run-catalog.js";
import { removeStaleModelPartials } from "./stale-partials.js";
import { type TypecheckOutcome, typecheckProject } from "./typecheck.js";

export interface RunProjectOptions {
  projectDir: string;
  pipelineName: string;
  /** `key=value` parameter overrides. */
  params?: readonly string[];
  trackingUri?: string;
  /** The model registry (`--registry-uri`); `MLFLOW_REGISTRY_URI`, then the tracking URI, by default. */
  registryUri?: string;
  /**
   * Type-check the project with its own TypeScript before training (true by default; a project
   * without TypeScript installed is not checked). `pipeserve run --no-typecheck` sets it false.
   */
  typecheck?: boolean;
  /** Told whether the type-check ran, before training. */
  onTypecheck?: (outcome: TypecheckOutcome) => void;
  /** Told the run's id once the run exists (before training), so a caller can name it if the run fails. */
  onRunStarted?: (runId: string) => void;
  experiment?: string;
  runName?: string;
  /** Registers the packaged model under this name (overrides the pipeline's `logModel.registeredModelName`). */
  registeredModelName?: string;
  runner?: Runner;
  /** The command line, recorded as a tag. */
  command?: string;
}

export interface RunProjectResult {
  runId: string;
  experimentId: string;
  /** `runs:/<id>/<artifactPath>` when a model was packaged. */
  modelUri?: string;
  /** The MLflow 3 LoggedModel the packaged model was logged as (`models:/<modelId>`). */
  modelId?: string;
  registeredVersion?: { name: string; version: number };
  /** The last value of each metric the run logged. */
  metrics: Record<string, number>;
}

/** The tag a failed run's error is recorded in, beside MLflow's run description (`mlflow.note.content`). */
export const RUN_ERROR_TAG = "pipeserve.error";

function gitCommit(dir: string): string | undefined {
  try {
    return (
      execFileSync("git", ["rev-parse", "HEAD"], { cwd: dir, stdio: ["ignore", "pipe", "ignore"], timeout: 5000 })
        .toString()
        .trim() || undefined
    );
  } catch {
    return undefined;
  }
}

/**
 * Runs a project's pipeline inside a tracked run: logs the parameters (flattened with dots) and
 * the metrics nodes save to MetricsDatasets; for a pipelineMl, packages the inference pipeline
 * into the run's artifacts and registers it if asked. A failed run is marked FAILED and packages
 * nothing. Every pipelineMl rule is checked against the catalog before the run starts. The files
 * the run's nodes save go to a folder of its own (RunCatalog), then to the catalog's paths: runs
 * of one project at once never read back or package each other's files.
 */
export async function runProject(options: RunProjectOptions): Promise<RunProjectResult> {
  const { project, selected, params, ml, bundle } = await checkRun(options);
  // NB: after the rules (cheap, and they name the pipeline's mistakes) and before any run is written.
  if (options.typecheck !== false) options.onTypecheck?.(await typecheckProject(project.dir, project.pipelinesFile));
  const store = await openTrackingStore(trackingUriFrom(options.trackingUri));
  try {
    return await runInStore(store, project, selected, params, ml, bundle, options);
  } finally {
    await store.close();
  }
}

async function runInStore(
  store: TrackingStore,
  project: Awaited<ReturnType<typeof checkRun>>["project"],
  selected: Awaited<ReturnType<typeof checkRun>>["selected"],
  params: Awaited<ReturnType<typeof checkRun>>["params"],
  ml: Awaited<ReturnType<typeof checkRun>>["ml"],
  bundle: Awaited<ReturnType<typeof checkRun>>["bundle"],
  options: RunProjectOptions,
): Promise<RunProjectResult> {
  // NB: model folders that an earlier run, killed while packaging, left half-written; and the runs killed ones left RUNNING.
  await removeStaleModelPartials(store);
  const experiment = await store.getOrCreateExperiment(options.experiment ?? "Default");
  await endRunsOfGoneWriters(store, [experiment.experimentId]);
  const run = await createTrackedRun(store, experiment.experimentId, project, options);
  options.onRunStarted?.(run.runId);
  const training: Pipeline = ml ? ml.training.withSource({ module: project.moduleUrl, exportName: `pipelines.${options.pipelineName}` }) : selected;
  let opened: RunCatalog | undefined;
  try {
    // This run's nodes, and its packaging, read only the files this run wrote (see RunCatalog).
    const catalog = await RunCatalog.open(project.catalogConfig, { baseDir: project.dir, params, codecs: project.codecs }, training);
    opened = catalog;
    const floats = await logRunParams(store, run.runId, project, params, options.params ?? []);
    const captured = new Map<string, unknown>();
    const hooks = trackingHooks(store, run.runId, catalog, ml?.inputName, captured);
    await (options.runner ?? new SequentialRunner()).run(training, catalog, { hooks, runId: run.runId });

    const result: RunProjectResult = { runId: run.runId, experimentId: experiment.experimentId, metrics: {} };
    if (ml) {
      const exampleData = captured.has(ml.inputName) ? captured.get(ml.inputName) : await loadExample(catalog, ml.inputName);
      Object.assign(result, await packageAndRegister(store, run.runId, { ml, project, options, catalog, params, exampleData, bundle, floats }));
    }
    await store.endRun(run.runId, "FINISHED");
    const logged = await store.getRun(run.runId);
    result.metrics = Object.fromEntries(Object.entries(logged.metrics).map(([key, point]) => [key, point.value]));
    return result;
  } catch (error) {
    await endRunFailed(store, run.runId, error);
    throw error;
  } finally {
    await opened?.close();
  }
}

/**
 * Ends a run FAILED with its error recorded, where `runs show` and MLflow's UI (the run's
 * description) find it. Best effort: the error that failed the run is what the caller throws.
 */
export async function endRunFailed(store: TrackingStore, runId: string, error: unknown): Promise<void> {
  const message = redactCredentials((error as Error)?.message ?? String(error));
  await store.setTags(runId, { [RUN_ERROR_TAG]: message, "mlflow.note.content": `This run failed: ${message}` }).catch(() => undefined);
  await store.endRun(runId, "FAILED").catch(() => undefined);
}

/** The longest parameter value MLflow logs (its MAX_PARAM_VAL_LENGTH). */
const MAX_PARAM_VALUE_LENGTH = 6000;

/**
 * Checks, before any run starts, that every parameter can be logged: its dotted name is one a
 * store takes, and its value is within MLflow's 6,000 characters. NB: found by an audit: a
 * parameter named `~` or by a list (`? [a, b]`) failed the run at logging, leaving it FAILED; a
 * longer value was written where MLflow refuses it.
 * @throws PackagingError INVALID_PROJECT naming the parameter and conf/parameters.yml.
 */
function checkParamNames(params: Record<string, unknown>): void {
  for (const [name, value] of Object.entries(flattenParams(params))) {
    try {
      checkKey("param", name);
    } catch (error) {
      throw new PackagingError(`conf/parameters.yml: the parameter ${JSON.stringify(name)} cannot be logged: ${(error as Error).message}`, {
        code: "INVALID_PROJECT",
        cause: error,
      });
    }
    const text = typeof value === "string" ? value : (JSON.stringify(value) ?? "");
    if (text.length > MAX_PARAM_VALUE_LENGTH) {
      throw new PackagingError(
        `conf/parameters.yml: the parameter "${name}" is ${text.length} characters long, and MLflow logs at most ${MAX_PARAM_VALUE_LENGTH}. Keep long data in a dataset (conf/catalog.yml), not a parameter.`,
        { code: "INVALID_PROJECT" },
      );
    }
  }
}

/**
 * Loads the project and checks, before any run starts, what would otherwise fail after training:
 * the pipelineMl rules against the catalog, code that will not bundle, and missing inputs.
 */
async function checkRun(options: RunProjectOptions) {
  const project = await loadProject(options.projectDir);
  const selected = getPipeline(project, options.pipelineName);
  const params = applyParamOverrides(project.parameters, options.params ?? []);
  checkParamNames(params);
  const shared = projectCatalog(project, params);
  const ml = selected instanceof PipelineML ? selected : undefined;
  let bundle: BundleResult | undefined;
  if (ml) {
    checkModelName(ml.logModel.artifactPath ?? "model", "logModel.artifactPath");
    // NB: a name the registry would refuse is said now, not after the training.
    const registered = options.registeredModelName ?? ml.logModel.registeredModelName;
    if (registered !== undefined) checkRegistrationName(registered, options.trackingUri, options.registryUri);
    ml.checkCatalog(shared);
    // Bundled before training: code that will not package fails now, not after hours of training;
    // and the model carries the code that trained it, even if the files change meanwhile.
    bundle = await bundlePipelines(project.pipelinesFile, {
      pipelineName: options.pipelineName,
      exportName: "inference",
      external: ml.logModel.external ?? [],
    });
  }
  // NB: the params inference reads are checked now too: packaging needs them only after training.
  const needed = ml ? [...new Set([...selected.inputs(), ...ml.parameterInputs()])] : selected.inputs();
  const missing = needed.filter((i) => !shared.has(i) && !(ml && i === ml.inputName));
  if (missing.length > 0) {
    throw new PackagingError(`Pipeline "${options.pipelineName}" needs [${missing.join(", ")}], which neither catalog.yml nor parameters.yml provide.`, {
      code: "MISSING_INPUTS",
    });
  }
  return { project, selected, params, ml, bundle };
}

/** Opens the run with MLflow's source tags and pipeserve's pipeline, project and command tags. */
function createTrackedRun(store: TrackingStore, experimentId: string, project: Project, options: RunProjectOptions) {
  const commit = gitCommit(project.dir);
  return store.createRun({
    experimentId,
    ...(options.runName ? { runName: options.runName } : {}),
    tags: {
      "mlflow.source.name": project.pipelinesFile,
      "mlflow.source.type": "LOCAL",
      "pipeserve.pipeline": options.pipelineName,
      "pipeserve.project": project.dir,
      [RUN_WRITER_TAG]: writerTag(),
      ...(options.command ? { "pipeserve.command": redactCredentials(options.command) } : {}),
      ...(commit ? { "mlflow.source.git.commit": commit } : {}),
    },
  });
}

/**
 * Logs the params flattened with dots. Decimals keep their ".0" when logged, as Python logs
 * floats: an override's own text decides (scale=2 logs 2), else parameters.yml's. Returns the
 * params the signature types as double.
 */
async function logRunParams(
  store: TrackingStore,
  runId: string,
  project: Project,
  params: Record<string, unknown>,
  entries: readonly string[],
): Promise<Set<string>> {
  // NB: found by an audit: `--params name=x,k=3.0` was read whole here, so k lost its decimal (logged 3, typed long) where two flags kept it.
  const overrides = splitParamOverrides(entries);
  const overridden = new Set(overrides.map((o) => o.slice(0, o.indexOf("="))));
  const floats = new Set([...project.floatParams, ...floatOverrides(overrides)]);
  const loggedFloats = new Set([...[...project.floatParams].filter((k) => !overridden.has(k)), ...floatOverrides(overrides)]);
  const logged = Object.fromEntries(
    Object.entries(flattenParams(params)).map(([k, v]) => [k, loggedFloats.has(k) && typeof v === "number" && Number.isInteger(v) ? `${v}.0` : paramText(v)]),
  );
  await store.logParams(runId, logged);
  return floats;
}

/** Hooks that log what nodes save to MetricsDatasets, and keep the model's input data as the example. */
function trackingHooks(store: TrackingStore, runId: string, catalog: DataCatalog, inputName: string | undefined, captured: Map<string, unknown>): Hooks {
  return {
    async afterNodeRun({ node, outputs }) {
      for (const name of node.outputNames) {
        const dataset = catalog.get(name);
        if (dataset instanceof MetricsDataset) {
          for (const [key, point] of Object.entries(MetricsDataset.normalise(outputs[name], dataset.prefix))) {
            await store.logMetric(runId, key, point.value, { step: point.step });
          }
        }
        if (name === inputName) captured.set(name, outputs[name]);
      }
    },
  };
}

interface PackageInputs {
  ml: PipelineML;
  project: Project;
  options: RunProjectOptions;
  catalog: DataCatalog;
  params: Record<string, unknown>;
  exampleData: unknown;
  bundle: BundleResult | undefined;
  floats: Set<string>;
}

/**
 * Packages the inference pipeline as the run's MLflow 3 LoggedModel (named after the artifact
 * path; `runs:/<run_id>/<artifactPath>` reaches it), and registers a version if asked.
 */
async function packageAndRegister(
  store: TrackingStore,
  runId: string,
  p: PackageInputs,
): Promise<Pick<RunProjectResult, "modelUri" | "modelId" | "registeredVersion">> {
  const artifactPath = p.ml.logModel.artifactPath ?? "model";
  const logged = await logModelInRun(store, runId, artifactPath, (target, loggedModel) =>
    packageModel({
      ml: p.ml,
      pipelinesFile: p.project.pipelinesFile,
      pipelineName: p.options.pipelineName,
      catalog: p.catalog,
      params: p.params,
      exampleData: p.exampleData,
      target,
      ...(p.bundle ? { bundle: p.bundle } : {}),
      floatParams: p.floats,
      runId,
      artifactPath,
      loggedModel,
    }),
  );
  const result = { modelUri: `runs:/${runId}/${artifactPath}`, modelId: logged.modelId };
  const registeredName = p.options.registeredModelName ?? p.ml.logModel.registeredModelName;
  if (!registeredName) return result;
  const registry = await openRegistryStore(trackingUriFrom(p.options.trackingUri), p.options.registryUri ?? registryUriFrom(undefined));
  try {
    const mv = await registerLoggedModel(store, registry, registeredName, runId, logged);
    return { ...result, registeredVersion: { name: registeredName, version: mv.version } };
  } finally {
    await registry.close();
  }
}

/**
 * A parameter's value as MLflow's Python client logs it (`str(value)`) where JSON would differ: a
 * date as `2024-01-01` (with its time, `2024-01-01 12:30:00`, when it has one), not a quoted ISO
 * string; NaN and infinities as `nan`, `inf`, `-inf`, not null. Other values as they are.
 */
function paramText(value: unknown): unknown {
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) return String(value);
    const iso = value.toISOString();
    return iso.endsWith("T00:00:00.000Z") ? iso.slice(0, 10) : iso.replace("T", " ").replace(/\.000Z$|Z$/, "");
  }
  if (typeof value === "number" && !Number.isFinite(value)) return Number.isNaN(value) ? "nan" : value > 0 ? "inf" : "-inf";
  return value;
}

/** Overrides written as decimals (`lr=0.10`). */
function floatOverrides(overrides: readonly string[]): string[] {
  return overrides.filter((o) => /^[^=]+=\s*[-+]?(\d*\.\d*|\d+[eE])/.test(o)).map((o) => o.slice(0, o.indexOf("=")));
}

async function loadExample(catalog: DataCatalog, name: string): Promise<unknown> {
  if (!catalog.has(name)) return undefined;
  try {
    return await catalog.load(name);
  } catch {
    return undefined;
  }
}
