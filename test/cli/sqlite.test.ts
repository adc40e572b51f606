// Bad sqlite:/// tracking URIs on the command line: a file that is not SQLite, a folder, `sqlite://`
// without a path, a database at another MLflow schema version, and a missing database for a
// command that only reads. Each gets a non-zero exit and one clear line naming the problem, and
// nothing is written: the file keeps its bytes, the folder stays empty, no database appears.
import { createHash } from "node:crypto";
import { mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { copyProject, fails, tempDir } from "./helpers.js";

let project: string;
let dir: string;
beforeAll(async () => {
  project = await copyProject("linear");
  dir = await tempDir("pipeserve-sqlite-bad-");
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const digest = async (path: string): Promise<string> =>
  createHash("sha256")
    .update(await readFile(path))
    .digest("hex");
const train = (uri: string): string[] => ["run", "--project", project, "--pipeline", "training", "--tracking-uri", uri];

describe("bad sqlite:/// URIs", () => {
  it("a file that is not SQLite: run and runs list refuse it and leave it as it was", async () => {
    const path = join(dir, "notes.db");
    await writeFile(path, "not a database\n".repeat(100));
    const before = await digest(path);
    await fails(train(`sqlite:///${path}`), 1, [`${path} is not an SQLite database`]);
    await fails(["runs", "list", "--tracking-uri", `sqlite:///${path}`], 1, ["is not an SQLite database"]);
    expect(await digest(path)).toBe(before);
    expect((await readdir(dir)).sort()).toEqual(["notes.db"]);
  });

  it("a folder", async () => {
    const folder = join(dir, "folder.db");
    await mkdir(folder);
    await fails(train(`sqlite:///${folder}`), 1, [`${folder} is a folder, not an SQLite database`]);
    expect(await readdir(folder)).toEqual([]);
  });

  // NB: a URI that is no URI is a usage error (exit 2), as a bad flag is.
  it("sqlite:// with no path", async () => {
    const r = await fails(train("sqlite://"), 2, ['Invalid tracking URI "sqlite://"', "sqlite:///relative/path.db"], { cwd: dir });
    expect(r.stdout).toBe("");
  });

  it("a database at another MLflow schema version: both versions named, not migrated", async () => {
    const path = join(dir, "old.db");
    const db = new Database(path);
    db.exec("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL PRIMARY KEY); INSERT INTO alembic_version VALUES ('867495a8f9d4');");
    db.close();
    const before = await digest(path);
    await fails(train(`sqlite:///${path}`), 1, ["867495a8f9d4", "bf29a5ff90ea", "mlflow db upgrade"]);
    expect(await digest(path)).toBe(before);
  });

  // The registry's readers made the database (found by an audit): `models list` said "No registered
  // models." over a new, empty one, and `predict -m models:/…` named no model in it.
  it.each([
    ["runs", "list"],
    ["models", "list"],
    ["models", "versions", "penguins"],
    ["models", "alias", "penguins", "champion", "1"],
    ["inspect", "-m", "models:/penguins/1"],
    ["predict", "-m", "models:/penguins/latest", "-i", "in.csv", "-o", "out.csv"],
  ])("a missing database, for %s %s: named, and not created", async (...args) => {
    const path = join(dir, "missing", "mlflow.db");
    await writeFile(join(dir, "in.csv"), "a\n1\n");
    await fails([...args, "--tracking-uri", `sqlite:///${path}`], 1, [`There is no MLflow database at ${path}`], { cwd: dir });
    await expect(readdir(join(dir, "missing"))).rejects.toThrow();
  });
});
