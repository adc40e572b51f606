// The store commands against an MLflow tracking server (the in-test fake, which checks each request
// against MLflow's client): `run` logs and registers, then `runs list|show`, `models list|versions`,
// `inspect`, `export` and `import` (a new run's artifacts, uploaded, registered as version 2) read and
// write through the REST stores, and `predict` loads the imported version; `runs delete|restore` and
// `models delete-version` call MLflow's own endpoints.
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FakeMlflowServer } from "../fixtures/mlflow-server.js";
import { copyProject, fails, ok, runCli, tempDir } from "./helpers.js";

let server: FakeMlflowServer;
let project: string;
let runId: string;
beforeAll(async () => {
  // NB: in-process commands read the store's settings from process.env (this file's own process).
  process.env["PIPESERVE_CACHE_DIR"] = await tempDir("pipeserve-rest-cli-cache-");
  server = await FakeMlflowServer.start();
  project = await copyProject("linear");
  const result = JSON.parse(await ok(["run", "--project", project, "--pipeline", "training", "--tracking-uri", server.url, "--json"]));
  runId = result.runId;
});
afterAll(async () => {
  delete process.env["PIPESERVE_CACHE_DIR"];
  await server.stop();
  expect(server.mismatches).toEqual([]);
});

describe("store commands over http://", () => {
  it("runs list and show: the run, its params, metrics and LoggedModel", async () => {
    const runs = JSON.parse(await ok(["runs", "list", "--json", "--tracking-uri", server.url]));
    expect(runs.map((r: { runId: string }) => r.runId)).toContain(runId);
    const show = JSON.parse(await ok(["runs", "show", runId, "--json", "--tracking-uri", server.url]));
    expect(show.info.status).toBe("FINISHED");
    expect(Object.keys(show.metrics).sort()).toEqual(["eval.mse", "eval.r2"]);
    expect(show.outputs).toHaveLength(1);
  });

  // Found by an audit: the URI a tracking server's get-download-uri gives was an unknown scheme.
  it("-m mlflow-artifacts:/… (a LoggedModel's files on the server): inspect and predict read them through the artifact proxy", async () => {
    const { openTrackingStore } = await import("../../src/store/index.js");
    const store = await openTrackingStore(server.url);
    const location = await store
      .findRunLoggedModel(runId, "model")
      .then((m) => m?.artifactLocation as string)
      .finally(() => store.close());
    expect(location).toMatch(/^mlflow-artifacts:\//);
    const info = JSON.parse(await ok(["inspect", "-m", location, "--json", "--tracking-uri", server.url]));
    expect(info.run_id).toBe(runId);
    const dir = await tempDir("pipeserve-rest-cli-");
    await writeFile(join(dir, "in.json"), JSON.stringify([{ x: 1, group: "a" }]));
    await ok(["predict", "-m", location, "-i", join(dir, "in.json"), "-o", join(dir, "out.json"), "--tracking-uri", server.url]);
    expect(JSON.parse(await readFile(join(dir, "out.json"), "utf8")).predictions).toHaveLength(1);
  });

  it("models list, versions, inspect", async () => {
    const models = JSON.parse(await ok(["models", "list", "--json", "--tracking-uri", server.url]));
    expect(models.map((m: { name: string }) => m.name)).toEqual(["linear-model"]);
    const versions = JSON.parse(await ok(["models", "versions", "linear-model", "--json", "--tracking-uri", server.url]));
    expect(versions.map((v: { version: number; source: string }) => [v.version, v.source.startsWith("models:/m-")])).toEqual([[1, true]]);
    const info = JSON.parse(await ok(["inspect", "-m", "models:/linear-model/1", "--json", "--tracking-uri", server.url]));
    expect(JSON.stringify(info)).toContain("linear-model");
  });

  it("runs delete/restore and models delete-version go through MLflow's endpoints; a deleted run's model is refused", async () => {
    const dir = await tempDir("pipeserve-rest-cli-");
    const input = join(dir, "in.json");
    await writeFile(input, JSON.stringify([{ x: 1, group: "a" }]));
    const other = JSON.parse(await ok(["run", "--project", project, "--pipeline", "training", "--tracking-uri", server.url, "--json", "--no-typecheck"]));
    expect(other.registeredVersion).toMatchObject({ version: 2 });

    const deleted = await runCli(["runs", "delete", other.runId, "--tracking-uri", server.url]);
    expect(deleted.code, deleted.stderr).toBe(0);
    expect(deleted.stderr).toContain(`registered as models:/linear-model/2`);
    expect(server.requests.some((r) => r.endpoint === "POST /api/2.0/mlflow/runs/delete" && r.json?.["run_id"] === other.runId)).toBe(true);
    const listed = (args: string[]) =>
      ok(["runs", "list", "--json", ...args, "--tracking-uri", server.url]).then((t) => JSON.parse(t).map((r: { runId: string }) => r.runId));
    expect(await listed([])).not.toContain(other.runId);
    expect(await listed(["--view", "deleted_only"])).toEqual([other.runId]);
    await fails(["predict", "-m", "models:/linear-model/2", "-i", input, "-o", join(dir, "out.json"), "--tracking-uri", server.url], 1, [
      `belongs to run ${other.runId}, which was deleted`,
    ]);
    await ok(["predict", "-m", "models:/linear-model/2", "-i", input, "-o", join(dir, "out.json"), "--allow-deleted", "--tracking-uri", server.url]);
    await ok(["runs", "restore", other.runId, "--tracking-uri", server.url]);
    expect(await listed([])).toContain(other.runId);

    await ok(["models", "alias", "linear-model", "shadow", "2", "--tracking-uri", server.url]);
    expect(await ok(["models", "delete-version", "linear-model", "2", "--tracking-uri", server.url])).toBe(
      'Deleted version 2 of "linear-model"; removed its aliases @shadow.\n',
    );
    expect(server.requests.some((r) => r.endpoint === "DELETE /api/2.0/mlflow/model-versions/delete")).toBe(true);
    const versions = JSON.parse(await ok(["models", "versions", "linear-model", "--json", "--tracking-uri", server.url]));
    expect(versions.map((v: { version: number }) => v.version)).toEqual([1]);
  });

  it("export, import (uploaded into a new run, registered), predict the imported version", async () => {
    const dir = await tempDir("pipeserve-rest-cli-");
    const archive = join(dir, "linear.tar.gz");
    await ok(["export", "-m", "models:/linear-model/1", "-o", archive, "--tracking-uri", server.url]);
    const imported = JSON.parse(await ok(["import", archive, "--name", "linear-model", "--json", "--tracking-uri", server.url]));
    // NB: version 2 was registered and deleted by the test above; numbers are never reused.
    expect(imported).toMatchObject({ registeredModel: "linear-model", version: 3 });
    const input = join(dir, "in.json");
    await writeFile(input, JSON.stringify([{ x: 1, group: "a" }]));
    const output = join(dir, "out.json");
    await ok(["predict", "-m", "models:/linear-model/3", "-i", input, "-o", output, "--tracking-uri", server.url]);
    expect((await readFile(output, "utf8")).length).toBeGreaterThan(2);
  });
});
