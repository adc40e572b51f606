/**
 * The most rows a chunk of `predict` may have (`--chunk-rows`, `chunkRows`): Parquet's reader
 * (parquet-wasm) counts a batch's rows in 32 bits; more was blamed on the file (found by an audit).
 */
export const MAX_CHUNK_ROWS = 2 ** 32 - 1;
