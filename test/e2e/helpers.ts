import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { createServer, type AddressInfo } from "node:net";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

export const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const bin = join(root, "dist", "cli", "bin.js");

/** Builds dist/ (tsc, then the bin's bundle, as `npm run build`) when a test runs without `npm test` having built it. */
export function ensureBuilt(): void {
  if (existsSync(bin)) return;
  execFileSync(process.execPath, [join(root, "scripts", "build.mjs")], { stdio: "inherit" });
}

/** Runs the CLI to completion; returns its exit code and output. */
export function cli(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): { code: number; stdout: string; stderr: string } {
  try {
    const stdout = execFileSync(process.execPath, [bin, ...args], {
      cwd: options.cwd ?? root,
      env: { ...process.env, ...options.env },
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
    });
    return { code: 0, stdout, stderr: "" };
  } catch (error) {
    const e = error as { status: number; stdout: string; stderr: string };
    return { code: e.status, stdout: e.stdout, stderr: e.stderr };
  }
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Waits until a child prints the server's `Serving` log line; returns its URL. */
export async function waitForServing(child: ChildProcess, timeoutMs = 60_000): Promise<string> {
  return (await waitForServingLine(child, timeoutMs)).url;
}

/** The server's "Serving" log line: its `url`, and `grpc` (host:port) when it serves gRPC too. */
export async function waitForServingLine(child: ChildProcess, timeoutMs = 60_000): Promise<{ url: string; grpc?: string }> {
  const lines = createInterface({ input: child.stdout! });
  const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  try {
    for await (const line of lines) {
      if (!line.startsWith("{")) continue;
      const entry = JSON.parse(line) as { msg?: string; url?: string; grpc?: string };
      if (entry.msg === "Serving" && entry.url) return entry as { url: string; grpc?: string };
    }
  } finally {
    clearTimeout(timer);
  }
  throw new Error("The server exited before serving.");
}

/** Stops a child and waits for it to exit; returns its exit code. */
export function stop(child: ChildProcess, signal: NodeJS.Signals = "SIGTERM"): Promise<number | null> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => {
    child.once("exit", (code) => resolve(code));
    child.kill(signal);
  });
}

export function spawnNode(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): ChildProcess {
  return spawn(process.execPath, args, { cwd: options.cwd ?? root, env: { ...process.env, ...options.env }, stdio: ["ignore", "pipe", "pipe"] });
}
