import { type Stats, readlinkSync, realpathSync, statSync } from "node:fs";
import { dirname, resolve } from "node:path";

/**
 * Where an output named `path` is written, and how. A file (new or existing) is written
 * atomically: assembled under a temporary name beside it and renamed onto it. A symbolic link is
 * followed: the file it names is replaced, and the link stays. Anything else that exists there (a
 * terminal, `/dev/null`, a named pipe, `>(gzip > x.gz)`'s `/dev/fd/63`) is written in place: a
 * rename would have put a plain file in its stead (run as root, `-o /dev/null` replaced the
 * system's /dev/null; found by an audit), and a pipe's reader would have waited for ever. Such an
 * output is opened to append (`OUTPUT_APPEND`): a descriptor name such as `/dev/stdout` may stand
 * for a file the shell opened with `>>`.
 */
export interface OutputTarget {
  /** Whether the output is assembled beside `file` and renamed onto it (else written into it). */
  atomic: boolean;
  /** The file written: `path`, or the file its link names. */
  file: string;
}

/** How an output that is not written atomically is opened (see `outputTarget`). */
export const OUTPUT_APPEND = "a";

/** A name for a descriptor the process already has open (`/dev/stdout`, `/dev/fd/1`, `/proc/self/fd/1`). */
const OPEN_DESCRIPTOR = /^\/(?:dev\/(?:stdout|stderr|fd\/\d+)|proc\/(?:self|\d+)\/fd\/\d+)$/;

export function outputTarget(path: string): OutputTarget {
  // NB: found by a review: followed to the file `>> log.txt` opened, `-o /dev/stdout` was renamed
  // over it (what was in it lost). Such a name is written into, at its end.
  if (OPEN_DESCRIPTOR.test(path)) return { atomic: false, file: path };
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
