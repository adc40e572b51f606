/**
 * The model's page (issue 18) in a real headless Chromium (Debian's `chromium`, driven by
 * playwright-core): served by a real server on an ephemeral port for a trained, registered model,
 * the page loads without console errors, shows when the model was trained and the pipeserve
 * serving it, draws the pipeline's nodes and artifacts and the signature's columns, sends the
 * input example from its form and shows the predictions the server gives, sends rows and params
 * as edited, shows the server's message for a bad edit, and its live figures (requests/s among
 * them) follow the requests. The page asks nothing of any other origin, and of its own only its
 * assets and the model's routes. Each test saves a screenshot under test-output/screenshots/.
 */
import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { pino } from "pino";
import { type Browser, type Page, chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ServerState, createApp, loadModel, pipeserveVersion, serveApp, type PipelineModel, type RunningServer } from "../../src/index.js";
import { REPO_ROOT } from "../fixtures/cli.js";
import { ServerMetrics, createModelSetApp, createServingApp, serveGrpc, type RunningGrpcServer } from "../../src/server/index.js";
import { InferenceClient, typedInput } from "./fixtures/grpc-client.js";
import { SIGNATURES, buildModel, trainScaler } from "./fixtures/models.js";

/** An element as the callbacks run in the page use it (this suite's types are Node's, without the DOM). */
interface PageElement {
  id: string;
  textContent: string | null;
  outerHTML: string;
  getAttribute(name: string): string | null;
  querySelectorAll(selector: string): Iterable<PageElement>;
}
/** The page's document, in callbacks that `page.evaluate` runs in the browser. */
declare const document: {
  querySelector(selector: string): PageElement | null;
  querySelectorAll(selector: string): Iterable<PageElement>;
  activeElement: PageElement | null;
};

const CHROMIUM = process.env["CHROMIUM_PATH"] ?? "/usr/bin/chromium";
const SHOTS = join(REPO_ROOT, "test-output", "screenshots");

let browser: Browser;
let model: PipelineModel;
let server: RunningServer;
let grpcServer: RunningGrpcServer;
let grpcClient: InferenceClient;
/** The model's name in the v1 and v2 routes. */
let modelName: string;
let url: string;
/** What the page's own console and uncaught errors said, per page. */
const problems = new WeakMap<Page, string[]>();
/** Every URL the page requested, per page. */
const requested = new WeakMap<Page, string[]>();

/** Records what `page` says on its console and every request it makes. */
function watch(page: Page): void {
  const seen: string[] = [];
  problems.set(page, seen);
  page.on("console", (m) => {
    if (m.type() === "error" || m.type() === "warning") seen.push(`${m.type()}: ${m.text()}`);
  });
  page.on("pageerror", (e) => seen.push(`pageerror: ${e.message}`));
  const urls: string[] = [];
  requested.set(page, urls);
  page.on("request", (r) => void urls.push(r.url()));
}

/**
 * The page asked only its own server (`origin`), and there only for the page itself, its script
 * and style, and the model's routes under `base` (/metadata, /invocations) and /metrics; it did
 * ask for each of those it always needs.
 */
