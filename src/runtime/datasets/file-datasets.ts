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
    const table: ColumnTable = await readTableFile(this.filepath, this.format, this.loadArgs);
    if (this.loadAs === "arrow") return toArrow(table);
    return this.loadAs === "dataframe" ? toDataFrame(table) : table;
  }

  protected async _save(data: unknown): Promise<void> {
    await this.ensureParent();
    await writeTableFile(this.filepath, asColumnTable(data), this.format);
  }

  override describe(): Record<string, unknown> {
    return { filepath: this.filepath, as: this.loadAs };
  }
}

/** A CSV file with a header row (empty cells load as missing values). */
export class CsvDataset extends TabularFileDataset {
  protected readonly format = "csv";
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

/**
 * A fitted object (scaler, encoder, model weights) as JSON. Saved with `JSON.stringify`, so an
 * object with a `toJSON()` controls its own form; `reviver` rebuilds it on load. With a `codec`
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
    const text = JSON.stringify(this.#codec ? this.#codec.encode(data) : data);
    if (text === undefined) throw new DatasetError(`JsonArtifactDataset cannot save ${typeof data} as JSON.`);
    await this.ensureParent();
    await writeFileAtomic(this.filepath, text);
  }
}
