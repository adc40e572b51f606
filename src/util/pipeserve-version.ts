import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

let ownVersion: string | undefined;

/** This pipeserve's version (from its package.json). */
export function pipeserveVersion(): string {
  if (ownVersion) return ownVersion;
  for (let dir = dirname(fileURLToPath(import.meta.url)); dir !== dirname(dir); dir = dirname(dir)) {
    const pkg = join(dir, "package.json");
    if (!existsSync(pkg)) continue;
    const meta = JSON.parse(readFileSync(pkg, "utf8")) as { name?: string; version?: string };
    if (meta.name === "pipeserve" && meta.version) return (ownVersion = meta.version);
  }
  return (ownVersion = "0.0.0");
}
