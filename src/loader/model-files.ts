import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { parse as parseYaml } from "yaml";
// NB: zod's v3 API (shipped and kept in zod 4): it loads in ~15 ms where zod 4's takes ~70 ms, and
// every model load reads these files (bench/startup).
import { z } from "zod/v3";
import { COPY_MODES, DEFAULT_RUNNER } from "../runtime/index.js";
import { INPUT_TYPES, describeZodIssues } from "../tabular/index.js";
import { ModelLoadError } from "./errors.js";
import { modelFile } from "./integrity.js";

/** The flavor format versions this loader reads. */
export const SUPPORTED_FORMAT_VERSIONS: readonly number[] = [1];

const CopyModeSchema = z.enum(COPY_MODES as unknown as [string, ...string[]]);
const COPY_MODES_TEXT = COPY_MODES.map((m) => JSON.stringify(m)).join(", ");

/** The `pipeserve` flavor of `MLmodel`. */
export const PipeserveFlavorSchema = z
  .object({
    code: z.string(),
    // NB: models packaged before typed-array columns were written for plain arrays.
    column_arrays: z.enum(["typed", "plain"]).default("plain"),
    copy_mode: z.union([CopyModeSchema, z.record(z.string(), CopyModeSchema)], {
      errorMap: () => ({ message: `expected one of ${COPY_MODES_TEXT}, or a map of dataset name → one of them (with "default" for the rest)` }),
    }),
    env: z.string().default("environment.json"),
    format_version: z.number().int(),
    input_name: z.string().min(1),
    input_type: z.enum(INPUT_TYPES as unknown as [(typeof INPUT_TYPES)[number], ...(typeof INPUT_TYPES)[number][]]).default("dataframe"),
    output_name: z.string().min(1),
    pipeline: z.string().default("pipeline.json"),
    pipeserve_version: z.string().optional(),
    row_wise: z.boolean().default(false),
    runner: z.string().default(DEFAULT_RUNNER),
  })
  .passthrough();

/** `MLmodel` as the loader needs it; unknown keys and other flavors are ignored. */
export const MLmodelSchema = z
  .object({
    artifact_path: z.string().optional(),
    flavors: z.record(z.string(), z.unknown()),
    model_id: z.string().nullable().optional(),
    model_size_bytes: z.number().optional(),
    model_uuid: z.string().optional(),
    run_id: z.string().optional(),
    saved_input_example_info: z.object({ artifact_path: z.string() }).passthrough().optional(),
    signature: z
      .object({
        inputs: z.string().nullable().optional(),
        outputs: z.string().nullable().optional(),
        params: z.string().nullable().optional(),
      })
      .passthrough()
      .nullable()
      .optional(),
    utc_time_created: z.union([z.string(), z.date()]).optional(),
  })
  .passthrough();

const NodeIOSchema = z.union([z.string(), z.array(z.string()), z.record(z.string(), z.string()), z.null()]);

/** `pipeline.json`: the inference graph, artifacts with their sha256, parameters and code. */
export const PipelineJsonSchema = z
  .object({
    format_version: z.number().int(),
    input_name: z.string(),
    output_name: z.string(),
    nodes: z.array(z.object({ name: z.string(), inputs: NodeIOSchema, outputs: NodeIOSchema, tags: z.array(z.string()).default([]) }).passthrough()),
    artifacts: z.record(
      z.string(),
      z
        .object({
          type: z.string(),
          path: z.string(),
          sha256: z.string().regex(/^[0-9a-f]{64}$/),
          bytes: z.number().int().nonnegative().optional(),
          // A folder artifact: each file (path inside the folder) with its sha256; `sha256` is the list's digest.
          files: z.record(z.string(), z.object({ sha256: z.string().regex(/^[0-9a-f]{64}$/), bytes: z.number().int().nonnegative().optional() })).optional(),
        })
        .passthrough(),
    ),
    parameters: z.record(z.string(), z.unknown()).default({}),
    code: z.object({ path: z.string(), export: z.string().default("inference"), sha256: z.string().regex(/^[0-9a-f]{64}$/) }).passthrough(),
  })
  .passthrough();

/** `environment.json`: the Node range and the packages the code uses, with the versions it was built with. */
export const EnvironmentSchema = z
  .object({
    node: z.string().optional(),
    packages: z.record(z.string(), z.string()).default({}),
  })
  .passthrough();

export type MLmodel = z.infer<typeof MLmodelSchema>;
export type PipeserveFlavor = z.infer<typeof PipeserveFlavorSchema>;
export type PipelineJson = z.infer<typeof PipelineJsonSchema>;
export type Environment = z.infer<typeof EnvironmentSchema>;

/** Reads a model file; `what` names where its path came from, for the error when it leads outside the model. */
async function readText(dir: string, file: string, what: string): Promise<string> {
  return (await readBytes(dir, file, what)).toString("utf8");
}

