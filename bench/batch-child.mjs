/**
 * One measured run for bench/batch, in its own process so peak RSS is its own, on the built
 * pipeserve (dist/, as users run it; no TypeScript loader in the process):
 * `predict` (the flights model over flights-3m.parquet) or `copy` (read and write the same file
 * with the same libraries: the ceiling). Prints one JSON line.
 */
import { createTableFileWriter, loadModel, predictFile, readTableChunks } from "../dist/index.js";

const [mode, input, output, modelUri, tracking, columns] = process.argv.slice(2);
const start = process.hrtime.bigint();
let rows = 0;
if (mode === "predict") {
  const model = await loadModel(modelUri, { trackingUri: tracking });
  const result = await predictFile(model, { input, output });
  rows = result.rowsRead;
  await model.close();
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
  JSON.stringify({ mode, columns, rows, seconds, rowsPerSec: Math.round(rows / seconds), peakRssMB: Math.round(process.resourceUsage().maxRSS / 1024) }) + "\n",
);
