import { randomUUID } from "node:crypto";
import { FormatError, NotUtf8Error } from "./errors.js";
import { holdsNaN, markNaN, parseJsonText, setOwn } from "./json-parse.js";
import { NO_LIMITS, type TableLimits, formatCount, nextTurn, tooManyCells, tooManyRows } from "./limits.js";

/**
 * How deep arrays and objects may nest in a JSON body (the body itself is level 1). Deeper values
 * would overflow the stack of the code that walks them (flattening, messages, JSON writing), and no
 * request form needs more than a handful of levels.
 */
export const MAX_JSON_DEPTH = 100;

/** Objects this deep or less (the body is level 1) have their keys noted: for messages, and to tell which arrays hold rows. */
const ROW_DEPTH = 4;

/**
 * Which arrays of a JSON body hold rows, so that their length is checked against `maxRows` while
 * the body is scanned: `mlflow`, the lists of MLflow's request forms (a body that is a list; the
 * lists under `dataframe_records`, `instances` and `inputs`, or under a column name of theirs; and
 * `dataframe_split`'s `data` and `index`); `none` for bodies whose lists hold no rows (Open
 * Inference tensors: rows × width values each, held to `maxCells`; rows come from `shape`). Any
 * other list (column names, a row's cells, params, a shape) is no row list, however long.
 */
export type JsonRowLists = "mlflow" | "none";

/** The keys under which MLflow's request forms hold rows (a list of rows, or an object of columns). */
const ROW_KEYS = new Set(["dataframe_records", "instances", "inputs"]);
/**
 * Values a JSON body may hold beyond `maxCells` cells and one list or object per row (`maxRows`):
 * column names, params and the form's own structure. NB: a bound on the work before the table is
 * built; the table itself is held to `maxCells` exactly.
 */
const STRUCTURE_VALUES = 1024;
/** JSON of at least this many bytes is scanned and parsed in slices, letting the event loop run in between. */
export const SLICED_JSON_MIN = 1 << 20;
/** Bytes scanned per event-loop turn (a few milliseconds). */
const SCAN_SLICE = 1 << 18;
/** About this many bytes of a big array's or object's members are parsed per event-loop turn. */
const PARSE_CHUNK = 1 << 18;

const QUOTE = 34;
const COMMA = 44;
const BACKSLASH = 92;
const OPEN_ARRAY = 91;
const CLOSE_ARRAY = 93;

/**
 * An array or object of at least PARSE_CHUNK characters: parsed chunk by chunk (its members split at
 * the commas in `bounds`), with its big members (`children`) parsed apart and put in their places.
 */
interface BigContainer {
  id: number;
  array: boolean;
  /** The positions of its opening and closing brackets. */
  start: number;
  end: number;
  bounds: number[];
  children: BigContainer[];
}

/**
 * One pass over JSON (UTF-8 bytes) that reads only its structure (strings, brackets, commas), never a value:
 * it refuses nesting deeper than `maxDepth`, an array that may hold rows with more than `maxRows`
 * elements and more than `maxCells` values in all (a 413 as soon as the count is passed, not after
 * the whole body is read), and, when `record` is set, notes the big containers so they can be parsed
 * in chunks. It does not validate: JSON.parse does that, and it can not get past a place where this
 * scan found the structure broken.
 */
class JsonScan {
  private readonly bytes: Uint8Array;
  private readonly limits: TableLimits;
  private readonly maxDepth: number;
  private readonly record: boolean;
  /** Where the next `run` starts, and how deep it is there. */
  private pos = 0;
  private depth = 0;
  /** Arrays and objects opened plus commas seen: the values in the text so far (each empty container counts one). */
  private values = 0;
  /** The values the text may hold: `maxCells` plus a list or object per row, plus STRUCTURE_VALUES. */
  private readonly maxValues: number;
  private ids = 0;
  /** Why the structure is broken (and the scan stopped), if it is. */
  broken: string | undefined;
  /** The outermost container, if it is big. */
  root: BigContainer | undefined;
  // One entry per level of nesting (1 is the outermost): where it opened, whether it is an array,
  // its commas, where its current chunk starts, its chunk bounds and its big members so far.
  // NB: typed arrays, one slot per level, for the numbers and flags read at every comma: as plain
  // arrays (holey, of booleans) V8's optimized code took ~75 ns a comma, and the scan of a
  // 10,000-row body (420 KB) 5.5 ms against 1.7 ms now (the parse after it takes 2 ms).
  private readonly open: Float64Array;
  private readonly isArray: Uint8Array;
  private readonly commas: Float64Array;
  private readonly chunkStart: Float64Array;
  private readonly bounds: (number[] | undefined)[] = [];
  private readonly kids: (BigContainer[] | undefined)[] = [];
  // For the shallow objects: whether the next string is a key, and where their last key is (for messages).
  private readonly expectKey: Uint8Array;
  private readonly keyAt: Float64Array;
  private readonly keyEnd: Float64Array;
  /** Whether the array at each level holds rows (see JsonRowLists). */
  private readonly rowList: Uint8Array;
  private readonly rowLists: JsonRowLists;

