/**
 * Requests as MLflow's own client sends them (issue 12, section 1), replayed over real HTTP to a
 * real server (createApp + serveApp on an ephemeral port) of real packaged models whose signatures
 * MLflow wrote: the bodies in test/fixtures/mlflow-client/ (README there: which MLflow call writes
 * each, and the MLflow 3.6 files copied from the reference store). MLflow's client writes a missing
 * float as the bare token NaN; MLflow's server reads it as a missing value, and so does pipeserve,
 * answering with `null` where MLflow would write NaN.
 */
import { readFileSync } from "node:fs";
import { pino } from "pino";
import { parse as parseYaml } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ServerState, createApp, serveApp, type MlflowSignature, type RunningServer } from "../../src/index.js";
import { MLFLOW_WORDING } from "../../src/tabular/index.js";
import type { ErrorBody } from "./fixtures/http.js";
import { buildModel, type Behaviour } from "./fixtures/models.js";

const fixture = (name: string): string => readFileSync(new URL(`../fixtures/mlflow-client/${name}`, import.meta.url), "utf8");

/** The signature of an MLmodel file MLflow wrote. */
function signatureOf(mlmodel: string): MlflowSignature {
  const { signature } = parseYaml(fixture(mlmodel)) as { signature: MlflowSignature };
  return { inputs: signature.inputs, outputs: null, params: signature.params ?? null };
}

/** The pipeserve penguins model MLflow registered (every feature optional but island). */
const PENGUINS = signatureOf("pipeserve-penguins-MLmodel");
/** The MLflow 3 LoggedModel's signature: bill_length_mm, flipper_length_mm (long) and body_mass_g required. */
const LOGGED = signatureOf("loggedmodel-MLmodel");

/** What pandas reads from the client's rows (NaN as null): the predictions an echo must answer. */
const EXPECTED_ROWS = JSON.parse(fixture("expected-rows.json")) as Record<string, unknown>[];

const servers: RunningServer[] = [];
const urls = new Map<string, string>();

async function serve(name: string, behaviour: Behaviour, signature: MlflowSignature): Promise<void> {
  const state = new ServerState();
  const logger = pino({ level: "silent" });
  const app = createApp(await buildModel(behaviour, signature), { logger, state });
  const running = await serveApp(app as never, { port: 0, host: "127.0.0.1", state, logger, onStopped: () => undefined });
  servers.push(running);
  urls.set(name, `http://127.0.0.1:${running.port}`);
}

beforeAll(async () => {
  await serve("penguins", "echo", PENGUINS);
  await serve("penguinsParams", "params_echo", PENGUINS);
  await serve("logged", "echo", LOGGED);
});
afterAll(async () => {
  for (const s of servers) await s.stop();
});

async function post(
  server: string,
  body: string,
  contentType = "application/json",
  path = "/invocations",
): Promise<{ status: number; text: string; headers: Headers }> {
  const res = await fetch(`${urls.get(server)}${path}`, { method: "POST", headers: { "Content-Type": contentType }, body });
  return { status: res.status, text: await res.text(), headers: res.headers };
}

/** A 200 JSON answer's predictions; the body must be JSON (no NaN token in it). */
function predictionsOf(answer: { status: number; text: string }): unknown {
  expect(answer.status, answer.text).toBe(200);
  expect(answer.text).not.toMatch(/NaN|Infinity/);
  return (JSON.parse(answer.text) as { predictions: unknown }).predictions;
}

