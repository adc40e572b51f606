import { MLFLOW_WORDING } from "../tabular/index.js";
import { HttpError } from "./errors.js";

/** The request body types `/invocations` accepts. */
export const BODY_TYPES = [
  "application/json",
  "text/csv",
  "application/vnd.apache.arrow.stream",
  "application/vnd.apache.arrow.file",
  "application/vnd.apache.parquet",
  "application/x-ndjson",
] as const;
export type BodyType = (typeof BODY_TYPES)[number];

/** The response types `Accept` may ask for. */
export const RESPONSE_TYPES = ["application/json", "text/csv", "application/vnd.apache.arrow.stream"] as const;
export type ResponseType = (typeof RESPONSE_TYPES)[number];

/** A Content-Type header's media type: before any `;`, trimmed, lower case ("" for none). */
export function mediaTypeOf(header: string | undefined): string {
  return (header ?? "").split(";")[0]?.trim().toLowerCase() ?? "";
}

/**
 * Checks a request's Content-Type as MLflow does, with its **Better** places: split on `;`, the
 * media type matched case-insensitively, `charset` must be utf-8, any other parameter (e.g. the
 * 1.x `format=pandas-split`) or a missing header is 415 with a JSON body naming the accepted types,
 * its message starting with MLflow's words for the same refusal.
 */
export function parseContentType(header: string | undefined): BodyType {
  // NB: on the request path: the bare types (most requests) are known at once.
  if (header !== undefined && (BODY_TYPES as readonly string[]).includes(header)) return header as BodyType;
  const accepted = `Accepted: ${BODY_TYPES.join(", ")} (charset=utf-8 only).`;
  if (header === undefined || header.trim() === "") throw new HttpError("UNSUPPORTED_MEDIA_TYPE", `The request has no Content-Type. ${accepted}`);
  const [, ...rawParams] = header.split(";");
  const type = mediaTypeOf(header);
  if (!(BODY_TYPES as readonly string[]).includes(type)) {
    throw new HttpError("UNSUPPORTED_MEDIA_TYPE", `${MLFLOW_WORDING.contentType}. Content-Type "${header}" is not supported. ${accepted}`);
  }
  for (const param of rawParams) {
    const [key = "", value = ""] = param.split("=").map((s) => s.trim());
    if (key === "" && value === "") continue;
    const charset = key.toLowerCase() === "charset";
    if (charset && value.replace(/^"|"$/g, "").toLowerCase() === "utf-8") continue;
    const mlflow = charset ? `${MLFLOW_WORDING.charset}.` : `${MLFLOW_WORDING.contentTypeParameter} ${key}.`;
    throw new HttpError("UNSUPPORTED_MEDIA_TYPE", `${mlflow} Content-Type parameter "${param.trim()}" is not supported: only charset=utf-8 is. ${accepted}`);
  }
  return type as BodyType;
}

/**
 * The response types `Accept` takes, best first (by q, then order): `*\/*` and `application/*` mean
 * JSON, `text/*` CSV. JSON alone when the header is absent or names nothing pipeserve can write.
 */
export function acceptedResponseTypes(accept: string | undefined): ResponseType[] {
  if (!accept) return ["application/json"];
  const ranges = accept
    .split(",")
    .map((part, i) => {
      const [type = "", ...params] = part.split(";").map((s) => s.trim().toLowerCase());
      const q = params.map((p) => /^q=([\d.]+)$/.exec(p)?.[1]).find((v) => v !== undefined);
      return { type, q: q === undefined ? 1 : Number(q), i };
    })
    .filter((r) => r.q > 0)
    .sort((a, b) => b.q - a.q || a.i - b.i);
  const out: ResponseType[] = [];
  for (const r of ranges) {
    let type: ResponseType | undefined;
    if ((RESPONSE_TYPES as readonly string[]).includes(r.type)) type = r.type as ResponseType;
    else if (r.type === "*/*" || r.type === "application/*") type = "application/json";
    else if (r.type === "text/*") type = "text/csv";
    if (type && !out.includes(type)) out.push(type);
  }
  return out.length > 0 ? out : ["application/json"];
}

/** The best response type `Accept` takes (see `acceptedResponseTypes`). */
export function negotiateResponseType(accept: string | undefined): ResponseType {
  return acceptedResponseTypes(accept)[0] as ResponseType;
}
