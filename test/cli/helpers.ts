// Shared helpers for the CLI suite: real child processes running `node dist/cli/bin.js`, built
// first when dist/ is missing or older than src/ (one build at a time across test files), and
// exit-code + message checks.
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, readdir, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { beforeAll, expect } from "vitest";
import { REPO_ROOT } from "../packager/helpers.js";

export { copyProject, tempDir, readJson, readYaml11, sha256Of, listFiles, gitHead } from "../packager/helpers.js";

export const CLI = join(REPO_ROOT, "dist", "cli", "bin.js");

async function newestMtime(dir: string): Promise<number> {
  let newest = 0;
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile() && entry.name.endsWith(".ts")) newest = Math.max(newest, (await stat(join(entry.parentPath, entry.name))).mtimeMs);
  }
  return newest;
}

async function isStale(): Promise<boolean> {
  if (!existsSync(CLI)) return true;
  return (await stat(CLI)).mtimeMs < (await newestMtime(join(REPO_ROOT, "src")));
}

/** Builds dist/ with tsc when it is missing or older than src/, holding a lock so parallel test files build once. */
export async function ensureBuilt(): Promise<void> {
  if (!(await isStale())) return;
  const lockDir = join(REPO_ROOT, ".tmp");
  await mkdir(lockDir, { recursive: true });
  const lock = join(lockDir, "cli-build.lock");
  const deadline = Date.now() + 120_000;
  for (;;) {
    try {
      await writeFile(lock, String(process.pid), { flag: "wx" });
      break;
    } catch {
      if (Date.now() > deadline) throw new Error(`Timed out waiting for ${lock}; delete it if no build is running.`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  try {
    if (await isStale()) {
      try {
        await promisify(execFile)(process.execPath, [join(REPO_ROOT, "node_modules", "typescript", "bin", "tsc"), "-p", "tsconfig.build.json"], {
          cwd: REPO_ROOT,
        });
      } catch (error) {
        // NB: tsc still emits on type errors; a dist/ that exists is tested as built (npm test typechecks first).
        if (!existsSync(CLI)) throw error;
        process.stderr.write(
          `warning: tsc -p tsconfig.build.json reported errors; testing dist/ as emitted.\n${(error as { stdout?: string }).stdout ?? ""}\n`,
        );
      }
    }
  } finally {
    await rm(lock, { force: true });
  }
}

/** Registers a beforeAll that builds the CLI when needed. */
export function useBuiltCli(): void {
  beforeAll(ensureBuilt, 120_000);
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  cwd?: string;
  /** Added to a copy of this process's environment (MLFLOW_TRACKING_URI is removed unless given). */
  env?: Record<string, string | undefined>;
  timeoutMs?: number;
}

function childEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, PIPESERVE_DEBUG: "" };
  delete env["MLFLOW_TRACKING_URI"];
  delete env["PIPESERVE_TEST_MARKER"];
  for (const [k, v] of Object.entries(extra)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

/** Starts `node dist/cli/bin.js ...args` without waiting. */
export function spawnCli(args: readonly string[], options: CliOptions = {}): ChildProcess {
  return spawn(process.execPath, [CLI, ...args], { cwd: options.cwd ?? REPO_ROOT, env: childEnv(options.env), stdio: ["ignore", "pipe", "pipe"] });
}

/** Runs `node dist/cli/bin.js ...args` to completion. */
export function runCli(args: readonly string[], options: CliOptions = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawnCli(args, options);
    let stdout = "";
    let stderr = "";
    child.stdout?.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr?.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`pipeserve ${args.join(" ")} timed out\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, options.timeoutMs ?? 30_000);
    child.on("error", reject);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** Expects success and returns stdout. */
export async function ok(args: readonly string[], options: CliOptions = {}): Promise<string> {
  const r = await runCli(args, options);
  expect(r.code, `pipeserve ${args.join(" ")} failed:\n${r.stderr}`).toBe(0);
  return r.stdout;
}

/** Expects failure with this exit code and every message (substring or regex) in stderr; returns the result. */
export async function fails(args: readonly string[], code: number, messages: (string | RegExp)[], options: CliOptions = {}): Promise<CliResult> {
  const r = await runCli(args, options);
  expect(r.code, `exit code of pipeserve ${args.join(" ")}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`).toBe(code);
  for (const m of messages) {
    if (typeof m === "string") expect(r.stderr).toContain(m);
    else expect(r.stderr).toMatch(m);
  }
  // One clear line, not a stack trace.
  expect(r.stderr).not.toMatch(/^\s+at .+\(.+:\d+:\d+\)$/m);
  return r;
}
