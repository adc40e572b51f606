// Partials (the hidden temporary files and folders of atomic outputs) name their writer, so a
// later run removes those whose writer is gone and leaves the others alone. The writers here are
// real processes: this one, and node children started, read and killed by the test.
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdir, mkdtemp, readdir, rm, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { partialPath, removeStalePartials, writerTag } from "../../src/util/index.js";

const HEX = "0123456789ab";
const DAY_MS = 24 * 60 * 60 * 1000;
let dir: string;

/** A node process that idles until killed. */
async function idleProcess(): Promise<ChildProcess> {
  const child = spawn(process.execPath, ["-e", "setInterval(() => {}, 1000)"], { stdio: "ignore" });
  await once(child, "spawn");
  return child;
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, "exit");
  child.kill("SIGKILL");
  await exited;
}

/** Creates a partial file (or folder) named `name` in a fresh folder, `ageMs` old. */
async function place(name: string, options: { ageMs?: number; folder?: boolean } = {}): Promise<string> {
  const folder = await mkdtemp(join(dir, "case-"));
  const path = join(folder, name);
  if (options.folder) {
    await mkdir(join(path, "artifacts"), { recursive: true });
    await writeFile(join(path, "artifacts", "model.json"), "{}");
  } else {
    await writeFile(path, "half");
  }
  if (options.ageMs) {
    const then = new Date(Date.now() - options.ageMs);
    await utimes(path, then, then);
  }
  return folder;
}

let alive: ChildProcess;
let deadTag: string;
const [ownPid, machine, started] = writerTag().split("-") as [string, string, string];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "pipeserve-partials-"));
  alive = await idleProcess();
  const dead = await idleProcess();
  deadTag = writerTag(dead.pid);
  await stop(dead);
});

afterAll(async () => {
  await stop(alive);
  await rm(dir, { recursive: true, force: true });
});

describe("partialPath", () => {
  it("is hidden, beside the target, and names this process as its writer", () => {
    const path = partialPath(join(dir, "out.csv"));
    expect(join(path, "..")).toBe(dir);
    expect(basename(path)).toMatch(new RegExp(`^\\.out\\.csv\\.${process.pid}-[0-9a-f]{6}-[0-9a-z]+\\.[0-9a-f]{12}\\.partial$`));
    expect(partialPath(join(dir, "out.csv")), "unique").not.toBe(path);
  });
});

describe("removeStalePartials", () => {
  it.each([
    ["this process's own partial (a write under way)", (): string => `.out.csv.${writerTag()}.${HEX}.partial`, {}, false],
    ["a partial of a process that still runs", (): string => `.out.csv.${writerTag(alive.pid)}.${HEX}.partial`, {}, false],
    ["a partial of a process that is gone", (): string => `.out.csv.${deadTag}.${HEX}.partial`, {}, true],
    ["a partial model folder of a process that is gone", (): string => `.model.${deadTag}.${HEX}.partial`, { folder: true }, true],
    [
      "this pid, another start (the pid used again, as pid 1 in a container)",
      (): string => `.out.csv.${ownPid}-${machine}-${started}0.${HEX}.partial`,
      {},
      true,
    ],
    ["another machine's partial, recent (its writer may still run)", (): string => `.out.csv.${ownPid}-ffffff-${started}.${HEX}.partial`, {}, false],
    ["another machine's partial, untouched for two days", (): string => `.out.csv.${ownPid}-ffffff-${started}.${HEX}.partial`, { ageMs: 2 * DAY_MS }, true],
    ["an unnamed partial (before writers were named), recent", (): string => `.out.csv.${HEX}.partial`, {}, false],
    ["an unnamed partial, untouched for two days", (): string => `.out.csv.${HEX}.partial`, { ageMs: 2 * DAY_MS }, true],
    ["an output", (): string => "out.csv", { ageMs: 2 * DAY_MS }, false],
    ["someone else's .partial", (): string => "notes.partial", { ageMs: 2 * DAY_MS }, false],
    ["an atomic write's .tmp", (): string => `.out.csv.${HEX}.tmp`, { ageMs: 2 * DAY_MS }, false],
  ] as const)("%s: removed %s", async (_why, name, options, removed) => {
    const folder = await place(name(), options);
    expect(await removeStalePartials(folder)).toEqual(removed ? [name()] : []);
    expect(await readdir(folder)).toEqual(removed ? [] : [name()]);
  });

  it("a partial is removed once its writer is gone, not before", async () => {
    const writer = await idleProcess();
    const name = `.out.parquet.${writerTag(writer.pid)}.${HEX}.partial`;
    const folder = await place(name);
    expect(await removeStalePartials(folder)).toEqual([]);
    await stop(writer);
    expect(await removeStalePartials(folder)).toEqual([name]);
  });

  it("a folder that does not exist or cannot be listed: nothing removed, no error", async () => {
    expect(await removeStalePartials(join(dir, "missing"))).toEqual([]);
  });
});
