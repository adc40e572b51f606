import { createHash, randomBytes } from "node:crypto";
import { link, mkdir, readdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import { basename, dirname, join } from "node:path";
import { StoreError } from "./errors.js";
import { processIsGone } from "../util/index.js";

/** A lock whose owner cannot be checked (another host, no owner recorded) is broken after this long. */
export const LOCK_STALE_MS = 30_000;
/** How long a writer waits for a lock before giving up. */
const LOCK_WAIT_MS = 60_000;

/** Who holds a lock: written into the lock file, so waiters can tell a live holder from a dead one. */
export interface LockOwner {
  pid: number;
  host: string;
  /** Unique per acquisition: a waiter breaks exactly the lock it judged stale, never a newer one. */
  token: string;
  /** ms since epoch. */
  since: number;
}

/** This machine's name, as written in lock files and partial folders. */
export function thisHost(): string {
  try {
    return hostname();
  } catch {
    return "unknown";
  }
}

/** A short fixed-width tag of this host, for names of temporary folders. */
export function hostTag(host = thisHost()): string {
  return createHash("sha256").update(host).digest("hex").slice(0, 8);
}

/**
 * Whether the process `pid` on this host has certainly ended. A pid on another host cannot be
 * checked, so it never counts as gone.
 */
export function ownerIsGone(pid: number, sameHost: boolean): boolean {
  return sameHost && processIsGone(pid);
}

function parseOwner(text: string): LockOwner | undefined {
  try {
    const value = JSON.parse(text) as Partial<LockOwner>;
    if (typeof value.pid === "number" && typeof value.host === "string" && typeof value.token === "string")
      return { pid: value.pid, host: value.host, token: value.token, since: Number(value.since) };
  } catch {
    // an older pipeserve wrote the bare pid: no host, so only the age rule applies
  }
  return undefined;
}

/**
 * Creates the lock with its owner already inside: the owner is written to a private file that is
 * then hard-linked to the lock's name (atomic, fails if the lock exists), so no waiter ever reads
 * an empty lock. File systems without hard links fall back to an exclusive create.
 */
async function tryCreate(lockFile: string, owner: LockOwner): Promise<boolean> {
  const text = JSON.stringify(owner);
  // NB: the writer's host and pid are in the name too: a writer killed before the owner reached
  // the file leaves it empty, and the sweep must still know whose it was.
  const tmp = `${lockFile}.${hostTag()}-${owner.pid}.${owner.token}.tmp`;
  await writeFile(tmp, text);
  try {
    await link(tmp, lockFile);
    return true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "EEXIST") return false;
    if (code !== "EPERM" && code !== "ENOTSUP" && code !== "EOPNOTSUPP" && code !== "ENOSYS") throw error;
    try {
      await writeFile(lockFile, text, { flag: "wx" });
      return true;
    } catch (inner) {
      if ((inner as NodeJS.ErrnoException).code === "EEXIST") return false;
      throw inner;
    }
  } finally {
    await rm(tmp, { force: true });
  }
}

