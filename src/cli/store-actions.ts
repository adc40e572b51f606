// What \`inspect\`, \`runs\`, \`models\`, \`export\` and \`import\` do; store-commands.ts registers them and
// imports this module only when one of them runs (\`pipeserve --help\` loads none of it).
import { cp, mkdtemp, readFile, rename, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { signatureFromMlflow } from "../tabular/index.js";
import {
  type RegistryStore,
  type RunInfo,
  type RunView,
  type TrackingStore,
  ArchiveError,
  StoreError,
  checkModelName,
  createModelArchive,
  spoolModelArchive,
  writeModelArchive,
  endRunsOfGoneWriters,
  extractModelArchive,
  joinArtifactUri,
  openRegistryStore,
  openTrackingStore,
} from "../store/index.js";
import {
  ModelLoadError,
  type VerifiedModel,
  checkRegisteredDigest,
  modelFile,
  readEnvironment,
  readMLmodel,
  readPipelineJson,
  readPipelineJsonWithDigest,
  registryTags,
  resolveModelUri,
  verifyModelFiles,
} from "../loader/index.js";
import { removeStaleModelPartials } from "../packager/index.js";
import { checkOutputFile } from "../tabular/index.js";
import { partialPath } from "../util/index.js";
import { UsageError } from "./errors.js";
import { type CliIo, type Print, fromCwd, modelUriFromCwd, printer } from "./io.js";

function table(rows: string[][]): string {
  if (rows.length === 0) return "";
  const widths = (rows[0] as string[]).map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length)));
  return rows
    .map((r) =>
      r
        .map((c, i) => c.padEnd(widths[i] as number))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}

function time(ms: number | null | undefined): string {
  return ms ? new Date(ms).toISOString().replace("T", " ").slice(0, 19) : "-";
}

