// The built `pipeserve` as a real process over the FileStore MLflow 3.6 wrote
// (test/fixtures/mlflow-reference, copied with /ROOT rewritten): `serve -m
// models:/penguins-via-mlflow/1` serves the pipeserve model MLflow registered (`source`: the run's
// absolute file:// artifact URI) over real HTTP; `serve`, `predict` and `inspect` of
// `models:/ref@champion` (`source`: models:/m-…, an MLflow 3 LoggedModel holding a pyfunc model)
// reach the LoggedModel and exit 1 saying it has no pipeserve flavor, naming the one it has.
import { readFile, rm } from "node:fs/promises";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { copyReferenceStore, REFERENCE, type ReferenceStore } from "../fixtures/mlflow-reference.js";
import { http, ServeProcess } from "../server/fixtures/server-process.js";
import { runBin, useBuiltBin } from "./helpers.js";

useBuiltBin();

let ref: ReferenceStore;
let importedModel: string;
let loggedModel: string;

beforeAll(async () => {
  ref = await copyReferenceStore();
  importedModel = join(ref.mlruns, REFERENCE.experimentId, REFERENCE.importRunId, "artifacts", "model");
  loggedModel = join(ref.mlruns, REFERENCE.experimentId, "models", REFERENCE.modelId, "artifacts");
});

afterAll(async () => {
  await rm(dirname(ref.root), { recursive: true, force: true });
});

describe("serve -m models:/penguins-via-mlflow/1", () => {
  it("serves the pipeserve model MLflow registered, over HTTP, and predicts its own serving example", async () => {
    const server = new ServeProcess(["serve", "-m", "models:/penguins-via-mlflow/1", "-p", "0", "--tracking-uri", ref.mlruns]);
    try {
      const { url } = await server.serving();
      expect((await http(`${url}/ping`)).status).toBe(200);
      const body = await readFile(join(importedModel, "serving_input_example.json"), "utf8");
      const res = await http(`${url}/invocations`, { body, headers: { "Content-Type": "application/json" } });
      expect(res.status, res.body).toBe(200);
      const { predictions } = JSON.parse(res.body) as { predictions: { species: string; probability: number }[] };
      expect(predictions.map((p) => p.species)).toEqual(["Adelie", "Gentoo", "Gentoo", "Gentoo", "Chinstrap"]);
      for (const p of predictions) expect(p.probability).toBeGreaterThan(0.5);
      const meta = JSON.parse((await http(`${url}/metadata`)).body) as Record<string, unknown>;
      expect(meta).toMatchObject({ name: "penguins-via-mlflow", version: "1", run_id: expect.any(String) });
    } finally {
      await server.stop();
    }
  }, 60_000);
});

describe("models:/ref@champion: an MLflow 3 LoggedModel holding a pyfunc model", () => {
  const refusal = `pipeserve: The model at ${"<dir>"} has no pipeserve flavor (it has: python_function); pipeserve serves models packaged by pipeserve.\n`;

  it.each([
    ["serve", ["serve", "-m", "models:/ref@champion", "-p", "0"]],
    ["predict", ["predict", "-m", "models:/ref@champion", "-i", "-", "-t", "csv", "-o", "-"]],
    ["inspect", ["inspect", "-m", "models:/ref@champion"]],
  ])(
    "%s exits 1 with one line: the LoggedModel's folder has no pipeserve flavor",
    async (_command, args) => {
      const r = await runBin([...args, "--tracking-uri", ref.mlruns], { stdin: "island\nBiscoe\n" });
      expect(r.code, r.stderr.toString()).toBe(1);
      expect(r.stderr.toString()).toBe(refusal.replace("<dir>", loggedModel));
      expect(r.stderr.toString()).not.toContain("points at another registered model");
    },
    60_000,
  );
});
