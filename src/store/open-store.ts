import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { redactCredentials } from "../util/index.js";
import { StoreError } from "./errors.js";
import { FileStore } from "./file-store.js";
import { ModelRegistry } from "./model-registry.js";
import type { RegistryStore, StoreKind, TrackingStore } from "./tracking-store.js";

/** A tracking or registry URI, read as MLflow reads it: which backend, and where. */
export type StoreTarget =
  /** A folder in MLflow's FileStore layout: a path or `file://` URI. */
  | { kind: "file"; uri: string; path: string }
  /** An SQLite database in MLflow's SQL schema: `sqlite:///relative.db`, `sqlite:////absolute.db`. */
  | { kind: "sqlite"; uri: string; path: string }
  /** An MLflow tracking server: `http://host:port`, `https://…`, with any path prefix. */
  | { kind: "rest"; uri: string; url: string };

const SUPPORTED = "a folder (./mlruns, file:///abs/path), sqlite:///path.db (MLflow's SQL store) or http(s)://host:port (an MLflow tracking server)";

function invalid(uri: string, why: string): StoreError {
  return new StoreError(`Invalid tracking URI ${JSON.stringify(redactCredentials(uri))}: ${why} Supported: ${SUPPORTED}.`, { code: "INVALID_URI" });
}

/**
 * Reads a tracking (or registry) URI by its scheme, as MLflow does: no scheme or `file:` → the file
 * store; `sqlite:` → the SQL store (`sqlite:///mlflow.db` is relative to `cwd`, `sqlite:////abs.db`
 * absolute, `sqlite://` alone is refused: MLflow's in-memory database would lose everything);
 * `http:` / `https:` → a tracking server. Other schemes (`postgresql`, `databricks`, …) are refused
 * with the list of what works.
 */
export function parseStoreUri(uri: string, cwd = process.cwd()): StoreTarget {
  if (typeof uri !== "string" || uri.trim() === "") throw invalid(String(uri), "it is empty.");
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(uri)?.[1]?.toLowerCase();
  // NB: a one-letter "scheme" is a Windows drive letter: a path.
  if (scheme === undefined || scheme.length === 1) return { kind: "file", uri, path: resolve(cwd, uri) };
  if (scheme === "file") {
    try {
      return { kind: "file", uri, path: fileURLToPath(uri) };
    } catch (cause) {
      throw invalid(uri, `${(cause as Error).message}; write file:///absolute/path or a plain path.`);
    }
  }
  if (scheme === "sqlite") {
    const m = /^sqlite:\/\/\/(.+)$/i.exec(uri);
    if (!m) throw invalid(uri, "an SQLite URI is sqlite:///relative/path.db or sqlite:////absolute/path.db (an in-memory database would keep nothing).");
    const path = (m[1] as string).split("?")[0] as string;
    return { kind: "sqlite", uri, path: path.startsWith("/") ? path : resolve(cwd, path) };
  }
  if (scheme === "http" || scheme === "https") {
    let url: URL;
    try {
      url = new URL(uri);
    } catch (cause) {
      throw invalid(uri, `${(cause as Error).message}.`);
    }
    return { kind: "rest", uri, url: url.href.replace(/\/+$/, "") };
  }
  if (/^(postgres|postgresql|mysql|mssql)(\+\w+)?$/.test(scheme)) {
    throw invalid(
      uri,
      `pipeserve speaks MLflow's SQL schema over SQLite only; run \`mlflow server --backend-store-uri ${uri}\` and point pipeserve at that server (http://…).`,
    );
  }
  throw invalid(uri, `the scheme "${scheme}:" is not one pipeserve can use.`);
}

/** Where a command's tracking URI comes from: the flag, then `MLFLOW_TRACKING_URI`, then `./mlruns`. */
export function trackingUriFrom(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  return flag ?? (env["MLFLOW_TRACKING_URI"] || undefined) ?? "./mlruns";
}

/** How a backend other than the file store opens; sqlite and rest register themselves here. */
export interface StoreBackend {
  openTracking(target: StoreTarget, options: OpenStoreOptions): Promise<TrackingStore>;
  openRegistry(target: StoreTarget, options: OpenStoreOptions): Promise<RegistryStore>;
}

export interface OpenStoreOptions {
  /** Create what is missing (an empty folder, a new database); false to only read what exists. */
  create?: boolean;
  /** Where credentials and settings are read (`MLFLOW_TRACKING_TOKEN`, …): `process.env` by default. */
  env?: NodeJS.ProcessEnv;
}

const backends = new Map<Exclude<StoreKind, "file">, StoreBackend>();

/** Makes a backend available to `openTrackingStore` and `openRegistryStore`. */
export function registerStoreBackend(kind: Exclude<StoreKind, "file">, backend: StoreBackend): void {
  backends.set(kind, backend);
}

function backendOf(target: StoreTarget): StoreBackend {
  const backend = target.kind === "file" ? undefined : backends.get(target.kind);
  if (!backend) throw invalid(target.uri, `the ${target.kind} backend is not available in this build.`);
  return backend;
}

/**
 * Opens the tracking store a URI names (see `parseStoreUri`).
 * @throws NotFoundError when `create` is false and nothing is there; StoreError for a bad URI.
 */
export async function openTrackingStore(uri: string, options: OpenStoreOptions = {}): Promise<TrackingStore> {
  const target = parseStoreUri(uri);
  if (target.kind === "file") return options.create === false ? FileStore.openExisting(target.path) : FileStore.open(target.path);
  return backendOf(target).openTracking(target, options);
}

/**
 * Opens the model registry: `registryUri` (`--registry-uri`, `MLFLOW_REGISTRY_URI`) when given,
 * else the tracking URI's, as MLflow does.
 */
export async function openRegistryStore(trackingUri: string, registryUri?: string, options: OpenStoreOptions = {}): Promise<RegistryStore> {
  const target = parseStoreUri(registryUri ?? trackingUri);
  if (target.kind === "file") return new ModelRegistry(target.path);
  return backendOf(target).openRegistry(target, options);
}

/** The kind of store the registry of `trackingUri` (or `registryUri`, when given) is. @throws StoreError for a URI no store here speaks. */
export function registryKindOf(trackingUri: string, registryUri?: string): StoreKind {
  return parseStoreUri(registryUri ?? trackingUri).kind;
}

/** The registry URI of a command: the flag, then `MLFLOW_REGISTRY_URI`; undefined means "the tracking URI's". */
export function registryUriFrom(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string | undefined {
  return flag ?? (env["MLFLOW_REGISTRY_URI"] || undefined);
}
