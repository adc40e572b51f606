// Generators of JSON request bodies, right and wrong: values of every kind (huge numbers, NaN and
// Infinity tokens, lone surrogates, dates and base64 that are not), every /invocations form with
// wrong types and shapes, params, duplicate keys, deep nesting, and byte-level damage (truncation,
// splices, bytes that are not UTF-8). Text JSON.stringify cannot write (bare tokens, duplicate
// keys) is marked in the value and put in by `jsonText`.
import fc from "fast-check";
import { RICH_COLUMNS, RICH_PARAMS } from "./rich-signature.js";

const RAW = "\u0001raw:";
const DUP = "\u0001dup:";

/** A value written as the bare token `text` (NaN, Infinity, 1e999, ...), not as a string. */
export function raw(text: string): string {
  return `${RAW}${text}`;
}

let dupCount = 0;
/** A key written as `key`, which may repeat among its object's keys. */
export function dupKey(key: string): string {
  return `${DUP}${dupCount++}:${key}`;
}

/** JSON text of a generated value, with its bare tokens and duplicate keys in place. */
export function jsonText(value: unknown): string {
  return (JSON.stringify(value) ?? "null").replace(/"\\u0001raw:([^"\\]*)"/g, "$1").replace(/"\\u0001dup:\d+:/g, '"');
}

/** Numbers that sit on an edge: of doubles, of safe integers, of 32- and 64-bit ranges. */
const edgeNumber = fc.constantFrom(
  1e308,
  -1e308,
  5e-324,
  2 ** 53,
  2 ** 53 + 2,
  -(2 ** 53) - 2,
  2 ** 63,
  -(2 ** 63),
  2 ** 64,
  2 ** 31,
  -(2 ** 31) - 1,
  1.7976931348623157e308,
  0.1,
  -0,
  1.5,
  13,
);

/** Tokens JSON does not have, or numbers it cannot hold. */
const rawToken = fc
  .constantFrom("NaN", "Infinity", "-Infinity", "1e999", "-1e999", "123456789012345678901234567890", "1e-400", "-0", "0.0", "1E+2", "-NaN", "+1", "01", ".5")
  .map(raw);

const dateText = fc.oneof(
  fc.constantFrom(
    "2024-01-01T00:00:00Z",
    "2024-01-01",
    "2024-02-30",
    "2024-01-01T25:61:00",
    "+275760-09-13T00:00:00.000Z",
    "-271821-04-20T00:00:00Z",
    "0000-00-00",
    "2024-01-01T00:00:00+99:99",
    "1e10",
    "now",
  ),
  fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
);

const base64Text = fc.oneof(fc.base64String({ maxLength: 12 }), fc.constantFrom("!!!", "=", "a", "aGVsbG8=\n", "YQ", "===="));

/** Text of every kind: any code point, lone surrogates, text that looks like a number or a boolean. */
export const anyText = fc.oneof(
  { weight: 3, arbitrary: fc.string({ maxLength: 12 }) },
  { weight: 2, arbitrary: fc.string({ unit: "binary", maxLength: 12 }) },
  {
    weight: 2,
    arbitrary: fc.constantFrom("", "\u0000", "\ud800", "\udfff", "a\ud800b", "🦀", "true", "True", "1", "1.5", "nan", "inf", "-inf", "  7 ", "1,5", "\n", '"'),
  },
);

/** A scalar of any kind a JSON body may carry. */
export const scalar: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: fc.integer() },
  { weight: 2, arbitrary: fc.double() },
  { weight: 2, arbitrary: edgeNumber },
  { weight: 2, arbitrary: rawToken },
  { weight: 2, arbitrary: fc.boolean() },
  { weight: 2, arbitrary: fc.constant(null) },
  { weight: 3, arbitrary: anyText },
  { weight: 1, arbitrary: dateText },
  { weight: 1, arbitrary: base64Text },
);

/** A table cell: mostly scalars, sometimes a list or an object where a scalar belongs. */
export const cell: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 12, arbitrary: scalar },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
  { weight: 1, arbitrary: fc.array(scalar, { maxLength: 3 }) },
);

/** Column names: the signature's mostly, else names that trip code (`__proto__`, empty, numbers). */
export const columnName: fc.Arbitrary<string> = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom(...RICH_COLUMNS) },
  { weight: 2, arbitrary: fc.constantFrom("", "__proto__", "constructor", "toString", "hasOwnProperty", "0", "1", "A", " a", "é", "\u0000", "a.b") },
  { weight: 1, arbitrary: fc.string({ maxLength: 6 }) },
);

/** Anything but what a place expects. */
const wrongType: fc.Arbitrary<unknown> = fc.oneof(
  fc.constant(null),
  fc.integer(),
  anyText,
  fc.boolean(),
  fc.dictionary(columnName, cell, { maxKeys: 3 }),
  fc.array(cell, { maxLength: 3 }),
  rawToken,
);

