/**
 * The shared backend suite (backend-suite.ts) against an MLflow tracking server: the in-test fake
 * (test/fixtures/mlflow-server.ts), which also checks every request against the recorded exchanges
 * of MLflow's own client; none may differ.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "vitest";
import { openRegistryStore, openTrackingStore } from "../../src/store/index.js";
import { FakeMlflowServer } from "../fixtures/mlflow-server.js";
import { describeBackend } from "./backend-suite.js";

describeBackend("rest", async () => {
  const server = await FakeMlflowServer.start();
  const cache = await mkdtemp(join(tmpdir(), "pipeserve-backend-rest-"));
  const env = { PIPESERVE_CACHE_DIR: cache, MLFLOW_HTTP_REQUEST_MAX_RETRIES: "0" };
  const tracking = await openTrackingStore(server.url, { env });
  const registry = await openRegistryStore(server.url, undefined, { env });
  return {
    tracking,
    registry,
    async dispose() {
      await tracking.close();
      await registry.close();
      await server.stop();
      await rm(cache, { recursive: true, force: true });
      expect(server.mismatches).toEqual([]);
    },
  };
});