describe("the bodies MLflow's client writes for a DataFrame with missing values → 200, NaN read as missing", () => {
  it.each([
    ["ScoringServerClient.invoke / dump_input_data: dataframe_split with index and NaN tokens", "client-dataframe_split.json"],
    ['pandas to_json(orient="split") (null for NaN, with index), as the curl recipe sends it', "pandas-to_json-split.json"],
    ["dataframe_records written by json.dumps (NaN tokens)", "client-dataframe_records.json"],
    ["inputs as columns written by json.dumps (NaN tokens)", "client-inputs.json"],
  ])("%s", async (_, file) => {
    const body = fixture(file);
    expect(body.includes("NaN") || file.startsWith("pandas")).toBe(true);
    expect(predictionsOf(await post("penguins", body))).toEqual(EXPECTED_ROWS);
  });

  it("the issue's row exactly as the client writes it", async () => {
    const body =
      '{"dataframe_split": {"columns": ["island", "bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g", "sex"], "data": [["Biscoe", NaN, NaN, 230.0, NaN, null]]}}';
    expect(predictionsOf(await post("penguins", body))).toEqual([EXPECTED_ROWS[1]]);
  });

  it("JSON Lines of records written by json.dumps", async () => {
    expect(predictionsOf(await post("penguins", fixture("client-records.jsonl"), "application/x-ndjson"))).toEqual(EXPECTED_ROWS);
  });

  it("params with NaN and Infinity reach the model as doubles (written back as null); an unknown one is named", async () => {
    const answer = await post("penguinsParams", fixture("client-dataframe_split-params.json"));
    expect(predictionsOf(answer)).toEqual({ threshold: null, return_probabilities: false });
    expect(answer.headers.get("x-pipeserve-ignored-params")).toBe("scale");
  });

  it("the serving_input_example.json MLflow 3.6 wrote for its LoggedModel (NaN in an optional column, params)", async () => {
    const rows = predictionsOf(await post("logged", fixture("loggedmodel-serving_input_example.json"))) as Record<string, unknown>[];
    expect(rows).toEqual([
      { island: "Torgersen", bill_length_mm: 39.1, bill_depth_mm: 18.7, flipper_length_mm: 181, body_mass_g: 3750, sex: "MALE" },
      { island: "Biscoe", bill_length_mm: 46.5, bill_depth_mm: null, flipper_length_mm: 230, body_mass_g: 5200, sex: null },
    ]);
  });

  it("an Open Inference Protocol infer body with NaN tokens: each NaN a missing value", async () => {
    const answer = await post("penguins", fixture("client-v2-infer.json"), "application/json", "/v2/models/model/infer");
    expect(answer.status, answer.text).toBe(200);
    const { outputs } = JSON.parse(answer.text) as { outputs: { name: string; data: unknown[] }[] };
    const byName = Object.fromEntries(outputs.map((o) => [o.name, o.data]));
    expect(byName).toMatchObject({ bill_length_mm: [39.1, null, 46.5], body_mass_g: [3750, null, 3500], sex: ["MALE", null, "FEMALE"] });
  });
});

describe("what MLflow refuses, pipeserve refuses in MLflow's words", () => {
  it("an index of another length than the rows (MLflow's own test body) → 400 BAD_REQUEST", async () => {
    const body = JSON.parse(fixture("pandas-to_json-split.json")) as { dataframe_split: { index: number[] } };
    body.dataframe_split.index = [1, 2];
    const answer = await post("penguins", JSON.stringify(body));
    expect(answer.status, answer.text).toBe(400);
    const error = JSON.parse(answer.text) as ErrorBody;
    expect(error.error_code).toBe("BAD_REQUEST");
    expect(error.message).toMatch(
      new RegExp(`^${MLFLOW_WORDING.splitInvalid.replace(/[.()]/g, "\\$&")} dataframe_split.index has 2 labels but "data" has 3 rows`),
    );
  });

  it("a token Python's json does not read (nan) → 400 BAD_REQUEST, as MLflow's json.loads refuses it", async () => {
    const answer = await post("penguins", fixture("client-dataframe_split.json").replaceAll("NaN", "nan"));
    expect(answer.status).toBe(400);
    expect((JSON.parse(answer.text) as ErrorBody).message.startsWith(MLFLOW_WORDING.invalidJson)).toBe(true);
  });

  it("NaN in a column the signature requires is a missing value, refused like null (MLflow passes NaN on: PROTOCOL.md's Better)", async () => {
    const answer = await post("logged", fixture("client-dataframe_split.json"));
    expect(answer.status, answer.text).toBe(400);
    const error = JSON.parse(answer.text) as ErrorBody;
    expect(error.error_code).toBe("BAD_REQUEST");
    expect(error.message).toContain("Failed to convert column bill_length_mm to type 'float64'. Column bill_length_mm is double: row 1 holds null");
    expect(error.message).toContain("as is a bare NaN token in JSON");
  });
});
