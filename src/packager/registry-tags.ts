import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { PIPELINE_SHA256_TAG } from "../store/index.js";

/**
 * The tags a registry version of a packaged model gets: the sha256 of its `pipeline.json` (which
 * lists the sha256 of the code and every artifact), checked by the loader for `models:/` URIs.
 */
export async function registryTags(modelDir: string): Promise<Record<string, string>> {
  const bytes = await readFile(join(modelDir, "pipeline.json"));
  return { [PIPELINE_SHA256_TAG]: createHash("sha256").update(bytes).digest("hex") };
}