/** Values a column of the `a: long, b: double` kind is likely to get: right ones, near misses, wrong ones. */
const nearNumber: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: fc.integer({ min: -1000, max: 1000 }) },
  { weight: 2, arbitrary: fc.double({ min: -1e6, max: 1e6, noNaN: true }) },
  { weight: 3, arbitrary: cell },
);

const row: fc.Arbitrary<unknown[]> = fc.oneof(
  { weight: 3, arbitrary: fc.tuple(nearNumber, nearNumber) },
  { weight: 2, arbitrary: fc.array(cell, { maxLength: 9 }) },
);

/** A row object: keys of the signature with likely values, or any keys, duplicated sometimes. */
const record: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ a: nearNumber, b: nearNumber, s: cell, d: dateText, x: base64Text }, { requiredKeys: [] }) },
  { weight: 3, arbitrary: fc.dictionary(columnName, cell, { maxKeys: 9 }) },
  { weight: 1, arbitrary: fc.tuple(columnName, cell, cell).map(([k, v, w]) => ({ [dupKey(k)]: v, [dupKey(k)]: w })) },
  { weight: 1, arbitrary: cell },
);

const rows = (item: fc.Arbitrary<unknown>): fc.Arbitrary<unknown[]> => fc.array(item, { maxLength: 8 });

const split: fc.Arbitrary<unknown> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record(
      {
        columns: fc.oneof(fc.uniqueArray(columnName, { maxLength: 9 }), fc.array(columnName, { maxLength: 5 }), wrongType),
        data: fc.oneof({ weight: 5, arbitrary: rows(row) }, { weight: 1, arbitrary: wrongType }),
        index: fc.oneof(fc.array(fc.integer(), { maxLength: 8 }), wrongType),
      },
      { requiredKeys: [] },
    ),
  },
  { weight: 1, arbitrary: fc.dictionary(fc.constantFrom("columns", "data", "index", "dtype", "orient"), cell, { maxKeys: 4 }) },
  { weight: 1, arbitrary: wrongType },
);

const instances: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: rows(record) },
  { weight: 2, arbitrary: rows(row) },
  { weight: 2, arbitrary: rows(scalar) },
  { weight: 2, arbitrary: fc.dictionary(columnName, fc.oneof(rows(nearNumber), rows(cell)), { maxKeys: 9 }) },
  { weight: 2, arbitrary: fc.dictionary(columnName, cell, { maxKeys: 9 }) },
  { weight: 1, arbitrary: fc.array(fc.oneof(record, row, scalar), { maxLength: 5 }) },
  { weight: 1, arbitrary: wrongType },
);

const runnerName = fc.constantFrom(
  "SequentialRunner",
  "ConcurrentRunner",
  "WorkerRunner",
  "ParallelRunner",
  "ThreadRunner",
  "",
  "sequentialrunner",
  "__proto__",
);

const paramValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: scalar },
  { weight: 2, arbitrary: fc.array(scalar, { maxLength: 4 }) },
  { weight: 1, arbitrary: runnerName },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
);

/** A `params` object: the signature's params mostly, with right or wrong values; or no object at all. */
export const params: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 6, arbitrary: fc.dictionary(fc.oneof(fc.constantFrom(...RICH_PARAMS), fc.constantFrom("unknown", "__proto__", "")), paramValue, { maxKeys: 5 }) },
  { weight: 1, arbitrary: wrongType },
);

const FORMS = ["dataframe_split", "dataframe_records", "instances", "inputs"] as const;
const FORM_VALUE: Record<(typeof FORMS)[number], fc.Arbitrary<unknown>> = {
  dataframe_split: split,
  dataframe_records: fc.oneof({ weight: 5, arbitrary: rows(record) }, { weight: 1, arbitrary: wrongType }),
  instances,
  inputs: instances,
};

/**
 * An /invocations JSON body as a value: mostly one form (sometimes none or two), with params or
 * not, with other top-level keys now and then (the 1.x `columns`/`data`, the LLM keys, anything).
 */
export const invocationsBody: fc.Arbitrary<Record<string, unknown>> = fc
  .tuple(
    fc.oneof({ weight: 8, arbitrary: fc.constantFrom(...FORMS).map((f) => [f]) }, { weight: 1, arbitrary: fc.subarray([...FORMS], { maxLength: 2 }) }),
    fc.option(params, { freq: 2 }),
    fc.option(fc.dictionary(fc.constantFrom("columns", "data", "messages", "prompt", "input", "id", "__proto__"), cell, { maxKeys: 2 }), { freq: 6 }),
  )
  .chain(([forms, paramsValue, extra]) =>
    fc.tuple(...forms.map((f) => FORM_VALUE[f])).map((values) => {
      const body: Record<string, unknown> = {};
      for (const [key, value] of Object.entries(extra ?? {})) body[dupKey(key)] = value;
      forms.forEach((f, i) => {
        body[f] = values[i];
      });
      if (paramsValue !== null) body["params"] = paramsValue;
      return body;
    }),
  );

