import { randomBytes } from "node:crypto";
import { constants, rmSync } from "node:fs";
import { copyFile, cp, mkdir, mkdtemp, readdir, rename, rm, stat } from "node:fs/promises";
import { hostname, tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { DataCatalog, DatasetError, type CatalogConfigOptions, type Dataset, type Pipeline } from "../runtime/index.js";
import { processIsGone, swapInFolder } from "../util/index.js";

/** Where one file dataset's data goes in a run: the run's own file, and the catalog's file it is published to. */
interface Route {
  /** The run's own file: what its nodes read back and what packaging copies. */
  privatePath: string;
  /** The file catalog.yml names. */
  publicPath: string;
  /** The catalog's dataset at `publicPath`, to name it in messages as the user knows it. */
  publicDataset: Dataset;
}

/** Run folders are named `pipeserve-run-<host>-<pid>-<random>`: a folder whose process is gone may be removed. */
const PREFIX = "pipeserve-run-";

function isThenable(value: unknown): value is Promise<unknown> {
  return typeof (value as { then?: unknown } | null)?.then === "function";
}

function safeHost(): string {
  return hostname().replace(/[^\w.]/g, "_");
}

/**
 * Removes the run folders that runs of this host left when they were killed (SIGKILL skips every
 * clean-up): their process is gone, so nothing reads them again. Best effort: a folder that
 * cannot be read or removed (another user's, 0700) is left alone.
 */
async function removeStaleRunFolders(parent: string): Promise<void> {
  const mine = new RegExp(`^${PREFIX}${safeHost().replace(/\./g, "\\.")}-(\\d+)-`);
  let names: string[];
  try {
    names = await readdir(parent);
  } catch {
    return;
  }
  for (const name of names) {
    const pid = Number(mine.exec(name)?.[1] ?? Number.NaN);
    if (!Number.isInteger(pid) || !processIsGone(pid)) continue;
    await rm(join(parent, name), { recursive: true, force: true }).catch(() => undefined);
  }
}

/**
 * Copies the run's file (or a folder artifact's folder) over the catalog's path the way file
 * datasets write: to a temporary name beside it, renamed into place, so readers of the catalog
 * path never see half a file.
 */
async function publish(route: Route): Promise<void> {
  const tmp = join(dirname(route.publicPath), `.${basename(route.publicPath)}.${randomBytes(6).toString("hex")}.tmp`);
  try {
    await mkdir(dirname(route.publicPath), { recursive: true });
    if ((await stat(route.privatePath)).isDirectory()) {
      // A folder artifact: copied whole beside, then swapped in for the last one.
      await cp(route.privatePath, tmp, { recursive: true });
      await swapInFolder(tmp, route.publicPath);
      return;
    }
    // NB: a reflink where the file system offers one, a plain copy elsewhere.
    await copyFile(route.privatePath, tmp, constants.COPYFILE_FICLONE);
    await rename(tmp, route.publicPath);
  } catch (cause) {
    await rm(tmp, { recursive: true, force: true }).catch(() => undefined);
    const reason = cause instanceof Error ? cause.message : String(cause);
    throw new DatasetError(`Failed to save data to ${String(route.publicDataset)}: ${reason}`, { code: "DATASET_SAVE_FAILED", cause });
  }
}

/** A dataset error about the run's own file, reworded to name the catalog's file (the one the user knows). */
function inCatalogTerms(error: unknown, route: Route): unknown {
  if (!(error instanceof DatasetError) || !error.message.includes(route.privatePath)) return error;
  return new DatasetError(error.message.replaceAll(route.privatePath, route.publicPath), { code: error.code, cause: error });
}

/**
 * The catalog one tracked run works with. Every file dataset its pipeline writes is redirected to
 * a file in a folder of this run alone (mkdtemp: fresh, mode 0700): the run's nodes read back
 * exactly what its own nodes saved, and packaging copies those very files, whatever other runs of
 * the same project write to the catalog's paths meanwhile (two trainings at once used to package
 * one run's preprocessor with the other's model). Each save is then published to the catalog's
 * path (copied beside it, renamed over it), so the files users expect there appear when they
 * always did, the last run to save winning as before.
 *
 * NB: the datasets keep their classes (packaging records the class as the artifact's type);
 * only their `filepath` differs from the catalog's.
 */
export class RunCatalog extends DataCatalog {
  readonly #routes: ReadonlyMap<string, Route>;
  readonly #folder: string | undefined;
  readonly #onExit: (() => void) | undefined;

  private constructor(datasets: Record<string, Dataset>, options: CatalogConfigOptions, routes: Map<string, Route>, folder: string | undefined) {
    super(datasets, options);
    this.#routes = routes;
    this.#folder = folder;
    if (folder) {
      this.#onExit = () => rmSync(folder, { recursive: true, force: true });
      process.once("exit", this.#onExit);
    }
  }

  /**
   * Builds the run's catalog from catalog.yml's entries, with the file datasets `pipeline`
   * produces redirected into a new private folder (none when it produces no file).
   * @throws DatasetError for a catalog entry that is not valid (as `DataCatalog.fromConfig`).
   */
  static async open(config: Record<string, unknown>, options: CatalogConfigOptions, pipeline: Pipeline): Promise<RunCatalog> {
    const shared = DataCatalog.fromConfig(config, options);
    const produced = new Set(pipeline.nodes.flatMap((n) => n.outputNames));
    const redirected = Object.keys(config).filter((name) => produced.has(name) && typeof (shared.get(name) as { filepath?: unknown })?.filepath === "string");
    const datasets: Record<string, Dataset> = {};
    for (const name of Object.keys(config)) {
      const dataset = shared.get(name);
      if (dataset) datasets[name] = dataset;
    }
    if (redirected.length === 0) return new RunCatalog(datasets, options, new Map(), undefined);

    const parent = tmpdir();
    await removeStaleRunFolders(parent);
    const folder = await mkdtemp(join(parent, `${PREFIX}${safeHost()}-${process.pid}-`));
    const routes = new Map<string, Route>();
    const own: Record<string, unknown> = {};
    redirected.forEach((name, i) => {
      const publicDataset = datasets[name] as Dataset & { filepath: string };
      // NB: one sub-folder per dataset keeps the file's own name, and so its extension in the model.
      const privatePath = join(folder, `${i}-${name.replace(/[^\w.-]/g, "_")}`, basename(publicDataset.filepath));
      routes.set(name, { privatePath, publicPath: publicDataset.filepath, publicDataset });
      own[name] = { ...(config[name] as Record<string, unknown>), filepath: privatePath };
    });
    const redirectedCatalog = DataCatalog.fromConfig(own, options);
    for (const name of redirected) datasets[name] = redirectedCatalog.get(name) as Dataset;
    return new RunCatalog(datasets, options, routes, folder);
  }

  /** Saves to the run's own file, then publishes it to the catalog's path. */
  override async save(name: string, data: unknown): Promise<void> {
    const route = this.#routes.get(name);
    if (!route) return super.save(name, data);
    try {
      await super.save(name, data);
    } catch (error) {
      throw inCatalogTerms(error, route);
    }
    await publish(route);
  }

  /** Loads as the base does (from the run's own file for a redirected dataset); errors name the catalog's file. */
  override loadEager(name: string): unknown {
    const route = this.#routes.get(name);
    if (!route) return super.loadEager(name);
    try {
      const value = super.loadEager(name);
      return isThenable(value)
        ? value.catch((error: unknown) => {
            throw inCatalogTerms(error, route);
          })
        : value;
    } catch (error) {
      throw inCatalogTerms(error, route);
    }
  }

  /** As the base does, naming the catalog's file (the one the user knows) rather than the run's own. */
  override describeDataset(name: string): string | undefined {
    const route = this.#routes.get(name);
    return route ? `${route.publicDataset.constructor.name}, ${route.publicPath}` : super.describeDataset(name);
  }

  /** Removes the run's folder: call it once the run has packaged what it needs. */
  async close(): Promise<void> {
    if (!this.#folder) return;
    if (this.#onExit) process.off("exit", this.#onExit);
    await rm(this.#folder, { recursive: true, force: true });
  }
}
