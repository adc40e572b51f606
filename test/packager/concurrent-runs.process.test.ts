// Two `pipeserve run` processes training one project at once (issue 14 #7), meeting before each
// stage so that every save of one run falls between the other's save and its read-back or
// packaging: each packaged model must still be exactly what its own run trained. The many-round
// version with four processes is test/reliability/concurrent-training.test.ts.
import { expect, it } from "vitest";
import { useBuiltBin } from "../fixtures/cli.js";
import { copyProject, tempDir } from "./helpers.js";
import { expectOwnModel, expectWholeCatalogFiles, trainInProcesses } from "./paired-runs.js";

useBuiltBin();

it("two processes training one project at once each package their own preprocessor and model", async () => {
  const project = await copyProject("paired");
  const tracking = await tempDir("pipeserve-tracking-");
  const scales = [1, 2];
  const runs = await trainInProcesses(project, tracking, await tempDir("pipeserve-barrier-"), scales);
  expect([...runs.keys()]).toEqual(scales);
  for (const [scale, runId] of runs) await expectOwnModel(tracking, runId, scale);
  await expectWholeCatalogFiles(project, scales);
});
