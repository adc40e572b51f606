/**
 * Numeric columns travel as typed arrays (Float64Array, Int32Array, …) wherever they have no
 * missing value, so a table read back or a model's output may hold one where a test writes the
 * expected values as a plain array. For `toEqual`, a typed array of numbers equals a plain array
 * of the same numbers (compared with Object.is: NaN equals NaN, 0 is not -0), element for element.
 * Whether a column is typed is asserted where it matters, with `toBeInstanceOf`.
 */
import { expect } from "vitest";

function isNumericArray(value: unknown): value is ArrayLike<number> {
  return ArrayBuffer.isView(value) && !(value instanceof DataView) && !(value instanceof BigInt64Array) && !(value instanceof BigUint64Array);
}

expect.addEqualityTesters([
  // NB: two typed arrays of one type are compared here too, as vitest would (element for element,
  // Object.is), in one loop: vitest's own path calls every tester again for each element, which
  // took seconds for a few 200,000-row columns.
  function sameTypedArrays(a: unknown, b: unknown): boolean | undefined {
    if (!isNumericArray(a) || !isNumericArray(b) || a.constructor !== b.constructor) return undefined;
    if (a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return false;
    return true;
  },
  function typedEqualsPlain(a: unknown, b: unknown): boolean | undefined {
    const [typed, plain] = isNumericArray(a) && Array.isArray(b) ? [a, b] : isNumericArray(b) && Array.isArray(a) ? [b, a] : [undefined, undefined];
    if (typed === undefined || plain === undefined) return undefined;
    if (typed.length !== plain.length) return false;
    for (let i = 0; i < plain.length; i++) if (!Object.is(typed[i], plain[i])) return false;
    return true;
  },
]);
