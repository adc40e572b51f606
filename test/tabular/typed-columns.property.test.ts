// Numeric columns travel as typed arrays (issue 15 §2): fromArrow hands an Arrow vector's own array
// on, enforceSchema accepts typed arrays and gives double/integer columns as Float64Array/Int32Array,
// toArrow writes a typed array as the vector's buffer, concatTables stacks typed arrays, and a
// `columns` model may get them (`column_arrays: typed`). These property tests hold every fast path to
// the plain one over random tables: every signature type, missing values (null, NaN in doubles),
// optional and required columns, 0, 1 and many rows, columns as plain arrays and as typed arrays of
// every kind (views into a larger buffer too):
// 1. enforceSchema of a table with typed columns = enforceSchema of its plain copy (values by
//    Object.is, or the same error class and message);
// 2. toArrow's direct buffers = apache-arrow's builders (`{ builders: true }`), through IPC and back;
// 3. a packaged `columns` model served with `column_arrays: typed` and `plain` (typed in-thread and
//    on worker threads) answers byte for byte the same, to JSON and to Arrow IPC requests of the
//    same data, alone and batched;
// 4. concatTables, sliceTable and splitRows of typed columns = of plain ones.
// Values are compared as keys (`cellKey`: Object.is for numbers, -0 and NaN kept apart), since the
// equality tester of test/setup-equality.ts would let a typed array equal a plain one.
import type { DataType } from "apache-arrow";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import type { PipelineModel } from "../../src/index.js";
import {
  type Cell,
  type Column,
  type ColumnSpec,
  type ColumnTable,
  type ColumnType,
  type NumericArray,
  arrowLib,
  concatTables,
  decodeArrowIpc,
  encodeArrowIpc,
  enforceSchema,
  fromArrow,
  isNumericArray,
  sliceTable,
  splitRows,
  toArrow,
  withPlainColumns,
} from "../../src/tabular/index.js";
import { type App, quietApp, send } from "../server/fixtures/http.js";
import { buildModel } from "../server/fixtures/models.js";

const TYPES: readonly ColumnType[] = ["boolean", "integer", "long", "float", "double", "string", "binary", "datetime"];
const KINDS = [Float64Array, Float32Array, Int32Array, Int16Array, Int8Array, Uint8Array, Uint16Array, Uint32Array] as const;
type Kind = (typeof KINDS)[number];
const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;
const FLOAT32_MAX = 3.4028234663852886e38;

/** A cell as a comparable key: numbers by Object.is (NaN equal to NaN, -0 apart from 0), dates by time, bytes by content. */
function cellKey(v: unknown): string {
  if (typeof v === "number") return Object.is(v, -0) ? "n:-0" : `n:${v}`;
  if (typeof v === "bigint") return `big:${v}`;
  if (v instanceof Date) return `d:${v.getTime()}`;
  if (v instanceof Uint8Array) return `b:${Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString("hex")}`;
  if (v === null || v === undefined) return String(v);
  return `${typeof v}:${typeof v === "object" ? JSON.stringify(v) : String(v)}`;
}

function columnKeys(column: ArrayLike<unknown>): string[] {
  return Array.from(column, cellKey);
}

function tableKeys(t: ColumnTable): { names: string[]; numRows: number; columns: string[][] } {
  return { names: [...t.names], numRows: t.numRows, columns: t.columns.map(columnKeys) };
}

/** What a call gives: its value, or its error's class and message. */
function attempt<T>(f: () => T): { ok: T } | { error: string; message: string } {
  try {
    return { ok: f() };
  } catch (error) {
    if (!(error instanceof Error)) throw error;
    return { error: error.constructor.name, message: error.message };
  }
}

/** A typed array of `kind` holding `numbers` (as `kind.from` converts them), sometimes a view into a larger buffer. */
function typedOf(kind: Kind, numbers: readonly number[], view: boolean): NumericArray {
  const values = kind.from(numbers);
  if (!view) return values;
  const big = new kind(numbers.length + 5);
  big.set(values, 3);
  return big.subarray(3, 3 + numbers.length);
}

// --- arbitraries ------------------------------------------------------------------------------

