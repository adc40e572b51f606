/**
 * Wording for error messages. The helpers are internal (not exported from the folder's index):
 * values are shown as JSON, cut short, with their kind, so a message says exactly what arrived.
 * `MLFLOW_WORDING` is exported: the server words its own refusals with it too.
 */

/**
 * MLflow's own fixed wording for every refusal pipeserve shares with it, in one place. Where MLflow
 * refuses the same input, pipeserve's message starts with these words (clients and runbooks grep
 * for them), then says pipeserve's clearer explanation: the field, the row, the value seen, the
 * fix. Each is MLflow's text as it stands (with its own punctuation, or none). Taken from MLflow 3.6's scoring server (`mlflow/pyfunc/scoring_server/__init__.py`), its
 * request parsing (`mlflow/utils/proto_json_utils.py`: `MlflowInvalidInputException` puts
 * "Invalid input. " first), schema enforcement (`mlflow/models/utils.py`) and params
 * (`mlflow/types/schema.py`, `ParamSpec.validate_type_and_shape`). MLflow's wrapper around errors
 * raised inside `predict` ("Failed to predict data '<the whole frame>'. Error: ") is left out:
 * pipeserve checks the input before it predicts, and never echoes the whole input.
 */
export const MLFLOW_WORDING = {
  /** The body is not JSON (`_decode_json_input`). */
  invalidJson: "Invalid input. Ensure that input is a valid JSON formatted string.",
  /** The body is JSON but not an object (`_decode_json_input`); pipeserve adds what arrived. */
  notAnObject:
    "Invalid input. The input must be a JSON dictionary with exactly one of the input fields {'dataframe_split', 'dataframe_records', 'instances', 'inputs'}.",
  /** An object without exactly one form key (`infer_and_parse_data`). */
  notOneForm: "The input must be a JSON dictionary with exactly one of the input fields {'dataframe_split', 'dataframe_records', 'instances', 'inputs'}.",
  /** Appended by MLflow to the two above for bodies that look like MLflow 1.x's. */
  protocolChange: "IMPORTANT: The MLflow Model scoring protocol has changed in MLflow version 2.0.",
  /** `dataframe_split` is not an object (`dataframe_from_parsed_json`); then "Got list." or "Got type <class 'str'>.". */
  splitNotAnObject: "Invalid input. Dataframe split format must be a dictionary.",
  /** `dataframe_split` without `data`, or with other keys. */
  splitFields: "Invalid input. Dataframe split format must have 'data' field and optionally 'columns' and 'index' fields.",
  /** pandas could not build the frame: ragged rows, an index of another length, bad column names. */
  splitInvalid: "Invalid input. Provided dataframe_split field is not a valid dataframe representation in 'split' format.",
  /** `dataframe_records` is not a list; then "Got dictionary." or "Got type <class 'str'>.". */
  recordsNotAList: "Invalid input. Dataframe records format must be a list of records.",
  /** pandas could not build the frame from the records. */
  recordsInvalid: "Invalid input. Provided dataframe_records field is not a valid dataframe representation in 'records' format.",
  /** `instances` / `inputs` columns of unequal length (`parse_instances_data`). */
  columnLengths: "Invalid input. The length of values for each input/column name are not the same",
  /** A value the signature's type cannot hold (`MlflowFailedTypeConversion`); then "Failed to convert column a to type 'int64'.". */
  notCompatible: "Invalid input. Data is not compatible with model signature.",
  /** A CSV body pandas cannot read, or read with the signature's types (`parse_csv_input`). */
  csvParse:
    "Failed to parse input as a Pandas DataFrame. Ensure that the input is a valid CSV-formatted Pandas DataFrame produced using the `pandas.DataFrame.to_csv()` method.",
  /** A required column is absent (`_enforce_schema`); then the list and "Note that there were extra inputs: [...]". */
  missingInputs: "Model is missing inputs",
  /** Fewer columns than an unnamed signature declares. */
  missingPositional: "Model inference is missing inputs.",
  /** `params` is not an object (`_enforce_params_schema`); then "Got type 'list'.". */
  paramsNotAnObject: "Parameters must be a dictionary.",
  /** Some params were refused (`_enforce_params_schema`); then each refusal. */
  invalidParams: "Invalid parameters found:",
  /** The Content-Type is neither JSON nor CSV (pipeserve takes more types, and names them). */
  contentType: "This predictor only supports the following content types",
  /** A Content-Type parameter other than charset. */
  contentTypeParameter: "Unrecognized content type parameters:",
  /** A charset other than UTF-8. */
  charset: "The scoring server only supports UTF-8",
  /** The prediction outlived the timeout (the 504's plain-text body in MLflow). */
  timeout: "Request processing time exceeded limit",
  /** The model itself failed (MLflow answers 400, pipeserve 500 naming the node). */
  modelFailed: "Encountered an unexpected error while evaluating the model.",
} as const;

