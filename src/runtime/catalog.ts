import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parse as parseYaml } from "yaml";
import { isPlainObject } from "../util/index.js";
import { copyModeFor, deepClone, parseCopyMode, parseCopyModeSpec, type CopyModeSpec } from "./copy-mode.js";
import type { Dataset } from "./datasets/dataset.js";
import { ArrowDataset, BinaryDataset, CsvDataset, JsonArtifactDataset, JsonDataset, ParquetDataset } from "./datasets/file-datasets.js";
import { FolderArtifactDataset } from "./datasets/folder-artifact.js";
import { OnnxModelDataset, type OnnxModelDatasetOptions } from "./datasets/onnx-model.js";
import { type AnyCodec, type ArtifactCodec, type FolderCodec, isFolderCodec } from "./datasets/artifact-codec.js";
import { MemoryDataset } from "./datasets/memory-dataset.js";
import { MetricsDataset } from "./datasets/metrics-dataset.js";
import { DatasetError } from "./errors.js";
import { getParam } from "./param-paths.js";

export interface DataCatalogOptions {
  /** The values `params:x` and `parameters` inputs read. */
  params?: Readonly<Record<string, unknown>>;
  /** Copy mode for memory datasets the catalog creates (feed dicts, saves of unregistered names). */
  copyMode?: CopyModeSpec;
}

export interface CatalogConfigOptions extends DataCatalogOptions {
  /** Relative `filepath`s resolve against this folder (the project root). */
  baseDir: string;
  /** The codecs entries may name (`codec: name`): the project's `codecs` export. */
  codecs?: Readonly<Record<string, AnyCodec>>;
}

type DatasetFactory = (config: Record<string, unknown>, name: string, options: CatalogConfigOptions) => Dataset;

const FILE_KEYS = ["type", "filepath", "load_args", "save_args", "metadata"];

/** What `load_args` a tabular dataset takes: `as` (what nodes get), and for CSV its parsing (`sep` is pandas' name for `delimiter`). */
const TABULAR_LOAD_KEYS = ["as"];
const CSV_LOAD_KEYS = ["as", "delimiter", "sep", "raw"];

/**
 * Builds a file dataset from its catalog entry. `loadKeys` lists the `load_args` it takes (any,
 * when null: an ONNX model's are its session's options, checked there). NB: found by an audit:
 * other keys were ignored without a word (`sep: ";"` read a `;`-separated file as one column), and
 * so was `save_args`; both are now refused, naming what is taken (`save_args: {index: false}`, what
 * pandas users write and pipeserve does anyway, is let be).
 */
function fileFactory(
  make: (options: { filepath: string; loadArgs?: never }) => Dataset,
  extraKeys: string[] = [],
  loadKeys: readonly string[] | null = [],
): DatasetFactory {
  return (config, name) => {
    const unknown = Object.keys(config).filter((k) => !FILE_KEYS.includes(k) && !extraKeys.includes(k));
    if (unknown.length > 0) {
      throw new DatasetError(`Dataset "${name}" has unknown key(s) [${unknown.join(", ")}]. Allowed: ${[...FILE_KEYS, ...extraKeys].join(", ")}.`, {
        code: "INVALID_DATASET",
      });
    }
    if (typeof config["filepath"] !== "string") {
      throw new DatasetError(`Dataset "${name}" of type ${String(config["type"])} needs a "filepath" string.`, { code: "INVALID_DATASET" });
    }
    const loadArgs = config["load_args"];
    if (loadArgs !== undefined && (loadArgs === null || typeof loadArgs !== "object" || Array.isArray(loadArgs))) {
      throw new DatasetError(`Dataset "${name}": load_args must be a mapping.`, { code: "INVALID_DATASET" });
    }
    if (loadArgs !== undefined && loadKeys !== null) {
      const unknownArgs = Object.keys(loadArgs).filter((k) => !loadKeys.includes(k));
      if (unknownArgs.length > 0) {
        throw new DatasetError(
          `Dataset "${name}" has load_args pipeserve does not take: [${unknownArgs.join(", ")}]. ${String(config["type"])} takes ${loadKeys.length > 0 ? `[${loadKeys.join(", ")}]` : "none"}.`,
          { code: "INVALID_DATASET" },
        );
      }
    }
    const args = loadArgs as Record<string, unknown> | undefined;
    // NB: pandas' read_csv calls the delimiter `sep`, as Kedro catalogs write it.
    const given = args && Object.hasOwn(args, "sep") ? (({ sep, ...rest }) => ({ ...rest, delimiter: sep }))(args) : args;
    checkSaveArgs(config["save_args"], name, loadKeys?.includes("delimiter") ? (given?.["delimiter"] ?? ",") : undefined);
    return make({ filepath: config["filepath"], ...(given ? { loadArgs: given as never } : {}) });
  };
}

