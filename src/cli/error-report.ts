import { isAbsolute, join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { redactCredentials } from "../util/index.js";

/** pipeserve's own code, built (`dist/`) or run from source (`src/`): never the user's frame. */
const PACKAGE_ROOT = fileURLToPath(new URL("../..", import.meta.url));
const OWN_CODE = [join(PACKAGE_ROOT, "dist", sep), join(PACKAGE_ROOT, "src", sep)];
/**
 * Temporary copies of bundled code that no source map led out of: a project's (src/packager/project.ts
 * writes them) and a loaded model's (src/loader/load-model.ts); they name no file the user has, and
 * are gone once the command ends.
 */
const TEMP_BUNDLE = /[\\/](?:pipeserve-project-[^\\/]+[\\/][0-9a-f]{16}|pipeserve-code-[^\\/]+[\\/][^\\/]+)\.mjs$/;
/** The location a V8 stack frame ends with: `at fn (where:1:2)` or `at where:1:2`. */
const FRAME = /^\s*at (?:.*? \()?(.+?):(\d+):(\d+)\)?$/;
/** How deep a chain of `cause`s is followed (a cause can point back at its error). */
const MAX_CAUSES = 10;

/** The error and its causes, outermost first. */
function causeChain(error: unknown): unknown[] {
  const chain: unknown[] = [];
  for (let e: unknown = error; e !== undefined && chain.length < MAX_CAUSES && !chain.includes(e); e = (e as { cause?: unknown }).cause) {
    chain.push(e);
    if (!(e instanceof Error)) break;
  }
  return chain;
}

/** The file of a frame's location, when it is a file on disk (`file:` URLs made paths). */
function frameFile(location: string): string | undefined {
  if (location.startsWith("file://")) {
    try {
      return fileURLToPath(location);
    } catch {
      return undefined;
    }
  }
  return isAbsolute(location) ? location : undefined;
}

/**
 * Where the innermost error of a chain was thrown in the user's code (`file:line:column`, relative
 * to `cwd` when under it): what a node's failure most needs to point at. Only the frames above
 * pipeserve's own count (Node's and packages' are passed over): below them are pipeserve's
 * callers, never the code it ran; so an error pipeserve itself threw points nowhere.
 */
export function userFrame(error: unknown, cwd: string): string | undefined {
  for (const e of causeChain(error).reverse()) {
    if (!(e instanceof Error) || typeof e.stack !== "string") continue;
    for (const line of e.stack.split("\n")) {
      const m = FRAME.exec(line);
      const file = m ? frameFile(m[1] as string) : undefined;
      if (!m || file === undefined) continue;
      if (OWN_CODE.some((dir) => file.startsWith(dir))) break;
      if (file.includes(`${sep}node_modules${sep}`) || TEMP_BUNDLE.test(file)) continue;
      const shown = relative(cwd, file);
      return `${shown.startsWith("..") || isAbsolute(shown) ? file : shown}:${m[2]}:${m[3]}`;
    }
  }
  return undefined;
}

/**
 * What the CLI prints for a failed command: its message on one line, then where the user's code
 * threw it, if it did; with `debug` (PIPESERVE_DEBUG=1), the stack of the error and of each of its causes.
 */
export function errorReport(error: unknown, options: { debug: boolean; cwd: string }): string {
  // NB: a password in a URL (a tracking URI's user info) is not printed: see redactCredentials.
  const lines = [`pipeserve: ${redactCredentials(error instanceof Error ? error.message : String(error))}`];
  const where = userFrame(error, options.cwd);
  if (!options.debug) {
    if (where !== undefined) lines.push(`pipeserve: thrown at ${where} (PIPESERVE_DEBUG=1 prints the stacks)`);
    return `${lines.join("\n")}\n`;
  }
  causeChain(error).forEach((e, i) => {
    if (e instanceof Error && typeof e.stack === "string") lines.push(i === 0 ? e.stack : `Caused by: ${e.stack}`);
    else if (i > 0) lines.push(`Caused by: ${String(e)}`);
  });
  return `${lines.join("\n")}\n`;
}
