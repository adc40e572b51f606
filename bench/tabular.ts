/**
 * bench/tabular — request decoding throughput and chunked-read memory (issue #3).
 *
 * 1. Throughput, for one 100,000-row × 8-column table (long, double, unicode string, boolean,
 *    optional double with nulls, datetime, integer, string category), generated from a seeded PRNG
 *    and encoded once in each wire format, then decoded and enforced against its signature:
 *    - JSON `{"dataframe_split": ...}`: parseJsonRequest + enforceSchema;
 *    - the same JSON with the optional double's missing values as bare `NaN` tokens, as MLflow's
 *      Python client writes them (not JSON: read by the fallback parser after JSON.parse refuses it);
 *    - CSV: parseCsv(text, { raw: true }) + enforceSchema(..., { fromText: true });
 *    - Arrow IPC stream: decodeArrowIpc + fromArrow + enforceSchema.
 *    Rows/s is the median of several repetitions; ratios are against JSON. And the JSON body's
 *    bounded parse (parseJsonWithin: a scan of its structure for depth, rows and cells, then
 *    JSON.parse) beside JSON.parse alone: what the request path's bounds cost.
 * 2. One 1,000,000-row column at a time — Utf8 labels, distinct Utf8 ids, LargeUtf8 labels,
 *    dictionary-encoded labels (pandas categoricals), Int64 counts — read by fromArrow against
 *    apache-arrow's own iterator over the same vector, taking turns (see textColumns).
 * 3. Memory: flights-3m.parquet (3,000,000 rows, from the vega-datasets package) read with
 *    readTableChunks in 65,536-row chunks, whole and only its first tenth (300,000 rows), each in
 *    its own child process; peak RSS must not grow with the amount read (ratio close to 1). Done
 *    twice: as is (V8 collects when it likes, so peaks include uncollected garbage), and with a
 *    full GC after each chunk (the memory the reader actually retains).
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import {
  arrowLib,
  decodeArrowIpc,
  encodeArrowIpc,
  enforceSchema,
  fromArrow,
  parseCsv,
  parseJsonRequest,
  parseJsonWithin,
  toArrow,
  toCsv,
  type Cell,
  type ColumnSpec,
  type ColumnTable,
} from "../src/tabular/index.js";
import { report } from "./harness.js";

const ROWS = 100_000;
const REPEATS = 7;
const WARMUP = 2;
const CHUNK_ROWS = 65_536;
const PARQUET_ROWS = 3_000_000;
const TENTH_ROWS = PARQUET_ROWS / 10;

const require = createRequire(import.meta.url);

// ---------------------------------------------------------------------------------------------
// The table
// ---------------------------------------------------------------------------------------------

/** mulberry32: a small, fast, seeded PRNG returning floats in [0, 1). */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const NAMES = ["Zürich", "São Paulo", "東京", "Kraków", "naïve café", "Ærøskøbing", "🚀 launch", "plain", "Smith, John", 'say "hi"', "Đà Nẵng", "Москва"];
const CATEGORIES = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta"];

const SPECS: ColumnSpec[] = [
  { name: "id", type: "long", required: true },
  { name: "price", type: "double", required: true },
  { name: "label", type: "string", required: true },
  { name: "active", type: "boolean", required: true },
  { name: "score", type: "double", required: false },
  { name: "ts", type: "datetime", required: true },
  { name: "qty", type: "integer", required: true },
  { name: "category", type: "string", required: true },
];

// NB: apache-arrow's types from the build pipeserve loads (arrowLib: its CommonJS one); types from
// an `import "apache-arrow"` (the ES module build) are another build's, which toArrow cannot read.
const { Bool, Dictionary, Float64, Int32, Int64, TimestampMillisecond, Utf8 } = arrowLib();
const ARROW_TYPES = {
  id: new Int64(),
  price: new Float64(),
  label: new Utf8(),
  active: new Bool(),
  score: new Float64(),
  ts: new TimestampMillisecond(),
  qty: new Int32(),
  category: new Dictionary(new Utf8(), new Int32()),
};

interface Generated {
  /** Datetimes as ISO text (what JSON and CSV carry). */
  text: ColumnTable;
  /** Datetimes as Dates (what Arrow carries). */
  typed: ColumnTable;
}

