/**
 * The type-check `pipeserve run` does first, with whichever TypeScript the project installed: 5
 * (its `typescript/bin/tsc` path) and 7 (which exports no such path, refuses files named on the
 * command line when a tsconfig.json sits in a folder above unless told to ignore it, and loads no
 * @types package unless told to). Both are the real compilers, linked with @types/node into a
 * temporary project's node_modules.
 */
import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PackagingError, projectTsc, typecheckProject } from "../../src/packager/index.js";

const MODULES = fileURLToPath(new URL("../../node_modules/", import.meta.url));
const COMPILERS = { 5: join(MODULES, "typescript5"), 7: join(MODULES, "typescript") } as const;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "pipeserve-typecheck-"));
  // NB: a tsconfig.json above every project, as in a repository that holds them.
  await writeFile(join(dir, "tsconfig.json"), JSON.stringify({ compilerOptions: { strict: false } }));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A project of one pipelines.ts holding `code`, with TypeScript `major` installed. */
async function project(major: 5 | 7, code: string): Promise<{ root: string; file: string }> {
  const root = await mkdtemp(join(dir, `ts${major}-`));
  await mkdir(join(root, "node_modules"));
  await symlink(COMPILERS[major], join(root, "node_modules", "typescript"), "dir");
  await mkdir(join(root, "node_modules", "@types"));
  await symlink(join(MODULES, "@types", "node"), join(root, "node_modules", "@types", "node"), "dir");
  await writeFile(join(root, "package.json"), JSON.stringify({ name: "p", private: true, type: "module" }));
  const file = join(root, "pipelines.ts");
  await writeFile(file, code);
  return { root, file };
}

describe.each([5, 7] as const)("TypeScript %i in the project", (major) => {
  it("is found, and a project that compiles passes: one that uses Node's modules and globals (@types/node installed), a tsconfig.json in a folder above notwithstanding", async () => {
    const code = 'import { readFileSync } from "node:fs";\nexport const n: number = readFileSync(process.argv[1] ?? "x").length;\n';
    const { root, file } = await project(major, code);
    expect(projectTsc(root)?.major).toBe(major);
    expect(await typecheckProject(root, file)).toMatchObject({ ran: true, config: undefined });
  });

  it("a type error stops the run with the compiler's message", async () => {
    const { root, file } = await project(major, 'export const n: number = "one";\n');
    const error = await typecheckProject(root, file).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PackagingError);
    expect((error as Error).message).toContain("error TS2322: Type 'string' is not assignable to type 'number'.");
  });
});
