import { mkdirSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { createRequire } from "node:module";
import type BetterSqlite3 from "better-sqlite3";
import { NotFoundError, StoreError } from "./errors.js";
import { MLFLOW_ALEMBIC_VERSION, MLFLOW_SCHEMA_SQL } from "./sql-schema.js";
import { toFileUri } from "./tracking-uri.js";

export type Db = BetterSqlite3.Database;

/** better-sqlite3, loaded with the first database opened (a folder store or a tracking server never loads its native addon). */
let sqlite: typeof BetterSqlite3 | undefined;
function loadSqlite(): typeof BetterSqlite3 {
  sqlite ??= createRequire(import.meta.url)("better-sqlite3") as typeof BetterSqlite3;
  return sqlite;
}

/** How long one statement waits for another process's lock before SQLite reports SQLITE_BUSY. */
const BUSY_TIMEOUT_MS = 5000;
/** How often a statement that still got SQLITE_BUSY is tried again (each after BUSY_TIMEOUT_MS of waiting). */
const BUSY_RETRIES = 6;

/** The default artifact root of a database: `mlartifacts/` beside it (MLflow's server uses ./mlartifacts of its cwd). */
export function defaultArtifactRoot(dbPath: string): string {
  return toFileUri(join(dirname(dbPath), "mlartifacts"));
}

function isBusy(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return typeof code === "string" && (code.startsWith("SQLITE_BUSY") || code.startsWith("SQLITE_LOCKED"));
}

/** SQLite's own errors (a file that is not a database, a read-only file, …) as StoreError naming the database. */
function storeErrorOf(path: string, error: unknown): unknown {
  if (error instanceof StoreError) return error;
  const code = (error as { code?: unknown }).code;
  if (code === "SQLITE_NOTADB") {
    return new StoreError(`${path} is not an SQLite database. Point the sqlite:/// URI at an MLflow database file, or at a path where none exists yet.`, {
      code: "INVALID_PARAMETER_VALUE",
      cause: error,
    });
  }
  if (typeof code === "string" && code.startsWith("SQLITE_")) {
    return new StoreError(`The SQLite database ${path} failed: ${(error as Error).message} (${code}).`, { code: "STORE_ERROR", cause: error });
  }
  return error;
}

/**
 * Runs `fn` (reads, or writes inside `immediate`), trying again while another process holds the
 * database: SQLite waits BUSY_TIMEOUT_MS itself, then this waits a little longer between tries.
 */
export async function withRetry<T>(path: string, fn: () => T): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return fn();
    } catch (error) {
      if (!isBusy(error) || attempt >= BUSY_RETRIES) throw storeErrorOf(path, error);
      await sleep(20 + Math.random() * 100 * (attempt + 1));
    }
  }
}

/**
 * Runs `fn` in a `BEGIN IMMEDIATE` transaction (the write lock taken at once, so what `fn` reads,
 * e.g. the highest version number, cannot change before it writes), committed when `fn` returns,
 * rolled back when it throws; tried again while another process holds the lock.
 */
export function immediate<T>(db: Db, path: string, fn: () => T): Promise<T> {
  const tx = db.transaction(fn);
  return withRetry(path, () => tx.immediate());
}

/** Rejects a path that is a folder (or anything but a file), before SQLite would open it. */
function checkPath(path: string, create: boolean): "missing" | "file" {
  let stats: ReturnType<typeof statSync>;
  try {
    stats = statSync(path);
  } catch {
    if (!create) {
      throw new NotFoundError(
        `There is no MLflow database at ${path}. Check the sqlite:/// URI (sqlite:///relative.db, sqlite:////absolute.db), or let a command that logs (pipeserve run) create it.`,
      );
    }
    return "missing";
  }
  if (!stats.isFile()) {
    throw new StoreError(`${path} is ${stats.isDirectory() ? "a folder" : "not a regular file"}, not an SQLite database. Point sqlite:/// at a .db file.`, {
      code: "INVALID_PARAMETER_VALUE",
    });
  }
  return "file";
}