function generate(rows: number, seed: number): Generated {
  const rand = prng(seed);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(rand() * list.length)] as T;
  const id: Cell[] = [];
  const price: Cell[] = [];
  const label: Cell[] = [];
  const active: Cell[] = [];
  const score: Cell[] = [];
  const tsDates: Cell[] = [];
  const tsText: Cell[] = [];
  const qty: Cell[] = [];
  const category: Cell[] = [];
  const t0 = Date.UTC(2020, 0, 1);
  const span = Date.UTC(2025, 0, 1) - t0;
  for (let r = 0; r < rows; r++) {
    id.push(1_000_000_000_000 + r * 7 + Math.floor(rand() * 7));
    price.push(Math.round(rand() * 1e6) / 100);
    label.push(`${pick(NAMES)} #${Math.floor(rand() * 10_000)}`);
    active.push(rand() < 0.5);
    score.push(rand() < 0.1 ? null : rand() * 2 - 1);
    const date = new Date(t0 + Math.floor(rand() * span));
    tsDates.push(date);
    tsText.push(date.toISOString());
    qty.push(Math.floor(rand() * 2_000_001) - 1_000_000);
    category.push(pick(CATEGORIES));
  }
  const names = SPECS.map((s) => s.name as string);
  return {
    text: { names, columns: [id, price, label, active, score, tsText, qty, category], numRows: rows },
    typed: { names, columns: [id, price, label, active, score, tsDates, qty, category], numRows: rows },
  };
}

// ---------------------------------------------------------------------------------------------
// Throughput
// ---------------------------------------------------------------------------------------------

interface Throughput {
  bodyMB: number;
  medianMs: number;
  minMs: number;
  rowsPerSec: number;
}

function time<T = ColumnTable>(rows: number, bodyBytes: number, fn: () => T, verify: (result: T, rows: number) => void = check as never): Throughput {
  for (let i = 0; i < WARMUP; i++) verify(fn(), rows);
  const ms: number[] = [];
  for (let i = 0; i < REPEATS; i++) {
    const start = process.hrtime.bigint();
    const result = fn();
    ms.push(Number(process.hrtime.bigint() - start) / 1e6);
    verify(result, rows);
  }
  ms.sort((a, b) => a - b);
  const median = ms[Math.floor(ms.length / 2)] as number;
  return {
    bodyMB: Math.round((bodyBytes / 1024 / 1024) * 100) / 100,
    medianMs: Math.round(median * 10) / 10,
    minMs: Math.round((ms[0] as number) * 10) / 10,
    rowsPerSec: Math.round(rows / (median / 1000)),
  };
}

/** A cheap sanity check that every format decoded to the same table shape and types. */
function check(table: ColumnTable, rows: number): void {
  if (table.numRows !== rows || table.names.length !== SPECS.length) throw new Error(`decoded ${table.numRows} × ${table.names.length}`);
  const ts = table.columns[5]?.[0];
  const id = table.columns[0]?.[0];
  const active = table.columns[3]?.[0];
  if (!(ts instanceof Date) || typeof id !== "number" || typeof active !== "boolean") {
    throw new Error(`unexpected cell types: ts ${String(ts)}, id ${typeof id}, active ${typeof active}`);
  }
}

