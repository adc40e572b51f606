// A broken model directory fails to load with a ModelLoadError that names the file and the field
// (or the package, or the node), so the operator knows what to fix. Each test breaks a copy of a
// freshly trained model.
import { copyFile, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ModelLoadError, loadModel, pipeserveVersion } from "../../src/index.js";
import { copyModel, editJson, editMLmodel, expectedScaler, rejects, scalerBody, useScalerModel } from "./helpers.js";

const trained = useScalerModel();

type Edit = (dir: string) => Promise<void>;

const removeFile =
  (file: string): Edit =>
  (dir) =>
    rm(join(dir, file));
const flavor =
  (fn: (f: Record<string, any>) => void): Edit =>
  (dir) =>
    editMLmodel(dir, (m) => fn(m.flavors.pipeserve));
const pipelineJson =
  (fn: (p: Record<string, any>) => void): Edit =>
  (dir) =>
    editJson(join(dir, "pipeline.json"), fn);
const environmentJson =
  (fn: (e: Record<string, any>) => void): Edit =>
  (dir) =>
    editJson(join(dir, "environment.json"), fn);

/** Loads a broken copy and checks the error's class, code and message. */
async function expectLoadError(edit: Edit, code: string, messages: (string | RegExp)[]): Promise<ModelLoadError> {
  const dir = await copyModel(trained().modelDir, edit);
  const error = await rejects(loadModel(dir), ModelLoadError, ...messages);
  expect(error.code).toBe(code);
  return error;
}

describe("missing files", () => {
  it.each([
    ["MLmodel", removeFile("MLmodel"), "MISSING_FILE", /The model at .* has no MLmodel\./],
    ["pipeline.json", removeFile("pipeline.json"), "MISSING_FILE", /The model at .* has no pipeline\.json\./],
    ["environment.json", removeFile("environment.json"), "MISSING_FILE", /The model at .* has no environment\.json\./],
    ["code/pipeline.mjs", removeFile("code/pipeline.mjs"), "MISSING_FILE", /The code bundle \(code\/pipeline\.mjs\) is missing from the model at/],
    ["artifacts/model.json", removeFile("artifacts/model.json"), "MISSING_FILE", /Artifact "model" \(artifacts\/model\.json\) is missing from the model at/],
  ] as const)("no %s → names the file", async (_file, edit, code, message) => {
    await expectLoadError(edit, code, [message]);
  });
});

describe("MLmodel", () => {
  it.each([
    ["invalid YAML", "flavors: [unclosed\n  pipeserve: {", /MLmodel of the model at .* is not valid YAML/],
    ["a YAML scalar instead of a mapping", "just some text\n", /MLmodel of the model at .* is invalid: \(top level\): .*object/],
    ["flavors as a list", "flavors:\n  - pipeserve\n", /MLmodel of the model at .* is invalid: flavors: /],
  ])("%s → INVALID_MODEL_FILE naming MLmodel", async (_why, text, message) => {
    await expectLoadError((dir) => writeFile(join(dir, "MLmodel"), text), "INVALID_MODEL_FILE", [message]);
  });

  it("without the pipeserve flavor → UNSUPPORTED_FLAVOR naming the flavors it has", async () => {
    await expectLoadError(
      (dir) =>
        editMLmodel(dir, (m) => {
          m.flavors = { python_function: { loader_module: "mlflow.sklearn" }, sklearn: { pickled_model: "model.pkl" } };
        }),
      "UNSUPPORTED_FLAVOR",
      ["has no pipeserve flavor (it has: python_function, sklearn)", "pipeserve serves models packaged by pipeserve"],
    );
  });

  it.each(["input_name", "output_name", "code", "copy_mode", "format_version"])("flavor without %s → names MLmodel and the field", async (field) => {
    await expectLoadError(
      flavor((f) => delete f[field]),
      "INVALID_MODEL_FILE",
      [/MLmodel \(flavors\.pipeserve\) of the model at .* is invalid: /, `${field}: `],
    );
  });

  it.each([
    ["copy_mode", "cpy", 'copy_mode: expected one of "assign", "copy", "deepcopy", or a map of dataset name → one of them'],
    ["copy_mode", { scaler: "cpy" }, 'copy_mode: expected one of "assign", "copy", "deepcopy"'],
    ["input_type", "pandas", /input_type: .*'dataframe' \| 'columns' \| 'records' \| 'arrow', received 'pandas'/],
    ["input_name", "", /input_name: /],
    ["row_wise", "yes please", /row_wise: .*boolean/],
    ["format_version", "1", /format_version: Expected number, received string/],
  ])("flavor with a bad %s (%j) → names the field and the accepted values", async (field, value, message) => {
    await expectLoadError(
      flavor((f) => {
        f[field] = value;
      }),
      "INVALID_MODEL_FILE",
      ["MLmodel (flavors.pipeserve)", message],
    );
  });

  it("an unknown flavor format_version → UNSUPPORTED_FORMAT_VERSION saying which versions are read", async () => {
    await expectLoadError(
      flavor((f) => {
        f.format_version = 2;
      }),
      "UNSUPPORTED_FORMAT_VERSION",
      [/MLmodel of the model at .* has pipeserve format_version 2; this pipeserve reads 1\. Upgrade pipeserve to serve it\./],
    );
  });

  it("an invalid signature → names MLmodel and the signature", async () => {
    await expectLoadError(
      (dir) =>
        editMLmodel(dir, (m) => {
          m.signature.inputs = '[{"type": "complex", "name": "x", "required": true}]';
        }),
      "INVALID_MODEL_FILE",
      [/MLmodel of the model at .* has an invalid signature: /, "complex"],
    );
  });

  it("ignores unknown top-level keys, other flavors and unknown files", async () => {
    const dir = await copyModel(trained().modelDir, async (d) => {
      await editMLmodel(d, (m) => {
        m.mlflow_version = "3.6.0";
        m.flavors.python_function = { loader_module: "pipeserve" };
      });
      await writeFile(join(d, "registered_model_meta"), "model_name: scaler-model\n");
    });
    const model = await loadModel(dir);
    expect(await model.predict(scalerBody([2]))).toEqual(await expectedScaler(dir, [2]));
    await model.close();
  });
});

