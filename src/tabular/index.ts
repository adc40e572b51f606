/**
 * @module tabular
 * One place for tabular data: the light `ColumnTable` every conversion goes through, danfojs
 * DataFrames for pipeline code, Arrow for the wire and files, CSV / JSON Lines / Parquet, MLflow
 * request forms and responses, and MLflow signatures (read, written, inferred and enforced).
 * Imports no other part of pipeserve.
 */
export { TabularError, FormatError, SchemaError, LimitError, NotUtf8Error, type ColumnValueIssue, type TabularErrorOptions } from "./errors.js";
export { DEFAULT_LIMITS, NO_LIMITS, type TableLimits, checkTableSize, formatCount, nextTurn, tooManyCells, tooManyRows } from "./limits.js";
export { MAX_JSON_DEPTH, SLICED_JSON_MIN, parseJsonWithin, parseJsonInSlices, utf8Text, type JsonRowLists } from "./json-text.js";
export { SAVE_AS_UTF8, checkedUtf8 } from "./utf8-check.js";
export { holdsNaN, nanAsMissing, parseJsonText } from "./json-parse.js";
export { MLFLOW_WORDING, pyList } from "./messages.js";
export {
  type Cell,
  type Column,
  type ColumnTable,
  type NumericArray,
  isNumericArray,
  columnValues,
  withPlainColumns,
  concatColumns,
  createTable,
  tableFromColumns,
  tableFromRows,
  tableFromRecords,
  tableToRecords,
  tableToColumns,
  sliceTable,
  concatTables,
  keepColumns,
  setKey,
} from "./column-table.js";
export type { DataFrame, Series } from "./dataframe-types.js";
export { loadDanfo, isDataFrame, isSeries, toDataFrame, fromDataFrame, cloneDataFrame, frameOfColumns } from "./dataframe.js";
export {
  fromArrow,
  fromArrowInSlices,
  toArrow,
  decodeArrowIpc,
  MAX_BODY_BATCHES,
  MAX_BODY_COLUMNS,
  encodeArrowIpc,
  ownArrowTable,
  arrowTypesOfColumns,
  declaredArrowTypes,
} from "./arrow.js";
export { arrowLib, isArrowTable } from "./arrow-lib.js";
export { parseCsv, parseCsvInSlices, toCsv, inferCsvCell, typeCsvColumns, parseNumberText, formatCsvCell, type CsvParseOptions } from "./csv.js";
export { parseJsonLines, parseJsonLinesInSlices, toJsonLines } from "./json-lines.js";
export { toJsonValue } from "./json-values.js";
export {
  parquetToArrow,
  parquetToTable,
  parquetFileRows,
  parquetFileRowGroups,
  parquetFileTables,
  arrowToParquet,
  loadParquetWasm,
  type ParquetReadOptions,
} from "./parquet.js";
export { readParquetSegments, type ParquetSegment } from "./parquet-segments.js";
export { parquetProjection } from "./parquet-projection.js";
export { readParquetFooter, readParquetFileFooter, type ParquetFooter } from "./parquet-footer.js";
export { parseIsoDateTime, formatIsoDateTimePython, decodeBase64 } from "./cell-codecs.js";
export {
  COLUMN_TYPES,
  PARAM_TYPES,
  type ColumnType,
  type ParamType,
  type ColumnSpec,
  type ParamSpec,
  type Signature,
  type MlflowSignature,
} from "./signature.js";
export { signatureToMlflow, signatureFromMlflow, describeZodIssues } from "./mlflow-signature.js";
export { declaredColumnTypes, inferSignature } from "./infer-signature.js";
export { type EnforcedTable, type EnforceOptions, enforceSchema, missingColumns } from "./enforce-columns.js";
export { type EnforcedParams, type ParamCheck, enforceParams, checkParamValue, ignoredParams } from "./enforce-params.js";
export { JSON_REQUEST_FORMS, type JsonRequestForm, type JsonRequest, parseJsonRequest, invalidJsonError, withoutBom } from "./request-forms.js";
export { splitRows } from "./split-rows.js";
export {
  BYTES_ANSWER_MIN_ROWS,
  encodePredictions,
  encodePredictionsBody,
  encodePredictionsUtf8,
  tableToRecordsJson,
  tableToRecordsJsonBytes,
} from "./response.js";
export {
  TABLE_FORMATS,
  type TableFormat,
  formatFromPath,
  parseTableFormat,
  decodeTable,
  encodeTable,
  readTableFile,
  writeTableFile,
} from "./files.js";
export { isColumnTable, isColumnsObject, asColumnTable, outputToTable } from "./as-table.js";
export {
  fileColumnTypes,
  readTableChunks,
  readCsvTail,
  readJsonLinesTail,
  readDataFrameChunks,
  regroupRows,
  type ChunkReadOptions,
} from "./chunked-readers.js";
export { type CsvHead, csvBlocks, csvBlockTables, readCsvHead } from "./csv-blocks.js";
export { type TextBlock } from "./text-blocks.js";
export { jsonLinesBlocks, jsonLinesBlockTables } from "./json-lines-blocks.js";
export { FileAccessError, checkInputFile, checkOutputFile, inputFileError } from "./file-access.js";
export {
  createTableFileWriter,
  createTableStreamWriter,
  encodeTextRows,
  writeBytes,
  type EncodedRows,
  type TableWriter,
  type TableWriterOptions,
} from "./chunked-writers.js";
export { INPUT_TYPES, COLUMN_ARRAYS, type InputType, type ColumnArrays, parseInputType, toInputType } from "./input-types.js";
