/**
 * Whether the process `pid` of this host has certainly ended, so what it left (a lock, a temporary
 * file or folder named after it) may be taken over or removed. A process of another user (`EPERM`)
 * is alive; this process is never gone.
 */
export function processIsGone(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "ESRCH";
  }
}