/**
 * Refuses `save_args`, which no dataset here uses, but for pandas' `index: false` (no index is ever
 * written) and a CSV's `sep` or `delimiter` equal to the one it loads with (it saves with that one).
 */
function checkSaveArgs(saveArgs: unknown, name: string, loadDelimiter: unknown): void {
  if (saveArgs === undefined || saveArgs === null) return;
  const entries: [string, unknown][] = typeof saveArgs === "object" && !Array.isArray(saveArgs) ? Object.entries(saveArgs) : [["", saveArgs]];
  const taken = (key: string, value: unknown): boolean =>
    (key === "index" && value === false) || ((key === "sep" || key === "delimiter") && loadDelimiter !== undefined && value === loadDelimiter);
  const unused = entries.filter(([key, value]) => !taken(key, value)).map(([key]) => key);
  if (unused.length === 0) return;
  throw new DatasetError(
    `Dataset "${name}" has save_args [${unused.join(", ")}], which pipeserve does not use: it writes each format one way. Remove them (index: false may stay: no index is written).`,
    { code: "INVALID_DATASET" },
  );
}

/**
 * A catalog entry's `filepath` as a local path: relative to `baseDir`, a `file://` URL as its path.
 * @throws DatasetError for a URL of another scheme (s3://, gs://…): it was taken for a folder named
 * "s3:" inside the project (found by an audit).
 */
function localFilepath(filepath: string, baseDir: string, name: string): string {
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(filepath)?.[1];
  if (scheme === undefined) return resolve(baseDir, filepath);
  if (scheme.toLowerCase() === "file") {
    try {
      return fileURLToPath(filepath);
    } catch (cause) {
      throw new DatasetError(`Dataset "${name}": filepath ${filepath} is not a file URL pipeserve can read: ${(cause as Error).message}`, {
        code: "INVALID_DATASET",
        cause,
      });
    }
  }
  throw new DatasetError(
    `Dataset "${name}": filepath ${filepath} is on ${scheme}://, which pipeserve cannot read or write; it reads local files (a path, or file://). Copy the data to a local path.`,
    { code: "INVALID_DATASET" },
  );
}

/** The codec a catalog entry names (`codec: name`), from the project's `codecs` export. @throws DatasetError naming the known ones. */
function codecFor(codecName: unknown, dataset: string, options: CatalogConfigOptions): AnyCodec {
  const known = Object.keys(options.codecs ?? {});
  if (typeof codecName !== "string" || !Object.hasOwn(options.codecs ?? {}, codecName)) {
    throw new DatasetError(
      `Dataset "${dataset}" names the codec ${JSON.stringify(codecName)}, which the project does not declare. ${
        known.length > 0 ? `Its codecs: ${known.join(", ")}.` : "Export `codecs` from pipelines.ts: { name: artifactCodec({ encode, decode }) }."
      }`,
      { code: "INVALID_DATASET" },
    );
  }
  return (options.codecs as Readonly<Record<string, AnyCodec>>)[codecName] as AnyCodec;
}

/** A JSON codec for a JsonArtifactDataset. @throws DatasetError when the name is a folder codec's. */
function jsonCodecFor(codecName: unknown, dataset: string, options: CatalogConfigOptions): ArtifactCodec {
  const codec = codecFor(codecName, dataset, options);
  if (isFolderCodec(codec))
    throw new DatasetError(
      `Dataset "${dataset}" is a JsonArtifactDataset, but the codec "${String(codecName)}" stores a folder of files (folderCodec): make it a FolderArtifactDataset.`,
      { code: "INVALID_DATASET" },
    );
  return codec;
}

