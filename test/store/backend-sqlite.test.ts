/** The shared backend suite (backend-suite.ts) against the SQL store: a fresh `sqlite:///` database in MLflow 3.6's schema per test. */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openRegistryStore, openTrackingStore } from "../../src/store/index.js";
import { describeBackend } from "./backend-suite.js";

describeBackend("sqlite", async () => {
  const dir = await mkdtemp(join(tmpdir(), "pipeserve-backend-sqlite-"));
  const uri = `sqlite:///${join(dir, "mlflow.db")}`;
  const tracking = await openTrackingStore(uri);
  const registry = await openRegistryStore(uri);
  return {
    tracking,
    registry,
    async dispose() {
      await tracking.close();
      await registry.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
});
