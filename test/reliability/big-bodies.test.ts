/**
 * One big request must not take the server from everyone else (issue 14, item 1), against a real
 * `pipeserve serve` process: the bodies of the report — 13 million strings in one column (52 MB),
 * a 25 MB one, 100 MB of empty `dataframe_records` — are refused with 413 after a few megabytes of
 * reading, with the server's memory bounded; a big body within the limits is decoded in slices;
 * and all the while a small request keeps being answered within its normal latency.
 */
import { readFileSync } from "node:fs";
import { Agent, request } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { arrowToParquet, encodeArrowIpc, tableFromColumns, toArrow, type ColumnTable } from "../../src/index.js";
import { useBuiltBin } from "../fixtures/cli.js";
import { SIGNATURES, packageBehaviour } from "../server/fixtures/models.js";
import { ServeProcess } from "../server/fixtures/server-process.js";

useBuiltBin();

const SMALL = JSON.stringify({ dataframe_split: { columns: ["a", "b"], data: [[1, 0.5]] } });
const agent = new Agent({ keepAlive: true, maxSockets: 4 });

interface Answer {
  status: number;
  body: string;
  ms: number;
}

function post(url: string, body: string | Uint8Array, contentType = "application/json"): Promise<Answer> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = request(
      `${url}/invocations`,
      { method: "POST", agent, headers: { "Content-Type": contentType, "Content-Length": Buffer.byteLength(body) } },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => (text += chunk));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text, ms: performance.now() - started }));
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

/** Sends small requests one after another until `until` settles; returns their latencies (ms). */
async function probe(url: string, until: Promise<unknown>): Promise<number[]> {
  let done = false;
  void until.finally(() => (done = true));
  const ms: number[] = [];
  while (!done) {
    const answer = await post(url, SMALL);
    expect(answer.status, answer.body).toBe(200);
    ms.push(answer.ms);
  }
  return ms;
}

function stats(ms: number[]): { n: number; p50: number; p99: number; max: number } {
  const sorted = [...ms].sort((a, b) => a - b);
  const at = (q: number): number => Math.round((sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0) * 10) / 10;
  return { n: ms.length, p50: at(0.5), p99: at(0.99), max: Math.round((sorted.at(-1) ?? 0) * 10) / 10 };
}

/** The server's peak resident memory so far, in MB (Linux). */
function peakRssMb(pid: number): number {
  const kb = /VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];
  return Math.round(Number(kb) / 1024);
}

let server: ServeProcess;
let url: string;
let baseline: ReturnType<typeof stats>;

beforeAll(async () => {
  const dir = await packageBehaviour("row_count", SIGNATURES.ab);
  server = new ServeProcess(["serve", "-m", dir, "-p", "0", "--log-level", "warn"]);
  url = (await server.serving()).url;
  for (let i = 0; i < 200; i++) await post(url, SMALL);
  baseline = stats(await probe(url, new Promise((r) => setTimeout(r, 1_000))));
  console.log("small requests alone (ms)", baseline);
});

afterAll(async () => {
  await server?.stop();
  agent.destroy();
});

describe("bodies past the limits are refused early, and others are served meanwhile", () => {
  it.each([
    { what: "13 million strings in one column (52 MB)", body: () => `{"inputs": {"island": [${'"D",'.repeat(13_000_000)}"D"]}}` },
    { what: "6 million strings in one column (25 MB)", body: () => `{"inputs": {"island": [${'"D",'.repeat(6_250_000)}"D"]}}` },
    { what: "100 MB of empty dataframe_records", body: () => `{"dataframe_records": [${"{},".repeat(33_000_000)}{}]}` },
  ])("$what → 413", async ({ body }) => {
    const big = Buffer.from(body());
    const answer = post(url, big);
    const latencies = stats(await probe(url, answer));
    const { status, body: text, ms } = await answer;
    console.log({
      bodyMb: Math.round(big.byteLength / 1e6),
      status,
      ms: Math.round(ms),
      smallRequestsMs: latencies,
      peakRssMb: peakRssMb(server.child.pid as number),
    });
    expect(status, text).toBe(413);
    expect(text).toContain("--max-rows");
    // Before: the server ran out of heap, or held every client for 30 to 60 s.
    expect(latencies.n).toBeGreaterThan(5);
    // NB: 300 ms, not less: on a loaded 2-core machine one small request may wait a turn or two of reading.
    expect(latencies.max).toBeLessThan(Math.max(300, 20 * baseline.p99));
    expect(peakRssMb(server.child.pid as number)).toBeLessThan(1_000);
  });
});

const ROWS = 800_000;
const AB = (): ColumnTable => tableFromColumns({ a: Array.from({ length: ROWS }, (_, i) => i), b: Array.from({ length: ROWS }, (_, i) => i / 2) });

describe("a big body within the limits", () => {
  it.each([
    {
      what: "dataframe_split",
      contentType: "application/json",
      body: () => JSON.stringify({ dataframe_split: { columns: ["a", "b"], data: Array.from({ length: ROWS }, (_, i) => [i, i / 2]) } }),
    },
    { what: "CSV", contentType: "text/csv", body: () => `a,b\n${Array.from({ length: ROWS }, (_, i) => `${i},${i / 2}`).join("\n")}\n` },
    { what: "NDJSON", contentType: "application/x-ndjson", body: () => Array.from({ length: ROWS }, (_, i) => `{"a":${i},"b":${i / 2}}`).join("\n") },
    { what: "an Arrow stream", contentType: "application/vnd.apache.arrow.stream", body: () => encodeArrowIpc(toArrow(AB()), "stream") },
    { what: "Parquet", contentType: "application/vnd.apache.parquet", body: () => arrowToParquet(toArrow(AB())) },
  ])("800,000 rows of $what are decoded while small requests are answered", async ({ contentType, body }) => {
    const big = Buffer.from(body());
    const answer = post(url, big, contentType);
    const latencies = stats(await probe(url, answer));
    const { status, body: text, ms } = await answer;
    console.log({
      bodyMb: Math.round(big.byteLength / 1e6),
      status,
      ms: Math.round(ms),
      smallRequestsMs: latencies,
      peakRssMb: peakRssMb(server.child.pid as number),
    });
    expect(status, text.slice(0, 300)).toBe(200);
    expect(JSON.parse(text)).toEqual({ predictions: [ROWS] });
    // NB: decoding yields every few milliseconds; checking 1.6 million cells against the signature and
    // running the pipeline still hold the event loop (about 0.1 s per million cells here, a few tenths
    // of a second in all). An Arrow stream is handed over nearly without copying and answered in that
    // time, so only a few small requests fit in; what must hold is that more than the first one was
    // answered while the big one was in flight, and none waited long.
    // NB: only when the big request took long enough for that: on a loaded CI machine an Arrow stream's
    // whole request took 456 ms, through which one small request waited (483 ms, within the floor below).
    if (ms > 1_000) expect(latencies.n).toBeGreaterThanOrEqual(2);
    // NB: a floor of 1 s: a clean-clone CI run on a loaded 2-core machine saw 664 ms once against 500; decoding 800,000 rows takes several seconds, so a blocked loop would still show.
    expect(latencies.max).toBeLessThan(Math.max(1_000, 20 * baseline.p99));
  });
});
