/**
 * pipeserve's published types (dist/index.d.ts) compile in a strict project WITHOUT skipLibCheck
 * (issue 21): before, danfojs-node's own declarations came along (they import request, papaparse and
 * plotly.js-dist-min, which ship no types) and failed such a project three times. The project here
 * uses the API as a user does, and holds the pipelines.ts `pipeserve init` writes (typed nodes,
 * parameters declared on PipelineParameters): both compile against the published types.
 */
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { initFiles } from "../../src/cli/init-template.js";
import { REPO_ROOT, ensureBuilt } from "../fixtures/cli.js";

// NB: by path: TypeScript 7 does not export `typescript/bin/tsc`.
const TSC = fileURLToPath(new URL("../../node_modules/typescript/bin/tsc", import.meta.url));
let dir: string;

beforeAll(async () => {
  await ensureBuilt();
  dir = await mkdtemp(join(tmpdir(), "pipeserve-dts-"));
}, 180_000);
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function tsc(project: string): Promise<string> {
  return new Promise((resolve) => {
    execFile(process.execPath, [TSC, "-p", project, "--pretty", "false"], { cwd: dir }, (_e, stdout, stderr) => resolve(`${stdout}${stderr}`.trim()));
  });
}

it("dist/index.d.ts type-checks with strict and skipLibCheck: false, with user code and the project pipeserve init writes", { timeout: 120_000 }, async () => {
  await writeFile(
    join(dir, "user.ts"),
    [
      'import { type ColumnTable, type DataFrame, loadModel, node, pipeline, tableFromColumns, toDataFrame } from "pipeserve";',
      "const table: ColumnTable = tableFromColumns({ x: [1, 2] });",
      "const frame: DataFrame = toDataFrame(table);",
      "export const rows: number = frame.shape[0] ?? 0;",
      'export const p = pipeline([node((x: number) => x * 2, { inputs: "x", outputs: "y" })]);',
      'export const load = () => loadModel("models:/m/1");',
    ].join("\n"),
  );
  const config = {
    compilerOptions: {
      target: "ES2022",
      module: "NodeNext",
      moduleResolution: "NodeNext",
      strict: true,
      noEmit: true,
      skipLibCheck: false,
      types: ["node"],
      typeRoots: [join(REPO_ROOT, "node_modules", "@types")],
      // NB: as an install resolves it: the package's types entry, dist/index.d.ts.
      paths: { pipeserve: [join(REPO_ROOT, "dist", "index.d.ts")] },
    },
    files: ["user.ts"],
  };
  await writeFile(join(dir, "pipelines.ts"), initFiles("typed")["pipelines.ts"] as string);
  config.files.push("pipelines.ts");
  await writeFile(join(dir, "tsconfig.json"), JSON.stringify(config));
  expect(await tsc("tsconfig.json")).toBe("");
});
