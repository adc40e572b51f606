// The model page's script (GET /): reads /metadata and /metrics, and draws the pipeline graph,
// the signature and params tables, copy-paste examples, a try-it form and live figures. Plain
// browser JavaScript, served by pipeserve itself (no CDN, no build step); type-checked with
// tsconfig.ui.json. Everything shown comes from /metadata and /metrics; text is set with
// textContent, never parsed as HTML.

/**
 * @typedef {{ name: string, inputs: string[], outputs: string[] }} PipelineNode
 * @typedef {{ input: string, output: string, nodes: PipelineNode[], artifacts: string[] }} PipelineView
 * @typedef {{ type: string, name?: string, required?: boolean }} ColumnSpec
 * @typedef {{ name: string, type: string, default: unknown, shape: number[] | null }} ParamSpec
 * @typedef {{
 *   name: string, version: string | null, uri: string, run_id: string | null,
 *   utc_time_created: string | null, pipeserve_version: string,
 *   signature: { inputs: string | null, outputs: string | null, params: string | null } | null,
 *   params: ParamSpec[], runners: string[],
 *   input_example: { columns: string[], data: unknown[][] } | null,
 *   pipeline: PipelineView
 * }} Metadata
 * @typedef {{ name: string, labels: Record<string, string>, value: number }} Sample
 */

const body = document.body;
/** Where this model's routes are: "" for /, "/models/NAME" with several models. */
const base = body.dataset["base"] ?? "";
/** The model's name in the metrics' `model` label, with several models; "" with one. */
const metricsModel = body.dataset["model"] ?? "";

/** @param {string} id */
function byId(id) {
  const el = document.getElementById(id);
  if (!el) throw new Error(`The page has no #${id}`);
  return el;
}

/**
 * An element with text and attributes.
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {Record<string, string>} [attrs]
 * @param {(Node | string)[]} [children]
 * @returns {HTMLElementTagNameMap[K]}
 */
function h(tag, attrs = {}, children = []) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  for (const c of children) el.append(typeof c === "string" ? document.createTextNode(c) : c);
  return el;
}

/** @param {unknown} v */
function show(v) {
  if (v === null || v === undefined) return "—";
  return typeof v === "string" ? v : JSON.stringify(v);
}

/** @param {string | null | undefined} text @returns {ColumnSpec[]} */
function columnsOf(text) {
  if (!text) return [];
  try {
    const parsed = JSON.parse(text);
    return Array.isArray(parsed) ? parsed : [];
  } catch {
    return [];
  }
}

// ── The model ──────────────────────────────────────────────────────────────────────────────

/** @param {Metadata} meta */
function renderSummary(meta) {
  byId("model-name").textContent = meta.name;
  document.title = `${meta.name} · pipeserve`;
  const facts = [
    ["Version", meta.version ?? "—"],
    ["Run", meta.run_id ?? "—"],
    ["Trained", meta.utc_time_created ?? "—"],
    ["URI", meta.uri],
    ["pipeserve", meta.pipeserve_version],
  ];
  const dl = byId("summary");
  for (const [k, v] of facts) dl.append(h("dt", {}, [k ?? ""]), h("dd", {}, [v ?? ""]));
}

// ── The pipeline graph ─────────────────────────────────────────────────────────────────────

const SVG = "http://www.w3.org/2000/svg";

/**
 * @param {string} tag
 * @param {Record<string, string | number>} attrs
 * @param {string} [text]
 */
function svg(tag, attrs, text) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  if (text !== undefined) el.textContent = text;
  return el;
}

/**
 * The pipeline as layers: datasets and nodes alternate, each placed one layer after what it needs.
 * @param {PipelineView} p
 */
