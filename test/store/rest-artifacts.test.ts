// The artifact proxy repository: downloads cached by the sha256 of the files pipeline.json does not
// hash (a complete copy reused, only those fetched again; an incomplete one replaced), folders without
// pipeline.json downloaded afresh each time, mlflow-artifacts://host:port/… URIs, and artifact
// locations of schemes pipeserve cannot reach (s3://…) refused naming the scheme and what works.
import { createHash } from "node:crypto";
import { cp, mkdir, mkdtemp, readFile, readdir, rm, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { resolveModelUri } from "../../src/loader/index.js";
import { StoreError, type TrackingStore, openTrackingStore } from "../../src/store/index.js";
import { REFERENCE, REFERENCE_FILESTORE } from "../fixtures/mlflow-reference.js";
import { FakeMlflowServer } from "../fixtures/mlflow-server.js";
import { expectRejects } from "./helpers.js";

const PENGUINS = join(REFERENCE_FILESTORE, "mlruns", REFERENCE.experimentId, REFERENCE.importRunId, "artifacts", "model");

let server: FakeMlflowServer;
let cache: string;
let store: TrackingStore;
beforeEach(async () => {
  server = await FakeMlflowServer.start();
  cache = await mkdtemp(join(tmpdir(), "pipeserve-rest-cache-"));
  store = await openTrackingStore(server.url, { env: { PIPESERVE_CACHE_DIR: cache, MLFLOW_HTTP_REQUEST_MAX_RETRIES: "0" } });
});
afterEach(async () => {
  await store.close();
  await server.stop();
  await rm(cache, { recursive: true, force: true });
  expect(server.mismatches).toEqual([]);
});

async function uploadPenguins(): Promise<string> {
  const run = await store.createRun();
  const uri = `${run.artifactUri}/model`;
  await store.artifacts.writeFolder(uri, (dir) => cp(PENGUINS, dir, { recursive: true }));
  return uri;
}

const sha256 = async (file: string): Promise<string> =>
  createHash("sha256")
    .update(await readFile(file))
    .digest("hex");

/** The files of a model pipeline.json does not hash (all but artifacts/ and code/), which key its folder in the cache. */
const UNHASHED = ["MLmodel", "environment.json", "input_example.json", "pipeline.json", "serving_input_example.json"];

/** The cache's key for a model folder: the sha256 over each unhashed file's path and sha256. */
async function cacheKey(dir: string): Promise<string> {
  const hash = createHash("sha256");
  for (const file of UNHASHED) hash.update(`${file}\0${await sha256(join(dir, file))}`);
  return hash.digest("hex");
}

describe("the download cache", () => {
  it("keys a folder by its files pipeline.json does not hash; a second read downloads those only", async () => {
    const uri = await uploadPenguins();
    const first = await store.artifacts.localFolder(uri);
    const key = await cacheKey(PENGUINS);
    expect(first).toBe(join(cache, "models", key));
    expect(server.artifactDownloads()).toHaveLength(8);
    for (const file of ["MLmodel", "code/pipeline.mjs", "artifacts/model.json"])
      expect(await sha256(join(first as string, file))).toBe(await sha256(join(PENGUINS, file)));
    // Only complete folders, renamed into place: no temp folders left beside them.
    expect(await readdir(join(cache, "models"))).toEqual([key]);

    const again = await store.artifacts.localFolder(uri);
    expect(again).toBe(first);
    expect(server.artifactDownloads().slice(8).sort()).toEqual(UNHASHED.map((f) => expect.stringMatching(new RegExp(`/${f.replace(".", "\\.")}$`))));
  });

  // Found by an audit: keyed by pipeline.json alone, a seeded training run's second model (the same
  // pipeline.json and artifacts, another run and model id in its MLmodel) was loaded with the first's MLmodel.
  it("two models of the same pipeline.json whose MLmodels differ (at the same size) get a folder each, each with its own MLmodel", async () => {
    const one = await uploadPenguins();
    const run = await store.createRun();
    const two = `${run.artifactUri}/model`;
    const original = await readFile(join(PENGUINS, "MLmodel"), "utf8");
    const edited = original.replace(/^run_id: [0-9a-f]{32}$/m, `run_id: ${"f".repeat(32)}`);
    expect(edited).not.toBe(original);
    expect(edited.length).toBe(original.length);
    await store.artifacts.writeFolder(two, async (dir) => {
      await cp(PENGUINS, dir, { recursive: true });
      await writeFile(join(dir, "MLmodel"), edited);
    });
    const [a, b] = [await store.artifacts.localFolder(one), await store.artifacts.localFolder(two)];
    expect(a).not.toBe(b);
    expect(await readFile(join(a as string, "MLmodel"), "utf8")).toBe(original);
    expect(await readFile(join(b as string, "MLmodel"), "utf8")).toBe(edited);
    expect(await readFile(join(a as string, "MLmodel"), "utf8"), "read again after the other").toBe(original);
  });

  it("a cached copy missing a file is downloaded again, whole", async () => {
    const uri = await uploadPenguins();
    const dir = (await store.artifacts.localFolder(uri)) as string;
    await rm(join(dir, "code", "pipeline.mjs"));
    expect(await store.artifacts.localFolder(uri)).toBe(dir);
    expect(server.artifactDownloads().slice(8)).toHaveLength(8);
    expect(await sha256(join(dir, "code", "pipeline.mjs"))).toBe(await sha256(join(PENGUINS, "code", "pipeline.mjs")));
  });

  it("removes the temp folders a killed download left (an hour old), not one under way", async () => {
    const uri = await uploadPenguins();
    await mkdir(join(cache, "models", ".download-old"), { recursive: true });
    await mkdir(join(cache, "models", ".download-new"), { recursive: true });
    const hourAgo = new Date(Date.now() - 2 * 60 * 60 * 1000);
    await utimes(join(cache, "models", ".download-old"), hourAgo, hourAgo);
    await store.artifacts.localFolder(uri);
    const left = await readdir(join(cache, "models"));
    expect(left).toContain(".download-new");
    expect(left).not.toContain(".download-old");
  });

  it("a download cut off midway is tried again, whole", async () => {
    const uri = await uploadPenguins();
    await store.close();
    store = await openTrackingStore(server.url, { env: { PIPESERVE_CACHE_DIR: cache, MLFLOW_HTTP_REQUEST_MAX_RETRIES: "1" } });
    server.truncateNext(1, (r) => r.method === "GET" && r.path.endsWith("/code/pipeline.mjs"));
    const dir = (await store.artifacts.localFolder(uri)) as string;
    expect(await sha256(join(dir, "code", "pipeline.mjs"))).toBe(await sha256(join(PENGUINS, "code", "pipeline.mjs")));
    expect(server.artifactDownloads().filter((p) => p.endsWith("/code/pipeline.mjs"))).toHaveLength(2);
  });

  it("a folder without pipeline.json goes to a fresh temp folder each time", async () => {
    const run = await store.createRun();
    const uri = `${run.artifactUri}/plain`;
    await store.artifacts.writeFolder(uri, async (dir) => {
      await mkdir(join(dir, "sub"), { recursive: true });
      await writeFile(join(dir, "sub", "a.txt"), "a");
    });
    const one = (await store.artifacts.localFolder(uri)) as string;
    const two = (await store.artifacts.localFolder(uri)) as string;
    expect(one).not.toBe(two);
    expect(await readFile(join(two, "sub", "a.txt"), "utf8")).toBe("a");
    expect(one.startsWith(cache)).toBe(false);
  });

  it("reads mlflow-artifacts://host:port/… URIs from that server", async () => {
    const uri = await uploadPenguins();
    const withHost = uri.replace("mlflow-artifacts:/", `mlflow-artifacts://${new URL(server.url).host}/`);
    expect(await store.artifacts.localFolder(withHost)).toBe(await store.artifacts.localFolder(uri));
  });
});

describe("artifact locations pipeserve cannot reach", () => {
  it("a LoggedModel on s3://: the error names s3:// and what is supported", async () => {
    const modelId = server.seedLoggedModel("0", "s3://bucket/0/models/m/artifacts");
    const error = await expectRejects(
      resolveModelUri(`models:/${modelId}`, { trackingUri: server.url }),
      StoreError,
      "s3://bucket/0/models/m/artifacts (s3://)",
    );
    expect(error.message).toContain("mlflow-artifacts:/");
    await expectRejects(
      store.artifacts.writeFolder("gs://bucket/x", async () => undefined),
      StoreError,
      "(gs://)",
    );
  });
});
