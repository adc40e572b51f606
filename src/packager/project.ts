import { createHash } from "node:crypto";
import { existsSync, rmSync } from "node:fs";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { type AnyCodec, DataCatalog, Pipeline, isArtifactCodec, isFolderCodec } from "../runtime/index.js";
import { onceByKey } from "../util/index.js";
import { bundlePipelines } from "./bundle.js";
import { PackagingError } from "./errors.js";
import { readYamlFile } from "./project-yaml.js";

/** A Kedro-like project: `pipelines.ts`, `conf/catalog.yml`, `conf/parameters.yml`, data under `data/`. */
export interface Project {
  readonly dir: string;
  readonly pipelinesFile: string;
  readonly pipelines: Readonly<Record<string, Pipeline>>;
  readonly catalogConfig: Record<string, unknown>;
  readonly parameters: Record<string, unknown>;
  /** Dotted names of parameters written as decimals in parameters.yml (`0.0`, `1e-3`): they stay `double` params even when whole. */
  readonly floatParams: ReadonlySet<string>;
  /** The bundled pipelines module (its URL lets worker threads import the same nodes). */
  readonly moduleUrl: string;
  /** The artifact codecs the module exports as `codecs` (catalog entries name them: `codec: name`). */
  readonly codecs: Readonly<Record<string, AnyCodec>>;
}

const PIPELINE_FILES = ["pipelines.ts", "pipelines.mts", "pipelines.js", "pipelines.mjs"];

let bundleDir: Promise<string> | undefined;
/** Bundle paths already written by this process, by content hash (a project loaded again imports the same module). */
const bundles = new Map<string, Promise<string>>();

/**
 * This process's private folder for project bundles (mkdtemp: a fresh name, mode 0700), made
 * once and removed at exit, so no other local user can plant or swap the code we import.
 */
function privateBundleDir(): Promise<string> {
  bundleDir ??= mkdtemp(join(tmpdir(), "pipeserve-project-")).then(
    (path) => {
      process.once("exit", () => rmSync(path, { recursive: true, force: true }));
      return path;
    },
    (error: unknown) => {
      bundleDir = undefined;
      throw error;
    },
  );
  return bundleDir;
}

/** Writes a bundle into the private folder once per content (`wx`: never over an existing file) and returns its path. */
function writeBundle(hash: string, code: string): Promise<string> {
  return onceByKey(bundles, hash, async () => {
    const path = join(await privateBundleDir(), `${hash}.mjs`);
    await writeFile(path, code, { flag: "wx" });
    return path;
  });
}

/**
 * Loads a project: bundles `pipelines.ts` with esbuild (no build step for users; `pipeserve`
 * resolves to the running runtime), imports it, and reads its conf files.
 * @throws PackagingError for a missing folder or file, code that does not build, or a `pipelines` export that is not a record of pipelines.
 */
export async function loadProject(projectDir: string): Promise<Project> {
  const dir = resolve(projectDir);
  if (!existsSync(dir)) throw new PackagingError(`Project folder ${dir} does not exist.`, { code: "INVALID_PROJECT" });
  const name = PIPELINE_FILES.find((f) => existsSync(join(dir, f)));
  if (!name)
    throw new PackagingError(`Project ${dir} has no pipelines file: add pipelines.ts exporting \`pipelines\`, a record of named pipelines.`, {
      code: "INVALID_PROJECT",
    });
  const pipelinesFile = join(dir, name);
  // NB: with a source map, so a node's error points into pipelines.ts rather than into this temporary bundle.
  const { code } = await bundlePipelines(pipelinesFile, { sourcemap: true });
  const bundlePath = await writeBundle(createHash("sha256").update(dir).update(code).digest("hex").slice(0, 16), code);
  const moduleUrl = pathToFileURL(bundlePath).href;
  let mod: Record<string, unknown>;
  try {
    mod = (await import(moduleUrl)) as Record<string, unknown>;
  } catch (cause) {
    throw new PackagingError(`Importing ${pipelinesFile} failed: ${(cause as Error).message}`, { code: "INVALID_PROJECT", cause });
  }
  const pipelines = mod["pipelines"];
  if (pipelines === null || typeof pipelines !== "object" || Object.values(pipelines).some((p) => !(p instanceof Pipeline))) {
    throw new PackagingError(`${pipelinesFile} must export \`pipelines\`: an object of name → pipeline(...) (like Kedro's register_pipelines()).`, {
      code: "INVALID_PROJECT",
    });
  }
  const floatParams = new Set<string>();
  const codecs = codecsOf(mod["codecs"], pipelinesFile);
  return {
    codecs,
    dir,
    pipelinesFile,
    pipelines: pipelines as Record<string, Pipeline>,
    catalogConfig: await readYamlFile(join(dir, "conf", "catalog.yml"), "The catalog"),
    parameters: await readYamlFile(join(dir, "conf", "parameters.yml"), "The parameters", floatParams),
    floatParams,
    moduleUrl,
  };
}

/** The named pipeline of a project, or an error listing the names. */
export function getPipeline(project: Project, name: string): Pipeline {
  const p = project.pipelines[name];
  if (!p)
    throw new PackagingError(`Project ${project.dir} has no pipeline "${name}". Pipelines: [${Object.keys(project.pipelines).join(", ")}].`, {
      code: "UNKNOWN_PIPELINE",
    });
  return p;
}

/** The project's catalog, with relative file paths resolved against the project folder. */
export function projectCatalog(project: Project, params: Record<string, unknown>): DataCatalog {
  return DataCatalog.fromConfig(project.catalogConfig, { baseDir: project.dir, params, codecs: project.codecs });
}

/**
 * A module's `codecs` export: name → artifactCodec({ encode, decode }) or folderCodec({ save, load }); none when absent.
 * @throws PackagingError when it is not such an object, naming the entry that is not a codec.
 */
export function codecsOf(exported: unknown, file: string): Readonly<Record<string, AnyCodec>> {
  if (exported === undefined) return {};
  if (exported === null || typeof exported !== "object" || Array.isArray(exported)) {
    throw new PackagingError(`${file} exports \`codecs\`, but not as an object of name → artifactCodec({ encode, decode }).`, { code: "INVALID_PROJECT" });
  }
  for (const [name, codec] of Object.entries(exported)) {
    if (!isArtifactCodec(codec) && !isFolderCodec(codec)) {
      throw new PackagingError(
        `${file}: codecs.${name} is not a codec; declare it with artifactCodec({ encode: (obj) => json, decode: (json) => obj }), or folderCodec({ save: (obj, dir) => …, load: (dir) => obj }) for an object stored as files.`,
        {
          code: "INVALID_PROJECT",
        },
      );
    }
  }
  return exported as Record<string, AnyCodec>;
}