function layout(p) {
  /** @type {Map<string, number>} */
  const datasetLayer = new Map();
  /** @type {Map<string, number>} */
  const nodeLayer = new Map();
  const producers = new Map(p.nodes.flatMap((n) => n.outputs.map((o) => [o, n])));
  let changed = true;
  for (let round = 0; changed && round <= p.nodes.length + 1; round++) {
    changed = false;
    for (const n of p.nodes) {
      const layer = 1 + Math.max(0, ...n.inputs.map((i) => datasetLayer.get(i) ?? 0));
      if (nodeLayer.get(n.name) !== layer) {
        nodeLayer.set(n.name, layer);
        changed = true;
      }
      for (const o of n.outputs) datasetLayer.set(o, layer + 1);
    }
  }
  // A dataset no node produces (the request, an artifact, a param) sits just before its first reader.
  for (const n of p.nodes) {
    for (const i of n.inputs) {
      if (producers.has(i)) continue;
      const before = (nodeLayer.get(n.name) ?? 1) - 1;
      datasetLayer.set(i, Math.min(datasetLayer.get(i) ?? before, before));
    }
  }
  /** @type {{ id: string, label: string, kind: string, layer: number }[]} */
  const items = [];
  for (const [name, layer] of datasetLayer) {
    const kind =
      name === p.input ? "input" : name === p.output ? "output" : p.artifacts.includes(name) ? "artifact" : name.startsWith("params:") ? "param" : "dataset";
    items.push({ id: `d:${name}`, label: name, kind, layer });
  }
  for (const [name, layer] of nodeLayer) items.push({ id: `n:${name}`, label: name, kind: "node", layer });
  return items;
}

/** @param {PipelineView} p */
function renderGraph(p) {
  const items = layout(p);
  const layers = Math.max(0, ...items.map((i) => i.layer)) + 1;
  const colW = 190;
  const rowH = 56;
  const boxW = 160;
  const boxH = 34;
  /** @type {Map<string, { x: number, y: number }>} */
  const at = new Map();
  let rows = 1;
  for (let l = 0; l < layers; l++) {
    const here = items.filter((i) => i.layer === l);
    rows = Math.max(rows, here.length);
    here.forEach((item, r) => at.set(item.id, { x: 10 + l * colW, y: 10 + r * rowH }));
  }
  const width = 20 + layers * colW;
  const height = 20 + rows * rowH;
  const graph = svg("svg", { viewBox: `0 0 ${width} ${height}`, width, height, role: "img", "aria-labelledby": "graph-title" });
  graph.append(svg("title", { id: "graph-title" }, `The inference pipeline: ${p.nodes.length} node(s) from ${p.input} to ${p.output}`));
  const defs = svg("defs", {});
  const marker = svg("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 10, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse" });
  marker.append(svg("path", { d: "M 0 0 L 10 5 L 0 10 z", class: "edge-head" }));
  defs.append(marker);
  graph.append(defs);
  /** @param {string} from @param {string} to */
  const edge = (from, to) => {
    const a = at.get(from);
    const b = at.get(to);
    if (!a || !b) return;
    const x1 = a.x + boxW;
    const y1 = a.y + boxH / 2;
    const x2 = b.x;
    const y2 = b.y + boxH / 2;
    const mid = (x1 + x2) / 2;
    graph.append(svg("path", { d: `M ${x1} ${y1} C ${mid} ${y1}, ${mid} ${y2}, ${x2} ${y2}`, class: "edge", "marker-end": "url(#arrow)" }));
  };
  for (const n of p.nodes) {
    for (const i of n.inputs) edge(`d:${i}`, `n:${n.name}`);
    for (const o of n.outputs) edge(`n:${n.name}`, `d:${o}`);
  }
  for (const item of items) {
    const pos = at.get(item.id);
    if (!pos) continue;
    const g = svg("g", { class: `item ${item.kind}`, "data-kind": item.kind, "data-name": item.label });
    const rx = item.kind === "node" ? 4 : boxH / 2;
    g.append(svg("rect", { x: pos.x, y: pos.y, width: boxW, height: boxH, rx }));
    const label = item.label.length > 22 ? `${item.label.slice(0, 21)}…` : item.label;
    g.append(svg("text", { x: pos.x + boxW / 2, y: pos.y + boxH / 2 + 4, "text-anchor": "middle" }, label));
    g.append(svg("title", {}, `${item.kind}: ${item.label}`));
    graph.append(g);
  }
  byId("graph").append(graph);
  // The same as text, for screen readers and copy.
  const list = byId("graph-list");
  for (const n of p.nodes) list.append(h("li", {}, [h("code", {}, [n.name]), `: ${n.inputs.join(", ")} → ${n.outputs.join(", ")}`]));
  if (p.artifacts.length > 0) byId("artifacts").textContent = `Artifacts packaged with the model: ${p.artifacts.join(", ")}.`;
}

// ── Tables ─────────────────────────────────────────────────────────────────────────────────

/**
 * @param {HTMLElement} into
 * @param {string[]} headers
 * @param {string[][]} rows
 * @param {string} caption
 */
