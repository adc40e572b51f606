import { NotFoundError, StoreError } from "./errors.js";
import { type CreateVersionOptions, type ModelVersion, type RegisteredModel, checkAlias } from "./model-registry.js";
import type { RestClient } from "./rest-client.js";
import { alreadyExists } from "./rest-tracking-store.js";
import { type WireModelVersion, type WireRegisteredModel, modelVersionOf, registeredModelOf, toWireTags } from "./rest-wire.js";
import type { RegistryStore } from "./tracking-store.js";

const API = "/api/2.0/mlflow";
/** How long a version may stay PENDING_REGISTRATION, as MLflow's `await_registration_for` (300 s). */
const REGISTRATION_WAIT_MS = 300_000;

/** A version number: a whole number from 1 (`"2"` too, as the wire writes it). */
function versionNumber(name: string, version: number | string): number {
  const n = typeof version === "number" ? version : /^\d+$/.test(version) ? Number(version) : Number.NaN;
  if (!Number.isInteger(n) || n < 1)
    throw new StoreError(`Invalid version ${JSON.stringify(version)} of model "${name}": versions are whole numbers from 1.`, {
      code: "INVALID_PARAMETER_VALUE",
    });
  return n;
}

/**
 * The model registry of an MLflow tracking server, over MLflow's REST API as its Python client
 * calls it: versions are strings on the wire (`"version": "1"`), numbers here;
 * `registered-models/create` goes first and its 400 RESOURCE_ALREADY_EXISTS is expected.
 */
export class RestRegistryStore implements RegistryStore {
  readonly kind = "rest" as const;
  readonly uri: string;
  readonly #client: RestClient;

  constructor(uri: string, client: RestClient) {
    this.uri = uri;
    this.#client = client;
  }

  async close(): Promise<void> {
    this.#client.close();
  }

