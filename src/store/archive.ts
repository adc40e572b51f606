import { randomBytes } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, readdir, rename, rm } from "node:fs/promises";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { basename, dirname, isAbsolute, join, normalize } from "node:path";
import type { ReadEntry } from "tar";
import type { StoreErrorCode } from "../errors/index.js";
import { OUTPUT_APPEND, formatByteSize, outputTarget, parseByteSize } from "../util/index.js";
import { StoreError } from "./errors.js";

/** What an archive's files may add up to when extracted, unless told otherwise. */
export const DEFAULT_MAX_EXTRACT_BYTES = 2 * 1024 ** 3;
/** The most entries a model archive may have (each one a file or folder to create). */
export const MAX_ARCHIVE_ENTRIES = 100_000;
/** The environment variable that sets the extraction limit where no flag does (`serve -m x.tar.gz`, `predict`). */
export const MAX_EXTRACT_SIZE_ENV = "PIPESERVE_MAX_EXTRACT_SIZE";

/** An archive that cannot be extracted safely or is not a model archive. */
export class ArchiveError extends StoreError {
  constructor(message: string, options?: { cause?: unknown; code?: Extract<StoreErrorCode, "INVALID_ARCHIVE" | "ARCHIVE_TOO_LARGE"> }) {
    super(message, { code: "INVALID_ARCHIVE", ...options });
  }
}

/** How much an extraction may write. */
export interface ArchiveLimits {
  /** The most bytes the archive's files may add up to (default: `PIPESERVE_MAX_EXTRACT_SIZE`, else 2 GB). */
  maxExtractBytes?: number;
}

/** What an archive holds, once checked. */
export interface ArchiveSummary {
  entries: number;
  /** What its files add up to when extracted. */
  bytes: number;
}

/**
 * The extraction limit: the one given, else `PIPESERVE_MAX_EXTRACT_SIZE`, else 2 GB.
 * @throws ArchiveError when the environment variable is not a size.
 */
export function maxExtractBytes(given?: number, env: NodeJS.ProcessEnv = process.env): number {
  if (given !== undefined) return given;
  const raw = env[MAX_EXTRACT_SIZE_ENV];
  if (raw === undefined || raw.trim() === "") return DEFAULT_MAX_EXTRACT_BYTES;
  const bytes = parseByteSize(raw);
  if (bytes === undefined) throw new ArchiveError(`${MAX_EXTRACT_SIZE_ENV} must be a size such as 2gb, 500mb or 1048576, got "${raw}".`);
  return bytes;
}

/**
 * Packs a model directory into a `.tar.gz` (entries relative to the model, no owners or times
 * that differ between machines), written atomically (a link followed, a device or a pipe written
 * into: see `outputTarget`).
 */
export async function createModelArchive(modelDir: string, outFile: string): Promise<void> {
  const entries = await modelEntries(modelDir);
  const target = outputTarget(outFile);
  await mkdir(dirname(target.file), { recursive: true });
  const tmp = target.atomic ? join(dirname(target.file), `.${basename(target.file)}.${randomBytes(6).toString("hex")}.tmp`) : undefined;
  try {
    const { create } = await import("tar");
    if (tmp) {
      await create({ gzip: true, file: tmp, cwd: modelDir, portable: true, noMtime: true }, entries);
      await rename(tmp, target.file);
    } else {
      // NB: a pipe, a device or an open descriptor's name: written into, at its end (see outputTarget).
      await pipeline(create({ gzip: true, cwd: modelDir, portable: true, noMtime: true }, entries), createWriteStream(target.file, { flags: OUTPUT_APPEND }));
    }
  } catch (error) {
    if (tmp) await rm(tmp, { force: true });
    throw error;
  }
}

/**
 * Packs a model directory into a `.tar.gz` written to a stream (`pipeserve export -o -` writes
 * stdout), which is left open.
 */
export async function writeModelArchive(modelDir: string, out: NodeJS.WritableStream): Promise<void> {
  const files = await modelEntries(modelDir);
  const { create } = await import("tar");
  await pipeline(create({ gzip: true, cwd: modelDir, portable: true, noMtime: true }, files), out, { end: false });
}

