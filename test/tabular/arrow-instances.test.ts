// pipeserve reads and writes Arrow with the CommonJS build of apache-arrow, loaded at first use
// (arrow-lib.ts): the same classes model code gets through the host. A table made with the ES
// module build (another set of classes, as a library user's `import { Table } from "apache-arrow"`
// makes) is still recognised, converted and encoded (rebuilt first: arrow's writer misencodes another
// build's dictionary columns), with its values and column types.
import { Float32, Int32, Table, TimestampMillisecond, Utf8, tableFromIPC, vectorFromArray } from "apache-arrow";
import { describe, expect, it } from "vitest";
import { asColumnTable, decodeArrowIpc, encodeArrowIpc, fromArrow, toArrow, tableFromColumns } from "../../src/index.js";
import { arrowLib, isArrowTable, ownArrowTable } from "../../src/tabular/index.js";

function esmTable(): Table {
  return new Table({
    n: vectorFromArray([1, null, 3], new Int32()),
    f: vectorFromArray([0.5, 1.5, null], new Float32()),
    s: vectorFromArray(["a", null, "c"], new Utf8()),
    tag: vectorFromArray(["x", "y", "x"]),
    t: vectorFromArray([new Date(0), null, new Date(86_400_000)], new TimestampMillisecond()),
  });
}

describe("Arrow tables of another apache-arrow build", () => {
  it("are Arrow tables to pipeserve, though not made by its classes", () => {
    const table = esmTable();
    expect(Object.getPrototypeOf(table)).not.toBe(arrowLib().Table.prototype);
    expect(isArrowTable(table)).toBe(true);
    expect(isArrowTable(toArrow(tableFromColumns({ a: [1] })))).toBe(true);
    expect(isArrowTable({ schema: {}, batches: [] })).toBe(false);
    expect(isArrowTable(tableFromColumns({ a: [1] }))).toBe(false);
  });

  it("convert to the same plain columns as pipeserve's own", () => {
    const plain = asColumnTable(esmTable());
    expect(plain.names).toEqual(["n", "f", "s", "tag", "t"]);
    expect(plain.columns).toEqual([
      [1, null, 3],
      [0.5, 1.5, null],
      ["a", null, "c"],
      ["x", "y", "x"],
      [new Date(0), null, new Date(86_400_000)],
    ]);
  });

  it("encode to IPC that both builds read back with the same values and types (a dictionary as its values)", () => {
    const bytes = encodeArrowIpc(esmTable(), "stream");
    const mine = decodeArrowIpc(bytes);
    expect(fromArrow(mine)).toEqual(asColumnTable(esmTable()));
    const theirs = tableFromIPC(bytes);
    expect(theirs.schema.fields.map((f) => String(f.type))).toEqual(["Int32", "Float32", "Utf8", "Utf8", "Timestamp<MILLISECOND>"]);
    const own = ownArrowTable(toArrow(tableFromColumns({ a: [1] })));
    expect(ownArrowTable(own)).toBe(own);
  });
});
