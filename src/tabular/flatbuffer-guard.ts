import { createRequire } from "node:module";
import type { ByteBuffer } from "flatbuffers";

/** Thrown from inside apache-arrow's metadata decoding; `decodeArrowIpc` turns it into a FormatError. */
export class FlatbufferVectorError extends Error {
  constructor(length: number, room: number) {
    super(`its metadata declares a list of ${length} entries where ${Math.max(0, room)} bytes remain. The data is damaged or not Arrow IPC`);
    this.name = "FlatbufferVectorError";
  }
}

let guarded = false;

/**
 * Makes every FlatBuffers vector read in this process check its declared length against the bytes
 * that follow it. NB: apache-arrow decodes Arrow IPC metadata (schemas, record batch headers, file
 * footers) with the `flatbuffers` package, which trusts a vector's length: a damaged schema whose
 * field list claims 2^31 entries had `decodeSchemaFields` loop two billion times over reads past the
 * end, a 420-byte request body that held the event loop for minutes (found by the fuzz suite,
 * seed 7). Every element of a vector takes at least one byte, so a length larger than what remains
 * of the buffer is never valid: refusing it cannot reject a well-formed message. FlatBuffers' own
 * verifier exists for C++ and Rust only, hence this check at the one accessor every vector goes
 * through. Idempotent.
 */
export function guardFlatbufferVectors(): void {
  if (guarded) return;
  guarded = true;
  // NB: required here, at the first Arrow decode, not imported at the top: the CommonJS build
  // apache-arrow's own `require` gets (the ByteBuffer class it uses), and a start that never reads
  // Arrow (predict of a CSV file) does not load it.
  // NB: resolved from apache-arrow's own folder, as its `require` resolves it: a project that pins
  // another flatbuffers gets a nested copy, and the guard must patch the one apache-arrow reads with.
  const fromArrow = createRequire(createRequire(import.meta.url).resolve("apache-arrow"));
  const { ByteBuffer: Buffers } = fromArrow("flatbuffers") as typeof import("flatbuffers");
  const proto = Buffers.prototype;
  const vectorLength = proto.__vector_len;
  proto.__vector_len = function checkedVectorLength(this: ByteBuffer, offset: number): number {
    const length = vectorLength.call(this, offset);
    const room = this.capacity() - this.__vector(offset);
    if (length < 0 || length > room) throw new FlatbufferVectorError(length, room);
    return length;
  };
}