/** Byte-level damage to a body, applied in order by `mutate`. */
export type Mutation =
  | { kind: "truncate"; at: number }
  | { kind: "insert"; at: number; bytes: Uint8Array }
  | { kind: "delete"; at: number; length: number }
  | { kind: "flip"; at: number; mask: number }
  | { kind: "repeat"; at: number; length: number; times: number };

/** Bytes that are not UTF-8: a stray continuation, a cut sequence, overlong forms, surrogates, beyond U+10FFFF. */
const notUtf8 = fc.constantFrom(
  [0xff],
  [0x80],
  [0xc3],
  [0xe2, 0x82],
  [0xc0, 0xaf],
  [0xe0, 0x80, 0xaf],
  [0xed, 0xa0, 0x80],
  [0xf4, 0x90, 0x80, 0x80],
  [0xfe, 0xff],
  [0xef, 0xbb, 0xbf],
);

/** What an insertion puts in: tokens that break JSON and CSV, bytes that are not UTF-8, any bytes. */
const insertion: fc.Arbitrary<Uint8Array> = fc.oneof(
  fc
    .constantFrom("NaN", "Infinity", ",", "]", "}", "[", "{", '"', "\\", "\\u", ":", "null", "\n", "\r", "\u0000", "1e999", "\ufeff", '""', ",,")
    .map((s) => bytesOf(s)),
  notUtf8.map((b) => new Uint8Array(b)),
  fc.uint8Array({ minLength: 1, maxLength: 8 }),
);

/** The bytes of a body (a string is UTF-8). */
export function bytesOf(body: string | Uint8Array): Uint8Array {
  return typeof body === "string" ? new Uint8Array(Buffer.from(body, "utf8")) : body;
}

/** One to three mutations at positions from `from` to the end, as fractions of the body's length (so they fit any body). */
export function mutationsFrom(from: number): fc.Arbitrary<Mutation[]> {
  const at = fc.double({ min: from, max: 1, noNaN: true });
  return fc.array(
    fc.oneof(
      fc.record({ kind: fc.constant("truncate" as const), at }),
      fc.record({ kind: fc.constant("insert" as const), at, bytes: insertion }),
      fc.record({ kind: fc.constant("delete" as const), at, length: fc.integer({ min: 1, max: 16 }) }),
      fc.record({ kind: fc.constant("flip" as const), at, mask: fc.integer({ min: 1, max: 255 }) }),
      fc.record({ kind: fc.constant("repeat" as const), at, length: fc.integer({ min: 1, max: 64 }), times: fc.integer({ min: 2, max: 4 }) }),
    ),
    { minLength: 1, maxLength: 3 },
  );
}

/** One to three mutations anywhere. */
export const mutations: fc.Arbitrary<Mutation[]> = mutationsFrom(0);

/** Applies mutations to bytes (a copy). */
export function mutate(bytes: Uint8Array, steps: readonly Mutation[]): Uint8Array {
  let out = Buffer.from(bytes);
  for (const step of steps) {
    const at = Math.min(out.length, Math.floor(step.at * out.length));
    switch (step.kind) {
      case "truncate":
        out = out.subarray(0, at);
        break;
      case "insert":
        out = Buffer.concat([out.subarray(0, at), step.bytes, out.subarray(at)]);
        break;
      case "delete":
        out = Buffer.concat([out.subarray(0, at), out.subarray(at + step.length)]);
        break;
      case "flip":
        if (at < out.length) out[at] = (out[at] as number) ^ step.mask;
        break;
      case "repeat": {
        const piece = out.subarray(at, at + step.length);
        out = Buffer.concat([out.subarray(0, at), ...Array.from({ length: step.times }, () => piece), out.subarray(at + step.length)]);
        break;
      }
    }
  }
  return new Uint8Array(out);
}

/** Text nested `depth` levels deep in lists or objects, closed or not. */
export const deepNesting: fc.Arbitrary<string> = fc
  .tuple(
    fc.integer({ min: 1, max: 30_000 }),
    fc.constantFrom("[", '{"a":', '[{"b":', "[1,"),
    fc.boolean(),
    fc.constantFrom("inputs", "instances", "dataframe_records", "params"),
  )
  .map(([depth, open, closed, form]) => {
    const close = open === "[" || open === "[1," ? "]" : open === '{"a":' ? "}" : "}]";
    const inner = open.repeat(depth) + (open === "[1," ? "1" : "0") + (closed ? close.repeat(depth) : "");
    return `{"${form}": ${inner}}`;
  });

/** Numbers written with thousands of digits, or exponents out of range. */
export const longNumber: fc.Arbitrary<string> = fc
  .tuple(fc.integer({ min: 1, max: 5_000 }), fc.constantFrom("", "-", "0.", "1e", "1e-"), fc.constantFrom("inputs", "instances"))
  .map(([digits, prefix, form]) => `{"${form}": {"a": [${prefix}${"9".repeat(digits)}], "b": [1.5]}}`);
