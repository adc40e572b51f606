import { constants } from "node:fs";
import { access, stat } from "node:fs/promises";
import { dirname } from "node:path";
import { outputTarget } from "../util/index.js";
import { FormatError, TabularError } from "./errors.js";
import type { TableFormat } from "./files.js";

/**
 * A file that cannot be read or written (missing, a folder, no permission, empty): the message
 * names the path, says what is wrong with it and how to fix it.
 */
export class FileAccessError extends TabularError {
  constructor(message: string, code: "UNREADABLE_INPUT" | "UNWRITABLE_OUTPUT", cause?: unknown) {
    super(message, { code, ...(cause !== undefined ? { cause } : {}) });
  }
}

/** What a non-empty input of each format holds, for the message about an empty one. */
const NEEDS: Readonly<Record<TableFormat, string>> = {
  csv: "a CSV input needs at least a header row naming the columns",
  json: "a JSON input holds an array of row objects or an MLflow request body",
  jsonl: "a JSON Lines input holds one JSON object per line",
  parquet: "a Parquet file ends with a footer describing its columns",
  arrow: "an Arrow IPC file or stream starts with its schema",
  arrows: "an Arrow IPC stream starts with its schema",
};

/**
 * The error for a failed read of `path`: an fs error (such as ENOENT) worded for people, and a
 * format error with the file named when its message does not name it (a run may read several
 * files: shards, merges); other errors are returned as they are.
 */
export function inputFileError(path: string, cause: unknown): unknown {
  if (cause instanceof FormatError) return cause.message.includes(path) ? cause : new FormatError(`${path}: ${cause.message}`, { cause });
  switch ((cause as NodeJS.ErrnoException | undefined)?.code) {
    case "ENOENT":
      return new FileAccessError(
        `Cannot read ${path}: there is no such file. Check the path (a relative path starts from the current folder).`,
        "UNREADABLE_INPUT",
        cause,
      );
    case "ENOTDIR":
      return new FileAccessError(`Cannot read ${path}: a part of the path is a file, not a folder. Check the path.`, "UNREADABLE_INPUT", cause);
    case "EISDIR":
      return new FileAccessError(`Cannot read ${path}: it is a folder, not a file. Name one file in it.`, "UNREADABLE_INPUT", cause);
    case "EACCES":
    case "EPERM":
      return new FileAccessError(
        `Cannot read ${path}: permission denied. Make it readable (chmod +r ${path}) or run as a user who may read it.`,
        "UNREADABLE_INPUT",
        cause,
      );
    default:
      return cause;
  }
}

/**
 * Checks that an input file can be read before anything is done with it: it exists, is not a
 * folder and may be read. With `format`, an empty (0-byte) file is refused too, except JSON Lines
 * (no lines: no rows).
 * @throws FileAccessError naming the path, the problem and the fix.
 */
export async function checkInputFile(path: string, format?: TableFormat): Promise<void> {
  let info: Awaited<ReturnType<typeof stat>>;
  try {
    info = await stat(path);
    if (info.isDirectory()) throw Object.assign(new Error(`EISDIR: ${path}`), { code: "EISDIR" });
    await access(path, constants.R_OK);
  } catch (cause) {
    throw inputFileError(path, cause);
  }
  if (format && format !== "jsonl" && info.isFile() && info.size === 0) {
    throw new FileAccessError(
      `Cannot read ${path}: the file is empty (0 bytes), and ${NEEDS[format]}. Check that whatever wrote it finished.`,
      "UNREADABLE_INPUT",
    );
  }
}

/**
 * Checks that a file can be written at `path` (written beside it under a temporary name, then
 * renamed): its folder exists, is a folder and may be written, and `path` is not a folder. A link
 * is checked where it points; a device or a pipe (written into, see `outputTarget`) must be writable.
 * @throws FileAccessError naming the path, the problem and the fix.
 */
export async function checkOutputFile(path: string): Promise<void> {
  const target = outputTarget(path);
  if (!target.atomic) {
    try {
      await access(path, constants.W_OK);
      return;
    } catch (cause) {
      throw new FileAccessError(`Cannot write ${path}: ${(cause as Error).message}`, "UNWRITABLE_OUTPUT", cause);
    }
  }
  const folder = dirname(target.file);
  const info = await stat(folder).catch((cause: NodeJS.ErrnoException) => cause);
  if (info instanceof Error) {
    const missing = info.code === "ENOENT" || info.code === "ENOTDIR";
    throw new FileAccessError(
      missing ? `Cannot write ${path}: the folder ${folder} does not exist. Create it first.` : `Cannot write ${path}: ${info.message}`,
      "UNWRITABLE_OUTPUT",
      info,
    );
  }
  if (!info.isDirectory()) throw new FileAccessError(`Cannot write ${path}: ${folder} is a file, not a folder. Check the path.`, "UNWRITABLE_OUTPUT");
  if ((await stat(path).catch(() => undefined))?.isDirectory()) {
    throw new FileAccessError(`Cannot write ${path}: it is a folder. Name a file (e.g. ${path.replace(/\/+$/, "")}/predictions.csv).`, "UNWRITABLE_OUTPUT");
  }
  try {
    await access(folder, constants.W_OK);
  } catch (cause) {
    throw new FileAccessError(
      `Cannot write ${path}: the folder ${folder} is not writable (permission denied). Choose another output folder, or make this one writable.`,
      "UNWRITABLE_OUTPUT",
      cause,
    );
  }
}
