/**
 * deploy/kserve's ClusterServingRuntime, run as KServe runs it: the container's args (with
 * {{.Name}} the InferenceService's name, and /mnt/models where the storage initializer put the
 * model) given to the built bin. Its probes answer 200, and the model answers under the
 * InferenceService's name over KServe v1, the Open Inference Protocol's REST, and gRPC.
 * NB: the ports are the manifest's, made 0 here so the test takes free ones.
 */
import * as grpc from "@grpc/grpc-js";
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { useBuiltBin } from "../cli/helpers.js";
import { InferenceClient, outputValues, typedInput } from "../server/fixtures/grpc-client.js";
import { SIGNATURES, packageBehaviour } from "../server/fixtures/models.js";
import { ServeProcess, http } from "../server/fixtures/server-process.js";

useBuiltBin();
const runtime = parse(readFileSync(new URL("../../deploy/kserve/cluster-serving-runtime.yaml", import.meta.url), "utf8"));
const container = runtime.spec.containers[0] as { args: string[]; readinessProbe: { httpGet: { path: string } }; livenessProbe: { httpGet: { path: string } } };
let server: ServeProcess;
let client: InferenceClient | undefined;

beforeAll(async () => {
  const modelDir = await packageBehaviour("scale_rows", SIGNATURES.abScale);
  const args = container.args.map((a) =>
    a
      .replace("{{.Name}}", "penguins")
      .replace("/mnt/models", modelDir)
      .replace(/^--port=\d+$/, "--port=0")
      .replace(/^--grpc-port=\d+$/, "--grpc-port=0")
      .replace(/^--host=.*$/, "--host=127.0.0.1"),
  );
  server = new ServeProcess(args);
}, 60_000);

afterAll(async () => {
  client?.close();
  await server.stop();
});

describe("the ClusterServingRuntime's container", { timeout: 60_000 }, () => {
  it("serves the model under the InferenceService's name: probes, KServe v1, v2 REST and gRPC", async () => {
    const { url } = await server.serving();
    for (const path of [container.readinessProbe.httpGet.path, container.livenessProbe.httpGet.path, runtime.spec.annotations["prometheus.kserve.io/path"]]) {
      expect((await http(`${url}${path}`)).status, path).toBe(200);
    }
    const v1 = await http(`${url}/v1/models/penguins:predict`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ instances: [{ a: 2, b: 0.5 }] }),
    });
    expect(v1.status).toBe(200);
    expect(JSON.parse(v1.body)).toEqual({ predictions: [{ scaled: 4, sum: 2.5 }] });
    const v2 = await http(`${url}/v2/models/penguins/infer`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({
        inputs: [
          { name: "a", datatype: "INT64", shape: [1], data: [2] },
          { name: "b", datatype: "FP64", shape: [1], data: [0.5] },
        ],
      }),
    });
    expect(v2.status).toBe(200);
    expect(JSON.parse(v2.body).model_name).toBe("penguins");
    const line = server.logs().find((l) => l.msg === "Serving");
    client = new InferenceClient(line?.["grpc"] as string);
    const answer = await client.call("ModelInfer", {
      model_name: "penguins",
      inputs: [typedInput("a", "INT64", "int64_contents", [2]), typedInput("b", "FP64", "fp64_contents", [0.5])],
    });
    expect(answer.code, answer.details).toBe(grpc.status.OK);
    expect(outputValues(answer.response, 0)).toEqual([4]);
  });
});
