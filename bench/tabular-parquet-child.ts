/**
 * Child process of bench/tabular (not a benchmark of its own): reads a Parquet file with
 * readTableChunks and prints, as one JSON line on stdout, the rows read, the time taken and the
 * peak resident set size. Run alone so that nothing else in the process inflates its RSS:
 *
 *   node [--expose-gc] --import tsx bench/tabular-parquet-child.ts <file.parquet> <chunkRows> [maxRows|all] [gc]
 *
 * Reading stops once `maxRows` rows have been read (the whole file with `all` or without it).
 * With `gc` (and --expose-gc) a full collection runs after each chunk, so the peak is the memory
 * the reader retains rather than garbage V8 has not collected yet.
 */
import { readTableChunks } from "../src/tabular/index.js";

const [path, chunkRowsText, maxRowsText, gcFlag] = process.argv.slice(2);
if (path === undefined || chunkRowsText === undefined) {
  console.error("usage: tabular-parquet-child.ts <file.parquet> <chunkRows> [maxRows|all] [gc]");
  process.exit(2);
}
const chunkRows = Number(chunkRowsText);
const maxRows = maxRowsText === undefined || maxRowsText === "all" ? Number.POSITIVE_INFINITY : Number(maxRowsText);
const gc = gcFlag === "gc" ? (globalThis as { gc?: () => void }).gc : undefined;
if (gcFlag === "gc" && gc === undefined) {
  console.error("gc needs node --expose-gc");
  process.exit(2);
}

const MB = 1024 * 1024;
let peakRss = 0;
const sample = (): void => {
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
};
sample();
const baselineRss = peakRss;
const timer = setInterval(sample, 10);

let rows = 0;
let chunks = 0;
const start = process.hrtime.bigint();
for await (const chunk of readTableChunks(path, { chunkRows })) {
  rows += chunk.numRows;
  chunks++;
  gc?.();
  sample();
  if (rows >= maxRows) break;
}
const seconds = Number(process.hrtime.bigint() - start) / 1e9;
clearInterval(timer);
sample();

const round = (x: number): number => Math.round(x * 10) / 10;
console.log(
  JSON.stringify({
    rows,
    chunks,
    seconds: Math.round(seconds * 1000) / 1000,
    rowsPerSec: Math.round(rows / seconds),
    baselineRssMB: round(baselineRss / MB),
    peakRssMB: round(peakRss / MB),
    // The kernel's high-water mark (getrusage ru_maxrss, KiB): catches peaks between samples.
    maxRssMB: round((process.resourceUsage().maxRSS * 1024) / MB),
  }),
);
