import { NotFoundError, StoreError } from "./errors.js";
import { checkKey } from "./fs-utils.js";
import {
  type CreateVersionOptions,
  DELETED_STAGE,
  type ModelVersion,
  type RegisteredModel,
  checkAlias,
  checkModelName,
  checkNewModelName,
  locationUri,
} from "./model-registry.js";
import { type Db, immediate, openMlflowDatabase, withRetry } from "./sql-database.js";
import type { RegistryStore } from "./tracking-store.js";

/** A version's source naming an MLflow 3 LoggedModel: the only link from a version to its model in this schema. */
const LOGGED_MODEL_SOURCE = /^models:\/(m-[0-9A-Za-z]{1,64})\/?$/;

interface ModelRow {
  name: string;
  creation_time: number | null;
  last_updated_time: number | null;
  description: string | null;
}

interface VersionRow {
  name: string;
  version: number;
  creation_time: number | null;
  last_updated_time: number | null;
  description: string | null;
  user_id: string | null;
  source: string | null;
  run_id: string | null;
  status: string | null;
  storage_location: string | null;
}

function versionNumber(name: string, version: number | string): number {
  const n = typeof version === "number" ? version : /^\d+$/.test(version) ? Number(version) : Number.NaN;
  if (!Number.isInteger(n) || n < 1)
    throw new StoreError(`Invalid version ${JSON.stringify(version)} of model "${name}": versions are whole numbers from 1.`, {
      code: "INVALID_PARAMETER_VALUE",
    });
  return n;
}

/**
 * The model registry in MLflow's SQL schema: `registered_models`, `model_versions`,
 * `registered_model_aliases`, `model_version_tags`, `registered_model_tags`, written as MLflow
 * 3.6's SqlAlchemyStore writes them. A version's number is claimed inside a `BEGIN IMMEDIATE`
 * transaction, so processes registering at once never share one.
 * NB: `model_versions` has no `model_id` column: a version's LoggedModel is read from its
 * `models:/m-…` source.
 */
export class SqlModelRegistry implements RegistryStore {
  readonly kind = "sqlite" as const;
  readonly uri: string;
  readonly path: string;
  readonly #db: Db;

  private constructor(uri: string, path: string, db: Db) {
    this.uri = uri;
    this.path = path;
    this.#db = db;
  }

  static async open(uri: string, path: string, create = true): Promise<SqlModelRegistry> {
    return new SqlModelRegistry(uri, path, await openMlflowDatabase(path, create));
  }

  async close(): Promise<void> {
    if (this.#db.open) this.#db.close();
  }

  #read<T>(fn: (db: Db) => T): Promise<T> {
    return withRetry(this.path, () => fn(this.#db));
  }

  #write<T>(fn: (db: Db) => T): Promise<T> {
    return immediate(this.#db, this.path, () => fn(this.#db));
  }

  #modelRow(db: Db, name: string): ModelRow {
    checkModelName(name);
    const row = db.prepare("SELECT * FROM registered_models WHERE name = ?").get(name) as ModelRow | undefined;
    if (!row) {
      const known = (db.prepare("SELECT name FROM registered_models ORDER BY name").all() as { name: string }[]).map((r) => r.name);
      throw new NotFoundError(`Registered model "${name}" does not exist. Registered models: [${known.join(", ")}].`);
    }
    return row;
  }

  #aliases(db: Db, name: string): Record<string, number> {
    const rows = db.prepare("SELECT alias, version FROM registered_model_aliases WHERE name = ? ORDER BY alias").all(name) as {
      alias: string;
      version: number;
    }[];
    return Object.fromEntries(rows.map((r) => [r.alias, Number(r.version)]));
  }

