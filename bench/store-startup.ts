/**
 * bench/store-startup (issue 13): how long `pipeserve serve -m models:/penguins/1` takes from spawn
 * to its first 200 on /invocations, per tracking backend — a folder (`./mlruns`), an SQLite
 * database (`sqlite:///`), an MLflow tracking server (`http://`, cold: an empty download cache;
 * cached: the second start) — against serving the model's folder by path, in the same run.
 *
 * The tracking server is the tests' fake MLflow server (test/fixtures/mlflow-server.ts: MLflow's
 * REST API and artifact proxy, in memory, in this process, on 127.0.0.1): the figures hold no
 * network latency nor a real server's database; over a network add a round trip per request
 * (the cold start makes about a dozen, the cached one five).
 *
 *   npm run bench -- store-startup            STARTUP_ROUNDS=9 for more rounds (default 5)
 */
import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FakeMlflowServer } from "../test/fixtures/mlflow-server.js";
import { bin, median, report, root, round, timeToFirstPrediction } from "./harness.js";

const ROUNDS = Number(process.env["STARTUP_ROUNDS"] ?? 5);

/**
 * Runs a pipeserve command to its end without blocking this process. NB: not spawnSync (as
 * harness's trainPenguins): the fake tracking server answers from this very process.
 */
function pipeserve(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout?.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr?.on("data", (d: Buffer) => (err += d.toString()));
    child.once("close", (code) => (code === 0 ? resolve(out) : reject(new Error(`pipeserve ${args.join(" ")} failed: ${err}`))));
  });
}

export async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "pipeserve-bench-startup-"));
  const server = await FakeMlflowServer.start();
  try {
    const body = await readFile(join(root, "test", "fixtures", "requests", "penguins-1row.json"), "utf8");
    const stores = { file: join(dir, "mlruns"), sqlite: `sqlite:///${join(dir, "mlflow.db")}`, rest: server.url };
    for (const uri of Object.values(stores)) await pipeserve(["run", "--project", join(root, "models", "penguins"), "--no-typecheck", "--tracking-uri", uri]);
    const inspect = await pipeserve(["inspect", "-m", "models:/penguins/1", "--json", "--tracking-uri", stores.file]);
    const modelDir = (JSON.parse(inspect) as { dir: string }).dir;
    const warmCache = join(dir, "cache-warm");
    const cases: Record<string, (round: number) => { args: string[]; env: NodeJS.ProcessEnv }> = {
      "folder by path (baseline)": () => ({ args: ["-m", modelDir], env: {} }),
      "file store, models:/": () => ({ args: ["-m", "models:/penguins/1", "--tracking-uri", stores.file], env: {} }),
      "sqlite, models:/": () => ({ args: ["-m", "models:/penguins/1", "--tracking-uri", stores.sqlite], env: {} }),
      "tracking server, cold cache": (r) => ({
        args: ["-m", "models:/penguins/1", "--tracking-uri", stores.rest],
        env: { PIPESERVE_CACHE_DIR: join(dir, `cache-cold-${r}`) },
      }),
      "tracking server, cached": () => ({ args: ["-m", "models:/penguins/1", "--tracking-uri", stores.rest], env: { PIPESERVE_CACHE_DIR: warmCache } }),
    };
    // The cached case starts from a cache one serve filled.
    await timeToFirstPrediction(cases["tracking server, cached"]!(0).args, cases["tracking server, cached"]!(0).env, body);
    const times: Record<string, number[]> = Object.fromEntries(Object.keys(cases).map((k) => [k, []]));
    // NB: the cases alternate within each round, so a slow moment of the shared machine hits them all alike.
    for (let r = 0; r < ROUNDS; r++) {
      for (const [name, make] of Object.entries(cases)) {
        const { args, env } = make(r);
        times[name]!.push(await timeToFirstPrediction(args, env, body));
      }
    }
    const baseline = median(times["folder by path (baseline)"]!);
    const results = Object.fromEntries(
      Object.entries(times).map(([name, ms]) => [
        name,
        { medianMs: round(median(ms)), minMs: round(Math.min(...ms)), ratioToBaseline: round(median(ms) / baseline, 2) },
      ]),
    );
    await report("store-startup", { rounds: ROUNDS, what: "spawn → first 200 on POST /invocations (penguins, 1 row)", results });
  } finally {
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  }
}