const edgeNumber = fc.oneof(
  fc.double(),
  fc.float(),
  fc.integer({ min: INT32_MIN, max: INT32_MAX }),
  fc.integer({ min: -300, max: 70_000 }),
  fc.constantFrom(
    Number.NaN,
    Number.POSITIVE_INFINITY,
    Number.NEGATIVE_INFINITY,
    -0,
    0,
    0.5,
    -1.5,
    INT32_MAX + 1,
    INT32_MIN - 1,
    2 ** 32,
    2 ** 53,
    2 ** 53 + 2,
    FLOAT32_MAX * 2,
  ),
);
const date = fc.date({ min: new Date("1900-01-01T00:00:00Z"), max: new Date("2200-12-31T23:59:59Z"), noInvalidDate: true });
const bytes = fc.uint8Array({ maxLength: 6 });
const text = fc.oneof(fc.string(), fc.constantFrom("", "é", "😀", "a\u0000b", "1", "true", "2021-01-01"));

/** A value a client sends for a column of `type` (JSON-ish: dates as ISO text or `Date`, bytes as base64 or `Uint8Array`). */
function validCell(type: ColumnType): fc.Arbitrary<Cell> {
  switch (type) {
    case "boolean":
      return fc.boolean();
    case "integer":
      return fc.oneof(fc.integer({ min: INT32_MIN, max: INT32_MAX }), fc.integer({ min: -200, max: 200 }));
    case "long":
      return fc.oneof(fc.maxSafeInteger(), fc.integer({ min: -200, max: 200 }));
    case "float":
      return fc.float();
    case "double":
      return fc.oneof(fc.double(), fc.float(), fc.integer());
    case "string":
      return text;
    case "binary":
      return fc.oneof(
        bytes,
        bytes.map((b) => Buffer.from(b).toString("base64")),
      );
    case "datetime":
      return fc.oneof(
        date,
        date.map((d) => d.toISOString()),
      );
  }
}

/** Anything a column may hold: a wrong value for most types. */
const anyCell: fc.Arbitrary<Cell> = fc.oneof(edgeNumber, text, fc.boolean(), date, bytes, fc.constant({ a: 1 }), fc.constant([1]));

/** Numbers meant for a column of `type` (mostly fitting it) for a typed array. */
function numbersFor(type: ColumnType): fc.Arbitrary<number> {
  switch (type) {
    case "integer":
    case "long":
      return fc.oneof({ weight: 4, arbitrary: fc.integer({ min: -200, max: 70_000 }) }, { weight: 1, arbitrary: edgeNumber });
    default:
      return fc.oneof(fc.double(), edgeNumber);
  }
}

/** One column as a client may send it: a JSON-ish plain array (missing values, rarely a wrong one) or a typed array of any kind. */
function sentColumn(type: ColumnType, rows: number): fc.Arbitrary<Column> {
  const plain = fc.array(
    fc.oneof({ weight: 20, arbitrary: validCell(type) }, { weight: 2, arbitrary: fc.constantFrom(null, undefined) }, { weight: 1, arbitrary: anyCell }),
    { minLength: rows, maxLength: rows },
  );
  const typed = fc
    .tuple(fc.constantFrom(...KINDS), fc.array(numbersFor(type), { minLength: rows, maxLength: rows }), fc.boolean())
    .map(([kind, numbers, view]) => typedOf(kind, numbers, view));
  return fc.oneof({ weight: 2, arbitrary: plain as fc.Arbitrary<Column> }, { weight: 3, arbitrary: typed as fc.Arbitrary<Column> });
}

const rowCount = fc.oneof(fc.constant(0), fc.constant(1), fc.integer({ min: 2, max: 30 }));

interface EnforceCase {
  specs: ColumnSpec[];
  table: ColumnTable;
}

/**
 * A signature and a request table for it: named columns (some optional ones left out, an extra one
 * added, order shuffled), positional columns, or the lone column `"0"` of a bare list.
 */
