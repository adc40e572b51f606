import { mkdir, readdir, readFile, rm } from "node:fs/promises";
import { userInfo } from "node:os";
import { join } from "node:path";
import { NotFoundError, StoreError } from "./errors.js";
import { isDirectory, isFile, readYaml, withLock, writeAtomic, writeYaml } from "./fs-utils.js";

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
}

const MODEL_NAME = /^[^/\\%:\0]{1,256}$/;
const ALIAS = /^[A-Za-z0-9_-]{1,255}$/;

function checkModelName(name: string): string {
  if (typeof name !== "string" || !MODEL_NAME.test(name) || name === "." || name === ".." || name.trim() !== name) {
    throw new StoreError(`Invalid model name ${JSON.stringify(name)}: no path separators, "%" or ":", no surrounding spaces, at most 256 characters.`, {
      code: "INVALID_PARAMETER_VALUE",
    });
  }
  return name;
}

function checkAlias(alias: string): string {
  if (typeof alias !== "string" || !ALIAS.test(alias) || /^v\d+$/i.test(alias) || alias.toLowerCase() === "latest") {
    throw new StoreError(
      `Invalid alias ${JSON.stringify(alias)}: use letters, digits, "_" and "-" (not "latest", and not v<number>, which would read as a version).`,
      { code: "INVALID_PARAMETER_VALUE" },
    );
  }
  return alias;
}

function safeUser(): string {
  try {
    return userInfo().username;
  } catch {
    return "unknown";
  }
}

/**
 * The model registry in MLflow's file layout (`mlruns/models/<name>/version-<n>/`): registered
 * models, numbered versions pointing at a model `source`, aliases. Version numbers are claimed
 * with an atomic `mkdir`, so processes registering at once never share a number.
 */
export class ModelRegistry {
  readonly root: string;

  constructor(trackingRoot: string) {
    this.root = join(trackingRoot, "models");
  }

  #modelDir(name: string): string {
    return join(this.root, checkModelName(name));
  }

  /** Creates a registered model if it does not exist yet. */
  async ensureModel(name: string, description = ""): Promise<void> {
    const dir = this.#modelDir(name);
    if (await isFile(join(dir, "meta.yaml"))) return;
    await withLock(join(this.root, "..", `.model-${name}.lock`), async () => {
      if (await isFile(join(dir, "meta.yaml"))) return;
      await mkdir(dir, { recursive: true });
      const now = Date.now();
      await writeYaml(join(dir, "meta.yaml"), { aliases: [], creation_timestamp: now, description, last_updated_timestamp: now, name });
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
    if (!(await isFile(join(dir, "meta.yaml")))) {
      const known = (await isDirectory(this.root)) ? (await readdir(this.root)).filter((n) => !n.startsWith(".")) : [];
      throw new NotFoundError(`Registered model "${name}" does not exist. Registered models: [${known.join(", ")}].`);
    }
    const meta = await readYaml(join(dir, "meta.yaml"));
    const versions = await this.#versionNumbers(name);
    return {
      name: String(meta["name"] ?? name),
      description: meta["description"] == null ? "" : String(meta["description"]),
      creationTimestamp: Number(meta["creation_timestamp"]),
      lastUpdatedTimestamp: Number(meta["last_updated_timestamp"]),
      aliases: await this.#aliases(name),
      tags: await this.#readKeyFiles(join(dir, "tags")),
      latestVersion: versions.at(-1),
    };
  }

  async #versionNumbers(name: string): Promise<number[]> {
    const dir = this.#modelDir(name);
    if (!(await isDirectory(dir))) return [];
    const numbers: number[] = [];
    for (const entry of await readdir(dir)) {
      const m = /^version-(\d+)$/.exec(entry);
      if (m && (await isFile(join(dir, entry, "meta.yaml")))) numbers.push(Number(m[1]));
    }
    return numbers.sort((a, b) => a - b);
  }

  async #readKeyFiles(dir: string): Promise<Record<string, string>> {
    const out: Record<string, string> = {};
    if (!(await isDirectory(dir))) return out;
    for (const entry of await readdir(dir)) if (!entry.startsWith(".")) out[entry] = await readFile(join(dir, entry), "utf8");
    return out;
  }

  async #aliases(name: string): Promise<Record<string, number>> {
    const raw = await this.#readKeyFiles(join(this.#modelDir(name), "aliases"));
    return Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, Number(v.trim())]));
  }

  /**
   * Registers a new version of a model (creating the model when needed) pointing at `source`
   * (e.g. `runs:/<id>/model`). Returns it with its number.
   */
  async createVersion(name: string, source: string, options: { runId?: string; storageLocation?: string; description?: string } = {}): Promise<ModelVersion> {
    await this.ensureModel(name);
    const dir = this.#modelDir(name);
    let version = ((await this.#versionNumbers(name)).at(-1) ?? 0) + 1;
    // NB: mkdir is the atomic claim: a process that loses the race tries the next number.
    for (;;) {
      try {
        await mkdir(join(dir, `version-${version}`));
        break;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
        version++;
      }
    }
    const now = Date.now();
    const mv = {
      creation_timestamp: now,
      current_stage: "None",
      description: options.description ?? "",
      last_updated_timestamp: now,
      name,
      run_id: options.runId ?? "",
      run_link: "",
      source,
      status: "READY",
      status_message: "",
      storage_location: options.storageLocation ?? source,
      user_id: safeUser(),
      version,
    };
    await writeYaml(join(dir, `version-${version}`, "meta.yaml"), mv);
    await this.#touch(name, now);
    return this.getVersion(name, version);
  }

  async #touch(name: string, when: number): Promise<void> {
    await withLock(join(this.root, "..", `.model-${name}.lock`), async () => {
      const path = join(this.#modelDir(name), "meta.yaml");
      const meta = await readYaml(path);
      meta["last_updated_timestamp"] = when;
      await writeYaml(path, meta);
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
    if (!(await isFile(path))) {
      const versions = await this.#versionNumbers(name);
      throw new NotFoundError(`Model "${name}" has no version ${n}. Versions: [${versions.join(", ")}].`);
    }
    const m = await readYaml(path);
    const aliases = Object.entries(await this.#aliases(name))
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
    };
  }

  /** Every version of a model, oldest first. */
  async listVersions(name: string): Promise<ModelVersion[]> {
    await this.getModel(name);
    return Promise.all((await this.#versionNumbers(name)).map((v) => this.getVersion(name, v)));
  }

  /** The highest version. */
  async getLatestVersion(name: string): Promise<ModelVersion> {
    const model = await this.getModel(name);
    if (model.latestVersion === undefined) throw new NotFoundError(`Model "${name}" has no versions yet.`);
    return this.getVersion(name, model.latestVersion);
  }

  /** Points an alias at a version (like MLflow's `set_registered_model_alias`). */
  async setAlias(name: string, alias: string, version: number | string): Promise<ModelVersion> {
    checkAlias(alias);
    const mv = await this.getVersion(name, version);
    await writeAtomic(join(this.#modelDir(name), "aliases", alias), String(mv.version));
    await this.#touch(name, Date.now());
    return this.getVersion(name, mv.version);
  }

  async deleteAlias(name: string, alias: string): Promise<void> {
    checkAlias(alias);
    await this.getModel(name);
    await rm(join(this.#modelDir(name), "aliases", alias), { force: true });
  }

  /** The version an alias points at. */
  async getVersionByAlias(name: string, alias: string): Promise<ModelVersion> {
    const aliases = (await this.getModel(name)).aliases;
    const version = aliases[alias];
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
