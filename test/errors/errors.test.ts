/**
 * The error foundation: every code has an HTTP status, each part's base error is a
 * PipeserveError with its part's codes, refused values carry their data, and the server's
 * ERROR_STATUS is the table's MLflow part.
 */
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { UsageError } from "../../src/cli/errors.js";
import { ERROR_CODES, type ErrorCode, type ErrorKind, HTTP_STATUS, PipeserveError, isErrorCodeOf } from "../../src/errors/index.js";
import {
  ArchiveError,
  BatchError,
  DatasetError,
  FormatError,
  ModelLoadError,
  NodeError,
  NotFoundError,
  PackagingError,
  PipelineError,
  RunnerNotAllowedError,
  SchemaError,
  StoreError,
  TabularError,
  tableFromColumns,
} from "../../src/index.js";
import { ERROR_STATUS, HttpError, toErrorReply } from "../../src/server/index.js";
import { enforceSchema } from "../../src/tabular/index.js";
import { expectError } from "../tabular/expect-error.js";

const KINDS = Object.keys(ERROR_CODES) as ErrorKind[];
const ALL_CODES = [...new Set(KINDS.flatMap((k) => ERROR_CODES[k] as readonly ErrorCode[]))];

describe("the code → HTTP status table", () => {
  it.each(ALL_CODES)("%s has an HTTP status", (code) => {
    const status: number = HTTP_STATUS[code];
    expect(Number.isInteger(status) && status >= 400 && status <= 599).toBe(true);
  });

  it("lists no code that no part raises", () => {
    expect(Object.keys(HTTP_STATUS).sort()).toEqual([...ALL_CODES].sort());
  });

  it("keeps MLflow's statuses for MLflow's codes", () => {
    expect(ERROR_STATUS).toEqual({
      BAD_REQUEST: 400,
      INVALID_PARAMETER_VALUE: 400,
      MALFORMED_REQUEST: 400,
      NOT_FOUND: 404,
      RESOURCE_DOES_NOT_EXIST: 404,
      METHOD_NOT_ALLOWED: 405,
      NOT_ACCEPTABLE: 406,
      REQUEST_TIMEOUT: 408,
      REQUEST_TOO_LARGE: 413,
      UNSUPPORTED_MEDIA_TYPE: 415,
      REQUEST_HEADER_FIELDS_TOO_LARGE: 431,
      RESOURCE_EXHAUSTED: 429,
      REQUEST_LIMIT_EXCEEDED: 429,
      INTERNAL_ERROR: 500,
      TEMPORARILY_UNAVAILABLE: 503,
      DEADLINE_EXCEEDED: 504,
      CLIENT_CLOSED_REQUEST: 499,
    });
  });

  it.each([
    ["an HTTP code", "http", "NOT_ACCEPTABLE", true],
    ["a tabular code the server answers with", "http", "INVALID_PARAMETER_VALUE", true],
    ["a pipeserve code no reply carries", "http", "TABULAR_ERROR", false],
    ["a misspelt code", "tabular", "BAD_REQEST", false],
  ] as const)("isErrorCodeOf: %s", (_why, kind, code, expected) => {
    expect(isErrorCodeOf(kind, code)).toBe(expected);
  });

  it("refuses a code that is not listed, at compile time", () => {
    // @ts-expect-error a misspelt code is a type error, not a silent 500
    const misspelt = new StoreError("x", { code: "RESOURCE_DOES_NOT_EXITS" });
    // @ts-expect-error a code of another part is a type error too
    const foreign = new PackagingError("x", { code: "DATASET_EMPTY" });
    expect([misspelt.code, foreign.code]).toEqual(["RESOURCE_DOES_NOT_EXITS", "DATASET_EMPTY"]);
  });
});

type AnyErrorClass = abstract new (...args: never[]) => PipeserveError;

/** Each part's base error: how to make one with a code, its default code, and the codes its part lists. */
const BASES: [name: string, cls: AnyErrorClass, make: (code?: never) => PipeserveError, defaultCode: ErrorCode, kind: ErrorKind][] = [
  ["PipelineError", PipelineError, (code) => new PipelineError("m", code ? { code } : {}), "PIPELINE_ERROR", "pipeline"],
  ["DatasetError", DatasetError, (code) => new DatasetError("m", code ? { code } : {}), "DATASET_ERROR", "dataset"],
  ["TabularError", TabularError, (code) => new TabularError("m", code ? { code } : {}), "TABULAR_ERROR", "tabular"],
  ["StoreError", StoreError, (code) => new StoreError("m", code ? { code } : {}), "STORE_ERROR", "store"],
  ["PackagingError", PackagingError, (code) => new PackagingError("m", code ? { code } : {}), "PACKAGING_ERROR", "packaging"],
  ["ModelLoadError", ModelLoadError, (code) => new ModelLoadError("m", code ? { code } : {}), "MODEL_LOAD_ERROR", "modelLoad"],
  ["BatchError", BatchError, (code) => new BatchError("m", code ? { code } : {}), "BATCH_ERROR", "batch"],
  ["UsageError", UsageError, () => new UsageError("m"), "USAGE", "usage"],
  ["HttpError", HttpError, (code) => new HttpError(code ?? "INTERNAL_ERROR", "m"), "INTERNAL_ERROR", "http"],
];

