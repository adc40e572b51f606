import { tableFromRecords, tableToRecords, type ColumnTable } from "./column-table.js";
import { FormatError } from "./errors.js";
import { toJsonValue } from "./json-values.js";

/** Parses JSON Lines (one row object per line; blank lines skipped) into a table. */
export function parseJsonLines(text: string, firstLine = 1): ColumnTable {
  const records: unknown[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] as string).trim();
    if (line === "") continue;
    try {
      records.push(JSON.parse(line));
    } catch (cause) {
      throw new FormatError(`JSON Lines line ${firstLine + i} is not valid JSON: ${(cause as Error).message}`, { cause });
    }
  }
  return tableFromRecords(records);
}

/** Writes a table as JSON Lines, one row object per line. */
export function toJsonLines(table: ColumnTable): string {
  let out = "";
  for (const record of tableToRecords(table)) out += JSON.stringify(toJsonValue(record)) + "\n";
  return out;
}
