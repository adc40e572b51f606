// A loaded model predicts what its inference pipeline computes when run directly, validates params
// against its signature, runs only runners on its allow-list, and exposes its signature, metadata
// and input example.
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  DataCatalog,
  JsonArtifactDataset,
  ModelLoadError,
  PipelineML,
  RunnerNotAllowedError,
  SchemaError,
  SequentialRunner,
  loadModel,
  loadProject,
  pipeserveVersion,
  tableFromColumns,
  type PipelineModel,
  type Runner,
} from "../../src/index.js";
import { toInputType } from "../../src/tabular/index.js";
import { SCALER_PROJECT, expectedScaler, rejects, scalerBody, tempDir, useScalerModel } from "./helpers.js";

const trained = useScalerModel();
// z-scores straddle the cut, and x = 3 flips from 1 to 0 between margin 0 and margin 1.
const XS = [0.5, 3, 4];
let model: PipelineModel;

beforeAll(async () => {
  model = await loadModel(trained().modelUri, { trackingUri: trained().trackingDir });
});
afterAll(async () => {
  await model?.close();
});

const expected = (margin = 0) => expectedScaler(trained().modelDir, XS, margin);

describe("params", () => {
  it("the margin makes a difference for these inputs (so the checks below mean something)", async () => {
    expect((await expected(0)).columns[0]).toEqual([0, 1, 1]);
    expect((await expected(1)).columns[0]).toEqual([0, 0, 1]);
  });

  it.each([
    ["absent", undefined],
    ["null", null],
    ["an empty object", {}],
    ["margin: null", { margin: null }],
  ])("%s → every param takes its default (margin 0.0)", async (_why, params) => {
    const info = await model.predictWithInfo(scalerBody(XS), params === undefined ? {} : { params });
    expect(info.output).toEqual(await expected(0));
    expect(info.ignoredParams).toEqual([]);
    expect(info.runner).toBe("SequentialRunner");
  });

  it.each([
    ["an integer for the double param", 1, 1],
    ["a double", 1.0, 1],
    ["a negative double", -0.5, -0.5],
  ])("%s is accepted (%j)", async (_why, margin, effective) => {
    expect(await model.predict(scalerBody(XS), { params: { margin } })).toEqual(await expected(effective));
  });

  it.each([
    ["a string for a number", { margin: "1" }, "Failed to validate type and shape for 'margin': double (default: 0.0), error: "],
    ["a boolean for a number", { margin: true }, "got true (a boolean), expected a number"],
    ["a list for a scalar", { margin: [1] }, "Value must be a scalar for type `double`"],
    [
      "a number for the runner",
      { runner: 5 },
      "for 'runner': string (default: SequentialRunner), error: Can not safely convert `<class 'int'>` to `string` for value `5`",
    ],
    ["two bad values at once", { margin: "x", runner: false }, /for 'margin': .*; Failed to validate type and shape for 'runner': .*got false/],
  ])("%s → SchemaError starting 'Invalid parameters found'", async (_why, params, message) => {
    const error = await rejects(model.predict(scalerBody(XS), { params }), SchemaError, /^Invalid parameters found: /, message);
    expect(error.code).toBe("INVALID_PARAMETER_VALUE");
  });

  it("params that are not an object → SchemaError", async () => {
    await rejects(
      model.predict(scalerBody(XS), { params: [1] as unknown as Record<string, unknown> }),
      SchemaError,
      "Parameters must be a dictionary. Got type 'list'.",
    );
  });

  it("unknown params are ignored and reported in ignoredParams", async () => {
    const info = await model.predictWithInfo(scalerBody(XS), { params: { marign: 1, threshold: 0.5, margin: 1 } });
    expect(info.ignoredParams).toEqual(["marign", "threshold"]);
    expect(info.output).toEqual(await expected(1));
  });

  it("params come from an MLflow JSON body (object or text)", async () => {
    const body = scalerBody(XS, { margin: 1, junk: "x" });
    for (const input of [body, JSON.stringify(body)]) {
      const info = await model.predictWithInfo(input);
      expect(info.output).toEqual(await expected(1));
      expect(info.ignoredParams).toEqual(["junk"]);
    }
  });

  it("the params option wins over the body's params", async () => {
    expect(await model.predict(scalerBody(XS, { margin: 1 }), { params: { margin: 0 } })).toEqual(await expected(0));
  });

  it("a bad param in the body is rejected like one in the option", async () => {
    await rejects(model.predict(scalerBody(XS, { margin: "1" })), SchemaError, /^Invalid parameters found: Failed to validate type and shape for 'margin'/);
  });
});

