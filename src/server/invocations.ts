import {
  outputToTable,
  decodeArrowIpc,
  encodeArrowIpc,
  encodePredictions,
  fromArrow,
  parquetToArrow,
  parseCsv,
  parseJsonLines,
  toArrow,
  toCsv,
  type ColumnTable,
} from "../tabular/index.js";
import type { BodyType, ResponseType } from "./content-type.js";
import { HttpError } from "./errors.js";

/** A decoded `/invocations` body: what `PipelineModel.predict` takes. */
export interface DecodedBody {
  /** JSON text (parsed by the model against its signature) or a table. */
  input: string | ColumnTable;
  /** Params from `?params=` (non-JSON bodies); JSON bodies carry their own. */
  params: Record<string, unknown> | null | undefined;
  /** CSV cells are text, typed by the signature. */
  fromText: boolean;
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

function text(body: Uint8Array): string {
  try {
    return utf8.decode(body);
  } catch {
    throw new HttpError("BAD_REQUEST", "The request body is not valid UTF-8.");
  }
}

/** Params from the `params` query parameter: a URL-encoded JSON object. */
export function queryParams(raw: string | undefined): Record<string, unknown> | undefined {
  if (raw === undefined) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    throw new HttpError(
      "BAD_REQUEST",
      `The params query parameter is not valid JSON. Send a URL-encoded object, e.g. ?params=${encodeURIComponent('{"threshold":0.5}')}.`,
    );
  }
  if (value !== null && (typeof value !== "object" || Array.isArray(value))) {
    throw new HttpError("INVALID_PARAMETER_VALUE", "The params query parameter must be a JSON object of param name → value.");
  }
  return value as Record<string, unknown>;
}

/**
 * Decodes a request body by its type. Framework-free: bytes in, input out.
 * @throws HttpError / FormatError (400) for an empty or unparsable body.
 */
export function decodeBody(type: BodyType, body: Uint8Array, paramsQuery: string | undefined): DecodedBody {
  if (body.byteLength === 0) throw new HttpError("BAD_REQUEST", `The request body is empty: send the input as ${type}.`);
  switch (type) {
    case "application/json":
      return { input: text(body), params: undefined, fromText: false };
    case "text/csv":
      return { input: parseCsv(text(body), { raw: true }), params: queryParams(paramsQuery), fromText: true };
    case "application/x-ndjson":
      return { input: parseJsonLines(text(body)), params: queryParams(paramsQuery), fromText: false };
    case "application/vnd.apache.arrow.stream":
    case "application/vnd.apache.arrow.file": {
      const table = decodeArrowIpc(body);
      // NB: apache-arrow reads bytes that are not IPC at all as an empty table; that is no request.
      if (table.schema.fields.length === 0) {
        throw new HttpError(
          "BAD_REQUEST",
          `The request body is not Arrow IPC data: no schema with columns was found. Send a table in the Arrow IPC stream or file format as ${type}.`,
        );
      }
      return { input: fromArrow(table), params: queryParams(paramsQuery), fromText: false };
    }
    case "application/vnd.apache.parquet":
      return { input: fromArrow(parquetToArrow(body)), params: queryParams(paramsQuery), fromText: false };
  }
}

function outputTable(output: unknown, type: ResponseType): ColumnTable {
  try {
    return outputToTable(output);
  } catch {
    throw new HttpError("NOT_ACCEPTABLE", `The model's output is not a table, so it cannot be sent as ${type}. Ask for application/json.`);
  }
}

/** Encodes a prediction in the negotiated type. */
export function encodeResponse(output: unknown, type: ResponseType): { body: string | Uint8Array; contentType: string } {
  switch (type) {
    case "application/json":
      return { body: encodePredictions(output), contentType: "application/json" };
    case "text/csv":
      return { body: toCsv(outputTable(output, type)), contentType: "text/csv; charset=utf-8" };
    case "application/vnd.apache.arrow.stream":
      return { body: encodeArrowIpc(toArrow(outputTable(output, type)), "stream"), contentType: "application/vnd.apache.arrow.stream" };
  }
}
