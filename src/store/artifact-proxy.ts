import { createHash, randomBytes } from "node:crypto";
import { createReadStream, createWriteStream, rmSync } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, rename, rm, stat } from "node:fs/promises";
import { homedir, tmpdir } from "node:os";
import { dirname, extname, join, relative, sep } from "node:path";
import { pipeline } from "node:stream/promises";
import { type ArtifactRepository, LocalArtifactRepository, artifactScheme, unreachableArtifacts } from "./artifact-repository.js";
import { StoreError } from "./errors.js";
import type { RestClient } from "./rest-client.js";

/** The artifact proxy's endpoint (`mlflow server --serve-artifacts`, on by default). */
const ARTIFACTS_API = "/api/2.0/mlflow-artifacts/artifacts";
/** Files transferred at once. */
const PARALLEL = 4;

/** Where downloads are cached: `$PIPESERVE_CACHE_DIR`, else `~/.cache/pipeserve`. */
export function cacheDirFrom(env: NodeJS.ProcessEnv): string {
  return env["PIPESERVE_CACHE_DIR"] || join(homedir(), ".cache", "pipeserve");
}

/** One file of a listed folder: its path relative to the folder (`/`-separated) and, when the server says, its size. */
interface ListedFile {
  path: string;
  size?: number;
}

/** MLflow's `_guess_mime_type` (mlflow/store/artifact/artifact_repo.py): text files as text/plain, then by extension. */
const TEXT_EXTENSIONS = new Set(
  "txt log err cfg conf cnf cf ini properties prop hocon toml yaml yml xml json js py py3 csv tsv md rst MLmodel mlproject".split(" "),
);
const MIME_TYPES: Record<string, string> = {
  mjs: "text/javascript",
  html: "text/html",
  htm: "text/html",
  png: "image/png",
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  gif: "image/gif",
  svg: "image/svg+xml",
  gz: "application/gzip",
  tgz: "application/gzip",
  zip: "application/zip",
  pdf: "application/pdf",
  parquet: "application/octet-stream",
};

export function guessMimeType(file: string): string {
  const name = file.split("/").pop() ?? file;
  const ext = extname(name).replace(".", "") || name;
  if (TEXT_EXTENSIONS.has(ext)) return "text/plain";
  return MIME_TYPES[ext.toLowerCase()] ?? "application/octet-stream";
}

/** `1/abc/artifacts/model` as a URL path: each part percent-encoded. */
function encodePath(path: string): string {
  return path
    .split("/")
    .filter((p) => p !== "")
    .map(encodeURIComponent)
    .join("/");
}

/** Runs `fn` over `items`, `PARALLEL` at a time. */
async function eachLimited<T>(items: readonly T[], fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await fn(items[next++] as T);
  };
  await Promise.all(Array.from({ length: Math.min(PARALLEL, items.length) }, worker));
}

/** Every file below `dir`, relative with `/` separators. */
async function localFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)).split(sep).join("/"))
    .sort();
}

/** Folders downloaded without a cache key: removed when the process exits. */
const scratch = new Set<string>();
let exitHook = false;
function removeAtExit(dir: string): void {
  scratch.add(dir);
  if (exitHook) return;
  exitHook = true;
  process.once("exit", () => {
    for (const d of scratch) rmSync(d, { recursive: true, force: true });
  });
}

/**
 * Artifacts behind an MLflow tracking server's artifact proxy (`mlflow-artifacts:/<path>`), as
 * MLflow's `MlflowArtifactsRepository` reaches them: one `PUT …/mlflow-artifacts/artifacts/<path>`
 * per file to upload, `GET …/artifacts?path=<dir>` to list a folder (entries relative to it,
 * recursing into sub-folders) and `GET …/artifacts/<path>` per file to download. `file://` URIs
 * (a server whose artifact root is a shared folder) are read and written in place; any other
 * scheme (s3://, gs://, …) is refused, naming it.
 *
 * Downloads are cached by content: a folder with a `pipeline.json` goes to
 * `<cache>/models/<sha256 of its files outside artifacts/ and code/>/` (pipeline.json, MLmodel,
 * the examples…), downloaded into a temp folder beside it and renamed into place, so a folder
 * there is always complete; when one is there with every listed file at its listed size, only
 * those files are downloaded again (pipeline.json records the sha256 of every file in artifacts/
 * and code/, which the loader verifies). A folder without `pipeline.json` is downloaded into a fresh temp folder each time.
 */