function table(into, headers, rows, caption) {
  const t = h("table", {}, [h("caption", {}, [caption])]);
  t.append(
    h("thead", {}, [
      h(
        "tr",
        {},
        headers.map((x) => h("th", { scope: "col" }, [x])),
      ),
    ]),
  );
  const tb = h("tbody");
  for (const r of rows)
    tb.append(
      h(
        "tr",
        {},
        r.map((x) => h("td", {}, [x])),
      ),
    );
  t.append(tb);
  into.replaceChildren(t);
  return t;
}

/** @param {Metadata} meta */
function renderSignature(meta) {
  const inputs = columnsOf(meta.signature?.inputs);
  const outputs = columnsOf(meta.signature?.outputs);
  if (inputs.length > 0) {
    table(
      byId("inputs"),
      ["Column", "Type", "Required"],
      inputs.map((c) => [c.name ?? "(unnamed)", c.type, c.required === false ? "no" : "yes"]),
      "Input columns",
    );
  } else byId("inputs").textContent = "This model has no input signature: any columns are accepted.";
  if (outputs.length > 0) {
    table(
      byId("outputs"),
      ["Column", "Type"],
      outputs.map((c) => [c.name ?? "(unnamed)", c.type]),
      "Output columns",
    );
  } else byId("outputs").textContent = "No output signature.";
  if (meta.params.length > 0) {
    table(
      byId("params"),
      ["Param", "Type", "Default", "Shape"],
      meta.params.map((p) => [p.name, p.type, show(p.default), p.shape ? JSON.stringify(p.shape) : "scalar"]),
      "Runtime params (send them as params)",
    );
  } else byId("params").textContent = "This model takes no runtime params.";
}

// ── Examples ───────────────────────────────────────────────────────────────────────────────

/** @param {Metadata} meta */
function exampleBody(meta) {
  const ex = meta.input_example ?? { columns: columnsOf(meta.signature?.inputs).map((c) => c.name ?? ""), data: [] };
  return { dataframe_split: { columns: ex.columns, data: ex.data } };
}

/**
 * A JSON value as a Python literal (None, True, False; strings as JSON writes them, which Python reads alike).
 * @param {unknown} v @returns {string}
 */
function python(v) {
  if (v === null || v === undefined) return "None";
  if (v === true) return "True";
  if (v === false) return "False";
  if (Array.isArray(v)) return `[${v.map(python).join(", ")}]`;
  if (typeof v === "object")
    return `{${Object.entries(v)
      .map(([k, x]) => `${JSON.stringify(k)}: ${python(x)}`)
      .join(", ")}}`;
  return JSON.stringify(v);
}

/** @param {Metadata} meta */
function renderExamples(meta) {
  const url = `${location.origin}${base}/invocations`;
  const json = JSON.stringify(exampleBody(meta));
  const quoted = json.replaceAll("'", "'\\''");
  const csvHead = (meta.input_example?.columns ?? []).join(",");
  const snippets = [
    ["curl", `curl -s ${url} \\\n  -H 'Content-Type: application/json' \\\n  -d '${quoted}'`],
    [
      "Python (requests)",
      `import requests\n\nresponse = requests.post(\n    "${url}",\n    json=${python(exampleBody(meta))},\n)\nprint(response.json()["predictions"])`,
    ],
    [
      "JavaScript (fetch)",
      `const response = await fetch("${url}", {\n  method: "POST",\n  headers: { "Content-Type": "application/json" },\n  body: JSON.stringify(${json}),\n});\nconsole.log((await response.json()).predictions);`,
    ],
    ["pipeserve predict", `# input.csv has the columns ${csvHead || "of the signature"}\npipeserve predict -m ${meta.uri} -i input.csv -o predictions.csv`],
  ];
  const box = byId("examples");
  for (const [title, code] of snippets) {
    const pre = h("pre", { tabindex: "0" }, [h("code", {}, [code ?? ""])]);
    const copy = h("button", { type: "button", class: "copy" }, ["Copy"]);
    copy.addEventListener("click", () => {
      void navigator.clipboard?.writeText(code ?? "").then(
        () => (copy.textContent = "Copied"),
        () => (copy.textContent = "Select and copy"),
      );
    });
    box.append(h("section", { class: "snippet" }, [h("h3", {}, [title ?? ""]), copy, pre]));
  }
}

// ── Try it ─────────────────────────────────────────────────────────────────────────────────