/** The lock as a waiter sees it: its raw text, its owner when recorded, its age; undefined once released. */
async function inspectLock(lockFile: string): Promise<{ raw: string; owner: LockOwner | undefined; ageMs: number } | undefined> {
  try {
    const [raw, info] = await Promise.all([readFile(lockFile, "utf8"), stat(lockFile)]);
    return { raw, owner: parseOwner(raw), ageMs: Date.now() - info.mtimeMs };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
}

/**
 * Removes the lock a waiter judged stale, and only that one: the lock is first moved aside (only one
 * waiter's rename succeeds), then its text compared with what the waiter saw. A lock taken
 * meanwhile by a live writer is put back.
 * NB: a third writer taking the lock in the instant it is moved aside would then share it: that
 * needs a dead holder plus three writers within microseconds; the bare-age rule it replaces raced wider.
 */
async function breakLock(lockFile: string, seenRaw: string): Promise<void> {
  const aside = `${lockFile}.${randomBytes(6).toString("hex")}.stale`;
  try {
    await rename(lockFile, aside);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return;
    throw error;
  }
  try {
    if ((await readFile(aside, "utf8")) !== seenRaw) await link(aside, lockFile).catch(() => undefined);
  } finally {
    await rm(aside, { force: true });
  }
}

/** Why a lock may be broken now, or undefined while its holder may still be working. */
function staleReason(seen: { owner: LockOwner | undefined; ageMs: number }): string | undefined {
  const { owner, ageMs } = seen;
  if (owner && ownerIsGone(owner.pid, owner.host === thisHost())) return `its owner (pid ${owner.pid}) is gone`;
  if (ageMs > LOCK_STALE_MS) return `it is older than ${LOCK_STALE_MS / 1000} s`;
  return undefined;
}

function describeOwner(owner: LockOwner | undefined): string {
  if (!owner) return "an unknown process";
  return `pid ${owner.pid} on ${owner.host} (since ${new Date(owner.since).toISOString()})`;
}

/**
 * Runs `fn` while holding a lock shared by every process using this store: a file created
 * atomically with its owner (pid, host) inside. A waiter takes over at once a lock whose owner
 * process on this host has ended (a killed writer), and after 30 s a lock whose owner it cannot
 * check (another host, an older pipeserve).
 *
 * NB: a file, not a directory: MLflow reads every folder at the store root as an experiment and
 * its `search_experiments` fails on a name such as `.locks`.
 */
export async function withLock<T>(lockFile: string, fn: () => Promise<T>): Promise<T> {
  await mkdir(dirname(lockFile), { recursive: true });
  const owner: LockOwner = { pid: process.pid, host: thisHost(), token: randomBytes(6).toString("hex"), since: Date.now() };
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (let attempt = 0; !(await tryCreate(lockFile, { ...owner, since: Date.now() })); attempt++) {
    const seen = await inspectLock(lockFile);
    if (seen === undefined) continue;
    if (staleReason(seen) !== undefined) {
      await breakLock(lockFile, seen.raw);
      continue;
    }
    if (Date.now() > deadline)
      throw new StoreError(
        `Timed out after ${LOCK_WAIT_MS / 1000} s waiting for the store lock ${lockFile}, held by ${describeOwner(seen.owner)}. If that process is no longer running, delete the file.`,
      );
    await new Promise((r) => setTimeout(r, Math.min(50, 2 + attempt * 2) + Math.random() * 5));
  }
  try {
    await sweepLeftovers(lockFile);
    return await fn();
  } finally {
    await release(lockFile, owner.token);
  }
}

/**
 * Removes what writers killed while taking or breaking this lock left beside it (their
 * `<lock>.<host>-<pid>.<token>.tmp` and `<lock>.<hex>.stale` files): those whose writer, by their name
 * or the owner they hold, is gone, or older than the stale age.
 */
/** `.<host tag>-<pid>.<token>.tmp` (`.<token>.tmp` from older versions) and `.<hex>.stale`, after the lock's name. */
const LEFTOVER = /^\.(?:([0-9a-f]{8})-(\d+)\.)?[0-9a-f]{12}\.(tmp|stale)$/;

async function sweepLeftovers(lockFile: string): Promise<void> {
  const base = basename(lockFile);
  const names = await readdir(dirname(lockFile)).catch(() => [] as string[]);
  for (const name of names) {
    const m = name.startsWith(`${base}.`) ? LEFTOVER.exec(name.slice(base.length)) : null;
    if (!m) continue;
    const path = join(dirname(lockFile), name);
    if (m[1] !== undefined && ownerIsGone(Number(m[2]), m[1] === hostTag())) {
      await rm(path, { force: true });
      continue;
    }
    const seen = await inspectLock(path).catch(() => undefined);
    if (seen !== undefined && staleReason(seen) !== undefined) await rm(path, { force: true });
  }
}

/** Removes the lock if it is still ours (a waiter may have broken it after 30 s and taken it). */
async function release(lockFile: string, token: string): Promise<void> {
  const seen = await inspectLock(lockFile).catch(() => undefined);
  if (seen === undefined || (seen.owner !== undefined && seen.owner.token !== token)) return;
  await rm(lockFile, { force: true });
}
