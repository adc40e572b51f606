/**
 * Output values an Arrow Int64 column cannot hold (an integer past 64 bits, a fraction among 64-bit
 * integers): apache-arrow's builder wrapped them without a word (a Uint64 of 2^64 − 1 came back as
 * -1, 2^70 as 0) or threw JavaScript's own error. Over real HTTP on an ephemeral port, an echo model
 * without a signature hands back what it got.
 */
import { describe, expect, it } from "vitest";
import { FormatError, decodeArrowIpc, encodeArrowIpc, fromArrow, toArrow } from "../../src/index.js";
import { arrowLib } from "../../src/tabular/index.js";
import { useServedModel } from "./fixtures/http.js";
import { buildModel } from "./fixtures/models.js";

const A = arrowLib();
const ARROW = "application/vnd.apache.arrow.stream";
type ArrowTable = Parameters<typeof encodeArrowIpc>[0];

const served = useServedModel(() => buildModel("echo", null));

describe("toArrow: 64-bit integer columns hold 64-bit integers, or say which value they cannot", () => {
  it("whole numbers and bigints within 64 bits, and missing values, make an Int64 column", () => {
    const table = toArrow({ names: ["n"], columns: [[1n, 2, null, -(2n ** 63n), 2n ** 63n - 1n]], numRows: 5 });
    expect(String(table.schema.fields[0]?.type)).toBe("Int64");
    expect(fromArrow(decodeArrowIpc(encodeArrowIpc(table))).columns[0]).toEqual([1, 2, null, -(2n ** 63n), 2n ** 63n - 1n]);
  });

  it.each([
    ["2^70", [1n, 2n ** 70n], "1180591620717411303424"],
    ["-2^63 - 1", [1n, -(2n ** 63n) - 1n], "-9223372036854775809"],
    ["a fraction after a bigint", [1n, 1.5], "1.5"],
  ])("%s: a FormatError naming the column, the value and the range, not a wrapped number", (_, column, shown) => {
    const run = () => toArrow({ names: ["n"], columns: [column], numRows: column.length });
    expect(run).toThrow(FormatError);
    expect(run).toThrow(`Column "n" holds ${shown}, which an Arrow Int64 column cannot hold (a whole number from -9223372036854775808 to 9223372036854775807)`);
  });

  it("a Uint64 column of the types given: 0 to 2^64 − 1, and not -1", () => {
    const type = new A.Uint64();
    expect(String(toArrow({ names: ["u"], columns: [[0n, 2n ** 64n - 1n]], numRows: 2 }, { u: type }).schema.fields[0]?.type)).toBe("Uint64");
    expect(() => toArrow({ names: ["u"], columns: [[-1n]], numRows: 1 }, { u: type })).toThrow(
      /holds -1, which an Arrow Uint64 column cannot hold \(a whole number from 0 to 18446744073709551615\)/,
    );
  });
});

describe("an Arrow answer with a value past 64 bits", () => {
  it("a Uint64 of 2^64 − 1 echoed: 406 naming the column and value, and the same answer as JSON is 200 with every digit", async () => {
    const body = encodeArrowIpc(new A.Table({ u: A.vectorFromArray([2n ** 64n - 1n, 7n], new A.Uint64()) }) as ArrowTable, "stream");
    const asArrow = await fetch(served.url, { method: "POST", headers: { "content-type": ARROW, accept: ARROW }, body });
    const text = await asArrow.text();
    expect(asArrow.status, text).toBe(406);
    expect(JSON.parse(text)).toMatchObject({
      error_code: "NOT_ACCEPTABLE",
      message: expect.stringContaining(
        'The model\'s output cannot be sent as Arrow. Column "u" holds 18446744073709551615, which an Arrow Int64 column cannot hold',
      ),
    });
    expect(JSON.parse(text).message).toMatch(/Ask for application\/json\.$/);
    const asJson = await fetch(served.url, { method: "POST", headers: { "content-type": ARROW }, body });
    expect(asJson.status).toBe(200);
    expect(await asJson.text()).toContain("18446744073709551615");
  });
});
