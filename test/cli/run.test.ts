// `pipeserve run` (in-process, main with its own io): it prints the run id and the model URI, logs params,
// metrics and tags, honours --experiment / --params / --registered-model-name / --json and the
// tracking URI order (flag, $MLFLOW_TRACKING_URI, ./mlruns); a failed run exits non-zero, ends
// FAILED and packages nothing; a broken pipelineMl rule stops it before training and before any
// run is written; bad input gets a non-zero exit and one clear line.
import { existsSync } from "node:fs";
import { appendFile, readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { loadModel, type ColumnTable } from "../../src/index.js";
import { copyProject, fails, ok, readJson, readYaml11, runCli, tempDir } from "./helpers.js";
import { loggedModelDir } from "../fixtures/model-dir.js";

let project: string;
beforeAll(async () => {
  project = await copyProject("linear");
});

/** The run folder of `runId` in a store (any experiment). */
async function runDirOf(tracking: string, runId: string): Promise<string> {
  for (const exp of await readdir(tracking)) {
    if (existsSync(join(tracking, exp, runId, "meta.yaml"))) return join(tracking, exp, runId);
  }
  throw new Error(`run ${runId} not found in ${tracking}`);
}

describe("pipeserve run: a pipelineMl", () => {
  it("trains, packages, registers, and prints the run id and the model URI", async () => {
    const tracking = await tempDir("pipeserve-tracking-");
    const args = ["run", "--project", project, "--pipeline", "training", "--tracking-uri", tracking, "--params", "scale=2.5", "--params", "model.tol=0.01"];
    const stdout = await ok(args);
    const lines = stdout.trim().split("\n");
    expect(lines, "a summary: the run, its metrics, the model, its version, how to serve it").toHaveLength(5);
    const runId = /^Run ([0-9a-f]{32}) finished \(experiment 0\)\.$/.exec(lines[0] as string)?.[1] as string;
    expect(runId).toBeDefined();
    expect(lines[1]).toMatch(/^Metrics: eval\.mse=[-\d.e]+, eval\.r2=[-\d.e]+$/);
    expect(lines[2]).toMatch(new RegExp(`^Model: runs:/${runId}/model \\(LoggedModel models:/m-[0-9a-f]{32}\\)$`));
    expect(lines[3]).toBe("Registered: models:/linear-model/1");
    expect(lines[4]).toBe(`Serve it: pipeserve serve -m models:/linear-model/1 --tracking-uri ${tracking}`);

    const dir = await runDirOf(tracking, runId);
    const modelDir = await loggedModelDir(tracking, runId);
    expect(existsSync(join(modelDir, "MLmodel"))).toBe(true);
    expect((await readYaml11(join(dir, "meta.yaml")))["status"]).toBe(3);
    const show = JSON.parse(await ok(["runs", "show", runId, "--json", "--tracking-uri", tracking]));
    expect(show.params).toMatchObject({ scale: "2.5", "model.tol": "0.01", "post.offset": "0.5" });
    expect(Object.keys(show.metrics).sort()).toEqual(["eval.mse", "eval.r2"]);
    expect(show.tags["pipeserve.pipeline"]).toBe("training");
    expect(show.tags["pipeserve.command"]).toBe(args.join(" "));
    const signature = (await readYaml11(join(modelDir, "MLmodel")))["signature"];
    expect(signature.params).toContain('{"name": "scale", "default": 2.5, "shape": null, "type": "double"}');

    // What the child process wrote loads and predicts here, through the registry.
    const weights = (await readJson(join(project, "data", "weights.json"))) as { slope: number; intercept: number };
    const model = await loadModel("models:/linear-model/latest", { trackingUri: tracking });
    try {
      expect(model.metadata.runId).toBe(runId);
      const out = (await model.predict({ x: [1], group: ["a"] })) as ColumnTable;
      expect(out.columns[0]?.[0]).toBeCloseTo((weights.slope + weights.intercept) * 2.5 + 0.5, 10);
    } finally {
      await model.close();
    }
  });

  it("--json prints the result for scripts; --experiment logs into a new named experiment; --registered-model-name overrides the pipeline's", async () => {
    const tracking = await tempDir("pipeserve-tracking-");
    const stdout = await ok([
      "run",
      "--project",
      project,
      "--pipeline",
      "training",
      "--tracking-uri",
      tracking,
      "--experiment",
      "nightly",
      "--registered-model-name",
      "nightly-linear",
      "--run-name",
      "n1",
      "--json",
    ]);
    const result = JSON.parse(stdout);
    expect(Object.keys(result).sort()).toEqual(["experimentId", "metrics", "modelId", "modelUri", "registeredVersion", "runId"]);
    expect(Object.keys(result.metrics).sort()).toEqual(["eval.mse", "eval.r2"]);
    expect(typeof result.metrics["eval.r2"]).toBe("number");
    expect(result.modelId).toMatch(/^m-[0-9a-f]{32}$/);
    expect(result.experimentId).toMatch(/^\d+$/);
    expect(result.experimentId).not.toBe("0");
    expect(result.modelUri).toBe(`runs:/${result.runId}/model`);
    expect(result.registeredVersion).toEqual({ name: "nightly-linear", version: 1 });
    expect(await readYaml11(join(tracking, result.experimentId, "meta.yaml"))).toMatchObject({ name: "nightly", experiment_id: result.experimentId });
    expect(existsSync(join(tracking, "models", "linear-model"))).toBe(false);
    expect((await readYaml11(join(tracking, result.experimentId, result.runId, "meta.yaml")))["run_name"]).toBe("n1");
  });

  it('--registered-model-name holding "@" is refused before anything trains: a usage error (exit 2), no run written', async () => {
    const tracking = await tempDir("pipeserve-tracking-");
    await fails(["run", "--project", project, "--pipeline", "training", "--tracking-uri", tracking, "--registered-model-name", "team@prod"], 2, [
      "--registered-model-name: ",
      '"@" would read as an alias in its models:/ URIs',
    ]);
    expect(await readdir(tracking)).toEqual([]);
  });

  // Found by an audit: these exited 1, as if the project or the store had failed.
  it.each([
    ["an empty --experiment", ["--pipeline", "training", "--experiment", ""], ["--experiment: give the experiment's name"]],
    ["a --registered-model-name with a slash", ["--pipeline", "training", "--registered-model-name", "a/b"], ["--registered-model-name: Invalid model name"]],
  ])("%s is a usage error (exit 2) before any run is written", async (_why, args, messages) => {
    const tracking = await tempDir("pipeserve-tracking-");
    await fails(["run", "--project", project, "--tracking-uri", tracking, ...args], 2, messages);
    expect(await readdir(tracking)).toEqual([]);
  });

  it("a plain pipeline is tracked but packages nothing", async () => {
    const tracking = await tempDir("pipeserve-tracking-");
    const stdout = await ok(["run", "--project", project, "--pipeline", "plain", "--tracking-uri", tracking]);
    expect(stdout).toMatch(/^Run [0-9a-f]{32} finished \(experiment 0\)\.\n(Metrics: [^\n]+\n)?$/);
    expect(stdout, "no model: nothing to serve").not.toContain("Serve it");
    const runId = /Run ([0-9a-f]{32})/.exec(stdout)?.[1] as string;
    expect(await readdir(join(await runDirOf(tracking, runId), "artifacts"))).toEqual([]);
  });

  it("finds the store through $MLFLOW_TRACKING_URI, then ./mlruns", async () => {
    const cwd = await tempDir("pipeserve-cwd-");
    const fromEnv = join(cwd, "env-store");
    await ok(["run", "--project", project, "--pipeline", "plain"], { cwd, env: { MLFLOW_TRACKING_URI: `file://${fromEnv}` } });
    expect(existsSync(join(fromEnv, "0", "meta.yaml"))).toBe(true);
    expect(existsSync(join(cwd, "mlruns"))).toBe(false);
    await ok(["run", "--project", project, "--pipeline", "plain"], { cwd });
    expect(existsSync(join(cwd, "mlruns", "0", "meta.yaml"))).toBe(true);
  });
});

describe("pipeserve run: the type-check before training", () => {
  it("a project with a type error does not train (exit 1, tsc's message); --no-typecheck trains it anyway", { timeout: 120_000 }, async () => {
    // NB: inside the repository, so the project finds a TypeScript (the repo's) as an installed one would.
    const typed = await copyProject("linear", { inRepo: true });
    const tracking = join(await tempDir("pipeserve-tracking-"), "mlruns");
    const clean = await runCli(["run", "--project", typed, "--pipeline", "plain", "--tracking-uri", tracking]);
    expect(clean.code, clean.stderr).toBe(0);
    expect(clean.stderr).toContain("pipeserve: type-checked the project (tsc --strict): no errors.");
    await appendFile(join(typed, "pipelines.ts"), '\nexport const cut: number = "oops";\n');
    const runsBefore = JSON.parse(await ok(["runs", "list", "--json", "--tracking-uri", tracking])).length;
    await fails(["run", "--project", typed, "--pipeline", "plain", "--tracking-uri", tracking], 1, [
      "The project does not type-check (tsc --strict",
      "error TS2322: Type 'string' is not assignable to type 'number'.",
      "Fix these, or pass --no-typecheck to train anyway.",
    ]);
    expect(JSON.parse(await ok(["runs", "list", "--json", "--tracking-uri", tracking])), "no run was written").toHaveLength(runsBefore);
    const forced = await runCli(["run", "--project", typed, "--pipeline", "plain", "--tracking-uri", tracking, "--no-typecheck"]);
    expect(forced.code, forced.stderr).toBe(0);
    expect(forced.stderr).not.toContain("type-checked");
  });

  it("a project whose folder has no TypeScript is not checked, and trains", async () => {
    const tracking = await tempDir("pipeserve-tracking-");
    const r = await runCli(["run", "--project", project, "--pipeline", "plain", "--tracking-uri", tracking]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toContain("type-checked");
  });
});

describe("pipeserve run: failures", () => {
  // NB: the fixtures' training nodes write $PIPESERVE_TEST_MARKER; they run in this process, so it is this process's env.
  let marker: string;
  beforeEach(async () => {
    marker = join(await tempDir("pipeserve-marker-"), "trained");
    process.env["PIPESERVE_TEST_MARKER"] = marker;
  });
  afterEach(() => {
    delete process.env["PIPESERVE_TEST_MARKER"];
  });

  it("a training node that throws: exit 1 with the node's error, the run FAILED, no model, nothing registered", async () => {
    const failing = await copyProject("broken");
    const tracking = await tempDir("pipeserve-tracking-");
    const r = await fails(["run", "--project", failing, "--pipeline", "diverging", "--tracking-uri", tracking], 1, [
      'pipeserve: Node "train" failed: diverged: loss is NaN',
      /pipeserve: run [0-9a-f]{32} is marked FAILED, with this error recorded on it \(pipeserve runs show [0-9a-f]{32}\)\./,
    ]);
    expect(r.stdout).not.toContain("Model:");
    // The marker the rule tests below rely on: a training node that runs writes it.
    expect(existsSync(marker), "the first training node ran").toBe(true);
    const runs = JSON.parse(await ok(["runs", "list", "--json", "--tracking-uri", tracking]));
    expect(runs).toHaveLength(1);
    expect(runs[0].status).toBe("FAILED");
    expect(r.stderr).toContain(`run ${runs[0].runId} is marked FAILED`);
    const shown = JSON.parse(await ok(["runs", "show", runs[0].runId, "--json", "--tracking-uri", tracking]));
    expect(shown.tags["pipeserve.error"]).toContain('Node "train" failed: diverged: loss is NaN');
    expect(shown.tags["mlflow.note.content"]).toMatch(/^This run failed: .*diverged: loss is NaN/);
    const dir = await runDirOf(tracking, runs[0].runId);
    expect((await readYaml11(join(dir, "meta.yaml")))["status"]).toBe(4);
    expect(await readdir(join(dir, "artifacts"))).toEqual([]);
    expect(await readdir(join(tracking, "models"))).toEqual([]);
    // Asking for its model says why there is none, with the run's error.
    await fails(["predict", "-m", `runs:/${runs[0].runId}/model`, "-i", "-", "--tracking-uri", tracking], 1, [
      `runs:/${runs[0].runId}/model: run ${runs[0].runId} failed (Node "train" failed: diverged: loss is NaN`,
      `before it packaged a model, so it has none. See \`pipeserve runs show ${runs[0].runId}\`.`,
    ]);
  });

  it("a fit that yields NaN weights: exit 1 naming the node, the artifact and the bad value's path; no model, no weights file", async () => {
    const linear = await copyProject("linear");
    // x is constant: the least-squares slope is 0/0.
    await writeFile(join(linear, "data", "raw.csv"), "x,group,y\n1,a,2\n1,b,3\n1,a,4\n");
    const tracking = await tempDir("pipeserve-tracking-");
    const r = await fails(["run", "--project", linear, "--pipeline", "training", "--tracking-uri", tracking], 1, [
      `pipeserve: Node "fit": its output "weights" (JsonArtifactDataset, ${join(linear, "data", "weights.json")}) could not be saved: `,
      "cannot save NaN at slope: JSON has no NaN or Infinity",
    ]);
    expect(r.stderr).not.toContain("pipeserve-run-");
    expect(r.stdout).not.toContain("Model:");
    expect(existsSync(join(linear, "data", "weights.json")), "no weights written where the catalog says").toBe(false);
    expect(await readdir(join(tracking, "models"))).toEqual([]);
  });

  it.each([
    ["broken", "memory_artifact", ['"unsaved_stats" is not in the catalog, so it would live only in memory', "add it to catalog.yml"]],
    ["rules-two-outputs", "training", ["must have exactly one output", "[predictions, explanation]"]],
    ["rules-missing-filepath", "training", ['Dataset "stats" of type JsonArtifactDataset needs a "filepath" string']],
    ["rules-bad-input-name", "training", ['inputName "features" is not an input of the inference pipeline']],
    ["broken", "missing_param", ["needs [params:thresold], which neither catalog.yml nor parameters.yml provide"]],
  ])("%s %s: exit 1 before any training node runs and before any run is written", async (name, pipelineName, messages) => {
    const broken = await copyProject(name);
    const tracking = join(await tempDir("pipeserve-tracking-"), "mlruns");
    await fails(["run", "--project", broken, "--pipeline", pipelineName, "--tracking-uri", tracking], 1, messages);
    expect(existsSync(marker), "a training node ran").toBe(false);
    expect(existsSync(tracking), "a run store was written").toBe(false);
  });
});

describe("pipeserve run: bad input", () => {
  it.each([
    ["no --project", (_p: string) => ["run", "--pipeline", "training"], 2, ["error: required option '--project <dir>' not specified"]],
    [
      "no --pipeline, and no __default__ pipeline",
      (p: string) => ["run", "--project", p],
      2,
      ['has no pipeline "__default__"', "Pipelines: [training, plain]"],
    ],
    ["an unknown option", (p: string) => ["run", "--project", p, "--pipeline", "training", "--epochs", "3"], 2, ["error: unknown option '--epochs'"]],
    ["an unknown pipeline", (p: string) => ["run", "--project", p, "--pipeline", "nope"], 2, ['has no pipeline "nope"', "Pipelines: [training, plain]"]],
    [
      "a --params entry without =: a usage error",
      (p: string) => ["run", "--project", p, "--pipeline", "training", "--params", "scale"],
      2,
      ['Invalid --params entry "scale": write key=value'],
    ],
    [
      "a --params typo: refused before any run, with the declared name it is likely a typo of",
      (p: string) => ["run", "--project", p, "--pipeline", "training", "--params", "scael=2"],
      2,
      ['--params scael=2: the project declares no parameter "scael" (conf/parameters.yml). Did you mean "scale"?'],
    ],
    [
      "a registered name past the 255 bytes a folder store's folder name may hold: refused before any run",
      (p: string) => ["run", "--project", p, "--pipeline", "training", "--registered-model-name", "é".repeat(130)],
      2,
      ["--registered-model-name: ", "it is 260 bytes of UTF-8; a folder store keeps each model in a folder of its name, which may be at most 255 bytes"],
    ],
    [
      "a --params value of the wrong kind",
      (p: string) => ["run", "--project", p, "--pipeline", "training", "--params", "scale=abc"],
      2,
      ['--params scale=abc: "scale" is a number in conf/parameters.yml'],
    ],
    [
      "a project folder that does not exist",
      (p: string) => ["run", "--project", join(p, "missing"), "--pipeline", "training"],
      1,
      [/Project folder \/.*\/linear\/missing does not exist\./],
    ],
    [
      "a tracking URI of a database pipeserve does not speak",
      (p: string) => ["run", "--project", p, "--pipeline", "plain", "--tracking-uri", "postgresql://db.example.com/mlflow"],
      2,
      ["over SQLite only", "mlflow server --backend-store-uri postgresql://db.example.com/mlflow", "Supported: a folder"],
    ],
  ])("%s", async (_why, args, code, messages) => {
    const cwd = await tempDir("pipeserve-cwd-");
    await fails(args(project), code as number, messages as (string | RegExp)[], { cwd });
    expect(await readdir(cwd), "nothing written").toEqual([]);
  });
});