/** @type {string[]} */
let formColumns = [];
/** @type {Map<string, string>} */
let columnTypes = new Map();

/**
 * A cell's text as the JSON value the column's type wants; text that is not one is sent as it is,
 * so the server says what is wrong with it.
 * @param {string} text @param {string | undefined} type
 */
function cellValue(text, type) {
  const t = text.trim();
  if (t === "") return null;
  if (type === "long" || type === "integer" || type === "double" || type === "float") {
    const n = Number(t);
    return Number.isFinite(n) && /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(t) ? n : text;
  }
  if (type === "boolean") return t === "true" ? true : t === "false" ? false : text;
  if (type === undefined) {
    const n = Number(t);
    return t !== "" && Number.isFinite(n) ? n : text;
  }
  return text;
}

/** @param {unknown[]} [values] */
function addRow(values = []) {
  const tbody = byId("try-rows");
  const r = tbody.children.length;
  const tr = h("tr");
  formColumns.forEach((col, i) => {
    const text = values[i] === null || values[i] === undefined ? "" : String(values[i]);
    const attrs = { name: `${col}-${r}`, "aria-label": `${col}, row ${r + 1}` };
    // NB: an <input> drops line breaks: a text that has them (an e-mail, a review) gets a text area, so it is sent as it is.
    const field = /[\r\n]/.test(text) ? h("textarea", { ...attrs, rows: "3" }, [text]) : h("input", { ...attrs, type: "text", value: text });
    tr.append(h("td", {}, [field]));
  });
  const remove = h("button", { type: "button", "aria-label": `Remove row ${r + 1}` }, ["×"]);
  remove.addEventListener("click", () => tr.remove());
  tr.append(h("td", {}, [remove]));
  tbody.append(tr);
}

/** @param {Metadata} meta */
function renderForm(meta) {
  const inputs = columnsOf(meta.signature?.inputs);
  formColumns = meta.input_example?.columns ?? inputs.map((c) => c.name ?? "");
  columnTypes = new Map(inputs.map((c) => [c.name ?? "", c.type]));
  byId("try-head").replaceChildren(
    h("tr", {}, [...formColumns.map((c) => h("th", { scope: "col" }, [c])), h("th", { scope: "col" }, [h("span", { class: "sr-only" }, ["Remove"])])]),
  );
  const rows = meta.input_example?.data ?? [[]];
  for (const row of rows.slice(0, 50)) addRow(row);
  byId("add-row").addEventListener("click", () => addRow());
  const params = byId("try-params");
  for (const p of meta.params) {
    const id = `param-${p.name}`;
    if (p.name === "runner" && meta.runners.length > 0) {
      const select = h(
        "select",
        { id, name: p.name },
        meta.runners.map((r) => h("option", { value: r }, [r])),
      );
      select.value = String(p.default ?? meta.runners[0]);
      params.append(h("label", { for: id }, [`${p.name} (runner)`]), select);
      continue;
    }
    params.append(
      h("label", { for: id }, [`${p.name} (${p.type}${p.shape ? `, shape ${JSON.stringify(p.shape)}` : ""})`]),
      h("input", { id, name: p.name, type: "text", value: show(p.default) === "—" ? "" : show(p.default) }),
    );
  }
  byId("try-form").addEventListener("submit", (event) => {
    event.preventDefault();
    void send(meta);
  });
}

/** @param {Metadata} meta */
async function send(meta) {
  const data = [...byId("try-rows").querySelectorAll("tr")].map((tr) =>
    [...tr.querySelectorAll("input, textarea")].map((field, i) =>
      cellValue(/** @type {HTMLInputElement} */ (field).value, columnTypes.get(formColumns[i] ?? "")),
    ),
  );
  /** @type {Record<string, unknown>} */
  const params = {};
  for (const p of meta.params) {
    const el = /** @type {HTMLInputElement | HTMLSelectElement | null} */ (document.getElementById(`param-${p.name}`));
    if (!el || el.value.trim() === "") continue;
    let value = /** @type {unknown} */ (el.value);
    if (p.type !== "string") {
      try {
        value = JSON.parse(el.value);
      } catch {
        value = el.value;
      }
    }
    params[p.name] = value;
  }
  const request = { dataframe_split: { columns: formColumns, data }, ...(Object.keys(params).length > 0 ? { params } : {}) };
  const status = byId("try-status");
  const result = byId("try-result");
  status.textContent = "Sending…";
  result.replaceChildren();
  const started = performance.now();
  try {
    const res = await fetch(`${base}/invocations`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(request) });
    const text = await res.text();
    const ms = Math.round(performance.now() - started);
    /** @type {any} */
    let answer;
    try {
      answer = JSON.parse(text);
    } catch {
      answer = { message: text };
    }
    if (!res.ok) {
      status.textContent = `${res.status} in ${ms} ms`;
      result.replaceChildren(h("p", { class: "error", role: "alert" }, [`${answer.error_code ?? res.status}: ${answer.message ?? text}`]));
      return;
    }
    status.textContent = `200 in ${ms} ms · version ${res.headers.get("x-pipeserve-model-version") ?? "—"}`;
    renderPredictions(result, answer.predictions);
  } catch (error) {
    status.textContent = "No answer";
    result.replaceChildren(h("p", { class: "error", role: "alert" }, [`The request failed: ${String(error)}`]));
  }
}