const enforceCase: fc.Arbitrary<EnforceCase> = fc
  .tuple(
    fc.array(fc.record({ type: fc.constantFrom(...TYPES), required: fc.boolean() }), { minLength: 1, maxLength: 6 }),
    rowCount,
    fc.constantFrom("named", "named", "named", "positional", "bare"),
  )
  .chain(([types, rows, form]) => {
    const specs: ColumnSpec[] = types.map((t, i) => (form === "positional" ? { ...t } : { name: `c${i}`, ...t }));
    const sent = specs.map((s) => sentColumn(s.type, rows));
    return fc
      .tuple(
        fc.constant(specs),
        fc.tuple(...sent),
        fc.array(fc.boolean(), { minLength: specs.length, maxLength: specs.length }),
        sentColumn("double", rows),
        fc.boolean(),
        fc.boolean(),
      )
      .map(([specs, columns, keep, extra, addExtra, reverse]): EnforceCase => {
        if (form === "bare") return { specs: specs.slice(0, 1), table: { names: ["0"], columns: [columns[0] as Column], numRows: rows } };
        let names = specs.map((s, i) => s.name ?? String(i));
        let cols = [...columns] as Column[];
        if (form === "named") {
          const kept = names.map((_, i) => i).filter((i) => keep[i] || specs[i]?.required);
          names = kept.map((i) => names[i] as string);
          cols = kept.map((i) => cols[i] as Column);
        }
        if (addExtra) {
          names.push("extra");
          cols.push(extra);
        }
        if (reverse && form === "named") {
          names.reverse();
          cols.reverse();
        }
        return { specs, table: { names, columns: cols, numRows: rows } };
      });
  });

// --- 1. enforceSchema -------------------------------------------------------------------------

describe("enforceSchema of typed columns gives what it gives for the same numbers in plain arrays", () => {
  it("the same values (Object.is), dropped columns and kind of double/integer array — or the same error", () => {
    fc.assert(
      fc.property(enforceCase, ({ specs, table }) => {
        const before = table.columns.map(columnKeys);
        const typed = attempt(() => enforceSchema(table, specs));
        const plain = attempt(() => enforceSchema(withPlainColumns(table), specs));
        // Input arrays are never written to.
        expect(table.columns.map(columnKeys)).toEqual(before);
        if ("error" in typed || "error" in plain) {
          expect(typed).toEqual(plain);
          return;
        }
        expect(tableKeys(typed.ok.table)).toEqual(tableKeys(plain.ok.table));
        expect(typed.ok.droppedColumns).toEqual(plain.ok.droppedColumns);
        specs.forEach((spec, i) => {
          // A double or integer column comes out as the same kind of array either way (Float64Array
          // or Int32Array without missing values).
          if (spec.type === "double" || spec.type === "integer") {
            expect((typed.ok.table.columns[i] as Column).constructor).toBe((plain.ok.table.columns[i] as Column).constructor);
          }
        });
      }),
      { numRuns: 600, seed: 2015 },
    );
  });
});

// --- 2. Arrow round trip ------------------------------------------------------------------------

/** A column for toArrow: a typed array (of any kind, maybe a view), or plain numbers, text, booleans, dates or bytes with missing values. */
function arrowColumn(rows: number): fc.Arbitrary<Column> {
  const missing = fc.constantFrom(null, undefined);
  const plainOf = (cell: fc.Arbitrary<Cell>) =>
    fc.array(fc.oneof({ weight: 5, arbitrary: cell }, { weight: 1, arbitrary: missing }), { minLength: rows, maxLength: rows });
  return fc.oneof(
    {
      weight: 4,
      arbitrary: fc
        .tuple(fc.constantFrom(...KINDS), fc.array(edgeNumber, { minLength: rows, maxLength: rows }), fc.boolean())
        .map(([k, n, v]) => typedOf(k, n, v)),
    },
    { weight: 1, arbitrary: fc.array(edgeNumber, { minLength: rows, maxLength: rows }) },
    { weight: 1, arbitrary: plainOf(edgeNumber) },
    { weight: 1, arbitrary: plainOf(text) },
    { weight: 1, arbitrary: plainOf(fc.boolean()) },
    { weight: 1, arbitrary: plainOf(date) },
    { weight: 1, arbitrary: plainOf(bytes) },
  ) as fc.Arbitrary<Column>;
}

const NUMERIC_ARROW_TYPES = ["Float64", "Float32", "Int32", "Int16", "Int8", "Uint8", "Uint16", "Uint32"] as const;

function arrowType(name: (typeof NUMERIC_ARROW_TYPES)[number] | "Utf8"): DataType {
  const A = arrowLib();
  return new A[name]() as DataType;
}

/** A table and, sometimes, Arrow types fixed for some of its columns (numeric ones for numbers, Utf8 for anything). */
const arrowCase: fc.Arbitrary<{ table: ColumnTable; types: Record<string, DataType> }> = rowCount.chain((rows) =>
  fc.array(arrowColumn(rows), { minLength: 1, maxLength: 5 }).chain((columns) =>
    fc
      .tuple(
        ...columns.map((c) =>
          isNumericArray(c) || c.every((v) => typeof v === "number" || v === null || v === undefined)
            ? fc.option(fc.constantFrom(...NUMERIC_ARROW_TYPES, "Utf8" as const), { freq: 2 })
            : fc.option(fc.constant("Utf8" as const), { freq: 2 }),
        ),
      )
      .map((chosen) => {
        const names = columns.map((_, i) => `c${i}`);
        const types: Record<string, DataType> = {};
        chosen.forEach((t, i) => {
          if (t !== null) types[names[i] as string] = arrowType(t);
        });
        return { table: { names, columns, numRows: rows }, types };
      }),
  ),
);

