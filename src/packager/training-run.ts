import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { type DataCatalog, MetricsDataset, SequentialRunner, type Hooks, type Pipeline, type Runner } from "../runtime/index.js";
import { FileStore, ModelRegistry, resolveTrackingUri } from "../store/index.js";
import { bundlePipelines, type BundleResult } from "./bundle.js";
import { PackagingError } from "./errors.js";
import { packageModel } from "./package-model.js";
import { applyParamOverrides, flattenParams } from "./params.js";
import { PipelineML } from "./pipeline-ml.js";
import { removeStaleModelPartials } from "./stale-partials.js";
import { getPipeline, loadProject, projectCatalog } from "./project.js";

export interface RunProjectOptions {
  projectDir: string;
  pipelineName: string;
  /** `key=value` parameter overrides. */
  params?: readonly string[];
  trackingUri?: string;
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
  registeredVersion?: { name: string; version: number };
}

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
 * nothing. Every pipelineMl rule is checked against the catalog before the run starts.
 */
export async function runProject(options: RunProjectOptions): Promise<RunProjectResult> {
  const project = await loadProject(options.projectDir);
  const selected = getPipeline(project, options.pipelineName);
  const params = applyParamOverrides(project.parameters, options.params ?? []);
  const catalog = projectCatalog(project, params);
  const ml = selected instanceof PipelineML ? selected : undefined;
  let bundle: BundleResult | undefined;
  if (ml) {
    ml.checkCatalog(catalog);
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
  const missing = needed.filter((i) => !catalog.has(i) && !(ml && i === ml.inputName));
  if (missing.length > 0) {
    throw new PackagingError(`Pipeline "${options.pipelineName}" needs [${missing.join(", ")}], which neither catalog.yml nor parameters.yml provide.`, {
      code: "MISSING_INPUTS",
    });
  }

  const store = await FileStore.open(resolveTrackingUri(options.trackingUri));
  // NB: model folders that an earlier run, killed while packaging, left half-written.
  await removeStaleModelPartials(store);
  const experiment = await store.getOrCreateExperiment(options.experiment ?? "Default");
  const commit = gitCommit(project.dir);
  const run = await store.createRun({
    experimentId: experiment.experimentId,
    ...(options.runName ? { runName: options.runName } : {}),
    tags: {
      "mlflow.source.name": project.pipelinesFile,
      "mlflow.source.type": "LOCAL",
      "pipeserve.pipeline": options.pipelineName,
      "pipeserve.project": project.dir,
      ...(options.command ? { "pipeserve.command": options.command } : {}),
      ...(commit ? { "mlflow.source.git.commit": commit } : {}),
    },
  });
  try {
    // Decimals keep their ".0" when logged, as Python logs floats: an override's own text decides
    // (scale=2 logs 2), else parameters.yml's. The signature types either as double.
    const overridden = new Set((options.params ?? []).map((o) => o.slice(0, o.indexOf("="))));
    const floats = new Set([...project.floatParams, ...floatOverrides(options.params ?? [])]);
    const loggedFloats = new Set([...[...project.floatParams].filter((k) => !overridden.has(k)), ...floatOverrides(options.params ?? [])]);
    const logged = Object.fromEntries(
      Object.entries(flattenParams(params)).map(([k, v]) => [k, loggedFloats.has(k) && typeof v === "number" && Number.isInteger(v) ? `${v}.0` : v]),
    );
    await store.logParams(run.runId, logged);
    const captured = new Map<string, unknown>();
    const hooks: Hooks = {
      async afterNodeRun({ node, outputs }) {
        for (const name of node.outputNames) {
          const dataset = catalog.get(name);
          if (dataset instanceof MetricsDataset) {
            for (const [key, point] of Object.entries(MetricsDataset.normalise(outputs[name], dataset.prefix))) {
              await store.logMetric(run.runId, key, point.value, { step: point.step });
            }
          }
          if (ml && name === ml.inputName) captured.set(name, outputs[name]);
        }
      },
    };
    const training: Pipeline = ml ? ml.training.withSource({ module: project.moduleUrl, exportName: `pipelines.${options.pipelineName}` }) : selected;
    await (options.runner ?? new SequentialRunner()).run(training, catalog, { hooks, runId: run.runId });

    const result: RunProjectResult = { runId: run.runId, experimentId: experiment.experimentId };
    if (ml) {
      const artifactPath = ml.logModel.artifactPath ?? "model";
      const exampleData = captured.has(ml.inputName) ? captured.get(ml.inputName) : await loadExample(catalog, ml.inputName);
      await packageModel({
        ml,
        pipelinesFile: project.pipelinesFile,
        pipelineName: options.pipelineName,
        catalog,
        params,
        exampleData,
        target: join(await store.artifactDir(run.runId), artifactPath),
        ...(bundle ? { bundle } : {}),
        floatParams: floats,
        runId: run.runId,
        artifactPath,
      });
      result.modelUri = `runs:/${run.runId}/${artifactPath}`;
      const registeredName = options.registeredModelName ?? ml.logModel.registeredModelName;
      if (registeredName) {
        const mv = await new ModelRegistry(store.root).createVersion(registeredName, result.modelUri, {
          runId: run.runId,
          storageLocation: join(await store.artifactDir(run.runId), artifactPath),
        });
        result.registeredVersion = { name: registeredName, version: mv.version };
      }
    }
    await store.endRun(run.runId, "FINISHED");
    return result;
  } catch (error) {
    await store.endRun(run.runId, "FAILED").catch(() => undefined);
    throw error;
  }
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
