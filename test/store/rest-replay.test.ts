// Replays the session of test/fixtures/mlflow-reference/rest/transcript.json (MLflow's own client
// against `mlflow server`) through pipeserve's REST stores, against the fake server, and compares
// each request pipeserve sends with the one MLflow's client sent, field by field: the method and
// path, the body's field names and JSON types (and values where they do not depend on ids or
// clocks), the query parameters; uploads by path, Content-Type, length and sha256.
import { createHash } from "node:crypto";
import { cp, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  NotFoundError,
  type RegistryStore,
  StoreError,
  type TrackingStore,
  joinArtifactUri,
  openRegistryStore,
  openTrackingStore,
} from "../../src/store/index.js";
import { FakeMlflowServer, type RecordedRequest, TRANSCRIPT, type TranscriptExchange } from "../fixtures/mlflow-server.js";
import { REFERENCE, REFERENCE_FILESTORE } from "../fixtures/mlflow-reference.js";

/** Every field path of a JSON value with its JSON type: `{"tags[].key": "string", …}`. */
function shape(value: unknown, prefix = "", out: Record<string, string> = {}): Record<string, string> {
  if (Array.isArray(value)) {
    out[prefix || "."] = "array";
    for (const el of value) shape(el, `${prefix}[]`, out);
  } else if (value !== null && typeof value === "object") {
    if (prefix) out[prefix] = "object";
    for (const [k, v] of Object.entries(value)) shape(v, prefix ? `${prefix}.${k}` : k, out);
  } else out[prefix] = value === null ? "null" : typeof value;
  return out;
}

const exchange = (seq: number): TranscriptExchange => TRANSCRIPT.exchanges.find((e) => e.seq === seq) as TranscriptExchange;
const recordedJson = (seq: number): any => exchange(seq).request.body?.json;
const REF_RUN = "c3f1f19550934187aafd6f5cbcc0c7a6";
const REF_LOGGED_RUN = "7d3048e94c8c4560b16af9f160a4a8ad";

let server: FakeMlflowServer;
let store: TrackingStore;
let registry: RegistryStore;
let cache: string;
/** The pipeserve penguins model MLflow logged in the reference FileStore: the very files the transcript's client uploaded. */
const modelDir = join(REFERENCE_FILESTORE, "mlruns", REFERENCE.experimentId, REFERENCE.importRunId, "artifacts", "model");

beforeAll(async () => {
  server = await FakeMlflowServer.start();
  cache = await mkdtemp(join(tmpdir(), "pipeserve-replay-"));
  const env = { PIPESERVE_CACHE_DIR: cache, MLFLOW_HTTP_REQUEST_MAX_RETRIES: "0" };
  store = await openTrackingStore(server.url, { env });
  registry = await openRegistryStore(server.url, undefined, { env });
});

afterAll(async () => {
  await store.close();
  await registry.close();
  await server.stop();
  await rm(cache, { recursive: true, force: true });
});

/** The requests `fn` made. */
async function sent(fn: () => Promise<unknown>): Promise<RecordedRequest[]> {
  const before = server.requests.length;
  await fn();
  return server.requests.slice(before);
}

/** The one request to `endpoint` among `requests`. */
function one(requests: RecordedRequest[], endpoint: string): RecordedRequest {
  const found = requests.filter((r) => r.endpoint === endpoint);
  expect(found.map((r) => r.endpoint)).toEqual([endpoint]);
  return found[0] as RecordedRequest;
}

