// `pipeserve serve` on a port another process holds (issue 14, item 11): with -w 2 it printed
// EADDRINUSE twice, then hung with the primary and its workers alive. Now every worker count exits
// 1 with one line on stderr naming the address and the fix, and leaves no process behind. Real
// processes: the test binds the port first, then starts the built bin; the processes left are found
// by a marker in their environment (workers inherit it).
import { randomUUID } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { type Server, createServer } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ListenError, listenError } from "../../src/server/index.js";
import { SIGNATURES, packageBehaviour } from "../server/fixtures/models.js";
import { ServeProcess } from "../server/fixtures/server-process.js";
import { useBuiltBin } from "./helpers.js";

useBuiltBin();
let modelDir: string;
let holder: Server;
let port: number;

beforeAll(async () => {
  modelDir = await packageBehaviour("sleep", SIGNATURES.sleepParams);
  holder = createServer();
  await new Promise<void>((resolve) => holder.listen(0, "127.0.0.1", resolve));
  port = (holder.address() as { port: number }).port;
}, 60_000);

afterAll(async () => {
  await new Promise((resolve) => holder.close(resolve));
});

/** The pids of live processes whose environment holds `marker` (Linux's /proc; none elsewhere). */
function processesWith(marker: string): number[] {
  const pids: number[] = [];
  let entries: string[];
  try {
    entries = readdirSync("/proc").filter((n) => /^\d+$/.test(n));
  } catch {
    return pids;
  }
  for (const pid of entries) {
    try {
      if (readFileSync(`/proc/${pid}/environ`, "latin1").includes(marker)) pids.push(Number(pid));
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return pids;
}

/** The exit, or kills the process and fails after `ms` (a server that hangs instead of exiting). */
async function exitWithin(p: ServeProcess, ms: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const error = new Error(`pipeserve did not exit within ${ms} ms.\nstdout:\n${p.stdout}\nstderr:\n${p.stderr}`);
      void p.stop().finally(() => reject(error));
    }, ms);
  });
  try {
    return await Promise.race([p.exited, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

describe.concurrent("serve on a port in use", { timeout: 60_000 }, () => {
  it.each([1, 2, 3])("-w %i: exit 1, one line naming the port and the fix, no process left", async (workers) => {
    const marker = `pipeserve-port-test-${randomUUID()}`;
    const p = new ServeProcess(["serve", "-m", modelDir, "-p", String(port), "-w", String(workers)], { PIPESERVE_TEST_MARKER: marker });
    const exit = await exitWithin(p, 30_000);
    expect(exit, `stderr: ${p.stderr}`).toEqual({ code: 1, signal: null });
    expect(p.stderr).toBe(
      `pipeserve: Cannot listen on 127.0.0.1:${port}: port ${port} is already in use (EADDRINUSE). Stop the process that holds it, or choose another port with -p/--port (-p 0 picks a free one).\n`,
    );
    expect(`${p.stdout}${p.stderr}`.match(/EADDRINUSE/g), "said once").toHaveLength(1);
    expect(p.logs().some((l) => l.msg === "Serving")).toBe(false);
    // NB: the workers get SIGTERM as the primary exits; give them the moment it takes.
    const deadline = Date.now() + 5_000;
    while (processesWith(marker).length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(processesWith(marker), "no primary nor worker left").toEqual([]);
  });
});

describe("why a listen failed, worded for the operator", () => {
  it.each([
    ["EADDRINUSE", "127.0.0.1", "ADDRESS_IN_USE", "Cannot listen on 127.0.0.1:5000: port 5000 is already in use (EADDRINUSE). Stop the process"],
    ["EACCES", "0.0.0.0", "LISTEN_FAILED", "Cannot listen on 0.0.0.0:5000: permission denied (EACCES): ports below 1024 need privileges."],
    ["EADDRNOTAVAIL", "10.9.9.9", "LISTEN_FAILED", "Cannot listen on 10.9.9.9:5000: this machine has no address 10.9.9.9 (EADDRNOTAVAIL)."],
    ["ENOTFOUND", "nohost.invalid", "LISTEN_FAILED", "Cannot listen on nohost.invalid:5000: the host name nohost.invalid does not resolve (ENOTFOUND)."],
    ["EMFILE", "::1", "LISTEN_FAILED", "Cannot listen on [::1]:5000: listen EMFILE"],
  ] as const)("%s on %s", (errno, host, code, message) => {
    const cause = Object.assign(new Error(`listen ${errno}`), { code: errno });
    const error = listenError(cause, host, 5000);
    expect(error).toBeInstanceOf(ListenError);
    expect(error.code).toBe(code);
    expect(error.message.startsWith(message), error.message).toBe(true);
    expect(error.cause).toBe(cause);
  });
});
