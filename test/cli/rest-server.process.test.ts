// The whole path through an MLflow tracking server (the in-test fake, test/fixtures/mlflow-server.ts):
// `pipeserve run --tracking-uri http://…` trains a fixture project, logs it as a LoggedModel through
// the artifact proxy and registers it; `pipeserve models alias` points an alias at it; `pipeserve
// serve -m models:/name@alias --tracking-uri http://…` (a real child process) answers /invocations;
// a second serve finds the model in the download cache (only pipeline.json downloaded again); and
// with the tracking server stopped, the running server keeps predicting: nothing in serving calls the
// store after the model is loaded.
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openTrackingStore } from "../../src/store/index.js";
import { FakeMlflowServer } from "../fixtures/mlflow-server.js";
import { ServeProcess, invoke } from "../server/fixtures/server-process.js";
import { copyProject, ok, useBuiltBin } from "./helpers.js";

useBuiltBin();

let server: FakeMlflowServer;
let cache: string;
let project: string;
const processes: ServeProcess[] = [];

beforeAll(async () => {
  server = await FakeMlflowServer.start();
  cache = await mkdtemp(join(tmpdir(), "pipeserve-rest-e2e-cache-"));
  // NB: the in-process commands read the store's settings from this process's environment.
  process.env["PIPESERVE_CACHE_DIR"] = cache;
  project = await copyProject("linear");
});

afterAll(async () => {
  delete process.env["PIPESERVE_CACHE_DIR"];
  for (const p of processes) await p.stop();
  await server.stop();
  await rm(cache, { recursive: true, force: true });
});

function serve(): ServeProcess {
  const p = new ServeProcess(["serve", "-m", "models:/linear-model@champion", "--tracking-uri", server.url, "-p", "0"], {
    PIPESERVE_CACHE_DIR: cache,
    MLFLOW_HTTP_REQUEST_MAX_RETRIES: "0",
  });
  processes.push(p);
  return p;
}

const ROWS = { dataframe_records: [{ x: 1, group: "a" }] };

describe("pipeserve and an MLflow tracking server", () => {
  it("run → register → alias → serve models:/name@alias; the second serve uses the cache; predictions outlive the tracking server", async () => {
    const stdout = await ok(["run", "--project", project, "--pipeline", "training", "--tracking-uri", server.url]);
    expect(stdout).toMatch(
      /^Run [0-9a-f]{32} finished \(experiment \d+\)\.\nMetrics: [^\n]+\nModel: runs:\/[0-9a-f]{32}\/model \(LoggedModel models:\/m-[0-9a-f]{32}\)\nRegistered: models:\/linear-model\/1\nServe it: pipeserve serve -m models:\/linear-model\/1 --tracking-uri http:\/\/[^\n]+\n$/,
    );
    expect(await ok(["models", "alias", "linear-model", "champion", "1", "--tracking-uri", server.url])).toContain("models:/linear-model@champion → version 1");
    // The LoggedModel flow, in MLflow 3's order.
    const flow = server.requests
      .map((r) => r.endpoint)
      .filter((e) => /logged-models|runs\/outputs|PUT/.test(e))
      .filter((e, i, all) => all.indexOf(e) === i);
    expect(flow.slice(0, 4)).toEqual([
      "POST /api/2.0/mlflow/logged-models/search",
      "POST /api/2.0/mlflow/logged-models",
      "POST /api/2.0/mlflow/runs/outputs",
      "PUT /api/2.0/mlflow-artifacts/artifacts/<artifact path>",
    ]);
    expect(flow).toContain("PATCH /api/2.0/mlflow/logged-models/<model_id>");
    // The server's handler listed the version on the LoggedModel itself: listed once, not twice as MLflow's client leaves it.
    const modelId = /models:\/(m-[0-9a-f]{32})/.exec(stdout)?.[1] as string;
    const store = await openTrackingStore(server.url);
    try {
      expect((await store.getLoggedModel(modelId)).tags["mlflow.modelVersions"]).toBe('[{"name": "linear-model", "version": 1}]');
    } finally {
      await store.close();
    }
    const uploaded = server.calls("PUT /api/2.0/mlflow-artifacts/artifacts/<artifact path>").length;
    expect(uploaded).toBeGreaterThan(3);

    const before = server.artifactDownloads().length;
    const first = serve();
    const { url } = await first.serving();
    const answer = await invoke(url, ROWS);
    expect(answer.status, answer.body).toBe(200);
    expect(server.artifactDownloads().length - before).toBe(uploaded);
    await first.stop();

    const second = serve();
    const { url: url2 } = await second.serving();
    const again = server.artifactDownloads().slice(before + uploaded);
    // NB: only the model's files that pipeline.json does not hash (MLmodel, pipeline.json, the examples…): never its artifacts or code.
    expect(again.some((path) => path.endsWith("/pipeline.json"))).toBe(true);
    expect(again.filter((path) => /\/model\/(artifacts|code)\//.test(path))).toEqual([]);
    expect(await readdir(join(cache, "models"))).toHaveLength(1);

    await server.stop();
    for (let i = 0; i < 3; i++) {
      const r = await invoke(url2, ROWS);
      expect(r.status, r.body).toBe(200);
      expect(JSON.parse(r.body)).toEqual(JSON.parse(answer.body));
    }
    expect(server.mismatches).toEqual([]);
    // NB: afterAll stops the server again; a second stop must not fail.
    server = await FakeMlflowServer.start();
  });
});