describe("pipeserve's requests, as MLflow's client sent them (transcript.json)", () => {
  let runId: string;
  let experimentId: string;

  it("runs/create (#3): the same fields and tags, start_time a number, ids strings", async () => {
    const exp = await store.getOrCreateExperiment("rest-reference");
    experimentId = exp.experimentId;
    const reqs = await sent(async () => {
      runId = (
        await store.createRun({
          experimentId,
          runName: "rest-run",
          userId: "root",
          tags: { "mlflow.source.name": "rest_client.py", "mlflow.source.type": "LOCAL", team: "pipeserve" },
        })
      ).runId;
    });
    const ours = one(reqs, "POST /api/2.0/mlflow/runs/create").json;
    const theirs = recordedJson(3);
    expect(shape(ours)).toEqual(shape(theirs));
    expect({ ...ours, start_time: 0, experiment_id: "1" }).toEqual({ ...theirs, start_time: 0 });
  });

  it("runs/log-parameter (#4), log-batch params (#5) and tags (#9), log-metric (#7), set-tag (#8): both run_uuid and run_id where MLflow sends them", async () => {
    const swap = (json: any): any => JSON.parse(JSON.stringify(json).replaceAll(runId, REF_RUN));
    const param = one(await sent(() => store.logParam(runId, "model.lr", "0.01")), "POST /api/2.0/mlflow/runs/log-parameter");
    expect(swap(param.json)).toEqual(recordedJson(4));
    const params = one(await sent(() => store.logParams(runId, { "model.epochs": "20", seed: 42 })), "POST /api/2.0/mlflow/runs/log-batch");
    expect(swap(params.json)).toEqual(recordedJson(5));
    const metric = one(await sent(() => store.logMetric(runId, "val.accuracy", 0.87, { step: 2 })), "POST /api/2.0/mlflow/runs/log-metric");
    expect(shape(metric.json)).toEqual(shape(recordedJson(7)));
    expect(swap({ ...metric.json, timestamp: 0 })).toEqual({ ...recordedJson(7), timestamp: 0 });
    const tag = one(await sent(() => store.setTag(runId, "model.family", "pipeserve")), "POST /api/2.0/mlflow/runs/set-tag");
    expect(swap(tag.json)).toEqual(recordedJson(8));
    const tags = one(
      await sent(() => store.setTags(runId, { "mlflow.note.content": "REST reference run", owner: "pipeserve" })),
      "POST /api/2.0/mlflow/runs/log-batch",
    );
    expect(swap(tags.json)).toEqual(recordedJson(9));
  });

  it("runs/get (#10): run_uuid and run_id in the query", async () => {
    const get = one(await sent(() => store.getRun(runId)), "GET /api/2.0/mlflow/runs/get");
    expect(get.rawQuery.replaceAll(runId, REF_RUN)).toBe(exchange(10).request.query);
  });

  it("artifact uploads (#11–#18): one PUT per file, the same paths, Content-Types and bytes", async () => {
    const run = await store.getRunInfo(runId);
    expect(run.artifactUri).toBe(`mlflow-artifacts:/${experimentId}/${runId}/artifacts`);
    const reqs = await sent(() => store.artifacts.writeFolder(joinArtifactUri(run.artifactUri, "model"), (dir) => cp(modelDir, dir, { recursive: true })));
    const ours = reqs
      .map((r) => ({
        method: r.method,
        path: r.path.replace(`/${experimentId}/${runId}/`, `/1/${REF_RUN}/`),
        type: r.contentType,
        length: r.bytes?.length ?? 0,
        sha256: createHash("sha256")
          .update(r.bytes ?? Buffer.alloc(0))
          .digest("hex"),
      }))
      .sort((a, b) => (a.path < b.path ? -1 : 1));
    const theirs = TRANSCRIPT.exchanges
      .filter((e) => e.phase === "10_log_artifacts" && e.request.method === "PUT")
      .map((e) => ({ method: "PUT", path: e.request.path, type: e.request.content_type, ...e.request.body }))
      .sort((a, b) => (a.path < b.path ? -1 : 1));
    expect(ours).toEqual(theirs);
  });

  it("runs/update (#20): run_uuid, status, end_time, run_id", async () => {
    const update = one(await sent(() => store.endRun(runId, "FINISHED")), "POST /api/2.0/mlflow/runs/update");
    expect(shape(update.json)).toEqual(shape(recordedJson(20)));
    expect(Object.keys(update.json)).toEqual(Object.keys(recordedJson(20)));
    expect(update.json.status).toBe("FINISHED");
  });

  it("registered-models/create (#23, its 400 RESOURCE_ALREADY_EXISTS tolerated) and model-versions/create with run_id and tags (#22)", async () => {
    const source = joinArtifactUri((await store.getRunInfo(runId)).artifactUri, "model");
    await registry.ensureModel("rest-penguins");
    const reqs = await sent(() => registry.createVersion("rest-penguins", source, { runId, tags: { validated: "true" } }));
    const create = one(reqs, "POST /api/2.0/mlflow/registered-models/create");
    expect(create.json).toEqual(recordedJson(23));
    const version = one(reqs, "POST /api/2.0/mlflow/model-versions/create");
    expect(JSON.parse(JSON.stringify(version.json).replaceAll(runId, REF_RUN).replaceAll(`:/${experimentId}/`, ":/1/"))).toEqual(recordedJson(22));
  });

  it("registered-models/alias POST (#29, the version a string) and GET (#31)", async () => {
    const set = one(await sent(() => registry.setAlias("rest-penguins", "champion", 1)), "POST /api/2.0/mlflow/registered-models/alias");
    expect(set.json).toEqual(recordedJson(29));
    const get = one(await sent(() => registry.getVersionByAlias("rest-penguins", "champion")), "GET /api/2.0/mlflow/registered-models/alias");
    expect(get.rawQuery).toBe(exchange(31).request.query);
  });

  it("artifact list (#25: ?path=, entries relative to the folder) and downloads (#37–#45)", async () => {
    const source = joinArtifactUri((await store.getRunInfo(runId)).artifactUri, "model");
    const reqs = await sent(() => store.artifacts.localFolder(source));
    const lists = reqs
      .filter((r) => r.endpoint === "GET /api/2.0/mlflow-artifacts/artifacts")
      .map((r) => r.rawQuery.replace(runId, REF_RUN).replace(/^path=\d+/, "path=1"));
    const recorded = TRANSCRIPT.exchanges
      .filter((e) => e.phase === "19_download_artifacts_from_download_uri" && e.request.path === "/api/2.0/mlflow-artifacts/artifacts")
      .map((e) => e.request.query);
    // NB: MLflow's client lists the top folder twice; pipeserve once.
    expect(new Set(lists)).toEqual(new Set(recorded));
    const downloads = server.artifactDownloads().slice(-8);
    const recordedDownloads = TRANSCRIPT.exchanges
      .filter((e) => e.phase === "19_download_artifacts_from_download_uri" && e.request.path.startsWith("/api/2.0/mlflow-artifacts/artifacts/"))
      .map((e) => e.request.path.replace("/api/2.0/mlflow-artifacts/artifacts/", ""));
    expect(downloads.map((p) => p.replace(runId, REF_RUN).replace(/^\d+\//, "1/")).sort()).toEqual(recordedDownloads.sort());
  });

  it("metrics/get-history (#83): run_uuid, metric_key, run_id, max_results=25000", async () => {
    await store.logMetric(runId, "accuracy", 0.6, { step: 0 });
    const get = one(await sent(() => store.getMetricHistory(runId, "accuracy")), "GET /api/2.0/mlflow/metrics/get-history");
    expect(get.rawQuery.replaceAll(runId, REF_RUN)).toBe(exchange(83).request.query);
  });

  it("the LoggedModel flow: logged-models (#63), runs/outputs (#64), PATCH READY (#74), model-versions/create with model_id (#78), PATCH tags (#81)", async () => {
    const run = await store.createRun({ experimentId, runName: "rest-logged-model", userId: "root" });
    const swap = (json: any): any => JSON.parse(JSON.stringify(json).replaceAll(run.runId, REF_LOGGED_RUN).replaceAll(`"${experimentId}"`, '"1"'));
    let modelId = "";
    const created = await sent(async () => {
      modelId = (
        await store.createLoggedModel(experimentId, {
          name: "model",
          sourceRunId: run.runId,
          tags: { "mlflow.user": "root", "mlflow.source.name": "rest_client.py", "mlflow.source.type": "LOCAL" },
        })
      ).modelId;
    });
    expect(swap(one(created, "POST /api/2.0/mlflow/logged-models").json)).toEqual(recordedJson(63));
    const ref = "m-21be6fa012b24d44ae2b4bae64327db8";
    const swapModel = (json: any): any => JSON.parse(JSON.stringify(swap(json)).replaceAll(modelId, ref));
    expect(swapModel(one(await sent(() => store.logRunOutput(run.runId, { modelId, step: 0 })), "POST /api/2.0/mlflow/runs/outputs").json)).toEqual(
      recordedJson(64),
    );
    const ready = one(await sent(() => store.finalizeLoggedModel(modelId, "READY")), "PATCH /api/2.0/mlflow/logged-models/<model_id>");
    expect(ready.path).toBe(`/api/2.0/mlflow/logged-models/${modelId}`);
    expect(swapModel(ready.json)).toEqual(recordedJson(74));
    let number = 0;
    const version = one(
      await sent(async () => {
        number = (await registry.createVersion("rest-penguins", `models:/${modelId}`, { runId: run.runId, modelId })).version;
      }),
      "POST /api/2.0/mlflow/model-versions/create",
    );
    expect(swapModel(version.json)).toEqual(recordedJson(78));
    const tags = one(await sent(() => store.setLoggedModelTag(modelId, "mlflow.modelVersions", "[]")), "PATCH /api/2.0/mlflow/logged-models/<model_id>/tags");
    expect(shape(tags.json)).toEqual(shape(recordedJson(81)));
    // The version the server answered with (no model_id on the wire, as a SQL registry answers) still names its LoggedModel.
    expect((await registry.getVersion("rest-penguins", number)).modelId).toBe(modelId);
  });

  it("a LoggedModel's metric goes through the run's log-batch with model_id, as MLflow 3 logs it", async () => {
    const run = await store.createRun({ experimentId });
    const model = await store.createLoggedModel(experimentId, { sourceRunId: run.runId });
    const batch = one(
      await sent(() => store.logLoggedModelMetric(model.modelId, "accuracy", { value: 0.6, timestamp: 1, step: 0, runId: run.runId })),
      "POST /api/2.0/mlflow/runs/log-batch",
    );
    const recordedMetric = recordedJson(6).metrics[0];
    expect(Object.keys(batch.json)).toEqual(["run_id", "metrics"]);
    expect(shape(batch.json.metrics[0])).toEqual({ ...shape(recordedMetric), model_id: "string" });
    expect((await store.getLoggedModel(model.modelId)).metrics.map((m) => [m.key, m.value, m.runId])).toEqual([["accuracy", 0.6, run.runId]]);
  });

  it("an error answer (#84: 404 RESOURCE_DOES_NOT_EXIST) is a NotFoundError with the server's message and error_code", async () => {
    let thrown: unknown;
    await registry.getModel("does-not-exist").catch((e: unknown) => (thrown = e));
    expect(thrown).toBeInstanceOf(NotFoundError);
    expect((thrown as Error).message).toContain(exchange(84).response.body.json.message);
    expect((thrown as StoreError).data).toMatchObject({ errorCode: "RESOURCE_DOES_NOT_EXIST", status: 404 });
    expect(thrown).toBeInstanceOf(StoreError);
  });

  it("sent nothing the real client would not", () => {
    expect(server.mismatches).toEqual([]);
  });
});
