import { formatIsoDateTimePython } from "./cell-codecs.js";
import { setOwn } from "./json-parse.js";

/**
 * Makes a value JSON-safe the way pipeserve writes every response: NaN and ±Infinity become
 * `null` (MLflow writes the invalid tokens `NaN`/`Infinity`), dates as MLflow writes them (Python's
 * naive `isoformat()` in UTC: `2021-01-01T00:00:00`, microseconds only when there are some), bytes
 * base64 (without MLflow's trailing newline), big integers numbers when safe and strings otherwise.
 */
export function toJsonValue(value: unknown, ancestors: object[] = []): unknown {
  switch (typeof value) {
    case "number":
      return Number.isFinite(value) ? value : null;
    case "bigint":
      return value <= BigInt(Number.MAX_SAFE_INTEGER) && value >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(value) : value.toString();
    case "undefined":
      return null;
    case "object": {
      if (value === null) return null;
      if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : formatIsoDateTimePython(value);
      if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString("base64");
      if (ArrayBuffer.isView(value)) return Array.from(value as unknown as ArrayLike<unknown>, (v) => toJsonValue(v));
      if (ancestors.includes(value)) throw new TypeError("Cannot write a circular structure as JSON.");
      ancestors.push(value);
      let out: unknown;
      if (Array.isArray(value)) out = value.map((v) => toJsonValue(v, ancestors));
      else {
        const obj: Record<string, unknown> = {};
        // NB: setOwn, so a `__proto__` key (a column may be named so) stays a key instead of setting the prototype.
        for (const key of Object.keys(value)) setOwn(obj, key, toJsonValue((value as Record<string, unknown>)[key], ancestors));
        out = obj;
      }
      ancestors.pop();
      return out;
    }
    default:
      return value;
  }
}