function roundTrip(table: ColumnTable, types: Record<string, DataType>, builders: boolean) {
  return attempt(() => {
    const arrow = toArrow(table, types, { builders });
    const back = decodeArrowIpc(encodeArrowIpc(arrow));
    return { fields: back.schema.fields.map((f) => `${f.name}: ${String(f.type)}${f.nullable ? "?" : ""}`), table: fromArrow(back) };
  });
}

describe("toArrow writes typed arrays as apache-arrow's builders would", () => {
  it("the same Arrow types and, through IPC and fromArrow, the same values (typed and plain columns, with and without types)", () => {
    fc.assert(
      fc.property(arrowCase, ({ table, types }) => {
        const fast = roundTrip(table, types, false);
        const built = roundTrip(table, types, true);
        if ("error" in fast || "error" in built) {
          expect(fast).toEqual(built);
          return;
        }
        expect(fast.ok.fields).toEqual(built.ok.fields);
        expect(tableKeys(fast.ok.table)).toEqual(tableKeys(built.ok.table));
      }),
      { numRuns: 400, seed: 2015 },
    );
  });

  it("a typed column comes back as its own kind of typed array, every number as it was", () => {
    fc.assert(
      fc.property(arrowCase, ({ table }) => {
        const back = fromArrow(decodeArrowIpc(encodeArrowIpc(toArrow(table))));
        table.columns.forEach((column, i) => {
          if (!isNumericArray(column)) return;
          expect(back.columns[i]).toBeInstanceOf(column.constructor);
          expect(columnKeys(back.columns[i] as Column)).toEqual(columnKeys(column));
        });
      }),
      { numRuns: 200, seed: 2015 },
    );
  });
});

// --- 4. concatTables, sliceTable, splitRows -----------------------------------------------------

/** Tables of the same columns, each column typed (of some kind) or plain in each table. */
const stackCase: fc.Arbitrary<ColumnTable[]> = fc.integer({ min: 1, max: 4 }).chain((width) =>
  fc.array(
    rowCount.chain((rows) =>
      fc
        .tuple(...Array.from({ length: width }, () => arrowColumn(rows)))
        .map((columns): ColumnTable => ({ names: columns.map((_, i) => `c${i}`), columns, numRows: rows })),
    ),
    { minLength: 1, maxLength: 5 },
  ),
);

describe("stacking and slicing typed columns gives what it gives for plain ones", () => {
  it("concatTables: the same values; typed when every part is of one kind", () => {
    fc.assert(
      fc.property(stackCase, (tables) => {
        const typed = concatTables(tables);
        const plain = concatTables(tables.map(withPlainColumns));
        expect(tableKeys(typed)).toEqual(tableKeys(plain));
        typed.columns.forEach((column, c) => {
          const parts = tables.map((t) => t.columns[c] as Column);
          const first = parts[0] as Column;
          if (isNumericArray(first) && parts.every((p) => p.constructor === first.constructor)) expect(column).toBeInstanceOf(first.constructor);
        });
      }),
      { numRuns: 300, seed: 2015 },
    );
  });

  it("sliceTable: the same rows for any start and end (negative and past the end too)", () => {
    fc.assert(
      fc.property(arrowCase, fc.integer({ min: -35, max: 35 }), fc.integer({ min: -35, max: 35 }), ({ table }, start, end) => {
        const typed = sliceTable(table, start, end);
        const plain = sliceTable(withPlainColumns(table), start, end);
        expect(tableKeys(typed)).toEqual(tableKeys(plain));
        typed.columns.forEach((c) => expect(c.length).toBe(typed.numRows));
      }),
      { numRuns: 300, seed: 2015 },
    );
  });

  it("splitRows of a stacked output gives back each input's rows, as tables, objects of columns and bare arrays", () => {
    fc.assert(
      fc.property(stackCase, (tables) => {
        const counts = tables.map((t) => t.numRows);
        const stacked = concatTables(tables);
        const plainStacked = concatTables(tables.map(withPlainColumns));
        const typedParts = splitRows(stacked, counts) as ColumnTable[];
        const plainParts = splitRows(plainStacked, counts) as ColumnTable[];
        expect(typedParts.map(tableKeys)).toEqual(plainParts.map(tableKeys));
        expect(typedParts.map(tableKeys)).toEqual(tables.map(tableKeys));

        const asObject = (t: ColumnTable) => Object.fromEntries(t.names.map((n, i) => [n, t.columns[i]]));
        const typedObjects = splitRows(asObject(stacked), counts) as Record<string, Column>[];
        const plainObjects = splitRows(asObject(plainStacked), counts) as Record<string, Column>[];
        expect(typedObjects.map((o) => Object.values(o).map(columnKeys))).toEqual(plainObjects.map((o) => Object.values(o).map(columnKeys)));

        const typedBare = splitRows(stacked.columns[0], counts) as Column[];
        const plainBare = splitRows(plainStacked.columns[0], counts) as Column[];
        expect(typedBare.map(columnKeys)).toEqual(plainBare.map(columnKeys));
      }),
      { numRuns: 300, seed: 2015 },
    );
  });
});

