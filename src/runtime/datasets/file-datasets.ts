import { mkdir, readFile, stat } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import {
  asColumnTable,
  decodeArrowIpc,
  fromArrow,
  parquetToArrow,
  readTableFile,
  toArrow,
  toDataFrame,
  typeCsvColumns,
  writeTableFile,
  type ColumnTable,
  type CsvParseOptions,
  type TableFormat,
} from "../../tabular/index.js";
import { writeFileAtomic } from "../../util/index.js";
import { DatasetError } from "../errors.js";
import { type ArtifactCodec, rememberDecoded } from "./artifact-codec.js";
import { AbstractDataset } from "./dataset.js";

export interface FileDatasetOptions {
  /** Path of the file; relative paths resolve against the working directory (the catalog resolves them against its base dir). */
  filepath: string;
}

/** Base of datasets stored in one file: resolves the path, creates parent folders, writes atomically. */
export abstract class FileDataset<T> extends AbstractDataset<T> {
  readonly filepath: string;

  constructor(options: FileDatasetOptions) {
    super();
    if (typeof options?.filepath !== "string" || options.filepath === "") {
      throw new DatasetError(`${new.target.name} needs a "filepath".`, { code: "INVALID_DATASET" });
    }
    this.filepath = resolve(options.filepath);
  }

  protected async _exists(): Promise<boolean> {
    try {
      return (await stat(this.filepath)).isFile();
    } catch {
      return false;
    }
  }

  protected async ensureParent(): Promise<void> {
    await mkdir(dirname(this.filepath), { recursive: true });
  }

  describe(): Record<string, unknown> {
    return { filepath: this.filepath };
  }
}

/** What a tabular dataset hands to nodes: a danfojs DataFrame (default), a `ColumnTable`, or an Arrow table (read directly for Arrow and Parquet files, built from the columns for CSV and JSON). */
export type TabularLoadAs = "dataframe" | "table" | "arrow";

export interface TabularDatasetOptions extends FileDatasetOptions {
  loadArgs?: CsvParseOptions & { as?: TabularLoadAs };
}

/** Base of tabular file datasets: read through the tabular module into a DataFrame; save any tabular value. */
abstract class TabularFileDataset extends FileDataset<unknown> {
  protected abstract readonly format: TableFormat;
  readonly loadAs: TabularLoadAs;
  readonly loadArgs: CsvParseOptions;

  constructor(options: TabularDatasetOptions) {
    super(options);
    const { as = "dataframe", ...rest } = options.loadArgs ?? {};
    if (!["dataframe", "table", "arrow"].includes(as)) {
      throw new DatasetError(`Invalid load_args.as "${String(as)}" for ${this.filepath}. Use one of: dataframe, table, arrow.`, { code: "INVALID_DATASET" });
    }
    this.loadAs = as;
    this.loadArgs = rest;
  }

  protected async _load(): Promise<unknown> {
    const table = await this.readTable();
    if (this.loadAs === "arrow") return toArrow(table);
    return this.loadAs === "dataframe" ? toDataFrame(table) : table;
  }

  /** The file as a table (before `as` makes it what nodes get). */
  protected readTable(): Promise<ColumnTable> {
    return readTableFile(this.filepath, this.format, this.loadArgs);
  }

  /** NB: with its load_args' delimiter (a CSV's), so a dataset saved and loaded again reads what was saved (found by a review). */
  protected async _save(data: unknown): Promise<void> {
    await this.ensureParent();
    const { delimiter } = this.loadArgs;
    await writeTableFile(this.filepath, asColumnTable(data), this.format, delimiter === undefined ? {} : { delimiter });
  }

  override describe(): Record<string, unknown> {
    return { filepath: this.filepath, as: this.loadAs };
  }
}

/**
 * A CSV file with a header row (empty cells load as missing values), typed column by column as
 * pandas reads one (`typeCsvColumns`); `load_args: {raw: true}` keeps every value as text.
 */
export class CsvDataset extends TabularFileDataset {
  protected readonly format = "csv";

  protected override async readTable(): Promise<ColumnTable> {
    const text = await readTableFile(this.filepath, this.format, { ...this.loadArgs, raw: true });
    return this.loadArgs.raw ? text : typeCsvColumns(text);
  }
}

/** A JSON file holding an array of row objects. */
export class JsonDataset extends TabularFileDataset {
  protected readonly format = "json";
}

/** A Parquet file (read and written with parquet-wasm). */
export class ParquetDataset extends TabularFileDataset {
  protected readonly format = "parquet";

  protected override async _load(): Promise<unknown> {
    if (this.loadAs !== "arrow") return super._load();
    return parquetToArrow(await readFile(this.filepath));
  }
}

/** An Arrow IPC file (`.arrow` / Feather v2). */
export class ArrowDataset extends TabularFileDataset {
  protected readonly format = "arrow";

  protected override async _load(): Promise<unknown> {
    const table = decodeArrowIpc(await readFile(this.filepath));
    if (this.loadAs === "arrow") return table;
    const plain = fromArrow(table);
    return this.loadAs === "dataframe" ? toDataFrame(plain) : plain;
  }
}

/** Raw bytes, e.g. an ONNX model file. */
export class BinaryDataset extends FileDataset<Uint8Array> {
  protected async _load(): Promise<Uint8Array> {
    return new Uint8Array(await readFile(this.filepath));
  }

  protected async _save(data: Uint8Array): Promise<void> {
    if (!(data instanceof Uint8Array)) throw new DatasetError(`BinaryDataset saves bytes (a Uint8Array or Buffer), got ${typeof data}.`);
    await this.ensureParent();
    await writeFileAtomic(this.filepath, data);
  }
}

