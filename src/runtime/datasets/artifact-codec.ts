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