/** @param {HTMLElement} into @param {unknown} predictions */
function renderPredictions(into, predictions) {
  const list = Array.isArray(predictions) ? predictions : [predictions];
  const objects = list.every((p) => p !== null && typeof p === "object" && !Array.isArray(p));
  if (objects && list.length > 0) {
    const cols = [...new Set(list.flatMap((p) => Object.keys(/** @type {object} */ (p))))];
    table(
      into,
      ["#", ...cols],
      list.map((p, i) => [String(i + 1), ...cols.map((c) => show(/** @type {Record<string, unknown>} */ (p)[c]))]),
      "Predictions",
    );
  } else {
    table(
      into,
      ["#", "prediction"],
      list.map((p, i) => [String(i + 1), show(p)]),
      "Predictions",
    );
  }
}

// ── Live figures ───────────────────────────────────────────────────────────────────────────

/**
 * Prometheus text as samples. NB: label values here never hold `,` or `}` unescaped except in
 * quotes, which the pattern reads whole.
 * @param {string} text @returns {Sample[]}
 */
function parseMetrics(text) {
  /** @type {Sample[]} */
  const out = [];
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    /** @type {Record<string, string>} */
    const labels = {};
    for (const l of (m[2] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1] ?? ""] = (l[2] ?? "").replace(/\\(.)/g, "$1");
    out.push({ name: m[1] ?? "", labels, value: Number(m[3]) });
  }
  return out;
}

/** @param {Sample} s */
const ours = (s) => (metricsModel === "" ? true : s.labels["model"] === metricsModel);
/**
 * Whether a series counts predictions: MLflow's /invocations, the Open Inference Protocol's /infer
 * and gRPC ModelInfer, and KServe v1's predict (POST on /v1/models/NAME:predict; its GET is a status).
 * @param {Sample} s
 */
const scoring = (s) => {
  const route = s.labels["route"] ?? "";
  return (
    route.endsWith("/invocations") ||
    route.endsWith("/infer") ||
    route.endsWith("/ModelInfer") ||
    (route.startsWith("/v1/models/") && s.labels["method"] === "POST")
  );
};

/**
 * What one scrape says: scoring requests, latency buckets, rows, and time per node.
 * @param {Sample[]} samples
 */
function snapshot(samples) {
  let requests = 0;
  let rows = 0;
  /** @type {Map<number, number>} */
  const buckets = new Map();
  /** @type {Map<string, { sum: number, count: number }>} */
  const nodes = new Map();
  for (const s of samples) {
    if (!ours(s)) continue;
    if (s.name === "pipeserve_http_requests_total" && scoring(s)) requests += s.value;
    else if (s.name === "pipeserve_prediction_rows_total") rows += s.value;
    else if (s.name === "pipeserve_http_request_duration_seconds_bucket" && scoring(s)) {
      const le = s.labels["le"] === "+Inf" ? Number.POSITIVE_INFINITY : Number(s.labels["le"]);
      buckets.set(le, (buckets.get(le) ?? 0) + s.value);
    } else if (s.name === "pipeserve_pipeline_node_duration_seconds_sum" || s.name === "pipeserve_pipeline_node_duration_seconds_count") {
      const node = s.labels["node"] ?? "";
      const n = nodes.get(node) ?? { sum: 0, count: 0 };
      if (s.name.endsWith("_sum")) n.sum += s.value;
      else n.count += s.value;
      nodes.set(node, n);
    }
  }
  return { at: performance.now(), requests, rows, buckets, nodes };
}

