import { createHash, randomBytes } from "node:crypto";
import { mkdir, readdir, rename, rm, stat } from "node:fs/promises";
import { isAbsolute, join } from "node:path";
import { NotFoundError, StoreError } from "./errors.js";
import { allInOrder, checkKey, isDirectory, isFile, mapInOrder, readText, readYaml, writeAtomic, writeYaml } from "./fs-utils.js";
import { hostTag, ownerIsGone, withLock } from "./lock.js";
import { toFileUri } from "./tracking-uri.js";

/**
 * The version tag that records the sha256 of a registered model's `pipeline.json` (which lists the
 * sha256 of its code and artifacts). Loading through `models:/` checks the model against it.
 */
export const PIPELINE_SHA256_TAG = "pipeserve.pipeline_sha256";

export interface RegisteredModel {
  name: string;
  description: string;
  creationTimestamp: number;
  lastUpdatedTimestamp: number;
  aliases: Record<string, number>;
  tags: Record<string, string>;
  latestVersion: number | undefined;
}

export interface ModelVersion {
  name: string;
  version: number;
  source: string;
  runId: string;
  status: string;
  creationTimestamp: number;
  lastUpdatedTimestamp: number;
  userId: string;
  description: string;
  /** Aliases that point at this version. */
  aliases: string[];
  /** The version's tags (`version-<n>/tags/<key>`), e.g. `PIPELINE_SHA256_TAG`. */
  tags: Record<string, string>;
  /** The MLflow 3 LoggedModel the version is of (`model_id`), when it is one. */
  modelId?: string;
  /** Where the version's files are (`storage_location`): a `file://` URI, or the source as given. */
  storageLocation?: string;
}

/** Options of `createVersion`. */
export interface CreateVersionOptions {
  runId?: string;
  /** Where the files are: a `file://` URI or an absolute path (written as a `file://` URI). */
  storageLocation?: string;
  /** The MLflow 3 LoggedModel the source names (`models:/<model_id>`). */
  modelId?: string;
  description?: string;
  /** Version tags, published with the version (never visible without them). */
  tags?: Readonly<Record<string, string>>;
}

/** Fault-injection points, for tests that kill a real registering process at a precise step. */
export interface RegistryHooks {
  /** Called when a version is complete in its partial folder, before it is published under its number. */
  beforePublish?: (partialDir: string, version: number) => Promise<void>;
}

/** A version being assembled: `.version.<pid>.<host tag>.<12 hex>.partial` (MLflow reads only `version-*` folders). */
/** The stage MLflow gives a deleted version: its record stays (so its number is never reused) and reads skip it. */
export const DELETED_STAGE = "Deleted_Internal";
const PARTIAL_VERSION = /^\.version\.(\d+)\.([0-9a-f]{8})\.[0-9a-f]{12}\.partial$/;
/** A partial folder this old is left by a dead writer whatever its host: a registration takes milliseconds. */
const PARTIAL_STALE_MS = 60 * 60 * 1000;

const MODEL_NAME = /^[^/\\%:\0]{1,256}$/;
const ALIAS = /^[A-Za-z0-9_-]{1,255}$/;

/** @throws StoreError (INVALID_PARAMETER_VALUE) for a name MLflow's registries would refuse. */
export function checkModelName(name: string): string {
  if (typeof name !== "string" || !MODEL_NAME.test(name) || name === "." || name === ".." || name.trim() !== name) {
    throw new StoreError(`Invalid model name ${JSON.stringify(name)}: no path separators, "%" or ":", no surrounding spaces, at most 256 characters.`, {
      code: "INVALID_PARAMETER_VALUE",
    });
  }
  return name;
}

/**
 * @throws StoreError (INVALID_PARAMETER_VALUE) for a name a new model may not take: one
 * `checkModelName` refuses, or one holding "@", which no `models:/` URI could name (`models:/a@b/1`
 * reads as model a's alias; `models:/team@prod` would load model team's alias prod).
 */
export function checkNewModelName(name: string): string {
  checkModelName(name);
  if (name.includes("@")) {
    throw new StoreError(
      `Invalid model name ${JSON.stringify(name)}: "@" would read as an alias in its models:/ URIs (models:/NAME@ALIAS). Choose a name without "@".`,
      { code: "INVALID_PARAMETER_VALUE" },
    );
  }
  return name;
}

/**
 * The lock file a folder store's model takes (`<store>/.model-<16 hex>.lock`): named by a digest of
 * the name, lower-cased, as a file system that ignores case opens one folder for "Foo" and "foo".
 * NB: a name of 215 characters or more made a lock file name past the file system's 255 bytes.
 */
