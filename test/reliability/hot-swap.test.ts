/**
 * Following the registry (issue 17, hot swap) with REAL processes: `pipeserve serve -m
 * models:/scaler-model@champion` under a steady load of JSON and Arrow requests while the alias
 * moves — once to a good version, once to a version whose artifact was corrupted after
 * registration. Every response is counted: none fails, each is wholly one version's (its body is
 * what that version predicts, and it names that version in X-Pipeserve-Model-Version), the
 * version changes once per client, and the corrupt version never answers. Then the same with
 * `-w 2` and SIGHUP instead of the poll.
 */
import { execFile, execFileSync } from "node:child_process";
import { promisify } from "node:util";
import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runProject } from "../../src/index.js";
import { encodeArrowIpc, tableFromColumns, toArrow } from "../../src/tabular/index.js";
import { tempDir } from "../batch/helpers.js";
import { CLI, http, REPO, ServeProcess } from "../server/fixtures/server-process.js";

const PROJECT = join(REPO, "test", "fixtures", "projects", "scaler");
const NAME = "scaler-model";
/**
 * Three rows per request: version 1 labels them 1, 1, 0; version 2 (margin 100) 0, 0, 0; version 3
 * is never served. A response whose rows came from two versions would show as neither.
 */
const X = 4.449;
const ROWS = [X, X, -1000];
const LABELS: Record<string, number[]> = { "1": [1, 1, 0], "2": [0, 0, 0] };
const JSON_BODY = JSON.stringify({ dataframe_split: { columns: ["x"], data: ROWS.map((x) => [x]) } });
const ARROW_BODY = encodeArrowIpc(toArrow(tableFromColumns({ x: ROWS })), "stream");

let tracking: string;
const running: ServeProcess[] = [];

function cli(...args: string[]): string {
  return execFileSync(process.execPath, [CLI, ...args, "--tracking-uri", tracking], { cwd: REPO, encoding: "utf8" });
}

/**
 * `cli` without blocking this process: under load, the clients keep sending while it runs. NB: a
 * blocking call left their keep-alive connections idle past the server's 5 s keepAliveTimeout on a
 * loaded machine, and a request sent as the server closed one failed ("other side closed").
 */
async function cliAsync(...args: string[]): Promise<void> {
  await promisify(execFile)(process.execPath, [CLI, ...args, "--tracking-uri", tracking], { cwd: REPO, encoding: "utf8" });
}

/** The files of a version's model folder (the artifacts under it), to corrupt one. */
async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) if (entry.isFile()) out.push(join(entry.parentPath, entry.name));
  return out;
}

async function train(params: string[]): Promise<void> {
  const result = await runProject({ projectDir: PROJECT, pipelineName: "training", trackingUri: tracking, params, typecheck: false });
  if (!result.modelUri) throw new Error("the scaler packaged no model");
}

beforeAll(async () => {
  tracking = await tempDir("pipeserve-hot-swap-");
  // Versions 1 (margin 0), 2 (margin 100: every label 0), 3 (corrupted below).
  for (const params of [[], ["margin=100"], []]) await train(params);
  const v3 = JSON.parse(cli("inspect", "-m", `models:/${NAME}/3`, "--json")) as { dir?: string; path?: string };
  const dir = v3.dir ?? v3.path;
  if (!dir) throw new Error(`inspect gave no folder: ${JSON.stringify(v3)}`);
  const artifact = (await filesUnder(dir)).find((f) => f.endsWith("model.json"));
  if (!artifact) throw new Error(`no model.json under ${dir}`);
  await writeFile(artifact, `${await readFile(artifact, "utf8")} `);
  cli("models", "alias", NAME, "champion", "1");
}, 120_000);

afterAll(async () => {
  await Promise.all(running.map((p) => p.stop()));
});

interface Answer {
  client: number;
  status: number;
  version: string | null;
  labels: number[] | undefined;
}

/**
 * Clients that each send requests one after another (JSON and Arrow in turn) until `stop()`,
 * recording every answer in order.
 */
