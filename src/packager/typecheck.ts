import { execFile } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { PackagingError } from "./errors.js";

/** What the type-check did: ran with the project's TypeScript, or found none to run. */
export type TypecheckOutcome = { ran: true; tsc: string; config: string | undefined } | { ran: false; reason: string };

/**
 * The TypeScript compiler the project installed (its own `node_modules`, or a parent's), if any:
 * the `tsc` its package.json names, and its major version. NB: found through package.json, not
 * `typescript/bin/tsc`: TypeScript 7 does not export that path, and a project with it was silently
 * not checked.
 */
export function projectTsc(projectDir: string): { path: string; major: number } | undefined {
  try {
    const manifest = createRequire(join(projectDir, "package.json")).resolve("typescript/package.json");
    const { bin, version } = JSON.parse(readFileSync(manifest, "utf8")) as { bin?: string | Record<string, string>; version?: string };
    const tsc = typeof bin === "string" ? bin : bin?.["tsc"];
    return tsc === undefined ? undefined : { path: join(dirname(manifest), tsc), major: Number.parseInt(version ?? "0", 10) };
  } catch {
    return undefined;
  }
}

/** The compiler's options when the project has no tsconfig.json: strict, Node's module rules, no output. */
const DEFAULT_FLAGS = ["--noEmit", "--strict", "--target", "ES2022", "--module", "NodeNext", "--moduleResolution", "NodeNext", "--skipLibCheck"];

/** Lines of compiler output kept in the error: enough to fix the first mistakes, not a wall of text. */
const MAX_LINES = 40;

/**
 * Type-checks a project before it trains (`pipeserve run`), with the TypeScript the project
 * installed: `tsc -p tsconfig.json --noEmit` when it has a tsconfig.json, else `tsc --strict` over
 * its pipelines file. Without TypeScript in the project there is nothing to check with (pipeserve
 * bundles pipelines with esbuild, which strips types without checking them): the outcome says so.
 * @throws PackagingError TYPE_ERRORS with the compiler's messages when the project does not compile.
 */
export async function typecheckProject(projectDir: string, pipelinesFile: string): Promise<TypecheckOutcome> {
  const found = projectTsc(projectDir);
  if (found === undefined) return { ran: false, reason: "TypeScript is not installed in the project" };
  const tsc = found.path;
  const config = existsSync(join(projectDir, "tsconfig.json")) ? join(projectDir, "tsconfig.json") : undefined;
  // NB: TypeScript 6 and later refuse files named on the command line when a tsconfig.json is
  // found above the project (a repository's own) unless told to ignore it, and load no @types
  // package (@types/node: `node:fs`, `process`) unless told to; 5 has neither flag and does both.
  const since6 = found.major >= 6 ? ["--ignoreConfig", "--types", "*"] : [];
  const args = config ? ["-p", config, "--noEmit", "--pretty", "false"] : [...DEFAULT_FLAGS, ...since6, "--pretty", "false", pipelinesFile];
  const { code, output } = await new Promise<{ code: number; output: string }>((resolve) => {
    execFile(process.execPath, [tsc, ...args], { cwd: projectDir, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      const exit = error ? (typeof (error as { code?: unknown }).code === "number" ? (error as { code: number }).code : 1) : 0;
      resolve({ code: exit, output: `${stdout}${stderr}`.trim() });
    });
  });
  if (code !== 0) {
    const lines = output.split("\n");
    const shown = lines.slice(0, MAX_LINES).join("\n") + (lines.length > MAX_LINES ? `\n… ${lines.length - MAX_LINES} more lines` : "");
    throw new PackagingError(
      `The project does not type-check (${config ? `tsc -p ${config}` : `tsc --strict ${pipelinesFile}`}), so it was not trained:\n${shown}\nFix these, or pass --no-typecheck to train anyway.`,
      { code: "TYPE_ERRORS" },
    );
  }
  return { ran: true, tsc, config };
}