export function modelLockFile(storeRoot: string, name: string): string {
  const digest = createHash("sha256").update(name.toLowerCase()).digest("hex").slice(0, 16);
  return join(storeRoot, `.model-${digest}.lock`);
}

/** @throws StoreError (INVALID_PARAMETER_VALUE) for an alias that could read as a version or is not one path part. */
export function checkAlias(alias: string): string {
  if (typeof alias !== "string" || !ALIAS.test(alias) || /^v\d+$/i.test(alias) || alias.toLowerCase() === "latest") {
    throw new StoreError(
      `Invalid alias ${JSON.stringify(alias)}: use letters, digits, "_" and "-" (not "latest", and not v<number>, which would read as a version).`,
      { code: "INVALID_PARAMETER_VALUE" },
    );
  }
  return alias;
}

/** A location as MLflow's FileStore records it: absolute paths become `file://` URIs; URIs stay as given. */
export function locationUri(location: string): string {
  return isAbsolute(location) ? toFileUri(location) : location;
}

/**
 * A version's meta.yaml, as MLflow 3.6's FileStore writes it: `null` where it has no value
 * (description, run_link, status_message, model_id), `storage_location` a URI.
 */
function versionMeta(name: string, source: string, version: number, now: number, options: CreateVersionOptions): Record<string, unknown> {
  return {
    creation_timestamp: now,
    current_stage: "None",
    deployment_job_state: null,
    description: options.description || null,
    last_updated_timestamp: now,
    model_id: options.modelId ?? null,
    name,
    run_id: options.runId || null,
    run_link: null,
    source,
    status: "READY",
    status_message: null,
    storage_location: locationUri(options.storageLocation ?? source),
    // NB: MLflow 3.6's client registers without a user: user_id null (mlflow-reference; found by an audit: this wrote the OS user).
    user_id: null,
    version,
  };
}

/** A registered model's meta.yaml, as MLflow 3.6's FileStore writes it: aliases as `{alias: "version"}`. */
function registeredModelMeta(meta: {
  name: string;
  description: string | null;
  creationTimestamp: number;
  lastUpdatedTimestamp: number;
  aliases: Record<string, number>;
}): Record<string, unknown> {
  return {
    aliases: Object.fromEntries(Object.entries(meta.aliases).map(([alias, version]) => [alias, String(version)])),
    creation_timestamp: meta.creationTimestamp,
    deployment_job_id: null,
    deployment_job_state: null,
    description: meta.description || null,
    last_updated_timestamp: meta.lastUpdatedTimestamp,
    name: meta.name,
  };
}

/**
 * The aliases a registered model's meta.yaml records: MLflow's `{alias: version}` mapping; the
 * older pipeserve form (a list, always empty) has none.
 */
function metaAliases(value: unknown): Record<string, number> {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return {};
  const out: Record<string, number> = {};
  for (const [alias, version] of Object.entries(value)) {
    const n = Number(String(version).trim());
    // NB: an alias becomes a file name: one that could not (e.g. "../x") is not an alias.
    if (ALIAS.test(alias) && Number.isInteger(n) && n > 0) out[alias] = n;
  }
  return out;
}

/**
 * Publishes a complete version folder under its number: false when the number is taken. A rename
 * replaces an empty folder, so an empty `version-<n>/` left by an older pipeserve killed midway is
 * reused, not skipped.
 */
async function publish(partial: string, target: string): Promise<boolean> {
  try {
    await rename(partial, target);
    return true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOTEMPTY" || code === "EEXIST") return false;
    throw error;
  }
}

/**
 * A folder store keeps each registered model in a folder of its name: one over 255 bytes (UTF-8)
 * is no folder name. (MLflow's other stores take it.)
 * @throws StoreError INVALID_PARAMETER_VALUE saying so and what to do.
 */
export function checkFolderModelName(name: string): void {
  if (Buffer.byteLength(name) <= 255) return;
  throw new StoreError(
    `Invalid model name ${JSON.stringify(name.slice(0, 40))}…: it is ${Buffer.byteLength(name)} bytes of UTF-8; a folder store keeps each model in a folder of its name, which may be at most 255 bytes. Choose a shorter name, or use a SQLite store (sqlite:///…).`,
    { code: "INVALID_PARAMETER_VALUE" },
  );
}

/**
 * The model registry in MLflow's file layout (`mlruns/models/<name>/version-<n>/`): registered
 * models, numbered versions pointing at a model `source`, aliases. A version is assembled in a
 * partial folder and published by renaming it to `version-<n>`: readers (and MLflow) never see a
 * half-written version, a writer killed midway leaves no gap, and processes registering at once
 * never share a number (the rename fails for all but one).
 */
