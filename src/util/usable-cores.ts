import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join } from "node:path";

/**
 * The cores this process may keep busy: the CPUs it may run on (`availableParallelism`), cut to its
 * container's CPU quota, rounded up. NB: a Kubernetes CPU limit is such a quota (CFS), which
 * `availableParallelism` does not see: a pod limited to 2 CPUs on a 64-core node counts 64, and
 * one thread per core would start 64 copies of the model in it.
 * `cgroupRoot`: where the cgroup filesystem is mounted (for tests).
 */
export function usableCores(cgroupRoot = DEFAULT_CGROUP_ROOT): number {
  // NB: read once a process for the real cgroup (every CLI start names it in predict's --help).
  if (cgroupRoot === DEFAULT_CGROUP_ROOT && ownCores !== undefined) return ownCores;
  const cpus = availableParallelism();
  const quota = cpuQuota(cgroupRoot);
  const cores = quota === undefined ? cpus : Math.max(1, Math.min(cpus, Math.ceil(quota)));
  if (cgroupRoot === DEFAULT_CGROUP_ROOT) ownCores = cores;
  return cores;
}

const DEFAULT_CGROUP_ROOT = "/sys/fs/cgroup";
let ownCores: number | undefined;

/**
 * The CPU quota of the cgroup mounted at `root`, in CPUs (e.g. 1.5), or undefined when there is
 * none (or no cgroup files to read): cgroup v2's `cpu.max` ("200000 100000", or "max 100000"),
 * else cgroup v1's `cpu.cfs_quota_us` (-1: none) over `cpu.cfs_period_us`.
 */
export function cpuQuota(root: string): number | undefined {
  const v2 = readSmall(join(root, "cpu.max"));
  if (v2 !== undefined) {
    const [quota, period] = v2.trim().split(/\s+/);
    return ratio(quota, period);
  }
  for (const controller of ["cpu", "cpu,cpuacct", "cpuacct,cpu"]) {
    const quota = readSmall(join(root, controller, "cpu.cfs_quota_us"));
    if (quota !== undefined) return ratio(quota.trim(), readSmall(join(root, controller, "cpu.cfs_period_us"))?.trim());
  }
  return undefined;
}

/** quota ÷ period when both are positive numbers ("max" and -1 are no quota). */
function ratio(quota: string | undefined, period: string | undefined): number | undefined {
  const q = Number(quota);
  const p = Number(period);
  return Number.isFinite(q) && q > 0 && Number.isFinite(p) && p > 0 ? q / p : undefined;
}

function readSmall(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
}
