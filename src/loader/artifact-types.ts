import {
  ArrowDataset,
  BinaryDataset,
  CsvDataset,
  type AnyCodec,
  type ArtifactCodec,
  type Dataset,
  FolderArtifactDataset,
  type FolderCodec,
  isFolderCodec,
  JsonArtifactDataset,
  JsonDataset,
  OnnxModelDataset,
  ParquetDataset,
  parseOnnxSessionOptions,
} from "../runtime/index.js";
import { ModelLoadError } from "./errors.js";

/** The dataset types an artifact may have: the only code a model file can choose. */
export const ARTIFACT_TYPES: Readonly<Record<string, (filepath: string, loadArgs?: unknown, codec?: { name: string; codec: AnyCodec }) => Dataset>> = {
  JsonArtifactDataset: (filepath, _loadArgs, codec) => {
    if (codec && isFolderCodec(codec.codec))
      throw new ModelLoadError(`The codec "${codec.name}" stores a folder, but this artifact is one JSON file.`, { code: "INVALID_MODEL_FILE" });
    return new JsonArtifactDataset(codec ? { filepath, codec: codec.codec as ArtifactCodec, codecName: codec.name } : { filepath });
  },
  // NB: a folder of files, loaded only through the folder codec pipeline.json names (from the model's own code).
  FolderArtifactDataset: (filepath, _loadArgs, codec) => {
    if (!codec || !isFolderCodec(codec.codec))
      throw new ModelLoadError(`A folder artifact (${filepath}) needs a folder codec that the model's code exports in \`codecs\`.`, {
        code: "INVALID_MODEL_FILE",
      });
    return new FolderArtifactDataset({ filepath, codec: codec.codec as FolderCodec, codecName: codec.name });
  },
  BinaryDataset: (filepath) => new BinaryDataset({ filepath }),
  CsvDataset: (filepath) => new CsvDataset({ filepath }),
  JsonDataset: (filepath) => new JsonDataset({ filepath }),
  ParquetDataset: (filepath) => new ParquetDataset({ filepath }),
  ArrowDataset: (filepath) => new ArrowDataset({ filepath }),
  // NB: the session options packaging recorded (pipeline.json `load_args`), checked again here.
  OnnxModelDataset: (filepath, loadArgs) => new OnnxModelDataset({ filepath, loadArgs: parseOnnxSessionOptions(loadArgs, `The ONNX artifact ${filepath}`) }),
};

/** @throws ModelLoadError when an artifact's type is not one of `ARTIFACT_TYPES`. */
export function checkArtifactType(name: string, type: string): void {
  if (!Object.hasOwn(ARTIFACT_TYPES, type)) {
    throw new ModelLoadError(`Artifact "${name}" has the unknown type "${type}". Known: ${Object.keys(ARTIFACT_TYPES).join(", ")}.`, {
      code: "INVALID_MODEL_FILE",
    });
  }
}
