/**
 * deploy/k8s/batch (issue 19): the Indexed Job that predicts in shards and the Job that merges
 * its parts, validated against Kubernetes' Job schema (kubernetes-models) and run as the cluster
 * would run them: every pod's command line (in-process, with its JOB_COMPLETION_INDEX), then the
 * merge's, over a real model and file; the merged output is what one unsharded run writes.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Job } from "kubernetes-models/batch/v1";
import { beforeAll, describe, expect, it } from "vitest";
import { parse, parseAllDocuments } from "yaml";
import { SCALER_PROJECT, readOutput, runCli, tempDir, useTrainedModel, writeInput, xTable } from "../batch/helpers.js";

const DIR = fileURLToPath(new URL("../../deploy/k8s/batch/", import.meta.url));
type Doc = Record<string, any>;
const read = (file: string): Doc => parse(readFileSync(join(DIR, file), "utf8")) as Doc;
const kustomization = read("kustomization.yaml");
const predictJob = read("predict-job.yaml");
const mergeJob = read("merge-job.yaml");
const argsOf = (job: Doc): string[] => job["spec"].template.spec.containers[0].args as string[];
const flag = (args: string[], name: string): string => args[args.indexOf(name) + 1] as string;

const scaler = useTrainedModel(SCALER_PROJECT);
let work: string;

beforeAll(async () => {
  work = await tempDir("pipeserve-k8s-batch-");
}, 120_000);

describe("deploy/k8s/batch", () => {
  it("is a kustomization whose resources exist; both Jobs validate against Kubernetes' schema", () => {
    for (const file of kustomization["resources"] as string[]) expect(parseAllDocuments(readFileSync(join(DIR, file), "utf8"))[0]?.errors).toEqual([]);
    expect(kustomization["resources"]).toEqual(["predict-job.yaml"]);
    for (const job of [predictJob, mergeJob]) expect(() => new Job(job as never).validate()).not.toThrow();
    const broken = structuredClone(predictJob);
    broken["spec"].completions = "eight";
    expect(() => new Job(broken as never).validate()).toThrow();
  });

  it("shards as many ways as it has completions, one part each, and merges the same parts", () => {
    const spec = predictJob["spec"] as Doc;
    expect(spec["completionMode"]).toBe("Indexed");
    const predict = argsOf(predictJob);
    expect(flag(predict, "--shard")).toBe(`auto/${spec["completions"]}`);
    expect(flag(predict, "-o")).toContain("{shard}");
    const merge = argsOf(mergeJob);
    expect(Number(flag(merge, "--merge"))).toBe(spec["completions"]);
    expect(flag(merge, "-i")).toBe(flag(predict, "-o"));
    expect(predictJob["spec"].template.spec.restartPolicy).toBe("Never");
  });

  it("run as the cluster runs them, the pods' parts merged are the unsharded output", { timeout: 120_000 }, async () => {
    const input = await writeInput(join(work, "input.parquet"), xTable(Array.from({ length: 50 }, (_, i) => i / 5 - 4)), "parquet");
    const where = (path: string): string => path.replace("/data/input/flights.parquet", input).replace("/data/output", work);
    const model = (args: string[]): string[] => args.map((a) => (a === "models:/flights/latest" ? scaler().modelUri : a)).map(where);
    const env = { MLFLOW_TRACKING_URI: scaler().trackingDir };
    const completions = predictJob["spec"].completions as number;
    for (let index = 0; index < completions; index++) {
      const pod = await runCli(model(argsOf(predictJob)), { env: { ...env, JOB_COMPLETION_INDEX: String(index) } });
      expect(pod.code, pod.stderr).toBe(0);
    }
    const merged = await runCli(argsOf(mergeJob).map(where), { env });
    expect(merged.code, merged.stderr).toBe(0);
    const whole = join(work, "whole.parquet");
    const once = await runCli(["predict", "-m", scaler().modelUri, "-i", input, "-o", whole], { env });
    expect(once.code, once.stderr).toBe(0);
    expect(await readOutput(join(work, "predictions.parquet"), "parquet")).toEqual(await readOutput(whole, "parquet"));
  });
});
