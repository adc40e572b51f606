// The tracking server client's behaviour on the wire, against the fake server: auth (bearer token,
// basic), retries with backoff (429 then success; 503 past the budget: a clear error naming the
// server and the status), dropped connections, the timeout, the server's error_code surfacing, the
// settings' checks. Backoff and timeouts are set tiny: no assertion here depends on timing.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { NotFoundError, StoreError, type TrackingStore, openRegistryStore, openTrackingStore, restSettingsFrom } from "../../src/store/index.js";
import { backoffMs } from "../../src/store/rest-client.js";
import { FakeMlflowServer, TLS_CERT } from "../fixtures/mlflow-server.js";
import { expectRejects } from "./helpers.js";

const FAST = { MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR: "0.001", MLFLOW_HTTP_REQUEST_BACKOFF_JITTER: "0" };

let server: FakeMlflowServer;
const opened: TrackingStore[] = [];
beforeEach(async () => {
  server = await FakeMlflowServer.start();
});
afterEach(async () => {
  for (const store of opened.splice(0)) await store.close();
  await server.stop();
  expect(server.mismatches).toEqual([]);
});

async function open(env: Record<string, string>): Promise<TrackingStore> {
  const store = await openTrackingStore(server.url, { env: { ...FAST, ...env } });
  opened.push(store);
  return store;
}

const experimentsCalls = (): number => server.calls("POST /api/2.0/mlflow/experiments/search").length;

describe("auth", () => {
  it("sends MLFLOW_TRACKING_TOKEN as a bearer token", async () => {
    server.requiredAuthorization = "Bearer s3cret";
    const store = await open({ MLFLOW_TRACKING_TOKEN: "s3cret" });
    expect((await store.listExperiments()).map((e) => e.name)).toEqual(["Default"]);
    expect(server.requests.every((r) => r.authorization === "Bearer s3cret")).toBe(true);
  });

  it("sends MLFLOW_TRACKING_USERNAME / _PASSWORD as basic auth (before a token, as MLflow)", async () => {
    server.requiredAuthorization = `Basic ${Buffer.from("ann:pa:ss").toString("base64")}`;
    const store = await open({ MLFLOW_TRACKING_USERNAME: "ann", MLFLOW_TRACKING_PASSWORD: "pa:ss", MLFLOW_TRACKING_TOKEN: "ignored" });
    await store.getOrCreateExperiment("authed");
    expect(server.requests.length).toBeGreaterThan(0);
  });

  it("a 401 names the variables to set; it is not retried", async () => {
    server.requiredAuthorization = "Bearer s3cret";
    const store = await open({ MLFLOW_TRACKING_TOKEN: "wrong" });
    await expectRejects(store.listExperiments(), StoreError, /HTTP 401.*MLFLOW_TRACKING_TOKEN.*MLFLOW_TRACKING_USERNAME/);
    expect(experimentsCalls()).toBe(1);
  });

  it("the artifact proxy's requests carry the credentials too", async () => {
    server.requiredAuthorization = "Bearer s3cret";
    const store = await open({ MLFLOW_TRACKING_TOKEN: "s3cret" });
    const run = await store.createRun();
    await store.artifacts.writeFolder(`${run.artifactUri}/x`, async (dir) => {
      const { mkdir, writeFile } = await import("node:fs/promises");
      await mkdir(dir);
      await writeFile(`${dir}/a.txt`, "a");
    });
    expect(await store.artifacts.localFolder(`${run.artifactUri}/x`)).toBeDefined();
    expect(server.artifactDownloads()).toEqual([`${run.experimentId}/${run.runId}/artifacts/x/a.txt`]);
  });
});

