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
 * The other cells pandas' `read_csv` reads as missing by default (its `na_values`), as MLflow's
 * server reads a CSV body: `NA` (R's `write.csv`), `NULL`, `None`, `N/A`, `#N/A` (Excel)…
 */
const NA_TEXT = new Set(["NA", "N/A", "n/a", "NULL", "null", "None", "<NA>", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "1.#IND", "-1.#QNAN", "1.#QNAN"]);

/**
 * A missing value: `null` or `undefined` (JSON null, a key left out, a hole). With `fromText` (the
 * cell of a CSV body) blank text, `NaN` and pandas' other missing-value spellings (`NA`, `NULL`,
 * `None`, `N/A`…) are missing too, as the bare `NaN` token is in JSON; a `string` or `binary`
 * column passes `false`, as any text is a value there (`NA` may be North America).
 */
export function isMissing(value: unknown, fromText = false): boolean {
  if (value === null || value === undefined) return true;
  if (!fromText || typeof value !== "string") return false;
  // NB: no missing-value spelling ends with a digit, and neither does blank text: most number cells
  // are answered here, without a trim, a regular expression and a set lookup (~40 ns a cell).
  const last = value.charCodeAt(value.length - 1);
  if (last >= 48 && last <= 57) return false;
  const text = value.trim();
  return text === "" || NAN_TEXT.test(text) || NA_TEXT.has(text);
}