describe("runners", () => {
  it.each(["SequentialRunner", "ConcurrentRunner", "WorkerRunner"])("%s gives the same output", async (runner) => {
    const viaOption = await model.predictWithInfo(scalerBody(XS), { runner, params: { margin: 1 } });
    expect(viaOption.output).toEqual(await expected(1));
    expect(viaOption.runner).toBe(runner);
    const viaParam = await model.predictWithInfo(scalerBody(XS, { runner }));
    expect(viaParam.output).toEqual(await expected(0));
    expect(viaParam.runner).toBe(runner);
  });

  it("a custom runner allowed at load time works by name", async () => {
    const seq = new SequentialRunner();
    let runs = 0;
    const counting: Runner = {
      name: "CountingRunner",
      run: (pipeline, catalog, options) => {
        runs++;
        return seq.run(pipeline, catalog, options);
      },
    };
    const custom = await loadModel(trained().modelDir, { runners: { MyRunner: new SequentialRunner(), Counting: counting } });
    try {
      expect(custom.runnerNames).toEqual(["SequentialRunner", "ConcurrentRunner", "WorkerRunner", "MyRunner", "Counting"]);
      const mine = await custom.predictWithInfo(scalerBody(XS), { runner: "MyRunner" });
      expect(mine.output).toEqual(await expected(0));
      expect(mine.runner).toBe("MyRunner");
      expect(await custom.predict(scalerBody(XS, { runner: "Counting", margin: 1 }))).toEqual(await expected(1));
      expect(runs).toBe(1);
      // Another model knows nothing of them.
      await rejects(model.predict(scalerBody(XS), { runner: "MyRunner" }), RunnerNotAllowedError, 'Runner "MyRunner" is not allowed.');
    } finally {
      await custom.close();
    }
  });

  it("a custom runner may not take a built-in name", async () => {
    const error = await rejects(
      loadModel(trained().modelDir, { runners: { WorkerRunner: new SequentialRunner() } }),
      ModelLoadError,
      "Extra runners may not reuse the built-in names [WorkerRunner].",
    );
    expect(error.code).toBe("INVALID_RUNNER");
  });

  describe("hostile runner names are refused without importing anything", () => {
    let evilModule: string;
    const FLAG = "__pipeserveEvilRunnerImported";
    beforeAll(async () => {
      evilModule = join(await tempDir("pipeserve-evil-"), "evil.mjs");
      await writeFile(evilModule, `globalThis.${FLAG} = true;\nexport class EvilRunner { name = "EvilRunner"; async run() { return {}; } }\n`);
    });

    const hostile: [string, () => string][] = [
      ["a relative module path", () => "../x.mjs#Y"],
      ["an absolute file", () => "/etc/passwd"],
      ["a data: URL", () => "data:text/javascript,process.exit(1)"],
      ["a data: URL with a side effect", () => `data:text/javascript,globalThis.${FLAG}=true`],
      ["a node: builtin", () => "node:fs"],
      ["a bare package", () => "yaml"],
      ["constructor", () => "constructor"],
      ["__proto__", () => "__proto__"],
      ["toString", () => "toString"],
      ["hasOwnProperty", () => "hasOwnProperty"],
      ["the empty string", () => ""],
      ["a built-in name in another case", () => "sequentialrunner"],
      ["a built-in name with a space", () => "SequentialRunner "],
      ["a real module with a runner export", () => `${evilModule}#EvilRunner`],
      ["its file:// URL", () => `${pathToFileURL(evilModule).href}#EvilRunner`],
    ];

    it.each(hostile)("%s → RunnerNotAllowedError listing the allowed names", async (_why, name) => {
      const globalsBefore = Object.getOwnPropertyNames(globalThis).sort();
      const allowed = "Use one of: SequentialRunner, ConcurrentRunner, WorkerRunner.";
      for (const attempt of [
        () => model.predict(scalerBody(XS), { runner: name() }),
        () => model.predict(scalerBody(XS), { params: { runner: name() } }),
        () => model.predict(scalerBody(XS, { runner: name() })),
      ]) {
        const error = await rejects(attempt(), RunnerNotAllowedError, `Runner ${JSON.stringify(name())} is not allowed. ${allowed}`);
        expect(error.code).toBe("INVALID_PARAMETER_VALUE");
      }
      expect(() => model.runner(name())).toThrow(RunnerNotAllowedError);
      expect(() => model.runner(name())).toThrow(allowed);
      // Nothing was imported or run: no new globals, no flag, and the model still serves.
      expect(Object.getOwnPropertyNames(globalThis).sort()).toEqual(globalsBefore);
      expect((globalThis as Record<string, unknown>)[FLAG]).toBeUndefined();
      expect(Object.hasOwn(Object.prototype, "polluted")).toBe(false);
      expect(await model.predict(scalerBody(XS))).toEqual(await expected(0));
    });
  });
});

