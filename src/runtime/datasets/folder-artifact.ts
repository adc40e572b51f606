import { randomUUID } from "node:crypto";
import { mkdir, rm, stat } from "node:fs/promises";
import { swapInFolder } from "../../util/index.js";
import { dirname } from "node:path";
import { DatasetError } from "../errors.js";
import { type FolderCodec, isFolderCodec, rememberDecoded } from "./artifact-codec.js";
import { FileDataset, type FileDatasetOptions } from "./file-datasets.js";
import { shareResource } from "../copy-mode.js";

export interface FolderArtifactDatasetOptions<T> extends FileDatasetOptions {
  codec: FolderCodec<T>;
  /** The codec's name in catalog.yml, recorded with a packaged model so serving loads alike. */
  codecName?: string;
}

/**
 * A fitted object stored as a folder of files (catalog type `FolderArtifactDataset`, `filepath` a
 * folder, `codec` a folder codec): saved by the codec into a fresh folder that replaces the old
 * one only when complete, loaded by the codec. Packaging copies every file and records each
 * one's sha256; loading verifies them all.
 */
export class FolderArtifactDataset<T = unknown> extends FileDataset<T> {
  readonly #codec: FolderCodec<T>;
  readonly codecName: string | undefined;

  constructor(options: FolderArtifactDatasetOptions<T>) {
    super(options);
    if (!isFolderCodec(options.codec))
      throw new DatasetError(`FolderArtifactDataset ${options.filepath} needs a folder codec: folderCodec({ save: (value, dir) => …, load: (dir) => … }).`, {
        code: "INVALID_DATASET",
      });
    this.#codec = options.codec;
    this.codecName = options.codecName;
  }

  protected override async _exists(): Promise<boolean> {
    try {
      return (await stat(this.filepath)).isDirectory();
    } catch {
      return false;
    }
  }

  protected async _load(): Promise<T> {
    if (!(await this._exists())) throw new DatasetError(`${this.filepath} is not a folder: the artifact was never saved.`, { code: "DATASET_NOT_FOUND" });
    try {
      const value = await this.#codec.load(this.filepath);
      if (this.codecName !== undefined) rememberDecoded(value, this.codecName, this.filepath);
      // NB: a library's model (a TensorFlow.js model's tensors live in its engine) is shared, never copied.
      shareResource(value);
      return value;
    } catch (cause) {
      throw new DatasetError(
        `The codec ${this.codecName ? `"${this.codecName}" ` : ""}could not load the folder ${this.filepath}: ${(cause as Error).message}`,
        {
          code: "DATASET_LOAD_FAILED",
          cause,
        },
      );
    }
  }

  protected async _save(value: T): Promise<void> {
    await mkdir(dirname(this.filepath), { recursive: true });
    // NB: written beside, then swapped in: a save that fails leaves the last complete folder.
    const fresh = `${this.filepath}.partial-${randomUUID()}`;
    await mkdir(fresh);
    try {
      await this.#codec.save(value, fresh);
      await swapInFolder(fresh, this.filepath);
    } catch (cause) {
      await rm(fresh, { recursive: true, force: true });
      throw new DatasetError(`The codec ${this.codecName ? `"${this.codecName}" ` : ""}could not save ${this.filepath}: ${(cause as Error).message}`, {
        code: "DATASET_SAVE_FAILED",
        cause,
      });
    }
  }
}