describe("retries", () => {
  it("429 then success: retried, with the answer of the last try", async () => {
    server.failNext(2, 429);
    const store = await open({ MLFLOW_HTTP_REQUEST_MAX_RETRIES: "3" });
    expect((await store.listExperiments()).map((e) => e.name)).toEqual(["Default"]);
    expect(experimentsCalls()).toBe(3);
  });

  it("503 past the retry budget: a clear error naming the server, the call and the status", async () => {
    server.failNext(10, 503);
    const store = await open({ MLFLOW_HTTP_REQUEST_MAX_RETRIES: "2" });
    const error = await expectRejects(store.getRunInfo("0123456789abcdef0123456789abcdef"), StoreError, server.url);
    expect(error.message).toContain("GET /api/2.0/mlflow/runs/get with HTTP 503 (after 2 retries)");
    expect(error.message).toContain("MLFLOW_HTTP_REQUEST_MAX_RETRIES");
    expect(error.data).toMatchObject({ status: 503, errorCode: "TEMPORARILY_UNAVAILABLE" });
    expect(server.calls("GET /api/2.0/mlflow/runs/get")).toHaveLength(3);
  });

  it("a dropped connection is retried", async () => {
    server.dropNext(1);
    const store = await open({ MLFLOW_HTTP_REQUEST_MAX_RETRIES: "1" });
    expect((await store.getOrCreateExperiment("after-drop")).name).toBe("after-drop");
  });

  it("a server that is not there: one line naming it", async () => {
    const url = server.url;
    await server.stop();
    const store = await openTrackingStore(url, { env: { ...FAST, MLFLOW_HTTP_REQUEST_MAX_RETRIES: "1" } });
    opened.push(store);
    await expectRejects(store.listExperiments(), StoreError, `Cannot reach the MLflow tracking server ${url}`);
    server = await FakeMlflowServer.start();
  });

  it("backs off as urllib3 does: the first retry at once, then factor × 2^(n-1), Retry-After when given", () => {
    const settings = restSettingsFrom({ MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR: "2", MLFLOW_HTTP_REQUEST_BACKOFF_JITTER: "0" });
    expect([1, 2, 3, 4].map((n) => backoffMs(settings, n))).toEqual([0, 4000, 8000, 16000]);
    expect(backoffMs(settings, 9)).toBe(120_000);
    expect(backoffMs(settings, 3, "1")).toBe(1000);
  });
});

describe("timeouts", () => {
  it("a server that does not answer: MLFLOW_HTTP_REQUEST_TIMEOUT, named in the error", async () => {
    server.hangNext(1);
    const store = await open({ MLFLOW_HTTP_REQUEST_TIMEOUT: "0.2", MLFLOW_HTTP_REQUEST_MAX_RETRIES: "0" });
    await expectRejects(
      store.listExperiments(),
      StoreError,
      /did not answer POST \/api\/2\.0\/mlflow\/experiments\/search within 0\.2 s.*MLFLOW_HTTP_REQUEST_TIMEOUT/,
    );
  });

  it("a timed-out call is retried", async () => {
    server.hangNext(1);
    const store = await open({ MLFLOW_HTTP_REQUEST_TIMEOUT: "0.2", MLFLOW_HTTP_REQUEST_MAX_RETRIES: "1" });
    expect((await store.listExperiments()).map((e) => e.name)).toEqual(["Default"]);
  });
});

describe("the server's errors", () => {
  it("RESOURCE_DOES_NOT_EXIST is a NotFoundError; others a StoreError with the error_code and message", async () => {
    const store = await open({});
    const missing = await expectRejects(
      store.getRun("0123456789abcdef0123456789abcdef"),
      NotFoundError,
      "Run with id=0123456789abcdef0123456789abcdef not found",
    );
    expect(missing.data).toMatchObject({ errorCode: "RESOURCE_DOES_NOT_EXIST", status: 404 });
    const run = await store.createRun();
    await store.logParam(run.runId, "lr", "0.1");
    const changed = await expectRejects(store.logParam(run.runId, "lr", "0.2"), StoreError, "INVALID_PARAMETER_VALUE: Changing param values is not allowed");
    expect(changed.code).toBe("INVALID_PARAMETER_VALUE");
    expect(changed.message).toContain(server.url);
  });

  it("registered-models/create's 400 RESOURCE_ALREADY_EXISTS is expected, not an error", async () => {
    const registry = await openRegistryStore(server.url, undefined, { env: FAST });
    try {
      await registry.ensureModel("twice");
      await registry.ensureModel("twice");
      expect(server.calls("POST /api/2.0/mlflow/registered-models/create").length).toBe(2);
    } finally {
      await registry.close();
    }
  });

  it("a URL that is not a tracking server's API: says so", async () => {
    const store = await openTrackingStore(`${server.url}/not-mlflow`, { env: FAST });
    opened.push(store);
    await expectRejects(store.listExperiments(), StoreError, /HTTP 404.*MLflow 3 tracking server/);
    server.mismatches.length = 0;
  });
});