  #call<T>(method: string, path: string, options: Parameters<RestClient["json"]>[2] = {}): Promise<T> {
    return this.#client.json<T>(method, `${API}${path}`, options);
  }

  async ensureModel(name: string, description = ""): Promise<void> {
    try {
      await this.#call("POST", "/registered-models/create", { json: { name, ...(description ? { description } : {}) } });
    } catch (error) {
      if (!alreadyExists(error)) throw error;
    }
  }

  async listModels(): Promise<RegisteredModel[]> {
    const out: RegisteredModel[] = [];
    let pageToken: string | undefined;
    do {
      const page = await this.#call<{ registered_models?: WireRegisteredModel[]; next_page_token?: string }>("GET", "/registered-models/search", {
        query: { max_results: 1000, page_token: pageToken },
      });
      out.push(...(page.registered_models ?? []).map(registeredModelOf));
      pageToken = page.next_page_token || undefined;
    } while (pageToken);
    return out.sort((a, b) => a.name.localeCompare(b.name));
  }

  async getModel(name: string): Promise<RegisteredModel> {
    const answer = await this.#call<{ registered_model: WireRegisteredModel }>("GET", "/registered-models/get", { query: { name } });
    return registeredModelOf(answer.registered_model);
  }

  /**
   * Registers a version (creating the model first, as `mlflow.register_model` does). For a
   * LoggedModel's source (`models:/<model_id>` with its `modelId`), `run_id` is left to the
   * server, which takes the model's source run, as MLflow's client leaves it.
   * NB: `storageLocation` is not sent: the server works it out from the source.
   */
  async createVersion(name: string, source: string, options: CreateVersionOptions = {}): Promise<ModelVersion> {
    await this.ensureModel(name);
    const ofLoggedModel = options.modelId !== undefined && source === `models:/${options.modelId}`;
    const answer = await this.#call<{ model_version: WireModelVersion }>("POST", "/model-versions/create", {
      json: {
        name,
        source,
        ...(options.runId && !ofLoggedModel ? { run_id: options.runId } : {}),
        ...(toWireTags(options.tags) ? { tags: toWireTags(options.tags) } : {}),
        ...(options.modelId ? { model_id: options.modelId } : {}),
        ...(options.description ? { description: options.description } : {}),
      },
    });
    return this.#awaitReady(answer.model_version);
  }

  /** A version the server is still copying (PENDING_REGISTRATION), polled until READY, as MLflow's client does. */
  async #awaitReady(created: WireModelVersion): Promise<ModelVersion> {
    const deadline = Date.now() + REGISTRATION_WAIT_MS;
    let mv = modelVersionOf(created);
    while (mv.status === "PENDING_REGISTRATION" && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 1000));
      mv = await this.getVersion(mv.name, mv.version);
    }
    if (mv.status === "FAILED_REGISTRATION")
      throw new StoreError(`The tracking server ${this.#client.shown} failed to register version ${mv.version} of "${mv.name}".`);
    return mv;
  }

  async getVersion(name: string, version: number | string): Promise<ModelVersion> {
    const n = versionNumber(name, version);
    const answer = await this.#call<{ model_version: WireModelVersion }>("GET", "/model-versions/get", { query: { name, version: String(n) } });
    return modelVersionOf(answer.model_version);
  }

  /** Every version, oldest first: `model-versions/search` with `name='…'` (aliases from the model, which has them all). */
  async listVersions(name: string): Promise<ModelVersion[]> {
    const model = await this.getModel(name);
    let versions: ModelVersion[];
    if (/['\\]/.test(name)) {
      // NB: a name the filter cannot quote: its versions one by one.
      const all = model.latestVersion === undefined ? [] : Array.from({ length: model.latestVersion }, (_, i) => i + 1);
      versions = (
        await Promise.all(all.map((v) => this.getVersion(name, v).catch((e) => (e instanceof NotFoundError ? undefined : Promise.reject(e)))))
      ).filter((v): v is ModelVersion => v !== undefined);
    } else {
      versions = [];
      let pageToken: string | undefined;
      do {
        const page = await this.#call<{ model_versions?: WireModelVersion[]; next_page_token?: string }>("GET", "/model-versions/search", {
          query: { filter: `name='${name}'`, max_results: 1000, page_token: pageToken },
        });
        versions.push(...(page.model_versions ?? []).map(modelVersionOf).filter((v) => v.name === name));
        pageToken = page.next_page_token || undefined;
      } while (pageToken);
    }
    return versions
      .map((v) => ({
        ...v,
        aliases: Object.entries(model.aliases)
          .filter(([, n]) => n === v.version)
          .map(([a]) => a),
      }))
      .sort((a, b) => a.version - b.version);
  }

  async getLatestVersion(name: string): Promise<ModelVersion> {
    const model = await this.getModel(name);
    if (model.latestVersion === undefined) throw new NotFoundError(`Model "${name}" has no versions yet.`);
    return this.getVersion(name, model.latestVersion);
  }

  async setAlias(name: string, alias: string, version: number | string): Promise<ModelVersion> {
    checkAlias(alias);
    const n = versionNumber(name, version);
    await this.#call("POST", "/registered-models/alias", { json: { name, alias, version: String(n) } });
    return this.getVersion(name, n);
  }

  async deleteAlias(name: string, alias: string): Promise<void> {
    checkAlias(alias);
    // NB: MLflow's client sends every method but GET its fields as a JSON body, DELETE included.
    await this.#call("DELETE", "/registered-models/alias", { json: { name, alias } });
  }

  /** `model-versions/delete`: the server keeps the version's number taken and drops its aliases. */
  async deleteVersion(name: string, version: number | string): Promise<ModelVersion> {
    const mv = await this.getVersion(name, version);
    await this.#call("DELETE", "/model-versions/delete", { json: { name, version: String(mv.version) } });
    return mv;
  }

  async getVersionByAlias(name: string, alias: string): Promise<ModelVersion> {
    const answer = await this.#call<{ model_version: WireModelVersion }>("GET", "/registered-models/alias", { query: { name, alias } });
    return modelVersionOf(answer.model_version);
  }
}
