// Generators of table bodies and files, right and wrong: CSV (ragged rows, quotes, line ends, BOM,
// other delimiters), JSON Lines (any values per line, blank lines, damaged lines), Arrow IPC
// (valid tables of every Arrow type, wrong names, duplicate names, no rows or no columns, in the
// stream and file formats) and Parquet written from those tables (in a thread of its own) — each
// also with byte damage.
import { createRequire } from "node:module";
import { Worker } from "node:worker_threads";
import * as arrow from "apache-arrow";
import fc from "fast-check";
import { anyText, cell, columnName, jsonText, mutate, mutations, mutationsFrom, scalar } from "./json-arbitraries.js";
import { RICH_COLUMNS } from "./rich-signature.js";

// CSV

/** A CSV field: plain text, a number, empty, quoted right, or quoted wrong. */
const csvField: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.oneof(fc.integer().map(String), fc.double().map(String), fc.constantFrom("1", "2.5", "-0", "1e5", "nan", "inf", "true", "")) },
  { weight: 3, arbitrary: anyText },
  { weight: 2, arbitrary: anyText.map((s) => `"${s.replace(/"/g, '""')}"`) },
  { weight: 1, arbitrary: fc.constantFrom('"', '"abc', 'a"b', '"a""', '"a"b', '"a\nb"', '"a\r\nb"', "a\rb", '""""', '" "x', "\\", '"\ufeff"') },
);

const csvRecord = (delimiter: string): fc.Arbitrary<string> => fc.array(csvField, { maxLength: 9 }).map((fields) => fields.join(delimiter));

