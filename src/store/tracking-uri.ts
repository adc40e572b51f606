import { resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { StoreError } from "./errors.js";

/**
 * The run store's folder: `--tracking-uri`, then `MLFLOW_TRACKING_URI`, then `./mlruns`. A
 * `file://` URI or a path; remote tracking servers are not supported.
 */
export function resolveTrackingUri(flag?: string, env: NodeJS.ProcessEnv = process.env): string {
  const uri = flag ?? (env["MLFLOW_TRACKING_URI"] || undefined) ?? "./mlruns";
  if (uri.startsWith("file:")) {
    try {
      return fileURLToPath(uri);
    } catch (cause) {
      throw new StoreError(`Invalid tracking URI ${JSON.stringify(uri)}: use file:///absolute/path or a plain path.`, {
        code: "INVALID_URI",
        cause,
      });
    }
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(uri) || /^(databricks|uc)(:|$)/.test(uri)) {
    throw new StoreError(
      `Tracking URI ${JSON.stringify(uri)} points to a remote server; pipeserve keeps runs in a local folder. Use a path or file:// URI (the MLflow UI can browse it with \`mlflow ui --backend-store-uri <path>\`).`,
      { code: "INVALID_PARAMETER_VALUE" },
    );
  }
  return resolve(uri);
}

/** A folder as the `file://` URI MLflow writes in `artifact_location` and `artifact_uri`. */
export function toFileUri(path: string): string {
  return pathToFileURL(path).href;
}
