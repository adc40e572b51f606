import type { Context } from "hono";
import { MAX_JSON_DEPTH, NotUtf8Error, SLICED_JSON_MIN, parseJsonInSlices, parseJsonWithin, type TableLimits } from "../tabular/index.js";
import { BinaryInputs, INFERENCE_HEADER_LENGTH, binaryResponseBody, splitBinaryBody } from "./binary-tensor-data.js";
import { HttpError } from "./errors.js";
import { BODY_TYPES, mediaTypeOf } from "./content-type.js";
import { binaryColumnsOf } from "./raw-tensors.js";
import { checkServedVersion, decodeInferRequest, encodeInferResponse, inPositionalOrder, modelMetadataOf } from "./open-inference.js";
import { json, readRequestBody, send, type AddRoute, type Env, type RouteContext } from "./routing.js";

/** The tabular bodies `/invocations` takes that an infer request is not (it is JSON, with binary tensor data or not). */
const TABLE_BODY_TYPES: ReadonlySet<string> = new Set(BODY_TYPES.filter((type) => type !== "application/json"));

/**
 * @throws HttpError UNSUPPORTED_MEDIA_TYPE (415) for a Content-Type naming a table format (Arrow,
 * Parquet, CSV, JSON Lines): such a body would be read as JSON and refused as "not valid JSON",
 * which does not say where it goes. Other types are read as JSON, as KServe's servers do.
 */
function checkInferContentType(header: string | undefined): void {
  const type = mediaTypeOf(header);
  if (!TABLE_BODY_TYPES.has(type)) return;
  throw new HttpError(
    "UNSUPPORTED_MEDIA_TYPE",
    `An infer request is JSON (the Open Inference Protocol's tensors; application/json, or application/octet-stream with binary tensor data), not ${type}. Send tables as ${type} to /invocations.`,
  );
}

/** An infer request's JSON, within the scorer's limits (nesting, rows, values), a big one in slices. */
async function parseInferBody(bytes: Uint8Array, limits: TableLimits): Promise<unknown> {
  try {
    // NB: an infer body's lists are tensors (rows × width values, held to maxCells), not rows: their rows come from `shape`.
    return bytes.length < SLICED_JSON_MIN
      ? parseJsonWithin(bytes, limits, MAX_JSON_DEPTH, "none")
      : await parseJsonInSlices(bytes, limits, MAX_JSON_DEPTH, "none");
  } catch (cause) {
    // Text that is not JSON, or bytes that are not UTF-8; nesting too deep and the limits say so themselves.
    if (cause instanceof SyntaxError || cause instanceof NotUtf8Error) {
      throw new HttpError("BAD_REQUEST", "The infer request is not valid UTF-8 JSON.");
    }
    throw cause;
  }
}

/**
 * The Open Inference Protocol v2 routes of one model (metadata, readiness, infer; the server's are in server-routes.ts):
 * the protocol's codec (open-inference.ts) around the Scorer's `predict`. Errors are `{error}`
 * bodies (the app's endpoint wrapper writes them for every `/v2` path).
 */
export function openInferenceRoutes(route: AddRoute, { state, modelName, maxBodyBytes }: RouteContext): void {
  const checkModel = (c: Context<Env>): void => {
    const modelVersion = c.get("served").registeredVersion;
    const name = c.req.param("name");
    const v = c.req.param("version");
    if (name !== modelName) throw new HttpError("NOT_FOUND", `Model "${name}" is not served here; this server serves "${modelName}".`);
    checkServedVersion(name, v, modelVersion);
  };
  const modelMetadata = (c: Context<Env>): Response => {
    checkModel(c);
    return json(c, modelMetadataOf(modelName, c.get("served")));
  };
  const modelReady = (c: Context<Env>): Response => {
    checkModel(c);
    const ready = state.notReadyReason() === undefined;
    return json(c, { name: modelName, ready }, ready ? 200 : 503);
  };
  const infer = async (c: Context<Env>): Promise<Response> => {
    checkModel(c);
    checkInferContentType(c.req.header("content-type"));
    const { scorer, model, registeredVersion: modelVersion } = c.get("served");
    scorer.admitRequest();
    const body = splitBinaryBody(await readRequestBody(c, maxBodyBytes), c.req.header(INFERENCE_HEADER_LENGTH));
    const request = decodeInferRequest(
      await parseInferBody(body.json, scorer.limits),
      scorer.limits,
      new BinaryInputs(body.binary, binaryColumnsOf(model.signature?.inputs)),
    );
    const result = await scorer.predict(inPositionalOrder(request.table, model.signature?.inputs), { params: request.params });
    const { response, binary } = encodeInferResponse(result.output, model.signature, {
      modelName,
      modelVersion,
      id: request.id,
      outputs: request.outputs,
      binaryOutputs: request.binaryOutputs,
    });
    const headers = scorer.notePrediction(result, c.get("requestId"));
    if (binary.length === 0) return json(c, response, 200, headers);
    // NB: the JSON, then the binary outputs' bytes; the header says where the JSON ends.
    const { body: out, jsonLength } = binaryResponseBody(JSON.stringify(response), binary);
    return send(c, out, 200, "application/octet-stream", { ...headers, [INFERENCE_HEADER_LENGTH]: String(jsonLength) });
  };
  route("GET", "/v2/models/:name", modelMetadata);
  route("GET", "/v2/models/:name/versions/:version", modelMetadata);
  route("GET", "/v2/models/:name/ready", modelReady);
  route("GET", "/v2/models/:name/versions/:version/ready", modelReady);
  route("POST", "/v2/models/:name/infer", infer);
  route("POST", "/v2/models/:name/versions/:version/infer", infer);
}
