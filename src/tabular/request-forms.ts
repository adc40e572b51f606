import { isPlainObject } from "../util/index.js";
import type { Cell, ColumnTable } from "./column-table.js";
import { FormatError, SchemaError } from "./errors.js";
import { holdsNaN, nanAsMissing } from "./json-parse.js";
import { parseJsonWithin } from "./json-text.js";
import { NO_LIMITS, type TableLimits, checkTableSize } from "./limits.js";
import { MLFLOW_WORDING, pyList, pySet, pythonClass, pythonTypeName, showValue } from "./messages.js";

/** The JSON body forms `/invocations` accepts, in MLflow's order. */
export const JSON_REQUEST_FORMS = ["dataframe_split", "dataframe_records", "instances", "inputs"] as const;

/** One of the JSON body forms. */
export type JsonRequestForm = (typeof JSON_REQUEST_FORMS)[number];

/** A parsed `/invocations` JSON body: the input table, the runtime params, and which form carried the table. */
export interface JsonRequest {
  table: ColumnTable;
  params: Record<string, unknown> | null;
  form: JsonRequestForm;
}

const PROTOCOL_NOTE =
  `${MLFLOW_WORDING.protocolChange} The MLflow 1.x body {"columns": [...], "data": [...]} ` +
  'is no longer accepted; send {"dataframe_split": {"columns": [...], "data": [...]}} instead.';
const LLM_KEYS = ["messages", "prompt", "input"];
const SPLIT_KEYS: ReadonlySet<string> = new Set(["columns", "data", "index"]);

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** MLflow's two wordings: a body that is no object is "Invalid input." (`_decode_json_input`), an object without one form is not. */
function wrongFormsError(body: unknown): FormatError {
  if (!isPlainObject(body)) {
    const received = Array.isArray(body) ? "Received a list." : `Received unexpected input type '${pythonClass(body)}'.`;
    return new FormatError(`${MLFLOW_WORDING.notAnObject} ${received} ${PROTOCOL_NOTE}`);
  }
  const keys = Object.keys(body);
  const shown = keys.length > 10 ? [...keys.slice(0, 10), "..."] : keys;
  const llmNote = keys.some((k) => LLM_KEYS.includes(k)) ? ' The LLM fields "messages", "prompt" and "input" are not supported.' : "";
  return new FormatError(`${MLFLOW_WORDING.notOneForm} Received dictionary with input fields: ${pyList(shown)}.${llmNote} ${PROTOCOL_NOTE}`);
}

/** MLflow's wording for a body that is not JSON, with the parser's reason. */
export function invalidJsonError(cause: unknown): FormatError {
  return new FormatError(`${MLFLOW_WORDING.invalidJson} ${(cause as Error).message.replace(/\.?$/, ".")}`, { cause });
}

