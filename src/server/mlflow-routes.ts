import type { PipelineModel } from "../loader/index.js";
import { signatureToMlflow, type Signature } from "../tabular/index.js";
import { HttpError } from "./errors.js";
import { json, reply, readRequestBody, type AddRoute, type RouteContext } from "./routing.js";

function paramsView(signature: Signature | null): { name: string; type: string; default: unknown; shape: null | number[] }[] {
  return (signature?.params ?? []).map((p) => ({ name: p.name, type: p.type, default: p.default, shape: p.shape }));
}

/** The inference pipeline as /metadata (and the model page) shows it: its nodes and the datasets they pass. */
export interface PipelineView {
  /** The dataset the request's table is fed as. */
  input: string;
  /** The dataset answered as predictions. */
  output: string;
  nodes: { name: string; inputs: string[]; outputs: string[] }[];
  /** The datasets packaged with the model (fitted encoders, scalers, the model itself): read by nodes, produced by none. */
  artifacts: string[];
}

export function pipelineView(model: PipelineModel): PipelineView {
  const artifacts = model.pipeline.inputs().filter((name) => name !== model.inputName && name !== "parameters" && !name.startsWith("params:"));
  return {
    input: model.inputName,
    output: model.outputName,
    nodes: model.pipeline.nodes.map((n) => ({ name: n.name, inputs: [...n.inputNames], outputs: [...n.outputNames] })),
    artifacts,
  };
}

/** MLflow's `/invocations` (the Scorer under a thin route) and pipeserve's `/metadata`, for one model. */
export function mlflowRoutes(route: AddRoute, { modelName, version, maxBodyBytes }: RouteContext): void {
  route("POST", "/invocations", async (c) => {
    // NB: two ?params= were one silently dropped (the first taken): which the client meant is not ours to guess.
    const given = c.req.queries("params");
    if (given && given.length > 1)
      throw new HttpError("BAD_REQUEST", `The params query parameter is given ${given.length} times: give it once, as one JSON object of every param.`);
    return reply(
      c,
      await c.get("served").scorer.invocations({
        body: () => readRequestBody(c, maxBodyBytes),
        contentType: c.req.header("content-type"),
        accept: c.req.header("accept"),
        params: given?.[0],
        requestId: c.get("requestId"),
      }),
    );
  });

  route("GET", "/metadata", (c) => {
    const { model, registeredVersion } = c.get("served");
    return json(c, {
      name: modelName,
      version: registeredVersion ?? null,
      uri: model.uri,
      run_id: model.metadata.runId ?? null,
      model_uuid: model.metadata.modelUuid ?? null,
      model_id: model.metadata.modelId ?? null,
      utc_time_created: model.metadata.utcTimeCreated ?? null,
      pipeserve_version: version,
      flavor: model.metadata.flavor,
      signature: model.signature ? signatureToMlflow(model.signature) : null,
      params: paramsView(model.signature),
      runners: model.runnerNames,
      pipeline: pipelineView(model),
      input_example: model.inputExample ?? null,
    });
  });
}
