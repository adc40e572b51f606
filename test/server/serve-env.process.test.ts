/**
 * Every `serve` flag also reads an environment variable (issue 19: manifests configure it the
 * Kubernetes way): a real `pipeserve serve` configured by PIPESERVE_* variables alone, a flag on
 * the command line winning over its variable, PIPESERVE_PORT over PORT; bad values are usage
 * errors naming the variable; --help lists them.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runMain, useBuiltBin } from "../fixtures/cli.js";
import { SIGNATURES, packageBehaviour } from "./fixtures/models.js";
import { ServeProcess } from "./fixtures/server-process.js";
import { freePort } from "../e2e/helpers.js";

useBuiltBin();

let dir: string;
const running: ServeProcess[] = [];

beforeAll(async () => {
  dir = await packageBehaviour("row_count", SIGNATURES.ab);
}, 120_000);

afterAll(async () => {
  await Promise.all(running.map((p) => p.stop()));
});

const TWO_ROWS = JSON.stringify({
  dataframe_split: {
    columns: ["a", "b"],
    data: [
      [1, 0.5],
      [2, 1.5],
    ],
  },
});

describe("serve configured by environment variables", () => {
  it("takes PIPESERVE_* for flags not given, the flag when given, and PIPESERVE_PORT over PORT", async () => {
    const port = await freePort();
    const server = new ServeProcess(["serve", "-m", dir, "--model-name", "from-flag"], {
      PIPESERVE_PORT: String(port),
      // NB: not even read when PIPESERVE_PORT is set: a bad PORT failed the start, naming --port.
      PORT: "abc",
      PIPESERVE_HOST: "127.0.0.1",
      PIPESERVE_MAX_ROWS: "1",
      PIPESERVE_MODEL_NAME: "from-env",
      PIPESERVE_UI: "false",
      PIPESERVE_LOG_LEVEL: "warn",
      PIPESERVE_WATCH: "0",
    });
    running.push(server);
    const { url } = await server.serving();
    expect(url).toBe(`http://127.0.0.1:${port}`);
    const refused = await fetch(`${url}/invocations`, { method: "POST", headers: { "Content-Type": "application/json" }, body: TWO_ROWS });
    expect(refused.status).toBe(413);
    expect(await refused.text()).toContain("--max-rows");
    expect((await fetch(`${url}/v2/models/from-flag/ready`)).status).toBe(200);
    expect((await fetch(`${url}/v2/models/from-env/ready`)).status).toBe(404);
    expect((await fetch(`${url}/`)).status).toBe(404);
    // At warn, requests write no access-log lines (the "Serving" line is logged whatever the level).
    await new Promise((r) => setTimeout(r, 200));
    expect(server.logs().filter((l) => l.msg === "request")).toEqual([]);
  });
});

describe("serve --no-ui", () => {
  it("serves no page at / (nor its script), and the routes as ever", async () => {
    const server = new ServeProcess(["serve", "-m", dir, "-p", "0", "--no-ui"]);
    running.push(server);
    const { url } = await server.serving();
    for (const path of ["/", "/ui/page.js"]) expect((await fetch(`${url}${path}`)).status, path).toBe(404);
    expect((await fetch(`${url}/metadata`)).status).toBe(200);
    expect((await fetch(`${url}/openapi.json`)).status).toBe(200);
  });
});

describe("bad values are usage errors naming the variable (exit 2)", () => {
  it.each([
    ["PIPESERVE_WORKERS", "two", 'PIPESERVE_WORKERS must be a whole number, got "two".'],
    ["PIPESERVE_PORT", "70000", "PIPESERVE_PORT must be between 0 and 65535, got 70000."],
    ["PORT", "abc", 'PORT must be a whole number, got "abc".'],
    ["PIPESERVE_MAX_BODY", "lots", "PIPESERVE_MAX_BODY must be a size such as 100mb"],
    ["PIPESERVE_UI", "maybe", 'PIPESERVE_UI must be true or false (1/0, yes/no), got "maybe".'],
    ["PIPESERVE_WATCH", "soon", "PIPESERVE_WATCH must be a number of seconds, 0 or more"],
    ["PIPESERVE_LOG_LEVEL", "loud", 'PIPESERVE_LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent; got "loud".'],
    // MLflow's own variable, read below PIPESERVE_TIMEOUT: a bad value is refused, not a silent 60 s.
    ["MLFLOW_SCORING_SERVER_REQUEST_TIMEOUT", "x", 'MLFLOW_SCORING_SERVER_REQUEST_TIMEOUT must be a positive number of seconds, got "x".'],
  ])("%s=%s", async (name, value, message) => {
    const result = await runMain(["serve", "-m", "./nowhere"], { env: { [name]: value } });
    expect(result.code).toBe(2);
    expect(result.stderr.toString()).toContain(message);
  });

  it("--help lists the variables", async () => {
    const help = (await runMain(["serve", "--help"])).stdout.toString();
    for (const name of ["PIPESERVE_PORT", "PIPESERVE_WORKERS", "PIPESERVE_MAX_ROWS", "PIPESERVE_UI", "PIPESERVE_ALLOW_PARTIAL_START", "MODEL_URI"]) {
      expect(help, name).toContain(name);
    }
  });
});
