// `pipeserve runs list/show`, `models list/versions/alias` and `inspect` (in-process, main with its own io),
// in their human and --json forms, over a store with two finished runs (two registered versions)
// and one failed run in another experiment; and their errors for unknown runs, models, versions,
// aliases and experiments.
import { existsSync } from "node:fs";
import { readFile, readdir } from "node:fs/promises";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { FileStore, loadModel, runProject } from "../../src/index.js";
import { copyProject, fails, ok, runCli, tempDir } from "./helpers.js";

let tracking: string;
let first: string;
let second: string;
let failed: string;

beforeAll(async () => {
  tracking = await tempDir("pipeserve-tracking-");
  const linear = await copyProject("linear");
  first = (await runProject({ projectDir: linear, pipelineName: "training", trackingUri: tracking, runName: "first" })).runId;
  second = (await runProject({ projectDir: linear, pipelineName: "training", trackingUri: tracking, params: ["scale=2.0"], runName: "second" })).runId;
  const failing = await copyProject("broken");
  failed = await runProject({ projectDir: failing, pipelineName: "diverging", trackingUri: tracking, experiment: "broken" }).then(
    () => {
      throw new Error("the failing fixture succeeded");
    },
    async () => (await (await FileStore.open(tracking)).searchRuns())[0]?.runId as string,
  );
}, 60_000);

const T = (): string[] => ["--tracking-uri", tracking];

