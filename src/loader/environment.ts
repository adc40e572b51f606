import { installedVersion, pipeserveVersion } from "../runtime/index.js";
import { ModelLoadError } from "./errors.js";
import type { Environment } from "./model-files.js";

function satisfiesNode(range: string | undefined): boolean {
  const m = range === undefined ? null : /^>=\s*(\d+)/.exec(range.trim());
  if (!m) return true;
  return Number(process.versions.node.split(".")[0]) >= Number(m[1]);
}

/**
 * Checks the running Node and the installed packages against `environment.json`: a missing
 * package or a too-old Node is an error; a different version is a warning (returned).
 */
export function checkEnvironment(env: Environment, dir: string): string[] {
  const warnings: string[] = [];
  if (!satisfiesNode(env.node)) {
    throw new ModelLoadError(`The model at ${dir} needs Node ${env.node}; this is Node ${process.versions.node}.`, { code: "ENVIRONMENT_MISMATCH" });
  }
  const missing: string[] = [];
  for (const [name, wanted] of Object.entries(env.packages)) {
    const found = name === "pipeserve" ? pipeserveVersion() : installedVersion(name);
    if (found === undefined) missing.push(`${name}@${wanted}`);
    else if (wanted !== "*" && found !== wanted) warnings.push(`The model was packaged with ${name} ${wanted}; ${found} is installed.`);
  }
  if (missing.length > 0) {
    throw new ModelLoadError(
      `The model at ${dir} needs packages that are not installed: ${missing.join(", ")}. Install them next to pipeserve (npm install ${missing.join(" ")}).`,
      {
        code: "ENVIRONMENT_MISMATCH",
      },
    );
  }
  return warnings;
}
