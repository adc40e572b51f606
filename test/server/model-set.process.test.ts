/**
 * `pipeserve serve -m NAME=URI -m NAME=URI` as the built bin (issue 17, several models): a
 * registered model followed through its alias beside a model folder, each served under its name,
 * the alias moved and swapped in on SIGHUP for that model alone; a model that fails to load stops
 * start-up naming it, or with --allow-partial-start is served as not ready; and the command line's
 * mistakes are usage errors.
 */
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runProject } from "../../src/index.js";
import { runMain, useBuiltBin } from "../fixtures/cli.js";
import { tempDir } from "../batch/helpers.js";
import { SIGNATURES, packageBehaviour } from "./fixtures/models.js";
import { CLI, REPO, ServeProcess } from "./fixtures/server-process.js";

useBuiltBin();

// NB: the scaler over plain columns: each server process would otherwise load danfojs (~3 s of CPU).
const SCALER = join(REPO, "test", "fixtures", "projects", "scaler-columns");
/** A row version 1 of the scaler labels 1, and version 2 (margin 100) labels 0. */
const X_BODY = JSON.stringify({ dataframe_split: { columns: ["x"], data: [[4.449]] } });
const AB_BODY = JSON.stringify({ dataframe_split: { columns: ["a", "b"], data: [[1, 0.5]] } });

let tracking: string;
let counterDir: string;
const running: ServeProcess[] = [];

function cli(...args: string[]): string {
  return execFileSync(process.execPath, [CLI, ...args, "--tracking-uri", tracking], { cwd: REPO, encoding: "utf8" });
}

function serve(args: readonly string[]): ServeProcess {
  const p = new ServeProcess(["serve", "-p", "0", "--tracking-uri", tracking, ...args]);
  running.push(p);
  return p;
}

async function post(url: string, body: string): Promise<{ status: number; version: string | null; body: any }> {
  const res = await fetch(url, { method: "POST", headers: { "Content-Type": "application/json" }, body });
  const text = await res.text();
  return { status: res.status, version: res.headers.get("x-pipeserve-model-version"), body: JSON.parse(text) };
}

beforeAll(async () => {
  tracking = await tempDir("pipeserve-model-set-");
  for (const params of [[], ["margin=100"]]) {
    const result = await runProject({ projectDir: SCALER, pipelineName: "training", trackingUri: tracking, params, typecheck: false });
    if (!result.modelUri) throw new Error("the scaler packaged no model");
  }
  cli("models", "alias", "scaler-model", "champion", "1");
  counterDir = await packageBehaviour("row_count", SIGNATURES.ab);
}, 120_000);

afterAll(async () => {
  await Promise.all(running.map((p) => p.stop()));
});

describe("serve -m scaler=models:/scaler-model@champion -m counter=FOLDER", () => {
  it("serves each by name, follows the alias of one on SIGHUP, and stops cleanly", async () => {
    const server = serve(["-m", "scaler=models:/scaler-model@champion", "-m", `counter=${counterDir}`, "--watch", "0"]);
    const { url } = await server.serving();
    const line = server.logs().find((l) => l.msg === "Serving");
    expect(line?.["models"]).toEqual([
      { name: "scaler", uri: "models:/scaler-model@champion", version: "1", ready: true },
      { name: "counter", uri: counterDir, ready: true },
    ]);

    const scaler = await post(`${url}/models/scaler/invocations`, X_BODY);
    expect(scaler).toMatchObject({ status: 200, version: "1", body: { predictions: [expect.objectContaining({ label: 1 })] } });
    expect(await post(`${url}/invocations`, X_BODY)).toMatchObject({ status: 200, version: "1" });
    expect(await post(`${url}/models/counter/invocations`, AB_BODY)).toMatchObject({ status: 200, body: { predictions: [1] } });
    const index = async (): Promise<unknown> => (await fetch(`${url}/v2/repository/index`)).json();
    expect(await index()).toEqual([{ name: "scaler", version: "1", state: "READY", reason: "" }, expect.objectContaining({ name: "counter", state: "READY" })]);

    cli("models", "alias", "scaler-model", "champion", "2");
    server.child.kill("SIGHUP");
    await server.waitForLogs("the swap", (lines) => lines.find((l) => l["model"] === "scaler" && String(l.msg).startsWith("Serving version 2")), 30_000);
    expect(await post(`${url}/models/scaler/invocations`, X_BODY)).toMatchObject({
      status: 200,
      version: "2",
      body: { predictions: [expect.objectContaining({ label: 0 })] },
    });
    expect(await post(`${url}/models/counter/invocations`, AB_BODY)).toMatchObject({ status: 200, body: { predictions: [1] } });
    expect(await index()).toEqual([{ name: "scaler", version: "2", state: "READY", reason: "" }, expect.objectContaining({ name: "counter", state: "READY" })]);
    // The versioned Open Inference routes answer for the version served now, and only for it.
    const v2 = `${url}/v2/models/scaler/versions/2`;
    expect(await (await fetch(v2)).json()).toMatchObject({ name: "scaler", versions: ["2"] });
    expect((await fetch(`${v2}/ready`)).status).toBe(200);
    const infer = await post(`${v2}/infer`, JSON.stringify({ inputs: [{ name: "x", shape: [1], datatype: "FP64", data: [4.449] }] }));
    expect(infer).toMatchObject({ status: 200, version: "2", body: { model_name: "scaler", model_version: "2" } });
    expect((await fetch(`${url}/v2/models/scaler/versions/1`)).status).toBe(404);
    expect(
      (await post(`${url}/v2/models/scaler/versions/1/infer`, JSON.stringify({ inputs: [{ name: "x", shape: [1], datatype: "FP64", data: [4.449] }] }))).status,
    ).toBe(404);
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toMatch(/pipeserve_model_swaps_total\{result="swapped",model="scaler"\} 1/);
    expect(metrics).toMatch(/pipeserve_model_served\{version="2",model="scaler"\} 1/);
    expect(metrics).toMatch(/pipeserve_prediction_rows_total\{model="counter"\} 2/);

    server.child.kill("SIGTERM");
    expect((await server.exited).code).toBe(0);
  });
});

