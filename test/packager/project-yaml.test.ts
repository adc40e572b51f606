// A project's YAML and its --params as Kedro users know them through PyYAML (YAML 1.1), found by an
// audit: keys `y` and `n` became "true" and "false" (the `yaml` library's 1.1 booleans, which PyYAML
// keeps as text); two spellings of one key (`yes` and "true") overwrote each other without a word;
// a text --params value was read as YAML (`#1 choice` became null); a date parameter could not be
// overridden and was logged as a quoted ISO string; a comma-joined override lost its decimal.
import { readFile, readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { FileStore, PackagingError, runProject } from "../../src/index.js";
import { readYamlFile } from "../../src/packager/project-yaml.js";
import { copyProject, tempDir } from "./helpers.js";

/** The scaler project with `parameters` appended to its conf/parameters.yml. */
async function projectWith(parameters: string): Promise<string> {
  const dir = await copyProject("scaler");
  await writeFile(join(dir, "conf", "parameters.yml"), `margin: 0.0\nseed: 42\n${parameters}`);
  return dir;
}

/** Trains `project` with `params` and returns its logged params, as the files say them. */
async function loggedParams(project: string, params: string[] = []): Promise<Record<string, string>> {
  const tracking = await tempDir("pipeserve-yaml-");
  const { runId } = await runProject({ projectDir: project, pipelineName: "training", trackingUri: tracking, params, typecheck: false });
  const run = await (await FileStore.open(tracking)).getRun(runId);
  return run.params;
}

describe("reading a project's YAML", () => {
  it("keeps y, n, Y and N as text, as PyYAML does; yes/no/on/off are booleans", async () => {
    const file = join(await tempDir("pipeserve-yaml-"), "catalog.yml");
    await writeFile(file, "y: {type: MemoryDataset}\nn: 4\nY: N\nanswer: yes\nlight: off\n");
    expect(await readYamlFile(file, "The catalog")).toEqual({ y: { type: "MemoryDataset" }, n: 4, Y: "N", answer: true, light: false });
  });

  it.each([
    ["a key written twice", "k: 1\nname: a\nk: 2\n", 'has the key "k" twice ("k" on line 1 and "k" on line 3)'],
    ['two spellings of one name (yes and "true")', 'yes: 1\n"true": 2\n', 'has the key "true" twice ("yes" on line 1 and "true" on line 2)'],
    ['1 and "1" in a nested mapping', 'model:\n  1: a\n  "1": b\n', 'has the key "model.1" twice ("1" on line 2 and "1" on line 3)'],
  ])("refuses %s, naming the file, the key and both lines", async (_why, text, says) => {
    const file = join(await tempDir("pipeserve-yaml-"), "parameters.yml");
    await writeFile(file, text);
    const error = await readYamlFile(file, "The parameters").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PackagingError);
    expect((error as Error).message).toContain(`The parameters (${file}) ${says}: keep one, or quote the one meant as text.`);
  });

  // Found by an audit: a set vanished, bytes became b.0, b.1…, and unknown tags were read as text without a word.
  it.each(["s: !!set {a, b}", "o: !!omap [a: 1]", "b: !!binary aGVsbG8=", "f: !!js/function 'x'", "c: !custom foo"])(
    "refuses %s, naming the line and the tag",
    async (text) => {
      const file = join(await tempDir("pipeserve-yaml-"), "parameters.yml");
      await writeFile(file, `k: 1\n${text}\n`);
      await expect(readYamlFile(file, "The parameters")).rejects.toThrow(
        new RegExp(
          `^The parameters \\(${file.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\\) uses a YAML tag pipeserve does not take, on line 2 \\(Unresolved tag: .+\\): .+ Remove the tag\\.$`,
        ),
      );
    },
  );

  // Found by a review: the library's 1.1 float tags resolve only text that looks like a float, so these were refused.
  it("!!float forces a float as PyYAML does: a whole number, underscores, infinities; collected as a decimal", async () => {
    const file = join(await tempDir("pipeserve-yaml-"), "parameters.yml");
    await writeFile(file, "a: !!float 10\nb: !!float 1_000\nc: !!float -.inf\nd: 3\n");
    const floats = new Set<string>();
    expect(await readYamlFile(file, "The parameters", floats)).toEqual({ a: 10, b: 1000, c: Number.NEGATIVE_INFINITY, d: 3 });
    expect([...floats].sort()).toEqual(["a", "b", "c"]);
    await writeFile(file, "a: !!float ten\n");
    await expect(readYamlFile(file, "The parameters")).rejects.toThrow('"ten" is not a number, so it cannot be a !!float');
  });

  it("a merge key may repeat, and its keys are read", async () => {
    const file = join(await tempDir("pipeserve-yaml-"), "parameters.yml");
    await writeFile(file, "a: &a {x: 1}\nb: &b {y: 2}\nc:\n  <<: *a\n  <<: *b\n");
    expect((await readYamlFile(file, "The parameters")).c).toEqual({ x: 1, y: 2 });
  });

  it("an alias bomb is refused naming the file", async () => {
    const file = join(await tempDir("pipeserve-yaml-"), "parameters.yml");
    const levels = ['a: &a ["x","x","x","x","x","x","x","x","x"]'];
    for (let i = 0; i < 8; i++)
      levels.push(
        `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(9)
          .fill(`*${String.fromCharCode(97 + i)}`)
          .join(",")}]`,
      );
    await writeFile(file, `${levels.join("\n")}\n`);
    await expect(readYamlFile(file, "The parameters")).rejects.toThrow(`The parameters (${file}) cannot be read:`);
  });

  it("reads 40,000 catalog entries in linear time (the library's own key check was quadratic)", async () => {
    const file = join(await tempDir("pipeserve-yaml-"), "catalog.yml");
    await writeFile(file, Array.from({ length: 40_000 }, (_, i) => `mem${i}: {type: MemoryDataset}`).join("\n"));
    expect(Object.keys(await readYamlFile(file, "The catalog"))).toHaveLength(40_000);
  });
});