function load(url: string, clients: number): { answers: Answer[]; stop: () => Promise<void> } {
  const answers: Answer[] = [];
  let going = true;
  const loops = Array.from({ length: clients }, async (_, client) => {
    for (let i = 0; going; i++) {
      const arrow = i % 2 === 1;
      let res: Response;
      let text: string;
      try {
        res = await fetch(`${url}/invocations`, {
          method: "POST",
          headers: { "Content-Type": arrow ? "application/vnd.apache.arrow.stream" : "application/json" },
          body: arrow ? ARROW_BODY : JSON_BODY,
        });
        text = await res.text();
      } catch (error) {
        // NB: recorded as a failed response (status 0, the reason as its version), not thrown.
        answers.push({ client, status: 0, version: `${(error as Error).message}: ${String((error as { cause?: unknown }).cause)}`, labels: undefined });
        continue;
      }
      let labels: number[] | undefined;
      try {
        labels = (JSON.parse(text) as { predictions: { label: number }[] }).predictions.map((p) => p.label);
      } catch {
        labels = undefined;
      }
      answers.push({ client, status: res.status, version: res.headers.get("x-pipeserve-model-version"), labels });
    }
  });
  return {
    answers,
    stop: async () => {
      going = false;
      await Promise.all(loops);
    },
  };
}