/** Runs `fn` with the tracking store, closed afterwards; `create: false`: a store that is not there is an error, not made. */
async function withStore<T>(trackingUri: string, fn: (store: TrackingStore) => Promise<T>, create = false): Promise<T> {
  const store = await openTrackingStore(trackingUri, { create });
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

/**
 * Runs `fn` with the model registry, closed afterwards. NB: only `create` makes a missing database:
 * `models list --tracking-uri sqlite:///typo.db` made one and said "No registered models." (found
 * by an audit); now it is refused, naming the path, as `runs list` refuses it.
 */
async function withRegistry<T>(
  options: { trackingUri: string; registryUri?: string },
  fn: (registry: RegistryStore) => Promise<T>,
  create = false,
): Promise<T> {
  const registry = await openRegistryStore(options.trackingUri, options.registryUri, { create });
  try {
    return await fn(registry);
  } finally {
    await registry.close();
  }
}

interface RunsListOptions {
  experiment?: string;
  /** Which runs by lifecycle stage (MLflow's `--view`); active ones by default. */
  view?: RunView;
  trackingUri: string;
  json: boolean;
}

export async function runsList(options: RunsListOptions, print: Print, warn: Print = () => undefined): Promise<void> {
  return withStore(options.trackingUri, (store) => listRuns(store, options, print, warn));
}

async function listRuns(store: TrackingStore, options: RunsListOptions, print: Print, warn: Print): Promise<void> {
  const ids = options.experiment ? [(await store.getExperiment(options.experiment)).experimentId] : undefined;
  // NB: a run whose `pipeserve run` was interrupted (Ctrl-C, SIGTERM, SIGKILL) is ended KILLED, not listed RUNNING for ever.
  await endRunsOfGoneWriters(store, ids);
  const view = options.view ?? "active_only";
  // NB: one damaged run folder is left out with a warning, as MLflow's FileStore does, rather than failing the whole list.
  const onUnreadable = (runId: string, error: Error): void => warn(`pipeserve: warning: run ${runId} cannot be read, so it is not listed: ${error.message}`);
  const runs = await store.searchRuns({ ...(ids ? { experimentIds: ids } : {}), view, onUnreadable });
  if (options.json) return print(JSON.stringify(runs, null, 2));
  if (runs.length === 0) return print(view === "deleted_only" ? "No deleted runs." : "No runs.");
  // NB: the lifecycle column only when deleted runs may be listed, so the everyday table stays as it was.
  const stage = view !== "active_only";
  print(
    table([
      ["RUN ID", "NAME", "EXPERIMENT", "STATUS", ...(stage ? ["STAGE"] : []), "STARTED"],
      ...runs.map((r) => [r.runId, r.runName, r.experimentId, r.status, ...(stage ? [r.lifecycleStage] : []), time(r.startTime)]),
    ]),
  );
}

/** The registered versions that name `runId` as their run, as `models:/NAME/N (@alias…)`; best effort (a registry that cannot be read gives none). */
async function versionsOfRun(runId: string, options: { trackingUri: string; registryUri?: string }): Promise<string[]> {
  try {
    return await withRegistry(options, async (registry) => {
      const out: string[] = [];
      for (const model of await registry.listModels())
        for (const mv of await registry.listVersions(model.name))
          if (mv.runId === runId) out.push(`models:/${model.name}/${mv.version}${mv.aliases.length ? ` (${mv.aliases.map((a) => `@${a}`).join(", ")})` : ""}`);
      return out;
    });
  } catch {
    return [];
  }
}

/**
 * `pipeserve runs delete RUN_ID…`: marks runs deleted, as `mlflow runs delete` (files and rows
 * stay; `runs restore` undoes it). Loading a deleted run's model is refused from then on unless
 * `--allow-deleted`, so registered versions still pointing at the run are named on stderr.
 */
/**
 * Applies `change` to every run in turn: each one is tried even when another fails, so that what
 * was done is said before the failure. @throws the first failure, the others written to stderr.
 */
async function changeRuns(
  trackingUri: string,
  runIds: string[],
  change: (store: TrackingStore, runId: string) => Promise<RunInfo>,
  io: CliIo,
): Promise<{ done: RunInfo[]; failure?: unknown }> {
  return withStore(trackingUri, async (store) => {
    const done: RunInfo[] = [];
    const failures: unknown[] = [];
    for (const runId of runIds) {
      try {
        done.push(await change(store, runId));
      } catch (error) {
        failures.push(error);
      }
    }
    for (const other of failures.slice(1)) io.stderr.write(`pipeserve: ${(other as Error).message}\n`);
    return failures.length > 0 ? { done, failure: failures[0] } : { done };
  });
}

/**
 * `pipeserve runs delete RUN_ID…`: marks runs deleted, as `mlflow runs delete` (files and rows
 * stay; `runs restore` undoes it). Loading a deleted run's model is refused from then on unless
 * `--allow-deleted`, so registered versions still pointing at the run are named on stderr.
 */
export async function runsDelete(runIds: string[], options: { trackingUri: string; registryUri?: string; json: boolean }, io: CliIo): Promise<void> {
  const print = printer(io.stdout);
  const { done, failure } = await changeRuns(options.trackingUri, runIds, (store, runId) => store.deleteRun(runId), io);
  for (const run of done) {
    const versions = await versionsOfRun(run.runId, options);
    if (versions.length > 0) {
      io.stderr.write(
        `pipeserve: warning: run ${run.runId} is registered as ${versions.join(", ")}; loading it is now refused unless --allow-deleted (or \`pipeserve runs restore ${run.runId}\`).\n`,
      );
    }
  }
  if (options.json) print(JSON.stringify(done, null, 2));
  else for (const run of done) print(`Deleted run ${run.runId} (${run.runName}). Undo with \`pipeserve runs restore ${run.runId}\`.`);
  if (failure !== undefined) throw failure;
}

/** `pipeserve runs restore RUN_ID…`: brings deleted runs back, as `mlflow runs restore`. */
export async function runsRestore(runIds: string[], options: { trackingUri: string; json: boolean }, io: CliIo): Promise<void> {
  const print = printer(io.stdout);
  const { done, failure } = await changeRuns(options.trackingUri, runIds, (store, runId) => store.restoreRun(runId), io);
  if (options.json) print(JSON.stringify(done, null, 2));
  else for (const run of done) print(`Restored run ${run.runId} (${run.runName}).`);
  if (failure !== undefined) throw failure;
}

export async function runsShow(runId: string, options: { trackingUri: string; json: boolean }, print: Print): Promise<void> {
  return withStore(options.trackingUri, (store) => showRun(store, runId, options, print));
}

async function showRun(store: TrackingStore, runId: string, options: { json: boolean }, print: Print): Promise<void> {
  const run = await store.getRun(runId);
  if (options.json) return print(JSON.stringify(run, null, 2));
  const lines = [
    `Run ${run.info.runId} (${run.info.runName})`,
    `  experiment ${run.info.experimentId}, ${run.info.status}, started ${time(run.info.startTime)}, ended ${time(run.info.endTime)}`,
    `  artifacts  ${run.info.artifactUri}`,
    "Params:",
    ...Object.entries(run.params).map(([k, v]) => `  ${k} = ${v}`),
    "Metrics:",
    ...Object.entries(run.metrics).map(([k, p]) => `  ${k} = ${p.value} (step ${p.step})`),
    "Tags:",
    ...Object.entries(run.tags).map(([k, v]) => `  ${k} = ${v}`),
  ];
  if (run.outputs.length > 0) {
    lines.push("Logged models:");
    for (const output of run.outputs) {
      const model = await store.getLoggedModel(output.modelId).catch(() => undefined);
      lines.push(`  models:/${output.modelId}${model ? ` (${model.name}, ${model.status})` : " (not in this store)"}`);
    }
  }
  print(lines.join("\n"));
}

export async function modelsList(options: { trackingUri: string; registryUri?: string; json: boolean }, print: Print): Promise<void> {
  const models = await withRegistry(options, (registry) => registry.listModels());
  if (options.json) return print(JSON.stringify(models, null, 2));
  if (models.length === 0) return print("No registered models.");
  print(
    table([
      ["NAME", "LATEST", "ALIASES", "UPDATED"],
      ...models.map((m) => [
        m.name,
        String(m.latestVersion ?? "-"),
        Object.entries(m.aliases)
          .map(([a, v]) => `${a}→${v}`)
          .join(", ") || "-",
        time(m.lastUpdatedTimestamp),
      ]),
    ]),
  );
}

export async function modelsVersions(name: string, options: { trackingUri: string; registryUri?: string; json: boolean }, print: Print): Promise<void> {
  const versions = await withRegistry(options, (registry) => registry.listVersions(name));
  if (options.json) return print(JSON.stringify(versions, null, 2));
  print(
    table([
      ["VERSION", "ALIASES", "RUN ID", "SOURCE", "CREATED"],
      ...versions.map((v) => [String(v.version), v.aliases.join(", ") || "-", v.runId || "-", v.source, time(v.creationTimestamp)]),
    ]),
  );
}

export async function modelsAlias(
  name: string,
  alias: string,
  version: string,
  options: { trackingUri: string; registryUri?: string; json: boolean },
  print: Print,
): Promise<void> {
  const mv = await withRegistry(options, (registry) => registry.setAlias(name, alias, version));
  if (options.json) return print(JSON.stringify(mv, null, 2));
  print(`models:/${name}@${alias} → version ${mv.version}`);
}

/** `pipeserve models alias NAME ALIAS --delete`: removes the alias (the version it pointed at stays). */
export async function modelsDeleteAlias(
  name: string,
  alias: string,
  options: { trackingUri: string; registryUri?: string; json: boolean },
  print: Print,
): Promise<void> {
  const before = await withRegistry(options, async (registry) => {
    // NB: the alias's number, not its version: an alias left on a version since deleted can be removed too.
    const aliases = (await registry.getModel(name)).aliases;
    const version = Object.hasOwn(aliases, alias) ? aliases[alias] : undefined;
    // (getVersionByAlias throws for a missing alias, naming the ones there are.)
    if (version === undefined) return (await registry.getVersionByAlias(name, alias)).version;
    await registry.deleteAlias(name, alias);
    return version;
  });
  if (options.json) return print(JSON.stringify({ name, alias, deleted: true, version: before }, null, 2));
  print(`models:/${name}@${alias} removed (it pointed at version ${before}).`);
}

/**
 * `pipeserve models delete-version NAME VERSION`: deletes a version as MLflow does (its number is
 * never given again; the aliases that pointed at it go; the model's files stay with its run).
 */
export async function modelsDeleteVersion(
  name: string,
  version: string,
  options: { trackingUri: string; registryUri?: string; json: boolean },
  print: Print,
): Promise<void> {
  const mv = await withRegistry(options, (registry) => registry.deleteVersion(name, version));
  if (options.json) return print(JSON.stringify({ ...mv, deleted: true }, null, 2));
  const aliases = mv.aliases.length > 0 ? `; removed its aliases ${mv.aliases.map((a) => `@${a}`).join(", ")}` : "";
  print(`Deleted version ${mv.version} of "${name}"${aliases}.`);
}

/** What inspect shows of an ONNX artifact: its header, inputs and outputs, or why it could not be read. */
type OnnxSummary =
  | { ir_version: number; producer: string; opsets: { domain: string; version: number }[]; inputs: string[]; outputs: string[] }
  | { error: string };

/** Each ONNX artifact's summary (the graph is parsed by onnxruntime, never run). */
async function onnxArtifacts(dir: string, artifacts: Readonly<Record<string, { type: string; path: string }>>): Promise<Record<string, OnnxSummary>> {
  const out: Record<string, OnnxSummary> = {};
  const onnx = Object.entries(artifacts).filter(([, a]) => a.type === "OnnxModelDataset");
  if (onnx.length === 0) return out;
  const { describeOnnx, tensorLine } = await import("../runtime/index.js");
  for (const [name, a] of onnx) {
    try {
      const info = await describeOnnx(await readFile(await modelFile(dir, a.path, `Artifact "${name}"`)), `Artifact "${name}"`);
      out[name] = {
        ir_version: info.irVersion,
        producer: info.producer,
        opsets: info.opsets,
        inputs: info.inputs.map(tensorLine),
        outputs: info.outputs.map(tensorLine),
      };
    } catch (error) {
      out[name] = { error: (error as Error).message };
    }
  }
  return out;
}

function onnxLines(summary: OnnxSummary | undefined): string[] {
  if (summary === undefined) return [];
  if ("error" in summary) return [`    ONNX: cannot read it: ${summary.error}`];
  return [
    `    ONNX ir ${summary.ir_version}; opsets ${summary.opsets.map((o) => `${o.domain} ${o.version}`).join(", ")}${summary.producer ? `; made by ${summary.producer}` : ""}`,
    `    inputs  ${summary.inputs.join(", ")}`,
    `    outputs ${summary.outputs.join(", ")}`,
  ];
}

/** `pipeserve inspect`: reads the model's files without running its code. */
export async function inspect(
  uri: string,
  options: { trackingUri: string; registryUri?: string; allowDeleted?: boolean; json: boolean },
  io: CliIo,
): Promise<void> {
  const print = printer(io.stdout);
  const resolved = await resolveModelUri(modelUriFromCwd(io, uri), options);
  try {
    const { mlmodel, flavor } = await readMLmodel(resolved.dir);
    const pipelineJson = await readPipelineJson(resolved.dir, flavor.pipeline);
    const environment = await readEnvironment(resolved.dir, flavor.env);
    const signature = mlmodel.signature
      ? signatureFromMlflow({ inputs: mlmodel.signature.inputs ?? null, outputs: mlmodel.signature.outputs ?? null, params: mlmodel.signature.params ?? null })
      : null;
    const onnx = await onnxArtifacts(resolved.dir, pipelineJson.artifacts);
    const info = {
      uri,
      dir: resolved.dir,
      run_id: mlmodel.run_id ?? null,
      model_id: mlmodel.model_id ?? resolved.modelId ?? null,
      model_uuid: mlmodel.model_uuid ?? null,
      created: mlmodel.utc_time_created ?? null,
      flavor,
      signature,
      artifacts: Object.fromEntries(Object.entries(pipelineJson.artifacts).map(([n, a]) => [n, onnx[n] ? { ...a, onnx: onnx[n] } : a])),
      nodes: pipelineJson.nodes,
      parameters: pipelineJson.parameters,
      environment,
    };
    if (options.json) return print(JSON.stringify(info, null, 2));
    const io = (v: unknown): string =>
      v === null
        ? "∅"
        : typeof v === "string"
          ? v
          : Array.isArray(v)
            ? v.join(", ")
            : Object.entries(v as Record<string, string>)
                .map(([k, d]) => `${k}=${d}`)
                .join(", ");
    const cols = (specs: { name?: string; type: string; required: boolean }[] | null | undefined): string[] =>
      (specs ?? []).map((s, i) => `  ${s.name ?? `#${i}`}: ${s.type}${s.required ? "" : " (optional)"}`);
    print(
      [
        `Model ${uri}`,
        `  folder  ${resolved.dir}`,
        `  run     ${mlmodel.run_id ?? "-"}   uuid ${mlmodel.model_uuid ?? "-"}   created ${String(mlmodel.utc_time_created ?? "-")}`,
        ...((mlmodel.model_id ?? resolved.modelId) ? [`  logged  models:/${mlmodel.model_id ?? resolved.modelId} (MLflow 3 LoggedModel)`] : []),
        `  input   "${flavor.input_name}" (${flavor.input_type}) → output "${flavor.output_name}"; runner ${flavor.runner}; row-wise ${flavor.row_wise}; copy mode ${JSON.stringify(flavor.copy_mode)}`,
        "Inputs:",
        ...(signature ? cols(signature.inputs) : ["  (no signature)"]),
        "Outputs:",
        ...(signature ? cols(signature.outputs) : ["  (no signature)"]),
        "Params:",
        ...(signature?.params ?? []).map((p) => `  ${p.name}: ${p.type}${p.shape ? "[]" : ""} = ${JSON.stringify(p.default)}`),
        "Artifacts:",
        ...Object.entries(pipelineJson.artifacts).flatMap(([n, a]) => [
          `  ${n}: ${a.type} ${a.path} (${a.bytes ?? "?"} bytes, sha256 ${a.sha256.slice(0, 12)}…)`,
          ...onnxLines(onnx[n]),
        ]),
        "Pipeline:",
        ...pipelineJson.nodes.map((n, i) => `  ${i + 1}. ${n.name}: ${io(n.inputs)} → ${io(n.outputs)}`),
        "Environment:",
        `  node ${environment.node ?? "any"}; ${Object.entries(environment.packages)
          .map(([p, v]) => `${p}@${v}`)
          .join(", ")}`,
      ].join("\n"),
    );
  } finally {
    await resolved.cleanup();
  }
}

export async function exportModel(
  uri: string,
  output: string,
  options: { trackingUri: string; registryUri?: string; allowDeleted?: boolean },
  io: CliIo,
): Promise<void> {
  const toStdout = output === "-";
  // NB: as gzip does: binary bytes are not written to a terminal.
  if (toStdout && io.stdout.isTTY)
    throw new UsageError("-o -: refusing to write a binary archive to a terminal. Redirect stdout (> model.tar.gz) or pipe it (| pipeserve import -).");
  // NB: as `predict -o`: a missing output folder is refused (not created), before the model is looked up.
  if (!toStdout) await checkOutputFile(fromCwd(io, output));
  const resolved = await resolveModelUri(modelUriFromCwd(io, uri), options);
  try {
    const { flavor } = await readMLmodel(resolved.dir);
    // NB: a registered model is checked against its registry digest, so an archive never launders a changed model into another store.
    if (resolved.registeredName !== undefined) {
      const { sha256 } = await readPipelineJsonWithDigest(resolved.dir, flavor.pipeline);
      checkRegisteredDigest(resolved, sha256, (message) => io.stderr.write(`pipeserve: warning: ${message}\n`));
    }
    await (toStdout ? writeModelArchive(resolved.dir, io.stdout) : createModelArchive(resolved.dir, fromCwd(io, output)));
  } finally {
    await resolved.cleanup();
  }
  // NB: with the archive on stdout, what was done is said on stderr.
  printer(toStdout ? io.stderr : io.stdout)(`Exported ${uri} to ${toStdout ? "stdout" : output}`);
}

interface ImportOptions {
  name?: string;
  experiment?: string;
  trackingUri: string;
  registryUri?: string;
  json: boolean;
  /** `--max-extract-size`; `PIPESERVE_MAX_EXTRACT_SIZE`, then 2 GB, by default. */
  maxExtractBytes?: number;
}

/** Moves a folder, copying it when it is on another file system (the staging folder is in the system's temp folder). */
async function moveFolder(from: string, to: string): Promise<void> {
  try {
    await rename(from, to);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EXDEV") throw error;
    await cp(from, to, { recursive: true, errorOnExist: true, force: false });
  }
}

/** Extracts and verifies an archive in a private staging folder; errors name the archive, not the staging folder. */
async function stageModel(archive: string, file: string, staged: string, options: ImportOptions): Promise<VerifiedModel> {
  try {
    await extractModelArchive(archive, staged, options.maxExtractBytes === undefined ? {} : { maxExtractBytes: options.maxExtractBytes });
  } catch (error) {
    // NB: an archive read from stdin is named stdin, not the copy of it in the staging folder, gone by now (found by a review).
    if (!(error instanceof ArchiveError) || archive === file) throw error;
    throw new ArchiveError(error.message.replaceAll(archive, file), { cause: error, code: error.code as "INVALID_ARCHIVE" | "ARCHIVE_TOO_LARGE" });
  }
  try {
    return await verifyModelFiles(staged);
  } catch (error) {
    if (!(error instanceof ModelLoadError)) throw error;
    throw new ModelLoadError(`Refusing to import ${file}: ${error.message.replaceAll(staged, file)} Nothing was written to the store.`, {
      code: error.code,
      cause: error,
    });
  }
}

/**
 * Moves a verified model into a new run of the store, at `artifacts/model` (locally: under a temp
 * name, renamed once complete; on a tracking server: uploaded). Returns the run and the files' URI.
 */
async function storeModel(store: TrackingStore, staged: string, file: string, options: ImportOptions): Promise<{ runId: string; target: string }> {
  await removeStaleModelPartials(store);
  const experiment = await store.getOrCreateExperiment(options.experiment ?? "Imported models");
  const run = await store.createRun({ experimentId: experiment.experimentId, tags: { "pipeserve.imported_from": file } });
  const target = joinArtifactUri(run.artifactUri, "model");
  try {
    await store.artifacts.writeFolder(target, async (dir) => {
      const partial = partialPath(dir);
      try {
        await moveFolder(staged, partial);
        await rename(partial, dir);
      } catch (error) {
        await rm(partial, { recursive: true, force: true });
        throw error;
      }
    });
  } catch (error) {
    await store.endRun(run.runId, "FAILED");
    throw error;
  }
  await store.endRun(run.runId, "FINISHED");
  return { runId: run.runId, target };
}

/**
 * `pipeserve import`: checks the archive entry by entry (paths, types, the extraction limit)
 * before anything is written, extracts it into a private staging folder, verifies every sha256 of
 * the model, and only then writes it into a new run of the store and registers it if named, with
 * the digest of its pipeline.json as a version tag.
 */
export async function importModel(file: string, options: ImportOptions, io: CliIo): Promise<void> {
  const print = printer(io.stdout);
  // NB: the name is checked before anything is written: refused at registration, it left a new run behind each time (found by an audit).
  if (options.name !== undefined) {
    try {
      checkModelName(options.name);
    } catch (error) {
      if (error instanceof StoreError) throw new UsageError(`--name: ${error.message}`);
      throw error;
    }
  }
  const fromStdin = file === "-";
  if (fromStdin && (io.stdin as { isTTY?: boolean }).isTTY)
    throw new UsageError("import -: stdin is a terminal. Pipe an archive in (pipeserve export -m <uri> -o - | pipeserve import -) or name the file.");
  const source = fromStdin ? "stdin" : file;
  const staging = await mkdtemp(join(tmpdir(), "pipeserve-import-"));
  try {
    const archive = fromStdin ? join(staging, "archive.tar.gz") : fromCwd(io, file);
    // NB: an archive is read twice (every entry checked, then extracted): one from stdin is copied to the staging folder first.
    if (fromStdin) await spoolModelArchive(io.stdin, archive, options.maxExtractBytes === undefined ? {} : { maxExtractBytes: options.maxExtractBytes });
    const staged = join(staging, "model");
    const verified = await stageModel(archive, source, staged, options);
    const { runId, target } = await withStore(options.trackingUri, (store) => storeModel(store, staged, source, options), true);
    const modelUri = `runs:/${runId}/model`;
    let version: number | undefined;
    if (options.name) {
      const name = options.name;
      version = (
        await withRegistry(
          options,
          (registry) => registry.createVersion(name, modelUri, { runId, storageLocation: target, tags: registryTags(verified) }),
          true,
        )
      ).version;
    }
    if (options.json) return print(JSON.stringify({ runId, modelUri, ...(version ? { registeredModel: options.name, version } : {}) }, null, 2));
    print(`Imported ${source} as ${modelUri}${version ? ` (models:/${options.name}/${version})` : ""}`);
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}
