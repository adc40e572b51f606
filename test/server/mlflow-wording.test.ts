/**
 * MLflow's wording (issue 12, section 1): where MLflow refuses an input, pipeserve refuses it too
 * and its message STARTS with MLflow's own fixed words (clients and runbooks grep for them), then
 * says pipeserve's explanation. One row per MLflow refusal: MLflow's message (in MLflow 3.6's
 * source), the pipeserve request that triggers it, the prefix pipeserve's message must start with,
 * and pipeserve's status and error_code, which stay those of the one code → status table.
 *
 * MLflow's wrapper around errors raised inside predict ("Failed to predict data '<frame>'. Error: ")
 * is left out on purpose (MLFLOW_WORDING's note): pipeserve checks the input before it predicts.
 */
import { beforeAll, describe, expect, it } from "vitest";
import type { MlflowSignature } from "../../src/index.js";
import { MLFLOW_WORDING } from "../../src/tabular/index.js";
import { quietApp, send, type App, type ErrorBody } from "./fixtures/http.js";
import { SIGNATURES, buildModel, type Behaviour } from "./fixtures/models.js";

const W = MLFLOW_WORDING;

/** `ab` with params of every kind MLflow's messages print. */
const PARAMS: MlflowSignature = {
  inputs: SIGNATURES.ab.inputs,
  outputs: null,
  params:
    '[{"name": "n", "default": 1, "shape": null, "type": "long"}, {"name": "x", "default": 0.5, "shape": null, "type": "double"}, ' +
    '{"name": "when", "default": "2024-01-01T00:00:00", "shape": null, "type": "datetime"}, {"name": "xs", "default": [1.0], "shape": [-1], "type": "double"}]',
};
const UNNAMED: MlflowSignature = { inputs: '[{"type": "long", "required": true}, {"type": "double", "required": true}]', outputs: null, params: null };

const MODELS = {
  ab: ["echo", SIGNATURES.ab, {}],
  params: ["params_echo", PARAMS, {}],
  unnamed: ["echo", UNNAMED, {}],
  sleep: ["sleep", SIGNATURES.sleepParams, { timeoutMs: 100 }],
  raise: ["raise_generic", SIGNATURES.ab, {}],
} as const satisfies Record<string, readonly [Behaviour, MlflowSignature, { timeoutMs?: number }]>;

interface Row {
  /** MLflow's refusal, as its source words it (variables in <>). */
  mlflow: string;
  model: keyof typeof MODELS;
  body: string;
  contentType?: string;
  /** What pipeserve's message starts with. */
  prefix: string;
  status: number;
  code: string;
  /** Where MLflow answers another status or code (pipeserve keeps its table). */
  note?: string;
}

const AB_SPLIT = (data: string, extra = ""): string => `{"dataframe_split": {"columns": ["a", "b"]${extra}, "data": ${data}}}`;
const PARAMS_BODY = (params: string): string => `{"dataframe_split": {"columns": ["a", "b"], "data": [[1, 0.5]]}, "params": ${params}}`;