  constructor(bytes: Uint8Array, limits: TableLimits, maxDepth: number, record: boolean, rowLists: JsonRowLists = "mlflow") {
    if (!Number.isInteger(maxDepth) || maxDepth < 1 || maxDepth > 1_000_000)
      throw new RangeError(`maxDepth must be a whole number from 1 to 1000000, got ${maxDepth}`);
    this.bytes = bytes;
    this.limits = limits;
    this.maxDepth = maxDepth;
    this.record = record;
    this.rowLists = rowLists;
    this.maxValues = limits.maxCells + limits.maxRows + STRUCTURE_VALUES;
    // NB: levels 1 to maxDepth; openAt refuses a deeper one before it writes its slot.
    const levels = maxDepth + 1;
    this.open = new Float64Array(levels);
    this.isArray = new Uint8Array(levels);
    this.commas = new Float64Array(levels);
    this.chunkStart = new Float64Array(levels);
    this.expectKey = new Uint8Array(levels);
    this.keyAt = new Float64Array(Math.min(levels, ROW_DEPTH + 1));
    this.keyEnd = new Float64Array(Math.min(levels, ROW_DEPTH + 1));
    this.rowList = new Uint8Array(levels);
  }

  get done(): boolean {
    return this.pos >= this.bytes.length || this.broken !== undefined;
  }

  /**
   * Scans on to `until` (a string that starts before it is read to its end).
   * NB: one loop over locals and typed arrays, the rare work (errors, big containers, row lists) in
   * methods of their own. With a method call per string and comma and `this` read at every byte,
   * V8's code for it came out either fast or 3.5× slower from one process to the next (a scan of a
   * 10,000-row body, 420 KB: 1.4 or 5 ms; the parse after it takes 2 ms). So did a template
   * literal of the position in the loop, never run: the messages are made by `brokenAt`. Now 0.8 ms.
   */
  run(until: number): void {
    const bytes = this.bytes;
    const n = bytes.length;
    const { isArray, commas, rowList, expectKey, open, chunkStart, maxDepth, maxValues, record } = this;
    const maxRows = this.limits.maxRows;
    let depth = this.depth;
    let values = this.values;
    let i = this.pos;
    try {
      for (; i < until; i++) {
        const c = bytes[i] as number;
        if (c === QUOTE) {
          let q = i + 1;
          for (; q < n; q++) {
            const d = bytes[q];
            if (d === QUOTE) break;
            if (d === BACKSLASH) q++;
          }
          if (q >= n) {
            this.broken = brokenAt("Unterminated string", i);
            i = n;
            break;
          }
          if (depth <= ROW_DEPTH && expectKey[depth] === 1) this.keyRead(depth, i, q);
          i = q;
        } else if (c === COMMA) {
          if (depth === 0) {
            this.broken = brokenAt("Unexpected ','", i);
            break;
          }
          if (++values > maxValues) this.tooManyValues();
          const count = ++(commas[depth] as number);
          if (isArray[depth] === 1) {
            if (rowList[depth] === 1 && count >= maxRows) this.tooManyRows(depth);
          } else if (depth <= ROW_DEPTH) expectKey[depth] = 1;
          if (record && i - (chunkStart[depth] as number) >= PARSE_CHUNK) this.chunkBound(depth, i);
        } else {
          // NB: [ and { (0x5B, 0x7B), ] and } (0x5D, 0x7D) differ in bit 5 only: one test finds both.
          const folded = c & 0xdf;
          if (folded === OPEN_ARRAY) {
            if (++depth > maxDepth) this.tooDeep(i);
            if (++values > maxValues) this.tooManyValues();
            const array = c === OPEN_ARRAY;
            open[depth] = i;
            isArray[depth] = array ? 1 : 0;
            commas[depth] = 0;
            chunkStart[depth] = i + 1;
            if (record) {
              this.bounds[depth] = undefined;
              this.kids[depth] = undefined;
            }
            expectKey[depth] = array ? 0 : 1;
            rowList[depth] = array && this.holdsRows(depth) ? 1 : 0;
          } else if (folded === CLOSE_ARRAY) {
            const array = c === CLOSE_ARRAY;
            if (depth === 0 || (isArray[depth] === 1) !== array) {
              this.broken = brokenAt(array ? "Unexpected ']'" : "Unexpected '}'", i);
              break;
            }
            if (record) this.closeRecorded(depth, i, array);
            depth--;
          }
        }
      }
    } finally {
      this.pos = i;
      this.depth = depth;
      this.values = values;
    }
  }

