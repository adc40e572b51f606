// `pipeserve serve` of a deleted run's model, as a real process (issue 21): refused at start-up with
// exit 1 and one line that names the run and both ways on; served with --allow-deleted.
import { join } from "node:path";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { runProject } from "../../src/index.js";
import { ServeProcess, invoke } from "../server/fixtures/server-process.js";
import { copyProject, ok, runBin, tempDir, useBuiltBin } from "./helpers.js";

useBuiltBin();
let tracking: string;
let runId: string;
let server: ServeProcess | undefined;

beforeAll(async () => {
  tracking = join(await tempDir("pipeserve-housekeeping-serve-"), "mlruns");
  runId = (await runProject({ projectDir: await copyProject("linear"), pipelineName: "training", trackingUri: tracking, typecheck: false })).runId;
  await ok(["runs", "delete", runId, "--tracking-uri", tracking]);
}, 60_000);

afterEach(async () => {
  await server?.stop();
  server = undefined;
});

describe("serve -m <a deleted run's model>", () => {
  it("exits 1 naming the run, `runs restore` and --allow-deleted", async () => {
    const r = await runBin(["serve", "-m", `runs:/${runId}/model`, "--port", "0", "--tracking-uri", tracking]);
    expect(r.code).toBe(1);
    const stderr = r.stderr.toString("utf8");
    expect(stderr).toContain(`belongs to run ${runId}, which was deleted`);
    expect(stderr).toContain(`pipeserve runs restore ${runId}`);
    expect(stderr).toContain("--allow-deleted");
    expect(stderr).not.toMatch(/^\s+at /m);
  });

  it("with --allow-deleted, serves it", async () => {
    server = new ServeProcess(["serve", "-m", "models:/linear-model/1", "--port", "0", "--allow-deleted", "--tracking-uri", tracking]);
    const { url } = await server.serving();
    const answer = await invoke(url, { dataframe_records: [{ x: 1, group: "a" }] });
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body).predictions).toHaveLength(1);
  });
});
