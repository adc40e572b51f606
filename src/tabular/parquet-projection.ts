/**
 * The columns to decode of a Parquet file whose leaf columns have these paths (`["a"]` for a
 * top-level column, `["s", "x"]` for a field of a struct), for a reader that uses only `wanted`:
 * those of them that are top-level columns of the file. `undefined` (decode every column) when
 * nothing is wanted, when one wanted column is nested (a projection names leaves, not their
 * roots), or when none is in the file (the reader then says which columns are missing).
 * NB: parquet-wasm stops with a WebAssembly `unreachable` when asked for a column the file lacks,
 * so only columns seen in the file are named. Self-contained, with no imports or helpers: its
 * source also runs in the file-reading thread (parquet.ts).
 */
export function parquetProjection(paths: readonly (readonly string[])[], wanted: readonly string[] | undefined): string[] | undefined {
  if (!wanted) return undefined;
  const flat = new Set<string>();
  const nested = new Set<string>();
  for (const path of paths) (path.length === 1 ? flat : nested).add(path[0] as string);
  if (wanted.some((name) => nested.has(name))) return undefined;
  const kept = [...new Set(wanted.filter((name) => flat.has(name)))];
  return kept.length > 0 ? kept : undefined;
}

/**
 * The leaf column paths of an open parquet-wasm file, as `parquetProjection` takes them (none for
 * a file without row groups). Self-contained too: its source also runs in the file-reading thread.
 */
export function parquetLeafPaths(file: { metadata(): { rowGroups(): { columns(): { columnPath(): string[] }[] }[] } }): string[][] {
  const first = file.metadata().rowGroups()[0];
  return first ? first.columns().map((c) => c.columnPath()) : [];
}
