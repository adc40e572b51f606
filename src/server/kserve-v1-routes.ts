import type { Context } from "hono";
import { HttpError } from "./errors.js";
import { encodeResponse, parseJsonBody } from "./invocations.js";
import { json, send, readRequestBody, type AddRoute, type Env, type RouteContext } from "./routing.js";

/** `penguins:predict` as the model's name and the verb; a bare name has none. */
function splitTarget(raw: string): { name: string; verb: string | undefined } {
  const at = raw.lastIndexOf(":");
  return at === -1 ? { name: raw, verb: undefined } : { name: raw.slice(0, at), verb: raw.slice(at + 1) };
}

/**
 * KServe's V1 protocol (TensorFlow Serving's REST form), which KServe's `protocolVersion: v1`
 * sends: `GET /v1/models/{name}` (`{name, ready}`, 503 while not ready) and
 * `POST /v1/models/{name}:predict` with `{"instances": [...]}` (or `"inputs"`), answered
 * `{"predictions": [...]}` — MLflow's JSON forms under the Scorer, as `/invocations` is.
 * Errors are `{error}` bodies, as KServe's own servers send them.
 */
export function kserveV1Routes(route: AddRoute, { state, modelName, maxBodyBytes }: RouteContext): void {
  const checkName = (name: string): void => {
    if (name !== modelName) throw new HttpError("NOT_FOUND", `Model "${name}" is not served here; this server serves "${modelName}".`);
  };
  route("GET", "/v1/models/:name", (c: Context<Env>) => {
    const { name, verb } = splitTarget(c.req.param("name") as string);
    // NB: a 405 names the methods the target takes (RFC 9110 §15.5.6), as /invocations' does.
    if (verb !== undefined)
      throw new HttpError("METHOD_NOT_ALLOWED", `GET is not allowed on ${c.req.path}; POST /v1/models/${name}:${verb}.`, { Allow: "POST" });
    checkName(name);
    const ready = state.notReadyReason() === undefined;
    return json(c, { name, ready }, ready ? 200 : 503);
  });
  route("POST", "/v1/models/:name", async (c: Context<Env>) => {
    const { name, verb } = splitTarget(c.req.param("name") as string);
    checkName(name);
    if (verb !== "predict")
      throw new HttpError(
        "NOT_FOUND",
        `No route for POST ${c.req.path} (${verb === undefined ? "no verb" : `the verb :${verb}`}): this server serves POST /v1/models/${modelName}:predict.`,
      );
    const { scorer, model } = c.get("served");
    scorer.admitRequest();
    const body = await parseJsonBody(await readRequestBody(c, maxBodyBytes), scorer.limits);
    if (body === null || typeof body !== "object" || Array.isArray(body) || !("instances" in body || "inputs" in body))
      throw new HttpError("BAD_REQUEST", 'A KServe v1 predict request is a JSON object with "instances" (a list of rows) or "inputs".');
    const { table, params } = model.parseJsonBody(body, scorer.limits);
    const result = await scorer.predict(table, { params, fromText: false });
    const encoded = encodeResponse(result.output, "application/json");
    return send(c, encoded.body, 200, encoded.contentType, scorer.notePrediction(result, c.get("requestId")));
  });
}
