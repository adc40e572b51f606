import { randomBytes } from "node:crypto";
import { rename, rm } from "node:fs/promises";
import { join } from "node:path";
import {
  FileStore,
  ModelRegistry,
  checkModelArchive,
  createModelArchive,
  extractModelArchive,
  readEnvironment,
  readMLmodel,
  readPipelineJson,
  resolveModelUri,
  resolveTrackingUri,
  signatureFromMlflow,
} from "../index.js";

type Print = (text: string) => void;

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

export async function runsList(options: { experiment?: string; trackingUri?: string; json: boolean }, print: Print): Promise<void> {
  const store = await FileStore.openExisting(resolveTrackingUri(options.trackingUri));
  const ids = options.experiment ? [(await store.getExperiment(options.experiment)).experimentId] : undefined;
  const runs = await store.searchRuns(ids ? { experimentIds: ids } : {});
  if (options.json) return print(JSON.stringify(runs, null, 2));
  if (runs.length === 0) return print("No runs.");
  print(table([["RUN ID", "NAME", "EXPERIMENT", "STATUS", "STARTED"], ...runs.map((r) => [r.runId, r.runName, r.experimentId, r.status, time(r.startTime)])]));
}

export async function runsShow(runId: string, options: { trackingUri?: string; json: boolean }, print: Print): Promise<void> {
  const store = await FileStore.openExisting(resolveTrackingUri(options.trackingUri));
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
  print(lines.join("\n"));
}

export async function modelsList(options: { trackingUri?: string; json: boolean }, print: Print): Promise<void> {
  const models = await new ModelRegistry(resolveTrackingUri(options.trackingUri)).listModels();
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

export async function modelsVersions(name: string, options: { trackingUri?: string; json: boolean }, print: Print): Promise<void> {
  const versions = await new ModelRegistry(resolveTrackingUri(options.trackingUri)).listVersions(name);
  if (options.json) return print(JSON.stringify(versions, null, 2));
  print(
    table([
      ["VERSION", "ALIASES", "RUN ID", "SOURCE", "CREATED"],
      ...versions.map((v) => [String(v.version), v.aliases.join(", ") || "-", v.runId || "-", v.source, time(v.creationTimestamp)]),
    ]),
  );
}

export async function modelsAlias(name: string, alias: string, version: string, options: { trackingUri?: string; json: boolean }, print: Print): Promise<void> {
  const mv = await new ModelRegistry(resolveTrackingUri(options.trackingUri)).setAlias(name, alias, version);
  if (options.json) return print(JSON.stringify(mv, null, 2));
  print(`models:/${name}@${alias} → version ${mv.version}`);
}

/** `pipeserve inspect`: reads the model's files without running its code. */
export async function inspect(uri: string, options: { trackingUri?: string; json: boolean }, print: Print): Promise<void> {
  const resolved = await resolveModelUri(uri, options.trackingUri !== undefined ? { trackingUri: options.trackingUri } : {});
  try {
    const { mlmodel, flavor } = await readMLmodel(resolved.dir);
    const pipelineJson = await readPipelineJson(resolved.dir, flavor.pipeline);
    const environment = await readEnvironment(resolved.dir, flavor.env);
    const signature = mlmodel.signature
      ? signatureFromMlflow({ inputs: mlmodel.signature.inputs ?? null, outputs: mlmodel.signature.outputs ?? null, params: mlmodel.signature.params ?? null })
      : null;
    const info = {
      uri,
      dir: resolved.dir,
      run_id: mlmodel.run_id ?? null,
      model_uuid: mlmodel.model_uuid ?? null,
      created: mlmodel.utc_time_created ?? null,
      flavor,
      signature,
      artifacts: pipelineJson.artifacts,
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
        `  input   "${flavor.input_name}" (${flavor.input_type}) → output "${flavor.output_name}"; runner ${flavor.runner}; row-wise ${flavor.row_wise}; copy mode ${JSON.stringify(flavor.copy_mode)}`,
        "Inputs:",
        ...(signature ? cols(signature.inputs) : ["  (no signature)"]),
        "Outputs:",
        ...(signature ? cols(signature.outputs) : ["  (no signature)"]),
        "Params:",
        ...(signature?.params ?? []).map((p) => `  ${p.name}: ${p.type}${p.shape ? "[]" : ""} = ${JSON.stringify(p.default)}`),
        "Artifacts:",
        ...Object.entries(pipelineJson.artifacts).map(([n, a]) => `  ${n}: ${a.type} ${a.path} (${a.bytes ?? "?"} bytes, sha256 ${a.sha256.slice(0, 12)}…)`),
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

export async function exportModel(uri: string, output: string, options: { trackingUri?: string }, print: Print): Promise<void> {
  const resolved = await resolveModelUri(uri, options.trackingUri !== undefined ? { trackingUri: options.trackingUri } : {});
  try {
    await readMLmodel(resolved.dir);
    await createModelArchive(resolved.dir, output);
  } finally {
    await resolved.cleanup();
  }
  print(`Exported ${uri} to ${output}`);
}

/**
 * `pipeserve import`: checks the archive entry by entry before anything is written, then unpacks
 * it into a new run of the store (under a temp name, renamed into `artifacts/model` only once
 * complete and valid), and registers it if named.
 */
export async function importModel(
  file: string,
  options: { name?: string; experiment?: string; trackingUri?: string; json: boolean },
  print: Print,
): Promise<void> {
  await checkModelArchive(file);
  const store = await FileStore.open(resolveTrackingUri(options.trackingUri));
  const experiment = await store.getOrCreateExperiment(options.experiment ?? "Imported models");
  const run = await store.createRun({ experimentId: experiment.experimentId, tags: { "pipeserve.imported_from": file } });
  const artifacts = await store.artifactDir(run.runId);
  const target = join(artifacts, "model");
  const partial = join(artifacts, `.model.${randomBytes(6).toString("hex")}.partial`);
  try {
    await extractModelArchive(file, partial);
    const { flavor } = await readMLmodel(partial);
    await readPipelineJson(partial, flavor.pipeline);
    await rename(partial, target);
  } catch (error) {
    await rm(partial, { recursive: true, force: true });
    await store.endRun(run.runId, "FAILED");
    throw error;
  }
  await store.endRun(run.runId, "FINISHED");
  const modelUri = `runs:/${run.runId}/model`;
  let version: number | undefined;
  if (options.name)
    version = (await new ModelRegistry(store.root).createVersion(options.name, modelUri, { runId: run.runId, storageLocation: target })).version;
  if (options.json) return print(JSON.stringify({ runId: run.runId, modelUri, ...(version ? { registeredModel: options.name, version } : {}) }, null, 2));
  print(`Imported ${file} as ${modelUri}${version ? ` (models:/${options.name}/${version})` : ""}`);
}