/** Text without the byte-order mark a UTF-8 body may start with. */
export function withoutBom(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

function parseBody(body: unknown, limits: TableLimits): unknown {
  let text: string;
  if (typeof body === "string") text = body;
  else if (body instanceof Uint8Array) {
    try {
      text = utf8.decode(body);
    } catch (cause) {
      throw new FormatError(`${MLFLOW_WORDING.invalidJson} The body is not valid UTF-8.`, { cause });
    }
  } else return body;
  try {
    return parseJsonWithin(withoutBom(text), limits);
  } catch (cause) {
    if (cause instanceof SyntaxError) throw invalidJsonError(cause);
    throw cause;
  }
}

/** Positional column names: "0", "1", ... */
function positionalNames(count: number): string[] {
  return Array.from({ length: count }, (_, i) => String(i));
}

/** MLflow's wording for a form it could not make a frame of, and a space; nothing where MLflow has none. */
function lead(wording: string): string {
  return wording === "" ? "" : `${wording} `;
}

function checkUniqueNames(names: readonly string[], where: string, wording: string): void {
  // NB: on the request path: a few names are compared pairwise, without a Set per request.
  const seen = names.length > 16 ? new Set<string>() : undefined;
  for (let i = 0; i < names.length; i++) {
    const name = names[i] as string;
    const twice = seen ? seen.has(name) : names.indexOf(name) < i;
    if (twice) throw new FormatError(`${lead(wording)}${where} names the column "${name}" twice. Column names must be unique.`);
    seen?.add(name);
  }
}

/** Columns from row arrays, checking every row's width; `wording` starts the refusals (MLflow's for the form, or ""). */
function tableFromRowArrays(rows: readonly unknown[], names: string[] | undefined, where: string, limits: TableLimits, wording = ""): ColumnTable {
  const numRows = rows.length;
  const first = rows[0];
  checkTableSize(numRows, 0, limits, where);
  if (names === undefined) {
    if (numRows === 0) return { names: [], columns: [], numRows: 0 };
    if (!Array.isArray(first)) {
      throw new FormatError(`${lead(wording)}${where}[0] is ${showValue(first)}; each row must be a list of values such as [1, 0.5].`);
    }
    names = positionalNames(first.length);
  }
  const width = names.length;
  checkTableSize(numRows, width, limits, where);
  const columns: Cell[][] = new Array<Cell[]>(width);
  for (let c = 0; c < width; c++) columns[c] = new Array<Cell>(numRows);
  for (let r = 0; r < numRows; r++) {
    const row = rows[r];
    if (!Array.isArray(row)) {
      throw new FormatError(`${lead(wording)}${where}[${r}] is ${showValue(row)}; each row must be a list of values such as [1, 0.5].`);
    }
    if (row.length !== width) {
      throw new FormatError(
        `${lead(wording)}${where}[${r}] has ${row.length} values but there are ${width} columns ${pyList(names)}. Give every row one value per column.`,
      );
    }
    for (let c = 0; c < width; c++) (columns[c] as Cell[])[r] = row[c] as Cell;
  }
  return { names, columns, numRows };
}

/**
 * Columns from row objects; a key missing from a row is `null`. Columns in first-seen order. NB:
 * every new key is a column of `numRows` cells, so the limits are checked as columns appear.
 * `wording` starts the refusals (MLflow's for the form, or "").
 */
function tableFromRowObjects(records: readonly unknown[], where: string, limits: TableLimits, wording = ""): ColumnTable {
  const numRows = records.length;
  checkTableSize(numRows, 0, limits, where);
  const index = new Map<string, Cell[]>();
  for (let r = 0; r < numRows; r++) {
    const record = records[r];
    if (!isPlainObject(record)) {
      throw new FormatError(
        `${lead(wording)}${where}[${r}] is ${showValue(record)}; each element must be an object of column values such as {"a": 1, "b": 0.5}.`,
      );
    }
    for (const key in record) {
      let column = index.get(key);
      if (column === undefined) {
        checkTableSize(numRows, index.size + 1, limits, where);
        column = new Array<Cell>(numRows).fill(null);
        index.set(key, column);
      }
      column[r] = record[key] as Cell;
    }
  }
  return { names: [...index.keys()], columns: [...index.values()], numRows };
}

function tableFromSplit(split: unknown, limits: TableLimits): ColumnTable {
  if (!isPlainObject(split)) {
    throw new FormatError(
      `${MLFLOW_WORDING.splitNotAnObject} Got ${Array.isArray(split) ? "list" : `type ${pythonClass(split)}`}. ` +
        'Send {"dataframe_split": {"columns": [...], "data": [[...], ...]}}, or use "dataframe_records" for a list of row objects.',
    );
  }
  const keys = Object.keys(split);
  const unknown = keys.filter((k) => !SPLIT_KEYS.has(k));
  const { columns, data, index } = split;
  if (unknown.length > 0 || data === undefined) {
    const why =
      unknown.length > 0
        ? `dataframe_split has the unknown field(s) ${pyList(unknown)}; it accepts only "data", "columns" and "index".`
        : 'dataframe_split has no "data": send the rows as "data": [[1, 0.5], [2, 1.5]].';
    throw new FormatError(`${MLFLOW_WORDING.splitFields} Got ${pySet(keys)}. ${why}`);
  }
  const invalid = MLFLOW_WORDING.splitInvalid;
  if (!Array.isArray(data)) {
    throw new FormatError(`${invalid} dataframe_split.data must be a list of rows such as [[1, 0.5], [2, 1.5]]; got ${showValue(data)}.`);
  }
  let names: string[] | undefined;
  if (columns !== undefined && columns !== null) {
    if (!Array.isArray(columns) || !columns.every((n) => typeof n === "string" || typeof n === "number")) {
      throw new FormatError(`${invalid} dataframe_split.columns must be a list of column names such as ["a", "b"]; got ${showValue(columns)}.`);
    }
    names = columns.map(String);
    checkUniqueNames(names, "dataframe_split.columns", invalid);
  }
  if (index !== undefined && index !== null) {
    // NB: the index labels the rows and is dropped, as MLflow drops it; but pandas refuses one of another length, and so does pipeserve.
    if (!Array.isArray(index)) {
      throw new FormatError(`${invalid} dataframe_split.index must be a list of row labels, one per row, such as [0, 1]; got ${showValue(index)}.`);
    }
    if (index.length !== data.length) {
      throw new FormatError(
        `${invalid} dataframe_split.index has ${index.length} labels but "data" has ${data.length} rows. Give one label per row, or leave "index" out.`,
      );
    }
  }
  return tableFromRowArrays(data, names, "dataframe_split.data", limits, invalid);
}

/** The single-column table of a bare list of scalars or a bare scalar. */
function singleColumn(values: Cell[], schemaColumns: readonly string[] | undefined): ColumnTable {
  const name = schemaColumns?.length === 1 ? (schemaColumns[0] as string) : "0";
  return { names: [name], columns: [values], numRows: values.length };
}

function isScalar(value: unknown): boolean {
  return value === null || (typeof value !== "object" && typeof value !== "function");
}

function tableFromInstances(value: unknown, form: "instances" | "inputs", schemaColumns: readonly string[] | undefined, limits: TableLimits): ColumnTable {
  if (Array.isArray(value)) {
    if (value.length === 0) return { names: [], columns: [], numRows: 0 };
    const first: unknown = value[0];
    if (isPlainObject(first)) return tableFromRowObjects(value, form, limits);
    if (Array.isArray(first)) return tableFromRowArrays(value, undefined, form, limits);
    checkTableSize(value.length, 1, limits, form);
    for (let r = 0; r < value.length; r++) {
      if (!isScalar(value[r])) {
        throw new FormatError(
          `${form}[${r}] is ${showValue(value[r])} but ${form}[0] is ${showValue(first)}. Send a list of row objects, a list of row lists, or a list of scalars, not a mix.`,
        );
      }
    }
    return singleColumn(value as Cell[], schemaColumns);
  }
  if (isPlainObject(value)) {
    const names = Object.keys(value);
    if (names.length === 0) return { names: [], columns: [], numRows: 0 };
    const arrays = names.filter((n) => Array.isArray(value[n]));
    if (arrays.length === 0) {
      checkTableSize(1, names.length, limits, form);
      return { names, columns: names.map((n) => [value[n] as Cell]), numRows: 1 };
    }
    if (arrays.length !== names.length) {
      const scalar = names.find((n) => !Array.isArray(value[n])) as string;
      throw new FormatError(
        `${form} mixes list columns ("${arrays[0]}") with a single value ("${scalar}"). Give every column a list of values, or every column one value (one row).`,
      );
    }
    const columns = names.map((n) => value[n] as Cell[]);
    const numRows = (columns[0] as Cell[]).length;
    checkTableSize(numRows, names.length, limits, form);
    columns.forEach((column, i) => {
      if (column.length !== numRows) {
        throw new FormatError(
          `${MLFLOW_WORDING.columnLengths}: ${form} column "${names[i]}" has ${column.length} values but column "${names[0]}" has ${numRows}. ` +
            "All columns must have the same length.",
        );
      }
    });
    return { names, columns, numRows };
  }
  return singleColumn([value as Cell], schemaColumns);
}

/**
 * Parses an `/invocations` JSON body (PROTOCOL.md §2) into a table and the runtime params, with
 * one `JSON.parse` and no intermediate row objects. `body` is the raw text or bytes (UTF-8), or an
 * already parsed value.
 *
 * The body must be an object with exactly one of `dataframe_split`, `dataframe_records`,
 * `instances`, `inputs`; other top-level keys are ignored; `params` is an object or null.
 * - `dataframe_split`: `{data, columns?, index?}`; without `columns` the columns are positional,
 *   named `"0"`, `"1"`, ...; `index`, when given, must have one label per row (as pandas requires),
 *   and is then dropped.
 * - `dataframe_records`: a list of row objects; a key missing from a row is `null`.
 * - `instances` / `inputs`: a list of row objects; an object of column lists; an object of
 *   scalars (one row); a list of row lists (positional columns `"0"`, `"1"`, ...); or a bare list
 *   of scalars or a bare scalar — one column, named after `schemaColumns[0]` when the caller
 *   passes exactly one schema column name, else `"0"` (which `enforceSchema` maps onto a
 *   one-column signature).
 *
 * Columns may share arrays with a pre-parsed `body`; nothing here or in `enforceSchema` writes to them.
 *
 * The bare tokens `NaN`, `Infinity` and `-Infinity` are read as Python's `json` reads them (MLflow's
 * client writes every missing float as `NaN`): in the table `NaN` is a missing value (`null`), as
 * pandas reads it, and ±Infinity the doubles; in `params` all three stay numbers.
 *
 * `limits` bound the table (rows, and rows × columns) as it is built: a request form whose rows
 * would pass them is refused before its columns are made. Text is refused beyond MAX_JSON_DEPTH
 * levels of nesting whatever the limits.
 *
 * @throws FormatError (BAD_REQUEST) for malformed JSON, a body that is not an object, zero or two
 *   forms (the message lists the forms and notes that the 1.x `{"columns", "data"}` body is gone),
 *   a malformed form, ragged rows, an index of another length than the rows, or columns of
 *   unequal length. Each message starts with MLflow's own wording for the refusal
 *   (`MLFLOW_WORDING`), then says what is wrong and how to fix it.
 * @throws SchemaError (INVALID_PARAMETER_VALUE) when `params` is not an object
 *   (`Parameters must be a dictionary. Got type 'list'.`), as MLflow answers it; with
 *   `paramsDeclared: false` (a model without a params schema) such params are ignored, as MLflow's
 *   `_enforce_params_schema` ignores every param then.
 * @throws LimitError (REQUEST_TOO_LARGE) when the table would pass `limits`.
 */
export function parseJsonRequest(
  body: unknown,
  schemaColumns?: readonly string[],
  limits: TableLimits = NO_LIMITS,
  options: { paramsDeclared?: boolean } = {},
): JsonRequest {
  const parsed = parseBody(body, limits);
  if (!isPlainObject(parsed)) throw wrongFormsError(parsed);
  let form: JsonRequestForm | undefined;
  let count = 0;
  for (const key of JSON_REQUEST_FORMS) {
    if (Object.hasOwn(parsed, key)) {
      form = key;
      count++;
    }
  }
  if (count !== 1 || form === undefined) throw wrongFormsError(parsed);

  const rawParams = parsed["params"];
  let params: Record<string, unknown> | null = null;
  if (rawParams !== undefined && rawParams !== null && (isPlainObject(rawParams) || options.paramsDeclared !== false)) {
    if (!isPlainObject(rawParams)) {
      throw new SchemaError(
        `${MLFLOW_WORDING.paramsNotAnObject} Got type '${pythonTypeName(rawParams)}'. Send "params" as a JSON object such as {"threshold": 0.5}, or leave it out.`,
      );
    }
    params = rawParams;
  }

  const value = parsed[form];
  let table: ColumnTable;
  switch (form) {
    case "dataframe_split":
      table = tableFromSplit(value, limits);
      break;
    case "dataframe_records":
      if (!Array.isArray(value)) {
        throw new FormatError(
          `${MLFLOW_WORDING.recordsNotAList} Got ${isPlainObject(value) ? "dictionary" : `type ${pythonClass(value)}`}. ` +
            `Send a list of row objects such as [{"a": 1, "b": 0.5}]; got ${showValue(value)}.`,
        );
      }
      table = tableFromRowObjects(value, "dataframe_records", limits, MLFLOW_WORDING.recordsInvalid);
      break;
    case "instances":
    case "inputs":
      table = tableFromInstances(value, form, schemaColumns, limits);
      break;
  }
  // NB: only a body that held a bare NaN token is walked again; in params NaN stays a number.
  if (holdsNaN(parsed)) table = nanAsMissing(table);
  return { table, params, form };
}
