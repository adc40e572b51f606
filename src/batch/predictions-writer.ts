import { createWriteStream, existsSync } from "node:fs";
import { BatchError } from "./errors.js";
import { rename, rm } from "node:fs/promises";
import { dirname } from "node:path";
import { PassThrough, type Writable } from "node:stream";
import { finished } from "node:stream/promises";
import type { DataType } from "apache-arrow";
import {
  arrowTypesOfColumns,
  createTableFileWriter,
  createTableStreamWriter,
  tableToRecordsJsonBytes,
  writeBytes,
  type ColumnSpec,
  type ColumnTable,
  type TableFormat,
  type TableWriter,
  type TableWriterOptions,
} from "../tabular/index.js";
import { OUTPUT_APPEND, outputTarget, partialPath } from "../util/index.js";

/** Output formats of `pipeserve predict`: the table formats, plus `json` = MLflow's `{"predictions": [...]}`. */
export type OutputFormat = Exclude<TableFormat, "json"> | "json";

/** Streams `{"predictions": [ ...rows ]}` as MLflow's `models predict` writes JSON, chunk by chunk. */
function predictionsJsonWriter(out: Writable, onClose: () => Promise<void>, onAbort: () => Promise<void>): TableWriter {
  let rows = 0;
  let started = false;
  return {
    get rowsWritten() {
      return rows;
    },
    async write(chunk: ColumnTable) {
      const inner = tableToRecordsJsonBytes(chunk);
      if (!started) {
        await writeBytes(out, '{"predictions": [');
        started = true;
      } else if (inner.length > 0 && rows > 0) {
        await writeBytes(out, ",");
      }
      if (inner.length > 0) await writeBytes(out, inner);
      rows += chunk.numRows;
    },
    async close() {
      await writeBytes(out, started ? "]}\n" : '{"predictions": []}\n');
      await onClose();
    },
    abort: onAbort,
  };
}

/**
 * A table writer onto stdout. NB: nothing ever ends `process.stdout`, so an encoder that waits
 * for its target to finish (Arrow's) would wait forever and the process would exit mid-await
 * (code 13); it writes into a PassThrough instead, piped on to stdout without ending it.
 */
function stdoutTableWriter(
  format: Exclude<OutputFormat, "json">,
  emptyTypes: NonNullable<TableWriterOptions["emptyTypes"]>,
  types: Readonly<Record<string, DataType>>,
  declared: NonNullable<TableWriterOptions["declared"]> | null,
): TableWriter {
  const pass = new PassThrough();
  pass.pipe(process.stdout, { end: false });
  const inner = createTableStreamWriter(pass, { format, end: true, emptyTypes, types, declared });
  return {
    get rowsWritten() {
      return inner.rowsWritten;
    },
    write: (chunk) => inner.write(chunk),
    ...(inner.writeEncoded ? { writeEncoded: inner.writeEncoded.bind(inner) } : {}),
    async close() {
      await inner.close();
      await finished(pass);
    },
    abort: () => inner.abort(),
  };
}

/**
 * A writer for predictions. A file is written under a temporary name and renamed into place by
 * `close()`; `-` writes to stdout. `outputs` (the model's output signature) types the Arrow and
 * Parquet columns: those that hold no value in the first chunk, and numeric ones whose first
 * chunk's values fit the declared type; `types` fixes some columns' Arrow types.
 */
export function createPredictionsWriter(
  target: string,
  format: OutputFormat,
  outputs?: readonly ColumnSpec[] | null,
  types: Readonly<Record<string, DataType>> = {},
): TableWriter {
  // NB: only for Arrow and Parquet, which load apache-arrow anyway (a CSV run never loads it), and
  // only once the first chunk is written: loading it (~80 ms) held back `predict`'s threads.
  const emptyTypes = format === "parquet" || format === "arrow" || format === "arrows" ? () => arrowTypesOfColumns(outputs) : {};
  // NB: the output signature's numeric types (long Int64…) where the first chunk's values fit them, as served Arrow answers have them.
  const declared = outputs ?? null;
  if (format !== "json")
    return target === "-" ? stdoutTableWriter(format, emptyTypes, types, declared) : createTableFileWriter(target, { format, emptyTypes, types, declared });
  if (target === "-")
    return predictionsJsonWriter(
      process.stdout,
      async () => {},
      async () => {},
    );
  // NB: as createTableFileWriter: a link is followed, a device or a pipe written into (see outputTarget).
  const place = outputTarget(target);
  if (!existsSync(dirname(place.file)))
    throw new BatchError(`Cannot write ${target}: the folder ${dirname(place.file)} does not exist. Create it first.`, { code: "USAGE" });
  const tmp = place.atomic ? partialPath(place.file) : undefined;
  const out = createWriteStream(tmp ?? place.file, { flags: tmp ? "wx" : OUTPUT_APPEND });
  let failure: Error | undefined;
  out.on("error", (error) => (failure ??= error));
  const writer = predictionsJsonWriter(
    out,
    async () => {
      out.end();
      await finished(out);
      if (failure) throw failure;
      if (tmp) await rename(tmp, place.file);
    },
    async () => {
      // NB: as createTableFileWriter's abort: ERR_STREAM_DESTROYED from a write in flight must not crash the process, and the rm waits for the close.
      out.on("error", () => undefined);
      out.destroy();
      await finished(out).catch(() => undefined);
      if (tmp) await rm(tmp, { force: true });
    },
  );
  return {
    get rowsWritten() {
      return writer.rowsWritten;
    },
    write: async (chunk) => {
      if (failure) throw failure;
      await writer.write(chunk);
    },
    close: () => writer.close(),
    abort: () => writer.abort(),
  };
}
