// Trainings of one project at once (issue 14 #7): each run writes its files into a folder of its
// own (RunCatalog), reads back and packages exactly those, and publishes each save to the
// catalog's path as before. In-process here: several runProject calls at once on the `paired`
// fixture, and RunCatalog itself (redirection, publishing, messages, clean-up). The same race
// with real `pipeserve run` processes: concurrent-runs.process.test.ts and test/reliability/.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, readFile, readdir, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import { basename, dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DatasetError, JsonArtifactDataset, MemoryDataset, node, pipeline, runProject, CsvDataset, NodeError, SequentialRunner } from "../../src/index.js";
import { RunCatalog } from "../../src/packager/index.js";
import { copyProject, rejects, tempDir } from "./helpers.js";
import { expectOwnModel, expectWholeCatalogFiles, trainInProcess } from "./paired-runs.js";

// NB: RunCatalog makes its folders in os.tmpdir(); a folder of this file's own keeps them countable.
let tmp: string;
const savedTmpdir = process.env["TMPDIR"];
beforeAll(async () => {
  tmp = await tempDir("pipeserve-rc-tmp-");
  process.env["TMPDIR"] = tmp;
});
afterAll(() => {
  if (savedTmpdir === undefined) delete process.env["TMPDIR"];
  else process.env["TMPDIR"] = savedTmpdir;
});

/** The run folders in the temp folder now. */
async function runFolders(): Promise<string[]> {
  return (await readdir(tmp)).filter((n) => n.startsWith("pipeserve-run-"));
}

describe("trainings of one project at once", () => {
  it("each package exactly the files their own nodes saved, and log metrics about that pair", async () => {
    const project = await copyProject("paired");
    const tracking = await tempDir("pipeserve-tracking-");
    const scales = [1, 2, 3];
    const runs = await trainInProcess(project, tracking, await tempDir("pipeserve-barrier-"), scales);
    for (const [scale, runId] of runs) await expectOwnModel(tracking, runId, scale);
    await expectWholeCatalogFiles(project, scales);
    expect(await runFolders()).toEqual([]);
  });

  it("a failed run leaves what its nodes saved at the catalog's paths, as before, and no run folder", async () => {
    const project = await copyProject("broken");
    await rejects(
      runProject({ projectDir: project, pipelineName: "diverging", trackingUri: await tempDir("pipeserve-tracking-") }),
      NodeError,
      'Node "train" failed: diverged: loss is NaN',
    );
    expect(JSON.parse(await readFile(join(project, "data", "stats.json"), "utf8"))).toEqual({ mean: expect.any(Number) });
    expect(await runFolders()).toEqual([]);
  });
});

