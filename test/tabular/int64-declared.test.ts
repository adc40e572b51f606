// A table read from Arrow or Parquet holds its 64-bit integers as numbers (bigints past 2^53), and
// still declares them `long` to signature inference, as the Arrow table itself does. Found by an
// audit: the same int64 column was `long` when a node made it or it was loaded `as: arrow`, and
// `double` when loaded `as: table`, so a value past 2^53 failed the run after training.
import { join } from "node:path";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { describe, expect, it } from "vitest";
import { DataCatalog, inferSignature, writeTableFile } from "../../src/index.js";
import { declaredColumnTypes } from "../../src/tabular/index.js";

describe("64-bit integer columns of Arrow and Parquet files, loaded as a table", () => {
  it.each(["parquet", "arrow"] as const)("%s: declared long, and the signature says long", async (format) => {
    const dir = await mkdtemp(join(tmpdir(), "pipeserve-int64-"));
    const path = join(dir, `in.${format}`);
    await writeTableFile(path, {
      names: ["i64", "x"],
      columns: [
        [1n, 2n, 9007199254740993n],
        [0.5, 1, 2],
      ],
      numRows: 3,
    });
    const type = format === "parquet" ? "ParquetDataset" : "ArrowDataset";
    const catalog = DataCatalog.fromConfig({ input: { type, filepath: path, load_args: { as: "table" } } }, { baseDir: dir });
    const table = await catalog.load("input");
    expect(declaredColumnTypes(table)).toEqual({ i64: "long" });
    const inputs = inferSignature(table as never, undefined, undefined, { declared: declaredColumnTypes(table) }).inputs;
    expect(inputs).toEqual([
      { type: "long", name: "i64", required: true },
      { type: "double", name: "x", required: true },
    ]);
  });

  it("a table made of plain numbers declares nothing", () => {
    expect(declaredColumnTypes({ names: ["n"], columns: [[1, 2]], numRows: 2 })).toEqual({});
  });
});
