import { mkdir } from "node:fs/promises";
import { dirname, isAbsolute } from "node:path";
import { fileURLToPath } from "node:url";
import { StoreError } from "./errors.js";
import { isDirectory } from "./fs-utils.js";

/**
 * Where a store keeps files (run artifacts, LoggedModels' model directories), by artifact URI.
 * The packager and the loader see only local folders: a local repository hands out the folders
 * themselves; a remote one (a tracking server's artifact proxy) downloads into a cache and uploads
 * from a staging folder.
 */
export interface ArtifactRepository {
  /**
   * A local folder holding the files under `uri` (for a remote store: downloaded, or taken from the
   * cache), or undefined when nothing is stored there.
   * @throws StoreError naming the scheme for a URI this repository cannot reach.
   */
  localFolder(uri: string): Promise<string | undefined>;
  /**
   * Stores a folder of files at `uri`: `write` is given a local folder path that does not exist
   * yet, creates it and fills it; once it returns, the files are at `uri` (for a local store the
   * path is the destination itself; for a remote one, a staging folder that is uploaded, then removed).
   */
  writeFolder<T>(uri: string, write: (dir: string) => Promise<T>): Promise<T>;
}

/** The schemes pipeserve reads artifacts from, for messages. */
export const SUPPORTED_ARTIFACT_SCHEMES =
  "local folders and file:// URIs (file and sqlite stores), mlflow-artifacts:/ (an MLflow tracking server's artifact proxy)";

/** The scheme of an artifact URI (`s3`, `file`, …), or undefined for a plain path. */
export function artifactScheme(uri: string): string | undefined {
  const m = /^([a-z][a-z0-9+.-]*):/i.exec(uri);
  return m && (m[1] as string).length > 1 ? (m[1] as string).toLowerCase() : undefined;
}

/** The error for an artifact URI no repository here can reach. */
export function unreachableArtifacts(uri: string): StoreError {
  const scheme = artifactScheme(uri) ?? "a relative path";
  return new StoreError(
    `Artifacts at ${uri} (${scheme === "a relative path" ? scheme : `${scheme}://`}) cannot be read or written by pipeserve; supported: ${SUPPORTED_ARTIFACT_SCHEMES}. Point the experiment's artifact location at one of those.`,
    { code: "INVALID_PARAMETER_VALUE" },
  );
}

/**
 * The local folder a `file://` URI or an absolute path names.
 * @throws StoreError (unreachableArtifacts) for any other URI.
 */
export function localArtifactPath(uri: string): string {
  if (uri.startsWith("file:")) {
    try {
      return fileURLToPath(uri);
    } catch (cause) {
      throw new StoreError(`Invalid artifact URI ${JSON.stringify(uri)}: ${(cause as Error).message}`, { code: "INVALID_PARAMETER_VALUE", cause });
    }
  }
  if (isAbsolute(uri)) return uri;
  throw unreachableArtifacts(uri);
}

/** Artifacts in local folders: the file store's and the SQL store's (an experiment's `file://` artifact location). */
export class LocalArtifactRepository implements ArtifactRepository {
  async localFolder(uri: string): Promise<string | undefined> {
    const path = localArtifactPath(uri);
    return (await isDirectory(path)) ? path : undefined;
  }

  async writeFolder<T>(uri: string, write: (dir: string) => Promise<T>): Promise<T> {
    const path = localArtifactPath(uri);
    // NB: a SQL store's new run has no artifacts folder yet (the file store's has): `import` into it failed with ENOENT.
    await mkdir(dirname(path), { recursive: true });
    return write(path);
  }
}

/** `uri` with a relative path appended (`file:///a/artifacts` + `model` → `file:///a/artifacts/model`). */
export function joinArtifactUri(uri: string, ...parts: string[]): string {
  const tail = parts.filter((p) => p !== "").join("/");
  if (tail === "") return uri;
  return `${uri.replace(/\/+$/, "")}/${tail.replace(/^\/+/, "")}`;
}
