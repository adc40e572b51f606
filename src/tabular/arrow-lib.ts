import { createRequire } from "node:module";
import type * as Arrow from "apache-arrow";
import { guardFlatbufferVectors } from "./flatbuffer-guard.js";

let lib: typeof Arrow | undefined;
/** The mark apache-arrow (≥ 15) puts on every Table's prototype, whichever build made it. */
const TABLE_MARK = Symbol.for("apache-arrow/Table");

/**
 * apache-arrow, loaded at its first use: a CSV or JSON request, `predict` of a CSV file and
 * `pipeserve --help` never load its ~150 modules (about 0.1 s of every start).
 *
 * NB: its CommonJS build, which is also what model code gets when it imports `apache-arrow` (the
 * host resolves packages with `require`): one set of classes in the process, so an Arrow table a
 * node returns is an `instanceof` of the `Table` pipeserve checks for. Before anything is decoded,
 * FlatBuffers' vector reads are guarded (see flatbuffer-guard.ts).
 */
export function arrowLib(): typeof Arrow {
  if (lib === undefined) {
    guardFlatbufferVectors();
    lib = createRequire(import.meta.url)("apache-arrow") as typeof Arrow;
  }
  return lib;
}

/** apache-arrow's IPC file footer (not in its main entry: its `ipc/metadata/file` module, of the same CommonJS build). */
export function arrowFooter(): typeof import("apache-arrow/ipc/metadata/file").Footer {
  arrowLib();
  return (createRequire(import.meta.url)("apache-arrow/ipc/metadata/file") as typeof import("apache-arrow/ipc/metadata/file")).Footer;
}

/**
 * Whether `value` is an Arrow table, of this process's apache-arrow (see arrowLib) or of another
 * build or copy of it (an ES module import of `apache-arrow` has classes of its own; arrow marks
 * its tables with a `Symbol.for` key that every build's `instanceof` checks). Never loads apache-arrow.
 */
export function isArrowTable(value: unknown): value is Arrow.Table {
  return value !== null && typeof value === "object" && (value as Record<symbol, unknown>)[TABLE_MARK] === true;
}
