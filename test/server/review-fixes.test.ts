import { afterAll, describe, expect, it } from "vitest";
import { buildModel, SIGNATURES } from "./fixtures/models.js";
import { postJson, predictions, quietApp, send } from "./fixtures/http.js";
import { ServerState } from "../../src/index.js";

describe("CSV bodies to a model without a signature", () => {
  it("reads numbers and booleans as CSV files are read, not as text", async () => {
    const app = quietApp(await buildModel("echo", null));
    const res = await send(app, "/invocations", { contentType: "text/csv", body: "a,b,c\n39.1,true,x\n2,,FALSE\n" });
    expect(res.status).toBe(200);
    expect(await predictions(res)).toEqual([
      { a: 39.1, b: true, c: "x" },
      { a: 2, b: null, c: false },
    ]);
  });
});

describe("the ignored-params header", () => {
  it.each([
    ["日本", "%E6%97%A5%E6%9C%AC"],
    ["a\r\nInjected: yes", "a%0D%0AInjected%3A%20yes"],
    ["plain", "plain"],
  ])("carries %j percent-encoded, and the request still succeeds", async (name, encoded) => {
    const app = quietApp(await buildModel("echo", SIGNATURES.ab));
    const res = await postJson(app, { dataframe_split: { columns: ["a", "b"], data: [[1, 0.5]] }, params: { [name]: 1 } });
    expect(res.status).toBe(200);
    expect(res.headers.get("X-Pipeserve-Ignored-Params")).toBe(encoded);
    expect(res.headers.has("Injected")).toBe(false);
  });
});

describe("a timed-out prediction", () => {
  const state = new ServerState();
  afterAll(() => undefined);

  it("keeps its queue slot until the pipeline stops, so --max-queue bounds real work", async () => {
    const model = await buildModel("sleep", SIGNATURES.sleepParams);
    const app = quietApp(model, { timeoutMs: 50, maxQueue: 1, state });
    const body = { dataframe_split: { columns: ["a", "b"], data: [[1, 0.5]] }, params: { delay_ms: 400 } };
    const first = await postJson(app, body);
    expect(first.status).toBe(504);
    // The first pipeline is still sleeping: its slot is taken.
    expect(state.pending).toBe(1);
    const second = await postJson(app, body);
    expect(second.status).toBe(503);
    expect(second.headers.get("Retry-After")).toBe("1");
    await new Promise((r) => setTimeout(r, 450));
    expect(state.pending).toBe(0);
  });
});

describe("open inference output datatypes", () => {
  it("reports FP64 for a column of whole and fractional numbers, whatever comes first", async () => {
    const app = quietApp(await buildModel("echo", null));
    const res = await send(app, "/v2/models/model/infer", {
      contentType: "application/json",
      body: JSON.stringify({ inputs: [{ name: "x", shape: [3], datatype: "FP64", data: [1, 2.5, 3] }] }),
    });
    expect(res.status).toBe(200);
    const out = (await res.json()) as { outputs: { name: string; datatype: string; data: number[] }[] };
    expect(out.outputs[0]).toMatchObject({ name: "x", datatype: "FP64", data: [1, 2.5, 3] });
  });
});