/** @type {ReturnType<typeof snapshot>[]} */
const scrapes = [];
const WINDOW_MS = 5 * 60 * 1000;

/**
 * The latency at quantile q (seconds) from bucket counts gained since `from`: the upper bound of the bucket it falls in.
 * @param {Map<number, number>} now @param {Map<number, number>} from @param {number} q
 */
function quantile(now, from, q) {
  const les = [...now.keys()].sort((a, b) => a - b);
  const total = (now.get(Number.POSITIVE_INFINITY) ?? 0) - (from.get(Number.POSITIVE_INFINITY) ?? 0);
  if (total <= 0) return undefined;
  for (const le of les) {
    if ((now.get(le) ?? 0) - (from.get(le) ?? 0) >= q * total) return le;
  }
  return undefined;
}

/** @param {number | undefined} seconds */
function ms(seconds) {
  if (seconds === undefined) return "—";
  if (!Number.isFinite(seconds)) return "> 60 s";
  return seconds < 0.001 ? `≤ ${(seconds * 1000).toFixed(2)} ms` : `≤ ${(seconds * 1000).toFixed(seconds < 0.01 ? 1 : 0)} ms`;
}

async function refreshMetrics() {
  try {
    const res = await fetch("/metrics");
    if (!res.ok) throw new Error(String(res.status));
    const now = snapshot(parseMetrics(await res.text()));
    scrapes.push(now);
    while (scrapes.length > 2 && (scrapes[0]?.at ?? 0) < now.at - WINDOW_MS) scrapes.shift();
    const first = scrapes[0] ?? now;
    const prev = scrapes.at(-2) ?? now;
    const seconds = (now.at - prev.at) / 1000;
    const rate = seconds > 0 ? (now.requests - prev.requests) / seconds : 0;
    byId("m-rate").textContent = scrapes.length > 1 ? rate.toFixed(1) : "—";
    byId("m-requests").textContent = String(now.requests);
    byId("m-rows").textContent = String(now.rows);
    byId("m-p50").textContent = ms(quantile(now.buckets, scrapes.length > 1 ? first.buckets : new Map(), 0.5));
    byId("m-p99").textContent = ms(quantile(now.buckets, scrapes.length > 1 ? first.buckets : new Map(), 0.99));
    renderNodeBars(now.nodes);
    byId("metrics-status").textContent = `Updated ${new Date().toLocaleTimeString()}`;
  } catch (error) {
    byId("metrics-status").textContent = `Metrics unavailable (${String(error)})`;
  }
}

/** @param {Map<string, { sum: number, count: number }>} nodes */
function renderNodeBars(nodes) {
  const box = byId("node-bars");
  const means = [...nodes].filter(([, n]) => n.count > 0).map(([name, n]) => ({ name, mean: n.sum / n.count }));
  if (means.length === 0) {
    box.textContent = "No timed pipeline runs yet (one run in 16 is timed).";
    return;
  }
  const max = Math.max(...means.map((m) => m.mean));
  const list = h("ul", { class: "bars" });
  for (const m of means) {
    const bar = h("span", { class: "bar" });
    bar.style.width = `${Math.max(2, (100 * m.mean) / max)}%`;
    list.append(
      h("li", { "data-node": m.name }, [
        h("span", { class: "bar-label" }, [m.name]),
        bar,
        h("span", { class: "bar-value" }, [`${(m.mean * 1000).toFixed(3)} ms`]),
      ]),
    );
  }
  box.replaceChildren(list);
}

// ── Start ──────────────────────────────────────────────────────────────────────────────────

async function start() {
  try {
    const res = await fetch(`${base}/metadata`);
    if (!res.ok) throw new Error(`GET ${base}/metadata answered ${res.status}`);
    /** @type {Metadata} */
    const meta = await res.json();
    renderSummary(meta);
    renderGraph(meta.pipeline);
    renderSignature(meta);
    renderExamples(meta);
    renderForm(meta);
    body.dataset["ready"] = "true";
  } catch (error) {
    byId("load-error").textContent = `The model's metadata could not be read: ${String(error)}`;
  }
  await refreshMetrics();
  setInterval(() => void refreshMetrics(), 2000);
}

void start();

// NB: a module (the page loads it with type="module"): its names stay out of the global scope.
export {};
