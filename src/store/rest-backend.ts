import { ArtifactProxyRepository, cacheDirFrom } from "./artifact-proxy.js";
import { StoreError } from "./errors.js";
import { type OpenStoreOptions, type StoreBackend, type StoreTarget, registerStoreBackend } from "./open-store.js";
import { RestClient, restSettingsFrom } from "./rest-client.js";
import { RestRegistryStore } from "./rest-registry.js";
import { RestTrackingStore } from "./rest-tracking-store.js";

function restUrl(target: StoreTarget): string {
  if (target.kind !== "rest") throw new StoreError(`${target.uri} is not a tracking server URI.`, { code: "INVALID_PARAMETER_VALUE" });
  return target.url;
}

/**
 * `http://` and `https://` tracking and registry URIs: an MLflow tracking server, reached with the
 * settings of `options.env` (else `process.env`): MLflow's auth, TLS, timeout and retry variables
 * and `PIPESERVE_CACHE_DIR`. Opening contacts nothing; the first call does.
 */
export const restBackend: StoreBackend = {
  async openTracking(target: StoreTarget, options: OpenStoreOptions) {
    const url = restUrl(target);
    const env = options.env ?? process.env;
    const settings = restSettingsFrom(env);
    const client = new RestClient(url, settings);
    const origin = new URL(url);
    const artifacts = new ArtifactProxyRepository(client, {
      cacheDir: cacheDirFrom(env),
      // NB: mlflow-artifacts://host:port/… names a server by its address, reached with the tracking URI's scheme (as MLflow does).
      clientFor: (authority) => (authority === origin.host ? client : new RestClient(`${origin.protocol}//${authority}`, settings)),
    });
    return new RestTrackingStore(target.uri, client, artifacts);
  },
  async openRegistry(target: StoreTarget, options: OpenStoreOptions) {
    const url = restUrl(target);
    return new RestRegistryStore(target.uri, new RestClient(url, restSettingsFrom(options.env ?? process.env)));
  },
};

registerStoreBackend("rest", restBackend);
