import { StoreError } from "./errors.js";
import { type OpenStoreOptions, type StoreBackend, type StoreTarget, registerStoreBackend } from "./open-store.js";
import { SqlModelRegistry } from "./sql-registry.js";
import { SqlTrackingStore } from "./sql-tracking-store.js";

function sqlitePath(target: StoreTarget): string {
  if (target.kind !== "sqlite") throw new StoreError(`${target.uri} is not an sqlite:/// URI.`, { code: "INVALID_PARAMETER_VALUE" });
  return target.path;
}

/** `sqlite:///path.db`: MLflow 3.6's SQL schema in an SQLite file, for tracking and the registry. */
export const sqliteBackend: StoreBackend = {
  openTracking: (target: StoreTarget, options: OpenStoreOptions) => SqlTrackingStore.open(target.uri, sqlitePath(target), options.create !== false),
  openRegistry: (target: StoreTarget, options: OpenStoreOptions) => SqlModelRegistry.open(target.uri, sqlitePath(target), options.create !== false),
};

registerStoreBackend("sqlite", sqliteBackend);
