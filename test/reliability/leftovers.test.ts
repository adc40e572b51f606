// Leftovers under repeated kills (issue 14, item 10): the adversarial run found `.OUT.<hex>.partial`
// files after 10 of 10 SIGKILLed predicts and `.model.*.partial` folders after 7 of 20 SIGKILLed
// trainings, which nothing removed. Here the same kill loops run against the built bin, and the
// next run of the command must leave no partial behind and a right result. Real processes, real
// SIGKILL; each kill lands once the run is writing its partial.
import { existsSync } from "node:fs";
import { readdir, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { beforeAll, describe, expect, it } from "vitest";
import {
  SCALER_PROJECT,
  ensureBuilt,
  expectSuccess,
  expectedScaler,
  readOutput,
  runCli,
  startCli,
  tempDir,
  useTrainedModel,
  writeInput,
  xTable,
} from "../batch/helpers.js";
import { copyProject, ok, spawnBin } from "../cli/helpers.js";

const scaler = useTrainedModel(SCALER_PROJECT);
const XS = [0.5, 3.5, 4.25, -1.5, 2.75];
const KILLS = 10;
let bigCsv: string;
let smallCsv: string;

beforeAll(async () => {
  await ensureBuilt();
  const dir = await tempDir();
  bigCsv = join(dir, "big.csv");
  const lines = ["x"];
  for (let i = 0; i < 1_000_000; i++) lines.push(String((i % 97) / 8));
  await writeFile(bigCsv, lines.join("\n") + "\n");
  smallCsv = await writeInput(join(dir, "small.csv"), xTable(XS), "csv");
}, 120_000);

/** Waits until `dir` (or one of the folders `find` lists) holds a `.partial` (non-empty for a file), or the process ends. */
async function waitFor(find: () => Promise<string | undefined>, done: Promise<unknown>): Promise<boolean> {
  let ended = false;
  void done.then(() => (ended = true));
  while (!ended) {
    if (await find()) return true;
    await sleep(5);
  }
  return false;
}

/** A non-empty partial in `dir` written by `pid`. */
async function partialIn(dir: string, pid: number | undefined): Promise<string | undefined> {
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    if (name.endsWith(".partial") && name.includes(`.${pid}-`) && (await stat(join(dir, name)).catch(() => undefined))?.size) return name;
  }
  return undefined;
}

describe("kill loops, then one more run", () => {
  it(`predict: ${KILLS} SIGKILLs mid-write, then a run into the folder leaves only its output, and it is right`, async () => {
    const dir = await tempDir("pipeserve-leftovers-");
    const output = join(dir, "out.csv");
    const args = (input: string): string[] => [
      "predict",
      "-m",
      scaler().modelUri,
      "--tracking-uri",
      scaler().trackingDir,
      "-i",
      input,
      "-o",
      output,
      "--chunk-rows",
      "1000",
    ];
    let caught = 0;
    for (let i = 0; i < KILLS; i++) {
      const { child, done } = startCli([...args(bigCsv), "--on-error", "skip"]);
      if (await waitFor(() => partialIn(dir, child.pid), done)) caught++;
      child.kill("SIGKILL");
      await done;
      // NB: each run, as it starts, removed what the run killed before it left: only this one's partials are here.
      const left = await readdir(dir);
      expect(left.length, "SIGKILL leaves the partials").toBeGreaterThan(0);
      expect(
        left.every((n) => n.includes(`.${child.pid}-`) && n.endsWith(".partial")),
        left.join(", "),
      ).toBe(true);
    }
    expect(caught, "every run was killed while writing").toBe(KILLS);
    expect(existsSync(output)).toBe(false);
    expectSuccess(await runCli(args(smallCsv)));
    expect(await readdir(dir)).toEqual(["out.csv"]);
    expect(await readOutput(output, "csv")).toEqual(await expectedScaler(scaler().modelDir, XS));
  }, 240_000);

  it("run: SIGKILLs while packaging, then a run leaves no half model folder in any LoggedModel's folder or run's artifacts", async () => {
    const project = await copyProject("slow-package");
    const tracking = await tempDir("pipeserve-leftovers-tracking-");
    const halfModels = async (): Promise<string[]> => {
      const found: string[] = [];
      for (const exp of await readdir(tracking).catch(() => [] as string[])) {
        for (const run of await readdir(join(tracking, exp)).catch(() => [] as string[])) {
          // A packaged model is the run's LoggedModel: its files are assembled in <exp>/models/<model_id>/.
          const folders =
            run === "models"
              ? (await readdir(join(tracking, exp, "models")).catch(() => [] as string[])).map((id) => join(tracking, exp, "models", id))
              : [join(tracking, exp, run, "artifacts")];
          for (const folder of folders)
            for (const name of await readdir(folder).catch(() => [] as string[])) if (name.endsWith(".partial")) found.push(join(folder, name));
        }
      }
      return found;
    };
    let caught = 0;
    for (let i = 0; i < 5; i++) {
      const child = spawnBin(["run", "--project", project, "--pipeline", "training", "--tracking-uri", tracking, "--params", "blob_mb=150"]);
      const done = new Promise((resolve) => child.once("exit", resolve));
      const mine = async (): Promise<string | undefined> => (await halfModels()).find((p) => p.includes(`.artifacts.${child.pid}-`));
      if (await waitFor(mine, done)) caught++;
      child.kill("SIGKILL");
      await done;
      // NB: each run, as it starts, removed the half model folders of the runs killed before it.
      expect((await halfModels()).every((p) => p.includes(`.artifacts.${child.pid}-`))).toBe(true);
    }
    expect(caught, "some runs were killed while packaging").toBeGreaterThan(0);
    await ok(["run", "--project", project, "--pipeline", "training", "--tracking-uri", tracking]);
    expect(await halfModels()).toEqual([]);
  }, 240_000);
});