export class ModelRegistry {
  readonly kind = "file" as const;
  readonly root: string;
  /** The tracking store's folder, as a registry URI. */
  readonly uri: string;
  readonly #hooks: RegistryHooks;

  constructor(trackingRoot: string, options: { hooks?: RegistryHooks } = {}) {
    this.root = join(trackingRoot, "models");
    this.uri = trackingRoot;
    this.#hooks = options.hooks ?? {};
  }

  /** Nothing to release: every call opens and closes its own files. */
  async close(): Promise<void> {}

  #modelDir(name: string): string {
    return join(this.root, checkModelName(name));
  }

  /** Runs `fn` holding the model's lock (`modelLockFile`), which every change to its aliases, versions' stages and meta.yaml takes. */
  #locked<T>(name: string, fn: () => Promise<T>): Promise<T> {
    return withLock(modelLockFile(join(this.root, ".."), name), fn);
  }

  /** Creates a registered model if it does not exist yet. */
  async ensureModel(name: string, description = ""): Promise<void> {
    const dir = this.#modelDir(name);
    if (await isFile(join(dir, "meta.yaml"))) return;
    checkNewModelName(name);
    checkFolderModelName(name);
    await this.#locked(name, async () => {
      if (await isFile(join(dir, "meta.yaml"))) return;
      await mkdir(dir, { recursive: true });
      const now = Date.now();
      await writeYaml(join(dir, "meta.yaml"), registeredModelMeta({ name, description, creationTimestamp: now, lastUpdatedTimestamp: now, aliases: {} }));
    });
  }

  async listModels(): Promise<RegisteredModel[]> {
    if (!(await isDirectory(this.root))) return [];
    const out: RegisteredModel[] = [];
    for (const entry of await readdir(this.root, { withFileTypes: true })) {
      if (entry.isDirectory() && (await isFile(join(this.root, entry.name, "meta.yaml")))) out.push(await this.getModel(entry.name));
    }
    return out.sort((a, b) => a.name.localeCompare(b.name));
  }

  async getModel(name: string): Promise<RegisteredModel> {
    const dir = this.#modelDir(name);
    await this.#requireModel(name);
    const meta = await readYaml(join(dir, "meta.yaml"));
    const [versions, aliases, tags] = await allInOrder([this.#versionNumbers(name), this.#aliases(name, meta), this.#readKeyFiles(join(dir, "tags"))]);
    return {
      name: String(meta["name"] ?? name),
      description: meta["description"] == null ? "" : String(meta["description"]),
      creationTimestamp: Number(meta["creation_timestamp"]),
      lastUpdatedTimestamp: Number(meta["last_updated_timestamp"]),
      aliases,
      tags,
      latestVersion: versions.at(-1),
    };
  }

  /** @throws NotFoundError naming the registered models when `name` is none of them. */
  async #requireModel(name: string): Promise<void> {
    if (await isFile(join(this.#modelDir(name), "meta.yaml"))) return;
    const known = (await isDirectory(this.root)) ? (await readdir(this.root)).filter((n) => !n.startsWith(".")) : [];
    throw new NotFoundError(`Registered model "${name}" does not exist. Registered models: [${known.join(", ")}].`);
  }

  /** The numbers of the model's versions, oldest first: the live ones, or with `all` the deleted ones too (numbers are never reused). */
  async #versionNumbers(name: string, all = false): Promise<number[]> {
    const dir = this.#modelDir(name);
    if (!(await isDirectory(dir))) return [];
    // NB: each version's meta.yaml is read side by side: one at a time, a model of many versions took a trip to libuv's threads per version.
    const live = async (entry: string): Promise<number | undefined> => {
      const m = /^version-(\d+)$/.exec(entry);
      if (!m || !(await isFile(join(dir, entry, "meta.yaml")))) return undefined;
      return all || !(await this.#isDeleted(join(dir, entry, "meta.yaml"))) ? Number(m[1]) : undefined;
    };
    const numbers = await mapInOrder(await readdir(dir), live);
    return numbers.filter((n) => n !== undefined).sort((a, b) => a - b);
  }

  async #isDeleted(metaPath: string): Promise<boolean> {
    return (await readYaml(metaPath))["current_stage"] === DELETED_STAGE;
  }

  async #readKeyFiles(dir: string): Promise<Record<string, string>> {
    if (!(await isDirectory(dir))) return {};
    const names = (await readdir(dir, { withFileTypes: true })).filter((entry) => entry.isFile() && !entry.name.startsWith(".")).map((entry) => entry.name);
    const values = await mapInOrder(names, (n) => readText(join(dir, n)));
    return Object.fromEntries(names.map((n, i) => [n, values[i] as string]));
  }

  /**
   * The model's aliases. NB: the `aliases/<alias>` files are what MLflow reads (meta.yaml's mapping
   * is a copy it rewrites beside them); the mapping counts only in a store that has no such folder.
   */
  async #aliases(name: string, meta?: Record<string, unknown>): Promise<Record<string, number>> {
    const dir = join(this.#modelDir(name), "aliases");
    if (!(await isDirectory(dir))) return metaAliases((meta ?? (await readYaml(join(this.#modelDir(name), "meta.yaml"))))["aliases"]);
    const raw = await this.#readKeyFiles(dir);
    return Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, Number(v.trim())]));
  }

  /**
   * Registers a new version of a model (creating the model when needed) pointing at `source`
   * (e.g. `runs:/<id>/model`), with its tags. Returns it with its number.
   */
  async createVersion(name: string, source: string, options: CreateVersionOptions = {}): Promise<ModelVersion> {
    await this.ensureModel(name);
    const dir = this.#modelDir(name);
    await this.#removeStalePartials(dir);
    const partial = join(dir, `.version.${process.pid}.${hostTag()}.${randomBytes(6).toString("hex")}.partial`);
    let version = ((await this.#versionNumbers(name, true)).at(-1) ?? 0) + 1;
    let now = Date.now();
    try {
      await mkdir(partial);
      for (const [key, value] of Object.entries(options.tags ?? {})) await writeAtomic(join(partial, "tags", checkKey("tag", key)), String(value));
      for (;;) {
        now = Date.now();
        await writeYaml(join(partial, "meta.yaml"), versionMeta(name, source, version, now, options));
        await this.#hooks.beforePublish?.(partial, version);
        if (await publish(partial, join(dir, `version-${version}`))) break;
        version++;
      }
    } catch (error) {
      await rm(partial, { recursive: true, force: true });
      throw error;
    }
    await this.#touch(name, now);
    return this.getVersion(name, version);
  }

  /** Removes partial versions whose writer is gone (killed mid-registration): nothing else would. */
  async #removeStalePartials(dir: string): Promise<void> {
    for (const entry of await readdir(dir)) {
      const m = PARTIAL_VERSION.exec(entry);
      if (!m) continue;
      const path = join(dir, entry);
      const old = await stat(path).then(
        (s) => Date.now() - s.mtimeMs > PARTIAL_STALE_MS,
        () => false,
      );
      if (old || ownerIsGone(Number(m[1]), m[2] === hostTag())) await rm(path, { recursive: true, force: true });
    }
  }

  /** Rewrites the model's meta.yaml in MLflow's form, with this update time and the aliases as they are now, holding its lock. */
  async #touch(name: string, when: number): Promise<void> {
    await this.#locked(name, () => this.#rewriteMeta(name, when));
  }

  /** `#touch`'s work, for callers that hold the model's lock already. */
  async #rewriteMeta(name: string, when: number): Promise<void> {
    const path = join(this.#modelDir(name), "meta.yaml");
    const meta = await readYaml(path);
    const aliases = await this.#aliases(name, meta);
    await writeYaml(path, {
      ...meta,
      ...registeredModelMeta({
        name: String(meta["name"] ?? name),
        description: meta["description"] == null ? null : String(meta["description"]),
        creationTimestamp: Number(meta["creation_timestamp"]),
        lastUpdatedTimestamp: when,
        aliases,
      }),
    });
  }

  /** One version, by number. */
  async getVersion(name: string, version: number | string): Promise<ModelVersion> {
    const n = typeof version === "number" ? version : /^\d+$/.test(version) ? Number(version) : Number.NaN;
    if (!Number.isInteger(n) || n < 1)
      throw new StoreError(`Invalid version ${JSON.stringify(version)} of model "${name}": versions are whole numbers from 1.`, {
        code: "INVALID_PARAMETER_VALUE",
      });
    await this.getModel(name);
    const path = join(this.#modelDir(name), `version-${n}`, "meta.yaml");
    const m = (await isFile(path)) ? await readYaml(path) : undefined;
    if (m === undefined || m["current_stage"] === DELETED_STAGE) {
      const versions = await this.#versionNumbers(name);
      const why = m === undefined ? "" : " (it was deleted)";
      throw new NotFoundError(`Model "${name}" has no version ${n}${why}. Versions: [${versions.join(", ")}].`);
    }
    const [allAliases, tags] = await allInOrder([this.#aliases(name), this.#readKeyFiles(join(this.#modelDir(name), `version-${n}`, "tags"))]);
    const aliases = Object.entries(allAliases)
      .filter(([, v]) => v === n)
      .map(([k]) => k);
    return {
      name: String(m["name"]),
      version: Number(m["version"]),
      source: String(m["source"]),
      runId: String(m["run_id"] ?? ""),
      status: String(m["status"]),
      creationTimestamp: Number(m["creation_timestamp"]),
      lastUpdatedTimestamp: Number(m["last_updated_timestamp"]),
      userId: String(m["user_id"] ?? ""),
      description: m["description"] == null ? "" : String(m["description"]),
      aliases,
      tags,
      ...(m["model_id"] == null ? {} : { modelId: String(m["model_id"]) }),
      ...(m["storage_location"] == null ? {} : { storageLocation: String(m["storage_location"]) }),
    };
  }

  /** Every version of a model, oldest first. */
  async listVersions(name: string): Promise<ModelVersion[]> {
    await this.getModel(name);
    // NB: bounded (mapInOrder): a model of thousands of versions opened each one's files at once.
    return mapInOrder(await this.#versionNumbers(name), (v) => this.getVersion(name, v));
  }

  /** The highest version. */
  async getLatestVersion(name: string): Promise<ModelVersion> {
    // NB: not getModel, which also reads the model's aliases and tags: every load of models:/NAME/latest asks.
    // Its meta.yaml is still read, so a damaged one is refused as getModel refuses it.
    await this.#requireModel(name);
    await readYaml(join(this.#modelDir(name), "meta.yaml"));
    const latest = (await this.#versionNumbers(name)).at(-1);
    if (latest === undefined) throw new NotFoundError(`Model "${name}" has no versions yet.`);
    return this.getVersion(name, latest);
  }

  /** Writes the `aliases/` files of a store that records its aliases only in meta.yaml, before the files become what counts. */
  async #materializeAliases(name: string): Promise<void> {
    const dir = join(this.#modelDir(name), "aliases");
    if (await isDirectory(dir)) return;
    for (const [alias, version] of Object.entries(await this.#aliases(name))) await writeAtomic(join(dir, alias), String(version));
  }

  /**
   * Points an alias at a version (like MLflow's `set_registered_model_alias`), holding the model's
   * lock: a version deleted at the same time cannot be left with the alias (it was, when the check
   * and the write raced `deleteVersion`).
   */
  async setAlias(name: string, alias: string, version: number | string): Promise<ModelVersion> {
    checkAlias(alias);
    const mv = await this.#locked(name, async () => {
      const found = await this.getVersion(name, version);
      await this.#materializeAliases(name);
      await writeAtomic(join(this.#modelDir(name), "aliases", alias), String(found.version));
      await this.#rewriteMeta(name, Date.now());
      return found;
    });
    return this.getVersion(name, mv.version);
  }

  /** Removes an alias, whatever version it points at (one since deleted too). */
  async deleteAlias(name: string, alias: string): Promise<void> {
    checkAlias(alias);
    await this.getModel(name);
    await this.#locked(name, async () => {
      await this.#materializeAliases(name);
      await rm(join(this.#modelDir(name), "aliases", alias), { force: true });
      await this.#rewriteMeta(name, Date.now());
    });
  }

  /**
   * Deletes a version as MLflow's FileStore does (`delete_model_version`): its folder stays with
   * stage `Deleted_Internal`, so its number is never given again, and reads no longer find it;
   * the aliases that pointed at it are removed. The model's files are not touched.
   */
  async deleteVersion(name: string, version: number | string): Promise<ModelVersion> {
    return this.#locked(name, async () => {
      const mv = await this.getVersion(name, version);
      const path = join(this.#modelDir(name), `version-${mv.version}`, "meta.yaml");
      const now = Date.now();
      await writeYaml(path, { ...(await readYaml(path)), current_stage: DELETED_STAGE, last_updated_timestamp: now });
      await this.#materializeAliases(name);
      for (const alias of mv.aliases) await rm(join(this.#modelDir(name), "aliases", alias), { force: true });
      await this.#rewriteMeta(name, now);
      return mv;
    });
  }

  /** The version an alias points at. */
  async getVersionByAlias(name: string, alias: string): Promise<ModelVersion> {
    const aliases = (await this.getModel(name)).aliases;
    const version = Object.hasOwn(aliases, alias) ? aliases[alias] : undefined;
    if (version === undefined) {
      throw new NotFoundError(
        `Model "${name}" has no alias "${alias}". Aliases: [${Object.entries(aliases)
          .map(([a, v]) => `${a} → ${v}`)
          .join(", ")}].`,
      );
    }
    return this.getVersion(name, version);
  }
}