/** A header: the signature's names mostly, quoted or not, duplicated now and then. */
const csvHeader = (delimiter: string): fc.Arbitrary<string> =>
  fc.oneof(
    {
      weight: 4,
      arbitrary: fc
        .array(columnName, { maxLength: 9 })
        .map((names) => names.map((n) => (/[",\r\n]/.test(n) ? `"${n.replace(/"/g, '""')}"` : n)).join(delimiter)),
    },
    { weight: 1, arbitrary: csvRecord(delimiter) },
  );

/** CSV aimed at the signature: some of its columns in any order, a value per column, near misses among them. */
const nearCsvText: fc.Arbitrary<string> = fc
  .shuffledSubarray([...RICH_COLUMNS], { minLength: 1 })
  .chain((names) => fc.tuple(fc.constant(names), fc.array(fc.array(csvField, { minLength: names.length, maxLength: names.length }), { maxLength: 6 })))
  .map(([names, rows]) => [names.join(","), ...rows.map((r) => r.join(","))].join("\n"));

/** CSV text with a header, records of any width, any line ends, and a BOM or blank lines now and then. */
const anyCsvText: fc.Arbitrary<string> = fc
  .tuple(
    fc.constantFrom(",", ",", ",", ";", "\t"),
    fc.constantFrom("\n", "\r\n", "\r"),
    fc.constantFrom("", "", "\ufeff", "\ufeff\ufeff", "\n\n"),
    fc.boolean(),
  )
  .chain(([delimiter, eol, prefix, trailing]) =>
    fc
      .tuple(
        csvHeader(delimiter),
        fc.array(fc.oneof({ weight: 6, arbitrary: csvRecord(delimiter) }, { weight: 1, arbitrary: fc.constant("") }), { maxLength: 12 }),
      )
      .map(([header, records]) => prefix + [header, ...records].join(eol) + (trailing ? eol : "")),
  );

/** CSV of every kind: aimed at the signature (1 in 3), or anything. */
export const csvText: fc.Arbitrary<string> = fc.oneof({ weight: 1, arbitrary: nearCsvText }, { weight: 2, arbitrary: anyCsvText });

/** CSV past 1 MiB, so the server counts and parses it in slices: a generated block repeated. */
export const bigCsvText: fc.Arbitrary<string> = fc.tuple(csvText, fc.integer({ min: 1, max: 4 })).map(([text, extra]) => {
  const [header = "", ...rest] = text.split("\n");
  const block = `${rest.join("\n") || "1,2.5"}\n`;
  return `${header}\n${block.repeat(Math.ceil((1_100_000 * extra) / 4 / block.length))}`;
});

// JSON Lines

const jsonLine: fc.Arbitrary<string> = fc.oneof(
  { weight: 6, arbitrary: fc.dictionary(columnName, cell, { maxKeys: 9 }).map(jsonText) },
  { weight: 2, arbitrary: fc.record({ a: scalar, b: scalar }, { requiredKeys: [] }).map(jsonText) },
  { weight: 1, arbitrary: fc.oneof(cell, fc.array(cell, { maxLength: 4 })).map(jsonText) },
  { weight: 1, arbitrary: fc.constantFrom("", "  ", "\t", "{", "}", '{"a": 1', "NaN", '{"a": NaN, "b": Infinity}', "[1, 2]", "null", '{"a":1}{"b":2}') },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 3_000 }).map((depth) => `{"a": ${"[".repeat(depth)}${"]".repeat(depth)}}`) },
);

/** JSON Lines: lines of row objects and of anything else, with \n or \r\n, a BOM now and then. */
export const jsonLinesText: fc.Arbitrary<string> = fc
  .tuple(fc.array(jsonLine, { maxLength: 10 }), fc.constantFrom("\n", "\r\n"), fc.constantFrom("", "", "\ufeff"), fc.boolean())
  .map(([lines, eol, prefix, trailing]) => prefix + lines.join(eol) + (trailing ? eol : ""));

/** JSON Lines past 1 MiB (read in slices by the server), or with one line that long. */
export const bigJsonLinesText: fc.Arbitrary<string> = fc
  .tuple(jsonLinesText, fc.boolean())
  .map(([text, oneLine]) => (oneLine ? `${text}\n{"a": 1, "b": [${"1.5,".repeat(300_000)}1.5]}\n` : `${text}\n${'{"a": 1, "b": 2.5}\n'.repeat(60_000)}`));

// Arrow

/** One Arrow type with a generator of its values (nulls among them). */
interface ArrowColumnKind {
  type: () => arrow.DataType;
  values: fc.Arbitrary<unknown>;
}

const date = fc.date({ min: new Date(-8.64e15), max: new Date(8.64e15), noInvalidDate: true });

const ARROW_KINDS: readonly ArrowColumnKind[] = [
  { type: () => new arrow.Int64(), values: fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }) },
  { type: () => new arrow.Int32(), values: fc.integer() },
  { type: () => new arrow.Int8(), values: fc.integer({ min: -128, max: 127 }) },
  { type: () => new arrow.Uint64(), values: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }) },
  { type: () => new arrow.Uint32(), values: fc.integer({ min: 0, max: 2 ** 32 - 1 }) },
  { type: () => new arrow.Float64(), values: fc.double() },
  { type: () => new arrow.Float32(), values: fc.float() },
  { type: () => new arrow.Float16(), values: fc.float({ min: -65504, max: 65504, noNaN: true }) },
  { type: () => new arrow.Bool(), values: fc.boolean() },
  { type: () => new arrow.Utf8(), values: anyText },
  { type: () => new arrow.LargeUtf8(), values: anyText },
  { type: () => new arrow.Binary(), values: fc.uint8Array({ maxLength: 8 }) },
  { type: () => new arrow.FixedSizeBinary(2), values: fc.uint8Array({ minLength: 2, maxLength: 2 }) },
  { type: () => new arrow.DateDay(), values: date },
  { type: () => new arrow.DateMillisecond(), values: date },
  { type: () => new arrow.TimestampMillisecond(), values: date },
  { type: () => new arrow.TimestampNanosecond("UTC"), values: date },
  { type: () => new arrow.TimeMillisecond(), values: fc.integer({ min: 0, max: 86_399_999 }) },
  { type: () => new arrow.DurationMillisecond(), values: fc.bigInt({ min: -(2n ** 40n), max: 2n ** 40n }) },
  { type: () => new arrow.Null(), values: fc.constant(null) },
  { type: () => new arrow.List(new arrow.Field("item", new arrow.Float64(), true)), values: fc.array(fc.double(), { maxLength: 3 }) },
  {
    type: () => new arrow.Struct([new arrow.Field("a", new arrow.Int32(), true), new arrow.Field("b", new arrow.Utf8(), true)]),
    values: fc.record({ a: fc.integer(), b: anyText }),
  },
  { type: () => new arrow.Dictionary(new arrow.Utf8(), new arrow.Int32()), values: fc.constantFrom("x", "y", "z", "") },
  { type: () => new arrow.Decimal(2, 10, 128), values: fc.constant(null) },
  { type: () => new arrow.IntervalDayTime(), values: fc.constant(null) },
];

/** A generated Arrow column: its name, its kind's index in ARROW_KINDS, and its values. */
interface ArrowColumn {
  name: string;
  kind: number;
  values: unknown[];
}

/** Columns for `numRows` rows: the signature's names mostly (duplicates allowed), values of the chosen Arrow type, nulls among them. */
function arrowColumns(numRows: number): fc.Arbitrary<ArrowColumn[]> {
  const column = fc.integer({ min: 0, max: ARROW_KINDS.length - 1 }).chain((kind) =>
    fc.record({
      name: columnName,
      kind: fc.constant(kind),
      values: fc.array(fc.option((ARROW_KINDS[kind] as ArrowColumnKind).values, { freq: 5 }), { minLength: numRows, maxLength: numRows }),
    }),
  );
  return fc.array(column, { maxLength: 6 });
}

/** An Arrow table of generated columns; names may repeat, which a `Record` of vectors could not hold. */
export function arrowTable(columns: readonly ArrowColumn[], numRows: number): arrow.Table {
  const vectors = columns.map((c) => arrow.vectorFromArray(c.values, (ARROW_KINDS[c.kind] as ArrowColumnKind).type() as never) as arrow.Vector);
  const fields = columns.map((c, i) => new arrow.Field(c.name, (vectors[i] as arrow.Vector).type, true));
  const data = arrow.makeData({ type: new arrow.Struct(fields), length: numRows, nullCount: 0, children: vectors.map((v) => v.data[0] as arrow.Data) });
  return new arrow.Table(new arrow.RecordBatch(new arrow.Schema(fields), data));
}

/** Generated Arrow tables: 0 to 12 rows (sometimes none), 0 to 6 columns of any type. */
export const arrowTables: fc.Arbitrary<arrow.Table> = fc
  .oneof({ weight: 1, arbitrary: fc.constant(0) }, { weight: 6, arbitrary: fc.integer({ min: 1, max: 12 }) })
  .chain((numRows) => arrowColumns(numRows).map((columns) => arrowTable(columns, numRows)));

/**
 * A table as Arrow IPC. NB: apache-arrow's writer refuses two dictionary columns of one name ("two
 * different dictionaries with the same Id"); such a table is written without its dictionary columns.
 */
function ipcOf(table: arrow.Table, format: "stream" | "file"): Uint8Array {
  try {
    return arrow.tableToIPC(table, format);
  } catch {
    const keep = table.schema.fields.flatMap((f, i) => (arrow.DataType.isDictionary(f.type) ? [] : [i]));
    return arrow.tableToIPC(table.selectAt(keep), format);
  }
}

/** A generated table as Arrow IPC, in the stream or the file format. */
export const arrowIpc: fc.Arbitrary<{ bytes: Uint8Array; format: "stream" | "file" }> = fc
  .tuple(arrowTables, fc.constantFrom("stream" as const, "file" as const))
  .map(([table, format]) => ({ bytes: ipcOf(table, format), format }));

/** Arrow IPC bytes, whole (2 in 5) or damaged. */
export const arrowBytes: fc.Arbitrary<{ bytes: Uint8Array; format: "stream" | "file" }> = fc
  .tuple(arrowIpc, fc.option(mutations, { freq: 5, nil: undefined }), fc.integer({ min: 0, max: 4 }))
  .map(([ipc, steps, keep]) => (steps && keep >= 2 ? { bytes: mutate(ipc.bytes, steps), format: ipc.format } : ipc));

// Parquet

/**
 * Writes each Arrow IPC stream as Parquet in a thread of its own (null where the writer fails).
 * NB: never in this process's parquet-wasm: its writer panics on some tables (a Time32 column,
 * Arrow JS's empty offsets), and a panic leaves the WebAssembly instance broken for every later
 * call — the decoder of the server under test included. A thread that fails is replaced.
 */
const WRITER = `
const { parentPort, workerData } = require("node:worker_threads");
const pq = require(workerData.wasm);
parentPort.once("message", (streams) => {
  const files = [];
  for (const ipc of streams) {
    try {
      files.push(pq.writeParquet(pq.Table.fromIPCStream(ipc)));
    } catch {
      files.push(null);
      break;
    }
  }
  parentPort.postMessage(files);
});
`;

function writeInThread(streams: readonly Uint8Array[]): Promise<(Uint8Array | null)[]> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(WRITER, { eval: true, workerData: { wasm: createRequire(import.meta.url).resolve("parquet-wasm") } });
    worker.once("message", (files: (Uint8Array | null)[]) => {
      void worker.terminate();
      resolve(files);
    });
    worker.once("error", reject);
    worker.postMessage(streams);
  });
}

/**
 * Valid Parquet files of generated tables of every Arrow type parquet-wasm writes: the same files
 * for the same seed. Made once, before the properties run.
 */
export async function parquetCorpus(count: number, seed: number): Promise<Uint8Array[]> {
  const streams = fc.sample(arrowTables, { numRuns: count, seed }).map((table) => ipcOf(table, "stream"));
  const files: Uint8Array[] = [];
  for (let next = 0; next < streams.length; ) {
    const written = await writeInThread(streams.slice(next));
    for (const file of written) if (file) files.push(file);
    next += written.length;
  }
  return files;
}

/** Parquet bytes from a corpus, whole (1 in 4) or damaged anywhere or in the footer (its last fifth): truncated, flipped, spliced. */
export function parquetBytes(corpus: readonly Uint8Array[]): fc.Arbitrary<Uint8Array> {
  return fc
    .tuple(fc.constantFrom(...corpus), fc.oneof(mutations, mutationsFrom(0.8)), fc.integer({ min: 0, max: 3 }))
    .map(([bytes, steps, keep]) => (keep === 0 ? bytes : mutate(bytes, steps)));
}
