/**
 * One measured run for bench/batch, in its own process so peak RSS is its own, on the built
 * pipeserve (dist/, as users run it; no TypeScript loader in the process):
 * `predict` (a model over a file), `copy` (read and write the same file with pipeserve's readers
 * and writers: a ceiling), or `csv-libs` (csv-parse into csv-stringify, record by record, with no
 * value read: the CSV libraries' own speed, the ceiling the issue names). Prints one JSON line.
 */
import { createReadStream, createWriteStream } from "node:fs";
import { pipeline } from "node:stream/promises";
import { parse } from "csv-parse";
import { stringify } from "csv-stringify";
import { loadModel, predictFile } from "../dist/index.js";
import { createTableFileWriter, readTableChunks } from "../dist/tabular/index.js";

const [mode, input, output, modelUri, tracking, columns, workers] = process.argv.slice(2);
const start = process.hrtime.bigint();
let rows = 0;
if (mode === "predict") {
  const model = await loadModel(modelUri, { trackingUri: tracking });
  const result = await predictFile(model, { input, output, ...(workers ? { workers: Number(workers) } : {}) });
  rows = result.rowsRead;
  await model.close();
} else if (mode === "csv-libs") {
  const counter = async function* (records) {
    for await (const record of records) {
      rows++;
      yield record;
    }
  };
  await pipeline(
    createReadStream(input),
    parse({ bom: true, relax_column_count: true, skip_empty_lines: true }),
    counter,
    stringify(),
    createWriteStream(output),
  );
  rows -= 1;
} else if (mode === "udsv-libs") {
  // The new parser's own ceiling: uDSV over the file's text, records straight to csv-stringify's text.
  const { inferSchema, initParser } = await import("udsv");
  const { stringify: stringifySync } = await import("csv-stringify/sync");
  const { readFile, writeFile } = await import("node:fs/promises");
  const text = await readFile(input, "utf8");
  const records = initParser(inferSchema(text)).stringArrs(text);
  rows = records.length;
  await writeFile(output, stringifySync(records));
} else {
  const writer = createTableFileWriter(output);
  const only = columns === "all" ? {} : { columns: columns.split(",") };
  for await (const chunk of readTableChunks(input, { chunkRows: 10_000, ...only })) {
    rows += chunk.numRows;
    await writer.write(chunk);
  }
  await writer.close();
}
const seconds = Number(process.hrtime.bigint() - start) / 1e9;
process.stdout.write(
  JSON.stringify({
    mode,
    columns,
    ...(workers ? { workers: Number(workers) } : {}),
    rows,
    seconds,
    rowsPerSec: Math.round(rows / seconds),
    peakRssMB: Math.round(process.resourceUsage().maxRSS / 1024),
    // NB: every thread of the process (decoder, workers, V8's GC helpers): CPU seconds over wall seconds is the cores it kept busy.
    cpuSeconds: (() => {
      const { user, system } = process.cpuUsage();
      return Math.round((user + system) / 1e4) / 100;
    })(),
  }) + "\n",
);
