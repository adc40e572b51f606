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
  function typedEqualsPlain(a: unknown, b: unknown): boolean | undefined {
    const [typed, plain] = isNumericArray(a) && Array.isArray(b) ? [a, b] : isNumericArray(b) && Array.isArray(a) ? [b, a] : [undefined, undefined];
    if (typed === undefined || plain === undefined) return undefined;
    if (typed.length !== plain.length) return false;
    for (let i = 0; i < plain.length; i++) if (!Object.is(typed[i], plain[i])) return false;
    return true;
  },
]);
