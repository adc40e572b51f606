import { FormatError, LimitError, formatCount, type TableLimits } from "../tabular/index.js";

/**
 * How many values a ModelInferRequest would make once decoded, counted from its wire bytes before
 * it is decoded. protobufjs builds an object (or a number, or a string for an int64) for every
 * entry of a repeated field, however small its bytes: a 40 MB message of empty `inputs` entries (2
 * bytes each) grew the process by 5 GB and ran it out of memory before any limit was checked. The
 * counts are held to the server's limits: elements to `maxCells`, tensors and parameters to
 * MAX_INFER_ENTRIES, each tensor's shape to MAX_SHAPE_RANK.
 *
 * The message's fields (proto/inference.proto): ModelInferRequest { 4 parameters (map), 5 inputs,
 * 6 outputs, 7 raw_input_contents }; InferInputTensor { 3 shape (packed int64), 4 parameters (map),
 * 5 contents }; InferRequestedOutputTensor { 2 parameters (map) }; InferTensorContents { 1–5 bool/int/int64/uint/uint64 (packed varints), 6 fp32
 * (packed fixed32), 7 fp64 (packed fixed64), 8 bytes (repeated) }.
 */
export const MAX_INFER_ENTRIES = 10_000;
/** The most dimensions a tensor's shape may have (the protocol's tensors are columns: one or two). */
export const MAX_SHAPE_RANK = 64;

const VARINT = 0;
const FIXED64 = 1;
const LENGTH = 2;
const FIXED32 = 5;

/** A protobuf wire reader over `bytes[start, end)`. */
class WireReader {
  at: number;
  readonly bytes: Uint8Array;
  readonly end: number;

  constructor(bytes: Uint8Array, start: number, end: number) {
    this.bytes = bytes;
    this.at = start;
    this.end = end;
  }

  varint(): number {
    let value = 0;
    for (let scale = 1; ; scale *= 128) {
      if (this.at >= this.end) throw new Error("the message ends inside a number");
      const b = this.bytes[this.at++] as number;
      value += (b & 0x7f) * scale;
      if (b < 0x80) return value;
      if (scale > 2 ** 63) throw new Error("a number is longer than 10 bytes");
    }
  }

  /** The next field: its number, wire type, and where its value's bytes are (a length-delimited one's after its length). */
  field(): { id: number; type: number; start: number; end: number } {
    const key = this.varint();
    const id = Math.floor(key / 8);
    const type = key % 8;
    if (type === LENGTH) {
      const length = this.varint();
      const start = this.at;
      this.at += length;
      if (this.at > this.end) throw new Error(`field ${id} runs past the end of its message`);
      return { id, type, start, end: this.at };
    }
    const start = this.at;
    if (type === VARINT) this.varint();
    else if (type === FIXED64) this.at += 8;
    else if (type === FIXED32) this.at += 4;
    else throw new Error(`field ${id} has wire type ${type}, which the protocol's messages do not use`);
    if (this.at > this.end) throw new Error(`field ${id} runs past the end of its message`);
    return { id, type, start, end: this.at };
  }

  /** How many varints `bytes[start, end)` holds (a packed field's elements). */
  countVarints(start: number, end: number): number {
    let n = 0;
    for (let i = start; i < end; i++) if ((this.bytes[i] as number) < 0x80) n++;
    return n;
  }
}

/**
 * The wire types protobufjs reads each known field with, whatever its key says: a message, a map
 * entry, text or bytes always as length-delimited; a repeated number packed, or as one value of its
 * own type. A key with another type would make protobufjs read bytes this scan skipped (a field sent
 * as a number whose following bytes it then decodes as a message): such a message is refused.
 */
const WIRE_TYPES = {
  request: { 1: [LENGTH], 2: [LENGTH], 3: [LENGTH], 4: [LENGTH], 5: [LENGTH], 6: [LENGTH], 7: [LENGTH] },
  tensor: { 1: [LENGTH], 2: [LENGTH], 3: [LENGTH, VARINT], 4: [LENGTH], 5: [LENGTH] },
  output: { 1: [LENGTH], 2: [LENGTH] },
  contents: {
    1: [LENGTH, VARINT],
    2: [LENGTH, VARINT],
    3: [LENGTH, VARINT],
    4: [LENGTH, VARINT],
    5: [LENGTH, VARINT],
    6: [LENGTH, FIXED32],
    7: [LENGTH, FIXED64],
    8: [LENGTH],
  },
} as const satisfies Record<string, Record<number, readonly number[]>>;

