/**
 * @module tabular
 * One place for tabular data: the light `ColumnTable` every conversion goes through, danfojs
 * DataFrames for pipeline code, Arrow for the wire and files, CSV / JSON Lines / Parquet, and
 * (soon) MLflow request forms and signatures. Imports no other part of pipeserve.
 */
export { TabularError, FormatError, SchemaError } from "./errors.js";
export {
  type Cell,
  type ColumnTable,
  createTable,
  tableFromColumns,
  tableFromRows,
  tableFromRecords,
  tableToRecords,
  tableToColumns,
  sliceTable,
  concatTables,
} from "./column-table.js";
export { loadDanfo, isDataFrame, isSeries, toDataFrame, fromDataFrame, cloneDataFrame } from "./dataframe.js";
export { fromArrow, toArrow, decodeArrowIpc, encodeArrowIpc } from "./arrow.js";
export { parseCsv, toCsv, inferCsvCell, formatCsvCell, type CsvParseOptions } from "./csv.js";
export { parseJsonLines, toJsonLines } from "./json-lines.js";
export { toJsonValue } from "./json-values.js";
export { parquetToArrow, arrowToParquet, loadParquetWasm } from "./parquet.js";
export {
  TABLE_FORMATS,
  type TableFormat,
  formatFromPath,
  parseTableFormat,
  decodeTable,
  encodeTable,
  readTableFile,
  writeTableFile,
  writeFileAtomic,
} from "./files.js";
export { isColumnTable, asColumnTable } from "./as-table.js";
export { readTableChunks, readDataFrameChunks, type ChunkReadOptions } from "./chunked-readers.js";
export {
  createTableFileWriter,
  createTableStreamWriter,
  type TableWriter,
  type TableWriterOptions,
} from "./chunked-writers.js";