  /** @throws SyntaxError when the text ends inside a string, array or object, or its structure is broken. */
  finish(): void {
    if (this.broken !== undefined) throw new SyntaxError(this.broken);
    if (this.depth !== 0) throw new SyntaxError("Unexpected end of JSON input");
  }

  /** Notes the key read at `depth` (the string from `at` to its closing quote at `end`), for messages and row lists. */
  private keyRead(depth: number, at: number, end: number): void {
    this.expectKey[depth] = 0;
    this.keyAt[depth] = at;
    this.keyEnd[depth] = end;
  }

  private tooDeep(i: number): never {
    throw new FormatError(
      `The JSON nests arrays and objects more than ${this.maxDepth} levels deep (at byte ${i}); pipeserve reads at most ${this.maxDepth} levels. Send flatter values.`,
    );
  }

  private tooManyValues(): never {
    throw tooManyCells(`more than ${formatCount(this.limits.maxCells)}`, this.limits, `its JSON body holds more than ${formatCount(this.maxValues)} values`);
  }

  private tooManyRows(depth: number): never {
    throw tooManyRows(`more than ${formatCount(this.limits.maxRows)}`, this.limits, `${this.path(depth)} holds more than that many values`);
  }

  /** A big container's chunk ends at the comma at `i` (`record` only). */
  private chunkBound(depth: number, i: number): void {
    let bounds = this.bounds[depth];
    if (!bounds) this.bounds[depth] = bounds = [];
    bounds.push(i);
    this.chunkStart[depth] = i + 1;
  }

  /**
   * Whether an array opened at `depth` is one of the row lists of MLflow's request forms: the body
   * itself; `{K: [...]}` or `{K: {column: [...]}}` for K in ROW_KEYS; `dataframe_split`'s `data`
   * and `index`. NB: every level above it must be an object, so a row's cells (in an array) never are.
   */
  private holdsRows(depth: number): boolean {
    if (this.rowLists === "none") return false;
    if (depth === 1) return true;
    if (depth > 3) return false;
    for (let level = 1; level < depth; level++) if (this.isArray[level] === 1) return false;
    const top = this.keyOf(1);
    if (depth === 2) return ROW_KEYS.has(top);
    if (ROW_KEYS.has(top)) return true;
    if (top !== "dataframe_split") return false;
    const key = this.keyOf(2);
    return key === "data" || key === "index";
  }

  /** The last key read in the object at `level` (decoded as JSON.parse would, or its raw text). */
  private keyOf(level: number): string {
    const raw = lenient.decode(this.bytes.subarray(this.keyAt[level], (this.keyEnd[level] as number) + 1));
    try {
      return JSON.parse(raw) as string;
    } catch {
      return raw;
    }
  }

  /** The container at `depth` closes at `i` (`record` only): a big one is noted, to be parsed in chunks. */
  private closeRecorded(depth: number, i: number, array: boolean): void {
    const start = this.open[depth] as number;
    if (i - start >= PARSE_CHUNK) {
      const big: BigContainer = { id: this.ids++, array, start, end: i, bounds: this.bounds[depth] ?? [], children: this.kids[depth] ?? [] };
      if (depth === 1) this.root = big;
      else {
        let kids = this.kids[depth - 1];
        if (!kids) this.kids[depth - 1] = kids = [];
        kids.push(big);
      }
    }
    this.bounds[depth] = undefined;
    this.kids[depth] = undefined;
  }