/** The next field of a `kind` message, refused when a known field has a wire type protobufjs would read otherwise. */
function knownField(reader: WireReader, kind: keyof typeof WIRE_TYPES): { id: number; type: number; start: number; end: number } {
  const f = reader.field();
  const types = (WIRE_TYPES[kind] as Record<number, readonly number[]>)[f.id];
  if (types !== undefined && !types.includes(f.type))
    throw new Error(`field ${f.id} of the ${kind === "request" ? "request" : kind} has wire type ${f.type}, not its own`);
  return f;
}

/** Counts so far, and the budgets they are held to. */
interface Tally {
  entries: number;
  elements: number;
}

/**
 * Checks a ModelInferRequest's wire bytes against `limits` before they are decoded.
 * @throws LimitError (413, RESOURCE_EXHAUSTED) past a budget; FormatError (400) for bytes that are no message.
 */
export function checkInferRequestWire(bytes: Uint8Array, limits: Pick<TableLimits, "maxCells">): void {
  const tally: Tally = { entries: 0, elements: 0 };
  try {
    const top = new WireReader(bytes, 0, bytes.byteLength);
    while (top.at < top.end) {
      const f = knownField(top, "request");
      if (f.id >= 4 && f.id <= 7 && f.type === LENGTH) countEntry(tally);
      if (f.id === 5 && f.type === LENGTH) checkTensor(new WireReader(bytes, f.start, f.end), tally, limits);
      if (f.id === 6 && f.type === LENGTH) checkOutput(new WireReader(bytes, f.start, f.end), tally);
    }
  } catch (error) {
    if (error instanceof LimitError) throw error;
    throw new FormatError(`The ModelInfer request is not a valid message: ${(error as Error).message}.`, { cause: error });
  }
}

function countEntry(tally: Tally): void {
  if (++tally.entries > MAX_INFER_ENTRIES)
    throw new LimitError(
      `The request holds more than ${formatCount(MAX_INFER_ENTRIES)} tensors, outputs, raw contents and parameters together; send fewer (one tensor per column).`,
    );
}

function countElements(tally: Tally, n: number, limits: Pick<TableLimits, "maxCells">): void {
  tally.elements += n;
  if (tally.elements > limits.maxCells)
    throw new LimitError(
      `The request's tensors hold more than ${formatCount(limits.maxCells)} values; the limit is ${formatCount(limits.maxCells)} cells per request (--max-cells).`,
    );
}

/** One InferInputTensor: its shape's rank, its parameters and its contents' elements. */
function checkTensor(tensor: WireReader, tally: Tally, limits: Pick<TableLimits, "maxCells">): void {
  let rank = 0;
  while (tensor.at < tensor.end) {
    const f = knownField(tensor, "tensor");
    if (f.id === 3) rank += f.type === LENGTH ? tensor.countVarints(f.start, f.end) : 1;
    else if (f.id === 4 && f.type === LENGTH) countEntry(tally);
    else if (f.id === 5 && f.type === LENGTH) checkContents(new WireReader(tensor.bytes, f.start, f.end), tally, limits);
    if (rank > MAX_SHAPE_RANK) throw new LimitError(`A tensor's shape has more than ${MAX_SHAPE_RANK} dimensions.`);
  }
}

/** One InferRequestedOutputTensor: its parameters (field 2). */
function checkOutput(output: WireReader, tally: Tally): void {
  while (output.at < output.end) {
    const f = knownField(output, "output");
    if (f.id === 2 && f.type === LENGTH) countEntry(tally);
  }
}

/** InferTensorContents: each element of every field counted. */
function checkContents(contents: WireReader, tally: Tally, limits: Pick<TableLimits, "maxCells">): void {
  while (contents.at < contents.end) {
    const f = knownField(contents, "contents");
    let n = 1;
    if (f.type === LENGTH && f.id >= 1 && f.id <= 5) n = contents.countVarints(f.start, f.end);
    else if (f.type === LENGTH && f.id === 6) n = Math.ceil((f.end - f.start) / 4);
    else if (f.type === LENGTH && f.id === 7) n = Math.ceil((f.end - f.start) / 8);
    countElements(tally, n, limits);
  }
}