// --- 3. a served model, typed and plain ---------------------------------------------------------

/** Every signature type, required and optional: `<type>_req` and `<type>_opt`. */
const SERVED_SPECS: ColumnSpec[] = TYPES.flatMap((type) => [
  { name: `${type}_req`, type, required: true },
  { name: `${type}_opt`, type, required: false },
]);
const SERVED_SIGNATURE = {
  inputs: JSON.stringify(SERVED_SPECS),
  outputs: null,
  params: null,
};

/** The Arrow type a client sends a plain column of `type` as. */
function arrowTypeOfSpec(spec: ColumnSpec): DataType {
  const A = arrowLib();
  switch (spec.type) {
    case "boolean":
      return new A.Bool();
    case "string":
      return new A.Utf8();
    case "binary":
      return new A.Binary();
    case "datetime":
      return new A.TimestampMillisecond();
    default:
      return new A.Float64();
  }
}

/** The kinds of typed array that hold every one of `numbers` exactly. */
function kindsFor(numbers: readonly number[]): Kind[] {
  return KINDS.filter((kind) => {
    const copy = kind.from(numbers);
    return numbers.every((n, i) => Object.is(copy[i], n));
  });
}

interface ServedCase {
  /** The request's table: cells as the model receives them after enforcement (dates, bytes), numeric columns maybe typed. */
  table: ColumnTable;
}

/** A served value of `type`: what the signature takes (dates, bytes), NaN in float and double columns. */
function servedCell(type: ColumnType): fc.Arbitrary<Cell> {
  switch (type) {
    case "binary":
      return bytes;
    case "datetime":
      return date;
    case "float":
      return fc.oneof(fc.float({ noDefaultInfinity: true }), fc.constant(Number.NaN));
    case "double":
      return fc.oneof(fc.double({ noDefaultInfinity: true }), fc.constant(Number.NaN), fc.constant(-0));
    default:
      return validCell(type);
  }
}

/**
 * A request for the served model: every required column, optional ones sometimes left out or
 * holding nulls; a numeric column without missing values sometimes a typed array of a kind that
 * holds its numbers.
 */
const servedCase: fc.Arbitrary<ServedCase> = rowCount.chain((rows) =>
  fc
    .tuple(
      ...SERVED_SPECS.map((spec) =>
        fc.record({
          sent: spec.required ? fc.constant(true) : fc.boolean(),
          values: fc.array(spec.required ? servedCell(spec.type) : fc.option(servedCell(spec.type), { freq: 3 }), { minLength: rows, maxLength: rows }),
          kind: fc.nat(),
        }),
      ),
    )
    .map((columns): ServedCase => {
      const names: string[] = [];
      const out: Column[] = [];
      columns.forEach(({ sent, values, kind }, i) => {
        const spec = SERVED_SPECS[i] as ColumnSpec;
        if (!sent) return;
        names.push(spec.name as string);
        const numeric = ["integer", "long", "float", "double"].includes(spec.type) && values.every((v) => typeof v === "number");
        const kinds = numeric ? kindsFor(values as number[]) : [];
        out.push(kinds.length > 0 && kind % 3 !== 0 ? typedOf(kinds[kind % kinds.length] as Kind, values as number[], kind % 2 === 0) : (values as Cell[]));
      });
      return { table: { names, columns: out, numRows: rows } };
    }),
);

