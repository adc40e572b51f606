import { createHash, randomBytes } from "node:crypto";
import { readFileSync, readlinkSync } from "node:fs";
import { lstat, readdir, rm } from "node:fs/promises";
import { hostname } from "node:os";
import { basename, dirname, join } from "node:path";
import { processIsGone } from "./process-gone.js";

/**
 * Temporary names for outputs written atomically (a file or a folder assembled under a hidden
 * name beside its target, renamed into place when complete), named after their writer so that a
 * later run can tell a partial whose writer was killed (SIGKILL, a crash, a lost machine) from
 * one still being written, and remove the first:
 *
 *   .<target name>.<pid>-<machine>-<started>.<12 hex>.partial
 *
 * - `pid`: the writing process.
 * - `machine`: 6 hex of a hash of the host name, the boot id and the pid namespace. A pid means
 *   something only there: another container, another machine sharing the folder, or the same
 *   machine after a reboot has other processes under the same numbers.
 * - `started`: when the writer started, in clock ticks since boot (Linux's /proc/<pid>/stat), in
 *   base 36; `0` where that cannot be read. With the pid it names one process exactly, so a pid
 *   used again later (as pid 1 is in every container) is not taken for the writer.
 *
 * A partial's writer is gone when, on the same machine, no process has its pid, or the one that
 * has it started at another time. A partial of another machine (or named before writers were
 * named) is left alone unless nothing touched it for `foreignAgeMs` (a day by default): whether
 * its writer still runs cannot be known from here.
 */

/** The ticks since boot at which a process started (field 22 of /proc/<pid>/stat), or undefined where unreadable. */
function startTicks(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // NB: field 2 is the command name in parentheses, which may itself hold spaces and parentheses.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const ticks = fields[19];
    return ticks && /^\d+$/.test(ticks) ? ticks : undefined;
  } catch {
    return undefined;
  }
}

function readOr(read: () => string, fallback: string): string {
  try {
    return read().trim();
  } catch {
    return fallback;
  }
}

const MACHINE = createHash("sha256")
  .update(hostname())
  .update("\0")
  .update(readOr(() => readFileSync("/proc/sys/kernel/random/boot_id", "utf8"), ""))
  .update("\0")
  .update(readOr(() => readlinkSync("/proc/self/ns/pid"), ""))
  .digest("hex")
  .slice(0, 6);

/** Whether this system tells when processes started (Linux): then a pid's start time is compared, not just its existence. */
const KNOWS_START = startTicks(process.pid) !== undefined;

/** The writer part of a partial's name for a process of this machine (this one by default). */
export function writerTag(pid: number = process.pid): string {
  const ticks = startTicks(pid);
  return `${pid}-${MACHINE}-${ticks === undefined ? "0" : BigInt(ticks).toString(36)}`;
}

const OWN_TAG = writerTag();

/**
 * The temporary name to assemble `target` under: hidden, in the same folder (so the final
 * rename is atomic), unique, and naming this process as its writer.
 */
export function partialPath(target: string): string {
  return join(dirname(target), `.${basename(target)}.${OWN_TAG}.${randomBytes(6).toString("hex")}.partial`);
}

const NAMED = /^\..+\.(\d+)-([0-9a-f]{6})-([0-9a-z]+)\.[0-9a-f]{12}\.partial$/;
/** Partials named before their writers were: `.<name>.<12 hex>.partial`. */
const UNNAMED = /^\..+\.[0-9a-f]{12}\.partial$/;

const DAY_MS = 24 * 60 * 60 * 1000;

/** Whether a partial's writer, as its name tells it, has certainly stopped. */
function writerGone(pid: number, machine: string, started: string): boolean {
  if (machine !== MACHINE) return false;
  if (started === "0" || !KNOWS_START) return processIsGone(pid);
  const ticks = startTicks(pid);
  // NB: a start time that cannot be read is not proof the process is gone: /proc mounted hidepid
  // hides another user's processes; `processIsGone` then asks the kernel, where that is EPERM: alive.
  if (ticks === undefined) return processIsGone(pid);
  return BigInt(ticks).toString(36) !== started;
}

/**
 * Whether the writer a tag names (`writerTag()`: pid, machine, start) has certainly stopped: on this
 * machine, no process has its pid, or the one that has it started at another time. A writer of
 * another machine, or a tag that is no writer's, is never gone.
 */
export function writerTagIsGone(tag: string): boolean {
  const m = /^(\d+)-([0-9a-f]{6})-([0-9a-z]+)$/.exec(tag);
  return m !== null && writerGone(Number(m[1]), m[2] as string, m[3] as string);
}

export interface StalePartialOptions {
  /** A partial whose writer cannot be checked from here is stale once untouched this long; a day by default. */
  foreignAgeMs?: number;
}

/**
 * Whether the entry `name` of a folder is a partial (file or folder) left by a writer that is
 * gone. Any other name is never stale.
 */
export function isStalePartial(name: string, modifiedMs: number, options: StalePartialOptions = {}): boolean {
  const named = NAMED.exec(name);
  if (named) {
    const [, pid, machine, started] = named as unknown as [string, string, string, string];
    if (writerGone(Number(pid), machine, started)) return true;
    if (machine === MACHINE) return false;
  } else if (!UNNAMED.test(name)) {
    return false;
  }
  return Date.now() - modifiedMs > (options.foreignAgeMs ?? DAY_MS);
}

/**
 * Removes the stale partials of a folder (see `isStalePartial`) and returns their names. Best
 * effort: a folder that cannot be read, or a partial removed meanwhile, is no error.
 */
export async function removeStalePartials(folder: string, options: StalePartialOptions = {}): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(folder);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    if (!name.endsWith(".partial")) continue;
    const path = join(folder, name);
    const info = await lstat(path).catch(() => undefined);
    if (!info || !isStalePartial(name, info.mtimeMs, options)) continue;
    try {
      await rm(path, { recursive: true, force: true });
      removed.push(name);
    } catch {
      // another process is removing it too, or it is not ours to remove
    }
  }
  return removed;
}