describe("https://", () => {
  it("checks the certificate; MLFLOW_TRACKING_INSECURE_TLS skips the check, MLFLOW_TRACKING_SERVER_CERT_PATH trusts a CA", async () => {
    const tls = await FakeMlflowServer.start({ tls: true });
    const stores: TrackingStore[] = [];
    const openTls = async (env: Record<string, string>): Promise<TrackingStore> => {
      const store = await openTrackingStore(tls.url, { env: { ...FAST, MLFLOW_HTTP_REQUEST_MAX_RETRIES: "0", ...env } });
      stores.push(store);
      return store;
    };
    try {
      await expectRejects(
        (await openTls({})).listExperiments(),
        StoreError,
        /Cannot reach the MLflow tracking server https:\/\/127\.0\.0\.1:\d+ .*SELF_SIGNED.* The server's certificate is not trusted: set MLFLOW_TRACKING_SERVER_CERT_PATH .* or MLFLOW_TRACKING_INSECURE_TLS=true/,
      );
      // A CA file that is not there names the variable (it was a bare ENOENT).
      await expectRejects(
        openTls({ MLFLOW_TRACKING_SERVER_CERT_PATH: "/nonexistent/ca.pem" }),
        StoreError,
        "MLFLOW_TRACKING_SERVER_CERT_PATH names /nonexistent/ca.pem, which cannot be read (ENOENT)",
      );
      expect((await (await openTls({ MLFLOW_TRACKING_INSECURE_TLS: "true" })).listExperiments()).map((e) => e.name)).toEqual(["Default"]);
      expect((await (await openTls({ MLFLOW_TRACKING_SERVER_CERT_PATH: TLS_CERT })).listExperiments()).map((e) => e.name)).toEqual(["Default"]);
    } finally {
      for (const store of stores) await store.close();
      await tls.stop();
    }
    expect(tls.mismatches).toEqual([]);
  });
});

describe("settings", () => {
  it("MLflow's defaults: 120 s, 7 retries, factor 2, jitter 1; bad values name the variable", () => {
    expect(restSettingsFrom({})).toEqual({ timeoutMs: 120_000, maxRetries: 7, backoffFactor: 2, backoffJitter: 1, insecureTls: false });
    expect(restSettingsFrom({ MLFLOW_TRACKING_INSECURE_TLS: "true" }).insecureTls).toBe(true);
    expect(() => restSettingsFrom({ MLFLOW_HTTP_REQUEST_MAX_RETRIES: "12" })).toThrow(/MLFLOW_HTTP_REQUEST_MAX_RETRIES="12" is not a whole number from 0 to 9/);
    expect(() => restSettingsFrom({ MLFLOW_HTTP_REQUEST_TIMEOUT: "soon" })).toThrow(/MLFLOW_HTTP_REQUEST_TIMEOUT/);
  });

  // Found by an audit: a token read from a file kept its line break, and the request failed as
  // "Cannot reach the MLflow tracking server … ERR_INVALID_CHAR".
  it.each(["MLFLOW_TRACKING_TOKEN", "MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD"])("%s ending with a line break is refused, naming it", (name) => {
    expect(() => restSettingsFrom({ [name]: "s3cret\n" })).toThrow(
      `${name} ends with a line break (as a value read from a file does), which no HTTP header can carry`,
    );
    expect(() => restSettingsFrom({ [name]: "s3c\nret" })).toThrow(`${name} holds a line break or a NUL`);
  });
});