/** A JSON number as Python's json writes it: bare NaN, -0 kept. */
function jsonCell(v: Cell): string {
  if (typeof v === "number") return Number.isNaN(v) ? "NaN" : Object.is(v, -0) ? "-0" : String(v);
  if (v instanceof Date) return JSON.stringify(v.toISOString());
  if (v instanceof Uint8Array) return JSON.stringify(Buffer.from(v).toString("base64"));
  return JSON.stringify(v ?? null);
}

/** The request as MLflow's `dataframe_split` JSON. */
function jsonBody(t: ColumnTable): string {
  const rows: string[] = [];
  for (let r = 0; r < t.numRows; r++) rows.push(`[${t.columns.map((c) => jsonCell(c[r])).join(",")}]`);
  return `{"dataframe_split":{"columns":${JSON.stringify(t.names)},"data":[${rows.join(",")}]}}`;
}

/** The request as an Arrow IPC stream: typed columns as their own vectors, the others by signature type. */
function arrowBody(t: ColumnTable): Uint8Array {
  const types: Record<string, DataType> = {};
  t.names.forEach((name, i) => {
    const column = t.columns[i] as Column;
    if (!isNumericArray(column)) types[name] = arrowTypeOfSpec(SERVED_SPECS.find((s) => s.name === name) as ColumnSpec);
  });
  return encodeArrowIpc(toArrow(t, types), "stream");
}

async function invoke(app: App, body: string | Uint8Array): Promise<string> {
  const arrow = typeof body !== "string";
  const res = await send(app, "/invocations", { method: "POST", contentType: arrow ? "application/vnd.apache.arrow.stream" : "application/json", body });
  const text = await res.text();
  expect(res.status, text).toBe(200);
  return text;
}

describe("a packaged columns model answers the same with typed and plain column arrays", () => {
  let typedModel: PipelineModel;
  let plainModel: PipelineModel;
  let typedApp: App;
  let plainApp: App;
  /** The typed model on worker threads: its typed columns cross to the worker by structured clone. */
  let workerApp: App;

  beforeAll(async () => {
    let workerModel: PipelineModel;
    [typedModel, plainModel, workerModel] = await Promise.all([
      buildModel("arith_columns", SERVED_SIGNATURE, { rowWise: true, columnArrays: "typed" }),
      buildModel("arith_columns", SERVED_SIGNATURE, { rowWise: true, columnArrays: "plain" }),
      buildModel("arith_columns", SERVED_SIGNATURE, { rowWise: true, columnArrays: "typed", runner: "WorkerRunner" }),
    ]);
    typedApp = quietApp(typedModel);
    plainApp = quietApp(plainModel);
    workerApp = quietApp(workerModel);
  });

  it("the flavors say so", () => {
    expect(typedModel.columnArrays).toBe("typed");
    expect(plainModel.columnArrays).toBe("plain");
  });

  it("byte-identical /invocations bodies: typed or plain model (in-thread or on workers), JSON or Arrow request, alone or batched", async () => {
    await fc.assert(
      fc.asyncProperty(servedCase, servedCase, async ({ table }, other) => {
        // NB: a JSON body's NaN is a missing value (as pandas reads it): only an Arrow body's NaN
        // reaches a required column as a number.
        const nanInRequired = table.names.some(
          (n, i) => n.endsWith("_req") && Array.from(table.columns[i] as Column).some((v) => typeof v === "number" && Number.isNaN(v)),
        );
        const bodies: (string | Uint8Array)[] = [arrowBody(table), ...(nanInRequired ? [] : [jsonBody(table)])];
        const answers: string[] = [];
        for (const body of bodies) for (const app of [typedApp, plainApp, workerApp]) answers.push(await invoke(app, body));
        for (const answer of answers) expect(answer).toBe(answers[0]);
        // Batched: the same requests at once, with another one, stacked by the adaptive batcher.
        const otherBody = arrowBody(other.table);
        const otherAlone = await invoke(typedApp, otherBody);
        for (const app of [typedApp, plainApp, workerApp]) {
          const together = await Promise.all([...bodies.map((b) => invoke(app, b)), invoke(app, otherBody)]);
          expect(together).toEqual([...bodies.map(() => answers[0]), otherAlone]);
        }
      }),
      { numRuns: 60, seed: 2015 },
    );
  });
});