async function readBytes(dir: string, file: string, what: string): Promise<Buffer> {
  let path: string;
  try {
    // NB: a regular file inside the model, links followed (see modelFile): pipeline.json linked to /dev/zero filled memory.
    path = await modelFile(dir, file, what);
  } catch (error) {
    if (error instanceof ModelLoadError && error.code === "MISSING_FILE")
      throw new ModelLoadError(`The model at ${dir} has no ${file}.`, { code: "MISSING_FILE", cause: error });
    throw error;
  }
  try {
    return await readFile(path);
  } catch (cause) {
    const missing = (cause as NodeJS.ErrnoException).code === "ENOENT";
    throw new ModelLoadError(missing ? `The model at ${dir} has no ${file}.` : `Cannot read ${file} of the model at ${dir}: ${(cause as Error).message}`, {
      code: missing ? "MISSING_FILE" : "UNREADABLE_FILE",
      cause,
    });
  }
}

/** Parses and checks a model file against its schema; errors name the file and the field. */
function check<T extends z.ZodType>(schema: T, value: unknown, file: string, dir: string): z.infer<T> {
  const parsed = schema.safeParse(value);
  if (!parsed.success)
    throw new ModelLoadError(`${file} of the model at ${dir} is invalid: ${describeZodIssues(parsed.error)}.`, { code: "INVALID_MODEL_FILE" });
  return parsed.data;
}

/** Reads `MLmodel` and its pipeserve flavor. */
export async function readMLmodel(dir: string): Promise<{ mlmodel: MLmodel; flavor: PipeserveFlavor }> {
  const text = await readText(dir, "MLmodel", "MLmodel");
  let raw: unknown;
  try {
    raw = parseYaml(text, { version: "1.1" });
  } catch (cause) {
    throw new ModelLoadError(`MLmodel of the model at ${dir} is not valid YAML: ${(cause as Error).message}`, { code: "INVALID_MODEL_FILE", cause });
  }
  const mlmodel = check(MLmodelSchema, raw, "MLmodel", dir);
  const rawFlavor = mlmodel.flavors["pipeserve"];
  if (rawFlavor === undefined) {
    throw new ModelLoadError(
      `The model at ${dir} has no pipeserve flavor (it has: ${Object.keys(mlmodel.flavors).join(", ") || "none"}); pipeserve serves models packaged by pipeserve.`,
      { code: "UNSUPPORTED_FLAVOR" },
    );
  }
  const version = (rawFlavor as { format_version?: unknown } | null)?.format_version;
  if (typeof version === "number" && !SUPPORTED_FORMAT_VERSIONS.includes(version)) {
    throw new ModelLoadError(
      `MLmodel of the model at ${dir} has pipeserve format_version ${version}; this pipeserve reads ${SUPPORTED_FORMAT_VERSIONS.join(", ")}. Upgrade pipeserve to serve it.`,
      { code: "UNSUPPORTED_FORMAT_VERSION" },
    );
  }
  const flavor = check(PipeserveFlavorSchema, rawFlavor, "MLmodel (flavors.pipeserve)", dir);
  return { mlmodel, flavor };
}

async function readJson(dir: string, file: string, what: string): Promise<unknown> {
  return parseJson(await readText(dir, file, what), dir, file);
}

function parseJson(text: string, dir: string, file: string): unknown {
  try {
    return JSON.parse(text);
  } catch (cause) {
    throw new ModelLoadError(`${file} of the model at ${dir} is not valid JSON: ${(cause as Error).message}`, { code: "INVALID_MODEL_FILE", cause });
  }
}

export async function readPipelineJson(dir: string, file: string): Promise<PipelineJson> {
  return (await readPipelineJsonWithDigest(dir, file)).pipeline;
}

/** Reads `pipeline.json` with the sha256 of the very bytes parsed (what a registry version records). */
export async function readPipelineJsonWithDigest(dir: string, file: string): Promise<{ pipeline: PipelineJson; sha256: string }> {
  const bytes = await readBytes(dir, file, "MLmodel's flavors.pipeserve.pipeline");
  const sha256 = createHash("sha256").update(bytes).digest("hex");
  const pipeline = check(PipelineJsonSchema, parseJson(bytes.toString("utf8"), dir, file), file, dir);
  if (!SUPPORTED_FORMAT_VERSIONS.includes(pipeline.format_version)) {
    throw new ModelLoadError(
      `${file} of the model at ${dir} has format_version ${pipeline.format_version}; this pipeserve reads ${SUPPORTED_FORMAT_VERSIONS.join(", ")}.`,
      {
        code: "UNSUPPORTED_FORMAT_VERSION",
      },
    );
  }
  return { pipeline, sha256 };
}

export async function readEnvironment(dir: string, file: string): Promise<Environment> {
  return check(EnvironmentSchema, await readJson(dir, file, "MLmodel's flavors.pipeserve.env"), file, dir);
}

/** The input example (`{"columns", "data"}`), if the model has one. */
export async function readInputExample(dir: string, file: string | undefined): Promise<{ columns: string[]; data: unknown[][] } | undefined> {
  if (!file) return undefined;
  const value = await readJson(dir, file, "MLmodel's saved_input_example_info.artifact_path");
  const parsed = z.object({ columns: z.array(z.string()), data: z.array(z.array(z.unknown())) }).safeParse(value);
  return parsed.success ? parsed.data : undefined;
}
