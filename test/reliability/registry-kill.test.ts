// A registering process SIGKILLed at random moments, over and over (issue 14, item 8): after
// every kill the registry shows only complete versions numbered 1..n with no gap, `latest` is n,
// the next registration is n + 1 and is never held up by the dead writer's lock, and the dead
// writer's partial folders are gone after it.
import { type ChildProcess, spawn } from "node:child_process";
import { readdir, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { expect, it } from "vitest";
import { FileStore, ModelRegistry } from "../../src/store/index.js";
import { parseAsMlflow, readText, sleep, useTempDir } from "../store/helpers.js";

const ROUNDS = 25;

const storeModule = pathToFileURL(fileURLToPath(new URL("../../src/store/index.ts", import.meta.url))).href;
const tsxLoader = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href;

const tmp = useTempDir("pipeserve-registry-kill-");

// Registers versions (and moves an alias) as fast as it can until killed; says "go" once started.
const writerSource = `
import { ModelRegistry } from ${JSON.stringify(storeModule)};
const [root] = process.argv.slice(2) as [string];
const registry = new ModelRegistry(root);
process.stdout.write("go\\n");
for (let i = 0; ; i++) {
  const mv = await registry.createVersion("m", "runs:/writer/model", { runId: "writer", tags: { "pipeserve.pipeline_sha256": "0".repeat(64) } });
  if (i % 3 === 0) await registry.setAlias("m", "champion", mv.version);
}
`;

function startWriter(script: string, root: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, ["--import", tsxLoader, script, root], { stdio: ["ignore", "pipe", "inherit"] });
  return new Promise((resolve, reject) => {
    child.stdout?.once("data", () => resolve(child));
    child.once("error", reject);
    child.once("exit", (code) => reject(new Error(`the writer exited with ${code} before starting`)));
  });
}

async function expectConsistent(root: string, registry: ModelRegistry): Promise<number> {
  const modelDir = join(root, "models", "m");
  const folders = (await readdir(modelDir)).filter((n) => n.startsWith("version-"));
  const numbers = folders.map((n) => Number(n.slice("version-".length))).sort((a, b) => a - b);
  expect(numbers, "version folders numbered 1..n with no gap").toEqual(numbers.map((_, i) => i + 1));
  for (const n of numbers) expect(parseAsMlflow(await readText(modelDir, `version-${n}`, "meta.yaml"))).toMatchObject({ version: n, status: "READY" });
  expect((await registry.listVersions("m")).map((v) => v.version)).toEqual(numbers);
  if (numbers.length > 0) expect((await registry.getLatestVersion("m")).version).toBe(numbers.length);
  return numbers.length;
}

it(`keeps the registry whole through ${ROUNDS} SIGKILLs of a registering process`, async () => {
  const root = join(tmp(), "mlruns");
  await FileStore.open(root);
  const script = join(tmp(), "writer.mts");
  await writeFile(script, writerSource);
  const registry = new ModelRegistry(root);
  let sawPartial = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const child = await startWriter(script, root);
    await sleep(30 + Math.random() * 150);
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGKILL");
    await exited;
    if ((await readdir(join(root, "models", "m")).catch(() => [])).some((n) => n.endsWith(".partial"))) sawPartial++;

    const n = await expectConsistent(root, registry);
    const started = Date.now();
    const next = await registry.createVersion("m", "runs:/after/model", { runId: "after" });
    expect(Date.now() - started, "the next write waited for the dead writer's lock").toBeLessThan(3_000);
    expect(next.version).toBe(n + 1);
    expect(
      (await readdir(join(root, "models", "m"))).filter((e) => e.endsWith(".partial")),
      "a dead writer's partial folder is left",
    ).toEqual([]);
  }
  expect(
    (await readdir(root)).filter((x) => /lock/.test(x)),
    "locks, or their temp and stale files, left behind",
  ).toEqual([]);
  // The loop is only worth its time if some kills landed mid-registration.
  console.info(`registry kill loop: ${sawPartial} of ${ROUNDS} kills left a partial version behind`);
}, 240_000);
