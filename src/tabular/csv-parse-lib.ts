import { createRequire } from "node:module";

type CsvParse = typeof import("csv-parse");
type CsvParseSync = typeof import("csv-parse/sync");

let streaming: CsvParse | undefined;
let sync: CsvParseSync | undefined;
const require = createRequire(import.meta.url);

/**
 * csv-parse's streaming parser, loaded at its first use. NB: plain CSV (most files and bodies) is
 * read by uDSV (csv-plain.ts); csv-parse reads only quoted fields with line breaks and other
 * non-plain text, so a start that never meets such text (`predict` of a plain CSV file, `serve`)
 * does not load its eleven modules (~10 ms). Its CommonJS build: one file.
 */
export function csvParseStream(): CsvParse["parse"] {
  streaming ??= require("csv-parse") as CsvParse;
  return streaming.parse;
}

/** csv-parse's synchronous parser, loaded at its first use (see `csvParseStream`). */
export function csvParseSync(): CsvParseSync["parse"] {
  sync ??= require("csv-parse/sync") as CsvParseSync;
  return sync.parse;
}