export class ArtifactProxyRepository implements ArtifactRepository {
  readonly #client: RestClient;
  readonly #clientFor: (origin: string) => RestClient;
  readonly #cacheDir: string;
  readonly #local = new LocalArtifactRepository();
  /** The clients `clientFor` made, closed with the repository. */
  readonly #others = new Map<string, RestClient>();

  /** `clientFor(origin)`: a client for `mlflow-artifacts://host:port/…` URIs that name another server. */
  constructor(client: RestClient, options: { cacheDir: string; clientFor: (origin: string) => RestClient }) {
    this.#client = client;
    this.#cacheDir = options.cacheDir;
    this.#clientFor = options.clientFor;
  }

  /** The server and the path in its artifact root that an `mlflow-artifacts:` URI names. */
  #target(uri: string): { client: RestClient; path: string } {
    const m = /^mlflow-artifacts:(?:\/\/([^/]*))?(\/.*)?$/i.exec(uri);
    if (!m) throw unreachableArtifacts(uri);
    const authority = m[1] ?? "";
    const path = (m[2] ?? "").replace(/^\/+|\/+$/g, "");
    if (path.split("/").some((p) => p === ".." || p === ".")) {
      throw new StoreError(`Invalid artifact URI ${JSON.stringify(uri)}: no "." or ".." parts.`, { code: "INVALID_PARAMETER_VALUE" });
    }
    let client = this.#client;
    if (authority !== "") {
      client = this.#others.get(authority) ?? this.#clientFor(authority);
      this.#others.set(authority, client);
    }
    return { client, path };
  }

  /** Closes the connections to servers other than the tracking server (the store closes its own client). */
  close(): void {
    for (const client of this.#others.values()) if (client !== this.#client) client.close();
    this.#others.clear();
  }

  #isLocal(uri: string): boolean {
    const scheme = artifactScheme(uri);
    return scheme === "file" || (scheme === undefined && uri.startsWith("/"));
  }

  async localFolder(uri: string): Promise<string | undefined> {
    if (this.#isLocal(uri)) return this.#local.localFolder(uri);
    const { client, path } = this.#target(uri);
    const files = await this.#list(client, path);
    if (files.length === 0) return undefined;
    if (!files.some((f) => f.path === "pipeline.json")) {
      const dir = await mkdtemp(join(tmpdir(), "pipeserve-artifacts-"));
      removeAtExit(dir);
      await this.#downloadAll(client, path, files, dir);
      return dir;
    }
    return this.#cached(client, path, files);
  }

  async #cached(client: RestClient, path: string, files: ListedFile[]): Promise<string> {
    const root = join(this.#cacheDir, "models");
    await mkdir(root, { recursive: true });
    await removeLeftovers(root);
    const staging = await mkdtemp(join(root, ".download-"));
    try {
      // NB: found by an audit: keyed by pipeline.json alone, two models of the same pipeline and
      // artifacts (a seeded training run twice) shared one folder, and the second was served with
      // the first's MLmodel (its run, its model id, and any signature of the same size). The key
      // covers every file pipeline.json does not hash (all but artifacts/ and code/), downloaded each time.
      const unhashed = files.filter((f) => !isHashedByPipeline(f.path));
      await this.#downloadAll(client, path, unhashed, staging);
      const hash = createHash("sha256");
      for (const file of unhashed) {
        hash.update(`${file.path}\0`);
        hash.update(
          createHash("sha256")
            .update(await readFile(join(staging, ...file.path.split("/"))))
            .digest("hex"),
        );
      }
      const target = join(root, hash.digest("hex"));
      if (await isComplete(target, files)) return target;
      await this.#downloadAll(
        client,
        path,
        files.filter((f) => isHashedByPipeline(f.path)),
        staging,
      );
      await publish(staging, target, files);
      return target;
    } finally {
      await rm(staging, { recursive: true, force: true });
    }
  }

  async writeFolder<T>(uri: string, write: (dir: string) => Promise<T>): Promise<T> {
    if (this.#isLocal(uri)) return this.#local.writeFolder(uri, write);
    const { client, path } = this.#target(uri);
    const staging = await mkdtemp(join(tmpdir(), "pipeserve-upload-"));
    try {
      const dir = join(staging, "folder");
      const result = await write(dir);
      const files = await localFiles(dir);
      await eachLimited(files, async (file) => {
        const local = join(dir, ...file.split("/"));
        const { size } = await stat(local);
        await client.json("PUT", `${ARTIFACTS_API}/${encodePath(`${path}/${file}`)}`, {
          upload: { open: () => createReadStream(local), length: size, contentType: guessMimeType(file) },
        });
      });
      return result;
    } finally {
      await rm(staging, { recursive: true, force: true });
    }
  }

  /** Every file below `path` on the server (none when nothing is there), listing sub-folders in turn. */
  async #list(client: RestClient, path: string): Promise<ListedFile[]> {
    const out: ListedFile[] = [];
    const visit = async (dir: string, prefix: string): Promise<void> => {
      const answer = await client.json<{ files?: { path?: string; is_dir?: boolean; file_size?: number | string }[] }>("GET", ARTIFACTS_API, {
        query: { path: dir },
      });
      for (const entry of answer.files ?? []) {
        // NB: the proxy lists paths relative to the listed folder (a tracking-side list gives them from the run root).
        const name = (entry.path ?? "").split("/").pop() ?? "";
        if (name === "" || name === "." || name === "..") continue;
        if (entry.is_dir) await visit(`${dir}/${name}`, `${prefix}${name}/`);
        else out.push({ path: `${prefix}${name}`, ...(entry.file_size === undefined ? {} : { size: Number(entry.file_size) }) });
      }
    };
    await visit(path, "");
    return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  }

  async #downloadAll(client: RestClient, path: string, files: readonly ListedFile[], dir: string): Promise<void> {
    await eachLimited(files, async (file) => {
      const dest = join(dir, ...file.path.split("/"));
      await this.#download(client, `${path}/${file.path}`, dest);
      if (file.size !== undefined && (await stat(dest)).size !== file.size) {
        throw new StoreError(
          `Downloading ${path}/${file.path} from ${client.shown} gave ${(await stat(dest)).size} bytes; the server lists ${file.size}. Try again.`,
        );
      }
    });
  }

  async #download(client: RestClient, path: string, dest: string): Promise<void> {
    await mkdir(dirname(dest), { recursive: true });
    await client.download(`${ARTIFACTS_API}/${encodePath(path)}`, (res) => pipeline(res, createWriteStream(dest)));
  }
}

