import type { DataType } from "apache-arrow";
import {
  FormatError,
  LimitError,
  MLFLOW_WORDING,
  NO_LIMITS,
  outputToTable,
  decodeArrowIpc,
  MAX_BODY_BATCHES,
  MAX_BODY_COLUMNS,
  encodeArrowIpc,
  encodePredictionsBody,
  SLICED_JSON_MIN,
  fromArrowInSlices,
  invalidJsonError,
  parquetToTable,
  parseCsv,
  parseCsvInSlices,
  parseJsonInSlices,
  parseJsonLines,
  parseJsonLinesInSlices,
  parseJsonWithin,
  toArrow,
  toCsv,
  arrowTypesOfColumns,
  declaredArrowTypes,
  type ColumnSpec,
  type ColumnTable,
  type TableLimits,
} from "../tabular/index.js";
import type { BodyType, ResponseType } from "./content-type.js";
import { HttpError } from "./errors.js";

/**
 * A decoded `/invocations` body: a JSON body parsed (an MLflow request, made a table by the model
 * against its signature, carrying its own params), or the table of any other body.
 */
export type DecodedBody =
  | { kind: "json"; body: unknown }
  | {
      kind: "table";
      table: ColumnTable;
      /** Params from `?params=`: bodies that are not JSON cannot carry their own. */
      params: Record<string, unknown> | null | undefined;
      /** CSV cells are text, typed by the signature. */
      fromText: boolean;
      /** Arrow and Parquet cells come typed: a refusal says how to send a column's type in Arrow. */
      fromArrow: boolean;
    };

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
    value = parseJsonWithin(raw);
  } catch (cause) {
    if (!(cause instanceof SyntaxError)) throw cause;
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

/** Bodies smaller than this are decoded at once, synchronously (no promise on the hot path); bigger ones in slices. */
export const SLICED_BODY_MIN = 1 << 20;

function parseJsonAtOnce(bytes: Uint8Array, limits: TableLimits): unknown {
  try {
    return parseJsonWithin(bytes, limits);
  } catch (cause) {
    throw cause instanceof SyntaxError ? invalidJsonError(cause) : cause;
  }
}

async function parseJsonSliced(bytes: Uint8Array, limits: TableLimits): Promise<unknown> {
  try {
    return await parseJsonInSlices(bytes, limits);
  } catch (cause) {
    throw cause instanceof SyntaxError ? invalidJsonError(cause) : cause;
  }
}

/**
 * Parses a JSON request body (UTF-8, a byte-order mark allowed) within `limits` (MAX_JSON_DEPTH
 * levels of nesting, rows, values): a small one at once, a big one in slices that let other
 * requests through (`parseJsonInSlices`).
 * @throws FormatError (400) with MLflow's wording for text that is not JSON, for nesting too deep
 * or bytes that are not UTF-8; LimitError (413) past the limits.
 */
export function parseJsonBody(bytes: Uint8Array, limits: TableLimits = NO_LIMITS): unknown {
  return bytes.length < SLICED_JSON_MIN ? parseJsonAtOnce(bytes, limits) : parseJsonSliced(bytes, limits);
}

function decodeArrow(type: BodyType, body: Uint8Array, limits: TableLimits): ColumnTable | Promise<ColumnTable> {
  const table = decodeArrowIpc(body, { maxBatches: MAX_BODY_BATCHES, maxColumns: MAX_BODY_COLUMNS });
  // NB: apache-arrow reads bytes that are not IPC at all as an empty table; that is no request.
  if (table.schema.fields.length === 0) {
    throw new HttpError(
      "BAD_REQUEST",
      `The request body is not Arrow IPC data: no schema with columns was found. Send a table in the Arrow IPC stream or file format as ${type}.`,
    );
  }
  return fromArrowInSlices(table, limits);
}

/** A CSV body's refusal, starting with MLflow's words for a CSV pandas cannot read (a limit's 413 stays as it is). */
function csvRefusal(error: unknown): unknown {
  if (!(error instanceof FormatError) || error instanceof LimitError) return error;
  return new FormatError(`${MLFLOW_WORDING.csvParse} ${error.message}`, { cause: error });
}

function decodeCsv(body: Uint8Array, limits: TableLimits): ColumnTable | Promise<ColumnTable> {
  try {
    if (body.byteLength < SLICED_BODY_MIN) return parseCsv(text(body), { raw: true, limits });
    return parseCsvInSlices(body, { raw: true, limits }).catch((error: unknown) => Promise.reject(csvRefusal(error)));
  } catch (error) {
    throw csvRefusal(error);
  }
}

function decodeTable(type: Exclude<BodyType, "application/json">, body: Uint8Array, limits: TableLimits): ColumnTable | Promise<ColumnTable> {
  const small = body.byteLength < SLICED_BODY_MIN;
  switch (type) {
    case "text/csv":
      return decodeCsv(body, limits);
    case "application/x-ndjson":
      return small ? parseJsonLines(text(body), 1, limits) : parseJsonLinesInSlices(body, limits);
    case "application/vnd.apache.arrow.stream":
    case "application/vnd.apache.arrow.file":
      return decodeArrow(type, body, limits);
    case "application/vnd.apache.parquet":
      // NB: the body is not read again after it is decoded: a big one may move to the decoding thread.
      return parquetToTable(body, limits, { transfer: true });
  }
}

/**
 * Decodes a request body by its type. Framework-free: bytes in, input out. Bounded by `limits`
 * (rows and cells, counted before the table is built) and, for JSON, by MAX_JSON_DEPTH. NB: a small
 * body is decoded at once and returned as is; a big one (and Parquet, which may unpack to far more
 * than its bytes) in slices that let the event loop serve other requests in between, as a promise.
 * @throws HttpError / FormatError (400) for an empty or unparsable body; LimitError (413) past the limits.
 */
export function decodeBody(
  type: BodyType,
  body: Uint8Array,
  paramsQuery: string | undefined,
  limits: TableLimits = NO_LIMITS,
): DecodedBody | Promise<DecodedBody> {
  if (body.byteLength === 0) {
    // MLflow's words for the two types it reads: json.loads("") and read_csv("") fail.
    const mlflow = type === "application/json" ? `${MLFLOW_WORDING.invalidJson} ` : type === "text/csv" ? `${MLFLOW_WORDING.csvParse} ` : "";
    throw new HttpError("BAD_REQUEST", `${mlflow}The request body is empty: send the input as ${type}.`);
  }
  if (type === "application/json") {
    // NB: a JSON body carries its own params; ?params= beside it would be silently dropped.
    if (paramsQuery !== undefined) {
      throw new HttpError(
        "BAD_REQUEST",
        'The params query parameter is for bodies that cannot carry params (CSV, Arrow, Parquet, JSON Lines); a JSON body sends them in its own "params" key. Move them there, e.g. {"dataframe_split": {...}, "params": {"threshold": 0.5}}.',
      );
    }
    const parsed = parseJsonBody(body, limits);
    return parsed instanceof Promise ? parsed.then((json) => ({ kind: "json", body: json })) : { kind: "json", body: parsed };
  }
  const fromText = type === "text/csv";
  const fromArrow = type === "application/vnd.apache.arrow.stream" || type === "application/vnd.apache.arrow.file" || type === "application/vnd.apache.parquet";
  // NB: the body before the params, as ever: a body that cannot be read is refused first.
  const table = decodeTable(type, body, limits);
  if (table instanceof Promise) return table.then((t) => ({ kind: "table", table: t, params: queryParams(paramsQuery), fromText, fromArrow }));
  return { kind: "table", table, params: queryParams(paramsQuery), fromText, fromArrow };
}

function outputTable(output: unknown, type: ResponseType): ColumnTable {
  try {
    return outputToTable(output);
  } catch {
    throw new HttpError("NOT_ACCEPTABLE", `The model's output is not a table, so it cannot be sent as ${type}. Ask for application/json.`);
  }
}

/** The Arrow types of each served model's output signature, made on its first Arrow answer. */
const arrowTypesByOutputs = new WeakMap<readonly ColumnSpec[], Record<string, DataType>>();

function outputArrowTypes(outputs: readonly ColumnSpec[] | null | undefined): Record<string, DataType> {
  if (!outputs) return {};
  let types = arrowTypesByOutputs.get(outputs);
  if (!types) arrowTypesByOutputs.set(outputs, (types = arrowTypesOfColumns(outputs)));
  return types;
}

/**
 * Encodes a prediction in the negotiated type. `outputs` (the output signature) types an Arrow
 * answer's columns that hold no value (an empty answer) as it declares them, not as text.
 */
export function encodeResponse(
  output: unknown,
  type: ResponseType,
  outputs?: readonly ColumnSpec[] | null,
): { body: string | Uint8Array; contentType: string } {
  switch (type) {
    case "application/json":
      return { body: encodePredictionsBody(output), contentType: "application/json" };
    case "text/csv":
      return { body: toCsv(outputTable(output, type)), contentType: "text/csv; charset=utf-8" };
    case "application/vnd.apache.arrow.stream": {
      const table = outputTable(output, type);
      let arrow: ReturnType<typeof toArrow>;
      try {
        arrow = toArrow(table, declaredArrowTypes(table, outputs), { emptyTypes: outputArrowTypes(outputs) });
      } catch (error) {
        // NB: an output value Arrow cannot hold (an integer past 64 bits): the answer exists, as JSON.
        if (error instanceof FormatError)
          throw new HttpError("NOT_ACCEPTABLE", `The model's output cannot be sent as Arrow. ${error.message} Ask for application/json.`);
        throw error;
      }
      return { body: encodeArrowIpc(arrow, "stream"), contentType: "application/vnd.apache.arrow.stream" };
    }
  }
}