function expectOwnRequests(page: Page, origin: string, base = "", also: string[] = []): void {
  const urls = requested.get(page) ?? [];
  const allowed = new Set([`${base}/`, "/ui/page.js", "/ui/page.css", `${base}/metadata`, "/metrics", `${base}/invocations`]);
  const elsewhere = urls.filter((u) => new URL(u).origin !== origin);
  expect(elsewhere, "requests to another origin").toEqual([]);
  expect(urls.map((u) => new URL(u).pathname).filter((p) => !allowed.has(p))).toEqual([]);
  const paths = new Set(urls.map((u) => new URL(u).pathname));
  for (const needed of [`${base}/`, "/ui/page.js", "/ui/page.css", `${base}/metadata`, "/metrics", ...also]) expect(paths, needed).toContain(needed);
}

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`No Chromium at ${CHROMIUM}: install Debian's chromium package (apt-get install chromium), or set CHROMIUM_PATH.`);
  await mkdir(SHOTS, { recursive: true });
  const trained = await trainScaler();
  model = await loadModel(trained.registeredUri, { trackingUri: trained.trackingDir });
  const state = new ServerState();
  const logger = pino({ level: "silent" });
  const metrics = new ServerMetrics();
  const { app, service } = createServingApp(model, { logger, state, metrics });
  server = await serveApp(app as never, { port: 0, host: "127.0.0.1", state, logger, metrics, onStopped: () => undefined });
  url = `http://127.0.0.1:${server.port}`;
  // NB: the gRPC server beside it, as `serve --grpc-port` runs one: the page counts its predictions too.
  grpcServer = await serveGrpc({
    port: 0,
    host: "127.0.0.1",
    models: { services: new Map([[service.name, service]]), failed: [], state, metrics },
    logger,
    version: "test",
  });
  modelName = service.name;
  grpcClient = new InferenceClient(`127.0.0.1:${grpcServer.port}`);
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ["--no-sandbox"] });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  grpcClient?.close();
  await grpcServer?.drain(0);
  await server?.stop();
  await model?.close();
});

/**
 * A page at `path`, ready. `bypassCSP`: without the page's Content-Security-Policy, so a request
 * the policy would block (seen only as a console error) is made and recorded.
 */
async function openPage(path = "/", { bypassCSP = false } = {}): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1200, height: 1000 }, bypassCSP });
  watch(page);
  await page.goto(`${url}${path}`);
  await page.waitForSelector("body[data-ready='true']", { timeout: 15_000 });
  return page;
}

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