describe("the packaged model against its pipeline run directly", () => {
  it.each([0, 0.5, 1])("margin %s: predict equals running the project's inference pipeline with SequentialRunner", async (margin) => {
    const project = await loadProject(SCALER_PROJECT);
    const ml = project.pipelines["training"];
    expect(ml).toBeInstanceOf(PipelineML);
    const { inference, inputName, outputName } = ml as PipelineML;
    const artifacts = join(trained().modelDir, "artifacts");
    const catalog = new DataCatalog(
      {
        scaler: new JsonArtifactDataset({ filepath: join(artifacts, "scaler.json") }),
        model: new JsonArtifactDataset({ filepath: join(artifacts, "model.json") }),
      },
      { params: { margin } },
    );
    const input = tableFromColumns({ x: XS });
    const direct = await new SequentialRunner().run(inference, catalog.derive({ feed: { [inputName]: toInputType(input, "dataframe") } }));
    const packaged = await model.predict(input, { params: { margin } });
    expect(packaged).toEqual(direct[outputName]);
    expect(packaged).toEqual(await expected(margin));
  });
});

describe("what a loaded model exposes", () => {
  it("its signature, with the params schema and the runner param", () => {
    expect(model.signature).toEqual({
      inputs: [{ type: "double", name: "x", required: true }],
      outputs: [
        // NB: JS numbers are inferred double; the project declares its labels long (logModel.signature.outputs).
        { type: "long", name: "label", required: true },
        { type: "double", name: "score", required: true },
      ],
      params: [
        { name: "margin", type: "double", default: 0, shape: null },
        { name: "runner", type: "string", default: "SequentialRunner", shape: null },
      ],
    });
  });

  it("its metadata: run id, model uuid, creation time, flavor", () => {
    expect(model.metadata).toEqual({
      runId: trained().runId,
      // The MLflow 3 LoggedModel the run logged: model_uuid is its id, artifact_path its location.
      modelUuid: expect.stringMatching(/^m-[0-9a-f]{32}$/),
      modelId: model.metadata.modelUuid,
      utcTimeCreated: expect.stringMatching(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}$/),
      artifactPath: pathToFileURL(trained().modelDir).href,
      pipeserveVersion: pipeserveVersion(),
      flavor: {
        code: "code/pipeline.mjs",
        column_arrays: "typed",
        copy_mode: "assign",
        env: "environment.json",
        format_version: 1,
        input_name: "instances",
        input_type: "dataframe",
        output_name: "predictions",
        pipeline: "pipeline.json",
        pipeserve_version: pipeserveVersion(),
        row_wise: true,
        runner: "SequentialRunner",
      },
    });
  });

  it("its shape: input and output names, input type, default runner, packaged parameters", () => {
    expect(model).toMatchObject({
      uri: trained().modelUri,
      dir: trained().modelDir,
      inputName: "instances",
      outputName: "predictions",
      inputType: "dataframe",
      rowWise: true,
      defaultRunner: "SequentialRunner",
      parameters: { margin: 0 },
    });
    expect(model.pipeline.nodes.map((n) => n.name)).toEqual(["predict"]);
  });

  it("its input example: the first rows of the training input, which predict as they are", async () => {
    const csv = (await readFile(join(SCALER_PROJECT, "data", "raw.csv"), "utf8")).trim().split("\n").slice(1, 6);
    expect(model.inputExample).toEqual({ columns: ["x"], data: csv.map((line) => [Number(line.split(",")[0])]) });
    const xs = (model.inputExample?.data ?? []).map((row) => row[0] as number);
    expect(await model.predict({ dataframe_split: model.inputExample })).toEqual(await expectedScaler(trained().modelDir, xs));
  });

  it("serving_input_example.json is a ready request body", async () => {
    const body = await readFile(join(trained().modelDir, "serving_input_example.json"), "utf8");
    const info = await model.predictWithInfo(body);
    expect(info.rows).toBe(5);
    expect(info.ignoredParams).toEqual([]);
    expect(info.runner).toBe("SequentialRunner");
  });
});
