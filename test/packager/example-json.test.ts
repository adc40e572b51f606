// The input examples a packaged model carries write whole values of double columns and params as
// Python writes floats (`3750.0`), as MLflow does from a pandas frame: checked against the
// example MLflow 3.6 itself wrote for the reference LoggedModel (test/fixtures/mlflow-reference),
// with the same rows and the same signature.
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeModel } from "../../src/packager/index.js";
import type { ColumnTable, MlflowSignature } from "../../src/tabular/index.js";
import { REFERENCE, REFERENCE_FILESTORE } from "../fixtures/mlflow-reference.js";
import { readYaml11 } from "./helpers.js";

const REF_ARTIFACTS = join(REFERENCE_FILESTORE, "mlruns", REFERENCE.experimentId, "models", REFERENCE.modelId, "artifacts");

let dir: string;
let signature: MlflowSignature;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "pipeserve-example-"));
  const s = (await readYaml11(join(REF_ARTIFACTS, "MLmodel")))["signature"] as MlflowSignature;
  signature = { inputs: s.inputs, outputs: s.outputs, params: s.params };
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The reference example's rows, as columns (its NaN a missing double). */
const ROWS: ColumnTable = {
  names: ["island", "bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g", "sex"],
  columns: [
    ["Torgersen", "Biscoe"],
    [39.1, 46.5],
    [18.7, Number.NaN],
    [181, 230],
    [3750, 5200],
    ["MALE", null],
  ],
  numRows: 2,
};

async function write(name: string, exampleParams?: Record<string, unknown>): Promise<string> {
  const target = join(dir, name);
  await writeModel(target, {
    nodes: [],
    inputName: "instances",
    outputName: "predictions",
    copyMode: "assign",
    runner: "SequentialRunner",
    inputType: "dataframe",
    rowWise: false,
    artifacts: {},
    parameters: {},
    bundle: { code: "export const inference = null;", packages: {} },
    signature,
    inputExample: ROWS,
    exampleParams,
  });
  return target;
}

describe("input_example.json", () => {
  it("writes each row's values as MLflow wrote them: 3750.0 in a double column, 181 in a long one", async () => {
    const model = await write("rows");
    const ours = await readFile(join(model, "input_example.json"), "utf8");
    // The reference writes {"inputs": {"columns", "data"}, "params"} with json.dumps' spacing and a bare NaN;
    // pipeserve writes compact {"columns", "data"} and null for NaN. The data rows must then agree byte for byte.
    const reference = await readFile(join(REF_ARTIFACTS, "input_example.json"), "utf8");
    const refData = /"data": (\[\[.*\]\])\}/.exec(reference)?.[1] as string;
    const expected = refData.replaceAll(", ", ",").replaceAll("NaN", "null");
    expect(ours).toBe(`{"columns":${JSON.stringify(ROWS.names)},"data":${expected}}`);
    expect(ours).toContain("3750.0");
    expect(ours).toContain(",181,");
  });
});

describe("serving_input_example.json", () => {
  it("is JSON.stringify's 2-space layout, with whole doubles written 17.0 in the rows and the double params", async () => {
    const model = await write("serving", { threshold: 1, top_k: 3, labels: ["a"], return_probabilities: true });
    const text = await readFile(join(model, "serving_input_example.json"), "utf8");
    const body = JSON.parse(text);
    expect(body.params).toEqual({ threshold: 1, top_k: 3, labels: ["a"], return_probabilities: true });
    // Byte for byte what JSON.stringify writes, once the whole doubles lose their ".0".
    expect(text.replaceAll(/(\d)\.0(?=,?\n)/g, "$1")).toBe(JSON.stringify(body, null, 2));
    // threshold is a double param (the reference's signature), top_k a long.
    expect(text).toMatch(/^ {4}"threshold": 1\.0,$/m);
    expect(text).toMatch(/^ {4}"top_k": 3,$/m);
    expect(text).toMatch(/^ {8}3750\.0,$/m);
    expect(text).toMatch(/^ {8}181,$/m);
  });
});