const TABLE: Row[] = [
  {
    mlflow: "Invalid input. Ensure that input is a valid JSON formatted string. Error: '<JSONDecodeError>'",
    model: "ab",
    body: "this is,,,, not valid json",
    prefix: W.invalidJson,
    status: 400,
    code: "BAD_REQUEST",
  },
  { mlflow: "(the same, for an empty JSON body)", model: "ab", body: "", prefix: W.invalidJson, status: 400, code: "BAD_REQUEST" },
  {
    mlflow: "Invalid input. The input must be a JSON dictionary with exactly one of the input fields {…}. Received a list.",
    model: "ab",
    body: "[1]",
    prefix: `${W.notAnObject} Received a list.`,
    status: 400,
    code: "BAD_REQUEST",
  },
  {
    mlflow: "Invalid input. The input must be a JSON dictionary with exactly one of the input fields {…}. Received unexpected input type '<class 'int'>.",
    model: "ab",
    body: "1",
    prefix: `${W.notAnObject} Received unexpected input type '<class 'int'>'`,
    status: 400,
    code: "BAD_REQUEST",
  },
  {
    mlflow: "The input must be a JSON dictionary with exactly one of the input fields {…}. Received dictionary with input fields: [<keys>]. IMPORTANT: …",
    model: "ab",
    body: '{"columns": ["a", "b"], "data": [[1, 0.5]]}',
    prefix: `${W.notOneForm} Received dictionary with input fields: ['columns', 'data'].`,
    status: 400,
    code: "BAD_REQUEST",
  },
  {
    mlflow: "Invalid input. Dataframe split format must be a dictionary. Got list.",
    model: "ab",
    body: '{"dataframe_split": [{"a": 1, "b": 0.5}]}',
    prefix: `${W.splitNotAnObject} Got list.`,
    status: 400,
    code: "BAD_REQUEST",
  },
  {
    mlflow: "Invalid input. Dataframe split format must have 'data' field and optionally 'columns' and 'index' fields. Got {<keys>}.'",
    model: "ab",
    body: '{"dataframe_split": {"columns": ["a", "b"], "rows": [[1, 0.5]]}}',
    prefix: W.splitFields,
    status: 400,
    code: "BAD_REQUEST",
  },
  {
    mlflow:
      "Invalid input. Provided dataframe_split field is not a valid dataframe representation in 'split' format. Error: '<pandas>' (an index of another length)",
    model: "ab",
    // MLflow's own test body (tests/pyfunc/test_scoring_server.py), with the signature's columns.
    body: '{"dataframe_split": {"columns": ["a", "b"], "index": [1, 2], "data": [[1, 0.5], [2, 1.5], [3, 2.5]]}}',
    prefix: `${W.splitInvalid} dataframe_split.index has 2 labels but "data" has 3 rows.`,
    status: 400,
    code: "BAD_REQUEST",
  },
  {
    mlflow: "(the same, for a row longer than the columns: '<n> columns passed, passed data had <m> columns')",
    model: "ab",
    body: AB_SPLIT("[[1, 0.5, 7]]"),
    prefix: `${W.splitInvalid} dataframe_split.data[0] has 3 values`,
    status: 400,
    code: "BAD_REQUEST",
  },
  {
    mlflow: "Invalid input. Dataframe records format must be a list of records. Got dictionary.",
    model: "ab",
    body: '{"dataframe_records": {"a": 1, "b": 0.5}}',
    prefix: `${W.recordsNotAList} Got dictionary.`,
    status: 400,
    code: "BAD_REQUEST",
  },
  {
    mlflow: "Invalid input. Provided dataframe_records field is not a valid dataframe representation in 'records' format. Error: '<pandas>'",
    model: "ab",
    body: '{"dataframe_records": [{"a": 1, "b": 0.5}, 5]}',
    prefix: `${W.recordsInvalid} dataframe_records[1] is 5`,
    status: 400,
    code: "BAD_REQUEST",
  },
  {
    mlflow: "Invalid input. The length of values for each input/column name are not the same",
    model: "ab",
    body: '{"instances": {"a": [1, 2], "b": [0.5]}}',
    prefix: `${W.columnLengths}: instances column "b" has 1 values`,
    status: 400,
    code: "BAD_REQUEST",
  },
  {
    mlflow: "Invalid input. Data is not compatible with model signature. Failed to convert column <a> to type '<int64>'. Error: '<ValueError>'",
    model: "ab",
    body: AB_SPLIT('[["abc", 0.5]]'),
    prefix: "Invalid input. Data is not compatible with model signature. Failed to convert column a to type 'int64'. Column a is long: row 0 holds",
    status: 400,
    code: "BAD_REQUEST",
  },
  {
    mlflow: "(the same, for null in an integer column: pandas cannot hold it)",
    model: "ab",
    body: AB_SPLIT("[[null, 0.5]]"),
    prefix: "Invalid input. Data is not compatible with model signature. Failed to convert column a to type 'int64'.",
    status: 400,
    code: "BAD_REQUEST",
  },
  {
    mlflow:
      "Failed to parse input as a Pandas DataFrame. Ensure that the input is a valid CSV-formatted Pandas DataFrame produced using the `pandas.DataFrame.to_csv()` method. Error: '<pandas>'",
    model: "ab",
    contentType: "text/csv",
    body: "a,b\n1,0.5\n2,1.5,9\n",
    prefix: `${W.csvParse} CSV line 3 has 3 fields`,
    status: 400,
    code: "BAD_REQUEST",
  },
  {
    mlflow: "(the same, for an empty CSV body)",
    model: "ab",
    contentType: "text/csv",
    body: "",
    prefix: `${W.csvParse} The request body is empty`,
    status: 400,
    code: "BAD_REQUEST",
  },
  {
    mlflow: "(the same, for a value read_csv cannot give the signature's type)",
    model: "ab",
    contentType: "text/csv",
    body: "a,b\nabc,0.5\n",
    prefix: `${W.csvParse} Failed to convert column a to type 'int64'.`,
    status: 400,
    code: "BAD_REQUEST",
  },
  {
    mlflow: "Model is missing inputs [<names>]. Note that there were extra inputs: [<names>]",
    model: "ab",
    body: '{"dataframe_records": [{"a": 1, "c": 2}]}',
    prefix: "Model is missing inputs ['b']. Note that there were extra inputs: ['c']",
    status: 400,
    code: "INVALID_PARAMETER_VALUE",
  },
  {
    mlflow: "Model inference is missing inputs. The model signature declares <n> inputs  but the provided value only has <m> inputs. …",
    model: "unnamed",
    body: '{"inputs": [[1]]}',
    prefix: `${W.missingPositional} The model signature declares 2 inputs`,
    status: 400,
    code: "INVALID_PARAMETER_VALUE",
  },
  {
    mlflow: "Incompatible input types for column <a>. Can not safely convert <float64> to <int64>.",
    model: "ab",
    body: AB_SPLIT("[[1.7, 0.5]]"),
    prefix: "Incompatible input types for column a. Its row 0 holds 1.7",
    status: 400,
    code: "INVALID_PARAMETER_VALUE",
    note: "MLflow says this in-process; over HTTP pandas truncates 1.7 to 1 first (conformance col-float-into-long-truncates)",
  },
  {
    mlflow: "Parameters must be a dictionary. Got type '<list>'.",
    model: "params",
    body: PARAMS_BODY("[1, 2]"),
    prefix: `${W.paramsNotAnObject} Got type 'list'.`,
    status: 400,
    code: "INVALID_PARAMETER_VALUE",
  },
  {
    mlflow:
      "Invalid parameters found: {('<n>', \"Failed to validate type and shape for '<n>': <long> (default: <1>), error: Can not safely convert `<class 'float'>` to `<long>` for value `<1.5>`\")}",
    model: "params",
    body: PARAMS_BODY('{"n": 1.5}'),
    prefix: `${W.invalidParams} Failed to validate type and shape for 'n': long (default: 1), error: Can not safely convert \`<class 'float'>\` to \`long\` for value \`1.5\``,
    status: 400,
    code: "INVALID_PARAMETER_VALUE",
  },
  {
    mlflow: "(the same, with `Value must be a scalar for type `<long>`, got `<[1]>`` for a list)",
    model: "params",
    body: PARAMS_BODY('{"n": [1]}'),
    prefix: `${W.invalidParams} Failed to validate type and shape for 'n': long (default: 1), error: Value must be a scalar for type \`long\`, got \`[1]\``,
    status: 400,
    code: "INVALID_PARAMETER_VALUE",
  },
  {
    mlflow: "(the same, with `Failed to convert value `<x>` from type `<class 'str'>` to `datetime`` for a date that is none)",
    model: "params",
    body: PARAMS_BODY('{"when": "yesterday"}'),
    prefix: `${W.invalidParams} Failed to validate type and shape for 'when': datetime (default: 2024-01-01 00:00:00), error: Failed to convert value \`yesterday\` from type \`<class 'str'>\` to \`datetime\``,
    status: 400,
    code: "INVALID_PARAMETER_VALUE",
  },
  {
    mlflow: "Value must be a 1D array with shape (-1,) for param <spec>, received <int> with ndim <0>",
    model: "params",
    body: PARAMS_BODY('{"xs": 1}'),
    prefix: `${W.invalidParams} Value must be a 1D array with shape (-1,) for param 'xs': double (default: [1.0]) (shape: (-1,)), received int with ndim 0`,
    status: 400,
    code: "INVALID_PARAMETER_VALUE",
  },
  {
    mlflow: "This predictor only supports the following content types: Types: [<types>]. Got '<type>'.",
    model: "ab",
    contentType: "text/plain",
    body: "a,b",
    prefix: `${W.contentType}. Content-Type "text/plain" is not supported.`,
    status: 415,
    code: "UNSUPPORTED_MEDIA_TYPE",
    note: "MLflow's 415 body is plain text",
  },
  {
    mlflow: "Unrecognized content type parameters: <format>. IMPORTANT: …",
    model: "ab",
    contentType: "application/json; format=pandas-split",
    body: AB_SPLIT("[[1, 0.5]]"),
    prefix: `${W.contentTypeParameter} format.`,
    status: 415,
    code: "UNSUPPORTED_MEDIA_TYPE",
  },
  {
    mlflow: "The scoring server only supports UTF-8",
    model: "ab",
    contentType: "application/json; charset=latin-1",
    body: AB_SPLIT("[[1, 0.5]]"),
    prefix: `${W.charset}. Content-Type parameter "charset=latin-1" is not supported`,
    status: 415,
    code: "UNSUPPORTED_MEDIA_TYPE",
  },
  {
    mlflow: "Request processing time exceeded limit",
    model: "sleep",
    body: AB_SPLIT("[[1, 0.5]]"),
    prefix: `${W.timeout}. The prediction took longer than the 0.1 s timeout`,
    status: 504,
    code: "DEADLINE_EXCEEDED",
    note: "MLflow's 504 body is plain text",
  },
  {
    mlflow:
      "Encountered an unexpected error while evaluating the model. Verify that the serialized input Dataframe is compatible with the model for inference.",
    model: "raise",
    body: AB_SPLIT("[[1, 0.5]]"),
    prefix: `${W.modelFailed} The pipeline failed: Node "raise_generic" failed`,
    status: 500,
    code: "INTERNAL_ERROR",
    note: "MLflow answers 400 with a Python stack trace; pipeserve 500 naming the node (PROTOCOL.md's Better)",
  },
];