describe("pipeline.json", () => {
  it.each(["nodes", "artifacts", "code", "input_name", "output_name", "format_version"])("without %s → names pipeline.json and the field", async (field) => {
    await expectLoadError(
      pipelineJson((p) => {
        delete p[field];
      }),
      "INVALID_MODEL_FILE",
      [/pipeline\.json of the model at .* is invalid: /, `${field}: Required`],
    );
  });

  it.each([
    ["code.sha256", (p: Record<string, any>) => delete p.code.sha256, "code.sha256: "],
    ["code.path", (p: Record<string, any>) => delete p.code.path, "code.path: "],
    ["an artifact's sha256", (p: Record<string, any>) => delete p.artifacts.model.sha256, "artifacts.model.sha256: "],
    ["an artifact's type", (p: Record<string, any>) => delete p.artifacts.scaler.type, "artifacts.scaler.type: "],
    ["a node's name", (p: Record<string, any>) => delete p.nodes[0].name, "nodes.0.name: "],
    ["a sha256 that is not hex", (p: Record<string, any>) => (p.code.sha256 = "xyz"), "code.sha256: "],
  ])("without (or with a bad) %s → names the field", async (_why, fn, field) => {
    await expectLoadError(pipelineJson(fn), "INVALID_MODEL_FILE", [/pipeline\.json of the model at .* is invalid: /, field]);
  });

  it("not JSON → INVALID_MODEL_FILE naming pipeline.json", async () => {
    await expectLoadError((dir) => writeFile(join(dir, "pipeline.json"), "{ not json"), "INVALID_MODEL_FILE", [
      /pipeline\.json of the model at .* is not valid JSON/,
    ]);
  });

  it("an unknown format_version → UNSUPPORTED_FORMAT_VERSION", async () => {
    await expectLoadError(
      pipelineJson((p) => {
        p.format_version = 99;
      }),
      "UNSUPPORTED_FORMAT_VERSION",
      [/pipeline\.json of the model at .* has format_version 99; this pipeserve reads 1\./],
    );
  });

  it("an input_name that disagrees with MLmodel → names both files", async () => {
    await expectLoadError(
      pipelineJson((p) => {
        p.input_name = "rows";
      }),
      "INVALID_MODEL_FILE",
      [/MLmodel and pipeline\.json of the model at .* disagree on the input or output name\./],
    );
  });

  it.each([
    ["an artifact path climbing out (../x)", (p: Record<string, any>) => (p.artifacts.model.path = "../x"), 'Artifact "model" has the path "../x"'],
    [
      "an artifact path climbing out midway",
      (p: Record<string, any>) => (p.artifacts.model.path = "artifacts/../../model.json"),
      'Artifact "model" has the path "artifacts/../../model.json"',
    ],
    ["an absolute artifact path", (p: Record<string, any>) => (p.artifacts.model.path = "/etc/passwd"), 'Artifact "model" has the path "/etc/passwd"'],
    ["a code path climbing out", (p: Record<string, any>) => (p.code.path = "../../x.mjs"), 'The code bundle has the path "../../x.mjs"'],
  ])("%s → rejected", async (_why, fn, message) => {
    await expectLoadError(pipelineJson(fn), "INVALID_MODEL_FILE", [message, "which points outside the model directory"]);
  });

  it.each(["EvilDataset", "MemoryDataset", "toString", "__proto__", "constructor"])(
    "an unknown artifact type (%s) → rejected, listing the known ones",
    async (type) => {
      await expectLoadError(
        pipelineJson((p) => {
          p.artifacts.model.type = type;
        }),
        "INVALID_MODEL_FILE",
        [
          `Artifact "model" has the unknown type "${type}". Known: JsonArtifactDataset, FolderArtifactDataset, BinaryDataset, CsvDataset, JsonDataset, ParquetDataset, ArrowDataset, OnnxModelDataset.`,
        ],
      );
    },
  );
});

