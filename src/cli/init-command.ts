import { mkdir, readdir, stat, writeFile } from "node:fs/promises";
import { basename, dirname, join, relative, resolve } from "node:path";
import type { Command } from "commander";
import { UsageError } from "./errors.js";
import { initFiles } from "./init-template.js";
import { type CliIo, fromCwd, printer } from "./io.js";

/** A registered model name from a folder's name: letters, digits, `-` and `_` (MLflow takes more; these read well in URIs). */
function modelNameOf(dir: string): string {
  const name = basename(dir)
    .toLowerCase()
    .replace(/[^a-z0-9_-]+/g, "-")
    .replace(/^-+|-+$/g, "");
  return name === "" ? "my-model" : name;
}

/** A path as one shell word, quoted when it holds anything but letters, digits and `_ . / - +`. */
function shellWord(path: string): string {
  return /^[A-Za-z0-9_./+-]+$/.test(path) ? path : `'${path.replaceAll("'", "'\\''")}'`;
}

/**
 * `pipeserve init [DIR]`: writes a project that trains and serves as it is. Refuses a folder that
 * holds anything already (nothing is overwritten, nothing half-written: the files are checked first).
 */
export async function initProject(dirArg: string | undefined, options: { name?: string }, io: CliIo): Promise<void> {
  const dir = fromCwd(io, dirArg ?? ".");
  const found = await stat(dir).catch(() => undefined);
  if (found && !found.isDirectory()) throw new UsageError(`Cannot create a project in ${dir}: it is a file. Name a new or empty folder.`);
  const present = found ? (await readdir(dir)).filter((e) => e !== ".git") : [];
  if (present.length > 0) {
    throw new UsageError(
      `Cannot create a project in ${dir}: the folder is not empty (${present.slice(0, 5).join(", ")}${present.length > 5 ? ", …" : ""}). Name a new or empty folder.`,
    );
  }
  // NB: the folder's own name, also for `init .` (whose basename is ".").
  const name = options.name ?? modelNameOf(resolve(io.cwd, dir));
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/.test(name)) {
    throw new UsageError(`--name "${name}" cannot name a registered model here: use letters, digits, ".", "-" and "_" (e.g. churn-model).`);
  }
  for (const [path, text] of Object.entries(initFiles(name))) {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), text, { flag: "wx" });
  }
  const shown = shellWord(relative(io.cwd, dir) || ".");
  printer(io.stdout)(
    [
      `Created a pipeserve project in ${dir} (model "${name}"). Next:`,
      `  npx pipeserve run --project ${shown}`,
      `  npx pipeserve serve -m models:/${name}/latest`,
      "See its README.md for a request to send.",
    ].join("\n"),
  );
}

/** Registers `pipeserve init`. */
export function registerInitCommand(program: Command, io: CliIo): void {
  program
    .command("init [dir]")
    .description("Create a project (typed pipelines.ts, conf/, training data, tsconfig, README) that trains and serves as it is.")
    .option("--name <name>", "the registered model's name (default: the folder's name)")
    .action((dir: string | undefined, o: Record<string, unknown>) => initProject(dir, o["name"] ? { name: o["name"] as string } : {}, io));
}
