/**
 * Fuzzing `/invocations` with JSON (issue 14): every request form with wrong types and shapes,
 * params right and wrong, then the same bodies damaged as text — truncated, spliced, bytes that
 * are not UTF-8, bare NaN/Infinity tokens, duplicate keys, deep nesting, numbers of thousands of
 * digits, big bodies that take the sliced parser. Each answer is a 200 or a 4xx with a JSON error,
 * and the server answers /ping afterwards.
 */
import fc from "fast-check";
import { describe, it } from "vitest";
import { TARGET_NAMES, attack, useFuzzServers, type TargetName } from "./http-harness.js";
import { bytesOf, deepNesting, invocationsBody, jsonText, longNumber, mutate, mutations } from "./json-arbitraries.js";
import { fuzzParameters } from "./settings.js";

useFuzzServers();

const target = fc.constantFrom<TargetName>(...TARGET_NAMES);
const accept = fc.constantFrom(undefined, "application/json", "text/csv", "application/vnd.apache.arrow.stream", "*/*", "text/csv, application/json;q=0.5");

function headers(contentType: string, acceptValue: string | undefined): Record<string, string> {
  return acceptValue === undefined ? { "Content-Type": contentType } : { "Content-Type": contentType, Accept: acceptValue };
}

/** A body past SLICED_JSON_MIN (1 MiB), so the sliced parser reads it: a valid body with a long column in it. */
function padded(body: Record<string, unknown>, rows: number): string {
  const text = jsonText(body);
  const filler = `"pad": [${"1.5,".repeat(rows)}1.5]`;
  return text === "{}" ? `{${filler}}` : `{${filler}, ${text.slice(1)}`;
}

/** JSON text of every kind of damage. */
const damagedText: fc.Arbitrary<Uint8Array> = fc.oneof(
  { weight: 6, arbitrary: fc.tuple(invocationsBody, mutations).map(([body, steps]) => mutate(bytesOf(jsonText(body)), steps)) },
  { weight: 2, arbitrary: deepNesting.map(bytesOf) },
  { weight: 1, arbitrary: longNumber.map(bytesOf) },
  { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 64 }).map(bytesOf) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }) },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.constantFrom("\ufeff", "\ufeff\ufeff", " \ufeff", "\n\t "), invocationsBody)
      .map(([prefix, body]) => bytesOf(prefix + jsonText(body))),
  },
  {
    weight: 1,
    arbitrary: fc.tuple(invocationsBody, fc.integer({ min: 300_000, max: 400_000 }), fc.option(mutations, { freq: 2 })).map(([body, rows, steps]) => {
      const bytes = bytesOf(padded(body, rows));
      return steps ? mutate(bytes, steps) : bytes;
    }),
  },
);

describe("/invocations with JSON bodies", () => {
  it("request forms with wrong types and shapes: 200 or 4xx, never 5xx", async () => {
    await fc.assert(
      fc.asyncProperty(target, invocationsBody, accept, async (name, body, acceptValue) => {
        await attack({ target: name, path: "/invocations", headers: headers("application/json", acceptValue), body: bytesOf(jsonText(body)) });
      }),
      fuzzParameters("http json forms"),
    );
  });

  it("damaged JSON text: 200 or 4xx, never 5xx", async () => {
    await fc.assert(
      fc.asyncProperty(target, damagedText, async (name, body) => {
        await attack({ target: name, path: "/invocations", headers: { "Content-Type": "application/json; charset=utf-8" }, body });
      }),
      fuzzParameters("http json text"),
    );
  });
});
