/**
 * `pipeserve init` as a new user runs it (issue 21): in an empty folder outside the repo, the built
 * bin writes a project; `pipeserve run` in that folder trains, packages and registers it with no
 * flags; `pipeserve serve -m models:/<name>/latest` answers the request its README shows, and the
 * runtime param changes the labels (its types are checked in test/reliability/published-types.test.ts). A folder that
 * holds anything is refused, and nothing is written into it.
 */
import { mkdir, readFile, readdir, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { ensureBuilt, runBin } from "../fixtures/cli.js";
import { ServeProcess, http } from "../server/fixtures/server-process.js";
import { tempDir } from "./helpers.js";

beforeAll(async () => {
  await ensureBuilt();
}, 180_000);

describe("pipeserve init → run → serve, in an empty folder", () => {
  it("writes a project that trains, registers and serves as it is", { timeout: 180_000 }, async () => {
    const cwd = await tempDir("pipeserve-init-");
    const init = await runBin(["init", "fraud-demo"], { cwd });
    expect(init.code, init.stderr.toString()).toBe(0);
    expect(init.stdout.toString()).toContain('Created a pipeserve project in fraud-demo (model "fraud-demo")');
    const project = join(cwd, "fraud-demo");
    expect((await readdir(project)).sort()).toEqual([".gitignore", "README.md", "conf", "data", "pipelines.ts", "tsconfig.json"]);

    // The user's next step, as printed: no flags but the project (the store is ./mlruns of the cwd).
    const run = await runBin(["run", "--project", "fraud-demo"], { cwd });
    expect(run.code, run.stderr.toString()).toBe(0);
    const summary = run.stdout.toString();
    expect(summary).toMatch(/Metrics: accuracy=0\.9\d*, log_loss=/);
    expect(summary).toContain("Registered: models:/fraud-demo/1");

    const serve = new ServeProcess(["serve", "-m", "models:/fraud-demo/latest", "--tracking-uri", join(cwd, "mlruns"), "-p", "0"]);
    try {
      const { url } = await serve.serving();
      const ask = async (params: Record<string, number>) => {
        const body = JSON.stringify({
          dataframe_split: {
            columns: ["x1", "x2"],
            data: [
              [1.5, 0.2],
              [-1, -1],
              [0.1, 0],
            ],
          },
          params,
        });
        const r = await http(`${url}/invocations`, { headers: { "Content-Type": "application/json" }, body });
        expect(r.status, r.body).toBe(200);
        return (JSON.parse(r.body) as { predictions: { score: number; label: number }[] }).predictions;
      };
      // The README's request, sent as it is written, to the port it names: serve's default.
      const readme = await readFile(join(project, "README.md"), "utf8");
      const defaultPort = /\(default: (\d+)\)/.exec((await runBin(["serve", "--help"], { cwd })).stdout.toString())?.[1];
      expect(defaultPort).toBe("5000");
      expect([...readme.matchAll(/(?:127\.0\.0\.1|localhost):(\d+)/g)].map((m) => m[1])).toEqual([defaultPort, defaultPort]);
      const curlBody = /-d '([^']+)'/.exec(readme)?.[1] as string;
      const fromReadme = await http(`${url}/invocations`, { headers: { "Content-Type": "application/json" }, body: curlBody });
      expect(fromReadme.status, fromReadme.body).toBe(200);
      expect(readme).not.toMatch(/npm install --save-dev pipeserve/);
      const normal = await ask({ threshold: 0.5 });
      expect(normal.slice(0, 2).map((p) => p.label)).toEqual([1, 0]);
      expect(normal.map((p) => p.label)).toEqual(normal.map((p) => (p.score >= 0.5 ? 1 : 0)));
      const strict = await ask({ threshold: 0.9999999 });
      expect(
        strict.map((p) => p.label),
        "the threshold is a runtime param",
      ).toEqual([0, 0, 0]);
    } finally {
      await serve.stop();
    }
  });

  it("refuses a folder that holds anything, writing nothing; and a --name that cannot name a model", async () => {
    const cwd = await tempDir("pipeserve-init-");
    const taken = join(cwd, "taken");
    await mkdir(taken);
    await writeFile(join(taken, "notes.txt"), "mine");
    const refused = await runBin(["init", "taken"], { cwd });
    expect(refused.code).toBe(2);
    expect(refused.stderr.toString()).toContain("the folder is not empty (notes.txt). Name a new or empty folder.");
    expect(await readdir(taken)).toEqual(["notes.txt"]);
    const badName = await runBin(["init", "fresh", "--name", "no spaces/please"], { cwd });
    expect(badName.code).toBe(2);
    expect(badName.stderr.toString()).toContain('--name "no spaces/please" cannot name a registered model here');
    expect(await readdir(cwd)).toEqual(["taken"]);
  });

  it("init . names the model after the current folder; a folder with a space is quoted in the next step it prints", async () => {
    const cwd = join(await tempDir("pipeserve-init-"), "Churn Demo");
    await mkdir(cwd);
    const here = await runBin(["init", "."], { cwd });
    expect(here.code).toBe(0);
    expect(here.stdout.toString()).toContain('(model "churn-demo")');
    expect(here.stdout.toString()).toContain("  npx pipeserve run --project .\n");
    const parent = dirname(cwd);
    const spaced = await runBin(["init", "it's new"], { cwd: parent });
    expect(spaced.code).toBe(0);
    expect(spaced.stdout.toString()).toContain(`  npx pipeserve run --project 'it'\\''s new'\n`);
    expect(spaced.stdout.toString()).toContain('(model "it-s-new")');
  });
});
