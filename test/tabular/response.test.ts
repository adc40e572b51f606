import { describe, expect, it } from "vitest";
import { encodePredictions, encodePredictionsUtf8, inferSignature, loadDanfo, tableFromColumns, tableToRecordsJson } from "../../src/tabular/index.js";

describe("encodePredictions: tables", () => {
  it("writes a table as row objects, column order kept", () => {
    const table = tableFromColumns({ b: [0.5, 1.5], a: [1, 2] });
    expect(encodePredictions(table)).toBe('{"predictions":[{"b":0.5,"a":1},{"b":1.5,"a":2}]}');
  });

  it("writes every kind of cell as valid JSON", () => {
    const table = tableFromColumns({
      s: ['Ærø 🐧 "q"\n\u0000'],
      n: [-0.25],
      nan: [Number.NaN],
      inf: [Number.NEGATIVE_INFINITY],
      ok: [false],
      none: [null],
      hole: [undefined],
      when: [new Date(Date.UTC(2021, 0, 1))],
      bytes: [new Uint8Array([1, 2, 3])],
      big: [2n ** 60n],
      small: [5n],
      list: [[1, Number.NaN]],
      obj: [{ k: new Date(0) }],
      'we"ird key': [1],
    });
    const text = encodePredictions(table);
    expect(JSON.parse(text)).toEqual({
      predictions: [
        {
          s: 'Ærø 🐧 "q"\n\u0000',
          n: -0.25,
          nan: null,
          inf: null,
          ok: false,
          none: null,
          hole: null,
          when: "2021-01-01T00:00:00",
          bytes: "AQID",
          big: "1152921504606846976",
          small: 5,
          list: [1, null],
          obj: { k: "1970-01-01T00:00:00" },
          'we"ird key': 1,
        },
      ],
    });
    expect(text).toContain('"bytes":"AQID",');
  });

  it("writes an empty table as an empty list, and rows of no columns as empty objects", () => {
    expect(encodePredictions(tableFromColumns({ a: [] }))).toBe('{"predictions":[]}');
    expect(encodePredictions({ names: [], columns: [], numRows: 2 })).toBe('{"predictions":[{},{}]}');
  });

  it("writes exactly what JSON.stringify writes for the same records", () => {
    const names = ["i", "x", "s", "b"];
    const columns = [
      Array.from({ length: 500 }, (_, i) => i - 250),
      Array.from({ length: 500 }, (_, i) => i / 7 + 1e-9 * i),
      Array.from({ length: 500 }, (_, i) => (i % 3 === 0 ? null : `v${i}\t"`)),
      Array.from({ length: 500 }, (_, i) => i % 2 === 0),
    ];
    const records = columns[0]!.map((_, r) => Object.fromEntries(names.map((n, c) => [n, columns[c]![r]])));
    expect(tableToRecordsJson({ names, columns, numRows: 500 })).toBe(JSON.stringify(records));
  });

  it("writes 10,000 rows straight from the columns, quickly", () => {
    const n = 10_000;
    const table = tableFromColumns({
      island: Array.from({ length: n }, () => "Torgersen"),
      bill: Array.from({ length: n }, (_, i) => 39.1 + i / 10),
      sex: Array.from({ length: n }, (_, i) => (i % 5 === 0 ? null : "MALE")),
    });
    const started = performance.now();
    const text = encodePredictions(table);
    expect(performance.now() - started).toBeLessThan(500);
    expect(JSON.parse(text).predictions).toHaveLength(n);
  });
});

describe("encodePredictions: other outputs", () => {
  it.each([
    ["a list of numbers", [1.5, 3.5], "[1.5,3.5]"],
    [
      "nested lists with NaN",
      [
        [1, Number.NaN],
        [Number.POSITIVE_INFINITY, 2],
      ],
      "[[1,null],[null,2]]",
    ],
    ["a Float64Array", new Float64Array([1.5, Number.NaN]), "[1.5,null]"],
    ["a top-level Uint8Array (numbers, not base64)", new Uint8Array([1, 2]), "[1,2]"],
    ["a BigInt64Array", new BigInt64Array([1n, 2n ** 62n]), '[1,"4611686018427387904"]'],
    ["a list of strings", ["test"], '["test"]'],
    ["a dict", { str_param: "s", when: new Date(0), list: [1] }, '{"str_param":"s","when":"1970-01-01T00:00:00","list":[1]}'],
    ["a string", "hello", '"hello"'],
    ["a number", 42, "42"],
    ["NaN", Number.NaN, "null"],
    ["null", null, "null"],
    ["undefined", undefined, "null"],
    ["bytes in a list (base64)", [new Uint8Array([1, 2, 3])], '["AQID"]'],
  ])("writes %s", (_, output, predictions) => {
    expect(encodePredictions(output)).toBe(`{"predictions":${predictions}}`);
  });
});

describe("danfojs outputs", () => {
  const { DataFrame, Series } = loadDanfo<typeof import("danfojs-node")>();

  it("writes a DataFrame as row objects, column order kept", () => {
    const frame = new DataFrame({ species: ["Adelie", "Gentoo"], p: [0.9, Number.NaN] });
    expect(encodePredictions(frame)).toBe('{"predictions":[{"species":"Adelie","p":0.9},{"species":"Gentoo","p":null}]}');
  });

  it("a DataFrame whose column names are numbers: text keys, valid JSON, as a string and as bytes (it wrote {7:1})", () => {
    const frame = new DataFrame([[1, "a"]], { columns: [7, 8] as never });
    const expected = '{"predictions":[{"7":1,"8":"a"}]}';
    expect(encodePredictions(frame)).toBe(expected);
    expect(Buffer.from(encodePredictionsUtf8(frame)).toString("utf8")).toBe(expected);
    expect(JSON.parse(expected)).toEqual({ predictions: [{ 7: 1, 8: "a" }] });
  });

  it("writes an empty DataFrame as an empty list", () => {
    expect(encodePredictions(new DataFrame([], { columns: ["a"] }))).toBe('{"predictions":[]}');
  });

  it('writes a Series as [{"<name>": v}, ...], "0" when unnamed', () => {
    expect(encodePredictions(new Series([1, 2]))).toBe('{"predictions":[{"0":1},{"0":2}]}');
    expect(encodePredictions(new Series(["a"], { columns: ["label"] }))).toBe('{"predictions":[{"label":"a"}]}');
    // A name that is a number is still a JSON key (text).
    const numbered = encodePredictions(new Series([3], { columns: [7 as never] }));
    expect(numbered).toBe('{"predictions":[{"7":3}]}');
    expect(JSON.parse(numbered)).toEqual({ predictions: [{ "7": 3 }] });
  });

  it("infers output specs from a DataFrame and a Series", () => {
    const input = tableFromColumns({ a: [1] });
    expect(inferSignature(input, new DataFrame({ label: ["a", "b"], p: [0.1, 0.9] })).outputs).toEqual([
      { name: "label", type: "string", required: true },
      { name: "p", type: "double", required: true },
    ]);
    expect(inferSignature(input, new Series([1, 2])).outputs).toEqual([{ type: "double", required: true }]);
  });
});
