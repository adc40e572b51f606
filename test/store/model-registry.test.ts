// The model registry under mlruns/models: numbered versions, latest, aliases, and errors that
// list what does exist.
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ModelRegistry, NotFoundError, StoreError } from "../../src/store/index.js";
import { expectRejects, useTempDir } from "./helpers.js";

const tmp = useTempDir("pipeserve-registry-");
const registry = (): ModelRegistry => new ModelRegistry(join(tmp(), "mlruns"));

async function withVersions(name: string, count: number): Promise<ModelRegistry> {
  const reg = registry();
  for (let i = 1; i <= count; i++) await reg.createVersion(name, `runs:/run${i}/model`, { runId: `run${i}` });
  return reg;
}

describe("versions", () => {
  it("numbers versions 1, 2, 3 and returns each", async () => {
    const reg = registry();
    const made = [];
    for (const run of ["a", "b", "c"]) made.push(await reg.createVersion("penguins", `runs:/${run}/model`, { runId: run, description: `from ${run}` }));
    expect(made.map((v) => v.version)).toEqual([1, 2, 3]);
    expect(made[1]).toMatchObject({
      name: "penguins",
      version: 2,
      source: "runs:/b/model",
      runId: "b",
      status: "READY",
      description: "from b",
      aliases: [],
    });
    expect(made[1]?.creationTimestamp).toBe(made[1]?.lastUpdatedTimestamp);
    expect((await reg.listVersions("penguins")).map((v) => v.version)).toEqual([1, 2, 3]);
  });

  it("getLatestVersion returns the highest version", async () => {
    const reg = await withVersions("m", 3);
    expect((await reg.getLatestVersion("m")).version).toBe(3);
    expect((await reg.getModel("m")).latestVersion).toBe(3);
  });

  it("getVersion takes a number or a numeric string", async () => {
    const reg = await withVersions("m", 2);
    expect((await reg.getVersion("m", 2)).source).toBe("runs:/run2/model");
    expect((await reg.getVersion("m", "2")).source).toBe("runs:/run2/model");
  });

  it("lists models by name", async () => {
    const reg = registry();
    await reg.createVersion("zeta", "runs:/a/model");
    await reg.createVersion("alpha", "runs:/b/model");
    await reg.ensureModel("empty", "no versions yet");
    const models = await reg.listModels();
    expect(models.map((m) => m.name)).toEqual(["alpha", "empty", "zeta"]);
    expect(models[1]).toMatchObject({ name: "empty", description: "no versions yet", latestVersion: undefined, aliases: {}, tags: {} });
  });

  it.each<[number | string, string]>([
    [0, "zero"],
    ["0", "zero as a string"],
    [-1, "negative"],
    [1.5, "fractional"],
    ["abc", "not a number"],
    ["v2", "an alias-like string"],
    ["", "empty"],
  ])("rejects the version %j (%s)", async (version) => {
    const reg = await withVersions("m", 1);
    await expectRejects(
      reg.getVersion("m", version),
      StoreError,
      `Invalid version ${JSON.stringify(version)} of model "m": versions are whole numbers from 1.`,
    );
  });

  it.each([
    ["a/b", "a path separator"],
    ["a\\b", "a backslash"],
    ["50%", "a percent sign"],
    ["a:b", "a colon"],
    ["..", "the parent folder"],
    [" padded ", "surrounding spaces"],
    ["", "empty"],
    ["x".repeat(257), "too long"],
  ])("rejects the model name %j (%s)", async (name) => {
    const message = `Invalid model name ${JSON.stringify(name)}: no path separators, "%" or ":", no surrounding spaces, at most 256 characters.`;
    await expectRejects(registry().createVersion(name, "runs:/a/model"), StoreError, message);
    await expectRejects(registry().getModel(name), StoreError, message);
  });
});

