/** What column and param enforcement share: the missing-value test and the limits of the number types. */

export const INT32_MIN = -2147483648;
export const INT32_MAX = 2147483647;
export const FLOAT32_MAX = 3.4028234663852886e38;
export const INT64_MIN = -(2n ** 63n);
export const INT64_MAX = 2n ** 63n - 1n;
export const SAFE_MIN = BigInt(Number.MIN_SAFE_INTEGER);
export const SAFE_MAX = BigInt(Number.MAX_SAFE_INTEGER);
/** Every integer of magnitude up to 2^53 is exact in a double. */
export const EXACT_IN_DOUBLE = 2n ** 53n;

/** `NaN` as CSV text, in any case and with a sign (as pandas' `read_csv` reads it): a missing value. */
const NAN_TEXT = /^[+-]?nan$/i;

/**
 * A missing value: `null` or `undefined` (JSON null, a key left out, a hole). With `fromText` (the
 * cell of a CSV body) blank text and `NaN` are missing too, as the bare `NaN` token is in JSON; a
 * `string` or `binary` column passes `false`, as any text is a value there.
 */
export function isMissing(value: unknown, fromText = false): boolean {
  if (value === null || value === undefined) return true;
  if (!fromText || typeof value !== "string") return false;
  const text = value.trim();
  return text === "" || NAN_TEXT.test(text);
}