describe("pipeserve runs list", () => {
  it("prints a table of every run, newest first", async () => {
    const lines = (await ok(["runs", "list", ...T()])).trim().split("\n");
    expect(lines[0]).toMatch(/^RUN ID\s+NAME\s+EXPERIMENT\s+STATUS\s+STARTED$/);
    expect(lines).toHaveLength(4);
    expect(lines[1]).toMatch(new RegExp(`^${failed}\\s+run-${failed.slice(0, 8)}\\s+\\d{10,}\\s+FAILED\\s+\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d$`));
    expect(lines[2]).toMatch(new RegExp(`^${second}\\s+second\\s+0\\s+FINISHED\\s`));
    expect(lines[3]).toMatch(new RegExp(`^${first}\\s+first\\s+0\\s+FINISHED\\s`));
  });

  it("a run whose meta.yaml is damaged is left out with a warning naming it, as MLflow's FileStore does; the others are listed", async () => {
    const { mkdir, writeFile } = await import("node:fs/promises");
    const store = join(await tempDir("pipeserve-damaged-run-"), "mlruns");
    const good = (await (await FileStore.open(store)).createRun({ experimentId: "0" })).runId;
    const damaged = "0123456789abcdef0123456789abcdef";
    await mkdir(join(store, "0", damaged), { recursive: true });
    await writeFile(join(store, "0", damaged, "meta.yaml"), "");
    const r = await runCli(["runs", "list", "--tracking-uri", store]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^${good}\\s`, "m"));
    expect(r.stdout).not.toContain(damaged);
    expect(r.stderr).toMatch(new RegExp(`^pipeserve: warning: run ${damaged} cannot be read, so it is not listed: .*meta\\.yaml`, "m"));
  });

  it("--json prints the runs' info for scripts", async () => {
    const runs = JSON.parse(await ok(["runs", "list", "--json", ...T()]));
    expect(runs.map((r: { runId: string }) => r.runId)).toEqual([failed, second, first]);
    expect(Object.keys(runs[0]).sort()).toEqual([
      "artifactUri",
      "endTime",
      "experimentId",
      "lifecycleStage",
      "runId",
      "runName",
      "startTime",
      "status",
      "userId",
    ]);
    expect(runs.map((r: { status: string }) => r.status)).toEqual(["FAILED", "FINISHED", "FINISHED"]);
    expect(runs[1].artifactUri).toMatch(new RegExp(`^file:///.*/0/${second}/artifacts$`));
  });

  it("--experiment filters by name or id", async () => {
    const byName = JSON.parse(await ok(["runs", "list", "--experiment", "broken", "--json", ...T()]));
    expect(byName.map((r: { runId: string }) => r.runId)).toEqual([failed]);
    const byId = JSON.parse(await ok(["runs", "list", "--experiment", "0", "--json", ...T()]));
    expect(byId.map((r: { runId: string }) => r.runId)).toEqual([second, first]);
  });

  it("an unknown experiment: exit 1, listing the experiments", async () => {
    await fails(["runs", "list", "--experiment", "nope", ...T()], 1, ['No experiment named or numbered "nope"', "Default (0)", "broken ("]);
  });

  it("an empty store says so, and is left as it was (listing writes nothing)", async () => {
    const empty = await tempDir("pipeserve-tracking-");
    expect(await ok(["runs", "list", "--tracking-uri", empty])).toBe("No runs.\n");
    expect(JSON.parse(await ok(["runs", "list", "--json", "--tracking-uri", empty]))).toEqual([]);
    expect(await readdir(empty)).toEqual([]);
  });

  it.each([
    ["runs list", ["runs", "list"]],
    ["runs show", ["runs", "show", "0123456789abcdef0123456789abcdef"]],
  ])("%s where there is no store: exit 1 naming the folder, and no store is created", async (_, args) => {
    const missing = join(await tempDir("pipeserve-tracking-"), "mlruns");
    await fails([...args, "--tracking-uri", missing], 1, [`There is no run store at ${missing}`, "--tracking-uri", "MLFLOW_TRACKING_URI"]);
    expect(existsSync(missing)).toBe(false);
  });
});

describe("pipeserve runs show", () => {
  it("prints the run's status, params, metrics and tags", async () => {
    const text = await ok(["runs", "show", second, ...T()]);
    expect(text).toContain(`Run ${second} (second)`);
    expect(text).toMatch(/experiment 0, FINISHED, started \d{4}-\d\d-\d\d [\d:]{8}, ended \d{4}/);
    // --params scale=2.0 is a float, logged as Python logs it.
    expect(text).toMatch(/Params:\n(  .+\n)*  scale = 2\.0\n/);
    expect(text).toContain("  post.offset = 0.5\n");
    expect(text).toMatch(/Metrics:\n(  .+\n)*  eval\.r2 = 0\.99\d* \(step 0\)\n/);
    expect(text).toMatch(/  eval\.mse = [\d.e-]+ \(step 3\)\n/);
    expect(text).toContain("  pipeserve.pipeline = training\n");
  });

  it("--json prints info, params, metrics and tags", async () => {
    const run = JSON.parse(await ok(["runs", "show", failed, "--json", ...T()]));
    expect(Object.keys(run)).toEqual(["info", "params", "metrics", "tags", "outputs"]);
    expect(run.outputs).toEqual([]);
    expect(run.info).toMatchObject({ runId: failed, status: "FAILED" });
    expect(run.metrics).toEqual({});
    expect(run.tags["pipeserve.pipeline"]).toBe("diverging");
  });

  it.each([
    ["an id that is not a run id", ["runs", "show", "xyz"], 1, ['"xyz" is not a run id: run ids are 32 hexadecimal characters']],
    [
      "a run id that is not in the store",
      ["runs", "show", "0123456789abcdef0123456789abcdef"],
      1,
      ['Run "0123456789abcdef0123456789abcdef" is not in the store', "pipeserve runs list"],
    ],
    ["no run id", ["runs", "show"], 2, ["error: missing required argument 'run-id'"]],
  ])("%s: non-zero exit and a clear message", async (_why, args, code, messages) => {
    await fails([...args, ...T()], code as number, messages as string[]);
  });
});

describe("pipeserve models", () => {
  it("list: a table, and --json", async () => {
    const lines = (await ok(["models", "list", ...T()])).trim().split("\n");
    expect(lines[0]).toMatch(/^NAME\s+LATEST\s+ALIASES\s+UPDATED$/);
    expect(lines.slice(1)).toHaveLength(1);
    expect(lines[1]).toMatch(/^linear-model\s+2\s+-\s+\d{4}-/);
    const models = JSON.parse(await ok(["models", "list", "--json", ...T()]));
    expect(models).toHaveLength(1);
    expect(models[0]).toMatchObject({ name: "linear-model", latestVersion: 2, aliases: {}, description: "" });
    const empty = await tempDir("pipeserve-tracking-");
    expect(await ok(["models", "list", "--tracking-uri", empty])).toBe("No registered models.\n");
  });

  it("versions: a table, and --json", async () => {
    const lines = (await ok(["models", "versions", "linear-model", ...T()])).trim().split("\n");
    expect(lines[0]).toMatch(/^VERSION\s+ALIASES\s+RUN ID\s+SOURCE\s+CREATED$/);
    // As mlflow.register_model records a logged model: source models:/<model_id>.
    expect(lines[1]).toMatch(new RegExp(`^1\\s+-\\s+${first}\\s+models:/m-[0-9a-f]{32}\\s`));
    expect(lines[2]).toMatch(new RegExp(`^2\\s+-\\s+${second}\\s+models:/m-[0-9a-f]{32}\\s`));
    const versions = JSON.parse(await ok(["models", "versions", "linear-model", "--json", ...T()]));
    expect(versions.map((v: { version: number; runId: string; status: string }) => [v.version, v.runId, v.status])).toEqual([
      [1, first, "READY"],
      [2, second, "READY"],
    ]);
  });

  it("alias: points an alias at a version; the alias resolves, moves, and shows in versions and list", async () => {
    expect(await ok(["models", "alias", "linear-model", "champion", "1", ...T()])).toBe("models:/linear-model@champion → version 1\n");
    expect(await readFile(join(tracking, "models", "linear-model", "aliases", "champion"), "utf8")).toBe("1");
    let model = await loadModel("models:/linear-model@champion", { trackingUri: tracking });
    expect(model.metadata.runId).toBe(first);
    await model.close();

    const moved = JSON.parse(await ok(["models", "alias", "linear-model", "champion", "2", "--json", ...T()]));
    expect(moved).toMatchObject({ name: "linear-model", version: 2, runId: second, aliases: ["champion"] });
    model = await loadModel("models:/linear-model@champion", { trackingUri: tracking });
    expect(model.metadata.runId).toBe(second);
    await model.close();

    expect(await ok(["models", "versions", "linear-model", ...T()])).toMatch(/^2\s+champion\s+/m);
    expect(await ok(["models", "list", ...T()])).toMatch(/^linear-model\s+2\s+champion→2\s/m);
  });

  it("alias --delete removes an alias (the version stays); without a version and without --delete: exit 2", async () => {
    expect(await ok(["models", "alias", "linear-model", "staging", "1", ...T()])).toBe("models:/linear-model@staging → version 1\n");
    expect(await ok(["models", "alias", "linear-model", "staging", "--delete", ...T()])).toBe(
      "models:/linear-model@staging removed (it pointed at version 1).\n",
    );
    await fails(["models", "alias", "linear-model", "staging", "--delete", ...T()], 1, ['Model "linear-model" has no alias "staging"']);
    expect(JSON.parse(await ok(["models", "versions", "linear-model", "--json", ...T()])).map((v: { version: number }) => v.version)).toEqual([1, 2]);
    await fails(["models", "alias", "linear-model", "staging", ...T()], 2, [
      "Missing the version: pipeserve models alias linear-model staging VERSION (or --delete",
    ]);
    await fails(["models", "alias", "linear-model", "staging", "1", "--delete", ...T()], 2, ['--delete removes the alias "staging"; give no version (got 1).']);
  });

  it.each(["constructor", "__proto__", "toString"])("alias %s --delete, which the model does not have: exit 1, naming the aliases there are", async (alias) => {
    await fails(["models", "alias", "linear-model", alias, "--delete", ...T()], 1, [`Model "linear-model" has no alias "${alias}"`]);
  });

  it("alias --delete removes an alias left on a version since deleted (an older pipeserve's race could leave one)", async () => {
    const { mkdir, writeFile } = await import("node:fs/promises");
    const aliases = join(tracking, "models", "linear-model", "aliases");
    await mkdir(aliases, { recursive: true });
    await writeFile(join(aliases, "ghost"), "99");
    expect(await ok(["models", "alias", "linear-model", "ghost", "--delete", ...T()])).toBe("models:/linear-model@ghost removed (it pointed at version 99).\n");
    await fails(["models", "alias", "linear-model", "ghost", "--delete", ...T()], 1, ['Model "linear-model" has no alias "ghost"']);
  });

  it.each([
    ["versions of an unknown model", ["models", "versions", "nope"], 1, ['Registered model "nope" does not exist', "Registered models: [linear-model]"]],
    [
      "an alias to a version that does not exist",
      ["models", "alias", "linear-model", "best", "9"],
      1,
      ['Model "linear-model" has no version 9', "Versions: [1, 2]"],
    ],
    [
      "an alias to a version that is not a number (a usage error)",
      ["models", "alias", "linear-model", "best", "two"],
      2,
      ['The version must be a whole number from 1 (an alias names one version), got "two".'],
    ],
    ["the reserved alias latest", ["models", "alias", "linear-model", "latest", "1"], 1, ['Invalid alias "latest"']],
    [
      "an alias without its version",
      ["models", "alias", "linear-model", "best"],
      2,
      ["Missing the version: pipeserve models alias linear-model best VERSION (or --delete to remove the alias)."],
    ],
  ])("%s: non-zero exit and a clear message", async (_why, args, code, messages) => {
    await fails([...args, ...T()], code as number, messages as string[]);
    expect(existsSync(join(tracking, "models", "linear-model", "aliases", "best"))).toBe(false);
  });
});

describe("pipeserve inspect", () => {
  it("shows the signature, params, artifacts, graph and environment without running the model", async () => {
    const text = await ok(["inspect", "-m", `runs:/${first}/model`, ...T()]);
    expect(text).toContain(`Model runs:/${first}/model`);
    expect(text).toContain('input   "instances" (columns) → output "predictions"; runner SequentialRunner; row-wise true');
    expect(text).toMatch(/Inputs:\n  x: double\n  group: string\n/);
    expect(text).toMatch(/Outputs:\n  y_hat: double\n/);
    expect(text).toMatch(/Params:\n  scale: double = 1\n  post\.offset: double = 0\.5\n  runner: string = "SequentialRunner"\n/);
    expect(text).toMatch(/Artifacts:\n  weights: JsonArtifactDataset artifacts\/weights\.json \(\d+ bytes, sha256 [0-9a-f]{12}…\)\n/);
    expect(text).toContain("1. predict: instances, weights, params:scale, params:post.offset → predictions");
    expect(text).toMatch(/Environment:\n  node >=20; pipeserve@0\.1\.0\n$/);
  });

  it("--json, through a registered version", async () => {
    const info = JSON.parse(await ok(["inspect", "-m", "models:/linear-model/2", "--json", ...T()]));
    expect(info).toMatchObject({ run_id: second, flavor: { input_name: "instances", format_version: 1 }, parameters: { scale: 2, "post.offset": 0.5 } });
    expect(info.signature.inputs.map((c: { name: string }) => c.name)).toEqual(["x", "group"]);
    expect(Object.keys(info.artifacts)).toEqual(["weights"]);
  });

  it("an unknown model: exit 1", async () => {
    await fails(["inspect", "-m", "models:/nope/1", ...T()], 1, ['Registered model "nope" does not exist']);
  });
});
