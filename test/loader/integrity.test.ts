// Every sha256 in pipeline.json is checked before the model's code is imported: a changed or
// truncated file is refused with an error naming it, and code planted in a tampered bundle never
// runs. A probe (a global counter and a marker file) proves it: the same probe in a bundle whose
// sha256 was updated does run.
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { appendFile, mkdir, readFile, rename, rm, symlink, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { ModelLoadError, loadModel } from "../../src/index.js";
import { copyModel, editJson, expectedScaler, rejects, scalerBody, sha256Of, tempDir, useScalerModel } from "./helpers.js";

const trained = useScalerModel();
const CODE = join("code", "pipeline.mjs");
const INTEGRITY = "does not match its recorded sha256: the file was changed or truncated after packaging";

interface Probe {
  flag: string;
  marker: string;
  /** ESM to plant in a bundle: bumps the global flag and writes the marker file when imported. */
  code: string;
  ran(): boolean;
}

let probes = 0;
async function makeProbe(): Promise<Probe> {
  const flag = `__pipeserveIntegrityProbe${++probes}`;
  const marker = join(await tempDir("pipeserve-probe-"), "code-ran");
  const code = [
    `import { writeFileSync as __probeWrite } from "node:fs";`,
    `globalThis[${JSON.stringify(flag)}] = (globalThis[${JSON.stringify(flag)}] ?? 0) + 1;`,
    `__probeWrite(${JSON.stringify(marker)}, "the model's code ran");`,
  ].join("\n");
  return { flag, marker, code, ran: () => (globalThis as Record<string, unknown>)[flag] !== undefined || existsSync(marker) };
}

/** Plants the probe at the end of the bundle, optionally recording the new sha256 in pipeline.json. */
async function plant(dir: string, probe: Probe, options: { updateSha: boolean; atStart?: boolean }): Promise<void> {
  const file = join(dir, CODE);
  if (options.atStart) await writeFile(file, `${probe.code}\n${await readFile(file, "utf8")}`);
  else await appendFile(file, `\n${probe.code}\n`);
  if (options.updateSha) {
    const sha = await sha256Of(file);
    await editJson(join(dir, "pipeline.json"), (p) => {
      p.code.sha256 = sha;
    });
  }
}

/** Changes one byte of a file: its first digit becomes another digit (so JSON stays JSON). */
async function changeOneByte(file: string): Promise<void> {
  const data = await readFile(file);
  const at = data.findIndex((b) => b >= 0x30 && b <= 0x39);
  data[at] = data[at] === 0x39 ? 0x30 : (data[at] as number) + 1;
  await writeFile(file, data);
}

describe("the probe", () => {
  it("runs when a bundle carrying it is imported (control: its sha256 was updated)", async () => {
    const probe = await makeProbe();
    const dir = await copyModel(trained().modelDir, (d) => plant(d, probe, { updateSha: true }));
    const model = await loadModel(dir);
    expect((globalThis as Record<string, unknown>)[probe.flag]).toBe(1);
    expect(existsSync(probe.marker)).toBe(true);
    expect(await model.predict(scalerBody([1, 5]))).toEqual(await expectedScaler(dir, [1, 5]));
    await model.close();
  });
});

describe("a tampered or truncated file is refused before any code runs", () => {
  it.each([
    ["code appended to the bundle", async (d: string, p: Probe) => plant(d, p, { updateSha: false })],
    ["code prepended to the bundle", async (d: string, p: Probe) => plant(d, p, { updateSha: false, atStart: true })],
    [
      "one byte of the bundle changed after planting",
      async (d: string, p: Probe) => {
        await plant(d, p, { updateSha: true });
        await changeOneByte(join(d, CODE));
      },
    ],
    [
      "a truncated bundle",
      async (d: string, p: Probe) => {
        await plant(d, p, { updateSha: true, atStart: true });
        await truncate(join(d, CODE), 400);
      },
    ],
    [
      "an empty bundle",
      async (d: string) => {
        await writeFile(join(d, CODE), "");
      },
    ],
  ])("%s → INTEGRITY_ERROR naming the code bundle", async (_why, edit) => {
    const probe = await makeProbe();
    const dir = await copyModel(trained().modelDir, (d) => edit(d, probe));
    const error = await rejects(loadModel(dir), ModelLoadError, `The code bundle (code/pipeline.mjs) ${INTEGRITY}`, "Re-package the model");
    expect(error.code).toBe("INTEGRITY_ERROR");
    expect(probe.ran()).toBe(false);
  });

  // The bundle carries the probe with a correct sha256, so only the artifact check can stop the import.
  it.each([
    ["scaler", "one byte changed", (f: string) => changeOneByte(f)],
    ["model", "one byte changed", (f: string) => changeOneByte(f)],
    ["model", "truncated", (f: string) => truncate(f, 5)],
    ["scaler", "emptied", (f: string) => writeFile(f, "")],
    ["model", "grown by a space", (f: string) => appendFile(f, " ")],
  ])('artifact "%s" %s → INTEGRITY_ERROR naming it, and the code never ran', async (name, _how, edit) => {
    const probe = await makeProbe();
    const dir = await copyModel(trained().modelDir, async (d) => {
      await plant(d, probe, { updateSha: true });
      await edit(join(d, "artifacts", `${name}.json`));
    });
    const error = await rejects(
      loadModel(dir),
      ModelLoadError,
      `Artifact "${name}" (artifacts/${name}.json) ${INTEGRITY}`,
      /expected [0-9a-f]{12}…, found [0-9a-f]{12}…/,
    );
    expect(error.code).toBe("INTEGRITY_ERROR");
    expect(probe.ran()).toBe(false);
  });

  it("a missing package is reported before the code runs, too", async () => {
    const probe = await makeProbe();
    const dir = await copyModel(trained().modelDir, async (d) => {
      await plant(d, probe, { updateSha: true });
      await editJson(join(d, "environment.json"), (e) => {
        e.packages["pipeserve-no-such-package"] = "0.0.1";
      });
    });
    const error = await rejects(loadModel(dir), ModelLoadError, "needs packages that are not installed: pipeserve-no-such-package@0.0.1");
    expect(error.code).toBe("ENVIRONMENT_MISMATCH");
    expect(probe.ran()).toBe(false);
  });
});

describe("the verified code is what runs", () => {
  it("worker threads import a private copy of the verified bundle, not the model's file, and close() removes it", async () => {
    const probe = await makeProbe();
    const dir = await copyModel(trained().modelDir);
    const model = await loadModel(dir);
    try {
      const copy = fileURLToPath(model.pipeline.source?.module as string);
      const copyDir = dirname(copy);
      expect(dirname(copyDir)).toBe(tmpdir());
      expect(basename(copyDir)).toMatch(/^pipeserve-code-/);
      expect(statSync(copyDir).mode & 0o077).toBe(0);
      expect(await readFile(copy)).toEqual(await readFile(join(dir, CODE)));

      // Changed after the check: a thread that imported the model's file would run the probe (and write its marker).
      await plant(dir, probe, { updateSha: false });
      const prediction = await model.predictWithInfo(scalerBody([1, 5]), { runner: "WorkerRunner" });
      expect(prediction.runner).toBe("WorkerRunner");
      expect(prediction.output).toEqual(await expectedScaler(dir, [1, 5]));
      expect(probe.ran()).toBe(false);

      await model.close();
      expect(existsSync(copyDir)).toBe(false);
    } finally {
      await model.close();
    }
  });

  it("artifacts are loaded from private copies of the bytes just verified, removed once in memory", async () => {
    const dir = await copyModel(trained().modelDir);
    const expected = await expectedScaler(dir, [1, 5]);
    const model = await loadModel(dir);
    try {
      expect(readdirSync(dirname(fileURLToPath(model.pipeline.source?.module as string)))).toEqual(["pipeline.mjs"]);
      // Nothing is read from the model's artifact files after loading.
      const pipelineJson = JSON.parse(await readFile(join(dir, "pipeline.json"), "utf8")) as { artifacts: Record<string, { path: string }> };
      for (const artifact of Object.values(pipelineJson.artifacts)) await rm(join(dir, artifact.path));
      expect((await model.predictWithInfo(scalerBody([1, 5]))).output).toEqual(expected);
    } finally {
      await model.close();
    }
  });
});

describe("model files behind symbolic links", () => {
  it.each([
    [
      "a link to a device (/dev/zero, which never ends)",
      async (file: string) => {
        await rm(file);
        await symlink("/dev/zero", file);
      },
      "is a symbolic link to /dev/zero, outside the model directory",
    ],
    [
      "a link to a file outside the model, with the very bytes recorded",
      async (file: string) => {
        const outside = join(await tempDir("pipeserve-outside-"), "model.json");
        await rename(file, outside);
        await symlink(outside, file);
      },
      "outside the model directory",
    ],
    [
      "a named pipe (which blocks its reader)",
      async (file: string) => {
        await rm(file);
        execFileSync("mkfifo", [file]);
      },
      "is not a regular file (a folder, device or pipe)",
    ],
    [
      "a folder",
      async (file: string) => {
        await rm(file);
        await mkdir(file);
      },
      "is not a regular file (a folder, device or pipe)",
    ],
  ] as const)("an artifact that is %s → INVALID_MODEL_FILE naming it, at once, and the code never ran", async (_what, edit, message) => {
    const probe = await makeProbe();
    const dir = await copyModel(trained().modelDir, async (d) => {
      await plant(d, probe, { updateSha: true });
      await edit(join(d, "artifacts", "model.json"));
    });
    const error = await rejects(loadModel(dir), ModelLoadError, 'Artifact "model" (artifacts/model.json) ', message);
    expect(error.code).toBe("INVALID_MODEL_FILE");
    expect(probe.ran()).toBe(false);
  });

  it.each(["pipeline.json", "MLmodel"])("%s linked to /dev/zero → INVALID_MODEL_FILE at once (it filled memory)", async (file) => {
    const dir = await copyModel(trained().modelDir, async (d) => {
      await rm(join(d, file));
      await symlink("/dev/zero", join(d, file));
    });
    const error = await rejects(loadModel(dir), ModelLoadError, `is a symbolic link to /dev/zero, outside the model directory`);
    expect(error.code).toBe("INVALID_MODEL_FILE");
  });

  it("a link to another file inside the model loads", async () => {
    const dir = await copyModel(trained().modelDir, async (d) => {
      await rename(join(d, "artifacts", "model.json"), join(d, "artifacts", "model-real.json"));
      await symlink("model-real.json", join(d, "artifacts", "model.json"));
    });
    const model = await loadModel(dir);
    try {
      expect((await model.predictWithInfo(scalerBody([1, 5]))).output).toEqual(await expectedScaler(dir, [1, 5]));
    } finally {
      await model.close();
    }
  });
});
