// Writers killed with SIGKILL at the worst moment, in real child processes: while holding a store
// lock (the next write must not stall for the 30 s stale-lock timeout), and in the middle of
// registering a version (no empty or half version visible, no gap, the next registration works).
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { access, mkdir, readdir, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { FileStore, ModelRegistry, PIPELINE_SHA256_TAG, modelLockFile } from "../../src/store/index.js";
import { ok } from "../cli/helpers.js";
import { parseAsMlflow, readText, sleep, useTempDir } from "../store/helpers.js";

const storeModule = pathToFileURL(fileURLToPath(new URL("../../src/store/index.ts", import.meta.url))).href;
const tsxLoader = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href;

const tmp = useTempDir("pipeserve-kill-");

// The child stops at the named point (after touching the "ready" file) and waits to be killed.
const childSource = `
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { FileStore, ModelRegistry, modelLockFile, withLock } from ${JSON.stringify(storeModule)};

const [mode, root, ready] = process.argv.slice(2) as [string, string, string];
const hang = async (): Promise<void> => {
  await writeFile(ready, String(process.pid));
  setInterval(() => {}, 1000);
  await new Promise(() => {});
};
if (mode === "model-lock") await withLock(modelLockFile(root, "m"), hang);
else if (mode === "experiments-lock") await withLock(join(root, ".experiments.lock"), hang);
else if (mode === "before-publish") {
  await FileStore.open(root);
  const registry = new ModelRegistry(root, { hooks: { beforePublish: hang } });
  await registry.createVersion("m", "runs:/killed/model", { runId: "killed", tags: { "pipeserve.pipeline_sha256": "0".repeat(64) } });
}
`;

async function startChild(mode: string, root: string): Promise<ChildProcess> {
  const script = join(tmp(), "child.mts");
  await writeFile(script, childSource);
  const ready = join(tmp(), `ready-${mode}`);
  const child = spawn(process.execPath, ["--import", tsxLoader, script, mode, root, ready], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr?.on("data", (c: Buffer) => (stderr += c.toString()));
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (
      await access(ready).then(
        () => true,
        () => false,
      )
    )
      return child;
    if (child.exitCode !== null) throw new Error(`the child exited with ${child.exitCode} before its kill point:\n${stderr}`);
    if (Date.now() > deadline) throw new Error(`the child never reached its kill point:\n${stderr}`);
    await sleep(10);
  }
}

async function killHard(child: ChildProcess): Promise<void> {
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGKILL");
  await exited;
}

describe("a writer killed while holding a store lock", () => {
  it.each<[string, string, (root: string) => Promise<unknown>]>([
    ["the model lock", "model-lock", (root) => new ModelRegistry(root).createVersion("m", "runs:/next/model")],
    ["the experiments lock", "experiments-lock", async (root) => (await FileStore.open(root)).getOrCreateExperiment("after the kill")],
  ])("%s: the next write takes it over at once, not after 30 s", async (_what, mode, write) => {
    const root = join(tmp(), "mlruns");
    await mkdir(root, { recursive: true });
    const child = await startChild(mode, root);
    const lockFile = mode === "model-lock" ? modelLockFile(root, "m") : join(root, ".experiments.lock");
    const owner = JSON.parse(await readText(lockFile)) as { pid: number; host: string };
    expect(owner.pid, "the lock names its owner").toBe(child.pid);
    expect(owner.host).toBeTypeOf("string");

    await killHard(child);
    expect(existsSync(lockFile), "the killed writer's lock is still there").toBe(true);
    const started = Date.now();
    await write(root);
    expect(Date.now() - started).toBeLessThan(3_000);
    expect((await readdir(root)).filter((n) => /lock|\.stale|\.tmp/.test(n))).toEqual([]);
  });

  it("while the owner lives, the lock holds; once it is killed, the waiter proceeds at once", async () => {
    const root = join(tmp(), "mlruns");
    await mkdir(root, { recursive: true });
    const child = await startChild("model-lock", root);
    let done = false;
    const write = new ModelRegistry(root).createVersion("m", "runs:/waiting/model").then(() => {
      done = true;
    });
    await sleep(700);
    expect(done, "took a lock whose owner is alive").toBe(false);
    const killedAt = Date.now();
    await killHard(child);
    await write;
    expect(Date.now() - killedAt).toBeLessThan(3_000);
  });
});

describe("a writer killed between choosing a version number and publishing it", () => {
  it("leaves no version visible, the next registration takes the number, and the partial folder is removed", async () => {
    const root = join(tmp(), "mlruns");
    await FileStore.open(root);
    const registry = new ModelRegistry(root);
    await registry.createVersion("m", "runs:/first/model", { runId: "first" });

    const child = await startChild("before-publish", root);
    const modelDir = join(root, "models", "m");
    const partials = (await readdir(modelDir)).filter((n) => n.endsWith(".partial"));
    expect(partials, "the child's version is complete in its partial folder").toHaveLength(1);
    expect(parseAsMlflow(await readText(modelDir, partials[0] as string, "meta.yaml"))["version"]).toBe(2);
    await killHard(child);

    expect(existsSync(join(modelDir, "version-2")), "a version folder is visible").toBe(false);
    expect((await registry.listVersions("m")).map((v) => v.version)).toEqual([1]);
    expect((await registry.getLatestVersion("m")).version).toBe(1);
    const table = await ok(["models", "versions", "m", "--tracking-uri", root]);
    expect(table.trim().split("\n").slice(1)).toEqual([expect.stringMatching(/^1 /)]);

    const next = await registry.createVersion("m", "runs:/next/model", { runId: "next", tags: { [PIPELINE_SHA256_TAG]: "a".repeat(64) } });
    expect(next).toMatchObject({ version: 2, runId: "next", tags: { [PIPELINE_SHA256_TAG]: "a".repeat(64) } });
    expect((await readdir(modelDir)).sort()).toEqual(["meta.yaml", "version-1", "version-2"]);
  });

  it("an empty version folder left by an older pipeserve is invisible and its number is reused", async () => {
    const root = join(tmp(), "mlruns");
    const registry = new ModelRegistry(root);
    await registry.createVersion("m", "runs:/first/model");
    await mkdir(join(root, "models", "m", "version-2"));
    expect((await registry.listVersions("m")).map((v) => v.version)).toEqual([1]);
    expect((await registry.getLatestVersion("m")).version).toBe(1);
    expect((await registry.createVersion("m", "runs:/next/model")).version).toBe(2);
    expect(parseAsMlflow(await readText(root, "models", "m", "version-2", "meta.yaml"))).toMatchObject({ version: 2, source: "runs:/next/model" });
  });
});
