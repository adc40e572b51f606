// A password in a tracking or registry URI (`http://user:secret@host`, which MLflow's clients take)
// is sent as basic auth and never shown: not in error messages (which `serve --watch` logs too), not
// in `pipeserve run`'s summary, not in the run's tags (MLflow's UI shows them). Found by an audit:
// each of those printed it. Against the in-test MLflow server, and a port where nothing listens.
import { createServer } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { StoreError, openTrackingStore } from "../../src/store/index.js";
import { redactCredentials } from "../../src/util/index.js";
import { FakeMlflowServer } from "../fixtures/mlflow-server.js";
import { copyProject, ok, runCli, tempDir } from "./helpers.js";

const SECRET = "pa55word";

/** A port nothing listens on (one just closed). */
async function closedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const { port } = probe.address() as { port: number };
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

describe("redactCredentials", () => {
  it.each([
    ["http://bob:pa55word@host:5000/x", "http://bob:***@host:5000/x"],
    ["see https://a:b@h and http://c:d@i/j.", "see https://a:***@h and http://c:***@i/j."],
    ["http://bob@host (a user alone is no secret)", "http://bob@host (a user alone is no secret)"],
    ["runs:/abc@def/model, user@example.com", "runs:/abc@def/model, user@example.com"],
    ['"http://bob:p%40ss@host"', '"http://bob:***@host"'],
    ["http://bob:p@ss@host:1/x and http://c:d@e", "http://bob:***@host:1/x and http://c:***@e"],
  ])("%s → %s", (text, shown) => {
    expect(redactCredentials(text)).toBe(shown);
  });
});

describe("a tracking URI with a password", () => {
  let server: FakeMlflowServer;
  let uri: string;
  beforeAll(async () => {
    process.env["PIPESERVE_CACHE_DIR"] = await tempDir("pipeserve-credentials-cache-");
    server = await FakeMlflowServer.start();
    server.requiredAuthorization = `Basic ${Buffer.from(`bob:${SECRET}`).toString("base64")}`;
    uri = server.url.replace("://", `://bob:${SECRET}@`);
  });
  afterAll(async () => {
    delete process.env["PIPESERVE_CACHE_DIR"];
    await server.stop();
  });

  it("run: sent as basic auth; the summary says bob:*** and the run's command tag holds no password", async () => {
    const project = await copyProject("linear");
    const registry = `${await tempDir("pipeserve-credentials-")}/a registry`;
    const result = await runCli(["run", "--project", project, "--pipeline", "training", "--tracking-uri", uri, "--registry-uri", registry]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout + result.stderr).not.toContain(SECRET);
    expect(result.stdout).toContain(
      `Serve it: pipeserve serve -m models:/linear-model/1 --tracking-uri '${uri.replace(SECRET, "***")}' --registry-uri '${registry}'`,
    );
    const runId = /^Run ([0-9a-f]{32}) finished/.exec(result.stdout)?.[1] as string;
    const show = await ok(["runs", "show", runId, "--json", "--tracking-uri", uri]);
    expect(show).not.toContain(SECRET);
    expect(JSON.parse(show).tags["pipeserve.command"]).toContain(`--tracking-uri ${uri.replace(SECRET, "***")}`);
  });

  it("a server that cannot be reached: the CLI's message and the store's error name bob:*** only", async () => {
    const gone = `http://bob:${SECRET}@127.0.0.1:${await closedPort()}`;
    const env = { MLFLOW_HTTP_REQUEST_MAX_RETRIES: "0" };
    // NB: in-process commands read the store's settings from process.env.
    process.env["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] = "0";
    const result = await runCli(["runs", "list", "--tracking-uri", gone]).finally(() => delete process.env["MLFLOW_HTTP_REQUEST_MAX_RETRIES"]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`Cannot reach the MLflow tracking server ${gone.replace(SECRET, "***")}`);
    expect(result.stderr).not.toContain(SECRET);
    // What `serve --watch` logs is the store's error: its message and its data.
    const store = await openTrackingStore(gone, { env });
    try {
      const error = await store.listExperiments().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(StoreError);
      expect(JSON.stringify({ message: (error as Error).message, data: (error as StoreError).data })).not.toContain(SECRET);
    } finally {
      await store.close();
    }
  });

  it("an invalid URI with a password: the message does not repeat it", async () => {
    const result = await runCli(["runs", "list", "--tracking-uri", `http://bob:${SECRET}@[::1`]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("Invalid tracking URI");
    expect(result.stderr).not.toContain(SECRET);
  });
});
