/**
 * The public API of `pipeserve`, written out: adding or removing an export of src/index.ts fails
 * here until this list changes with it, so growing the API is a decision someone reads in review.
 * Internals belong in the part folders' index.ts, where tests may import them.
 */
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
// NB: TypeScript 7 (the devDependency that type-checks and builds) has no parser API yet; 5.9 parses here.
import ts from "typescript5";
import { describe, expect, it } from "vitest";
import * as api from "../../src/index.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

const VALUES = [
  "AbstractDataset",
  "ArchiveError",
  "ArrowDataset",
  "BatchError",
  "BinaryDataset",
  "COLUMN_TYPES",
  "COPY_MODES",
  "ConcurrentRunner",
  "CsvDataset",
  "DataCatalog",
  "DatasetError",
  "FileStore",
  "FolderArtifactDataset",
  "FormatError",
  "HTTP_STATUS",
  "INPUT_TYPES",
  "JsonArtifactDataset",
  "JsonDataset",
  "MemoryDataset",
  "MetricsDataset",
  "ModelLoadError",
  "ModelRegistry",
  "Node",
  "NodeError",
  "NotFoundError",
  "OnnxInputError",
  "OnnxModel",
  "OnnxModelDataset",
  "PARAM_TYPES",
  "PackagingError",
  "ParquetDataset",
  "Pipeline",
  "PipelineError",
  "PipelineML",
  "PipelineModel",
  "PipeserveError",
  "RUNNER_NAMES",
  "RunAbortedError",
  "RunTimeoutError",
  "RunnerNotAllowedError",
  "SchemaError",
  "SequentialRunner",
  "ServerState",
  "StoreError",
  "TabularError",
  "WorkerRunner",
  "arrowToParquet",
  "artifactCodec",
  "asColumnTable",
  "columnsToTensors",
  "createApp",
  "currentModelVersion",
  "decodeArrowIpc",
  "decodeTable",
  "encodeArrowIpc",
  "encodeTable",
  "folderCodec",
  "fromArrow",
  "fromDataFrame",
  "inferSignature",
  "isDataFrame",
  "loadModel",
  "loadProject",
  "modelify",
  "movingModelRef",
  "node",
  "parquetToArrow",
  "parseCsv",
  "pipeline",
  "pipelineMl",
  "pipeserveVersion",
  "predictFile",
  "predictOnnx",
  "readTableFile",
  "requireHostModule",
  "resolveTrackingUri",
  "runProject",
  "serveApp",
  "signatureFromMlflow",
  "signatureToMlflow",
  "tableFromColumns",
  "tableFromRecords",
  "tableFromRows",
  "tableToColumns",
  "tableToRecords",
  "tensorsToColumns",
  "toArrow",
  "toCsv",
  "toDataFrame",
  "writeTableFile",
];

const TYPES = [
  "AppOptions",
  "ArtifactCodec",
  "CatalogConfigOptions",
  "Cell",
  "ColumnOverride",
  "ColumnSpec",
  "ColumnTable",
  "ColumnType",
  "ConcurrentRunnerOptions",
  "CopyMode",
  "CopyModeSpec",
  "CreateLoggedModelOptions",
  "CsvParseOptions",
  "DataCatalogOptions",
  "DataFrame",
  "Dataset",
  "ErrorCode",
  "Experiment",
  "FileDatasetOptions",
  "FolderCodec",
  "Hooks",
  "InputType",
  "LoadModelOptions",
  "LogModelOptions",
  "LoggedModel",
  "LoggedModelMetric",
  "LoggedModelStatus",
  "MemoryDatasetOptions",
  "MetricPoint",
  "MetricValue",
  "MlflowSignature",
  "ModelMetadata",
  "ModelVersion",
  "ModelifyOptions",
  "NodeContext",
  "NodeFunction",
  "NodeIO",
  "NodeOptions",
  "OnnxColumns",
  "OnnxSessionOptions",
  "OnnxTensorInfo",
  "OutputFormat",
  "ParamOverride",
  "ParamSpec",
  "ParamType",
  "PipelineDatasets",
  "PipelineMlOptions",
  "PipelineOptions",
  "PipelineParameters",
  "PipelineSource",
  "PredictFileOptions",
  "PredictFileResult",
  "PredictOptions",
  "Prediction",
  "Project",
  "RegisteredModel",
  "Run",
  "RunContext",
  "RunInfo",
  "RunModelOutput",
  "RunOptions",
  "RunProjectOptions",
  "RunProjectResult",
  "RunStatus",
  "Runner",
  "RunnerName",
  "RunningServer",
  "Series",
  "ServeOptions",
  "Shard",
  "Signature",
  "SignatureJson",
  "SignatureOverrides",
  "TableFormat",
  "TabularDatasetOptions",
  "TabularLoadAs",
  "ToColumnsOptions",
  "ToTensorsOptions",
  "WorkerRunnerOptions",
];

/** The names src/index.ts exports, read from its source: `export { a, type B } from "…"`. */
function declaredExports(): { values: string[]; types: string[] } {
  const file = join(root, "src", "index.ts");
  const source = ts.createSourceFile(file, readFileSync(file, "utf8"), ts.ScriptTarget.Latest);
  const values: string[] = [];
  const types: string[] = [];
  for (const statement of source.statements) {
    if (!ts.isExportDeclaration(statement)) continue;
    const clause = statement.exportClause;
    if (!clause || !ts.isNamedExports(clause)) throw new Error("src/index.ts must export by name (no `export *`).");
    for (const element of clause.elements) (statement.isTypeOnly || element.isTypeOnly ? types : values).push(element.name.text);
  }
  return { values: values.sort(), types: types.sort() };
}

/** The names a file imports from `pipeserve` (model code, README examples). */
function importsFromPipeserve(text: string): string[] {
  const names: string[] = [];
  for (const m of text.matchAll(/import\s*\{([^}]*)\}\s*from\s*["']pipeserve["']/g)) {
    for (const part of (m[1] as string).split(",")) {
      const name = part
        .trim()
        .replace(/^type\s+/, "")
        .split(/\s+as\s+/)[0];
      if (name) names.push(name);
    }
  }
  return names;
}

function projectPipelines(dir: string): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => join(root, dir, e.name, "pipelines.ts"));
}

describe("the public API (src/index.ts)", () => {
  it("exports exactly these values", () => {
    expect(Object.keys(api).sort()).toEqual([...VALUES].sort());
  });

  it("declares exactly these exports, by name", () => {
    const { values, types } = declaredExports();
    expect(values).toEqual([...VALUES].sort());
    expect(types).toEqual([...TYPES].sort());
  });

  it("keeps the lists sorted, so a diff shows what changed", () => {
    for (const list of [VALUES, TYPES]) expect(list).toEqual([...list].sort());
  });

  it("exports everything model code and the README import from pipeserve", () => {
    const files = [...projectPipelines("models"), ...projectPipelines(join("test", "fixtures", "projects")), join(root, "README.md")];
    const imported = files.flatMap((f) => importsFromPipeserve(readFileSync(f, "utf8")).map((name) => ({ name, file: f })));
    expect(imported.map((i) => i.name)).toEqual(expect.arrayContaining(["node", "pipeline", "pipelineMl", "requireHostModule", "asColumnTable"]));
    const publicNames = new Set([...VALUES, ...TYPES]);
    expect(imported.filter((i) => !publicNames.has(i.name)).map((i) => `${i.name} (${i.file})`)).toEqual([]);
  });
});
