/**
 * How an artifact that is a library's object (a random forest, a TensorFlow.js model…) is stored
 * and rebuilt: `encode` gives what is written (JSON for a JsonArtifactDataset), `decode` the object
 * again. Declared in the project's code (`export const codecs = { name: artifactCodec({...}) }`) and
 * named in catalog.yml (`codec: name`), it is used when training saves the artifact, when a later
 * training node reads it back, and when the served model loads it (the codec is bundled with the
 * model's code): every node gets the library's own object, never plain JSON.
 */
export interface ArtifactCodec<T = unknown, Stored = unknown> {
  encode(value: T): Stored;
  decode(stored: Stored): T | Promise<T>;
}

import { randomUUID } from "node:crypto";

/** Where an object rebuilt by a codec came from: the codec's name and what it was rebuilt from. */
export interface CodecOrigin {
  /** Names this object across threads: a worker thread rebuilds it once per id. */
  id: string;
  codec: string;
  stored: unknown;
}

const origins = new WeakMap<object, CodecOrigin>();

/**
 * Remembers that `value` was rebuilt by the codec `codec` from `stored`, so a worker thread can
 * rebuild it with the same codec (structured clone would hand it over as a plain object).
 */
export function rememberDecoded(value: unknown, codec: string, stored: unknown): void {
  if (value !== null && (typeof value === "object" || typeof value === "function")) origins.set(value as object, { id: randomUUID(), codec, stored });
}

/** What `rememberDecoded` recorded of `value`, if anything. */
export function decodedOrigin(value: unknown): CodecOrigin | undefined {
  return value !== null && (typeof value === "object" || typeof value === "function") ? origins.get(value as object) : undefined;
}

/**
 * How a library's object that is stored as several files (a TensorFlow.js model: `model.json` and
 * its weight files) is saved into a folder and rebuilt from one. Declared with the other codecs
 * (`export const codecs = { tfjs: folderCodec({ save, load }) }`) and named by a
 * `FolderArtifactDataset` in catalog.yml (`codec: tfjs`); used when training saves it, when a
 * later node reads it, and when the served model loads it (in each worker thread too).
 */
export interface FolderCodec<T = unknown> {
  /** Writes `value` into `dir`, an empty folder that exists. */
  save(value: T, dir: string): void | Promise<void>;
  /** Rebuilds the value from the files `save` wrote into `dir`. */
  load(dir: string): T | Promise<T>;
}

/** A codec of either kind: one value stored as JSON (`artifactCodec`), or as a folder of files (`folderCodec`). */
export type AnyCodec = ArtifactCodec | FolderCodec;

/** Declares a folder codec (an identity function that keeps its types). */
export function folderCodec<T>(codec: FolderCodec<T>): FolderCodec<T> {
  return codec;
}

/** Whether `value` is a folder codec: an object with `save` and `load` functions. */
export function isFolderCodec(value: unknown): value is FolderCodec {
  return value !== null && typeof value === "object" && typeof (value as FolderCodec).save === "function" && typeof (value as FolderCodec).load === "function";
}

/** Rebuilds a value the codec stored: from the JSON value, or from the folder (`stored` its path). */
export function decodeWith(codec: AnyCodec, stored: unknown): unknown {
  return isFolderCodec(codec) ? codec.load(stored as string) : codec.decode(stored);
}

/** Declares a codec (an identity function that keeps its types). */
export function artifactCodec<T, Stored = unknown>(codec: ArtifactCodec<T, Stored>): ArtifactCodec<T, Stored> {
  return codec;
}

/** Whether `value` is a codec: an object with `encode` and `decode` functions. */
export function isArtifactCodec(value: unknown): value is ArtifactCodec {
  return (
    value !== null &&
    typeof value === "object" &&
    typeof (value as ArtifactCodec).encode === "function" &&
    typeof (value as ArtifactCodec).decode === "function"
  );
}

/** The codecs a pipeline module exports as `codecs` (its entries that are codecs of either kind); none when it exports none. */
export function moduleCodecs(mod: Readonly<Record<string, unknown>>): Readonly<Record<string, AnyCodec>> {
  const exported = mod["codecs"];
  if (exported === null || typeof exported !== "object") return {};
  return Object.fromEntries(Object.entries(exported).filter(([, codec]) => isArtifactCodec(codec) || isFolderCodec(codec))) as Record<string, AnyCodec>;
}