describe("aliases", () => {
  it("sets, moves, reads and deletes an alias", async () => {
    const reg = await withVersions("m", 3);
    const set = await reg.setAlias("m", "champion", 2);
    expect(set.version).toBe(2);
    expect(set.aliases).toEqual(["champion"]);
    expect((await reg.getVersionByAlias("m", "champion")).version).toBe(2);

    await reg.setAlias("m", "champion", "3");
    await reg.setAlias("m", "challenger", 1);
    expect((await reg.getVersionByAlias("m", "champion")).version).toBe(3);
    expect((await reg.getModel("m")).aliases).toEqual({ champion: 3, challenger: 1 });
    expect((await reg.getVersion("m", 2)).aliases).toEqual([]);
    expect((await reg.getVersion("m", 3)).aliases).toEqual(["champion"]);

    await reg.deleteAlias("m", "champion");
    expect((await reg.getModel("m")).aliases).toEqual({ challenger: 1 });
    await expectRejects(reg.getVersionByAlias("m", "champion"), NotFoundError, 'Model "m" has no alias "champion". Aliases: [challenger → 1].');
  });

  it("bumps the model's last_updated_timestamp when an alias moves", async () => {
    const reg = await withVersions("m", 1);
    const before = (await reg.getModel("m")).lastUpdatedTimestamp;
    await new Promise((r) => setTimeout(r, 3));
    await reg.setAlias("m", "prod", 1);
    expect((await reg.getModel("m")).lastUpdatedTimestamp).toBeGreaterThan(before);
  });

  it.each([["champion-2"], ["prod_1"], ["v"], ["v3a"], ["Latest1"]])("accepts the alias %j", async (alias) => {
    const reg = await withVersions("m", 1);
    await reg.setAlias("m", alias, 1);
    expect((await reg.getVersionByAlias("m", alias)).version).toBe(1);
  });

  it.each([
    ["latest", "reserved for the highest version"],
    ["LATEST", "reserved, in any case"],
    ["v3", "reads as a version"],
    ["V12", "reads as a version, in any case"],
    ["a/b", "a path separator"],
    ["..", "the parent folder"],
    ["has space", "a space"],
    ["", "empty"],
    ["x".repeat(256), "too long"],
  ])("rejects the alias %j (%s)", async (alias) => {
    const reg = await withVersions("m", 1);
    const message = `Invalid alias ${JSON.stringify(alias)}: use letters, digits, "_" and "-" (not "latest", and not v<number>, which would read as a version).`;
    await expectRejects(reg.setAlias("m", alias, 1), StoreError, message);
    await expectRejects(reg.deleteAlias("m", alias), StoreError, message);
    expect((await reg.getModel("m")).aliases).toEqual({});
  });
});

describe("not found", () => {
  it("names the registered models when the model is unknown", async () => {
    const reg = await withVersions("m", 1);
    await reg.ensureModel("other");
    const message = 'Registered model "nope" does not exist. Registered models: [m, other].';
    await expectRejects(reg.getModel("nope"), NotFoundError, message);
    await expectRejects(reg.getVersion("nope", 1), NotFoundError, message);
    await expectRejects(reg.getLatestVersion("nope"), NotFoundError, message);
    await expectRejects(reg.listVersions("nope"), NotFoundError, message);
    await expectRejects(reg.setAlias("nope", "prod", 1), NotFoundError, message);
    await expectRejects(reg.deleteAlias("nope", "prod"), NotFoundError, message);
    await expectRejects(reg.getVersionByAlias("nope", "prod"), NotFoundError, message);
  });

  it("says when there are no models at all", async () => {
    await expectRejects(registry().getModel("nope"), NotFoundError, 'Registered model "nope" does not exist. Registered models: [].');
  });

  it("names the versions when the version is unknown", async () => {
    const reg = await withVersions("m", 2);
    await expectRejects(reg.getVersion("m", 9), NotFoundError, 'Model "m" has no version 9. Versions: [1, 2].');
    await expectRejects(reg.setAlias("m", "prod", 3), NotFoundError, 'Model "m" has no version 3. Versions: [1, 2].');
  });

  it("names the aliases when the alias is unknown", async () => {
    const reg = await withVersions("m", 2);
    await expectRejects(reg.getVersionByAlias("m", "prod"), NotFoundError, 'Model "m" has no alias "prod". Aliases: [].');
    await reg.setAlias("m", "champion", 1);
    await reg.setAlias("m", "challenger", 2);
    const error = await expectRejects(reg.getVersionByAlias("m", "prod"), NotFoundError, /^Model "m" has no alias "prod"\. Aliases: \[.*\]\.$/);
    expect(error.message).toContain("champion → 1");
    expect(error.message).toContain("challenger → 2");
    expect(error.code).toBe("RESOURCE_DOES_NOT_EXIST");
  });

  it("says when a model has no versions yet", async () => {
    const reg = registry();
    await reg.ensureModel("m");
    await expectRejects(reg.getLatestVersion("m"), NotFoundError, 'Model "m" has no versions yet.');
    await expectRejects(reg.getVersion("m", 1), NotFoundError, 'Model "m" has no version 1. Versions: [].');
  });
});

