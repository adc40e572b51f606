/**
 * The Dockerfile's runtime stage, reproduced without Docker (no engine runs on these machines):
 * pack pipeserve, install it with production dependencies only into an empty folder, and from
 * there serve a model packaged beforehand. Proves nothing the server needs lives in devDependencies.
 * In test:reliability (run by .ci/run), not npm test: it installs packages, ~25 s of one core.
 */
import { execFileSync } from "node:child_process";
import { copyFile, mkdir, mkdtemp, readFile, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cli, ensureBuilt, root, spawnNode, stop, waitForServingLine } from "../e2e/helpers.js";
import { InferenceClient, outputValues, typedInput } from "../server/fixtures/grpc-client.js";

let work: string;
beforeAll(async () => {
  ensureBuilt();
  work = await mkdtemp(join(tmpdir(), "pipeserve-prod-"));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

function npm(args: string[], cwd: string): string {
  return execFileSync("npm", [...args, "--no-audit", "--no-fund", "--prefer-offline", "--loglevel=error"], {
    cwd,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
  });
}

describe("the Dockerfile", () => {
  it("builds with dev dependencies and runs with production ones, as a non-root user, with a health check", async () => {
    const dockerfile = await readFile(join(root, "Dockerfile"), "utf8");
    const stages = dockerfile.split(/^FROM /m).slice(1);
    expect(stages).toHaveLength(2);
    const runtime = stages[1] as string;
    expect(stages[0]).toMatch(/RUN npm ci\n/);
    expect(runtime).toMatch(/npm ci --omit=dev \\\n/);
    // A numeric user (the node image's node user): Kubernetes' runAsNonRoot, which deploy/kserve's
    // runtime sets without a runAsUser, refuses to start an image whose user is a name.
    expect(runtime).toMatch(/^USER 1000$/m);
    expect(runtime).toMatch(/^HEALTHCHECK .*\n?.*\/health/m);
    // The health check asks the port serve listens on: PIPESERVE_PORT first, then PORT.
    expect(runtime).toContain("process.env.PIPESERVE_PORT||process.env.PORT||5000");
    expect(runtime).toMatch(/^ENTRYPOINT \["pipeserve"\]$/m);
    expect(runtime).toMatch(/^CMD \["serve"/m);
    expect(runtime).toMatch(/MODEL_URI=/);
    expect(runtime).toMatch(/PORT=5000/);
    // serve --grpc-port loads the .proto from the package: the build stage must have it to pack.
    expect(stages[0]).toMatch(/^COPY proto \.\/proto$/m);
    // npm pack builds (prepack): every script `npm run build` runs must be in the build stage.
    const build = (JSON.parse(await readFile(join(root, "package.json"), "utf8")) as { scripts: Record<string, string> }).scripts["build"] ?? "";
    const scripts: string[] = [...(build.match(/scripts\/[\w.-]+/g) ?? [])];
    expect(scripts.length, "npm run build runs a script of scripts/").toBeGreaterThan(0);
    // NB: and the scripts those scripts run (./bundle-cli.mjs beside them).
    for (const script of scripts.slice()) {
      for (const m of (await readFile(join(root, script), "utf8")).matchAll(/\.\/([\w-]+\.mjs)/g)) scripts.push(`scripts/${m[1]}`);
    }
    expect(scripts).toContain("scripts/bundle-cli.mjs");
    // NB: the sources of each COPY line: its words after COPY but the last (the destination).
    const copied = [...(stages[0] as string).matchAll(/^COPY (.+)$/gm)].flatMap((m) => (m[1] as string).trim().split(/\s+/).slice(0, -1));
    for (const script of scripts)
      expect(
        copied.filter((source) => [script, "scripts", "scripts/", "."].includes(source)),
        script,
      ).not.toEqual([]);
  });
});

describe("a production-only install (the runtime stage without Docker)", () => {
  it("serves a model packaged beforehand and answers a request, over REST and gRPC", async () => {
    // The model, packaged with the development checkout.
    const tracking = join(work, "mlruns");
    const run = cli(["run", "--project", join(root, "models", "penguins"), "--pipeline", "__default__", "--tracking-uri", tracking]);
    expect(run.code, run.stderr).toBe(0);

    // pipeserve, packed and installed as the image installs it.
    const packDir = join(work, "pack");
    await mkdir(packDir);
    // NB: --ignore-scripts: dist/ is built already (ensureBuilt); prepack would rebuild it under the feet of other tests.
    npm(["pack", "--ignore-scripts", "--pack-destination", packDir], root);
    const [tarball] = await readdir(packDir);
    expect(tarball).toMatch(/^pipeserve-\d+\.\d+\.\d+\.tgz$/);
    const app = join(work, "app");
    await mkdir(app);
    for (const file of ["package.json", "package-lock.json", ".npmrc"]) await copyFile(join(root, file), join(app, file));
    // NB: with install scripts, as the image: better-sqlite3's builds (or fetches) its native binding.
    npm(["ci", "--omit=dev"], app);
    npm(["install", "--omit=dev", "--ignore-scripts", "--no-save", join(packDir, tarball as string)], app);
    // The SQLite store's native binding works in the production install (sqlite:/// tracking URIs).
    expect(
      execFileSync(process.execPath, ["-e", "console.log(require('better-sqlite3')(':memory:').prepare('select 41 + 1 as n').get().n)"], {
        cwd: app,
        encoding: "utf8",
      }).trim(),
    ).toBe("42");
    const installed = await readdir(join(app, "node_modules"));
    for (const devOnly of ["vitest", "typescript", "tsx", "vega-datasets", "autocannon"]) expect(installed).not.toContain(devOnly);

    // The executable package.json's "bin" names (the Dockerfile links the same file).
    const installedPackage = JSON.parse(await readFile(join(app, "node_modules", "pipeserve", "package.json"), "utf8")) as { bin: Record<string, string> };
    expect(installedPackage.bin).toEqual({ pipeserve: "dist/cli/bin.js" });
    expect(await readFile(join(root, "Dockerfile"), "utf8")).toContain("/app/node_modules/pipeserve/dist/cli/bin.js /usr/local/bin/pipeserve");
    const bin = join(app, "node_modules", "pipeserve", installedPackage.bin["pipeserve"] as string);
    const server = spawnNode([bin, "serve", "-p", "0", "--grpc-port", "0", "--tracking-uri", tracking], {
      cwd: app,
      env: { MODEL_URI: "models:/penguins/latest" },
    });
    let stderr = "";
    server.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
    try {
      const { url, grpc } = await waitForServingLine(server);
      const health = await fetch(`${url}/health`);
      expect(health.status).toBe(200);
      // NB: shared/bench-data/req_1row.json, copied so the tests read nothing outside the repository.
      const body = await readFile(join(root, "test", "fixtures", "requests", "penguins-1row.json"), "utf8");
      const response = await fetch(`${url}/invocations`, { method: "POST", headers: { "Content-Type": "application/json" }, body });
      expect(response.status, stderr).toBe(200);
      expect(await response.json()).toMatchObject({ predictions: [{ species: "Adelie" }] });
      // The gRPC service, from the proto/ the package ships, with production dependencies only.
      const client = new InferenceClient(grpc as string);
      const row = { island: "Torgersen", bill_length_mm: 39.1, bill_depth_mm: 18.7, flipper_length_mm: 181, body_mass_g: 3750, sex: "MALE" };
      const inputs = Object.entries(row).map(([name, v]) =>
        typeof v === "string" ? typedInput(name, "BYTES", "bytes_contents", [Buffer.from(v)]) : typedInput(name, "FP64", "fp64_contents", [v]),
      );
      const answer = await client.call("ModelInfer", { model_name: "penguins", inputs });
      client.close();
      expect(answer.code, answer.details).toBe(0);
      expect(outputValues(answer.response, 0)).toEqual(["Adelie"]);
    } finally {
      expect(await stop(server)).toBe(0);
    }
  }, 240_000);
});
