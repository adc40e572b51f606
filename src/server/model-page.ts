import { readFileSync } from "node:fs";
import type { Context } from "hono";
import { send, type AddRoute, type Env } from "./routing.js";

/**
 * What the page may load and talk to: its own script and style, and this server (for /metadata,
 * /invocations and /metrics); nothing else, no inline script, no frames.
 */
const PAGE_HEADERS: Readonly<Record<string, string>> = {
  "Content-Security-Policy":
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "no-referrer",
  "Cache-Control": "no-cache",
};

/** Text for HTML content and attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

/** The page's HTML: the frame its script fills from /metadata and /metrics. */
export function modelPageHtml(options: { name: string; base: string; metricsModel: string }): string {
  const name = escapeHtml(options.name);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${name} · pipeserve</title>
<link rel="icon" href="data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 16 16'%3E%3Crect width='16' height='16' rx='3' fill='%230b5cad'/%3E%3Cpath d='M4 8h8M9 5l3 3-3 3' stroke='white' stroke-width='2' fill='none'/%3E%3C/svg%3E">
<link rel="stylesheet" href="/ui/page.css">
<script type="module" src="/ui/page.js"></script>
</head>
<body data-base="${escapeHtml(options.base)}" data-model="${escapeHtml(options.metricsModel)}">
<a class="skip" href="#try">Skip to the try-it form</a>
<header>
  <p class="brand">pipeserve</p>
  <h1 id="model-name">${name}</h1>
  <dl id="summary" class="summary"></dl>
  <p id="load-error" class="error" role="alert"></p>
</header>
<main>
  <section aria-labelledby="h-pipeline">
    <h2 id="h-pipeline">Pipeline</h2>
    <p class="legend" aria-hidden="true"><span class="key input">request input</span> <span class="key node">node</span> <span class="key artifact">packaged artifact</span> <span class="key param">param</span> <span class="key output">predictions</span></p>
    <div id="graph" class="graph"></div>
    <p id="artifacts"></p>
    <details><summary>The pipeline as a list</summary><ul id="graph-list"></ul></details>
  </section>
  <section aria-labelledby="h-signature">
    <h2 id="h-signature">Signature</h2>
    <div class="tables"><div id="inputs"></div><div id="outputs"></div><div id="params"></div></div>
  </section>
  <section id="try" aria-labelledby="h-try">
    <h2 id="h-try">Try it</h2>
    <form id="try-form">
      <div class="scroll"><table class="edit"><caption>Rows to send (edit any cell)</caption><thead id="try-head"></thead><tbody id="try-rows"></tbody></table></div>
      <p><button id="add-row" type="button">Add a row</button></p>
      <fieldset id="try-params" class="params"><legend>Params</legend></fieldset>
      <p><button type="submit" class="primary">Send to /invocations</button> <span id="try-status" role="status" aria-live="polite"></span></p>
    </form>
    <div id="try-result" aria-live="polite"></div>
  </section>
  <section aria-labelledby="h-live">
    <h2 id="h-live">Live</h2>
    <dl class="figures">
      <div><dt>Requests/s</dt><dd id="m-rate">—</dd></div>
      <div><dt>Requests</dt><dd id="m-requests">—</dd></div>
      <div><dt>p50 latency (5 min)</dt><dd id="m-p50">—</dd></div>
      <div><dt>p99 latency (5 min)</dt><dd id="m-p99">—</dd></div>
      <div><dt>Rows predicted</dt><dd id="m-rows">—</dd></div>
    </dl>
    <h3>Mean time per node</h3>
    <div id="node-bars"></div>
    <p id="metrics-status" class="muted" aria-live="off"></p>
  </section>
  <section aria-labelledby="h-examples">
    <h2 id="h-examples">Call it</h2>
    <div id="examples" class="examples"></div>
  </section>
</main>
<footer><a href="${escapeHtml(options.base)}/openapi.json">OpenAPI document</a> · <a href="${escapeHtml(options.base)}/metadata">metadata</a> · <a href="/metrics">metrics</a></footer>
</body>
</html>
`;
}

/** The page's style: system fonts, contrast above 4.5:1, visible focus. */
export const PAGE_CSS = `
:root { color-scheme: light; --fg: #1b1f24; --muted: #4a5360; --line: #c9d1d9; --bg: #ffffff; --panel: #f5f7fa; --accent: #0b5cad; --error: #a4161a;
  --input: #dbeafe; --node: #ffffff; --artifact: #fde68a; --param: #e9d5ff; --output: #bbf7d0; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: var(--bg); }
header, main, footer { max-width: 1100px; margin: 0 auto; padding: 0 20px; }
header { padding-top: 16px; border-bottom: 1px solid var(--line); }
.brand { margin: 0; color: var(--muted); font-weight: 600; letter-spacing: .04em; }
h1 { margin: 4px 0 8px; font-size: 28px; }
h2 { font-size: 20px; margin: 28px 0 10px; }
h3 { font-size: 16px; margin: 18px 0 8px; }
.summary { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; margin: 0 0 12px; }
.summary dt { color: var(--muted); }
.summary dd { margin: 0; font-family: ui-monospace, SFMono-Regular, Menlo, monospace; overflow-wrap: anywhere; }
.skip { position: absolute; left: -9999px; }
.skip:focus { left: 8px; top: 8px; background: var(--bg); padding: 6px 10px; border: 2px solid var(--accent); }
:focus-visible { outline: 3px solid var(--accent); outline-offset: 2px; }
.graph { overflow-x: auto; border: 1px solid var(--line); border-radius: 6px; background: var(--panel); padding: 6px; }
.graph svg { max-width: 100%; height: auto; display: block; }
.graph svg text { font: 13px system-ui, sans-serif; fill: var(--fg); }
.graph .item rect { stroke: #57606a; stroke-width: 1.2; fill: var(--node); }
.graph .input rect, .key.input { fill: var(--input); background: var(--input); }
.graph .artifact rect, .key.artifact { fill: var(--artifact); background: var(--artifact); }
.graph .param rect, .key.param { fill: var(--param); background: var(--param); }
.graph .output rect, .key.output { fill: var(--output); background: var(--output); }
.graph .dataset rect { fill: #eef1f4; }
.graph .edge { fill: none; stroke: #57606a; stroke-width: 1.3; }
.graph .edge-head { fill: #57606a; }
.legend { margin: 0 0 8px; }
.key { display: inline-block; padding: 0 8px; border: 1px solid #57606a; border-radius: 10px; font-size: 13px; }
.key.node { border-radius: 3px; background: var(--node); }
/* NB: each table as wide as its content, on one line while they fit; one wider than the page wraps its cells, else scrolls in its box. */
.tables { display: flex; flex-wrap: wrap; gap: 16px; }
.tables > div { flex: 1 1 auto; min-width: 0; max-width: 100%; overflow-x: auto; }
table { border-collapse: collapse; width: 100%; }
caption { text-align: left; font-weight: 600; padding: 4px 0; }
th, td { border: 1px solid var(--line); padding: 4px 8px; text-align: left; vertical-align: top; }
.tables th { white-space: nowrap; }
.tables td { overflow-wrap: anywhere; }
th { background: var(--panel); }
/* NB: positioned, so the absolutely placed .sr-only text inside it is clipped with the table instead of widening the page. */
.scroll { overflow-x: auto; position: relative; }
table.edit input { width: 100%; min-width: 80px; font: inherit; padding: 3px 5px; border: 1px solid #8c959f; border-radius: 3px; }
.params { display: grid; grid-template-columns: max-content minmax(120px, 320px); gap: 6px 12px; align-items: center; border: 1px solid var(--line); border-radius: 6px; }
.params input, .params select { font: inherit; padding: 3px 5px; }
button { font: inherit; padding: 4px 12px; border: 1px solid #57606a; border-radius: 4px; background: var(--bg); color: var(--fg); cursor: pointer; }
button.primary { background: var(--accent); border-color: var(--accent); color: #fff; }
.error { color: var(--error); font-weight: 600; }
.error:empty { display: none; }
.muted { color: var(--muted); }
.figures { display: grid; grid-template-columns: repeat(auto-fit, minmax(150px, 1fr)); gap: 10px; margin: 0; }
.figures div { border: 1px solid var(--line); border-radius: 6px; padding: 8px 12px; background: var(--panel); }
.figures dt { color: var(--muted); font-size: 13px; }
.figures dd { margin: 0; font-size: 22px; font-weight: 600; }
.bars { list-style: none; padding: 0; margin: 0; }
.bars li { display: grid; grid-template-columns: 180px 1fr 110px; gap: 10px; align-items: center; margin: 4px 0; }
.bar { display: block; height: 14px; background: var(--accent); border-radius: 3px; }
.bar-label { overflow: hidden; text-overflow: ellipsis; font-family: ui-monospace, monospace; }
.bar-value { text-align: right; font-variant-numeric: tabular-nums; }
.examples { display: grid; grid-template-columns: minmax(0, 1fr); gap: 12px; }
.snippet { position: relative; }
.snippet h3 { margin: 0 0 4px; }
.snippet .copy { position: absolute; right: 0; top: 0; }
pre { margin: 0; padding: 10px 12px; background: #1f2328; color: #f0f3f6; border-radius: 6px; overflow-x: auto; font-size: 13px; }
footer { margin-top: 32px; padding: 16px 20px 32px; border-top: 1px solid var(--line); }
a { color: var(--accent); }
.sr-only { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); }
`;

let script: string | undefined;

/** The page's script, read once from beside this module (src/server/ui, or dist/server/ui once built). */
function pageScript(): string {
  script ??= readFileSync(new URL("./ui/page.js", import.meta.url), "utf8");
  return script;
}

/**
 * The model's page (issue 18): `GET /` for the model (and `/models/{name}/` with several), with
 * its script and style under `/ui/`. It shows only what /metadata and /metrics already do.
 */
export function modelPageRoutes(route: AddRoute, { modelName, metricsModel }: { modelName: string; metricsModel: string }): void {
  const page = (c: Context<Env>): Response => {
    // NB: under /models/{name}/ the page's requests go to that model's routes; with several models its metrics are those labelled with its name.
    const nested = /^\/models\/[^/]+/.exec(c.req.path)?.[0];
    const html = modelPageHtml({ name: modelName, base: nested ?? "", metricsModel });
    // NB: through `send`, as every response of a model's routes: it names the version it shows (X-Pipeserve-Model-Version).
    return send(c, html, 200, "text/html; charset=utf-8", PAGE_HEADERS);
  };
  const asset = (body: () => string, contentType: string) => (c: Context<Env>) =>
    new Response(body(), { status: 200, headers: { "Content-Type": contentType, "X-Request-Id": c.get("requestId"), ...PAGE_HEADERS } });
  route("GET", "/", page);
  route("GET", "/ui/page.js", asset(pageScript, "text/javascript; charset=utf-8"));
  route(
    "GET",
    "/ui/page.css",
    asset(() => PAGE_CSS, "text/css; charset=utf-8"),
  );
}
