import { type Stats, readlinkSync, realpathSync, statSync } from "node:fs";
import { dirname, resolve } from "node:path";

/**
 * Where an output named `path` is written, and how. A file (new or existing) is written
 * atomically: assembled under a temporary name beside it and renamed onto it. A symbolic link is
 * followed: the file it names is replaced, and the link stays. Anything else that exists there (a
 * terminal, `/dev/null`, a named pipe, `>(gzip > x.gz)`'s `/dev/fd/63`) is written in place: a
 * rename would have put a plain file in its stead (run as root, `-o /dev/null` replaced the
 * system's /dev/null; found by an audit), and a pipe's reader would have waited for ever.
 */
export interface OutputTarget {
  /** Whether the output is assembled beside `file` and renamed onto it (else written into it). */
  atomic: boolean;
  /** The file written: `path`, or the file its link names. */
  file: string;
}

export function outputTarget(path: string): OutputTarget {
  // NB: missing, or a link to nothing: a new file. A folder is refused where outputs are checked.
  let info: Stats | undefined;
  try {
    info = statSync(path, { throwIfNoEntry: false });
  } catch {
    info = undefined;
  }
  if (info && !info.isFile() && !info.isDirectory()) return { atomic: false, file: path };
  try {
    return { atomic: true, file: realpathSync(path) };
  } catch {
    // NB: a link to a file that does not exist yet is followed (one level) to where it points.
    try {
      return { atomic: true, file: resolve(dirname(path), readlinkSync(path)) };
    } catch {
      return { atomic: true, file: path };
    }
  }
}
