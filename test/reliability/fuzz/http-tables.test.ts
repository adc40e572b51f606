/**
 * Fuzzing `/invocations` with the table bodies (issue 14): CSV, JSON Lines, Arrow IPC (stream and
 * file) and Parquet — generated tables of wrong types and names, damaged bytes, big bodies that
 * are read in slices — with `?params=` right and wrong. Each answer is a 200 or a 4xx with a JSON
 * error, and the server answers /ping afterwards.
 */
import fc from "fast-check";
import { describe, it } from "vitest";
import { arrowToParquet, tableFromColumns, toArrow } from "../../../src/tabular/index.js";
import { TARGET_NAMES, attack, send, useFuzzServers, type TargetName } from "./http-harness.js";
import { bytesOf, jsonText, mutate, mutations, params } from "./json-arbitraries.js";
import { PARQUET_CORPUS, fuzzParameters, fuzzSeed } from "./settings.js";
import { arrowBytes, bigCsvText, bigJsonLinesText, csvText, jsonLinesText, parquetBytes, parquetCorpus } from "./table-arbitraries.js";

useFuzzServers();

const target = fc.constantFrom<TargetName>(...TARGET_NAMES);

/** The path with `?params=` now and then: a JSON object, anything else, or text that does not decode. */
const path: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.constant("/invocations") },
  { weight: 2, arbitrary: params.map((p) => `/invocations?params=${encodeURIComponent(jsonText(p))}`) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      "/invocations?params=",
      "/invocations?params=%7B",
      "/invocations?params=%E0%A4%A",
      "/invocations?params=%",
      "/invocations?params=[1]&params={}",
    ),
  },
);

/** Text bodies, damaged 1 time in 3. */
function damaged(text: fc.Arbitrary<string>): fc.Arbitrary<Uint8Array> {
  return fc.tuple(text, fc.option(mutations, { freq: 2, nil: undefined })).map(([t, steps]) => (steps ? mutate(bytesOf(t), steps) : bytesOf(t)));
}

const ARROW_TYPES = { stream: "application/vnd.apache.arrow.stream", file: "application/vnd.apache.arrow.file" } as const;

describe("/invocations with table bodies", () => {
  it("CSV: 200 or 4xx, never 5xx", async () => {
    const body = fc.oneof({ weight: 30, arbitrary: damaged(csvText) }, { weight: 1, arbitrary: bigCsvText.map(bytesOf) });
    await fc.assert(
      fc.asyncProperty(target, path, body, fc.constantFrom("text/csv", "text/csv; charset=utf-8", "TEXT/CSV;charset=UTF-8"), async (name, p, b, type) => {
        await attack({ target: name, path: p, headers: { "Content-Type": type }, body: b });
      }),
      fuzzParameters("http csv"),
    );
  });

  it("JSON Lines: 200 or 4xx, never 5xx", async () => {
    const body = fc.oneof({ weight: 30, arbitrary: damaged(jsonLinesText) }, { weight: 1, arbitrary: bigJsonLinesText.map(bytesOf) });
    await fc.assert(
      fc.asyncProperty(target, path, body, async (name, p, b) => {
        await attack({ target: name, path: p, headers: { "Content-Type": "application/x-ndjson" }, body: b });
      }),
      fuzzParameters("http ndjson"),
    );
  });

  it("Arrow IPC, whole or damaged, in either format under either type: 200 or 4xx, never 5xx", async () => {
    await fc.assert(
      fc.asyncProperty(target, path, arrowBytes, fc.boolean(), async (name, p, { bytes, format }, swap) => {
        const type = ARROW_TYPES[swap ? (format === "stream" ? "file" : "stream") : format];
        await attack({ target: name, path: p, headers: { "Content-Type": type }, body: bytes });
      }),
      fuzzParameters("http arrow"),
    );
  });

  it("Parquet, whole or damaged: 200 or 4xx, never 5xx, and a good file still reads afterwards", { timeout: 600_000 }, async () => {
    const corpus = await parquetCorpus(PARQUET_CORPUS, fuzzSeed());
    await fc.assert(
      fc.asyncProperty(target, path, parquetBytes(corpus), async (name, p, bytes) => {
        await attack({ target: name, path: p, headers: { "Content-Type": "application/vnd.apache.parquet" }, body: bytes });
      }),
      fuzzParameters("http parquet"),
    );
    // NB: a panic inside the WebAssembly decoder could leave it broken for every later request.
    const good = arrowToParquet(toArrow(tableFromColumns({ a: [1, 2], b: [0.5, 1.5] })));
    const answer = await send({ target: "rowwise", path: "/invocations", headers: { "Content-Type": "application/vnd.apache.parquet" }, body: good });
    if (answer.status !== 200) throw new Error(`a good Parquet file after the fuzzing: ${answer.status} ${answer.body}`);
  });
});
