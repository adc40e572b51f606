// A hang detector for the fuzz properties. The servers and readers under attack run in this
// process, so an input that spins forever in synchronous code stops every timer here too: no
// timeout can fire, and the test file would hold CI for good. A worker thread watches a heartbeat
// the main thread beats; when it stops for HANG_MS, the worker writes the input being tried to
// stderr and to a file, and kills the process, so the run fails with the input instead of hanging.
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Worker } from "node:worker_threads";
import { afterAll, beforeAll } from "vitest";

/** How long the event loop may stand still before it is a hang. */
export const HANG_MS = 30_000;
const DESCRIPTION_BYTES = 1 << 16;

const WATCHER = `
const { workerData } = require("node:worker_threads");
const fs = require("node:fs");
const beats = new Int32Array(workerData.beats);
const text = new Uint8Array(workerData.text);
let last = Atomics.load(beats, 0);
let still = 0;
setInterval(() => {
  const now = Atomics.load(beats, 0);
  if (now !== last) { last = now; still = 0; return; }
  still += 500;
  if (still < workerData.hangMs) return;
  const input = Buffer.from(text.subarray(0, Atomics.load(beats, 1))).toString("utf8");
  const report = "The event loop has not turned for " + still / 1000 + " s: a hang. Input being tried:\\n" + input + "\\n";
  try { fs.writeFileSync(workerData.reportPath, report); } catch {}
  fs.writeSync(2, report + "(also written to " + workerData.reportPath + ")\\n");
  process.kill(process.pid, "SIGKILL");
}, 500);
`;

const beats = new Int32Array(new SharedArrayBuffer(8));
const text = new Uint8Array(new SharedArrayBuffer(DESCRIPTION_BYTES));

let hung = false;

/**
 * Notes a hang the event loop survived (an endless async loop), and whether one was seen. NB: once
 * one is, the property reports that input: shrinking it would wait out a hang per candidate, and
 * what the first one left running may slow every later run; so the runs after it pass at once.
 */
export const hang = {
  note(): void {
    hung = true;
  },
  get seen(): boolean {
    return hung;
  },
};

/** Notes the input being tried now, for the report of a hang. */
export function trying(description: string): void {
  const bytes = Buffer.from(description.slice(0, DESCRIPTION_BYTES / 4), "utf8");
  text.set(bytes.subarray(0, DESCRIPTION_BYTES));
  Atomics.store(beats, 1, Math.min(bytes.length, DESCRIPTION_BYTES));
}

/** Starts the watchdog for the calling test file. */
export function useWatchdog(): void {
  let worker: Worker | undefined;
  let beat: NodeJS.Timeout | undefined;
  beforeAll(() => {
    beat = setInterval(() => Atomics.add(beats, 0, 1), 100);
    beat.unref();
    const reportPath = join(tmpdir(), `pipeserve-fuzz-hang-${process.pid}.txt`);
    worker = new Worker(WATCHER, { eval: true, workerData: { beats: beats.buffer, text: text.buffer, hangMs: HANG_MS, reportPath } });
    worker.unref();
  });
  afterAll(async () => {
    clearInterval(beat);
    await worker?.terminate();
  });
}