/** A model directory's entries to pack, sorted, hidden ones left out. */
async function modelEntries(modelDir: string): Promise<string[]> {
  const entries = await readdir(modelDir);
  if (!entries.includes("MLmodel")) throw new ArchiveError(`${modelDir} is not a model directory (no MLmodel file).`);
  return entries.filter((e) => !e.startsWith(".")).sort();
}

/**
 * Copies an archive read from a stream (`pipeserve import -` reads stdin) into `file`, to be
 * checked and extracted as any other. A stream longer than an archive within the extraction
 * limit can be (its files, plus a tar header and padding for each of the most entries allowed,
 * plus gzip's overhead) is refused as it comes, and the copy removed.
 * @throws ArchiveError (code ARCHIVE_TOO_LARGE) when the stream is longer than that.
 */
export async function spoolModelArchive(input: NodeJS.ReadableStream, file: string, limits: ArchiveLimits = {}): Promise<void> {
  const maxBytes = maxExtractBytes(limits.maxExtractBytes);
  const allowed = Math.ceil(maxBytes * 1.001) + 1024 * MAX_ARCHIVE_ENTRIES + 1024 ** 2;
  let seen = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      seen += chunk.length;
      if (seen > allowed) {
        done(
          new ArchiveError(
            `Refusing the archive read from stdin: it is longer than ${formatByteSize(allowed)}, more than an archive within the extraction limit of ${formatByteSize(maxBytes)} can be. If you trust it, raise the limit with --max-extract-size.`,
            { code: "ARCHIVE_TOO_LARGE" },
          ),
        );
        return;
      }
      done(null, chunk);
    },
  });
  try {
    await pipeline(input, counter, createWriteStream(file, { flags: "wx" }));
  } catch (error) {
    await rm(file, { force: true });
    throw error;
  }
}

/** Why an entry may not be extracted, or undefined when it is safe. */
function unsafeReason(path: string, type: string): string | undefined {
  if (type !== "File" && type !== "Directory" && type !== "OldFile") return `is a ${type} entry (only files and folders are allowed)`;
  if (isAbsolute(path) || /^[A-Za-z]:/.test(path)) return "has an absolute path";
  if (normalize(path).split(/[\\/]/).includes("..")) return "would land outside the target folder";
  // NB: node-tar refuses any path with a ".." part, even one that stays inside (a/../b): said here, in our words, with the other entries.
  if (path.split(/[\\/]/).includes("..")) return 'has a ".." in its path';
  return undefined;
}

/** Counts what an archive's entries would write, and says when that passes the limits. */
class Tally {
  entries = 0;
  bytes = 0;
  constructor(
    readonly archive: string,
    readonly maxBytes: number,
  ) {}

  /** Adds an entry; returns the error to refuse the archive with once over a limit. */
  add(entry: ReadEntry): ArchiveError | undefined {
    this.entries++;
    if (entry.type !== "Directory") this.bytes += entry.size ?? 0;
    if (this.bytes > this.maxBytes) {
      return new ArchiveError(
        `Refusing to extract ${this.archive}: its files add up to more than the limit of ${formatByteSize(this.maxBytes)} (${this.maxBytes} bytes; ${formatByteSize(this.bytes)} by entry "${entry.path}"). If you trust this archive, raise the limit with --max-extract-size (import) or ${MAX_EXTRACT_SIZE_ENV}.`,
        { code: "ARCHIVE_TOO_LARGE" },
      );
    }
    if (this.entries > MAX_ARCHIVE_ENTRIES) {
      return new ArchiveError(`Refusing to extract ${this.archive}: it has more than ${MAX_ARCHIVE_ENTRIES} entries; a model archive has a few files.`, {
        code: "ARCHIVE_TOO_LARGE",
      });
    }
    return undefined;
  }
}

