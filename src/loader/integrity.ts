import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { readFile, realpath, stat } from "node:fs/promises";
import { isAbsolute, join, normalize, sep } from "node:path";
import { folderDigest, isInsideFolderPath } from "../util/index.js";
import { ModelLoadError } from "./errors.js";

/** A path from a model file, checked to stay inside the model directory. */
export function insideModel(dir: string, path: string, what: string): string {
  const clean = normalize(path);
  if (isAbsolute(clean) || clean.split(/[/\\]/).includes("..")) {
    throw new ModelLoadError(`${what} has the path ${JSON.stringify(path)}, which points outside the model directory. The model is corrupt or hostile.`, {
      code: "INVALID_MODEL_FILE",
    });
  }
  return join(dir, clean);
}

/**
 * A model file's path, checked to be a regular file inside the model directory, symbolic links
 * followed. NB: a link to a device (/dev/zero) or a pipe made reading it hang, or fill memory, and
 * one to a file elsewhere made the model read outside its directory.
 * @throws ModelLoadError MISSING_FILE when it is missing, INVALID_MODEL_FILE when it leads outside or is no regular file.
 */
export async function modelFile(dir: string, path: string, what: string): Promise<string> {
  const file = insideModel(dir, path, what);
  let real: string;
  let root: string;
  try {
    [real, root] = await Promise.all([realpath(file), realpath(dir)]);
  } catch (cause) {
    throw new ModelLoadError(`${what} (${path}) is missing from the model at ${dir}.`, { code: "MISSING_FILE", cause });
  }
  if (!real.startsWith(root + sep)) {
    throw new ModelLoadError(
      `${what} (${path}) is a symbolic link to ${real}, outside the model directory ${dir}: a model's files must be inside it. Copy the file in, or re-package the model.`,
      { code: "INVALID_MODEL_FILE" },
    );
  }
  const info = await stat(real);
  if (!info.isFile()) {
    throw new ModelLoadError(`${what} (${path}) is not a regular file (a folder, device or pipe): the model is corrupt or hostile.`, {
      code: "INVALID_MODEL_FILE",
    });
  }
  return real;
}

/**
 * Reads a file and checks its sha256 against the one recorded at packaging time.
 * @throws ModelLoadError naming the file when it is missing, truncated or changed, leads outside the model or is no regular file.
 */
export async function readVerified(dir: string, path: string, sha256: string, what: string): Promise<Buffer> {
  const file = await modelFile(dir, path, what);
  let data: Buffer;
  try {
    data = await readFile(file);
  } catch (cause) {
    throw new ModelLoadError(`${what} (${path}) is missing from the model at ${dir}.`, { code: "MISSING_FILE", cause });
  }
  checkDigest(createHash("sha256").update(data).digest("hex"), sha256, path, what);
  return data;
}

function checkDigest(actual: string, sha256: string, path: string, what: string): void {
  if (actual !== sha256) {
    throw new ModelLoadError(
      `${what} (${path}) does not match its recorded sha256: the file was changed or truncated after packaging (expected ${sha256.slice(0, 12)}…, found ${actual.slice(0, 12)}…). Re-package the model; never edit one in place.`,
      { code: "INTEGRITY_ERROR" },
    );
  }
}

/**
 * Checks a file's sha256 against the one recorded at packaging time, streaming it (an artifact
 * may be larger than memory should hold).
 * @throws ModelLoadError naming the file when it is missing, truncated or changed.
 */
export async function verifyFile(dir: string, path: string, sha256: string, what: string): Promise<void> {
  const file = await modelFile(dir, path, what);
  const hash = createHash("sha256");
  try {
    for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  } catch (cause) {
    throw new ModelLoadError(`${what} (${path}) is missing from the model at ${dir}.`, { code: "MISSING_FILE", cause });
  }
  checkDigest(hash.digest("hex"), sha256, path, what);
}

/**
 * The model-relative path of `file` inside the folder artifact at `folder`.
 * @throws ModelLoadError for a file name that leaves its folder (`..`, absolute, backslashes).
 */
export function folderFilePath(folder: string, file: string, what: string): string {
  if (!isInsideFolderPath(file)) {
    throw new ModelLoadError(`${what} lists the file ${JSON.stringify(file)}, which points outside its folder ${folder}. The model is corrupt or hostile.`, {
      code: "INVALID_MODEL_FILE",
    });
  }
  return `${folder.replace(/\/+$/, "")}/${file}`;
}

/**
 * A folder artifact's files as model-relative paths, after checking every name stays inside the
 * folder and the list matches the sha256 recorded for it.
 * @throws ModelLoadError INVALID_MODEL_FILE for a name leaving the folder, INTEGRITY_ERROR for a list that changed.
 */
export function folderArtifactFiles(
  artifact: { path: string; sha256: string; files: Readonly<Record<string, { sha256: string }>> },
  what: string,
): { file: string; path: string; sha256: string }[] {
  const files = Object.entries(artifact.files).map(([file, { sha256 }]) => ({ file, path: folderFilePath(artifact.path, file, what), sha256 }));
  checkFolderDigest(artifact.files, artifact.sha256, artifact.path, what);
  return files;
}

/**
 * Checks a folder artifact's file list against the sha256 recorded for it (the digest of the list:
 * a file added, dropped or renamed in pipeline.json changes it).
 * @throws ModelLoadError INTEGRITY_ERROR when they differ.
 */
export function checkFolderDigest(files: Readonly<Record<string, { sha256: string }>>, sha256: string, path: string, what: string): void {
  checkDigest(folderDigest(files), sha256, `${path} (its file list)`, what);
}