  #versionNumbers(db: Db, name: string): number[] {
    const rows = db
      .prepare("SELECT version FROM model_versions WHERE name = ? AND coalesce(current_stage, '') != ? ORDER BY version")
      .all(name, DELETED_STAGE) as { version: number }[];
    return rows.map((r) => Number(r.version));
  }

  #model(db: Db, row: ModelRow): RegisteredModel {
    const tags: Record<string, string> = {};
    for (const t of db.prepare('SELECT "key", value FROM registered_model_tags WHERE name = ?').all(row.name) as { key: string; value: string | null }[])
      tags[t.key] = t.value ?? "";
    return {
      name: row.name,
      description: row.description ?? "",
      creationTimestamp: Number(row.creation_time ?? 0),
      lastUpdatedTimestamp: Number(row.last_updated_time ?? 0),
      aliases: this.#aliases(db, row.name),
      tags,
      latestVersion: this.#versionNumbers(db, row.name).at(-1),
    };
  }

  #version(db: Db, name: string, n: number): ModelVersion {
    this.#modelRow(db, name);
    const row = db.prepare("SELECT * FROM model_versions WHERE name = ? AND version = ? AND coalesce(current_stage, '') != ?").get(name, n, DELETED_STAGE) as
      | VersionRow
      | undefined;
    if (!row) {
      const deleted = db.prepare("SELECT 1 FROM model_versions WHERE name = ? AND version = ?").get(name, n) !== undefined;
      throw new NotFoundError(
        `Model "${name}" has no version ${n}${deleted ? " (it was deleted)" : ""}. Versions: [${this.#versionNumbers(db, name).join(", ")}].`,
      );
    }
    const tags: Record<string, string> = {};
    for (const t of db.prepare('SELECT "key", value FROM model_version_tags WHERE name = ? AND version = ?').all(name, n) as {
      key: string;
      value: string | null;
    }[])
      tags[t.key] = t.value ?? "";
    const modelId = LOGGED_MODEL_SOURCE.exec(row.source ?? "")?.[1];
    return {
      name: row.name,
      version: Number(row.version),
      source: row.source ?? "",
      runId: row.run_id ?? "",
      status: row.status ?? "READY",
      creationTimestamp: Number(row.creation_time ?? 0),
      lastUpdatedTimestamp: Number(row.last_updated_time ?? 0),
      userId: row.user_id ?? "",
      description: row.description ?? "",
      aliases: Object.entries(this.#aliases(db, name))
        .filter(([, v]) => v === n)
        .map(([k]) => k),
      tags,
      ...(modelId === undefined ? {} : { modelId }),
      ...(row.storage_location == null ? {} : { storageLocation: row.storage_location }),
    };
  }

  #ensureModel(db: Db, name: string, description: string, now: number): void {
    if (!db.prepare("SELECT 1 FROM registered_models WHERE name = ?").get(name)) checkNewModelName(name);
    db.prepare("INSERT OR IGNORE INTO registered_models (name, creation_time, last_updated_time, description) VALUES (?, ?, ?, ?)").run(
      name,
      now,
      now,
      description || null,
    );
  }

  /** Creates a registered model if it does not exist yet. */
  async ensureModel(name: string, description = ""): Promise<void> {
    checkModelName(name);
    await this.#write((db) => this.#ensureModel(db, name, description, Date.now()));
  }

  async listModels(): Promise<RegisteredModel[]> {
    return this.#read((db) =>
      (db.prepare("SELECT * FROM registered_models").all() as ModelRow[]).map((r) => this.#model(db, r)).sort((a, b) => a.name.localeCompare(b.name)),
    );
  }

  async getModel(name: string): Promise<RegisteredModel> {
    return this.#read((db) => this.#model(db, this.#modelRow(db, name)));
  }

  /**
   * Registers a new version (creating the model when needed) pointing at `source`, with its tags,
   * in one transaction: the number is the highest ever given plus one (deleted versions included,
   * as MLflow never reuses a number). `storage_location` is a `file://` URI for a local path.
   * `modelId` has no column: it is implied by a `models:/<model_id>` source.
   */
  async createVersion(name: string, source: string, options: CreateVersionOptions = {}): Promise<ModelVersion> {
    checkModelName(name);
    const tags = Object.entries(options.tags ?? {});
    for (const [key] of tags) checkKey("tag", key);
    return this.#write((db) => {
      const now = Date.now();
      this.#ensureModel(db, name, "", now);
      const version = (db.prepare("SELECT coalesce(max(version), 0) + 1 AS v FROM model_versions WHERE name = ?").get(name) as { v: number }).v;
      db.prepare(
        `INSERT INTO model_versions (name, version, creation_time, last_updated_time, description, user_id, current_stage, source, run_id, status,
           status_message, run_link, storage_location) VALUES (?, ?, ?, ?, ?, NULL, 'None', ?, ?, 'READY', NULL, NULL, ?)`,
      ).run(name, version, now, now, options.description || null, source, options.runId || null, locationUri(options.storageLocation ?? source));
      const tag = db.prepare('INSERT INTO model_version_tags ("key", value, name, version) VALUES (?, ?, ?, ?)');
      for (const [key, value] of tags) tag.run(key, String(value), name, version);
      db.prepare("UPDATE registered_models SET last_updated_time = ? WHERE name = ?").run(now, name);
      return this.#version(db, name, version);
    });
  }

  /** One version, by number. */
  async getVersion(name: string, version: number | string): Promise<ModelVersion> {
    const n = versionNumber(name, version);
    return this.#read((db) => this.#version(db, name, n));
  }

  /** Every version of a model, oldest first. */
  async listVersions(name: string): Promise<ModelVersion[]> {
    return this.#read((db) => {
      this.#modelRow(db, name);
      return this.#versionNumbers(db, name).map((n) => this.#version(db, name, n));
    });
  }

  /** The highest version. */
  async getLatestVersion(name: string): Promise<ModelVersion> {
    return this.#read((db) => {
      this.#modelRow(db, name);
      const latest = this.#versionNumbers(db, name).at(-1);
      if (latest === undefined) throw new NotFoundError(`Model "${name}" has no versions yet.`);
      return this.#version(db, name, latest);
    });
  }

  /** Points an alias at a version (a `registered_model_aliases` row, replaced if the alias existed). */
  async setAlias(name: string, alias: string, version: number | string): Promise<ModelVersion> {
    checkAlias(alias);
    const n = versionNumber(name, version);
    return this.#write((db) => {
      this.#version(db, name, n);
      db.prepare(
        "INSERT INTO registered_model_aliases (alias, version, name) VALUES (?, ?, ?) ON CONFLICT (name, alias) DO UPDATE SET version = excluded.version",
      ).run(alias, n, name);
      db.prepare("UPDATE registered_models SET last_updated_time = ? WHERE name = ?").run(Date.now(), name);
      return this.#version(db, name, n);
    });
  }

  async deleteAlias(name: string, alias: string): Promise<void> {
    checkAlias(alias);
    await this.#write((db) => {
      this.#modelRow(db, name);
      db.prepare("DELETE FROM registered_model_aliases WHERE name = ? AND alias = ?").run(name, alias);
      db.prepare("UPDATE registered_models SET last_updated_time = ? WHERE name = ?").run(Date.now(), name);
    });
  }

  /**
   * Deletes a version as MLflow's SqlAlchemyStore does (`delete_model_version`): the row stays with
   * stage `Deleted_Internal` (its number is never given again) and its source, run id and run link
   * redacted, its description cleared; its aliases go. The model's files are not touched.
   */
  async deleteVersion(name: string, version: number | string): Promise<ModelVersion> {
    const n = versionNumber(name, version);
    return this.#write((db) => {
      const mv = this.#version(db, name, n);
      const now = Date.now();
      db.prepare(
        `UPDATE model_versions SET current_stage = ?, last_updated_time = ?, description = NULL, user_id = NULL, source = 'REDACTED-SOURCE-PATH',
           run_id = 'REDACTED-RUN-ID', run_link = 'REDACTED-RUN-LINK', status_message = NULL WHERE name = ? AND version = ?`,
      ).run(DELETED_STAGE, now, name, n);
      db.prepare("DELETE FROM registered_model_aliases WHERE name = ? AND version = ?").run(name, n);
      db.prepare("UPDATE registered_models SET last_updated_time = ? WHERE name = ?").run(now, name);
      return mv;
    });
  }

  /** The version an alias points at. */
  async getVersionByAlias(name: string, alias: string): Promise<ModelVersion> {
    return this.#read((db) => {
      this.#modelRow(db, name);
      const aliases = this.#aliases(db, name);
      const version = Object.hasOwn(aliases, alias) ? aliases[alias] : undefined;
      if (version === undefined) {
        throw new NotFoundError(
          `Model "${name}" has no alias "${alias}". Aliases: [${Object.entries(aliases)
            .map(([a, v]) => `${a} → ${v}`)
            .join(", ")}].`,
        );
      }
      return this.#version(db, name, version);
    });
  }
}
