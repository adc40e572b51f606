import { expect } from "vitest";

/**
 * Runs `fn`, expects it to throw an instance of `errorClass` whose message matches `message` (a
 * regular expression, or a string that must appear verbatim), and returns the error for further checks.
 */
export function expectError<E extends Error>(fn: () => unknown, errorClass: abstract new (...args: never[]) => E, message: RegExp | string): E {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  expect(caught, "expected a throw").toBeInstanceOf(errorClass);
  const error = caught as E;
  if (typeof message === "string") expect(error.message).toContain(message);
  else expect(error.message).toMatch(message);
  return error;
}