const apps = new Map<keyof typeof MODELS, App>();
beforeAll(async () => {
  for (const [name, [behaviour, signature, options]] of Object.entries(MODELS)) {
    apps.set(name as keyof typeof MODELS, quietApp(await buildModel(behaviour, signature), options));
  }
});

describe("MLflow's refusals, in MLflow's words", () => {
  it.each(TABLE.map((row) => [row.prefix.slice(0, 70), row] as const))("%s…", async (_, row) => {
    const app = apps.get(row.model) as App;
    const res = await send(app, "/invocations", { method: "POST", contentType: row.contentType ?? "application/json", body: row.body });
    const text = await res.text();
    expect(res.status, text).toBe(row.status);
    const body = JSON.parse(text) as ErrorBody;
    expect(body.error_code, text).toBe(row.code);
    expect(body.message.startsWith(row.prefix), `expected the message to start with:\n${row.prefix}\ngot:\n${body.message}`).toBe(true);
    // pipeserve's own explanation follows MLflow's words.
    expect(body.message.length).toBeGreaterThan(row.prefix.length);
  });

  it("has a row for every wording MLflow has (MLFLOW_WORDING)", () => {
    for (const [key, wording] of Object.entries(W)) {
      const used = TABLE.some((row) => row.prefix.includes(wording));
      // The protocol note follows the "exactly one of" refusals; it is checked where it stands.
      expect(used || key === "protocolChange", `no row starts with MLFLOW_WORDING.${key}`).toBe(true);
    }
  });

  it("notes MLflow's 1.x-protocol hint after the forms refusal, as MLflow does", async () => {
    const res = await send(apps.get("ab") as App, "/invocations", {
      method: "POST",
      contentType: "application/json",
      body: '{"columns": ["a"], "data": [[1]]}',
    });
    expect(((await res.json()) as ErrorBody).message).toContain(` ${W.protocolChange} `);
  });
});
