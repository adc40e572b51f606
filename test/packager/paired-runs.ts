// Concurrent trainings of the `paired` fixture (issue 14 #7): each run trains a preprocessor and a
// model that both record its `scale` param, and the runs meet at a barrier folder before each
// stage, so runs that shared the catalog's files would mix their artifacts every time. These
// helpers start such runs (in this process or as real `pipeserve run` processes) and check that
// every packaged model is exactly what its own run trained.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { expect } from "vitest";
import { FileStore, loadModel, runProject, type ColumnTable } from "../../src/index.js";
import { finished, spawnBin } from "../fixtures/cli.js";
import { readJson, sha256Of } from "./helpers.js";
import { loggedModelDir } from "../fixtures/model-dir.js";

/** The mean of the fixture's data/raw.csv column x (1, 2, 3, 4). */
const MEAN = 2.5;

/** The params of one racing run: its scale, and the barrier it meets `parties` runs at. */
function raceParams(scale: number, barrier: string, parties: number): string[] {
  return [`scale=${scale}`, `race.barrier=${barrier}`, `race.parties=${parties}`];
}

/** Runs `scales.length` trainings of the project at once in this process; returns their run ids by scale. */
export async function trainInProcess(project: string, tracking: string, barrier: string, scales: readonly number[]): Promise<Map<number, string>> {
  const results = await Promise.all(
    scales.map((scale) =>
      runProject({ projectDir: project, pipelineName: "training", trackingUri: tracking, params: raceParams(scale, barrier, scales.length) }),
    ),
  );
  return new Map(results.map((r, i) => [scales[i] as number, r.runId]));
}

/** Runs `scales.length` `pipeserve run` processes of the project at once; returns their run ids by scale. */
export async function trainInProcesses(project: string, tracking: string, barrier: string, scales: readonly number[]): Promise<Map<number, string>> {
  const runs = scales.map((scale) => {
    const args = ["run", "--project", project, "--pipeline", "training", "--tracking-uri", tracking, "--json"];
    return finished(spawnBin([...args, ...raceParams(scale, barrier, scales.length).flatMap((p) => ["--params", p])]));
  });
  const done = await Promise.all(runs);
  const ids = new Map<number, string>();
  done.forEach((r, i) => {
    expect(r.code, `pipeserve run (scale ${scales[i]}) failed:\n${r.stderr.toString()}`).toBe(0);
    ids.set(scales[i] as number, (JSON.parse(r.stdout.toString()) as { runId: string }).runId);
  });
  return ids;
}

/**
 * The run trained with `scale` packaged exactly the files its own nodes saved (their bytes are
 * what JSON.stringify made of that run's objects, their sha256 as pipeline.json says), logged
 * metrics about that same pair, and its model predicts with that pair.
 */
export async function expectOwnModel(tracking: string, runId: string, scale: number): Promise<void> {
  const store = await FileStore.open(tracking);
  const run = await store.getRun(runId);
  expect(run.info.status).toBe("FINISHED");
  expect(run.params["scale"]).toBe(String(scale));
  for (const metric of ["preprocessor_scale", "model_scale", "trained_with"]) expect(run.metrics[metric]?.value, `${metric} of run ${scale}`).toBe(scale);

  const modelDir = await loggedModelDir(store.root, runId);
  const pipelineJson = await readJson(join(modelDir, "pipeline.json"));
  const own = {
    preprocessor: JSON.stringify({ scale, mean: MEAN }),
    model: JSON.stringify({ scale, preprocessor_scale: scale, bias: 1000 * scale }),
  };
  for (const [name, bytes] of Object.entries(own)) {
    const artifact = pipelineJson.artifacts[name] as { path: string; sha256: string };
    expect(await readFile(join(modelDir, artifact.path), "utf8"), `${name} packaged by run ${scale}`).toBe(bytes);
    expect(artifact.sha256).toBe(await sha256Of(join(modelDir, artifact.path)));
  }

  const model = await loadModel(`runs:/${runId}/model`, { trackingUri: tracking });
  try {
    const x = [0, 1, 3, 7];
    const out = (await model.predict({ x })) as ColumnTable;
    expect(out.names).toEqual(["y", "preprocessor_scale", "model_scale", "trained_with"]);
    expect(out.columns).toEqual([x.map((v) => (v - MEAN) * scale + 1000 * scale), x.map(() => scale), x.map(() => scale), x.map(() => scale)]);
  } finally {
    await model.close();
  }
}

/** The catalog's files hold one run's artifact each, whole (the last run to save each one wins). */
export async function expectWholeCatalogFiles(project: string, scales: readonly number[]): Promise<void> {
  const preprocessor = await readJson(join(project, "data", "models", "preprocessor.json"));
  const model = await readJson(join(project, "data", "models", "model.json"));
  expect(scales).toContain(preprocessor.scale);
  expect(preprocessor).toEqual({ scale: preprocessor.scale, mean: MEAN });
  expect(scales).toContain(model.scale);
  expect(model).toEqual({ scale: model.scale, preprocessor_scale: model.scale, bias: 1000 * model.scale });
}