  /** Where the container at `depth` is, for messages: `inputs.island`, `inputs[0].data`. */
  private path(depth: number): string {
    let path = "";
    for (let level = 1; level < depth; level++) {
      if (this.isArray[level] === 1) path += `[${this.commas[level]}]`;
      else {
        const key = this.keyOf(level);
        path += path === "" ? key : `.${key}`;
      }
    }
    return path === "" ? "the body's list" : path;
  }
}

/** A broken structure's message, as JSON.parse words it. NB: made here, not in `JsonScan.run`'s loop (see there). */
function brokenAt(what: string, position: number): string {
  return `${what} in JSON at position ${position}`;
}

const utf8 = new TextDecoder("utf-8", { fatal: true });
const lenient = new TextDecoder("utf-8");

/** UTF-8 bytes as text (a byte-order mark dropped). @throws NotUtf8Error (400) for bytes that are not UTF-8. */
export function utf8Text(bytes: Uint8Array): string {
  try {
    return utf8.decode(bytes);
  } catch (cause) {
    throw new NotUtf8Error("The request body is not valid UTF-8.", { cause });
  }
}

function scanWhole(bytes: Uint8Array, limits: TableLimits, maxDepth: number, rowLists: JsonRowLists): void {
  new JsonScan(bytes, limits, maxDepth, false, rowLists).run(bytes.length);
}

/**
 * Whether JSON of `length` bytes (or UTF-16 units: every structural character is one of each) is
 * too short to break a bound. NB: on the request path of every small body and every JSON Lines
 * row. Each level of nesting takes two (`[]`) and each value at least one plus a comma, so such
 * text nests at most length/2 deep and holds at most (length+1)/2 rows or values. Malformed text
 * so short (`[,,,]`, brackets never closed) is then refused by the parser, as a syntax error,
 * where the scan would have named a bound: a 400 either way.
 */
function withinBounds(length: number, limits: TableLimits, maxDepth: number): boolean {
  return (length + 1) / 2 <= Math.min(maxDepth, limits.maxRows, limits.maxCells);
}

/**
 * Parses JSON in one go, after a scan of its structure that refuses a body nested deeper than
 * `maxDepth` or holding more rows or values than `limits` allow. For JSON short enough to parse at
 * once (text, or UTF-8 bytes); `parseJsonInSlices` takes any. The bare tokens `NaN`, `Infinity`
 * and `-Infinity` are numbers, as Python's `json` reads them (`parseJsonText`).
 * @throws SyntaxError for text that is not JSON (callers word it for their protocol);
 * FormatError (400) for nesting too deep or bytes that are not UTF-8; LimitError (413) for too many rows or values.
 */
export function parseJsonWithin(
  json: string | Uint8Array,
  limits: TableLimits = NO_LIMITS,
  maxDepth = MAX_JSON_DEPTH,
  rowLists: JsonRowLists = "mlflow",
): unknown {
  const short = withinBounds(json.length, limits, maxDepth);
  if (typeof json === "string") {
    if (!short) scanWhole(Buffer.from(json, "utf8"), limits, maxDepth, rowLists);
    return parseJsonText(json);
  }
  if (!short) scanWhole(json, limits, maxDepth, rowLists);
  return parseJsonText(utf8Text(json));
}

/**
 * Parses JSON (UTF-8 bytes) as `parseJsonWithin` does (`JSON.parse`'s value, key order, duplicate
 * keys and `__proto__` keys included; the bare tokens `NaN`, `Infinity` and `-Infinity` as
 * numbers, a body holding `NaN` marked for `holdsNaN`), with `parseJsonWithin`'s bounds, without holding the event loop for
 * long: SLICED_JSON_MIN bytes or more are scanned a slice per turn, refused as soon as a bound is
 * passed, then decoded and parsed chunk by chunk (the members of its big arrays and objects, a
 * quarter megabyte at a time), so other requests are answered in between. The whole text is never
 * built: no copy of the body as one string, no single long decode.
 * @throws as `parseJsonWithin` (a SyntaxError's wording may differ from JSON.parse's).
 */