describe("parameters in a training run", () => {
  it("y and n are parameters of those names; a date is logged as MLflow logs it, NaN as nan", async () => {
    const params = await loggedParams(await projectWith("y: 5\nn: 4\nstart: 2024-01-01\nat: 2024-01-01T12:30:00Z\nmissing: .nan\n"));
    expect(params).toMatchObject({ y: "5", n: "4", start: "2024-01-01", at: "2024-01-01 12:30:00", missing: "nan" });
    expect(params).not.toHaveProperty("true");
  });

  it("--params: text as written (#, & and all), a date and a yes/no read as parameters.yml reads them, and a comma-joined decimal keeps its .0", async () => {
    const project = await projectWith("name: abc\nstart: 2024-01-01\nflag: yes\n");
    const params = await loggedParams(project, ["name=#1 choice", "start=2024-02-01", "flag=no", "name=&a x,margin=3.0"]);
    expect(params).toMatchObject({ name: "&a x", start: "2024-02-01", flag: "false", margin: "3.0" });
    expect((await loggedParams(project, ["name=#1 choice"])).name).toBe("#1 choice");
    expect((await loggedParams(project, ["name=null"])).name).toBe("null");
  });

  // Found by an audit: these failed the run at logging, leaving it FAILED, or were logged where MLflow refuses them.
  it.each([
    ["a list for a name", "? [a, b]\n: 1\n", 'the parameter "[ a, b ]" cannot be logged: Invalid param name'],
    ["a value past MLflow's 6,000 characters", `long: ${"x".repeat(6001)}\n`, 'the parameter "long" is 6001 characters long, and MLflow logs at most 6000'],
  ])("a parameter with %s is refused before any run is written", async (_why, yaml, says) => {
    const tracking = await tempDir("pipeserve-yaml-");
    const error = await runProject({ projectDir: await projectWith(yaml), pipelineName: "training", trackingUri: tracking, typecheck: false }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(PackagingError);
    expect((error as Error).message).toContain(`conf/parameters.yml: ${says}`);
    expect(await readdir(tracking)).toEqual([]);
  });

  // Found by an audit: a decimal merged in (<<: *defaults) was logged 2 and typed long.
  it("a decimal merged from an anchor keeps its .0; a key the mapping sets itself is its own", async () => {
    const params = await loggedParams(await projectWith("defaults: &d\n  k: 2.0\n  j: 1.0\nmodel:\n  <<: *d\n  j: 3\n"));
    expect(params).toMatchObject({ "defaults.k": "2.0", "model.k": "2.0", "model.j": "3" });
  });

  it("a catalog dataset named y is that dataset", async () => {
    const project = await copyProject("scaler");
    const catalog = join(project, "conf", "catalog.yml");
    await writeFile(catalog, `${await readFile(catalog, "utf8")}y:\n  type: MemoryDataset\n`);
    const file = await readYamlFile(catalog, "The catalog");
    expect(file).toHaveProperty("y");
    expect(file).not.toHaveProperty("true");
  });
});