describe("names and concurrent changes", () => {
  it("a name of 230 characters registers (its lock file is named by a digest); one past 255 bytes is refused, saying why", async () => {
    const reg = registry();
    const long = "z".repeat(230);
    expect((await reg.createVersion(long, "runs:/a/model", { runId: "a" })).version).toBe(1);
    expect((await reg.setAlias(long, "prod", 1)).aliases).toEqual(["prod"]);
    const wide = "é".repeat(130);
    await expectRejects(
      reg.createVersion(wide, "runs:/a/model", { runId: "a" }),
      StoreError,
      /it is 260 bytes of UTF-8; a folder store keeps each model in a folder of its name, which may be at most 255 bytes/,
    );
  });

  it('refuses "@" in a new model\'s name: models:/a@b/1 would read as an alias', async () => {
    await expectRejects(registry().createVersion("team@prod", "runs:/a/model", { runId: "a" }), StoreError, '"@" would read as an alias in its models:/ URIs');
  });

  it("an alias set while its version is deleted never outlives the version", async () => {
    const reg = await withVersions("race", 12);
    await Promise.all(
      Array.from({ length: 12 }, (_, i) => [reg.setAlias("race", `a${i + 1}`, i + 1).catch(() => undefined), reg.deleteVersion("race", i + 1)]).flat(),
    );
    expect((await reg.listVersions("race")).map((v) => v.version)).toEqual([]);
    expect((await reg.getModel("race")).aliases).toEqual({});
  });

  it("an alias left on a deleted version (by an older writer) can be deleted", async () => {
    const { writeFile, mkdir } = await import("node:fs/promises");
    const reg = await withVersions("left", 2);
    await reg.deleteVersion("left", 1);
    const aliases = join(tmp(), "mlruns", "models", "left", "aliases");
    await mkdir(aliases, { recursive: true });
    await writeFile(join(aliases, "old"), "1");
    expect((await reg.getModel("left")).aliases).toEqual({ old: 1 });
    await reg.deleteAlias("left", "old");
    expect((await reg.getModel("left")).aliases).toEqual({});
  });
});

describe("a model of many versions", () => {
  it("finds the live ones, oldest first, and the latest, with deleted ones among them", async () => {
    const reg = await withVersions("many", 30);
    for (const gone of [3, 17, 30]) await reg.deleteVersion("many", gone);
    const live = Array.from({ length: 30 }, (_, i) => i + 1).filter((n) => ![3, 17, 30].includes(n));
    expect((await reg.listVersions("many")).map((v) => v.version)).toEqual(live);
    expect((await reg.getModel("many")).latestVersion).toBe(29);
    expect(await reg.getLatestVersion("many")).toMatchObject({ version: 29, source: "runs:/run29/model", runId: "run29" });
  });
});
