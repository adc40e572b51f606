// pipeserve raises V8's WebAssembly tiering budget before parquet-wasm loads (src/util/wasm-tiering.ts):
// at V8's own budget, writing and reading a few hundred thousand rows of Parquet sends about a
// hundred of parquet-wasm's functions to TurboFan, for CPU and ~100 MB of peak memory. Real
// processes of the built package, with V8's --trace-wasm-compilation-times, count those compiles:
// through the library's own Parquet reading and writing, through model code that loads
// parquet-wasm itself (the host's require), with PIPESERVE_WASM_TIERING_BUDGET, and with a
// node flag of the user's own. The bin refuses a budget V8 would not take.
import { spawn } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { tempDir } from "../batch/helpers.js";
import { REPO_ROOT, finished, runBin, useBuiltBin } from "../fixtures/cli.js";

useBuiltBin();

const INDEX = pathToFileURL(join(REPO_ROOT, "dist", "index.js")).href;
const RUNTIME = pathToFileURL(join(REPO_ROOT, "dist", "runtime", "index.js")).href;

/** Writes and reads 200,000 rows of Parquet five times; with `host`, model code's way of loading parquet-wasm comes first. */
function script(host: boolean): string {
  return `
${host ? `const { requireHostModule } = await import(${JSON.stringify(RUNTIME)}); requireHostModule("parquet-wasm");` : ""}
const { arrowToParquet, parquetToArrow, toArrow } = await import(${JSON.stringify(INDEX)});
const n = 200000;
const table = toArrow({ names: ["x", "s"], columns: [Float64Array.from({ length: n }, (_, i) => i * 1.5), Array.from({ length: n }, (_, i) => "v" + (i % 97))], numRows: n });
for (let i = 0; i < 5; i++) if (parquetToArrow(arrowToParquet(table)).numRows !== n) throw new Error("rows lost");
`;
}

let files: { library: string; host: string };

beforeAll(async () => {
  const dir = await tempDir("pipeserve-wasm-tiering-");
  files = { library: join(dir, "library.mjs"), host: join(dir, "host.mjs") };
  await writeFile(files.library, script(false));
  await writeFile(files.host, script(true));
});

/** The TurboFan compiles of WebAssembly functions in a run of `file`, with `flags` for node and `env` added. */
async function turbofanCompiles(file: string, flags: readonly string[] = [], env: Record<string, string> = {}): Promise<number> {
  const result = await finished(
    spawn(process.execPath, ["--trace-wasm-compilation-times", ...flags, file], {
      cwd: REPO_ROOT,
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    }),
  );
  expect(result.code, result.stderr.toString()).toBe(0);
  return result.stdout.toString().match(/^Compiled function .* using TurboFan/gm)?.length ?? 0;
}

describe.concurrent("V8's WebAssembly tiering budget for parquet-wasm", () => {
  it("the library's Parquet reading and writing, and model code that loads parquet-wasm itself: a few TurboFan compiles; at V8's budget many more", async () => {
    const [library, host, v8Budget, v8Env] = await Promise.all([
      turbofanCompiles(files.library),
      turbofanCompiles(files.host),
      turbofanCompiles(files.library, ["--wasm-tiering-budget=1800000"]),
      turbofanCompiles(files.library, [], { PIPESERVE_WASM_TIERING_BUDGET: "1800000" }),
    ]);
    // NB: measured here: ~3 with pipeserve's budget, ~100 at V8's.
    expect(v8Budget).toBeGreaterThan(20);
    expect(v8Env).toBeGreaterThan(20);
    expect(library * 5).toBeLessThan(v8Budget);
    expect(host * 5).toBeLessThan(v8Budget);
  });

  it.each(["0", "-5", "1.5", "2147483648", "many"])(
    "the bin refuses PIPESERVE_WASM_TIERING_BUDGET=%j: exit 2, naming the variable and what it takes",
    async (value) => {
      const result = await runBin(["models", "list"], { env: { PIPESERVE_WASM_TIERING_BUDGET: value } });
      expect(result.code).toBe(2);
      expect(result.stderr.toString()).toContain(
        `PIPESERVE_WASM_TIERING_BUDGET must be a whole number from 1 to 2147483647 (V8's own budget is 1800000), got "${value}".`,
      );
    },
  );
});