/** A folder codec for a FolderArtifactDataset. @throws DatasetError when it has none, or a JSON codec. */
function folderCodecFor(codecName: unknown, dataset: string, options: CatalogConfigOptions): FolderCodec {
  if (codecName === undefined)
    throw new DatasetError(
      `Dataset "${dataset}" is a FolderArtifactDataset and needs a codec: add \`codec: NAME\`, with NAME a folderCodec({ save, load }) in pipelines.ts's \`codecs\`.`,
      { code: "INVALID_DATASET" },
    );
  const codec = codecFor(codecName, dataset, options);
  if (!isFolderCodec(codec))
    throw new DatasetError(
      `Dataset "${dataset}" is a FolderArtifactDataset, but the codec "${String(codecName)}" stores JSON (artifactCodec): make it a JsonArtifactDataset, or declare a folderCodec.`,
      { code: "INVALID_DATASET" },
    );
  return codec;
}

/** The dataset types a `catalog.yml` may name (with the Kedro spellings users already know). */
const DATASET_TYPES: Readonly<Record<string, DatasetFactory>> = {
  MemoryDataset: (config, name) => {
    const unknown = Object.keys(config).filter((k) => !["type", "copy_mode", "metadata"].includes(k));
    if (unknown.length > 0) {
      throw new DatasetError(`Dataset "${name}" has unknown key(s) [${unknown.join(", ")}]. MemoryDataset takes copy_mode.`, { code: "INVALID_DATASET" });
    }
    const mode = config["copy_mode"];
    return new MemoryDataset(mode === undefined ? {} : { copyMode: parseCopyMode(mode, name) });
  },
  MetricsDataset: (config, name) => {
    const unknown = Object.keys(config).filter((k) => !["type", "prefix", "metadata"].includes(k));
    if (unknown.length > 0) throw new DatasetError(`Dataset "${name}" has unknown key(s) [${unknown.join(", ")}]. MetricsDataset takes prefix.`);
    return new MetricsDataset(typeof config["prefix"] === "string" ? { prefix: config["prefix"] } : {});
  },
  CsvDataset: fileFactory((o) => new CsvDataset(o), [], CSV_LOAD_KEYS),
  JsonDataset: fileFactory((o) => new JsonDataset(o), [], TABULAR_LOAD_KEYS),
  ParquetDataset: fileFactory((o) => new ParquetDataset(o), [], TABULAR_LOAD_KEYS),
  ArrowDataset: fileFactory((o) => new ArrowDataset(o), [], TABULAR_LOAD_KEYS),
  BinaryDataset: fileFactory((o) => new BinaryDataset(o)),
  JsonArtifactDataset: (config, name, options) => {
    const codecName = config["codec"];
    const make = fileFactory(
      (o) => {
        if (codecName === undefined) return new JsonArtifactDataset(o);
        return new JsonArtifactDataset({ ...o, codec: jsonCodecFor(codecName, name, options), codecName: codecName as string });
      },
      ["codec"],
    );
    return make(config, name, options);
  },
  FolderArtifactDataset: (config, name, options) => {
    const codec = folderCodecFor(config["codec"], name, options);
    return fileFactory((o) => new FolderArtifactDataset({ ...o, codec, codecName: config["codec"] as string }), ["codec"])(config, name, options);
  },
  OnnxModelDataset: fileFactory((o) => new OnnxModelDataset(o as OnnxModelDatasetOptions), [], null),
  "pandas.CSVDataset": fileFactory((o) => new CsvDataset(o), [], CSV_LOAD_KEYS),
  "pandas.JSONDataset": fileFactory((o) => new JsonDataset(o), [], TABULAR_LOAD_KEYS),
  "pandas.ParquetDataset": fileFactory((o) => new ParquetDataset(o), [], TABULAR_LOAD_KEYS),
  "pandas.FeatherDataset": fileFactory((o) => new ArrowDataset(o), [], TABULAR_LOAD_KEYS),
  "json.JSONDataset": fileFactory((o) => new JsonArtifactDataset(o)),
};

/** The dataset type names `DataCatalog.fromConfig` accepts. */
export const CATALOG_DATASET_TYPES: readonly string[] = Object.keys(DATASET_TYPES);

/**
 * Maps dataset names to datasets, and serves parameters as `params:x`, `params:a.b.c` and
 * `parameters` (Kedro's `DataCatalog`). Saving to a name nobody registered creates a
 * `MemoryDataset` with the catalog's copy mode.
 */
export class DataCatalog {
  readonly #datasets: Map<string, Dataset>;
  readonly params: Readonly<Record<string, unknown>>;
  readonly copyMode: CopyModeSpec | undefined;