/** `key` of a JSON path: `.name` for an identifier, `["a key"]` for anything else. */
function keyStep(key: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
}

/** A non-finite number found in a JSON value: where (path steps, innermost first) and what. */
interface NonFinite {
  steps: string[];
  value: number;
}

/** The walk behind `firstNonFinite`: `value` as JSON.stringify sees it under `key`. */
function findNonFinite(value: unknown, key: string, nanOnly: boolean): NonFinite | undefined {
  let v = value;
  if (v !== null && typeof v === "object" && typeof (v as { toJSON?: unknown }).toJSON === "function") v = (v as { toJSON(k: string): unknown }).toJSON(key);
  if (v instanceof Number) v = Number(v);
  if (typeof v === "number") return Number.isNaN(v) || (!nanOnly && !Number.isFinite(v)) ? { steps: [], value: v } : undefined;
  if (v === null || typeof v !== "object") return undefined;
  if (Array.isArray(v) || (ArrayBuffer.isView(v) && !(v instanceof DataView))) {
    const items = v as ArrayLike<unknown>;
    for (let i = 0; i < items.length; i++) {
      const item = items[i];
      // NB: the common case, a finite number, costs no call.
      if (typeof item === "number" && Number.isFinite(item)) continue;
      const found = findNonFinite(item, String(i), nanOnly);
      if (found) return (found.steps.push(`[${i}]`), found);
    }
    return undefined;
  }
  for (const [k, item] of Object.entries(v)) {
    if (typeof item === "number" && Number.isFinite(item)) continue;
    const found = findNonFinite(item, k, nanOnly);
    if (found) return (found.steps.push(keyStep(k)), found);
  }
  return undefined;
}

/**
 * The first NaN or ±Infinity (NaN only, with `nanOnly`) JSON.stringify meets in `value` (after
 * `toJSON`, as it writes), and its JSON path (`weights[0]`, `layers[1].bias`; "" for `value`
 * itself). NB: a walk of its own: a JSON.stringify replacer took several times as long on a 16 MB forest.
 */
function firstNonFinite(value: unknown, nanOnly: boolean): { path: string; value: number } | undefined {
  const found = findNonFinite(value, "", nanOnly);
  return found && { path: found.steps.reverse().join("").replace(/^\./, ""), value: found.value };
}

/**
 * A fitted object (scaler, encoder, model weights) as JSON. Saved with `JSON.stringify`, so an
 * object with a `toJSON()` controls its own form; `reviver` rebuilds it on load. NaN and ±Infinity
 * are refused (JSON would hold null, and a broken model would be packaged and served); in what a
 * codec encodes, NaN only. With a `codec`
 * (a library's object), `codec.encode` gives what is written and `codec.decode` rebuilds the
 * object from it.
 */
export class JsonArtifactDataset<T = unknown> extends FileDataset<T> {
  readonly #reviver: ((this: unknown, key: string, value: unknown) => unknown) | undefined;
  readonly #codec: ArtifactCodec<T> | undefined;
  /** The codec's name in catalog.yml (`codec: name`), recorded with a packaged model so serving decodes alike. */
  readonly codecName: string | undefined;

  constructor(
    options: FileDatasetOptions & { reviver?: (this: unknown, key: string, value: unknown) => unknown; codec?: ArtifactCodec<T>; codecName?: string },
  ) {
    super(options);
    this.#reviver = options.reviver;
    this.#codec = options.codec;
    this.codecName = options.codecName;
  }

  protected async _load(): Promise<T> {
    const stored = JSON.parse(await readFile(this.filepath, "utf8"), this.#reviver) as unknown;
    if (!this.#codec) return stored as T;
    try {
      const value = await this.#codec.decode(stored);
      if (this.codecName !== undefined) rememberDecoded(value, this.codecName, stored);
      return value;
    } catch (cause) {
      throw new DatasetError(`The codec ${this.codecName ? `"${this.codecName}" ` : ""}could not rebuild ${this.filepath}: ${(cause as Error).message}`, {
        code: "DATASET_LOAD_FAILED",
        cause,
      });
    }
  }

  protected async _save(data: T): Promise<void> {
    const stored = this.#codec ? this.#codec.encode(data) : data;
    const text = JSON.stringify(stored);
    if (text === undefined) throw new DatasetError(`JsonArtifactDataset cannot save ${typeof data} as JSON.`);
    // NB: JSON.stringify writes NaN and ±Infinity as null; only a text with a null can hide one, so only such a text is walked again.
    // A codec's form is its library's contract, which may hold ±Infinity and read back null
    // (ml-cart's trees, in ml-random-forest's JSON, hold gains of -Infinity): there only NaN is refused.
    const bad = text.includes("null") ? firstNonFinite(stored, this.#codec !== undefined) : undefined;
    if (bad) {
      const where = `${bad.path === "" ? "the top level" : bad.path}${this.#codec ? " (of what the codec encoded)" : ""}`;
      throw new DatasetError(
        `${this.toString()} cannot save ${String(bad.value)} at ${where}: JSON has no ${this.#codec ? "NaN" : "NaN or Infinity"}, and would hold null there. ` +
          `${this.#codec ? "A NaN" : "A NaN or infinite value"} in a fitted object means training went wrong (a missing parameter, a division by zero, a fit that diverged): ` +
          `fix the node that produced it${this.#codec ? "." : "; a value that is rightly infinite can be stored as a string."}`,
        { code: "DATASET_SAVE_FAILED" },
      );
    }
    await this.ensureParent();
    await writeFileAtomic(this.filepath, text);
  }
}
