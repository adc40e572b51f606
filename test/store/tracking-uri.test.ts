// Where the run store lives: --tracking-uri, then MLFLOW_TRACKING_URI, then ./mlruns. The env is
// always passed explicitly, so process.env is never touched.
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { StoreError, resolveTrackingUri, toFileUri } from "../../src/store/index.js";
import { expectThrows } from "./helpers.js";

describe("resolveTrackingUri", () => {
  it.each<[string, string | undefined, Record<string, string>, string]>([
    ["the flag beats the env", "/flag/mlruns", { MLFLOW_TRACKING_URI: "/env/mlruns" }, "/flag/mlruns"],
    ["the env beats the default", undefined, { MLFLOW_TRACKING_URI: "/env/mlruns" }, "/env/mlruns"],
    ["the default is ./mlruns", undefined, {}, resolve("mlruns")],
    ["an empty env var counts as unset", undefined, { MLFLOW_TRACKING_URI: "" }, resolve("mlruns")],
    ["a relative flag resolves against the cwd", "runs/here", {}, resolve("runs/here")],
    ["a file:// flag is a path", "file:///srv/ml%20runs", { MLFLOW_TRACKING_URI: "/env/mlruns" }, "/srv/ml runs"],
    ["a file:// env var is a path", undefined, { MLFLOW_TRACKING_URI: "file:///srv/mlruns" }, "/srv/mlruns"],
    ["file://localhost is local", "file://localhost/srv/mlruns", {}, "/srv/mlruns"],
    ["a local flag wins over a remote env var", "/flag/mlruns", { MLFLOW_TRACKING_URI: "http://mlflow:5000" }, "/flag/mlruns"],
  ])("%s", (_why, flag, env, expected) => {
    expect(resolveTrackingUri(flag, env)).toBe(expected);
  });

  it.each([
    ["http://localhost:5000"],
    ["https://mlflow.example.com"],
    ["HTTP://LOCALHOST:5000"],
    ["databricks"],
    ["databricks://profile"],
    ["uc:databricks-uc"],
  ])("rejects the remote tracking URI %j, naming it and the accepted forms", (uri) => {
    const message = `Tracking URI ${JSON.stringify(uri)} points to a remote server; pipeserve keeps runs in a local folder. Use a path or file:// URI`;
    expectThrows(() => resolveTrackingUri(uri, {}), StoreError, message);
    expectThrows(() => resolveTrackingUri(undefined, { MLFLOW_TRACKING_URI: uri }), StoreError, message);
  });

  it("rejects a file:// URI with a remote host", () => {
    const error = expectThrows(
      () => resolveTrackingUri("file://server/share/mlruns", {}),
      StoreError,
      'Invalid tracking URI "file://server/share/mlruns": use file:///absolute/path or a plain path.',
    );
    expect(error.code).toBe("INVALID_URI");
    expect(error.cause).toBeInstanceOf(Error);
  });
});

describe("toFileUri", () => {
  it.each([["/srv/mlruns"], ["/tmp/with space/ünï"], [join("/a", "b#c", "d?e")]])("round-trips %j through resolveTrackingUri", (path) => {
    const uri = toFileUri(path);
    expect(uri).toMatch(/^file:\/\/\//);
    expect(resolveTrackingUri(uri, {})).toBe(path);
  });

  it("percent-encodes like MLflow's artifact URIs", () => {
    expect(toFileUri("/tmp/with space")).toBe("file:///tmp/with%20space");
  });
});