  constructor(datasets: Readonly<Record<string, Dataset>> = {}, options: DataCatalogOptions = {}) {
    this.#datasets = new Map(Object.entries(datasets));
    this.params = options.params ?? {};
    this.copyMode = options.copyMode === undefined ? undefined : parseCopyModeSpec(options.copyMode);
  }

  /**
   * Builds a catalog from a Kedro-like `catalog.yml` object: `name: { type, filepath, load_args }`.
   * Keys starting with `_` are YAML anchors and skipped.
   * @throws DatasetError for an unknown type, a missing filepath or an unknown key, naming the dataset.
   */
  static fromConfig(config: unknown, options: CatalogConfigOptions): DataCatalog {
    if (config === null || config === undefined) return new DataCatalog({}, options);
    if (!isPlainObject(config))
      throw new DatasetError("The catalog config must be a mapping of dataset name → { type, filepath, ... }.", { code: "INVALID_CATALOG" });
    const datasets: Record<string, Dataset> = {};
    for (const [name, entry] of Object.entries(config)) {
      if (name.startsWith("_")) continue;
      if (!isPlainObject(entry)) throw new DatasetError(`Catalog entry "${name}" must be a mapping with a "type".`, { code: "INVALID_CATALOG" });
      const type = entry["type"];
      const factory = typeof type === "string" ? DATASET_TYPES[type] : undefined;
      if (!factory) {
        throw new DatasetError(`Catalog entry "${name}" has unknown type ${JSON.stringify(type)}. Use one of: ${CATALOG_DATASET_TYPES.join(", ")}.`, {
          code: "INVALID_CATALOG",
        });
      }
      const withPath = typeof entry["filepath"] === "string" ? { ...entry, filepath: localFilepath(entry["filepath"], options.baseDir, name) } : entry;
      datasets[name] = factory(withPath, name, options);
    }
    return new DataCatalog(datasets, options);
  }

  /**
   * `fromConfig` over YAML text (parsed safely: plain data only, no custom tags). `<<` merge keys
   * work, as in Kedro catalogs that share settings through `_anchor: &name` entries.
   */
  static fromYaml(text: string, options: CatalogConfigOptions): DataCatalog {
    let config: unknown;
    try {
      config = parseYaml(text, { merge: true });
    } catch (cause) {
      throw new DatasetError(`The catalog YAML is not valid: ${(cause as Error).message}`, { code: "INVALID_CATALOG", cause });
    }
    return DataCatalog.fromConfig(config, options);
  }

  /** The registered dataset, if any (parameters are not datasets). */
  get(name: string): Dataset | undefined {
    return this.#datasets.get(name);
  }

  /**
   * How messages name a dataset: its type, and its file for a file dataset (`JsonArtifactDataset,
   * /project/data/model.json`); "parameter" for a `params:` input; undefined for data kept in memory
   * under a name the catalog does not register.
   */
  describeDataset(name: string): string | undefined {
    const dataset = this.#datasets.get(name);
    if (!dataset) return name === "parameters" || name.startsWith("params:") ? "parameter" : undefined;
    const filepath = dataset.describe()["filepath"];
    return typeof filepath === "string" ? `${dataset.constructor.name}, ${filepath}` : dataset.constructor.name;
  }

