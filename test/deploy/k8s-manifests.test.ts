/**
 * deploy/k8s (issue 19): every manifest validated against the Kubernetes schemas by a maintained
 * library (kubernetes-models; the ServiceMonitor by @kubernetes-models/prometheus-operator), the
 * kustomization's resources present, and the manifests agreeing with pipeserve itself: the
 * variables the container sets are ones `serve` reads, with values its parsers take; the probes'
 * and the ServiceMonitor's paths answer 200 on a real app; the grace period outlasts the drain.
 */
import { ServiceMonitor } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1";
import { Deployment } from "kubernetes-models/apps/v1";
import { HorizontalPodAutoscaler } from "kubernetes-models/autoscaling/v2";
import { PodDisruptionBudget } from "kubernetes-models/policy/v1";
import { Service } from "kubernetes-models/v1";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { SERVE_ENV, withServeEnv } from "../../src/cli/serve-env.js";
import { createApp } from "../../src/index.js";
import { SIGNATURES, buildModel } from "../server/fixtures/models.js";
import { type Doc, readKustomization } from "./manifests.js";

const { kustomization, docs } = readKustomization("k8s");
const byKind = (kind: string): Doc => docs.find((d) => d["kind"] === kind) as Doc;
const deployment = byKind("Deployment");
const container = deployment["spec"].template.spec.containers[0] as Doc;
const env = Object.fromEntries((container["env"] as { name: string; value: string }[]).map((e) => [e.name, e.value]));

/** The variables pipeserve reads besides the serve flags' (MLflow's keep their names). */
const OTHER_VARIABLES = ["MODEL_URI", "PORT", "MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI", "MLFLOW_SCORING_SERVER_REQUEST_TIMEOUT", "PIPESERVE_CACHE_DIR"];

describe("deploy/k8s", () => {
  it("is a kustomization whose resources exist and hold one object each of the kinds it needs", () => {
    expect(kustomization["kind"]).toBe("Kustomization");
    expect(docs.map((d) => d["kind"]).sort()).toEqual(["Deployment", "HorizontalPodAutoscaler", "PodDisruptionBudget", "Service", "ServiceMonitor"]);
  });

  it("validates against the Kubernetes and Prometheus Operator schemas", () => {
    const models: Record<string, (d: Doc) => { validate(): void }> = {
      Deployment: (d) => new Deployment(d as never),
      Service: (d) => new Service(d as never),
      HorizontalPodAutoscaler: (d) => new HorizontalPodAutoscaler(d as never),
      PodDisruptionBudget: (d) => new PodDisruptionBudget(d as never),
      ServiceMonitor: (d) => new ServiceMonitor(d as never),
    };
    for (const d of docs) expect(() => (models[d["kind"]] as (d: Doc) => { validate(): void })(d).validate(), d["kind"]).not.toThrow();
    // The validator does catch a wrong manifest.
    const broken = structuredClone(deployment);
    broken["spec"].replicas = "two";
    expect(() => new Deployment(broken as never).validate()).toThrow();
  });

  it("sets only variables pipeserve reads, with values its own parsers take", () => {
    const known = new Set([...SERVE_ENV.map((e) => e.env), ...OTHER_VARIABLES]);
    expect(Object.keys(env).filter((name) => !known.has(name))).toEqual([]);
    const parsed = withServeEnv({}, () => undefined, env);
    expect(parsed["port"]).toBe(8080);
    expect(container["ports"][0]).toMatchObject({ name: "http", containerPort: parsed["port"] });
    expect(container["ports"][1]).toMatchObject({ name: "grpc", containerPort: parsed["grpcPort"] });
    expect((byKind("Service")["spec"].ports as Doc[]).map((p) => p["targetPort"])).toEqual(["http", "grpc"]);
  });

  it("outlasts the drain: the grace period is above the preStop pause plus the timeout plus the time to write the answer", () => {
    const pause = Number((container["lifecycle"].preStop.exec.command as string[])[1]);
    const timeout = withServeEnv({}, () => undefined, env)["timeout"] as number;
    expect(deployment["spec"].template.spec.terminationGracePeriodSeconds).toBeGreaterThan(pause + timeout / 1000 + 5);
  });

  it("runs as non-root on a read-only root filesystem, with /tmp writable for the model's code and downloads", () => {
    const pod = deployment["spec"].template.spec as Doc;
    expect(pod["securityContext"].runAsNonRoot).toBe(true);
    expect(container["securityContext"]).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } });
    expect(container["volumeMounts"]).toContainEqual({ name: "tmp", mountPath: "/tmp" });
    expect(env["PIPESERVE_CACHE_DIR"]?.startsWith("/tmp/")).toBe(true);
  });

  it("selects its own pods, and its probes and ServiceMonitor reach routes a real app answers with 200", async () => {
    const labels = deployment["spec"].template.metadata.labels as Record<string, string>;
    expect(deployment["spec"].selector.matchLabels).toEqual(labels);
    expect(byKind("Service")["spec"].selector).toEqual(labels);
    expect(byKind("PodDisruptionBudget")["spec"].selector.matchLabels).toEqual(labels);
    expect(byKind("ServiceMonitor")["spec"].selector.matchLabels).toEqual(byKind("Service")["metadata"].labels);
    expect(byKind("HorizontalPodAutoscaler")["spec"].scaleTargetRef).toMatchObject({ kind: "Deployment", name: deployment["metadata"].name });
    const app = createApp(await buildModel("row_count", SIGNATURES.ab), { logger: pino({ level: "silent" }) });
    const paths = [
      container["startupProbe"].httpGet.path,
      container["readinessProbe"].httpGet.path,
      container["livenessProbe"].httpGet.path,
      ...(byKind("ServiceMonitor")["spec"].endpoints as { path: string }[]).map((e) => e.path),
    ] as string[];
    for (const path of paths) expect((await app.request(path)).status, path).toBe(200);
  });
});
