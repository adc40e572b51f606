/**
 * deploy/kserve (issue 19): a ClusterServingRuntime for pipeserve and an InferenceService of the
 * penguins model. The runtime's container is validated against Kubernetes' Container schema by
 * kubernetes-models (the part of the CRD that is Kubernetes' own); KServe's own fields are checked
 * against what KServe's API reference documents for them (no npm package ships KServe's CRD
 * schemas, and nothing from outside the registries may be committed: see the closing note of
 * issue 19). kserve-runtime.process.test.ts runs the container's command line for real.
 */
import { Container } from "kubernetes-models/v1";
import { describe, expect, it } from "vitest";
import { type Doc, readKustomization } from "./manifests.js";

const { kustomization, docs } = readKustomization("kserve");
const runtime = docs.find((d) => d["kind"] === "ClusterServingRuntime") as Doc;
const service = docs.find((d) => d["kind"] === "InferenceService") as Doc;
const container = runtime["spec"].containers[0] as Doc;

/** KServe's protocol versions (its API reference's `constants.InferenceServiceProtocol`). */
const KSERVE_PROTOCOLS = ["v1", "v2", "grpc-v1", "grpc-v2"];

describe("deploy/kserve", () => {
  it("is a kustomization whose resources exist: the runtime and an InferenceService", () => {
    expect(kustomization["kind"]).toBe("Kustomization");
    expect(docs.map((d) => `${d["apiVersion"]} ${d["kind"]}`).sort()).toEqual([
      "serving.kserve.io/v1alpha1 ClusterServingRuntime",
      "serving.kserve.io/v1beta1 InferenceService",
    ]);
  });

  it("runs one container that validates against Kubernetes' Container schema", () => {
    expect(runtime["spec"].containers).toHaveLength(1);
    expect(() => new Container(container as never).validate()).not.toThrow();
    const broken = structuredClone(container);
    broken["ports"][0].containerPort = "eighty";
    expect(() => new Container(broken as never).validate()).toThrow();
    // KServe finds the model server's container by this name.
    expect(container["name"]).toBe("kserve-container");
    expect(container["securityContext"]).toMatchObject({ runAsNonRoot: true, allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } });
  });

  it("supports the pipeserve model format, protocols v1 and v2 (REST and gRPC), on ports 8080 and 8081", () => {
    expect(runtime["spec"].supportedModelFormats).toContainEqual(expect.objectContaining({ name: "pipeserve", autoSelect: true }));
    const protocols = runtime["spec"].protocolVersions as string[];
    expect(protocols).toEqual(expect.arrayContaining(["v1", "v2", "grpc-v2"]));
    for (const p of protocols) expect(KSERVE_PROTOCOLS).toContain(p);
    expect(container["ports"]).toEqual([
      { name: "http1", containerPort: 8080, protocol: "TCP" },
      { name: "h2c", containerPort: 8081, protocol: "TCP" },
    ]);
    expect(container["args"]).toEqual(expect.arrayContaining(["--port=8080", "--grpc-port=8081", "--model-uri=/mnt/models", "--model-name={{.Name}}"]));
    expect(container["readinessProbe"].httpGet).toEqual({ path: "/v2/health/ready", port: 8080 });
    expect(container["livenessProbe"].httpGet).toEqual({ path: "/v2/health/live", port: 8080 });
    expect(runtime["spec"].annotations).toEqual({ "prometheus.kserve.io/port": "8080", "prometheus.kserve.io/path": "/metrics" });
  });

  it("the InferenceService asks for this runtime's model format and one of its protocols", () => {
    const model = service["spec"].predictor.model as Doc;
    expect(model["modelFormat"].name).toBe("pipeserve");
    expect(model["runtime"]).toBe(runtime["metadata"].name);
    expect(runtime["spec"].protocolVersions).toContain(model["protocolVersion"]);
    expect(model["storageUri"]).toMatch(/^[a-z0-9]+:\/\//);
    expect(service["metadata"].annotations["serving.kserve.io/deploymentMode"]).toBe("RawDeployment");
  });
});