describe("RunCatalog", () => {
  const config = (dir: string) => ({
    raw: { type: "CsvDataset", filepath: "data/raw.csv" },
    stats: { type: "JsonArtifactDataset", filepath: "data/models/stats.json" },
    table: { type: "CsvDataset", filepath: "data/table.csv" },
    scratch: { type: "MemoryDataset" },
    _anchor: { type: "JsonArtifactDataset", filepath: join(dir, "unused.json") },
  });
  const producing = pipeline([
    node((raw: unknown) => raw, { inputs: "raw", outputs: "stats", name: "fit" }),
    node((raw: unknown) => raw, { inputs: "raw", outputs: "table", name: "copy" }),
    node((stats: unknown) => stats, { inputs: "stats", outputs: "scratch", name: "keep" }),
  ]);
  const open = async (project: string) => RunCatalog.open(config(project), { baseDir: project, params: {} }, producing);

  it("redirects the file datasets the pipeline writes into its own folder, keeping their classes and file names; the rest stay", async () => {
    const project = await tempDir("pipeserve-rc-project-");
    const catalog = await open(project);
    try {
      const [folder] = await runFolders();
      expect(folder).toMatch(new RegExp(`^pipeserve-run-${hostname().replace(/[^\w.]/g, "_")}-${process.pid}-`));
      const stats = catalog.get("stats") as JsonArtifactDataset;
      expect(stats).toBeInstanceOf(JsonArtifactDataset);
      expect(dirname(dirname(stats.filepath))).toBe(join(tmp, folder as string));
      expect(basename(stats.filepath)).toBe("stats.json");
      expect(catalog.get("table")).toBeInstanceOf(CsvDataset);
      expect(basename((catalog.get("table") as CsvDataset).filepath)).toBe("table.csv");
      expect((catalog.get("raw") as CsvDataset).filepath).toBe(join(project, "data", "raw.csv"));
      expect(catalog.get("scratch")).toBeInstanceOf(MemoryDataset);
      expect(catalog.get("_anchor")).toBeUndefined();
    } finally {
      await catalog.close();
    }
    expect(await runFolders()).toEqual([]);
  });

  it("publishes each save to the catalog's file, and reads back its own save after another run overwrote that file", async () => {
    const project = await tempDir("pipeserve-rc-project-");
    const catalog = await open(project);
    try {
      await catalog.save("stats", { mean: 1 });
      const shared = join(project, "data", "models", "stats.json");
      expect(await readFile(shared, "utf8")).toBe('{"mean":1}');
      expect(await readFile((catalog.get("stats") as JsonArtifactDataset).filepath, "utf8")).toBe('{"mean":1}');
      await writeFile(shared, '{"mean":2}');
      expect(await catalog.load("stats")).toEqual({ mean: 1 });
      expect((await readdir(dirname(shared))).sort()).toEqual(["stats.json"]);
    } finally {
      await catalog.close();
    }
  });

  it("names the catalog's file, not its own, when a save fails", async () => {
    const project = await tempDir("pipeserve-rc-project-");
    const catalog = await open(project);
    try {
      const table = join(project, "data", "table.csv");
      const error = await rejects(
        catalog.save("table", 42),
        DatasetError,
        `Failed to save data to CsvDataset(filepath=${table}, as=dataframe): Expected tabular data`,
      );
      expect(error.code).toBe("DATASET_SAVE_FAILED");
      expect(error.message).not.toContain("pipeserve-run-");
    } finally {
      await catalog.close();
    }
  });

  it("a node's failed save names the catalog's file, not the run's own", async () => {
    const project = await tempDir("pipeserve-rc-project-");
    const catalog = await open(project);
    try {
      const forgetful = pipeline([node(() => undefined, { inputs: null, outputs: "stats", name: "fit" })]);
      const error = await rejects(
        new SequentialRunner().run(forgetful, catalog),
        DatasetError,
        `Node "fit": its output "stats" (JsonArtifactDataset, ${join(project, "data", "models", "stats.json")}) could not be saved: the node returned undefined`,
      );
      expect(error.message).not.toContain("pipeserve-run-");
    } finally {
      await catalog.close();
    }
  });

  it("fails the save, naming the catalog's file, when it cannot publish there", async () => {
    const project = await tempDir("pipeserve-rc-project-");
    await mkdir(join(project, "data"), { recursive: true });
    await writeFile(join(project, "data", "models"), "a file where the folder should be");
    const catalog = await open(project);
    try {
      const error = await rejects(
        catalog.save("stats", { mean: 1 }),
        DatasetError,
        `Failed to save data to JsonArtifactDataset(filepath=${join(project, "data", "models", "stats.json")}): `,
      );
      expect(error.code).toBe("DATASET_SAVE_FAILED");
    } finally {
      await catalog.close();
    }
  });

  it("makes no folder when the pipeline writes no file", async () => {
    const project = await tempDir("pipeserve-rc-project-");
    const reading = pipeline([node((raw: unknown) => raw, { inputs: "raw", outputs: "scratch", name: "keep" })]);
    const catalog = await RunCatalog.open(config(project), { baseDir: project, params: {} }, reading);
    expect(await runFolders()).toEqual([]);
    expect((catalog.get("stats") as JsonArtifactDataset).filepath).toBe(join(project, "data", "models", "stats.json"));
    await catalog.close();
  });

  it("removes the folders runs of this host left when killed (their process is gone), and no other", async () => {
    const host = hostname().replace(/[^\w.]/g, "_");
    const child = spawn(process.execPath, ["-e", ""]);
    const dead = await new Promise<number>((resolve) => child.on("exit", () => resolve(child.pid as number)));
    const left = {
      killed: `pipeserve-run-${host}-${dead}-aaaaaa`,
      alive: `pipeserve-run-${host}-${process.ppid}-bbbbbb`,
      otherHost: `pipeserve-run-elsewhere-${dead}-cccccc`,
    };
    for (const name of Object.values(left)) {
      await mkdir(join(tmp, name, "0-model"), { recursive: true });
      await writeFile(join(tmp, name, "0-model", "model.json"), "{}");
    }
    const catalog = await open(await tempDir("pipeserve-rc-project-"));
    await catalog.close();
    expect(existsSync(join(tmp, left.killed))).toBe(false);
    expect(existsSync(join(tmp, left.alive))).toBe(true);
    expect(existsSync(join(tmp, left.otherHost))).toBe(true);
  });
});