describe("paths in MLmodel stay inside the model directory", () => {
  // Each copy has a valid file of that name just outside the model folder, so only the path check stops it.
  it.each([
    ["pipeline", "pipeline.json", "MLmodel's flavors.pipeserve.pipeline"],
    ["env", "environment.json", "MLmodel's flavors.pipeserve.env"],
  ])("flavor %s = ../%s → rejected", async (field, file, what) => {
    await expectLoadError(
      async (dir) => {
        await copyFile(join(dir, file), join(dir, "..", file));
        await editMLmodel(dir, (m) => {
          m.flavors.pipeserve[field] = `../${file}`;
        });
      },
      "INVALID_MODEL_FILE",
      [`${what} has the path "../${file}", which points outside the model directory`],
    );
  });

  it("saved_input_example_info.artifact_path = ../input_example.json → rejected", async () => {
    await expectLoadError(
      async (dir) => {
        await copyFile(join(dir, "input_example.json"), join(dir, "..", "input_example.json"));
        await editMLmodel(dir, (m) => {
          m.saved_input_example_info.artifact_path = "../input_example.json";
        });
      },
      "INVALID_MODEL_FILE",
      [`MLmodel's saved_input_example_info.artifact_path has the path "../input_example.json", which points outside the model directory`],
    );
  });
});

describe("graph check: the imported code must be the pipeline pipeline.json describes", () => {
  // pipeline.json has no sha256 of its own, so these edits pass every integrity check and reach the graph check.
  it.each([
    [
      "a renamed node",
      (p: Record<string, any>) => (p.nodes[0].name = "predict_v2"),
      ['node "predict_v2" is missing from the code', 'the code has node "predict", which pipeline.json does not list'],
    ],
    [
      "other node inputs",
      (p: Record<string, any>) => (p.nodes[0].inputs = ["instances", "scaler", "model", "params:threshold"]),
      ['node "predict" has other inputs or outputs than pipeline.json records'],
    ],
    [
      "other node outputs",
      (p: Record<string, any>) => (p.nodes[0].outputs = "labels"),
      ['node "predict" has other inputs or outputs than pipeline.json records'],
    ],
    [
      "an extra node",
      (p: Record<string, any>) => p.nodes.push({ name: "explain", inputs: ["predictions"], outputs: ["explanations"], tags: [] }),
      ['node "explain" is missing from the code'],
    ],
  ])("%s → GRAPH_MISMATCH", async (_why, fn, messages) => {
    await expectLoadError(pipelineJson(fn), "GRAPH_MISMATCH", [
      /The code of the model at .* does not match its pipeline\.json: /,
      ...messages,
      "Re-package the model.",
    ]);
  });
});

describe("environment.json", () => {
  it("a package that is not installed → ENVIRONMENT_MISMATCH naming it and the install command", async () => {
    await expectLoadError(
      environmentJson((e) => {
        e.packages["pipeserve-no-such-package"] = "1.2.3";
      }),
      "ENVIRONMENT_MISMATCH",
      ["needs packages that are not installed: pipeserve-no-such-package@1.2.3", "npm install pipeserve-no-such-package@1.2.3"],
    );
  });

  it("a Node range this Node does not meet → ENVIRONMENT_MISMATCH naming both", async () => {
    await expectLoadError(
      environmentJson((e) => {
        e.node = ">=999";
      }),
      "ENVIRONMENT_MISMATCH",
      [`needs Node >=999; this is Node ${process.versions.node}`],
    );
  });

  it("invalid packages → INVALID_MODEL_FILE naming environment.json and the field", async () => {
    await expectLoadError(
      environmentJson((e) => {
        e.packages = ["yaml"];
      }),
      "INVALID_MODEL_FILE",
      [/environment\.json of the model at .* is invalid: packages: /],
    );
  });

  it("another version of an installed package → loads, with a warning to onWarning", async () => {
    const installedYaml = (JSON.parse(await readFile(join("node_modules", "yaml", "package.json"), "utf8")) as { version: string }).version;
    const dir = await copyModel(
      trained().modelDir,
      environmentJson((e) => {
        e.packages.yaml = "0.0.1";
        e.packages.pipeserve = "0.0.0-other";
      }),
    );
    const warnings: string[] = [];
    const model = await loadModel(dir, { onWarning: (w) => warnings.push(w) });
    expect(warnings).toEqual([
      `The model was packaged with pipeserve 0.0.0-other; ${pipeserveVersion()} is installed.`,
      `The model was packaged with yaml 0.0.1; ${installedYaml} is installed.`,
    ]);
    expect(await model.predict(scalerBody([2]))).toEqual(await expectedScaler(dir, [2]));
    await model.close();
  });

  it("the packaged environment itself → no warnings", async () => {
    const warnings: string[] = [];
    const model = await loadModel(trained().modelDir, { onWarning: (w) => warnings.push(w) });
    expect(warnings).toEqual([]);
    await model.close();
  });
});
