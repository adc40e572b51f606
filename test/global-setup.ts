// Before any test file: unpacks the FileStore MLflow 3.6 wrote (test/fixtures/mlflow-reference/
// filestore/mlruns.tar.gz, see its README) to filestore/mlruns/, which git ignores. Kept packed so
// the repository holds one fixture file instead of an `mlruns/` tree; unpacked once, atomically
// (into a temp folder, then renamed), and left alone when already there.
import { existsSync } from "node:fs";
import { mkdtemp, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { extract } from "tar";

const FILESTORE = fileURLToPath(new URL("./fixtures/mlflow-reference/filestore", import.meta.url));

export async function setup(): Promise<void> {
  const target = join(FILESTORE, "mlruns");
  if (existsSync(target)) return;
  const staging = await mkdtemp(join(FILESTORE, ".unpack-"));
  try {
    await extract({ file: join(FILESTORE, "mlruns.tar.gz"), cwd: staging, strict: true });
    await rename(join(staging, "mlruns"), target).catch((error: NodeJS.ErrnoException) => {
      // NB: another project's setup unpacked it first.
      if (!existsSync(target)) throw error;
    });
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}
