// The cores `predict --workers` (its default and its cut) and WorkerRunner count: the CPUs the
// process may run on, cut to its container's CPU quota (a Kubernetes CPU limit), read from cgroup
// files as they are mounted in a container (v2 `cpu.max`, v1 `cpu.cfs_quota_us` / `cpu.cfs_period_us`).
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cpuQuota, usableCores } from "../../src/util/index.js";

let dir: string;
let n = 0;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "pipeserve-cgroup-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A cgroup root holding `files` (relative path → text). */
async function cgroup(files: Record<string, string>): Promise<string> {
  const root = join(dir, String(n++));
  for (const [name, text] of Object.entries(files)) {
    await mkdir(join(root, name, ".."), { recursive: true });
    await writeFile(join(root, name), text);
  }
  await mkdir(root, { recursive: true });
  return root;
}

describe("usable cores under a CPU quota", () => {
  it("cgroup v2 cpu.max: a quota in CPUs, none for max", async () => {
    expect(cpuQuota(await cgroup({ "cpu.max": "200000 100000\n" }))).toBe(2);
    expect(cpuQuota(await cgroup({ "cpu.max": "150000 100000\n" }))).toBe(1.5);
    expect(cpuQuota(await cgroup({ "cpu.max": "max 100000\n" }))).toBeUndefined();
  });

  it("cgroup v1 cfs quota over period, in the cpu or cpu,cpuacct controller; -1 is none", async () => {
    expect(cpuQuota(await cgroup({ "cpu/cpu.cfs_quota_us": "50000\n", "cpu/cpu.cfs_period_us": "100000\n" }))).toBe(0.5);
    expect(cpuQuota(await cgroup({ "cpu,cpuacct/cpu.cfs_quota_us": "300000\n", "cpu,cpuacct/cpu.cfs_period_us": "100000\n" }))).toBe(3);
    expect(cpuQuota(await cgroup({ "cpu/cpu.cfs_quota_us": "-1\n", "cpu/cpu.cfs_period_us": "100000\n" }))).toBeUndefined();
  });

  it("no cgroup files, or unreadable ones: no quota", async () => {
    expect(cpuQuota(await cgroup({}))).toBeUndefined();
    expect(cpuQuota(join(dir, "absent"))).toBeUndefined();
    expect(cpuQuota(await cgroup({ "cpu.max": "garbage\n" }))).toBeUndefined();
  });

  it("usableCores: the CPUs, cut to the quota rounded up, at least 1", async () => {
    const cpus = availableParallelism();
    expect(usableCores(await cgroup({}))).toBe(cpus);
    expect(usableCores(await cgroup({ "cpu.max": "50000 100000" }))).toBe(1);
    expect(usableCores(await cgroup({ "cpu.max": "150000 100000" }))).toBe(Math.min(cpus, 2));
    expect(usableCores(await cgroup({ "cpu.max": `${(cpus + 8) * 100000} 100000` }))).toBe(cpus);
  });
});