/** Whether a model's file is one whose sha256 its pipeline.json records (its artifacts and its code), which the loader verifies. */
function isHashedByPipeline(path: string): boolean {
  return path.startsWith("artifacts/") || path.startsWith("code/");
}

/** A download or set-aside copy this old was left by a process that died: downloads take minutes, not an hour. */
const LEFTOVER_MS = 60 * 60 * 1000;

/** Removes the temp folders (`.download-*`, `*.stale-*`) killed processes left in the cache. Best effort. */
async function removeLeftovers(root: string): Promise<void> {
  const names = await readdir(root).catch(() => [] as string[]);
  for (const name of names) {
    if (!name.startsWith(".download-") && !name.includes(".stale-")) continue;
    const path = join(root, name);
    const old = await stat(path).then(
      (s) => Date.now() - s.mtimeMs > LEFTOVER_MS,
      () => false,
    );
    if (old) await rm(path, { recursive: true, force: true }).catch(() => undefined);
  }
}

/** True when `dir` holds every listed file, at its listed size. */
async function isComplete(dir: string, files: readonly ListedFile[]): Promise<boolean> {
  for (const file of files) {
    const size = await stat(join(dir, ...file.path.split("/"))).then(
      (s) => (s.isFile() ? s.size : -1),
      () => -1,
    );
    if (size < 0 || (file.size !== undefined && size !== file.size)) return false;
  }
  return true;
}

/**
 * Renames a complete download into place. Another process may have put one there first (kept,
 * when complete) or an incomplete one may be there (set aside, then removed).
 */
async function publish(staging: string, target: string, files: readonly ListedFile[]): Promise<void> {
  try {
    await rename(staging, target);
    return;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== "ENOTEMPTY" && code !== "EEXIST") throw error;
  }
  if (await isComplete(target, files)) return;
  const stale = `${target}.stale-${randomBytes(6).toString("hex")}`;
  await rename(target, stale).catch(() => undefined);
  await rename(staging, target);
  await rm(stale, { recursive: true, force: true });
}