/** Reads every entry header of an archive (bodies skipped), stopping at the first over the limits. */
async function scanArchive(archive: string, tally: Tally, onEntry: (entry: ReadEntry) => void): Promise<void> {
  let refused: ArchiveError | undefined;
  // NB: tar is loaded when an archive is read or written, not with the store (`serve` of a folder never needs it).
  const { Parser } = await import("tar");
  const input = createReadStream(archive);
  const parser = new Parser({
    strict: true,
    onReadEntry: (entry) => {
      onEntry(entry);
      refused ??= tally.add(entry);
      if (refused) {
        // NB: stop reading at once: a bomb is refused after its first too-large header, not after inflating it.
        input.unpipe(parser);
        input.destroy();
        parser.abort(refused);
      }
      entry.resume();
    },
  });
  try {
    await new Promise<void>((resolve, reject) => {
      input.on("error", reject);
      parser.on("error", reject);
      parser.on("end", resolve);
      input.pipe(parser);
    });
  } catch (cause) {
    if (refused) throw refused;
    throw new ArchiveError(`${archive} is not a readable .tar.gz archive: ${(cause as Error).message}`, { cause });
  }
}

/**
 * Checks every entry of a model archive without writing anything: an absolute path, a `..` that
 * climbs out, or a link or device entry rejects the whole archive, as does a missing `MLmodel`,
 * or files that add up to more than the extraction limit.
 * @throws ArchiveError naming the offending entries, or the figure passed (code ARCHIVE_TOO_LARGE).
 */
export async function checkModelArchive(archive: string, limits: ArchiveLimits = {}): Promise<ArchiveSummary> {
  const problems: string[] = [];
  let sawModel = false;
  const tally = new Tally(archive, maxExtractBytes(limits.maxExtractBytes));
  await scanArchive(archive, tally, (entry) => {
    const reason = unsafeReason(entry.path, entry.type);
    if (reason) problems.push(`"${entry.path}" ${reason}`);
    if (normalize(entry.path) === "MLmodel") sawModel = true;
  });
  if (problems.length > 0) throw new ArchiveError(`Refusing to extract ${archive}: entry ${problems.slice(0, 5).join("; entry ")}.`);
  if (!sawModel) throw new ArchiveError(`${archive} is not a model archive: it has no MLmodel at its top level. Make archives with \`pipeserve export\`.`);
  return { entries: tally.entries, bytes: tally.bytes };
}

/** The mode an extracted entry gets: 0755 for folders and executables, 0644 for other files; never setuid, setgid or sticky. */
function safeMode(entry: ReadEntry): number {
  return entry.type === "Directory" || ((entry.mode ?? 0) & 0o111) !== 0 ? 0o755 : 0o644;
}

/**
 * Extracts a model archive into `targetDir` (which must be empty or absent). Every entry is
 * checked first (`checkModelArchive`): a bad entry, or files adding up to more than the limit,
 * reject the whole archive before anything is written. The limit is enforced again while writing
 * (the file could change in between); whatever was written is then removed. Modes are masked to
 * 0644/0755.
 * @throws ArchiveError naming the offending entry or the figure passed.
 */
export async function extractModelArchive(archive: string, targetDir: string, limits: ArchiveLimits = {}): Promise<ArchiveSummary> {
  const summary = await checkModelArchive(archive, limits);
  const existed = await readdir(targetDir).then(
    (entries) => {
      if (entries.length > 0) throw new ArchiveError(`Cannot extract into ${targetDir}: the folder is not empty.`);
      return true;
    },
    () => false,
  );
  await mkdir(targetDir, { recursive: true });
  const tally = new Tally(archive, maxExtractBytes(limits.maxExtractBytes));
  let refused: ArchiveError | undefined;
  const { extract } = await import("tar");
  try {
    await extract({
      file: archive,
      cwd: targetDir,
      strict: true,
      preservePaths: false,
      preserveOwner: false,
      filter: (path, entry) => {
        const e = entry as ReadEntry;
        if (refused || unsafeReason(path, e.type) !== undefined) return false;
        refused = tally.add(e);
        e.mode = safeMode(e);
        return refused === undefined;
      },
    });
    if (refused) throw refused;
  } catch (error) {
    await (existed ? emptyFolder(targetDir) : rm(targetDir, { recursive: true, force: true }));
    throw error;
  }
  return summary;
}

async function emptyFolder(dir: string): Promise<void> {
  for (const entry of await readdir(dir)) await rm(join(dir, entry), { recursive: true, force: true });
}
