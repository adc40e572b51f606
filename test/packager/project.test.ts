// loadProject() bundles a project's pipelines module and imports the bundle from this process's
// private temp folder (made once with mkdtemp, mode 0700), never from a shared, predictable path
// another local user could plant or swap a file at.
import { existsSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { Pipeline, loadProject } from "../../src/index.js";
import { copyProject } from "./helpers.js";

describe("loadProject", () => {
  it("imports its bundle from a folder only this user can access, and loads the same project twice", async () => {
    const dir = await copyProject("linear");
    const first = await loadProject(dir);
    const bundle = fileURLToPath(first.moduleUrl);
    const folder = dirname(bundle);
    expect(existsSync(bundle)).toBe(true);
    expect(dirname(folder)).toBe(tmpdir());
    expect(basename(folder)).toMatch(/^pipeserve-project-/);
    expect(statSync(folder).mode & 0o077).toBe(0);
    if (process.getuid) expect(statSync(folder).uid).toBe(process.getuid());

    const again = await loadProject(dir);
    expect(again.moduleUrl).toBe(first.moduleUrl);
    expect(Object.keys(again.pipelines).sort()).toEqual(Object.keys(first.pipelines).sort());
    for (const p of Object.values(again.pipelines)) expect(p).toBeInstanceOf(Pipeline);
  });

  it("loads the same project concurrently, and another project into the same private folder", async () => {
    const [a, b] = await Promise.all([loadProject(await copyProject("linear")), loadProject(await copyProject("scaler"))]);
    const [a2, b2] = await Promise.all([loadProject(a.dir), loadProject(b.dir)]);
    expect(a2.moduleUrl).toBe(a.moduleUrl);
    expect(b2.moduleUrl).toBe(b.moduleUrl);
    expect(a.moduleUrl).not.toBe(b.moduleUrl);
    expect(dirname(fileURLToPath(a.moduleUrl))).toBe(dirname(fileURLToPath(b.moduleUrl)));
  });
});
