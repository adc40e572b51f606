// The store reads folders side by side, and nested reads multiply (a model's versions, each with
// its tags): reads hold at most MAX_OPEN_READS files open in the process. Listed in a child process
// (the built package) whose open files are limited to 200, as a small container's may be, a model of
// 40 versions with 40 tags each reads whole; unbounded, ~1,000 files were opened at once (EMFILE).
import { spawn } from "node:child_process";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { ensureBuilt, finished, REPO_ROOT } from "../fixtures/cli.js";
import { ModelRegistry } from "../../src/store/index.js";
import { useTempDir } from "./helpers.js";

const tmp = useTempDir("pipeserve-open-files-");
const VERSIONS = 40;
const TAGS = 40;

beforeAll(async () => {
  await ensureBuilt();
});

describe("reading a big registry with few file descriptors", () => {
  it("lists 40 versions of 40 tags each under `ulimit -n 200`", async () => {
    const root = join(tmp(), "mlruns", "models");
    const registry = new ModelRegistry(root);
    const tags = Object.fromEntries(Array.from({ length: TAGS }, (_, i) => [`tag${i}`, `value ${i}`]));
    for (let v = 1; v <= VERSIONS; v++) await registry.createVersion("wide", `runs:/run${v}/model`, { runId: `run${v}`, tags });
    const store = pathToFileURL(join(REPO_ROOT, "dist", "store", "index.js")).href;
    const code = `const { ModelRegistry } = await import(${JSON.stringify(store)});
const versions = await new ModelRegistry(${JSON.stringify(root)}).listVersions("wide");
console.log(JSON.stringify({ versions: versions.length, tags: versions.map((v) => Object.keys(v.tags).length) }));`;
    const child = spawn("bash", ["-c", 'ulimit -n 200 && exec "$0" --input-type=module -e "$1"', process.execPath, code], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    const result = await finished(child);
    expect(result.code, result.stderr.toString()).toBe(0);
    const listed = JSON.parse(result.stdout.toString()) as { versions: number; tags: number[] };
    expect(listed.versions).toBe(VERSIONS);
    expect(listed.tags).toEqual(Array.from({ length: VERSIONS }, () => TAGS));
  });
});
