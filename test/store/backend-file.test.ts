/** The shared backend suite (backend-suite.ts) against the file store: a folder in MLflow's FileStore layout. */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openRegistryStore, openTrackingStore } from "../../src/store/index.js";
import { describeBackend } from "./backend-suite.js";

describeBackend("file", async () => {
  const dir = await mkdtemp(join(tmpdir(), "pipeserve-backend-file-"));
  const uri = join(dir, "mlruns");
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