export async function parseJsonInSlices(
  bytes: Uint8Array,
  limits: TableLimits = NO_LIMITS,
  maxDepth = MAX_JSON_DEPTH,
  rowLists: JsonRowLists = "mlflow",
): Promise<unknown> {
  if (bytes.length < SLICED_JSON_MIN) return parseJsonWithin(bytes, limits, maxDepth, rowLists);
  const scan = new JsonScan(bytes, limits, maxDepth, true, rowLists);
  for (let until = SCAN_SLICE; !scan.done; until += SCAN_SLICE) {
    scan.run(Math.min(until, bytes.length));
    await nextTurn();
  }
  scan.finish();
  const root = scan.root;
  if (!root) return parseJsonText(utf8Text(bytes));
  // Whatever is around the outermost container must be whitespace: JSON.parse says so, or why not.
  JSON.parse(`${utf8Text(bytes.subarray(0, root.start))}0${utf8Text(bytes.subarray(root.end + 1))}`);
  const parse = new ChunkedParse(bytes);
  const value = await parse.container(root);
  if (parse.sawNaN) markNaN(value);
  return value;
}

/** Parses the big containers a scan found, chunk by chunk, a turn of the event loop each. */
class ChunkedParse {
  readonly #bytes: Uint8Array;
  /** What stands in for a big member while its container's chunk is parsed: no client can guess it. */
  readonly #placeholder = `pipeserve-chunk-${randomUUID()}:`;
  /** Whether a chunk held a bare `NaN` token. */
  sawNaN = false;

  constructor(bytes: Uint8Array) {
    this.#bytes = bytes;
  }

  /** The text of bytes `from` to `to`. NB: chunks are cut at ASCII characters, never inside a UTF-8 sequence. */
  #text(from: number, to: number): string {
    return utf8Text(this.#bytes.subarray(from, to));
  }

  async container(node: BigContainer): Promise<unknown> {
    const chunks: unknown[][] = [];
    const result: Record<string, unknown> = {};
    const children = new Map(node.children.map((c) => [c.id, c]));
    let from = node.start + 1;
    let next = 0;
    for (const end of [...node.bounds, node.end]) {
      let piece = node.array ? "[" : "{";
      let cursor = from;
      let replaced = false;
      for (; next < node.children.length && (node.children[next] as BigContainer).start < end; next++) {
        const child = node.children[next] as BigContainer;
        piece += `${this.#text(cursor, child.start)}"${this.#placeholder}${child.id}"`;
        cursor = child.end + 1;
        replaced = true;
      }
      piece += this.#text(cursor, end) + (node.array ? "]" : "}");
      const parsed = parseJsonText(piece) as unknown[] | Record<string, unknown>;
      if (holdsNaN(parsed)) this.sawNaN = true;
      await nextTurn();
      if (replaced) await this.#putChildren(parsed, children);
      if (node.array) chunks.push(parsed as unknown[]);
      else mergeInto(result, parsed as Record<string, unknown>);
      from = end + 1;
    }
    return node.array ? joinChunks(chunks) : result;
  }

  /** Parses the big members whose placeholders are still in `parsed` (a later duplicate key drops one) and puts them in their places. */
  async #putChildren(parsed: unknown[] | Record<string, unknown>, children: ReadonlyMap<number, BigContainer>): Promise<void> {
    const slots = parsed as Record<string, unknown>;
    for (const key in slots) {
      const value = slots[key];
      if (typeof value !== "string" || !value.startsWith(this.#placeholder)) continue;
      const child = children.get(Number(value.slice(this.#placeholder.length)));
      if (child) setOwn(slots, key, await this.container(child));
    }
  }
}

/** Elements copied per event-loop turn by `joinChunks`. */
const JOIN_SLICE = 1 << 17;

/**
 * One array of the chunks' elements, in order, a slice per event-loop turn. NB: allocated whole
 * and filled by index: pushing a million elements copies the array each time it outgrows its store.
 */
async function joinChunks(chunks: readonly unknown[][]): Promise<unknown[]> {
  if (chunks.length === 1) return chunks[0] as unknown[];
  const out = new Array<unknown>(chunks.reduce((n, chunk) => n + chunk.length, 0));
  let at = 0;
  let sinceTurn = 0;
  for (const chunk of chunks) {
    for (let i = 0; i < chunk.length; i++) out[at + i] = chunk[i];
    at += chunk.length;
    sinceTurn += chunk.length;
    if (sinceTurn >= JOIN_SLICE) {
      sinceTurn = 0;
      await nextTurn();
    }
  }
  return out;
}

/** Adds one chunk's members to an object: later keys win, as in JSON.parse. */
function mergeInto(target: Record<string, unknown>, chunk: Record<string, unknown>): void {
  for (const key in chunk) setOwn(target, key, chunk[key]);
}