async function predict(body: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(`${url}/invocations`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
  return { status: res.status, json: await res.json() };
}

/** The cells of the result table, row by row (the row-number column left out). */
async function resultRows(page: Page): Promise<{ headers: string[]; rows: string[][] }> {
  return page.evaluate(() => {
    const headers = [...document.querySelectorAll("#try-result thead th")].map((th) => th.textContent ?? "").slice(1);
    const rows = [...document.querySelectorAll("#try-result tbody tr")].map((tr) => [...tr.querySelectorAll("td")].map((td) => td.textContent ?? "").slice(1));
    return { headers, rows };
  });
}

describe("the model page in Chromium", { timeout: 60_000 }, () => {
  it("loads without console errors and shows the model, its pipeline graph and its signature", async () => {
    const page = await openPage();
    await shot(page, "model-page");
    expect(problems.get(page)).toEqual([]);
    expect(await page.textContent("#model-name")).toBe("scaler-model");
    // The summary: each fact under its name, "Trained" the model's utc_time_created.
    const facts = await page.$$eval("#summary dt", (dts) =>
      dts.map((dt) => [dt.textContent, (dt.nextElementSibling as { textContent: string | null } | null)?.textContent]),
    );
    expect(Object.fromEntries(facts)).toEqual({
      Version: "1",
      Run: model.metadata.runId,
      Trained: model.metadata.utcTimeCreated,
      URI: model.uri,
      pipeserve: pipeserveVersion(),
    });
    expect(model.metadata.utcTimeCreated).toMatch(/^\d{4}-\d{2}-\d{2}/);
    // The graph: the pipeline's node, the request input, the artifacts packaged with it, the param and the output.
    const items = await page.$$eval("#graph [data-kind]", (els) => els.map((e) => `${e.getAttribute("data-kind")}:${e.getAttribute("data-name")}`));
    expect(items.sort()).toEqual(
      [
        ...model.pipeline.nodes.map((n) => `node:${n.name}`),
        `input:${model.inputName}`,
        `output:${model.outputName}`,
        "artifact:scaler",
        "artifact:model",
        "param:params:margin",
      ].sort(),
    );
    expect(await page.$$eval("#graph path.edge", (els) => els.length)).toBe(5);
    // The signature and params as tables.
    const inputs = await page.$$eval("#inputs tbody tr", (trs) => trs.map((tr) => [...tr.querySelectorAll("td")].map((td) => td.textContent)));
    expect(inputs).toEqual(model.signature?.inputs?.map((c) => [c.name, c.type, c.required ? "yes" : "no"]));
    const outputs = await page.$$eval("#outputs tbody tr td:first-child", (tds) => tds.map((td) => td.textContent));
    expect(outputs).toEqual(model.signature?.outputs?.map((c) => c.name));
    const params = await page.$$eval("#params tbody tr td:first-child", (tds) => tds.map((td) => td.textContent));
    expect(params).toEqual(model.signature?.params?.map((p) => p.name));
    // Each table fits its box (none cut off behind a scrollbar at this width), and the page is no wider than the window.
    const cut = await page.$$eval(".tables > div", (boxes) =>
      boxes.flatMap((b) => {
        const box = b as unknown as { id: string; scrollWidth: number; clientWidth: number };
        return box.scrollWidth > box.clientWidth ? [`#${box.id}: ${box.scrollWidth} > ${box.clientWidth}`] : [];
      }),
    );
    expect(cut).toEqual([]);
    expect(await page.evaluate("document.documentElement.scrollWidth")).toBeLessThanOrEqual(1200);
    // The copy-paste calls name this server's /invocations.
    const snippets = await page.$$eval("#examples pre", (pres) => pres.map((p) => p.textContent ?? ""));
    expect(snippets).toHaveLength(4);
    for (const s of snippets.slice(0, 3)) expect(s).toContain(`${url}/invocations`);
    expect(snippets[3]).toContain("pipeserve predict -m models:/scaler-model/1");
    expectOwnRequests(page, url);
    await page.close();
  });

  it("the form sends the input example, then rows and params as edited, and shows the server's predictions as a table, a row per row sent", async () => {
    const page = await openPage();
    const example = model.inputExample as { columns: string[]; data: unknown[][] };
    expect(await page.$$eval("#try-rows tr", (trs) => trs.length)).toBe(example.data.length);
    await page.click("#try-form button[type=submit]");
    await page.waitForSelector("#try-result tbody tr");
    await shot(page, "model-page-predictions");
    const expected = await predict({ dataframe_split: example, params: { margin: 0, runner: "SequentialRunner" } });
    expect(expected.status).toBe(200);
    const { headers, rows } = await resultRows(page);
    const predictions = expected.json.predictions as Record<string, unknown>[];
    expect(headers).toEqual(Object.keys(predictions[0] as object));
    expect(rows).toEqual(predictions.map((p) => headers.map((h) => (typeof p[h] === "string" ? (p[h] as string) : JSON.stringify(p[h])))));
    expect(await page.textContent("#try-status")).toMatch(/^200 in \d+ ms · version 1$/);
    // Edit: add a row (a large x, labelled 1 at margin 0), remove the first, raise the margin past every score.
    await page.click("#add-row");
    const added = page.locator("#try-rows tr").last();
    expect(await added.locator("input").count()).toBe(example.columns.length);
    const newRow = example.columns.map((c, i) => (c === "x" ? 9.5 : example.data[0]?.[i]));
    for (const [i, v] of newRow.entries()) await added.locator("input").nth(i).fill(String(v));
    await page.getByRole("button", { name: "Remove row 1", exact: true }).click();
    await page.fill("#param-margin", "100");
    const [request] = await Promise.all([
      page.waitForRequest((r) => r.method() === "POST" && new URL(r.url()).pathname === "/invocations"),
      page.click("#try-form button[type=submit]"),
    ]);
    const sent = request.postDataJSON() as { dataframe_split: { columns: string[]; data: unknown[][] }; params: Record<string, unknown> };
    expect(sent).toEqual({
      dataframe_split: { columns: example.columns, data: [...example.data.slice(1), newRow] },
      params: { margin: 100, runner: "SequentialRunner" },
    });
    await page.waitForFunction(() => /^200 /.test(document.querySelector("#try-status")?.textContent ?? ""), undefined, { timeout: 10_000 });
    const edited = await resultRows(page);
    expect(edited.rows).toHaveLength(sent.dataframe_split.data.length);
    const answer = (await predict(sent)).json.predictions as Record<string, unknown>[];
    expect(edited.rows).toEqual(answer.map((p) => edited.headers.map((h) => JSON.stringify(p[h]))));
    // The margin reached the model: every label 0 now, and the added row's label was 1 at margin 0.
    expect(answer.every((p) => p["label"] === 0)).toBe(true);
    expect((await predict({ ...sent, params: { margin: 0 } })).json.predictions.at(-1).label).toBe(1);
    await shot(page, "model-page-edited");
    expect(problems.get(page)).toEqual([]);
    expectOwnRequests(page, url, "", ["/invocations"]);
    await page.close();
  });

  it("a text cell with line breaks (an e-mail, as the spam example's) is sent as it is: the form gives it a text area", async () => {
    const textModel = await buildModel(
      "pass_columns",
      { inputs: '[{"type": "string", "name": "text", "required": true}]', outputs: null, params: null },
      { inputExample: { text: ["Dear friend,\nyou won.\r\nReply now", "one line"] } },
    );
    const state = new ServerState();
    const logger = pino({ level: "silent" });
    const other = await serveApp(createApp(textModel, { logger, state }) as never, { port: 0, host: "127.0.0.1", state, logger, onStopped: () => undefined });
    try {
      const page = await browser.newPage();
      watch(page);
      await page.goto(`http://127.0.0.1:${other.port}/`);
      await page.waitForSelector("body[data-ready='true']", { timeout: 15_000 });
      expect(await page.locator("#try-rows textarea").count()).toBe(1);
      const [request] = await Promise.all([
        page.waitForRequest((r) => r.method() === "POST" && new URL(r.url()).pathname === "/invocations"),
        page.click("#try-form button[type=submit]"),
      ]);
      const sent = request.postDataJSON() as { dataframe_split: { data: unknown[][] } };
      // NB: a text area's value has its line ends as the HTML standard makes them: LF.
      expect(sent.dataframe_split.data).toEqual([["Dear friend,\nyou won.\nReply now"], ["one line"]]);
      await page.waitForSelector("#try-result tbody tr");
      expect(problems.get(page)).toEqual([]);
      await page.close();
    } finally {
      await other.stop();
      await textModel.close();
    }
  });

  it("a bad edit shows the server's error message", async () => {
    const page = await openPage();
    const first = page.locator("#try-rows tr").first().locator("input").first();
    await first.fill("abc");
    await page.keyboard.press("Enter");
    await page.waitForSelector("#try-result .error");
    await shot(page, "model-page-error");
    const example = model.inputExample as { columns: string[]; data: unknown[][] };
    const bad = {
      dataframe_split: { columns: example.columns, data: example.data.map((row, r) => (r === 0 ? ["abc", ...row.slice(1)] : row)) },
      params: { margin: 0, runner: "SequentialRunner" },
    };
    const expected = await predict(bad);
    expect(expected.status).toBe(400);
    expect(await page.textContent("#try-result .error")).toBe(`${expected.json.error_code}: ${expected.json.message}`);
    expect(await page.getAttribute("#try-result .error", "role")).toBe("alert");
    expect(await page.textContent("#try-status")).toMatch(/^400 in \d+ ms$/);
    await page.close();
  });

  it("the live figures follow the requests sent to the server", async () => {
    // NB: without the CSP, so the recorded requests are all those the script makes.
    const page = await openPage("/", { bypassCSP: true });
    await page.waitForFunction(() => document.querySelector("#m-requests")?.textContent !== "—");
    const before = Number(await page.textContent("#m-requests"));
    const example = model.inputExample as { columns: string[]; data: unknown[][] };
    // NB: one pipeline run in 16 is timed, so 32 requests time at least one run of the node.
    for (let i = 0; i < 32; i++) expect((await predict({ dataframe_split: example })).status).toBe(200);
    // The requests/s of the scrape that first counts them all (read with it: the next scrape, with no new requests, says 0).
    const rateAtCount = await page.waitForFunction(
      (n) => (Number(document.querySelector("#m-requests")?.textContent) >= n ? document.querySelector("#m-rate")?.textContent : undefined),
      before + 32,
      { timeout: 10_000 },
    );
    const rate = (await rateAtCount.jsonValue()) as string;
    expect(rate).toMatch(/^\d+\.\d$/);
    expect(Number(rate)).toBeGreaterThan(0);
    await page.waitForSelector("#node-bars li[data-node='predict']", { timeout: 10_000 });
    await page.waitForFunction(() => /ms$/.test(document.querySelector("#m-p50")?.textContent ?? ""), undefined, { timeout: 10_000 });
    await shot(page, "model-page-live");
    const rows = Number(await page.textContent("#m-rows"));
    expect(rows).toBeGreaterThanOrEqual(32 * example.data.length);
    // KServe v1 predictions and gRPC ModelInfer are predictions too; v1's status GETs are not.
    const counted = Number(await page.textContent("#m-requests"));
    const instances = example.data.map((row) => Object.fromEntries(example.columns.map((c, i) => [c, row[i]])));
    for (let i = 0; i < 2; i++) {
      const v1 = await fetch(`${url}/v1/models/${modelName}:predict`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ instances }),
      });
      expect(v1.status, await v1.text()).toBe(200);
      expect((await fetch(`${url}/v1/models/${modelName}`)).status).toBe(200);
      const infer = await grpcClient.call("ModelInfer", { model_name: modelName, inputs: [typedInput("x", "FP64", "fp64_contents", [4.449])] });
      expect(infer.code, infer.details).toBe(0);
    }
    await page.waitForFunction((n) => Number(document.querySelector("#m-requests")?.textContent) >= n, counted + 4, { timeout: 10_000 });
    // NB: a scrape later, still those four alone.
    await new Promise((r) => setTimeout(r, 2_500));
    expect(Number(await page.textContent("#m-requests"))).toBe(counted + 4);
    expect(await page.textContent("#m-p99")).toMatch(/^≤ [\d.]+ ms$/);
    expectOwnRequests(page, url);
    expect((requested.get(page) ?? []).filter((u) => u === `${url}/metrics`).length).toBeGreaterThanOrEqual(2);
    expect(problems.get(page)).toEqual([]);
    await page.close();
  });

  it("every control has a name, text has AA contrast, and the keyboard reaches the form", async () => {
    const page = await openPage();
    const unnamed = await page.evaluate(() =>
      [...document.querySelectorAll("input, select, button")]
        .filter((el) => {
          const labelled = el.id !== "" && document.querySelector(`label[for="${el.id}"]`) !== null;
          return !labelled && !el.getAttribute("aria-label") && (el.textContent ?? "").trim() === "";
        })
        .map((el) => el.outerHTML),
    );
    expect(unnamed).toEqual([]);
    // Text contrast (WCAG AA): every element that holds text, against the first opaque background behind it, at least 4.5:1.
    const lowContrast = await page.evaluate(`(() => {
      const rgb = (s) => (s.match(/[\\d.]+/g) || []).map(Number);
      const lum = ([r, g, b]) => { const f = (c) => { c /= 255; return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; }; return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b); };
      const bg = (el) => { for (let e = el; e; e = e.parentElement) { const c = rgb(getComputedStyle(e).backgroundColor); if (c.length === 3 || c[3] > 0) return c; } return [255, 255, 255]; };
      const out = [];
      for (const el of document.querySelectorAll("body *")) {
        const own = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim() !== "");
        if (!own || el.closest("svg") || el.getClientRects().length === 0) continue;
        const a = lum(rgb(getComputedStyle(el).color)), b = lum(bg(el));
        const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
        if (!(ratio >= 4.5)) out.push(el.tagName + " " + el.textContent.trim().slice(0, 30) + " " + ratio.toFixed(2));
      }
      return out;
    })()`);
    expect(lowContrast).toEqual([]);
    await page.keyboard.press("Tab");
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe("Skip to the try-it form");
    await page.keyboard.press("Enter");
    // Following a link to #try is a same-document navigation Chromium reports a moment after the key press.
    await expect.poll(() => page.url(), { timeout: 5_000 }).toBe(`${url}/#try`);
    await shot(page, "model-page-keyboard");
    await page.close();
  });
});

