// Runs and registry housekeeping as an MLflow user types it (issue 21): `runs delete|restore`
// (MLflow's lifecycle_stage; positional ids or MLflow's --run-id), `runs list --all|--view`,
// `models delete-version`, and a deleted run's model refused by predict, inspect and export unless
// --allow-deleted, with a message that says so. Over the folder store and a SQLite database alike
// (the REST store is in rest-commands.test.ts); `serve` as a real process in housekeeping.process.test.ts.
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { runProject } from "../../src/index.js";
import { copyProject, fails, ok, runCli, tempDir } from "./helpers.js";

describe.each([["file"], ["sqlite"]])("over the %s store", (kind) => {
  let tracking: string;
  let project: string;
  let first: string;
  let second: string;
  let input: string;
  let dir: string;

  beforeAll(async () => {
    dir = await tempDir("pipeserve-housekeeping-");
    tracking = kind === "file" ? join(dir, "mlruns") : `sqlite:///${join(dir, "mlflow.db")}`;
    project = await copyProject("linear");
    first = (await runProject({ projectDir: project, pipelineName: "training", trackingUri: tracking, runName: "first", typecheck: false })).runId;
    second = (await runProject({ projectDir: project, pipelineName: "training", trackingUri: tracking, runName: "second", typecheck: false })).runId;
    input = join(dir, "in.json");
    await writeFile(input, JSON.stringify([{ x: 1, group: "a" }]));
  }, 60_000);

  const T = (): string[] => ["--tracking-uri", tracking];
  const runIds = async (...args: string[]): Promise<string[]> =>
    JSON.parse(await ok(["runs", "list", "--json", ...args, ...T()])).map((r: { runId: string }) => r.runId);

  it("runs delete hides a run from runs list, names the versions still pointing at it, and refuses its model unless --allow-deleted", async () => {
    const r = await runCli(["runs", "delete", first, ...T()]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(`Deleted run ${first} (first). Undo with \`pipeserve runs restore ${first}\`.\n`);
    expect(r.stderr).toContain(`run ${first} is registered as models:/linear-model/1`);
    expect(r.stderr).toContain("--allow-deleted");

    expect(await runIds()).toEqual([second]);
    expect((await runIds("--all")).sort()).toEqual([first, second].sort());
    expect(await runIds("--view", "deleted_only")).toEqual([first]);
    const table = (await ok(["runs", "list", "--all", ...T()])).trim().split("\n");
    expect(table[0]).toMatch(/^RUN ID\s+NAME\s+EXPERIMENT\s+STATUS\s+STAGE\s+STARTED$/);
    expect(table.find((l) => l.startsWith(first))).toMatch(/\sFINISHED\s+deleted\s/);
    expect(await ok(["runs", "list", ...T()])).not.toContain("STAGE");

    const output = join(dir, "out.json");
    for (const uri of [`runs:/${first}/model`, "models:/linear-model/1"]) {
      await fails(["predict", "-m", uri, "-i", input, "-o", output, ...T()], 1, [
        `belongs to run ${first}, which was deleted`,
        `pipeserve runs restore ${first}`,
        "--allow-deleted",
      ]);
      await fails(["inspect", "-m", uri, ...T()], 1, ["which was deleted"]);
    }
    await fails(["export", "-m", `runs:/${first}/model`, "-o", join(dir, "m.tar.gz"), ...T()], 1, ["which was deleted"]);
    await ok(["predict", "-m", `runs:/${first}/model`, "-i", input, "-o", output, "--allow-deleted", ...T()]);
    expect(JSON.parse(await readFile(output, "utf8"))).toHaveProperty("predictions");
    expect(JSON.parse(await ok(["inspect", "-m", "models:/linear-model/1", "--json", "--allow-deleted", ...T()])).run_id).toBe(first);
    // A run that was not deleted serves as before.
    await ok(["predict", "-m", "models:/linear-model/2", "-i", input, "-o", output, ...T()]);
  });

  it("deleting twice, restoring an active run, or giving no id (or two forms) is refused; runs restore (also as --run-id) brings it back", async () => {
    await fails(["runs", "delete", first, ...T()], 1, [`Run ${first} is already deleted`, `pipeserve runs restore ${first}`]);
    await fails(["runs", "restore", second, ...T()], 1, [`Run ${second} is not deleted`]);
    await fails(["runs", "delete", ...T()], 2, ["Missing the run id: pipeserve runs delete RUN_ID…"]);
    await fails(["runs", "restore", first, "--run-id", first, ...T()], 2, ["either as arguments or with --run-id, not both"]);
    await fails(["runs", "list", "--all", "--view", "deleted_only", ...T()], 2, ["--all lists every run; it contradicts --view deleted_only"]);
    await fails(["runs", "list", "--view", "gone", ...T()], 2, ["active_only", "deleted_only"]);
    await fails(["runs", "delete", "0123456789abcdef0123456789abcdef", ...T()], 1, ["0123456789abcdef0123456789abcdef"]);

    // Several ids: each is tried; what was done is said before the failure (exit 1).
    const both = await runCli(["runs", "delete", second, first, ...T()]);
    expect(both.code).toBe(1);
    expect(both.stdout).toBe(`Deleted run ${second} (second). Undo with \`pipeserve runs restore ${second}\`.\n`);
    expect(both.stderr).toContain(`Run ${first} is already deleted`);
    expect(await ok(["runs", "restore", second, ...T()])).toBe(`Restored run ${second} (second).\n`);

    expect(await ok(["runs", "restore", "--run-id", first, ...T()])).toBe(`Restored run ${first} (first).\n`);
    expect((await runIds()).sort()).toEqual([first, second].sort());
    await ok(["predict", "-m", `runs:/${first}/model`, "-i", input, "-o", join(dir, "again.json"), ...T()]);
    // MLflow's form, --json: the run's info with its stage.
    const deleted = JSON.parse(await ok(["runs", "delete", "--run-id", first, "--json", ...T()]));
    expect(deleted).toMatchObject([{ runId: first, lifecycleStage: "deleted" }]);
    expect(JSON.parse(await ok(["runs", "restore", first, "--json", ...T()]))).toMatchObject([{ runId: first, lifecycleStage: "active" }]);
  });

  it("models delete-version removes the version and its aliases; its number is never given again", async () => {
    await ok(["models", "alias", "linear-model", "champion", "2", ...T()]);
    expect(await ok(["models", "delete-version", "linear-model", "2", ...T()])).toBe('Deleted version 2 of "linear-model"; removed its aliases @champion.\n');
    expect(JSON.parse(await ok(["models", "versions", "linear-model", "--json", ...T()])).map((v: { version: number }) => v.version)).toEqual([1]);
    expect(JSON.parse(await ok(["models", "list", "--json", ...T()]))[0]).toMatchObject({ name: "linear-model", latestVersion: 1, aliases: {} });
    await fails(["predict", "-m", "models:/linear-model@champion", "-i", input, "-o", join(dir, "x.json"), ...T()], 1, ['has no alias "champion"']);
    await fails(["predict", "-m", "models:/linear-model/2", "-i", input, "-o", join(dir, "x.json"), ...T()], 1, ["no version 2 (it was deleted)"]);
    await fails(["models", "delete-version", "linear-model", "2", ...T()], 1, ["no version 2 (it was deleted)", "Versions: [1]"]);
    // A version the argument cannot be is a usage error (exit 2), as for models alias.
    await fails(["models", "delete-version", "linear-model", "two", ...T()], 2, ['The version must be a whole number from 1, got "two".']);
    await fails(["models", "delete-version", "linear-model", "0", ...T()], 2, ['The version must be a whole number from 1, got "0".']);
    await fails(["models", "delete-version", "nope", "1", ...T()], 1, ['Registered model "nope" does not exist']);
    // The run itself is untouched: its model still loads by run.
    await ok(["predict", "-m", `runs:/${second}/model`, "-i", input, "-o", join(dir, "y.json"), ...T()]);

    const third = await runProject({ projectDir: project, pipelineName: "training", trackingUri: tracking, runName: "third", typecheck: false });
    expect(third.registeredVersion).toEqual({ name: "linear-model", version: 3 });
    const deleted = JSON.parse(await ok(["models", "delete-version", "linear-model", "1", "--json", ...T()]));
    expect(deleted).toMatchObject({ name: "linear-model", version: 1, deleted: true });
    expect(JSON.parse(await ok(["models", "versions", "linear-model", "--json", ...T()])).map((v: { version: number }) => v.version)).toEqual([3]);
  }, 30_000);
});