  /** True for a registered dataset or a parameter input that resolves. */
  has(name: string): boolean {
    if (this.#datasets.has(name)) return true;
    if (name === "parameters") return true;
    if (name.startsWith("params:")) return getParam(this.params, name.slice(7)).found;
    return false;
  }

  /** Registered dataset names, then `parameters` and one `params:` name per parameter (nested keys dotted). */
  list(): string[] {
    const out = [...this.#datasets.keys(), "parameters"];
    const walk = (prefix: string, value: unknown): void => {
      if (!isPlainObject(value)) return;
      for (const [k, v] of Object.entries(value)) {
        const key = prefix === "" ? k : `${prefix}.${k}`;
        out.push(`params:${key}`);
        walk(key, v);
      }
    };
    walk("", this.params);
    return out;
  }

  /** Registers a dataset. */
  add(name: string, dataset: Dataset, options: { replace?: boolean } = {}): void {
    if (this.#datasets.has(name) && !options.replace) {
      throw new DatasetError(`Dataset "${name}" is already in the catalog; pass { replace: true } to replace it.`, { code: "DATASET_EXISTS" });
    }
    this.#datasets.set(name, dataset);
  }

  /** Registers in-memory data under each name (Kedro's `add_feed_dict`). */
  addFeedDict(feed: Readonly<Record<string, unknown>>, options: { replace?: boolean } = {}): void {
    for (const [name, data] of Object.entries(feed)) {
      const mode = copyModeFor(this.copyMode, name);
      this.add(name, new MemoryDataset({ data, ...(mode ? { copyMode: mode } : {}) }), options);
    }
  }

  /**
   * A new catalog over the same datasets (shared, not copied) with other parameters and extra
   * in-memory data: what one prediction runs against, so concurrent calls never share inputs or
   * parameters. Fed data is handed over as is (`assign`): it belongs to this call alone.
   */
  derive(options: { params?: Readonly<Record<string, unknown>>; feed?: Readonly<Record<string, unknown>> } = {}): DataCatalog {
    const child = new DataCatalog({}, { params: options.params ?? this.params, ...(this.copyMode ? { copyMode: this.copyMode } : {}) });
    for (const [name, dataset] of this.#datasets) child.#datasets.set(name, dataset);
    for (const [name, data] of Object.entries(options.feed ?? {})) child.#datasets.set(name, new MemoryDataset({ data, copyMode: "assign" }));
    return child;
  }

  /**
   * Loads a dataset or a parameter.
   * @throws DatasetError naming the dataset (and the known ones) when it is not in the catalog.
   */
  async load(name: string): Promise<unknown> {
    return this.loadEager(name);
  }

  /**
   * `load` without the promise when the data is at hand: in-memory datasets and parameters answer
   * synchronously, file datasets with a promise. Runners use it on every prediction's path.
   */
  loadEager(name: string): unknown {
    const dataset = this.#datasets.get(name);
    if (!dataset) return this.loadParameter(name);
    try {
      return dataset.load();
    } catch (error) {
      // An in-memory dataset fails synchronously and cannot know its own name.
      if (error instanceof DatasetError && error.code === "DATASET_EMPTY") {
        throw new DatasetError(`Dataset "${name}" has no data yet: ${error.message} Save to it (or feed it) before a node reads it.`, {
          code: "DATASET_EMPTY",
          cause: error,
        });
      }
      throw error;
    }
  }

  /** Resolves `parameters` or `params:a.b.c`; anything else is an unknown dataset. Object values are deep-copied so nodes cannot change them for later runs. */
  loadParameter(name: string): unknown {
    if (name === "parameters") return deepClone(this.params);
    if (name.startsWith("params:")) {
      const key = name.slice(7);
      const { found, value } = getParam(this.params, key);
      if (!found) {
        const known = this.list()
          .filter((n) => n.startsWith("params:"))
          .map((n) => n.slice(7));
        throw new DatasetError(`Parameter "${key}" is not defined. Known parameters: [${known.join(", ")}].`, { code: "UNKNOWN_PARAMETER" });
      }
      return typeof value === "object" && value !== null ? deepClone(value) : value;
    }
    throw new DatasetError(`Dataset "${name}" is not in the catalog. Known datasets: [${[...this.#datasets.keys()].join(", ")}].`, {
      code: "DATASET_NOT_FOUND",
    });
  }

  /** Saves to a registered dataset, or to a new `MemoryDataset` for an unregistered name. */
  async save(name: string, data: unknown): Promise<void> {
    if (name === "parameters" || name.startsWith("params:")) {
      throw new DatasetError(`Cannot save to "${name}": parameters are read-only inputs.`, { code: "READ_ONLY" });
    }
    let dataset = this.#datasets.get(name);
    if (!dataset) {
      const mode = copyModeFor(this.copyMode, name);
      dataset = new MemoryDataset(mode ? { copyMode: mode } : {});
      this.#datasets.set(name, dataset);
    }
    await dataset.save(data);
  }

  /** True when the dataset holds data (a parameter always does). */
  async exists(name: string): Promise<boolean> {
    const dataset = this.#datasets.get(name);
    if (dataset) return dataset.exists();
    return this.has(name);
  }

  /** Drops the data of an in-memory dataset. */
  release(name: string): void {
    this.#datasets.get(name)?.release?.();
  }
}
