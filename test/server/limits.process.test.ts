/**
 * `pipeserve serve --max-rows N --max-cells M` in a real process (issue 14, item 1): a request
 * past either is a 413 naming the figure and the flag; a bad value is a usage error before
 * anything loads.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { useBuiltBin } from "../fixtures/cli.js";
import { SIGNATURES, packageBehaviour } from "./fixtures/models.js";
import { ServeProcess, invoke } from "./fixtures/server-process.js";

useBuiltBin();

let modelDir: string;
let server: ServeProcess;
let url: string;

beforeAll(async () => {
  modelDir = await packageBehaviour("row_count", SIGNATURES.ab);
  server = new ServeProcess(["serve", "-m", modelDir, "-p", "0", "--max-rows", "3", "--max-cells", "8"]);
  url = (await server.serving()).url;
});

afterAll(async () => {
  await server?.stop();
});

describe("serve --max-rows 3 --max-cells 8", () => {
  it.each([
    { what: "3 rows of 2 columns", body: { inputs: { a: [1, 2, 3], b: [1, 2, 3] } }, status: 200, parts: ['{"predictions":[3]}'] },
    { what: "4 rows", body: { inputs: { a: [1, 2, 3, 4], b: [1, 2, 3, 4] } }, status: 413, parts: ["more than 3 rows", "(--max-rows)"] },
    {
      what: "3 rows of 3 columns",
      body: {
        dataframe_split: {
          columns: ["a", "b", "c"],
          data: [
            [1, 2, 3],
            [1, 2, 3],
            [1, 2, 3],
          ],
        },
      },
      status: 413,
      parts: ["3 rows × 3 columns = 9 cells", "the limit is 8 cells per request (--max-cells)"],
    },
  ])("$what → $status", async ({ body, status, parts }) => {
    const res = await invoke(url, body);
    expect(res.status, res.body).toBe(status);
    for (const part of parts) expect(res.body).toContain(part);
  });
});

describe.concurrent("bad values → exit 2 with a message", () => {
  it.each([
    { flags: ["--max-rows", "0"], message: "pipeserve: --max-rows must be between 1 and" },
    { flags: ["--max-cells", "many"], message: 'pipeserve: --max-cells must be a whole number, got "many".' },
  ])("$flags", async ({ flags, message }) => {
    const p = new ServeProcess(["serve", "-m", modelDir, "-p", "0", ...flags]);
    const exit = await Promise.race([p.exited, new Promise((resolve) => setTimeout(() => resolve("hung"), 15_000))]);
    await p.stop();
    expect(exit).toEqual({ code: 2, signal: null });
    expect(p.stderr).toContain(message);
  });
});
