// The store lock's takeover rules, from lock files as other writers leave them: a lock whose
// owner process on this host is gone is taken at once; one whose owner cannot be checked (another
// host, an older pipeserve that wrote a bare pid) only after 30 s; a live owner's lock holds.
import { spawnSync } from "node:child_process";
import { readFile, readdir, rm, utimes, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { expect, it } from "vitest";
import { LOCK_STALE_MS, hostTag, withLock } from "../../src/store/index.js";
import { sleep, useTempDir } from "./helpers.js";

const tmp = useTempDir("pipeserve-lock-");

/** The pid of a process that has ended. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ["-e", ""]);
  return child.pid as number;
}

const owner = (pid: number, host: string): string => JSON.stringify({ pid, host, token: "0123456789ab", since: Date.now() - 1000 });
const OLD = (LOCK_STALE_MS + 5_000) / 1000;

it.each<[string, "taken" | "held", () => string, number]>([
  ["an owner process on this host that is gone", "taken", () => owner(deadPid(), hostname()), 0],
  ["a live owner on this host (this process)", "held", () => owner(process.pid, hostname()), 0],
  ["a live owner on this host, even when old", "taken", () => owner(process.pid, hostname()), OLD],
  ["an owner on another host", "held", () => owner(deadPid(), "elsewhere.example"), 0],
  ["an owner on another host, older than 30 s", "taken", () => owner(deadPid(), "elsewhere.example"), OLD],
  ["a bare pid (an older pipeserve)", "held", () => String(deadPid()), 0],
  ["a bare pid older than 30 s", "taken", () => String(deadPid()), OLD],
  ["an empty lock file older than 30 s", "taken", () => "", OLD],
])("a lock left by %s is %s", async (_who, expected, content, ageSeconds) => {
  const lockFile = join(tmp(), ".model-m.lock");
  await writeFile(lockFile, content());
  if (ageSeconds > 0) {
    const then = new Date(Date.now() - ageSeconds * 1000);
    await utimes(lockFile, then, then);
  }
  let ran = false;
  const started = Date.now();
  const done = withLock(lockFile, async () => {
    ran = true;
  });
  if (expected === "taken") {
    await done;
    expect(Date.now() - started).toBeLessThan(1_000);
  } else {
    await sleep(400);
    expect(ran, "took a lock it should have waited for").toBe(false);
    await rm(lockFile);
    await done;
  }
  expect(ran).toBe(true);
  expect(await readdir(tmp()), "the lock, its temp and stale files are gone").toEqual([]);
});

it("records the owner while held and removes the lock after", async () => {
  const lockFile = join(tmp(), ".experiments.lock");
  const seen = await withLock(lockFile, async () => JSON.parse(await readFile(lockFile, "utf8")));
  expect(seen).toEqual({ pid: process.pid, host: hostname(), token: expect.stringMatching(/^[0-9a-f]{12}$/), since: expect.any(Number) });
  expect(await readdir(tmp())).toEqual([]);
});

it("serialises writers in one process", async () => {
  const lockFile = join(tmp(), ".model-m.lock");
  let inside = 0;
  let most = 0;
  await Promise.all(
    Array.from({ length: 8 }, () =>
      withLock(lockFile, async () => {
        most = Math.max(most, ++inside);
        await sleep(5);
        inside--;
      }),
    ),
  );
  expect(most).toBe(1);
});

it.each<[string, (lock: string) => string, "removed" | "kept"]>([
  // A writer killed after creating its temp file but before writing its owner into it leaves it
  // empty: only the name says whose it was (found by the registry's SIGKILL loop).
  ["an empty temp file of a writer that is gone", (lock) => `${lock}.${hostTag()}-${deadPid()}.cdb9aa710720.tmp`, "removed"],
  ["an empty temp file of a live writer", (lock) => `${lock}.${hostTag()}-${process.pid}.cdb9aa710721.tmp`, "kept"],
  ["an empty temp file of a writer on another host", (lock) => `${lock}.00000000-${deadPid()}.cdb9aa710722.tmp`, "kept"],
])("taking the lock sweeps %s: %s", async (_what, name, expected) => {
  const lockFile = join(tmp(), ".model-m.lock");
  const leftover = name(lockFile);
  await writeFile(leftover, "");
  await withLock(lockFile, async () => undefined);
  const left = await readdir(tmp());
  expect(left).toEqual(expected === "removed" ? [] : [leftover.slice(tmp().length + 1)]);
});
