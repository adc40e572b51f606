/**
 * True for a mapping: a non-null object that is not an array, as JSON and YAML parse `{...}`.
 *
 * NB: class instances, `Date`s and typed arrays pass too; callers that must tell them from row
 * objects check for them as well.
 */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
