import { createHash, randomUUID } from "node:crypto";
import { lstat, readdir, readFile, rename, rm } from "node:fs/promises";
import { isAbsolute, join, normalize, relative, sep } from "node:path";

/** One file of a folder-shaped artifact: its sha256 and size. */
export interface FolderFile {
  sha256: string;
  bytes: number;
}

/**
 * The sha256 a folder-shaped artifact is recorded with: of its file list, one line per file
 * (`<sha256>  <path>\n`, paths with `/`, sorted), as `sha256sum` prints it. It changes when any
 * file, name or the set of files changes.
 */
export function folderDigest(files: Readonly<Record<string, { sha256: string }>>): string {
  const lines = Object.keys(files)
    .sort()
    .map((path) => `${(files[path] as { sha256: string }).sha256}  ${path}\n`)
    .join("");
  return createHash("sha256").update(lines).digest("hex");
}

/** Whether `path` is a relative path that stays inside its folder (no `..`, not absolute, no empty parts, no backslash or line break). */
export function isInsideFolderPath(path: string): boolean {
  if (path === "" || isAbsolute(path) || /[\\\0\n\r]/.test(path)) return false;
  const parts = path.split("/");
  return parts.every((p) => p !== "" && p !== "." && p !== "..") && normalize(path).split(sep).join("/") === path;
}

/**
 * Every file of `dir` (recursively) with its sha256 and size, by its path inside `dir` (with `/`).
 * @throws Error for a symbolic link or anything but files and folders (a folder artifact holds only files).
 */
export async function readFolderManifest(dir: string): Promise<Record<string, FolderFile>> {
  const files: Record<string, FolderFile> = {};
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    const full = join(entry.parentPath, entry.name);
    const path = relative(dir, full).split(sep).join("/");
    if (entry.isDirectory()) continue;
    if (!entry.isFile() || (await lstat(full)).isSymbolicLink())
      throw new Error(`${full} is not a regular file; a folder artifact holds only files and folders.`);
    const data = await readFile(full);
    files[path] = { sha256: createHash("sha256").update(data).digest("hex"), bytes: data.byteLength };
  }
  return files;
}

/**
 * Puts the complete folder `fresh` at `target`, replacing the folder there: the old one is moved
 * aside, the new one renamed in, the old one removed (best effort). If the new one cannot be
 * renamed in, the old one is put back, so `target` holds the last complete folder either way.
 */
export async function swapInFolder(fresh: string, target: string): Promise<void> {
  const old = `${target}.old-${randomUUID()}`;
  let moved = false;
  try {
    await rename(target, old);
    moved = true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  try {
    await rename(fresh, target);
  } catch (error) {
    if (moved) await rename(old, target).catch(() => undefined);
    throw error;
  }
  if (moved) await rm(old, { recursive: true, force: true }).catch(() => undefined);
}
