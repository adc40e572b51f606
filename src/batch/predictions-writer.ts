import { randomBytes } from "node:crypto";
import { createWriteStream } from "node:fs";
import { rename, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import type { Writable } from "node:stream";
import { finished } from "node:stream/promises";
import {
  createTableFileWriter,
  createTableStreamWriter,
  tableToRecordsJson,
  type ColumnTable,
  type TableFormat,
  type TableWriter,
} from "../tabular/index.js";

/** Output formats of `pipeserve predict`: the table formats, plus `json` = MLflow's `{"predictions": [...]}`. */
export type OutputFormat = Exclude<TableFormat, "json"> | "json";

function write(out: Writable, text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    if (out.write(text)) resolve();
    else {
      out.once("drain", resolve);
      out.once("error", reject);
    }
  });
}

/** Streams `{"predictions": [ ...rows ]}` as MLflow's `models predict` writes JSON, chunk by chunk. */
function predictionsJsonWriter(out: Writable, onClose: () => Promise<void>, onAbort: () => Promise<void>): TableWriter {
  let rows = 0;
  let started = false;
  return {
    get rowsWritten() {
      return rows;
    },
    async write(chunk: ColumnTable) {
      const records = tableToRecordsJson(chunk);
      const inner = records.slice(1, -1);
      if (!started) {
        await write(out, '{"predictions": [');
        started = true;
      } else if (inner !== "" && rows > 0) {
        await write(out, ",");
      }
      if (inner !== "") await write(out, inner);
      rows += chunk.numRows;
    },
    async close() {
      await write(out, started ? "]}\n" : '{"predictions": []}\n');
      await onClose();
    },
    abort: onAbort,
  };
}

/**
 * A writer for predictions. A file is written under a temporary name and renamed into place by
 * `close()`; `-` writes to stdout.
 */
export function createPredictionsWriter(target: string, format: OutputFormat): TableWriter {
  if (format !== "json") {
    return target === "-" ? createTableStreamWriter(process.stdout, { format, end: false }) : createTableFileWriter(target, { format });
  }
  if (target === "-") return predictionsJsonWriter(process.stdout, async () => {}, async () => {});
  const tmp = join(dirname(target), `.${basename(target)}.${randomBytes(6).toString("hex")}.partial`);
  const out = createWriteStream(tmp, { flags: "wx" });
  return predictionsJsonWriter(
    out,
    async () => {
      out.end();
      await finished(out);
      await rename(tmp, target);
    },
    async () => {
      out.destroy();
      await rm(tmp, { force: true });
    },
  );
}