function tableNames(db: Db): string[] {
  return (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[]).map((r) => r.name);
}

/** A brand-new database: MLflow's DDL, its alembic revision and the Default experiment (id 0), as MLflow's first open leaves it. */
function initialize(db: Db, path: string): void {
  db.exec(MLFLOW_SCHEMA_SQL);
  db.prepare("INSERT INTO alembic_version (version_num) VALUES (?)").run(MLFLOW_ALEMBIC_VERSION);
  const now = Date.now();
  db.prepare(
    "INSERT INTO experiments (experiment_id, name, artifact_location, lifecycle_stage, creation_time, last_update_time) VALUES (0, 'Default', ?, 'active', ?, ?)",
  ).run(`${defaultArtifactRoot(path)}/0`, now, now);
}

/** Checks the database is MLflow's at the schema pipeserve writes; never changes it. */
function checkSchema(db: Db, path: string): void {
  const tables = tableNames(db);
  if (!tables.includes("alembic_version")) {
    throw new StoreError(
      `${path} is an SQLite database but not an MLflow one (no alembic_version table; pipeserve expects MLflow schema ${MLFLOW_ALEMBIC_VERSION}, MLflow 3.6). pipeserve never changes a schema it did not create: point sqlite:/// at an MLflow database or at a new path.`,
      { code: "CORRUPT_STORE" },
    );
  }
  const rows = db.prepare("SELECT version_num FROM alembic_version").all() as { version_num: string }[];
  const found = rows.map((r) => r.version_num);
  if (found.length !== 1 || found[0] !== MLFLOW_ALEMBIC_VERSION) {
    throw new StoreError(
      `${path} is at MLflow schema version ${found.length === 0 ? "(none: alembic_version is empty)" : found.join(", ")}, but pipeserve reads and writes schema ${MLFLOW_ALEMBIC_VERSION} (MLflow 3.6) only. pipeserve never migrates a database: upgrade it with MLflow 3.6's \`mlflow db upgrade sqlite:///${path}\` (back it up first), or use a database MLflow 3.6 made.`,
      { code: "CORRUPT_STORE" },
    );
  }
}

/**
 * Opens an MLflow SQL database: checks an existing one is MLflow 3.6's schema (alembic
 * `bf29a5ff90ea`), creates a new one (when `create` is not false) with exactly that schema, the
 * revision row and the Default experiment. Pragmas as MLflow sets them on each session:
 * foreign keys on, a busy timeout, case-sensitive LIKE. The journal mode is left as it is (MLflow's `delete`).
 * @throws NotFoundError for a missing database when `create` is false; StoreError for a folder,
 *   a file that is not SQLite, a database that is not MLflow's or is at another schema version.
 */
export async function openMlflowDatabase(path: string, create: boolean): Promise<Db> {
  const state = checkPath(path, create);
  if (state === "missing") {
    try {
      mkdirSync(dirname(path), { recursive: true });
    } catch (cause) {
      throw new StoreError(`Cannot create the folder of the database ${path}: ${(cause as Error).message}`, { code: "STORE_ERROR", cause });
    }
  }
  let db: Db;
  try {
    const Database = loadSqlite();
    db = new Database(path, { fileMustExist: state === "file", timeout: BUSY_TIMEOUT_MS });
  } catch (error) {
    throw storeErrorOf(path, error);
  }
  try {
    await withRetry(path, () => {
      db.pragma("foreign_keys = ON");
      db.pragma("case_sensitive_like = ON");
      // NB: reading sqlite_master first makes a file that is not SQLite fail here, before any write.
      const empty = tableNames(db).length === 0;
      if (empty && create) {
        // NB: IMMEDIATE: of two processes creating the same new database, one makes it, the other then sees it made.
        // An empty database (no table at all, e.g. a file another process has just created) is made too.
        db.transaction(() => {
          if (tableNames(db).length === 0) initialize(db, path);
        }).immediate();
      }
    });
    checkSchema(db, path);
    return db;
  } catch (error) {
    db.close();
    throw storeErrorOf(path, error);
  }
}