describe("a model's page among several (serve -m NAME=URI …)", { timeout: 60_000 }, () => {
  it("/models/NAME/ shows that model, sends its form to /models/NAME/invocations, and counts only its requests", async () => {
    const counter = await buildModel("row_count", SIGNATURES.ab, { inputExample: { a: [1, 2, 3], b: [0.5, 1.5, 2.5] } });
    const state = new ServerState();
    const logger = pino({ level: "silent" });
    const { app } = createModelSetApp(
      [
        { name: "scaler", uri: "models:/scaler-model/1", model },
        { name: "counter", uri: "counter", model: counter },
      ],
      { logger, state },
    );
    const set = await serveApp(app as never, { port: 0, host: "127.0.0.1", state, logger, onStopped: () => undefined });
    try {
      const base = `http://127.0.0.1:${set.port}`;
      for (let i = 0; i < 3; i++)
        await fetch(`${base}/models/scaler/invocations`, {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ dataframe_split: model.inputExample }),
        });
      const page = await browser.newPage({ viewport: { width: 1200, height: 1000 } });
      watch(page);
      await page.goto(`${base}/models/counter/`);
      await page.waitForSelector("body[data-ready='true']");
      expect(await page.textContent("#model-name")).toBe("counter");
      await page.waitForFunction(() => document.querySelector("#m-requests")?.textContent !== "—");
      // The scaler's three requests are not the counter's.
      expect(await page.textContent("#m-requests")).toBe("0");
      await page.click("#try-form button[type=submit]");
      await page.waitForSelector("#try-result tbody tr");
      expect(await resultRows(page)).toEqual({ headers: ["prediction"], rows: [["3"]] });
      await page.waitForFunction(() => document.querySelector("#m-requests")?.textContent === "1", undefined, { timeout: 10_000 });
      await shot(page, "model-page-model-set");
      expect(problems.get(page)).toEqual([]);
      // Its own routes under /models/counter, never the first model's /metadata or /invocations.
      expectOwnRequests(page, base, "/models/counter", ["/models/counter/invocations"]);
      await page.close();
    } finally {
      await set.stop();
    }
  });
});