async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Each client's answers: all 200, each body wholly the version its header names, never version 3,
 * starting on version 1 and ending on 2, the version changing once (with one worker; with -w 2 a
 * client's connections reach both workers, which swap moments apart).
 */
function expectCleanSwap(answers: readonly Answer[], clients: number, oneChangePerClient: boolean): void {
  expect(
    answers.filter((a) => a.status !== 200),
    "failed responses",
  ).toEqual([]);
  expect(
    answers.filter((a) => a.version === "3"),
    "answers from the corrupt version",
  ).toEqual([]);
  expect(
    answers.filter((a) => JSON.stringify(a.labels) !== JSON.stringify(LABELS[a.version ?? ""])),
    "bodies not wholly of the version their header names",
  ).toEqual([]);
  for (let client = 0; client < clients; client++) {
    const versions = answers.filter((a) => a.client === client).map((a) => a.version);
    const changes = versions.filter((v, i) => i > 0 && v !== versions[i - 1]).length;
    expect(versions[0], `client ${client} starts on version 1`).toBe("1");
    if (oneChangePerClient) expect(changes, `client ${client}: ${versions.join(",")}`).toBe(1);
    expect(versions.at(-1), `client ${client} ends on version 2`).toBe("2");
  }
}

/**
 * One /metrics answer, on a connection of its own (with -w 2 every worker's figures, summed): a
 * reader of its series' values (NaN when absent).
 */
async function scrape(url: string): Promise<(series: string) => number> {
  const lines = (await http(`${url}/metrics`)).body.split("\n");
  return (series) =>
    Number(
      lines
        .find((l) => l.startsWith(series))
        ?.split(" ")
        .at(-1),
    );
}

/** The largest resident memory (with -w N, the workers' sum) in `scrapes` scrapes. */
async function residentMB(url: string, scrapes: number): Promise<number> {
  let most = 0;
  for (let i = 0; i < scrapes; i++) most = Math.max(most, (await scrape(url))("pipeserve_process_resident_memory_bytes") / 2 ** 20);
  return most;
}

/** A JSON answer on a connection of its own. */
async function getJson<T>(url: string): Promise<T> {
  return JSON.parse((await http(url)).body) as T;
}

const logged = (server: ServeProcess, start: string): number => server.logs().filter((l) => String(l.msg).startsWith(start)).length;

/** Waits for `count` log lines starting with `start` (failing at once, with the server's output, if it exits). */
function waitLogged(server: ServeProcess, start: string, count: number): Promise<true> {
  return server.waitForLogs(
    `${count} "${start}…" log line(s)`,
    (lines) => lines.filter((l) => String(l.msg).startsWith(start)).length >= count || undefined,
    30_000,
  );
}

/**
 * The whole promotion under load: 16 clients (JSON and Arrow) and a /health poller; the alias moves
 * to the good version 2 (by `move`), then to the corrupt version 3. Every worker swaps once, closes
 * version 1, refuses version 3 once (not again on later checks), and memory comes back to its level.
 */
async function promoteUnderLoad(workers: number, trigger: "poll" | "SIGHUP"): Promise<void> {
  cli("models", "alias", NAME, "champion", "1");
  const watch = trigger === "poll" ? "0.2" : "0";
  const server = new ServeProcess(["serve", "-m", `models:/${NAME}@champion`, "-p", "0", "-w", String(workers), "--watch", watch, "--tracking-uri", tracking]);
  running.push(server);
  const { url } = await server.serving(workers);
  const move = async (version: string): Promise<void> => {
    await cliAsync("models", "alias", NAME, "champion", version);
    if (trigger === "SIGHUP") server.child.kill("SIGHUP");
  };
  const clients = 16;
  const started = performance.now();
  const traffic = load(url, clients);
  // /health is polled all the while: a swap never makes the server look down.
  const health: (number | string)[] = [];
  let polling = true;
  // NB: each poll on a connection of its own, so a status is the server's answer, never a kept-alive
  // socket the client reused as the server closed it; a failed connection is recorded, not thrown.
  const poller = (async () => {
    while (polling) {
      health.push(
        await http(`${url}/health`).then(
          (r) => r.status,
          (error: Error) => `${error.message} (${server.exitCode()})`,
        ),
      );
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  // NB: 90 s, not the default 30: a clean-clone CI ran this -w 2 case beside the production-install
  // and Parquet fuzz suites and timed out here, before any swap (it takes ~8 s on a quiet machine).
  // This only waits for the load to be flowing; what follows is checked as before.
  await until(
    "every client answered by version 1",
    () => Array.from({ length: clients }, (_, c) => traffic.answers.filter((a) => a.client === c && a.version === "1").length).every((n) => n >= 5),
    90_000,
  );
  const rssBefore = await residentMB(url, 2 * workers);
  await move("2");
  await waitLogged(server, "Serving version 2", workers);
  await until("every client on version 2", () =>
    Array.from({ length: clients }, (_, c) => traffic.answers.filter((a) => a.client === c).at(-1)?.version).every((v) => v === "2"),
  );
  // Version 1 is closed once its requests are answered, in every worker.
  await waitLogged(server, "Version 1 of", workers);
  await move("3");
  await waitLogged(server, "Not serving version 3", workers);
  const before = traffic.answers.length;
  await until("more answers after the refusal", () => traffic.answers.length >= before + 200);
  // Version 1 was closed and version 3's failed load let go: memory is back near its level.
  const rssAfter = await residentMB(url, 2 * workers);
  // A later check (a poll, or another SIGHUP) does not try version 3 again: the alias has not moved.
  if (trigger === "SIGHUP") server.child.kill("SIGHUP");
  await new Promise((r) => setTimeout(r, 600));
  await traffic.stop();
  const seconds = (performance.now() - started) / 1000;
  polling = false;
  await poller;
  console.info(
    `hot swap, -w ${workers}, ${trigger}: ${traffic.answers.length} requests in ${seconds.toFixed(1)} s (${Math.round(traffic.answers.length / seconds)}/s)`,
  );

  expect(health.length).toBeGreaterThan(10);
  expect(
    health.filter((status) => status !== 200),
    `/health answers; the server's stderr: ${server.stderr}`,
  ).toEqual([]);
  expect(rssAfter, "resident MB after the swaps vs before").toBeLessThan(rssBefore + 32 * workers);
  expectCleanSwap(traffic.answers, clients, workers === 1);
  // Requests sent after every worker swapped are all version 2's.
  expect(traffic.answers.slice(before).filter((a) => a.version !== "2")).toEqual([]);
  expect(logged(server, "Not serving version 3"), "version 3 tried once per worker").toBe(workers);
  const refusal = server.logs().find((l) => String(l.msg).startsWith("Not serving version 3"));
  expect(refusal?.msg).toMatch(/could not be loaded \(.*sha256.*\)\. Still serving version 2; version 3 is not tried again until the alias moves\./);
  // Each worker swapped and refused once; /metrics sums them, whichever worker answers.
  for (let i = 0; i < 2 * workers; i++) {
    const value = await scrape(url);
    expect(value('pipeserve_model_swaps_total{result="swapped"}')).toBe(workers);
    expect(value('pipeserve_model_swaps_total{result="failed"}')).toBe(workers);
    expect(value('pipeserve_model_served{version="2"}')).toBe(1);
  }
  const metadata = await getJson<{ version: string }>(`${url}/metadata`);
  expect(metadata.version).toBe("2");
  const v2 = await getJson<{ versions: string[] }>(`${url}/v2/models/${NAME}`);
  expect(v2.versions).toEqual(["2"]);
}

describe("an alias moves under load", { timeout: 180_000 }, () => {
  it("--watch: swaps to the good version once, without a failed or mixed response; refuses the corrupt one and keeps serving", async () => {
    await promoteUnderLoad(1, "poll");
  });

  it("the same with -w 2: every worker swaps and refuses", async () => {
    await promoteUnderLoad(2, "poll");
  });

  it("the same with SIGHUP instead of the poll (--watch 0)", async () => {
    await promoteUnderLoad(1, "SIGHUP");
  });

  it("-w 2 and SIGHUP: the signal reaches every worker; nothing moves without it", async () => {
    cli("models", "alias", NAME, "champion", "1");
    const server = new ServeProcess(["serve", "-m", `models:/${NAME}@champion`, "-p", "0", "-w", "2", "--watch", "0", "--tracking-uri", tracking]);
    running.push(server);
    const { url } = await server.serving(2);
    const clients = 6;
    const traffic = load(url, clients);
    await until("answers from version 1", () => traffic.answers.filter((a) => a.version === "1").length >= 50);
    await cliAsync("models", "alias", NAME, "champion", "2");
    // --watch 0: nothing moves without the signal.
    await new Promise((r) => setTimeout(r, 500));
    expect(traffic.answers.filter((a) => a.version === "2")).toEqual([]);
    server.child.kill("SIGHUP");
    await waitLogged(server, "Serving version 2", 2);
    const after = traffic.answers.length;
    await until("answers after the swap", () => traffic.answers.length >= after + 100);
    await traffic.stop();
    expectCleanSwap(traffic.answers, clients, false);
    // NB: requests that started before both workers had swapped may still be version 1's; later ones are not.
    expect(traffic.answers.slice(after + clients).filter((a) => a.version !== "2")).toEqual([]);
  });

  it("without --watch an alias is checked every 30 s (and on SIGHUP), which the server says at start", async () => {
    cli("models", "alias", NAME, "champion", "1");
    const server = new ServeProcess(["serve", "-m", `models:/${NAME}@champion`, "-p", "0", "--tracking-uri", tracking]);
    running.push(server);
    await server.serving();
    const line = await server.waitForLogs("the watch line", (lines) => lines.find((l) => String(l.msg).startsWith("Following")));
    expect(line.msg).toBe(`Following models:/${NAME}@champion (version 1 now): checked every 30 s (--watch) and on SIGHUP`);
    expect(line["watchSeconds"]).toBe(30);
  });

  it("a fixed URI (a numbered version, a folder) is never reloaded: SIGHUP says so and the server keeps serving", async () => {
    const v1 = JSON.parse(cli("inspect", "-m", `models:/${NAME}/1`, "--json")) as { dir?: string; path?: string };
    for (const uri of [`models:/${NAME}/1`, (v1.dir ?? v1.path) as string]) {
      const server = new ServeProcess(["serve", "-m", uri, "-p", "0", "--watch", "0.2", "--tracking-uri", tracking]);
      running.push(server);
      const { url } = await server.serving();
      server.child.kill("SIGHUP");
      await server.waitForLogs("the SIGHUP note", (lines) => lines.find((l) => String(l.msg).includes("nothing to reload")));
      expect(logged(server, "Following"), `${uri} is not followed`).toBe(0);
      const res = await fetch(`${url}/invocations`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON_BODY });
      expect(res.status).toBe(200);
      expect(((await res.json()) as { predictions: { label: number }[] }).predictions.map((p) => p.label)).toEqual(LABELS["1"]);
    }
  });

  it("models:/NAME/latest follows each newly registered version", async () => {
    await train(["margin=100"]);
    const server = new ServeProcess(["serve", "-m", `models:/${NAME}/latest`, "-p", "0", "--watch", "0.2", "--tracking-uri", tracking]);
    running.push(server);
    const { url } = await server.serving();
    const ask = async (): Promise<{ version: string | null; labels: number[] }> => {
      const res = await fetch(`${url}/invocations`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON_BODY });
      const body = (await res.json()) as { predictions: { label: number }[] };
      return { version: res.headers.get("x-pipeserve-model-version"), labels: body.predictions.map((p) => p.label) };
    };
    expect(await ask()).toEqual({ version: "4", labels: LABELS["2"] });
    await train([]);
    await server.waitForLogs("version 5 served", (lines) => lines.find((l) => String(l.msg).startsWith("Serving version 5")));
    expect(await ask()).toEqual({ version: "5", labels: LABELS["1"] });
  });

  it("--watch takes 0 or more seconds; anything else is a usage error naming the value", () => {
    let stderr = "";
    try {
      cli("serve", "-m", `models:/${NAME}@champion`, "--watch", "soon");
    } catch (error) {
      stderr = String((error as { stderr?: string }).stderr);
    }
    expect(stderr).toContain('--watch must be a number of seconds, 0 or more (0 checks only on SIGHUP), got "soon".');
  });
});