/** MLflow's wording for one column's failed conversion: `Failed to convert column a to type 'int64'.`. */
export function mlflowConversion(column: string, numpyType: string): string {
  return `${MLFLOW_WORDING.notCompatible} Failed to convert column ${column} to type '${numpyType}'.`;
}

/** MLflow's wording for a column whose values its type does not take safely: `Incompatible input types for column a.`. */
export function mlflowIncompatible(column: string): string {
  return `Incompatible input types for column ${column}.`;
}

/** Python's `repr(type(value))` for a JSON value, as MLflow's messages print it: `<class 'float'>`. */
export function pythonClass(value: unknown): string {
  return `<class '${pythonTypeName(value)}'>`;
}

const MAX_SHOWN = 60;

function clip(text: string): string {
  return text.length <= MAX_SHOWN ? text : `${text.slice(0, MAX_SHOWN - 1)}…`;
}

function json(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/** A value as a message shows it: `"abc" (a string)`, `1.7`, `null`, `[1,2] (a list)`. */
export function showValue(value: unknown): string {
  switch (typeof value) {
    case "string":
      return `${clip(JSON.stringify(value))} (a string)`;
    case "number":
      return String(value);
    case "boolean":
      return `${String(value)} (a boolean)`;
    case "bigint":
      return `${value.toString()} (a bigint)`;
    case "undefined":
      return "nothing";
    case "object": {
      if (value === null) return "null";
      if (value instanceof Date) return `the date ${Number.isNaN(value.getTime()) ? "Invalid Date" : value.toISOString()}`;
      if (value instanceof Uint8Array) return `${value.byteLength} bytes`;
      if (Array.isArray(value)) return `${clip(json(value))} (a list)`;
      return `${clip(json(value))} (an object)`;
    }
    default:
      return typeof value;
  }
}

/** Python's name for the JSON kind of a value, as MLflow's messages print it (`list`, `dict`, `str`). */
export function pythonTypeName(value: unknown): string {
  if (value === null || value === undefined) return "NoneType";
  if (Array.isArray(value)) return "list";
  switch (typeof value) {
    case "string":
      return "str";
    case "number":
      return Number.isInteger(value) ? "int" : "float";
    case "boolean":
      return "bool";
    case "object":
      return "dict";
    default:
      return typeof value;
  }
}

/** Python's `repr()` of a string: `'a'`, or `"it's"` when it holds a single quote. */
export function pyRepr(text: string): string {
  if (text.includes("'") && !text.includes('"')) return `"${text.replace(/\\/g, "\\\\")}"`;
  return `'${text.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;
}

/** Python's `repr()` of a list of strings: `['a', 'b']`. */
export function pyList(texts: readonly string[]): string {
  return `[${texts.map(pyRepr).join(", ")}]`;
}

/** Python's `repr()` of a set of strings, in the order given: `{'a', 'b'}` (`set()` when empty). */
export function pySet(texts: readonly string[]): string {
  return texts.length === 0 ? "set()" : `{${texts.map(pyRepr).join(", ")}}`;
}
