/**
 * The README's "a project of your own" path, walked as a new user walks it (issue 21), from a copy
 * of this checkout with no dist/ (a fresh clone):
 * `npm pack` builds first (prepack), so the tarball holds dist/; an empty project installs the
 * tarball (with the two overrides the README says to copy, and its .npmrc, in an environment
 * without this repository's npm configuration) and TypeScript; `npx pipeserve init`,
 * `npx pipeserve run` (which type-checks the project against the installed package's own .d.ts),
 * `npx pipeserve serve`, and a prediction over HTTP.
 * In test:reliability, not npm test: it installs packages (from the npm cache when it can) and
 * compiles the whole package once more, about a minute of work.
 */
import { execFileSync } from "node:child_process";
import { cp, mkdir, mkdtemp, readFile, readdir, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { root, spawnNode, stop, waitForServing } from "../e2e/helpers.js";

let work: string;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "pipeserve-walkthrough-"));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

/**
 * The environment of a user's shell: this process's without the npm configuration that `npm run`
 * passes down from this repository's .npmrc (onnxruntime-node-install=skip among it), so the
 * user's own .npmrc, as the README says to write it, is what the install reads.
 */
const userEnv: NodeJS.ProcessEnv = {
  ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.toLowerCase().startsWith("npm_config_") && k !== "ONNXRUNTIME_NODE_INSTALL")),
  MLFLOW_TRACKING_URI: "",
};

function run(command: string, args: string[], cwd: string): string {
  return execFileSync(command, args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], env: userEnv });
}

const npm = (args: string[], cwd: string): string => run("npm", [...args, "--no-audit", "--no-fund", "--prefer-offline", "--loglevel=error"], cwd);

it("npm pack of a clone without dist/ → install into an empty project → init → run → serve → a prediction", { timeout: 600_000 }, async () => {
  // A fresh clone, as far as pack is concerned: the checkout's files (tracked, and new ones not ignored), no dist/.
  const clone = join(work, "clone");
  const files = run("git", ["ls-files", "-z", "--cached", "--others", "--exclude-standard"], root).split("\0").filter(Boolean);
  for (const file of files) {
    await mkdir(dirname(join(clone, file)), { recursive: true });
    await cp(join(root, file), join(clone, file)).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== "ENOENT") throw error; // a file deleted but not yet committed
    });
  }
  await symlink(join(root, "node_modules"), join(clone, "node_modules"), "dir");
  expect(files.some((f) => f.startsWith("dist/"))).toBe(false);

  const packDir = join(work, "pack");
  await mkdir(packDir);
  npm(["pack", "--pack-destination", packDir], clone);
  const [tarball] = await readdir(packDir);
  const listing = run("tar", ["-tzf", join(packDir, tarball as string)], work);
  expect(listing).toContain("package/dist/cli/bin.js");
  expect(listing).toContain("package/dist/index.d.ts");

  // The user's project: the README's overrides, the tarball, and TypeScript for editor types.
  const rootPackage = JSON.parse(await readFile(join(root, "package.json"), "utf8")) as {
    overrides: Record<string, string>;
    devDependencies: Record<string, string>;
  };
  const app = join(work, "app");
  await mkdir(app);
  await writeFile(join(app, "package.json"), JSON.stringify({ name: "my-models", private: true, type: "module", overrides: rootPackage.overrides }, null, 2));
  await writeFile(join(app, ".npmrc"), "onnxruntime-node-install=skip\n");
  npm(["install", join(packDir, tarball as string), `typescript@${rootPackage.devDependencies["typescript"]}`, "@types/node@20"], app);

  const init = run("npx", ["pipeserve", "init", "churn"], app);
  expect(init).toContain('Created a pipeserve project in churn (model "churn")');
  const trained = run("npx", ["pipeserve", "run", "--project", "churn"], app);
  expect(trained).toContain("Registered: models:/churn/1");

  const server = spawnNode([join(app, "node_modules", "pipeserve", "dist", "cli", "bin.js"), "serve", "-m", "models:/churn/latest", "-p", "0"], { cwd: app });
  let stderr = "";
  server.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
  try {
    const url = await waitForServing(server);
    const response = await fetch(`${url}/invocations`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ dataframe_split: { columns: ["x1", "x2"], data: [[1.5, 0.2]] } }),
    });
    expect(response.status, stderr).toBe(200);
    expect(await response.json()).toMatchObject({ predictions: [{ label: 1 }] });
  } finally {
    expect(await stop(server)).toBe(0);
  }
});