describe("a model that fails to load", () => {
  it("stops start-up with its name, the reason and the way to start anyway: exit 1", async () => {
    const server = serve(["-m", `counter=${counterDir}`, "-m", "broken=models:/no-such-model/1"]);
    const exit = await server.exited;
    expect(exit.code).toBe(1);
    expect(server.stderr).toMatch(/^pipeserve: Cannot load model "broken" \(models:\/no-such-model\/1\): .+[^.]\. Fix it, or start with --allow-partial-start/);
    expect(server.stderr).toContain("--allow-partial-start");
    expect(server.stdout).not.toContain('"Serving"');
  });

  it("with --allow-partial-start the others serve; it is reported not ready", async () => {
    const server = serve(["-m", "broken=models:/no-such-model/1", "-m", `counter=${counterDir}`, "--allow-partial-start"]);
    const { url } = await server.serving();
    expect(server.logs().find((l) => l.msg === "Serving")?.["models"]).toEqual([
      { name: "broken", uri: "models:/no-such-model/1", ready: false },
      { name: "counter", uri: counterDir, ready: true },
    ]);
    expect(server.logs().find((l) => l.level === 50 && l["model"] === "broken")?.msg).toMatch(/"broken" failed to load/);
    expect(await post(`${url}/models/counter/invocations`, AB_BODY)).toMatchObject({ status: 200 });
    const broken = await post(`${url}/invocations`, AB_BODY);
    expect(broken.status).toBe(503);
    expect(broken.body.message).toMatch(/^Model "broken" \(models:\/no-such-model\/1\) is not ready: it failed to load/);
    expect((await fetch(`${url}/v2/models/broken/ready`)).status).toBe(503);
    // A series says which models loaded, for an alert on the one that did not.
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toContain('pipeserve_model_loaded{model="broken"} 0');
    expect(metrics).toContain('pipeserve_model_loaded{model="counter"} 1');
    expect((await fetch(`${url}/v2/health/ready`)).status).toBe(200);
  });
});

describe("command-line mistakes are usage errors (exit 2)", () => {
  it.each([
    [["-m", "a=x", "-m", "y"], '-m "y" has no name'],
    [["-m", "a=x", "-m", "a=y"], 'Two models are named "a"'],
    [["-m", "a="], "has no URI"],
    [["-m", "=models:/penguins/1"], '-m "=models:/penguins/1": "" is not a model name'],
    [["-m", "b c=models:/penguins/1"], '"b c" is not a model name. A name starts with a letter or digit'],
    [["-m", "a=x", "-m", "-x=y"], '"-x" is not a model name'],
    [["-m", "x", "--allow-partial-start"], "--allow-partial-start is for several named models"],
    [["-m", "a=x", "-m", "b=y", "--model-name", "z"], "--model-name names a single model"],
  ])("serve %j", async (args, message) => {
    const result = await runMain(["serve", ...args]);
    expect(result.code).toBe(2);
    expect(result.stderr.toString()).toContain(message);
  });

  it("--help describes several models and --allow-partial-start", async () => {
    const help = (await runMain(["serve", "--help"])).stdout.toString();
    expect(help).toContain("NAME=URI");
    expect(help).toContain("/models/NAME/invocations");
    expect(help).toContain("--allow-partial-start");
  });
});
