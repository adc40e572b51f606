/**
 * Text forms of the two cell types JSON cannot carry natively: date-times (ISO-8601) and bytes
 * (base64). Shared by signature enforcement, params and the MLmodel writer so that every path
 * reads and writes them the same way.
 */

const ISO_DATETIME = /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?(Z|z|[+-]\d{2}(?::?\d{2})?)?$/;

const DAYS_IN_MONTH = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31] as const;

function isLeapYear(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

/**
 * Parses an ISO-8601 date or date-time (`2021-01-01`, `2021-01-01T10:20:30.123`,
 * `2021-01-01 10:20:30+02:00`, `...Z`) into a `Date`, or returns `null` when the text is not one.
 *
 * NB: text without a zone is read as **UTC** (pandas keeps such values naive; `new Date()` would
 * read `2021-01-01T00:00` as local time and `2021-01-01` as UTC, so the server's time zone would
 * change the data). Fractions beyond milliseconds are truncated: a `Date` holds milliseconds.
 */
export function parseIsoDateTime(text: string): Date | null {
  const m = ISO_DATETIME.exec(text);
  if (!m) return null;
  const year = Number(m[1]);
  const month = Number(m[2]);
  const day = Number(m[3]);
  const hour = m[4] === undefined ? 0 : Number(m[4]);
  const minute = m[5] === undefined ? 0 : Number(m[5]);
  const second = m[6] === undefined ? 0 : Number(m[6]);
  const ms = m[7] === undefined ? 0 : Number(m[7].slice(0, 3).padEnd(3, "0"));
  if (month < 1 || month > 12) return null;
  const maxDay = month === 2 && !isLeapYear(year) ? 28 : (DAYS_IN_MONTH[month - 1] as number);
  if (day < 1 || day > maxDay || hour > 23 || minute > 59 || second > 59) return null;
  let offsetMinutes = 0;
  const zone = m[8];
  if (zone !== undefined && zone !== "Z" && zone !== "z") {
    const digits = zone.slice(1).replace(":", "");
    const hours = Number(digits.slice(0, 2));
    const minutes = digits.length > 2 ? Number(digits.slice(2, 4)) : 0;
    if (hours > 23 || minutes > 59) return null;
    offsetMinutes = (zone[0] === "-" ? -1 : 1) * (hours * 60 + minutes);
  }
  const date = new Date(0);
  // setUTCFullYear, not Date.UTC: Date.UTC maps years 0-99 to 1900-1999.
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hour, minute - offsetMinutes, second, ms);
  return date;
}

/**
 * True when ISO text has a fraction of a second finer than milliseconds that is not zero
 * (`…:00.123456`): a `Date` cannot hold it, so reading it would lose data.
 */
export function hasSubMillisecondFraction(text: string): boolean {
  const fraction = ISO_DATETIME.exec(text)?.[7];
  return fraction !== undefined && /[1-9]/.test(fraction.slice(3));
}

function pad(value: number, width: number): string {
  return String(value).padStart(width, "0");
}

/**
 * Formats a `Date` the way Python's `datetime.isoformat()` writes a naive UTC date-time, as MLflow
 * writes datetime param defaults in `MLmodel`: `2023-06-26T00:00:00`, with `.ffffff` only when
 * there are sub-second digits, and no zone.
 */
export function formatIsoDateTimePython(date: Date): string {
  const base =
    `${pad(date.getUTCFullYear(), 4)}-${pad(date.getUTCMonth() + 1, 2)}-${pad(date.getUTCDate(), 2)}` +
    `T${pad(date.getUTCHours(), 2)}:${pad(date.getUTCMinutes(), 2)}:${pad(date.getUTCSeconds(), 2)}`;
  const ms = date.getUTCMilliseconds();
  return ms === 0 ? base : `${base}.${pad(ms * 1000, 6)}`;
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}(?:==)?|[A-Za-z0-9+/]{3}=?)?$/;
const LINE_BREAKS = /[\r\n]/g;

/**
 * Decodes standard base64 text into bytes, or returns `null` when the text is not base64.
 * Line breaks are ignored (Python's `base64.encodebytes`, which MLflow uses, adds them) and
 * padding may be left out.
 */
export function decodeBase64(text: string): Uint8Array | null {
  const compact = text.includes("\n") || text.includes("\r") ? text.replace(LINE_BREAKS, "") : text;
  if (!BASE64.test(compact)) return null;
  const buffer = Buffer.from(compact, "base64");
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}
