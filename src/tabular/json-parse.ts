/**
 * JSON as Python's `json.loads` reads it: JSON plus the bare tokens `NaN`, `Infinity` and
 * `-Infinity` wherever a number may stand. MLflow's own client writes every missing float as `NaN`
 * (`json.dumps` of a DataFrame or numpy value), and MLflow's server accepts the three tokens, so
 * pipeserve must too. Exactly those spellings: `nan`, `NaNx`, `-NaN`, `+Infinity` stay syntax
 * errors, as in Python, and the tokens inside strings stay strings.
 *
 * NB: on the request hot path. Ordinary JSON is read by the native `JSON.parse` alone; only text
 * that `JSON.parse` refuses and that holds one of the tokens is read again, by a small parser that
 * builds exactly what `JSON.parse` builds (key order, later duplicate keys win, `__proto__` as an
 * own key) and reads without recursion, so no depth can overflow its stack.
 */
import type { Cell, Column, ColumnTable } from "./column-table.js";

/** The bodies (arrays and objects) read with a `NaN` token somewhere in them: `holdsNaN` answers from it. */
const withNaN = new WeakSet<object>();

/** Whether this value (a whole parsed body) held a bare `NaN` token. */
export function holdsNaN(value: unknown): boolean {
  return typeof value === "object" && value !== null && withNaN.has(value);
}

/** Marks a value built from pieces (a body parsed in chunks) as holding a `NaN` token. */
export function markNaN(value: unknown): void {
  if (typeof value === "object" && value !== null) withNaN.add(value);
}

/**
 * Parses JSON text, also taking the bare tokens `NaN`, `Infinity` and `-Infinity` as numbers.
 * A body that held `NaN` is marked (`holdsNaN`), so a table built from it can read NaN as a
 * missing value while params keep it as a number.
 * @throws SyntaxError for text that is not JSON (with those three tokens), as `JSON.parse` does.
 */
export function parseJsonText(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    // NB: a cheap test first: a body without the tokens keeps JSON.parse's own error, unread again.
    if (!(error instanceof SyntaxError) || !(text.includes("NaN") || text.includes("Infinity"))) throw error;
  }
  const parser = new TokenParser(text);
  const value = parser.parse();
  if (parser.sawNaN) markNaN(value);
  return value;
}

/**
 * A table with every NaN cell made `null`: what a `NaN` token in a request means in a column (a
 * missing value, as pandas reads it). Columns without NaN are kept as they are (not copied).
 */
export function nanAsMissing(table: ColumnTable): ColumnTable {
  let columns: Column[] | undefined;
  table.columns.forEach((column, c) => {
    const at = column.findIndex((v: Cell) => typeof v === "number" && Number.isNaN(v));
    if (at === -1) return;
    const copy: Cell[] = Array.from(column);
    for (let r = at; r < copy.length; r++) if (typeof copy[r] === "number" && Number.isNaN(copy[r])) copy[r] = null;
    (columns ??= table.columns.slice())[c] = copy;
  });
  return columns ? { ...table, columns } : table;
}

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;

/** An array or object being read, and for an object the key its next value goes under. */
interface Open {
  value: unknown[] | Record<string, unknown>;
  array: boolean;
  key: string;
}

/** Reads one JSON text with the three extra tokens, without recursion. */
class TokenParser {
  readonly #text: string;
  #at = 0;
  sawNaN = false;

  constructor(text: string) {
    this.#text = text;
  }