describe("each part's base error", () => {
  it.each(BASES)("%s is a PipeserveError named after its class, with its default code", (name, cls, make, defaultCode, kind) => {
    const error = make();
    expect(error).toBeInstanceOf(PipeserveError);
    expect(error).toBeInstanceOf(cls);
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe(name);
    expect(error.code).toBe(defaultCode);
    expect(error.message).toBe("m");
    expect(ERROR_CODES[kind]).toContain(defaultCode);
    expect("cause" in error, "no cause key when none is given").toBe(false);
    expect("data" in error, "no data key when none is given").toBe(false);
  });

  it.each(BASES.filter(([name]) => name !== "UsageError"))("%s takes every code its part lists", (_name, _cls, make, _defaultCode, kind) => {
    for (const code of ERROR_CODES[kind]) expect(make(code as never).code).toBe(code);
  });

  it.each([
    ["PipelineError", new PipelineError("m", { code: "CYCLE", cause: "why" })],
    ["DatasetError", new DatasetError("m", { cause: "why" })],
    ["StoreError", new StoreError("m", { code: "CORRUPT_STORE", cause: "why" })],
    ["FormatError", new FormatError("m", { cause: "why" })],
    ["BatchError", new BatchError("m", { code: "BAD_ROW", cause: "why" })],
  ])("%s passes its cause through", (_name, error) => {
    expect(error.cause).toBe("why");
  });

  it.each([
    ["NodeError", new NodeError("fit", new Error("boom")), PipelineError, "NODE_FAILED"],
    ["NotFoundError", new NotFoundError("m"), StoreError, "RESOURCE_DOES_NOT_EXIST"],
    ["ArchiveError", new ArchiveError("m"), StoreError, "INVALID_ARCHIVE"],
    ["FormatError", new FormatError("m"), TabularError, "BAD_REQUEST"],
    ["SchemaError", new SchemaError("m"), TabularError, "INVALID_PARAMETER_VALUE"],
    ["RunnerNotAllowedError", new RunnerNotAllowedError("Gpu", ["SequentialRunner"]), PipeserveError, "INVALID_PARAMETER_VALUE"],
  ] as const)("%s keeps its base and its code", (name, error, base, code) => {
    expect(error).toBeInstanceOf(base);
    expect(error).toBeInstanceOf(PipeserveError);
    expect(error.name).toBe(name);
    expect(error.code).toBe(code);
  });

  it("HttpError takes its status from the table", () => {
    for (const code of ERROR_CODES.http) expect(new HttpError(code, "m").status).toBe(HTTP_STATUS[code]);
  });
});

describe("errors carry data beside their message", () => {
  const specs = [
    { name: "a", type: "long", required: true },
    { name: "b", type: "double", required: true },
  ] as const;

  it.each([
    ["a lossy value (SchemaError)", { a: [1, 2.5], b: [0.5, 1] }, SchemaError, { column: "a", row: 1, expected: "long", received: 2.5 }],
    ["an unconvertible value (FormatError)", { a: [1, 2], b: [0.5, "x"] }, FormatError, { column: "b", row: 1, expected: "double", received: "x" }],
    ["a missing value (FormatError)", { a: [null, 2], b: [0.5, 1] }, FormatError, { column: "a", row: 0, expected: "long", received: null }],
  ] as const)("%s names its column, row, type and value", (_why, columns, cls, data) => {
    const error = expectError(() => enforceSchema(tableFromColumns(columns), specs), cls, `column ${data.column}`);
    expect(error.data).toEqual(data);
  });

  it("numbers the row as the message does, with rowOffset", () => {
    const error = expectError(
      () => enforceSchema(tableFromColumns({ a: [1, 2, 3.5], b: [1, 2, 3] }), specs, { rowOffset: 10 }),
      SchemaError,
      "row 12 holds 3.5",
    );
    expect(error.data).toMatchObject({ column: "a", row: 12 });
  });

  it("a refusal that is not about one value has no data", () => {
    const error = expectError(() => enforceSchema(tableFromColumns({ a: [1] }), specs), SchemaError, "Model is missing inputs ['b']");
    expect(error.data).toBeUndefined();
  });

  it("toErrorReply answers a refused value as before: code and status from the table, the message as is", () => {
    const error = expectError(() => enforceSchema(tableFromColumns({ a: [1.5], b: [1] }), specs), SchemaError, "column a");
    expect(toErrorReply(error)).toMatchObject({ status: 400, code: "INVALID_PARAMETER_VALUE", message: error.message, internal: false });
    expect(toErrorReply(new TabularError("m"))).toMatchObject({ status: 400, code: "BAD_REQUEST" });
  });
});

describe("src/errors is a leaf", () => {
  it("imports nothing", () => {
    const dir = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "src", "errors");
    const imports = readdirSync(dir)
      .filter((f) => f.endsWith(".ts"))
      .flatMap((f) => [...readFileSync(join(dir, f), "utf8").matchAll(/(?:import|export)\s[^;]*?from\s+["']([^"']+)["']/g)].map((m) => m[1] as string))
      .filter((specifier) => !specifier.startsWith("./"));
    expect(imports).toEqual([]);
  });
});