function throughput(): Record<string, unknown> {
  const { text, typed } = generate(ROWS, 20240603);
  const rows = Array.from({ length: text.numRows }, (_, r) => text.columns.map((c) => c[r]));
  const jsonBody = JSON.stringify({ dataframe_split: { columns: text.names, data: rows } });
  const csvBody = toCsv(text);
  const arrowBody = encodeArrowIpc(toArrow(typed, ARROW_TYPES), "stream");
  const names = SPECS.map((s) => s.name as string);

  const json = time(ROWS, Buffer.byteLength(jsonBody), () => enforceSchema(parseJsonRequest(jsonBody, names).table, SPECS).table);
  // NB: only the score column holds nulls, each between two commas.
  const nanBody = jsonBody.replaceAll(",null,", ",NaN,");
  const nanTokens = time(ROWS, Buffer.byteLength(nanBody), () => enforceSchema(parseJsonRequest(nanBody, names).table, SPECS).table);
  const csv = time(ROWS, Buffer.byteLength(csvBody), () => enforceSchema(parseCsv(csvBody, { raw: true }), SPECS, { fromText: true }).table);
  const arrow = time(ROWS, arrowBody.byteLength, () => enforceSchema(fromArrow(decodeArrowIpc(arrowBody)), SPECS).table);
  // The bounds-checked parse of a body (its structure scanned for depth, rows and cells first) beside JSON.parse alone.
  const jsonBytes = Buffer.from(jsonBody);
  const parsedRows = (body: unknown, n: number): void => {
    if ((body as { dataframe_split?: { data?: unknown[] } }).dataframe_split?.data?.length !== n) throw new Error("the JSON body parsed to another shape");
  };
  const boundedParse = time(ROWS, jsonBytes.byteLength, () => parseJsonWithin(jsonBytes, { maxRows: ROWS, maxCells: ROWS * SPECS.length }), parsedRows);
  const parseAlone = time(ROWS, jsonBytes.byteLength, () => JSON.parse(jsonBytes.toString("utf8")) as unknown, parsedRows);

  const ratio = (a: number, b: number): number => Math.round((a / b) * 100) / 100;
  return {
    rows: ROWS,
    columns: SPECS.map((s) => `${s.name}:${s.type}${s.required ? "" : "?"}`),
    repeats: REPEATS,
    jsonDataframeSplit: json,
    jsonDataframeSplitNaNTokens: nanTokens,
    csv,
    arrowIpcStream: arrow,
    ratioArrowToJson: ratio(arrow.rowsPerSec, json.rowsPerSec),
    ratioCsvToJson: ratio(csv.rowsPerSec, json.rowsPerSec),
    ratioNaNTokensToJson: ratio(nanTokens.rowsPerSec, json.rowsPerSec),
    jsonBodyParse: { bounded: boundedParse, jsonParseAlone: parseAlone, ratioBoundedToAlone: ratio(boundedParse.rowsPerSec, parseAlone.rowsPerSec) },
  };
}

// ---------------------------------------------------------------------------------------------
// Chunked Parquet memory
// ---------------------------------------------------------------------------------------------

/** flights-3m.parquet from vega-datasets (whose package.json is not exported: walk up from its entry). */
function flightsPath(): string {
  let dir = dirname(require.resolve("vega-datasets"));
  for (;;) {
    const candidate = join(dir, "data", "flights-3m.parquet");
    if (existsSync(candidate)) return candidate;
    const parent = dirname(dir);
    if (parent === dir) throw new Error("flights-3m.parquet not found in the vega-datasets package");
    dir = parent;
  }
}

interface ChildRead {
  rows: number;
  chunks: number;
  seconds: number;
  rowsPerSec: number;
  baselineRssMB: number;
  peakRssMB: number;
  maxRssMB: number;
}

function readInChild(path: string, maxRows: number | undefined, gcEachChunk: boolean): Promise<ChildRead> {
  const script = join(import.meta.dirname, "tabular-parquet-child.ts");
  // tsx resolved from here, not from the working directory.
  const tsx = pathToFileURL(require.resolve("tsx")).href;
  const args = [
    ...(gcEachChunk ? ["--expose-gc"] : []),
    "--import",
    tsx,
    script,
    path,
    String(CHUNK_ROWS),
    maxRows === undefined ? "all" : String(maxRows),
    ...(gcEachChunk ? ["gc"] : []),
  ];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (out += d));
    child.on("error", reject);
    child.on("close", (code) => {
      const line = out.trim().split("\n").at(-1) ?? "";
      if (code !== 0) return reject(new Error(`parquet child exited with ${code}: ${out}`));
      try {
        resolve(JSON.parse(line) as ChildRead);
      } catch (cause) {
        reject(new Error(`parquet child printed no result: ${out}`, { cause }));
      }
    });
  });
}

async function fullAndTenth(path: string, gcEachChunk: boolean): Promise<Record<string, unknown>> {
  const tenth = await readInChild(path, TENTH_ROWS, gcEachChunk);
  const full = await readInChild(path, undefined, gcEachChunk);
  const ratio = (a: number, b: number): number => Math.round((a / b) * 100) / 100;
  return {
    full,
    tenth,
    ratioPeakRssFullToTenth: ratio(full.peakRssMB, tenth.peakRssMB),
    ratioMaxRssFullToTenth: ratio(full.maxRssMB, tenth.maxRssMB),
  };
}

