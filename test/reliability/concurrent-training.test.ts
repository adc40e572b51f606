// Many rounds of four `pipeserve run` processes training one project at once (issue 14 #7: two
// runs packaged each other's artifacts in 5 of 5 rounds). The runs meet before each stage, so
// every run's files are overwritten at the catalog's paths by the others before it reads them
// back and before it packages; every packaged model must still be exactly what its own run
// trained, and the catalog's paths must hold whole files of one run each.
import { expect, it } from "vitest";
import { useBuiltBin } from "../fixtures/cli.js";
import { copyProject, tempDir } from "../packager/helpers.js";
import { expectOwnModel, expectWholeCatalogFiles, trainInProcesses } from "../packager/paired-runs.js";

const RUNS = 4;
const ROUNDS = 10;

useBuiltBin();

it(`${ROUNDS} rounds of ${RUNS} concurrent trainings of one project: each model is what its own run trained`, async () => {
  const project = await copyProject("paired");
  const tracking = await tempDir("pipeserve-tracking-");
  for (let round = 0; round < ROUNDS; round++) {
    const scales = Array.from({ length: RUNS }, (_, i) => round * RUNS + i + 1);
    const runs = await trainInProcesses(project, tracking, await tempDir(`pipeserve-barrier-${round}-`), scales);
    expect([...runs.keys()]).toEqual(scales);
    for (const [scale, runId] of runs) await expectOwnModel(tracking, runId, scale);
    await expectWholeCatalogFiles(project, scales);
  }
});