  parse(): unknown {
    const stack: Open[] = [];
    for (;;) {
      let value = this.#open(stack);
      if (value === OPENED) continue;
      // A value is complete: put it in its container, and close every container that ends here.
      for (;;) {
        const top = stack[stack.length - 1];
        if (!top) {
          this.#skipSpace();
          if (this.#at < this.#text.length) throw this.#unexpected();
          return value;
        }
        if (top.array) (top.value as unknown[]).push(value);
        else setOwn(top.value as Record<string, unknown>, top.key, value);
        this.#skipSpace();
        const c = this.#text.charCodeAt(this.#at);
        if (c === COMMA) {
          this.#at++;
          if (!top.array) top.key = this.#key();
          break;
        }
        if (c !== (top.array ? CLOSE_ARRAY : CLOSE_OBJECT)) throw this.#unexpected();
        this.#at++;
        stack.pop();
        value = top.value;
      }
    }
  }

  /** Reads the value that starts here: a scalar, an empty container, or the opening of one (pushed on `stack`). */
  #open(stack: Open[]): unknown {
    this.#skipSpace();
    const c = this.#text.charCodeAt(this.#at);
    if (c === OPEN_ARRAY || c === OPEN_OBJECT) {
      const array = c === OPEN_ARRAY;
      this.#at++;
      this.#skipSpace();
      if (this.#text.charCodeAt(this.#at) === (array ? CLOSE_ARRAY : CLOSE_OBJECT)) {
        this.#at++;
        return array ? [] : {};
      }
      stack.push({ value: array ? [] : {}, array, key: array ? "" : this.#key() });
      return OPENED;
    }
    return this.#scalar(c);
  }

  #scalar(c: number): unknown {
    if (c === QUOTE) return this.#string();
    const word = WORDS[c];
    if (word !== undefined && this.#text.startsWith(word[0], this.#at)) {
      this.#at += word[0].length;
      if (word[0] === "NaN") this.sawNaN = true;
      return word[1];
    }
    NUMBER.lastIndex = this.#at;
    const match = NUMBER.exec(this.#text);
    if (!match) throw this.#unexpected();
    this.#at += match[0].length;
    return Number(match[0]);
  }

  /** An object key and its colon. */
  #key(): string {
    this.#skipSpace();
    if (this.#text.charCodeAt(this.#at) !== QUOTE) throw this.#unexpected();
    const key = this.#string();
    this.#skipSpace();
    if (this.#text.charCodeAt(this.#at) !== COLON) throw this.#unexpected();
    this.#at++;
    return key;
  }

  /** The string that opens here; escapes are decoded (and checked) by JSON.parse. */
  #string(): string {
    const text = this.#text;
    const start = this.#at;
    let escaped = false;
    let i = start + 1;
    for (; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c === QUOTE) break;
      if (c < 0x20) throw this.#unexpected(i);
      if (c === BACKSLASH) {
        escaped = true;
        i++;
      }
    }
    if (i >= text.length) throw new SyntaxError(`Unterminated string in JSON at position ${start}`);
    this.#at = i + 1;
    if (!escaped) return text.slice(start + 1, i);
    try {
      return JSON.parse(text.slice(start, i + 1)) as string;
    } catch {
      throw new SyntaxError(`Bad escaped character in JSON at position ${start}`);
    }
  }

  #skipSpace(): void {
    const text = this.#text;
    let i = this.#at;
    for (; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) break;
    }
    this.#at = i;
  }

  #unexpected(at = this.#at): SyntaxError {
    if (at >= this.#text.length) return new SyntaxError("Unexpected end of JSON input");
    return new SyntaxError(`Unexpected token '${this.#text[at]}' in JSON at position ${at}`);
  }
}

/** Stands for "a container was opened" where a value is expected. */
const OPENED = Symbol("opened");

/** The words a value may be, by their first character (`-` is a number unless `-Infinity` follows). */
const WORDS: Readonly<Record<number, readonly [string, unknown]>> = {
  0x74: ["true", true],
  0x66: ["false", false],
  0x6e: ["null", null],
  0x4e: ["NaN", Number.NaN],
  0x49: ["Infinity", Number.POSITIVE_INFINITY],
  0x2d: ["-Infinity", Number.NEGATIVE_INFINITY],
};

const QUOTE = 0x22;
const COMMA = 0x2c;
const COLON = 0x3a;
const BACKSLASH = 0x5c;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;

/** Sets an own property as JSON.parse makes it: `__proto__` too, as data, not the prototype. */
export function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  if (key === "__proto__") Object.defineProperty(target, key, { value, writable: true, enumerable: true, configurable: true });
  else target[key] = value;
}
