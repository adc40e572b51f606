import { existsSync, realpathSync } from "node:fs";
import { stat } from "node:fs/promises";
import type { DataType } from "apache-arrow";
import { arrowLib, fileColumnTypes, formatFromPath, readTableChunks, type TableFormat } from "../tabular/index.js";
import { outputTarget } from "../util/index.js";
import { BatchError } from "./errors.js";
import { createPredictionsWriter, type OutputFormat } from "./predictions-writer.js";

export interface MergePartsOptions {
  /** The parts' path with `{shard}` where each part's number goes (`out/part-{shard}.parquet`), as `predict --shard` wrote them. */
  pattern: string;
  /** How many shards there were: parts 1 to N are read, in order. */
  count: number;
  /** Where the whole output goes (`-`: stdout); appears only when complete. */
  output: string;
  /** The parts' format (default: from the pattern's extension). */
  inputFormat?: TableFormat;
  /** The output's format (default: from its extension; JSON for stdout). */
  outputFormat?: OutputFormat;
  /** Stops the merge (the output is removed). */
  signal?: AbortSignal;
}

export interface MergePartsResult {
  parts: string[];
  rowsWritten: number;
  seconds: number;
}

/**
 * The integer columns' Arrow types the Arrow or Parquet parts with rows agree on, for an Arrow or
 * Parquet output. NB: integers read back as plain numbers, which a writer types Float64 (and an
 * Int64 past 2^53 loses its last digits in one); the parts' own types keep them. A column typed
 * otherwise in some part (or a part with no rows, typed by a signature) is left to the writer.
 */
async function integerTypes(parts: readonly string[], inputFormat: TableFormat, outputFormat: OutputFormat): Promise<Record<string, DataType>> {
  const typed = (f: string): f is "arrow" | "arrows" | "parquet" => f === "arrow" || f === "arrows" || f === "parquet";
  if (!typed(inputFormat) || !typed(outputFormat)) return {};
  const { DataType } = arrowLib();
  let agreed: Record<string, DataType> | undefined;
  for (const part of parts) {
    if ((await stat(part)).size === 0) continue;
    const types = await fileColumnTypes(part, inputFormat);
    if (types === undefined) continue;
    if (agreed === undefined) {
      agreed = Object.fromEntries(Object.entries(types).filter(([, type]) => DataType.isInt(type)));
      continue;
    }
    for (const [name, type] of Object.entries(agreed)) if (String(types[name]) !== String(type)) delete agreed[name];
  }
  return agreed ?? {};
}

/**
 * Joins the output parts of `predict --shard 1/N … N/N` into one output, part 1 to N, chunk by
 * chunk (memory stays bounded): read in order, the parts are the unsharded output, so this is the
 * output `predict` would have written without shards (a CSV header once). Every part must exist
 * and have the first part's columns; the output appears only when complete.
 * @throws BatchError USAGE for a pattern without `{shard}` or a count below 1; BATCH_ERROR naming
 *   a part that is missing or whose columns differ (the output is not written).
 */
export async function mergeParts(options: MergePartsOptions): Promise<MergePartsResult> {
  const started = performance.now();
  if (!options.pattern.includes("{shard}"))
    throw new BatchError(
      `--merge reads the parts named by -i with {shard} where each part's number goes, e.g. 'out/part-{shard}.csv'; got "${options.pattern}".`,
      {
        code: "USAGE",
      },
    );
  if (!Number.isInteger(options.count) || options.count < 1)
    throw new BatchError(`--merge takes the number of shards (1 or more); got ${options.count}.`, { code: "USAGE" });
  const inputFormat = options.inputFormat ?? formatFromPath(options.pattern);
  if (inputFormat === undefined || inputFormat === "json")
    throw new BatchError(
      `--merge reads parts as csv, jsonl, parquet or arrow (from their extension, or -t); ${inputFormat === "json" ? "JSON parts cannot be read in chunks: write parts as .jsonl" : `"${options.pattern}" has no known extension`}.`,
      { code: "USAGE" },
    );
  const parts = Array.from({ length: options.count }, (_, i) => options.pattern.replaceAll("{shard}", String(i + 1)));
  const missing = parts.map((p, i) => [p, i + 1] as const).filter(([p]) => !existsSync(p));
  if (missing.length > 0)
    throw new BatchError(
      `Cannot merge: ${missing.map(([p, i]) => `part ${i} of ${options.count} (${p})`).join(", ")} ${missing.length === 1 ? "is" : "are"} missing. Its shard has not finished or failed: run it (predict --shard ${missing[0]?.[1]}/${options.count}) and merge again.`,
    );
  // NB: found by an audit: a part beyond the count was left out without a word, and an output that
  // was one of the parts was overwritten with them all (merged again, its rows came twice).
  const next = options.pattern.replaceAll("{shard}", String(options.count + 1));
  if (existsSync(next))
    throw new BatchError(
      `Cannot merge ${options.count} parts: part ${options.count + 1} (${next}) exists too. Give --merge the number of shards the parts were written with, or remove the parts of an older run.`,
      { code: "USAGE" },
    );
  if (options.output !== "-") {
    const output = outputTarget(options.output).file;
    const clash = parts.findIndex((part) => realpathSync(part) === output);
    if (clash >= 0)
      throw new BatchError(`Cannot merge into ${options.output}: it is part ${clash + 1} of the merge. Write the merged output to another file.`, {
        code: "USAGE",
      });
  }
  const outputFormat = options.outputFormat ?? (options.output === "-" ? "json" : (formatFromPath(options.output) as OutputFormat | undefined));
  if (outputFormat === undefined)
    throw new BatchError(
      `Cannot tell the output's format from "${options.output}": name it .csv, .jsonl, .json, .parquet or .arrow, or give --output-format.`,
      { code: "USAGE" },
    );
  const writer = createPredictionsWriter(options.output, outputFormat, undefined, await integerTypes(parts, inputFormat, outputFormat));
  let columns: readonly string[] | undefined;
  // NB: CSV into CSV is copied as text (`007` stays `007`, `1.50` stays `1.50`); other formats keep the parts' own types.
  const raw = inputFormat === "csv" && outputFormat === "csv";
  try {
    for (const [i, part] of parts.entries()) {
      // NB: a shard with no rows (more shards than rows, or every row set aside) may leave a part of
      // 0 bytes (CSV, JSON Lines) or one read back with no columns (Parquet): it adds nothing.
      if ((await stat(part)).size === 0) continue;
      for await (const chunk of readTableChunks(part, { format: inputFormat, raw })) {
        options.signal?.throwIfAborted();
        if (chunk.numRows === 0 && chunk.names.length === 0) continue;
        columns ??= chunk.names;
        if (chunk.names.length !== columns.length || chunk.names.some((n, c) => n !== columns?.[c]))
          throw new BatchError(
            `Cannot merge part ${i + 1} (${part}): its columns [${chunk.names.join(", ")}] are not part 1's [${columns.join(", ")}]. Were the parts written by one model with the same options?`,
          );
        await writer.write(chunk);
      }
    }
    await writer.close();
  } catch (error) {
    await writer.abort();
    throw error;
  }
  return { parts, rowsWritten: writer.rowsWritten, seconds: (performance.now() - started) / 1000 };
}