async function parquetMemory(): Promise<Record<string, unknown>> {
  const path = flightsPath();
  return {
    file: "vega-datasets/data/flights-3m.parquet",
    chunkRows: CHUNK_ROWS,
    // The tenth stops at the first chunk boundary at or past 300,000 rows.
    tenthStopsAfterRows: TENTH_ROWS,
    // As a pipeline would run: V8 collects when it likes, so the peak includes uncollected garbage.
    asIs: await fullAndTenth(path, false),
    // A full GC after each chunk (node --expose-gc): the memory the reader actually retains.
    gcEachChunk: await fullAndTenth(path, true),
  };
}

// ---------------------------------------------------------------------------------------------
// Text columns
// ---------------------------------------------------------------------------------------------

/**
 * One Utf8 column of 1,000,000 rows read by fromArrow, against apache-arrow's own iterator over
 * the same vector (the baseline, in the same run, taking turns): labels (three short values
 * repeated, which fromArrow shares: one string per value, not per cell) and distinct ids (which it
 * stops trying to share).
 */
function textColumns(): Record<string, unknown> {
  const rows = 1_000_000;
  const A = arrowLib();
  const labels = Array.from({ length: rows }, (_, i) => ["Torgersen", "Biscoe", "Dream"][(i * 7919) % 3] as string);
  const ids = Array.from({ length: rows }, (_, i) => `id-${(i * 7919) % rows}`);
  const counts = Array.from({ length: rows }, (_, i) => BigInt((i * 7919) % 100_000) - 50_000n);
  // NB: pandas sends integers as Int64, Polars text as LargeUtf8 (so do Parquet files read by parquet-wasm).
  const columns = {
    labels: toArrow({ names: ["s"], columns: [labels], numRows: rows }),
    ids: toArrow({ names: ["s"], columns: [ids], numRows: rows }),
    largeUtf8Labels: new A.Table({ s: A.vectorFromArray(labels, new A.LargeUtf8()) }),
    dictionaryLabels: new A.Table({ s: A.vectorFromArray(labels, new A.Dictionary(new A.Utf8(), new A.Int32())) }),
    int64: new A.Table({ s: A.vectorFromArray(counts, new A.Int64()) }),
  };
  // What fromArrow gave before it read these buffers itself: the iterator, 64-bit integers made numbers where safe.
  const safe = (v: unknown): unknown => (typeof v === "bigint" && v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(v) : v);
  const out: Record<string, unknown> = {};
  for (const [name, built] of Object.entries(columns)) {
    const table = decodeArrowIpc(encodeArrowIpc(built, "stream"));
    const first = safe(table.getChildAt(0)?.get(1));
    const ms = { fromArrow: [] as number[], iterator: [] as number[] };
    for (let i = 0; i < 2 + REPEATS; i++) {
      for (const way of i % 2 ? (["fromArrow", "iterator"] as const) : (["iterator", "fromArrow"] as const)) {
        const start = process.hrtime.bigint();
        const read = way === "fromArrow" ? (fromArrow(table).columns[0] as unknown[]) : Array.from(table.getChildAt(0) as Iterable<unknown>, safe);
        if (read.length !== rows || read[1] !== first) throw new Error(`${way} read ${read.length} rows`);
        if (i >= 2) ms[way].push(Number(process.hrtime.bigint() - start) / 1e6);
      }
    }
    const median = (v: number[]): number => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)] as number;
    out[name] = {
      fromArrowMedianMs: Math.round(median(ms.fromArrow) * 10) / 10,
      iteratorMedianMs: Math.round(median(ms.iterator) * 10) / 10,
      ratioIteratorToFromArrow: Math.round((median(ms.iterator) / median(ms.fromArrow)) * 100) / 100,
    };
  }
  return { rows, ...out };
}

export async function main(): Promise<void> {
  const results = { decode100kx8: throughput(), text1MRows: textColumns(), parquetChunkedRead: await parquetMemory() };
  await report("tabular", results);
}