describe("the page's HTTP side", () => {
  it("is HTML under a strict Content-Security-Policy; its script and style come from the server itself", async () => {
    const res = await fetch(`${url}/`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(res.headers.get("content-security-policy")).toContain("default-src 'none'; script-src 'self'");
    // It names the version it shows, as every response of the model's routes does.
    expect(res.headers.get("x-pipeserve-model-version")).toBe("1");
    const html = await res.text();
    // NB: nothing from elsewhere: the only URL is the SVG namespace inside the inline icon.
    expect(html.replace("http://www.w3.org/2000/svg", "")).not.toMatch(/https?:\/\//);
    for (const asset of ["/ui/page.js", "/ui/page.css"]) {
      const a = await fetch(`${url}${asset}`);
      expect(a.status, asset).toBe(200);
      const text = await a.text();
      expect(text.length).toBeGreaterThan(1000);
      // No URL of another host, absolute or protocol-relative (the SVG namespace is a name the script passes to createElementNS, never fetched).
      const urls = [...text.matchAll(/(?:https?:)?\/\/[\w.-]+\.[a-z]{2,}[^\s"'`)]*/gi)].map((m) => m[0]);
      expect(
        urls.filter((u) => u !== "http://www.w3.org/2000/svg"),
        asset,
      ).toEqual([]);
    }
  });

  it("--no-ui (ui: false) turns it off: GET / is a 404", async () => {
    const state = new ServerState();
    const logger = pino({ level: "silent" });
    const off = await serveApp(createApp(model, { logger, state, ui: false }) as never, {
      port: 0,
      host: "127.0.0.1",
      state,
      logger,
      onStopped: () => undefined,
    });
    try {
      for (const path of ["/", "/ui/page.js"]) expect((await fetch(`http://127.0.0.1:${off.port}${path}`)).status, path).toBe(404);
      expect((await fetch(`http://127.0.0.1:${off.port}/metadata`)).status).toBe(200);
    } finally {
      await off.stop();
    }
  });
});
