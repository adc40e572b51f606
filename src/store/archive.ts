import { mkdir, readdir, rename, rm } from "node:fs/promises";
import { basename, dirname, isAbsolute, join, normalize } from "node:path";
import { randomBytes } from "node:crypto";
import { create, extract, list } from "tar";
import { StoreError } from "./errors.js";

/** An archive that cannot be extracted safely or is not a model archive. */
export class ArchiveError extends StoreError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, { code: "INVALID_ARCHIVE", ...options });
  }
}

/**
 * Packs a model directory into a `.tar.gz` (entries relative to the model, no owners or times
 * that differ between machines), written atomically.
 */
export async function createModelArchive(modelDir: string, outFile: string): Promise<void> {
  const entries = await readdir(modelDir);
  if (!entries.includes("MLmodel")) throw new ArchiveError(`${modelDir} is not a model directory (no MLmodel file).`);
  await mkdir(dirname(outFile), { recursive: true });
  const tmp = join(dirname(outFile), `.${basename(outFile)}.${randomBytes(6).toString("hex")}.tmp`);
  try {
    await create({ gzip: true, file: tmp, cwd: modelDir, portable: true, noMtime: true }, entries.filter((e) => !e.startsWith(".")).sort());
    await rename(tmp, outFile);
  } catch (error) {
    await rm(tmp, { force: true });
    throw error;
  }
}

/** Why an entry may not be extracted, or undefined when it is safe. */
function unsafeReason(path: string, type: string): string | undefined {
  if (type !== "File" && type !== "Directory" && type !== "OldFile") return `is a ${type} entry (only files and folders are allowed)`;
  if (isAbsolute(path) || /^[A-Za-z]:/.test(path)) return "has an absolute path";
  const parts = normalize(path).split(/[\\/]/);
  if (parts.includes("..")) return "would land outside the target folder";
  return undefined;
}

/**
 * Checks every entry of a model archive without writing anything: an absolute path, a `..` that
 * climbs out, or a link or device entry rejects the whole archive, as does a missing `MLmodel`.
 * @throws ArchiveError naming the offending entries.
 */
export async function checkModelArchive(archive: string): Promise<void> {
  const problems: string[] = [];
  let sawModel = false;
  try {
    await list({
      file: archive,
      strict: true,
      onReadEntry: (entry) => {
        const reason = unsafeReason(entry.path, entry.type);
        if (reason) problems.push(`"${entry.path}" ${reason}`);
        if (normalize(entry.path) === "MLmodel") sawModel = true;
        entry.resume();
      },
    });
  } catch (cause) {
    throw new ArchiveError(`${archive} is not a readable .tar.gz archive: ${(cause as Error).message}`, { cause });
  }
  if (problems.length > 0) throw new ArchiveError(`Refusing to extract ${archive}: entry ${problems.slice(0, 5).join("; entry ")}.`);
  if (!sawModel) throw new ArchiveError(`${archive} is not a model archive: it has no MLmodel at its top level. Make archives with \`pipeserve export\`.`);
}

/**
 * Extracts a model archive into `targetDir` (which must be empty or absent). Every entry is
 * checked first (`checkModelArchive`): a bad entry rejects the whole archive before anything is
 * written.
 * @throws ArchiveError naming the offending entry.
 */
export async function extractModelArchive(archive: string, targetDir: string): Promise<void> {
  await checkModelArchive(archive);
  await mkdir(targetDir, { recursive: true });
  if ((await readdir(targetDir)).length > 0) throw new ArchiveError(`Cannot extract into ${targetDir}: the folder is not empty.`);
  await extract({
    file: archive,
    cwd: targetDir,
    strict: true,
    preservePaths: false,
    preserveOwner: false,
    filter: (path, entry) => unsafeReason(path, (entry as { type: string }).type) === undefined,
  });
}
