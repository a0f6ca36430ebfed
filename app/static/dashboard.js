// The deepclsmote dashboard: a client of the public /v1 API, nothing more.
// No build step and no dependencies: the DOM is built with h(), which sets
// text as text, so class names and messages from uploads are never parsed as HTML.
"use strict";

const KEY_STORAGE = "deepclsmote.apiKey";
const TERMINAL = new Set(["succeeded", "failed", "cancelled"]);
const LOSS_COLOURS = { loss: "#1d2430", recon: "#2f5dd3", penalty: "#c2410c",
                       compact: "#1f7a3e", separation: "#9333ea" };
const METHOD_COLOURS = ["#2f5dd3", "#c2410c", "#1f7a3e", "#9333ea", "#b3261e",
                        "#0e7490", "#9a6700", "#db2777", "#4b5563", "#65a30d"];

// --- the API ----------------------------------------------------------------
class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

function apiKey() { return localStorage.getItem(KEY_STORAGE) || ""; }

function headers(extra = {}) {
  const key = apiKey();
  return key ? { "X-API-Key": key, ...extra } : extra;
}

async function errorOf(response) {
  let code = `http_${response.status}`;
  let message = response.statusText || `HTTP ${response.status}`;
  try {
    const body = await response.json();
    if (body && body.error) { code = body.error.code; message = body.error.message; }
  } catch (_) { /* not JSON: keep the status line */ }
  if (response.status === 401) message += " (enter your API key at the top right)";
  return new ApiError(response.status, code, message);
}

async function api(method, path, { json, form, signal, raw = false } = {}) {
  const init = { method, headers: headers(), signal };
  if (json !== undefined) {
    init.headers = headers({ "Content-Type": "application/json" });
    init.body = JSON.stringify(json);
  } else if (form !== undefined) {
    init.body = form;
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (err) {
    if (err.name === "AbortError") throw err;
    throw new ApiError(0, "unreachable", `the service did not answer (${err.message})`);
  }
  if (!response.ok) throw await errorOf(response);
  if (response.status === 204) return null;
  const type = response.headers.get("content-type") || "";
  return type.includes("json") && !raw ? response.json() : response.blob();
}

// A blob URL for an authenticated GET (an <img> cannot send the key itself),
// revoked when the page that asked for it goes away.
async function blobUrl(path, signal) {
  const blob = await api("GET", path, { signal, raw: true });
  const url = URL.createObjectURL(blob);
  if (signal) signal.addEventListener("abort", () => URL.revokeObjectURL(url), { once: true });
  return url;
}

async function download(path, filename) {
  const url = URL.createObjectURL(await api("GET", path, { raw: true }));
  const a = h("a", { href: url, download: filename });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

// --- errors -----------------------------------------------------------------
function showError(err) {
  if (err && err.name === "AbortError") return;
  console.error(err);
  const box = document.getElementById("error");
  const text = err instanceof ApiError
    ? `${err.message}${err.status ? ` [${err.status} ${err.code}]` : ""}`
    : String(err && err.message ? err.message : err);
  document.getElementById("error-text").textContent = text;
  box.hidden = false;
}

function clearError() { document.getElementById("error").hidden = true; }

// --- DOM helpers --------------------------------------------------------------
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "dataset") Object.assign(el.dataset, v);
    else if (k === "value") el.value = v;
    else if (v === true) el.setAttribute(k, "");
    else el.setAttribute(k, String(v));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

const SVG_NS = "http://www.w3.org/2000/svg";
function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  for (const child of children.flat()) {
    if (child === undefined || child === null) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

function statusBadge(status) { return h("span", { class: `status ${status}` }, status); }
function shortId(id) { return id ? id.slice(0, 8) : "—"; }
function when(iso) { return iso ? new Date(iso).toLocaleString() : "—"; }
function pct(x) { return x === undefined || x === null ? "—" : (100 * x).toFixed(1); }
function fmt(x) {
  if (x === undefined || x === null) return "—";
  if (Math.abs(x) >= 100 || x === 0) return x.toFixed(0);
  return Math.abs(x) >= 1 ? x.toFixed(3) : x.toPrecision(3);
}
function bytes(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 ** 2).toFixed(1)} MB`;
}

// --- the schema's defaults: one source of truth, the service's own OpenAPI ---
let schemaCache = null;
async function schemas() {
  if (!schemaCache) {
    const doc = await api("GET", "/openapi.json");
    schemaCache = doc.components.schemas;
  }
  return schemaCache;
}

function enumOf(prop, all) {
  if (!prop) return [];
  if (prop.enum) return prop.enum;
  if (prop.$ref) return enumOf(all[prop.$ref.split("/").pop()], all);
  for (const alt of prop.anyOf || prop.oneOf || []) {
    const values = enumOf(alt, all);
    if (values.length) return values;
  }
  if (prop.items) return enumOf(prop.items, all);
  return [];
}

// --- live jobs ----------------------------------------------------------------
// Server-Sent Events through fetch (EventSource cannot send the API key): a
// snapshot of the job with the loss history so far, then deltas (what changed,
// and the epochs ended since), then the finished job. onJob(job, epochs) gets the
// job as it stands and the epochs the event brought. Polling once a second if the
// stream breaks.
async function watchJob(jobId, onJob, signal) {
  let job = null;
  try {
    const response = await fetch(`/v1/jobs/${jobId}/events`, { headers: headers(), signal });
    if (!response.ok) throw await errorOf(response);
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer = (buffer + value).replace(/\r\n/g, "\n");
      let cut;
      while ((cut = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, cut).split("\n");
        buffer = buffer.slice(cut + 2);
        const event = (block.find((l) => l.startsWith("event:")) || "event: message").slice(6).trim();
        const data = block.filter((l) => l.startsWith("data:"))
          .map((l) => l.slice(5).trimStart()).join("\n");
        if (!data) continue;
        const { history = [], ...fields } = JSON.parse(data);
        job = event === "progress" && job ? { ...job, ...fields } : fields;
        onJob(job, history);
        if (TERMINAL.has(job.status)) return;
      }
    }
  } catch (err) {
    if (err.name === "AbortError") return;
    if (err instanceof ApiError && [401, 403, 404].includes(err.status)) throw err;
  }
  while (!signal.aborted) {  // the stream broke: poll until the job ends
    try {
      const job = await api("GET", `/v1/jobs/${jobId}`, { signal });
      onJob(job, []);
      if (TERMINAL.has(job.status)) return;
    } catch (err) {
      if (err.name === "AbortError") return;
      showError(err);  // keep the page; try again
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
}

// --- charts -------------------------------------------------------------------
// Class counts as horizontal bars, a row per class with its name on the left:
// readable at 10 classes or 43 (GTSRB) or more (the box scrolls past its height).
const CHART_FONT = "11px system-ui, sans-serif";
let measureCtx = null;
function textWidth(text) {
  measureCtx = measureCtx || document.createElement("canvas").getContext("2d");
  measureCtx.font = CHART_FONT;
  return measureCtx.measureText(text).width;
}

function fitted(text, width) {
  if (textWidth(text) <= width) return text;
  let cut = text;
  while (cut && textWidth(`${cut}…`) > width) cut = cut.slice(0, -1);
  return `${cut}…`;
}

function barChart(items, { plotWidth = 320, label = "count" } = {}) {
  const row = 16, top = 4, bottom = 22, gap = 8, room = 44;  // room: the count after a bar
  const names = Math.min(320, Math.max(24, ...items.map((d) => textWidth(d.name))));
  const left = names + gap, width = left + plotWidth + room;
  const height = top + items.length * row + bottom;
  const max = Math.max(1, ...items.map((d) => d.value));
  const svg = s("svg", { width, height, viewBox: `0 0 ${width} ${height}`, role: "img",
                         class: "bar-chart", "aria-label": `${label} per class` });
  const axisY = top + items.length * row;
  svg.append(s("line", { class: "axis", x1: left, y1: top, x2: left, y2: axisY }));
  for (const tick of [0, max / 2, max]) {
    svg.append(s("text", { x: left + (tick / max) * plotWidth, y: axisY + 14, "text-anchor": "middle" },
                 fmtTick(tick)));
  }
  items.forEach((d, i) => {
    const y = top + i * row;
    const w = (d.value / max) * plotWidth;
    svg.append(s("g", {}, s("title", {}, d.name),
                 s("text", { class: "bar-name", x: names, y: y + row / 2 + 4, "text-anchor": "end" },
                   fitted(d.name, names))));
    svg.append(s("rect", { class: "bar", x: left, y: y + 2, width: Math.max(0, w), height: row - 4,
                           "data-class": d.name },
                 s("title", {}, `${d.name}: ${d.value}`)));
    svg.append(s("text", { x: left + w + 4, y: y + row / 2 + 4 }, d.value));
  });
  return h("div", { class: "bar-chart-box" }, svg);
}

function fmtTick(v) { return v >= 1000 ? `${(v / 1000).toFixed(1)}k` : (v % 1 ? v.toFixed(2) : v); }

// Loss parts against epochs; a log scale, since the parts differ by orders of magnitude.
function lossChart(points, { width = 620, height = 260 } = {}) {
  const left = 52, right = 12, top = 10, bottom = 30;
  const epochs = points.map((p) => p.epoch);
  const parts = Object.keys(LOSS_COLOURS).filter((k) => points.some((p) => p.losses[k] > 0));
  const values = points.flatMap((p) => parts.map((k) => p.losses[k]).filter((v) => v > 0));
  const svg = s("svg", { width, height, viewBox: `0 0 ${width} ${height}`, id: "loss-chart",
                         "data-points": points.length, role: "img", "aria-label": "loss curve" });
  if (!points.length || !values.length) {
    svg.append(s("text", { x: width / 2, y: height / 2, "text-anchor": "middle" },
                 "the curve appears after the first epoch"));
    return svg;
  }
  const lo = Math.log10(Math.min(...values)), hi = Math.log10(Math.max(...values));
  const span = Math.max(hi - lo, 1e-6);
  const e0 = Math.min(...epochs), e1 = Math.max(...epochs, e0 + 1);
  const x = (e) => left + ((e - e0) / (e1 - e0)) * (width - left - right);
  const y = (v) => top + (1 - (Math.log10(v) - lo) / span) * (height - top - bottom);
  svg.append(s("line", { class: "axis", x1: left, y1: height - bottom, x2: width - right, y2: height - bottom }));
  svg.append(s("line", { class: "axis", x1: left, y1: top, x2: left, y2: height - bottom }));
  for (const v of [10 ** lo, 10 ** ((lo + hi) / 2), 10 ** hi]) {
    svg.append(s("text", { x: left - 6, y: y(v) + 4, "text-anchor": "end" }, v.toPrecision(2)));
  }
  svg.append(s("text", { x: left, y: height - 8 }, `epoch ${e0}`));
  svg.append(s("text", { x: width - right, y: height - 8, "text-anchor": "end" }, `epoch ${e1}`));
  for (const part of parts) {
    const pts = points.filter((p) => p.losses[part] > 0)
      .map((p) => `${x(p.epoch).toFixed(1)},${y(p.losses[part]).toFixed(1)}`);
    svg.append(s("polyline", { points: pts.join(" "), fill: "none", stroke: LOSS_COLOURS[part],
                               "stroke-width": 1.8, "data-part": part }));
    if (pts.length === 1) {
      const [cx, cy] = pts[0].split(",");
      svg.append(s("circle", { cx, cy, r: 3, fill: LOSS_COLOURS[part] }));
    }
  }
  return svg;
}

function lossLegend(points) {
  const parts = Object.keys(LOSS_COLOURS).filter((k) => points.some((p) => p.losses[k] > 0));
  return h("div", { class: "legend" },
           parts.map((k) => h("span", { style: `--c:${LOSS_COLOURS[k]}` }, k)));
}

// Grouped bars: per-class recall, one colour per method.
function recallChart(classes, rows, { width = 760, height = 240 } = {}) {
  const left = 40, bottom = 40, top = 8;
  const plotH = height - top - bottom;
  const band = (width - left - 8) / Math.max(1, classes.length);
  const w = (band * 0.8) / Math.max(1, rows.length);
  const svg = s("svg", { width, height, viewBox: `0 0 ${width} ${height}`, role: "img",
                         "aria-label": "per-class recall", class: "recall-chart" });
  svg.append(s("line", { class: "axis", x1: left, y1: top + plotH, x2: width - 4, y2: top + plotH }));
  for (const t of [0, 0.5, 1]) {
    svg.append(s("text", { x: left - 6, y: top + plotH - t * plotH + 4, "text-anchor": "end" }, t));
  }
  classes.forEach((name, c) => {
    rows.forEach((r, m) => {
      const v = r.per_class_recall[c] ?? 0;
      svg.append(s("rect", { x: left + c * band + band * 0.1 + m * w, y: top + plotH - v * plotH,
                             width: Math.max(1, w - 1), height: v * plotH,
                             fill: METHOD_COLOURS[m % METHOD_COLOURS.length] },
                   s("title", {}, `${r.method}, ${name}: ${pct(v)} %`)));
    });
    svg.append(s("text", { x: left + c * band + band / 2, y: height - bottom + 14,
                           "text-anchor": "middle" }, name.length > 8 ? `${name.slice(0, 7)}…` : name));
  });
  return svg;
}

// --- routing ------------------------------------------------------------------
let viewAbort = new AbortController();
const view = () => document.getElementById("view");

const routes = [
  [/^#\/datasets\/([0-9a-f]{32})$/, datasetPage],
  [/^#\/models\/([0-9a-f]{32})$/, modelPage],
  [/^#\/jobs\/([0-9a-f]{32})$/, jobPage],
  [/^#\/models$/, modelsPage],
  [/^#\/jobs$/, jobsPage],
  [/^(#\/datasets|#\/?|)$/, datasetsPage],
];

async function route() {
  viewAbort.abort();
  viewAbort = new AbortController();
  const signal = viewAbort.signal;
  const hash = location.hash;
  for (const a of document.querySelectorAll("header nav a[data-nav]")) {
    a.classList.toggle("active", hash.startsWith(`#/${a.dataset.nav}`) ||
                                 (a.dataset.nav === "datasets" && (hash === "" || hash === "#/")));
  }
  const match = routes.find(([re]) => re.test(hash));
  if (!match) { location.hash = "#/datasets"; return; }
  const root = h("div", { class: "page" }, h("p", { class: "muted" }, "loading…"));
  view().replaceChildren(root);
  try {
    await match[1](root, signal, ...hash.match(match[0]).slice(1));
  } catch (err) {
    if (err.name === "AbortError") return;
    root.replaceChildren(h("h1", {}, "Could not show this page"),
                         h("p", { class: "muted" }, "The service said:"),
                         h("p", {}, err.message || String(err)),
                         h("p", {}, h("a", { href: "#/datasets" }, "Back to the datasets")));
    showError(err);
  }
}

function go(hash) { if (location.hash === hash) route(); else location.hash = hash; }

// Navigate after a submit, unless the person has moved on to another page meanwhile.
function goFrom(element, hash) { if (element.isConnected) go(hash); }

// --- pages: datasets ------------------------------------------------------------
// The upload's options: the endpoint's own form fields, named and described as its
// schema has them; an option left empty is not sent (the service decides).
function uploadOptions(all) {
  const props = (all.Body_upload_dataset || {}).properties || {};
  const hint = (k) => (props[k] && props[k].description) || "";
  // Left empty, an option is not sent; its first entry says what the service then does.
  const choice = (k, values, unset) => h("select", { name: k, id: `upload-${k}` },
    h("option", { value: "" }, unset), values.map((v) => h("option", { value: String(v) }, String(v))));
  const inputs = [
    field("size", h("input", { type: "text", name: "size", id: "upload-size", placeholder: "HxW, e.g. 64x64",
                               pattern: "[0-9]+[xX][0-9]+", size: 12 }), hint("size")),
    field("mode", choice("mode", enumOf(props.mode, all), "as stored"), hint("mode")),
    field("fit", choice("fit", enumOf(props.fit, all).filter((v) => v !== "stretch"),
                        "stretch (default)"), hint("fit")),
    field("split", choice("split", enumOf(props.split, all).filter((v) => v !== "all"),
                          "all (default)"), hint("split")),
    field("header", choice("header", [true, false], "told from the file"), hint("header")),
  ];
  const box = h("details", { id: "upload-options" },
    h("summary", {}, "upload options: resize, convert, split, CSV header"),
    h("div", { class: "row", style: "justify-content:center" }, inputs));
  return { box, fill(form) {
    for (const k of ["size", "mode", "fit", "split", "header"]) {
      const value = box.querySelector(`[name=${k}]`).value.trim();
      if (value) form.append(k, value);
    }
  } };
}

async function datasetsPage(root, signal) {
  const [datasets, all] = await Promise.all([api("GET", "/v1/datasets", { signal }), schemas()]);
  const input = h("input", { type: "file", id: "upload-file", accept: ".zip,.tar,.tgz,.gz,.npz,.csv" });
  const nameInput = h("input", { type: "text", id: "upload-name", placeholder: "name (optional)",
                                 maxlength: 200 });
  const status = h("span", { class: "muted", id: "upload-status" });
  const options = uploadOptions(all);
  const zone = h("div", { id: "dropzone" },
                 h("p", {}, "Drop a .zip, .tar or .tar.gz of class folders (<class>/<image>, PNG, JPEG, ",
                   "BMP, TIFF, WebP; or MNIST's IDX files), an .npz (images, labels) ",
                   "or a label,pixel… CSV here, or choose a file: "),
                 h("div", { class: "row", style: "justify-content:center" }, input, nameInput, status),
                 options.box);
  async function upload(file) {
    if (!file) return;
    clearError();
    const form = new FormData();
    form.append("file", file, file.name);
    if (nameInput.value.trim()) form.append("name", nameInput.value.trim());
    options.fill(form);
    status.textContent = `uploading ${file.name} (${bytes(file.size)})…`;
    try {
      const ds = await api("POST", "/v1/datasets", { form });
      status.textContent = "";
      goFrom(zone, `#/datasets/${ds.id}`);
    } catch (err) {
      status.textContent = "upload refused";
      showError(err);
    }
  }
  input.addEventListener("change", () => upload(input.files[0]));
  zone.addEventListener("dragover", (e) => { e.preventDefault(); zone.classList.add("over"); });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (e) => {
    e.preventDefault();
    zone.classList.remove("over");
    upload(e.dataTransfer.files[0]);
  });
  const rows = datasets.map((d) => h("tr", { class: "clickable", dataset: { id: d.id },
                                             onclick: () => go(`#/datasets/${d.id}`) },
    h("td", {}, h("a", { href: `#/datasets/${d.id}` }, d.name), d.builtin ? h("span", { class: "muted" }, " (built in)") : null),
    h("td", { class: "num" }, d.n_images), h("td", { class: "num" }, d.classes.length),
    h("td", {}, d.image_shape.join("×")), h("td", { class: "num" }, d.imbalance_ratio.toFixed(1)),
    h("td", {}, d.source_format), h("td", {}, when(d.created_at))));
  root.replaceChildren(
    h("h1", {}, "Datasets"),
    zone,
    h("h2", {}, "Stored datasets"),
    h("table", { id: "datasets-table" },
      h("thead", {}, h("tr", {}, ["name", "images", "classes", "image", "imbalance", "format", "uploaded"]
        .map((t, i) => h("th", { class: [1, 2, 4].includes(i) ? "num" : null }, t)))),
      h("tbody", {}, rows)));
}

async function datasetPage(root, signal, id) {
  const [ds, models, jobs, all, recipes] = await Promise.all([
    api("GET", `/v1/datasets/${id}`, { signal }),
    api("GET", `/v1/models?dataset_id=${id}`, { signal }),
    api("GET", `/v1/jobs?dataset_id=${id}`, { signal }),
    schemas(),
    api("GET", "/v1/recipes", { signal }),
  ]);
  const grid = h("img", { class: "figure", id: "dataset-grid", alt: "real images per class" });
  blobUrl(`/v1/datasets/${id}/preview?per_class=8`, signal)
    .then((u) => { grid.src = u; }).catch(showError);
  const remove = h("button", { class: "danger", type: "button", onclick: async () => {
    if (!confirm(`Delete dataset ${ds.name}?`)) return;
    try { await api("DELETE", `/v1/datasets/${id}`); go("#/datasets"); } catch (err) { showError(err); }
  } }, "Delete dataset");
  root.replaceChildren(
    h("h1", {}, `Dataset ${ds.name}`),
    h("div", { class: "row" },
      h("div", { class: "card" },
        h("dl", { class: "facts" },
          h("dt", {}, "id"), h("dd", { class: "mono" }, ds.id),
          h("dt", {}, "images"), h("dd", {}, `${ds.n_images} of ${ds.image_shape.join("×")}`),
          h("dt", {}, "classes"), h("dd", {}, ds.classes.length),
          h("dt", {}, "imbalance ratio"), h("dd", { id: "imbalance-ratio" }, ds.imbalance_ratio.toFixed(2)),
          h("dt", {}, "format"), h("dd", {}, ds.source_format),
          h("dt", {}, "sha256"), h("dd", { class: "mono" }, ds.sha256.slice(0, 16) + "…")),
        ds.builtin ? null : h("p", {}, remove)),
      h("div", { class: "card", id: "class-counts" },
        h("div", { class: "muted" }, `images per class (largest / smallest = ${ds.imbalance_ratio.toFixed(2)})`),
        barChart(ds.classes.map((c) => ({ name: c.name, value: c.count }))))),
    (ds.warnings || []).length ? h("ul", { class: "card warnings", id: "dataset-warnings" },
      ds.warnings.map((w) => h("li", {}, w))) : null,
    (ds.conversions || []).length ? h("div", { class: "card", id: "dataset-conversions" },
      h("div", { class: "muted" }, "changed on the way in"),
      h("ul", {}, ds.conversions.map((c) => h("li", { dataset: { kind: c.kind } },
        h("strong", {}, c.kind), ": ", c.detail)))) : null,
    h("h2", {}, "A few real images per class"),
    h("div", { class: "card" }, grid),
    h("h2", {}, "Train a model"),
    h("div", { class: "card" }, trainForm(ds, all, recipes)),
    h("h2", {}, "Evaluate: does oversampling help here?"),
    h("div", { class: "card" }, evaluateForm(ds, all)),
    h("h2", {}, "Models of this dataset"),
    modelsTable(models),
    h("h2", {}, "Jobs on this dataset"),
    jobsTable(jobs));
}

// A form's number, or undefined when the box is empty; a bad entry is refused
// here with its field's name rather than sent as something else.
function numberOf(form, name, { integer = true } = {}) {
  const raw = String(form.get(name) ?? "").trim();
  if (raw === "") return undefined;
  const n = Number(raw);
  if (!Number.isFinite(n) || (integer && !Number.isInteger(n))) {
    throw new Error(`${name} must be ${integer ? "a whole number" : "a number"}; got ${raw}`);
  }
  return n;
}

function field(name, input, hint) {
  return h("label", { title: hint || "" }, name, input);
}

// A job form: its parameters' defaults from the service's schema, a select of a
// parameter's allowed values, and a submit that posts the job and opens its page.
function schemaDefaults(all, schema) {
  const props = (all[schema] || {}).properties || {};
  const d = (k, fallback) => (props[k] && props[k].default !== undefined ? props[k].default : fallback);
  const choice = (k) => h("select", { name: k },
    enumOf(props[k], all).map((v) => h("option", { value: v, selected: v === d(k) }, v)));
  return { props, d, choice };
}

function submitsJob(form, bodyOf) {
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    clearError();
    try {
      const job = await api("POST", "/v1/jobs", { json: bodyOf(new FormData(form)) });
      goFrom(form, `#/jobs/${job.id}`);
    } catch (err) { showError(err); }
  });
  return form;
}

// The train form: the recipe first; every other parameter folded away, each
// left empty taking the recipe's value (shown as its placeholder).
function trainForm(ds, all, recipes) {
  const { props } = schemaDefaults(all, "TrainParams");
  const byName = Object.fromEntries(recipes.map((r) => [r.name, r]));
  const recipe = h("select", { name: "recipe", id: "train-recipe" },
    recipes.map((r) => h("option", { value: r.name, selected: r.default },
                         r.default ? `${r.name} (default)` : r.name)));
  const about = h("p", { class: "muted wide", id: "recipe-about" });
  const inputs = [];  // [parameter, input, "int" | "float" | "choice"]
  const num = (k, type, attrs = {}) => {
    const input = h("input", { type: "number", name: k, step: type === "int" ? 1 : "any", ...attrs });
    inputs.push([k, input, type]);
    return input;
  };
  const pick = (k) => {
    const input = h("select", { name: k }, h("option", { value: "" }, "the recipe's"),
      enumOf(props[k], all).map((v) => h("option", { value: v }, v)));
    inputs.push([k, input, "choice"]);
    return input;
  };
  const seed = h("input", { type: "number", name: "random_state", min: 0, value: 0 });
  const advanced = h("details", { class: "wide", id: "train-advanced" },
    h("summary", {}, "Other parameters (each left empty takes the recipe's value)"),
    h("div", { class: "params" },
      field("epochs", num("epochs", "int", { min: 1, max: 2000 })),
      field("latent size (n_z)", num("n_z", "int", { min: 1, max: 1024 })),
      field("width (dim_h)", num("dim_h", "int", { min: 1, max: 256 })),
      field("batch size", num("batch_size", "int", { min: 2, max: 4096 })),
      field("w_compact", num("w_compact", "float", { min: 0, max: 100 }), "pull to class centroids"),
      field("w_separation", num("w_separation", "float", { min: 0, max: 100 }), "push centroids apart"),
      field("decoding", pick("decoding")),
      field("interpolation", pick("interpolation"), "transfer: lend every class's variation"),
      field("step_scale", num("step_scale", "float", { min: 0.01, max: 10 }),
            "u ~ U(0, step_scale) along each step"),
      field("foreground_margin", num("foreground_margin", "int", { min: 0, max: 64 }),
            "residual decoding: keep the change within this many pixels of the object"),
      field("seed", seed)));
  const show = () => {
    const r = byName[recipe.value];
    about.textContent = `${r.description}. Measured: ${r.measured}.`;
    for (const [k, input, type] of inputs) {
      const known = k in r.params;  // DeepSMOTE has no class-latent weights
      input.disabled = !known;
      if (!known) input.value = "";
      const v = known ? r.params[k] : undefined;
      if (type === "choice") input.options[0].textContent = `the recipe's (${v})`;
      else input.placeholder = !known ? "not in this recipe" : v == null ? "library default" : String(v);
    }
  };
  recipe.addEventListener("change", show);
  show();
  const form = h("form", { class: "params", id: "train-form" },
    field("recipe", recipe), about, advanced,
    h("div", { class: "actions" }, h("button", { type: "submit", id: "train-start" }, "Start training")));
  return submitsJob(form, (f) => {
    const params = { recipe: f.get("recipe") };
    for (const [k, input, type] of inputs) {
      if (input.disabled) continue;
      const v = type === "choice" ? (f.get(k) || undefined) : numberOf(f, k, { integer: type === "int" });
      if (v !== undefined) params[k] = v;
    }
    const s = numberOf(f, "random_state");
    if (s !== undefined) params.random_state = s;
    return { kind: "train", dataset_id: ds.id, params };
  });
}

function evaluateForm(ds, all) {
  const { props, d, choice } = schemaDefaults(all, "EvaluateParams");
  const chosen = new Set(d("methods", []));  // the API's schema holds the one default list
  const methods = enumOf(props.methods, all);
  // "`name`: what it is; ..." in the schema's description of the methods
  const about = Object.fromEntries(String(props.methods?.description || "").split("; ")
    .map((part) => part.match(/`([^`]+)`: (.*)/)).filter(Boolean).map((m) => [m[1], m[2]]));
  const form = h("form", { class: "params", id: "evaluate-form" },
    h("fieldset", { class: "wide" }, h("legend", {}, "methods"),
      methods.map((m) => h("label", { title: about[m] || "" },
        h("input", { type: "checkbox", name: "methods", value: m, checked: chosen.has(m) }), m))),
    field("grow", h("input", { type: "number", name: "grow", min: 1, max: 10, step: "any",
                               value: d("grow", 1) }),
          "every class to this many times the largest (1: balance), for every oversampler"),
    field("folds", h("input", { type: "number", name: "folds", min: 2, max: 10, value: d("folds", 5) })),
    field("seeds", h("input", { type: "text", name: "seeds", value: d("seeds", [0]).join(","),
                                 pattern: "\\d+(,\\d+)*" }), "comma-separated"),
    field("profile", choice("profile"), "smoke: seconds; cpu: minutes; paper: GPU hours"),
    field("augmentation", choice("augment")),
    field("learning rate", choice("lr_schedule"), "the classifiers', the same for every method"),
    field("class counts", choice("imbalance")),
    field("test images per class", h("input", { type: "number", name: "test_per_class", min: 1,
                                                placeholder: "a tenth of the smallest class" }),
          "more steady a comparison on a small set"),
    h("div", { class: "actions" }, h("button", { type: "submit", id: "evaluate-start" }, "Start evaluation")));
  return submitsJob(form, (f) => {
    const seeds = String(f.get("seeds")).split(",").map((x) => x.trim()).filter(Boolean);
    if (seeds.some((x) => !/^\d+$/.test(x))) throw new Error(`seeds must be whole numbers, comma-separated; got ${f.get("seeds")}`);
    const params = {
      methods: f.getAll("methods"), folds: numberOf(f, "folds"), seeds: seeds.map(Number),
      profile: f.get("profile"), augment: f.get("augment"), imbalance: f.get("imbalance"),
      lr_schedule: f.get("lr_schedule"), grow: numberOf(f, "grow", { integer: false }),
    };
    const testPerClass = numberOf(f, "test_per_class");
    if (testPerClass !== undefined) params.test_per_class = testPerClass;
    return { kind: "evaluate", dataset_id: ds.id, params };
  });
}

// --- pages: models --------------------------------------------------------------
function modelsTable(models) {
  if (!models.length) return h("p", { class: "muted" }, "No models yet.");
  return h("table", { class: "models-table" },
    h("thead", {}, h("tr", {}, ["model", "name", "epochs", "classes", "image", "created"]
      .map((t) => h("th", {}, t)))),
    h("tbody", {}, models.map((m) => h("tr", { class: "clickable", dataset: { id: m.id },
                                             onclick: () => go(`#/models/${m.id}`) },
      h("td", { class: "mono" }, h("a", { href: `#/models/${m.id}` }, shortId(m.id))),
      h("td", {}, m.name || m.recipe || m.method), h("td", {}, m.params.epochs ?? "—"), h("td", {}, m.classes.length),
      h("td", {}, m.image_shape.join("×")), h("td", {}, when(m.created_at))))));
}

async function modelsPage(root, signal) {
  const models = await api("GET", "/v1/models", { signal });
  root.replaceChildren(h("h1", {}, "Models"), modelsTable(models));
}

async function modelPage(root, signal, id) {
  const m = await api("GET", `/v1/models/${id}`, { signal });
  root.replaceChildren(
    h("h1", {}, `Model ${m.name || shortId(m.id)}`),
    h("div", { class: "card" }, h("dl", { class: "facts" },
      h("dt", {}, "id"), h("dd", { class: "mono" }, m.id),
      h("dt", {}, "recipe"), h("dd", { id: "model-recipe" }, m.recipe || `not recorded (${m.method})`),
      h("dt", {}, "dataset"), h("dd", {}, m.dataset_id
        ? h("a", { href: `#/datasets/${m.dataset_id}` }, m.dataset_name || shortId(m.dataset_id)) : "—"),
      h("dt", {}, "trained by"), h("dd", {}, m.job_id
        ? h("a", { href: `#/jobs/${m.job_id}` }, shortId(m.job_id)) : "an upload"),
      h("dt", {}, "parameters"), h("dd", { class: "mono" },
        Object.entries(m.params).map(([k, v]) => `${k}=${v}`).join("  ")),
      h("dt", {}, "library"), h("dd", {}, m.library_version))),
    h("h2", {}, "Generate synthetic images"),
    h("div", { class: "card" }, generateForm(m)));
}

function generateForm(m) {
  const counts = m.classes.map((c) => h("label", {}, h("span", {}, `${c.name} `, h("span", { class: "muted" }, `(${c.count})`)),
    h("input", { type: "number", min: 0, max: 1000000, value: 0, name: `count:${c.name}`,
                 dataset: { cls: c.name } })));
  const countsBox = h("div", { class: "counts", id: "strategy-counts", hidden: true }, counts);
  const radio = (value, label, checked) => h("label", {},
    h("input", { type: "radio", name: "strategy", value, checked,
                 onchange: () => { countsBox.hidden = value !== "counts"; } }), label);
  const form = h("form", { class: "params", id: "generate-form" },
    h("fieldset", { class: "wide" }, h("legend", {}, "how many new images"),
      radio("auto", "balance all classes (up to the largest)", true),
      radio("counts", "counts per class", false), countsBox),
    field("content", h("select", { name: "content" },
      h("option", { value: "balanced" }, "dataset + synthetic (balanced set)"),
      h("option", { value: "synthetic" }, "synthetic images only"))),
    field("format", h("select", { name: "output" },
      h("option", { value: "npz" }, ".npz arrays"), h("option", { value: "zip" }, "ImageFolder .zip of PNGs"))),
    field("near-copies of real images", h("select", { name: "near_copies" },
      h("option", { value: "keep" }, "keep"), h("option", { value: "flag" }, "keep and mark them"),
      h("option", { value: "drop" }, "drop, draw others instead")),
      "closer to a real image than 99 % of real images are to each other"),
    field("seed", h("input", { type: "number", name: "random_state", min: 0, value: 0 })),
    h("div", { class: "actions" }, h("button", { type: "submit", id: "generate-start" }, "Generate")));
  return submitsJob(form, (f) => {
    let strategy = "auto";
    if (f.get("strategy") === "counts") {
      strategy = Object.create(null);  // class names are keys: "__proto__" is one too
      for (const input of countsBox.querySelectorAll("input")) {
        const n = numberOf(f, input.name) ?? 0;
        if (n > 0) strategy[input.dataset.cls] = n;
      }
      if (!Object.keys(strategy).length) throw new Error("ask for at least one image");
    }
    const params = { sampling_strategy: strategy, content: f.get("content"), output: f.get("output"),
                     near_copies: f.get("near_copies") };
    const seed = numberOf(f, "random_state");
    if (seed !== undefined) params.random_state = seed;
    return { kind: "generate", model_id: m.id, params };
  });
}

// --- pages: jobs ------------------------------------------------------------------
// Train jobs count epochs; evaluations count their steps (fits and classifiers).
function unit(job) { return job.kind === "train" ? "epoch" : "step"; }

function progressText(job) {
  const p = job.progress || {};
  const parts = [];
  if (TERMINAL.has(job.status)) {
    if (job.started_at && job.finished_at) {
      const seconds = (new Date(job.finished_at) - new Date(job.started_at)) / 1000;
      parts.push(`${job.status} after ${seconds.toFixed(1)} s`);
    }
    if (p.epoch != null && p.epochs != null) parts.push(`${unit(job)} ${p.epoch} of ${p.epochs}`);
    return parts.join(" · ");
  }
  if (p.stage) parts.push(p.stage);
  if (p.epoch != null && p.epochs != null) parts.push(`${unit(job)} ${p.epoch} of ${p.epochs}`);
  else if (p.fraction != null && !TERMINAL.has(job.status)) parts.push(`${Math.round(100 * p.fraction)} %`);
  if (p.note) parts.push(p.note);
  if (p.seconds_left) parts.push(timeLeft(p.seconds_left));
  return parts.join(" · ");
}

// The estimate of a running job's time left, in words (as the command line says it).
function timeLeft(seconds) {
  if (seconds < 90) return `about ${Math.max(10, Math.round(seconds / 10) * 10)} s left`;
  if (seconds < 5400) return `about ${Math.round(seconds / 60)} min left`;
  return `about ${(seconds / 3600).toFixed(1)} h left`;
}

// A dataset's or model's name, its id on hover (and its short id when it has no name).
function named(name, id) {
  if (!id) return "—";
  return h("span", { title: id }, name || h("span", { class: "mono" }, `${shortId(id)} (deleted)`));
}

function jobsTable(jobs) {
  if (!jobs.length) return h("p", { class: "muted" }, "No jobs yet.");
  return h("table", { class: "jobs-table" },
    h("thead", {}, h("tr", {}, ["job", "kind", "status", "progress", "dataset", "model", "created"]
      .map((t) => h("th", {}, t)))),
    h("tbody", {}, jobs.map((j) => h("tr", { class: "clickable", dataset: { id: j.id, status: j.status },
                                           onclick: () => go(`#/jobs/${j.id}`) },
      h("td", { class: "mono" }, h("a", { href: `#/jobs/${j.id}` }, shortId(j.id))),
      h("td", {}, j.kind), h("td", {}, statusBadge(j.status)),
      h("td", { class: "muted" }, j.error ? j.error.message : progressText(j)),
      h("td", {}, named(j.dataset_name, j.dataset_id)), h("td", {}, named(j.model_name, j.model_id)),
      h("td", {}, when(j.created_at))))));
}

async function jobsPage(root, signal) {
  const holder = h("div", {});
  root.replaceChildren(h("h1", {}, "Jobs"), holder);
  holder.replaceChildren(jobsTable(await api("GET", "/v1/jobs", { signal })));
  while (!signal.aborted) {  // refreshed every 2 s while the page is open
    await new Promise((r) => setTimeout(r, 2000));
    try {
      holder.replaceChildren(jobsTable(await api("GET", "/v1/jobs", { signal })));
      clearError();
    } catch (err) {
      if (err.name === "AbortError") return;
      showError(err);
    }
  }
}

async function jobPage(root, signal, id) {
  const first = await api("GET", `/v1/jobs/${id}`, { signal });
  const points = new Map();  // epoch -> losses, from the live events (train jobs)
  const badge = h("span", { id: "job-status" });
  const bar = h("div", { style: "width:0%" });
  const text = h("div", { id: "job-progress", class: "muted" });
  const error = h("p", { id: "job-error", hidden: true, style: "color:var(--bad)" });
  const chartBox = h("div", { id: "loss-box" });
  const results = h("div", { id: "job-results" });
  const cancel = h("button", { class: "danger", type: "button", id: "job-cancel", onclick: async () => {
    cancel.disabled = true;
    try { render(await api("POST", `/v1/jobs/${id}/cancel`)); } catch (err) { showError(err); cancel.disabled = false; }
  } }, "Cancel");
  const links = h("p", {},
    first.dataset_id ? h("a", { href: `#/datasets/${first.dataset_id}` }, "dataset") : null, " ",
    first.model_id ? h("a", { href: `#/models/${first.model_id}` }, "model") : null);
  root.replaceChildren(...[
    h("h1", {}, `${first.kind[0].toUpperCase()}${first.kind.slice(1)} job `, h("span", { class: "mono" }, shortId(id))),
    h("div", { class: "card" },
      h("div", { class: "row", style: "align-items:center" }, badge, h("div", { class: "progress" }, bar), cancel),
      text, error, links),
    first.kind === "train" ? h("h2", {}, "Loss per epoch") : null,
    first.kind === "train" ? h("div", { class: "card" }, chartBox) : null,
    results].filter(Boolean));

  let shownResults = false;
  function render(job, epochs = []) {
    badge.replaceChildren(statusBadge(job.status));
    const p = job.progress || {};
    const fraction = job.status === "succeeded" ? 1 : (p.fraction ?? 0);
    bar.style.width = `${Math.round(100 * fraction)}%`;
    text.textContent = progressText(job);
    cancel.hidden = TERMINAL.has(job.status);
    if (job.cancel_requested && !TERMINAL.has(job.status)) cancel.disabled = true;
    error.hidden = !job.error;
    if (job.error) error.textContent = `${job.error.message} [${job.error.code}]`;
    if (job.kind === "train" && (epochs.length || (p.losses && p.epoch != null))) {
      for (const e of epochs) points.set(e.epoch, e.losses);  // the history so far, then new
      if (p.losses && p.epoch != null) points.set(p.epoch, p.losses);
      drawLosses();
    }
    if (TERMINAL.has(job.status) && !shownResults) {
      shownResults = true;
      showResults(job, results, signal).catch(showError);
    }
  }
  function drawLosses() {
    const pts = [...points.entries()].sort((a, b) => a[0] - b[0])
      .map(([epoch, losses]) => ({ epoch, losses }));
    chartBox.replaceChildren(lossChart(pts), lossLegend(pts));
  }
  if (first.kind === "train") drawLosses();
  render(first);
  if (!TERMINAL.has(first.status)) await watchJob(id, render, signal);
}

async function artifactList(job, signal) {
  return api("GET", `/v1/jobs/${job.id}/artifacts`, { signal });
}

async function showResults(job, box, signal) {
  if (job.status !== "succeeded") return;
  const artifacts = await artifactList(job, signal);
  const downloads = h("div", { class: "row", id: "downloads" }, artifacts.map((a) =>
    h("button", { type: "button", class: "secondary", dataset: { name: a.name },
                  onclick: () => download(a.url, a.name).catch(showError) },
      `Download ${a.name} (${bytes(a.size)})`)));
  const parts = [h("h2", {}, "Results"), h("div", { class: "card" }, downloads)];
  if (job.kind === "train") {
    const r = job.result || {};
    parts.push(h("div", { class: "card" }, h("dl", { class: "facts" },
      h("dt", {}, "model"), h("dd", {}, h("a", { href: `#/models/${r.model_id}`, id: "model-link" }, shortId(r.model_id))),
      h("dt", {}, "recipe"), h("dd", {}, r.recipe ?? job.params.recipe ?? job.params.method ?? "—"),
      h("dt", {}, "reused"), h("dd", {}, r.reused ? "yes: same data, parameters and seed" : "no"),
      h("dt", {}, "device"), h("dd", {}, r.device ?? "—"),
      h("dt", {}, "training time"), h("dd", {}, r.training_seconds != null ? `${r.training_seconds} s` : "—")),
      h("p", {}, h("a", { class: "button", href: `#/models/${r.model_id}` }, "Generate images with this model"))));
    if (artifacts.some((a) => a.name === "history.json")) {
      const history = await api("GET", `/v1/jobs/${job.id}/artifacts/history.json`, { signal });
      const blob = history instanceof Blob ? JSON.parse(await history.text()) : history;
      const pts = blob.map((losses, i) => ({ epoch: i + 1, losses }));
      const chartBox = document.getElementById("loss-box");
      if (chartBox && pts.length) chartBox.replaceChildren(lossChart(pts), lossLegend(pts));
    }
  } else if (job.kind === "generate") {
    const r = job.result || {};
    parts.push(h("div", { class: "card" },
      h("p", {}, `${r.n_synthetic} synthetic images (${Object.entries(r.counts || {})
        .map(([k, v]) => `${k}: ${v}`).join(", ")}); ${r.content === "balanced"
        ? "the download holds the dataset with them" : "the download holds them alone"}.`),
      h("img", { class: "figure", id: "synthetic-grid", alt: "real and synthetic images per class",
                 src: await blobUrl(`/v1/jobs/${job.id}/artifacts/preview.png`, signal) })));
    if (artifacts.some((a) => a.name === "quality.json")) {
      const blob = await api("GET", `/v1/jobs/${job.id}/artifacts/quality.json`, { signal });
      const q = blob instanceof Blob ? JSON.parse(await blob.text()) : blob;
      parts.push(h("h2", {}, "How good are they?"), await qualityView(job, q, signal));
    }
  } else if (job.kind === "evaluate") {
    const report = await api("GET", `/v1/jobs/${job.id}/artifacts/report.json`, { signal });
    const data = report instanceof Blob ? JSON.parse(await report.text()) : report;
    parts.push(reportView(data));
    const figures = artifacts.filter((a) => a.name.endsWith(".png"));
    const imgs = await Promise.all(figures.map(async (a) => h("figure", {},
      h("img", { class: "figure", alt: a.name, src: await blobUrl(a.url, signal) }),
      h("figcaption", { class: "muted" }, a.name))));
    parts.push(h("h2", {}, "Figures"), h("div", { class: "card figures" }, imgs));
  }
  box.replaceChildren(...parts);
}

// A generate job's quality report: the summary, the rule, a table per class, the pairs.
async function qualityView(job, q, signal) {
  const num = (v, digits = 1) => (v == null ? "—" : v.toFixed(digits));
  const share = (v) => (v == null ? "—" : `${(100 * v).toFixed(1)} %`);
  const fidelity = q.overall.fidelity !== undefined;
  return h("div", { class: "card", id: "quality" },
    h("p", { id: "quality-summary" }, q.summary),
    h("p", { class: "muted" }, `Near-copy: ${q.rule}. Distances: ${q.units}.`),
    h("table", { class: "quality-table" },
      h("thead", {}, h("tr", {}, ["class", "synthetic", "near-copies",
        ...(fidelity ? ["classified as their class", "real images, the same"] : []),
        "distance to nearest real (median)", "real to real (median)", "spread / real spread",
        "duplicates"].map((t) => h("th", {}, t)))),
      h("tbody", {}, q.classes.map((c) => h("tr", { dataset: { class: String(c.class) } },
        h("td", {}, String(c.class)), h("td", { class: "num" }, c.n_synthetic),
        h("td", { class: "num near" }, `${c.near_copies} (${share(c.near_copy_share)})`),
        ...(fidelity ? [h("td", { class: "num" }, share(c.fidelity)
                          + (c.measured_synthetic < c.n_synthetic ? ` of ${c.measured_synthetic}` : "")),
                        h("td", { class: "num" }, share(c.real_recall))] : []),
        h("td", { class: "num" }, num(c.novelty_pixels.synthetic?.median)),
        h("td", { class: "num" }, num(c.novelty_pixels.real?.median)),
        h("td", { class: "num" }, num(c.diversity.ratio, 2)),
        h("td", { class: "num" }, c.exact_duplicates + c.copies_of_real))))),
    h("img", { class: "figure", id: "quality-preview", alt: "synthetic images beside their nearest real image",
               src: await blobUrl(`/v1/jobs/${job.id}/artifacts/quality_preview.png`, signal) }));
}

function minusRos(d) {
  const sign = d.mean_diff >= 0 ? "+" : "−";
  const text = `${sign}${Math.abs(100 * d.mean_diff).toFixed(2)} (${(100 * d.std_diff).toFixed(2)}), `
    + `${d.ahead} / ${d.behind}`;
  // several seeds: the same over per-seed means, whose spread is the spread over seeds
  return d.over_seeds ? `${text}; over ${d.over_seeds.seeds.length} seeds ${minusRos(d.over_seeds)}`
    : text;
}

const SPLIT_TITLES = { fold: "Held-out folds (as imbalanced as the data)",
                       balanced_test: "Balanced test set",
                       rest: "Every image outside the pool" };

function reportView(report) {
  const cfg = report.config || {};
  const primary = (cfg.imbalance || "paper") === "dataset" ? "fold" : "balanced_test";
  const wiring = report.wiring_check ?? cfg.profile === "smoke";
  const out = [h("h2", {}, "Report")];
  if (wiring) {
    out.push(h("p", { class: "wiring-check", id: "wiring-check" },
      h("strong", {}, "Wiring check, not a result. "),
      "Profile smoke trains tiny networks for about one epoch: this run shows that the pipeline "
      + "works on this data, and its figures say nothing about whether any method helps. "
      + "Run profile cpu (minutes) or paper (a GPU) for an answer."));
  }
  if ((report.answers || []).length) {
    out.push(h("h3", {}, "The answer"),
      h("ul", { class: "answers" }, report.answers.map((a) =>
        h("li", { class: `verdict-${a.verdict.replace(/ /g, "-")}`, dataset: { method: a.method } }, a.text))));
  }
  out.push(h("p", { class: "muted" }, `${report.dataset.name}: `
      + (primary === "fold" ? `your data as it is, ${report.folds_used ?? cfg.folds} held-out folds`
        : `the papers' protocol, balanced test set of ${report.test_per_class} a class`)
      + `; profile ${cfg.profile}, seeds ${JSON.stringify(cfg.seeds)}, ${Math.round(report.seconds)} s. `
      + "Values in %: mean ± standard deviation over folds and seeds; p: paired Wilcoxon test of ACSA "
      + "against no oversampling; minus ROS: the paired difference in ACSA to random oversampling, "
      + "mean (standard deviation), folds ahead / behind (with several seeds, also over the seeds' "
      + "means); the same for the recall of the rarest classes"
      + (report.rarest_classes ? ` (${report.rarest_classes.map((c) => report.dataset.classes[c]).join(", ")}).` : ".")
      + " The terms are explained below."));
  // each method against random oversampling: ahead by more than its spread?
  if ((report.findings || []).length) {
    out.push(h("h3", {}, "Against random oversampling"),
      h("ul", { class: "findings" }, report.findings.map((f) =>
        h("li", { class: f.helps ? "helps" : "no-help",
          dataset: { method: f.method, split: f.split || "balanced_test" } }, f.text))));
  }
  const cols = [["acsa", "ACSA"], ["macro_f1", "macro F1"], ["gm_ovr_macro", "GM (one-vs-rest)"],
                ["gm_multiclass", "GM (multiclass)"], ["rare3_recall", "recall, rarest"]];
  for (const augment of [true, false]) {
    const rows = report.summary.filter((r) => r.augment === augment && r.split === primary);
    if (!rows.length) continue;
    const pooled = rows.every((r) => r.pooled);
    const acsa = (r) => (pooled ? r.pooled.acsa : r.acsa.mean);
    const best = wiring ? null : Math.max(...rows.map(acsa));  // a wiring check names no best
    out.push(h("h3", {}, `${SPLIT_TITLES[primary]}, classifier ${augment ? "with" : "without"} augmentation`),
      h("table", { class: "report-table", dataset: { augment: String(augment) } },
        h("thead", {}, h("tr", {}, h("th", {}, "method"), cols.map(([, t]) => h("th", { class: "num" }, t)),
                         pooled ? h("th", { class: "num" }, "ACSA, pooled") : null,
                         h("th", { class: "num" }, "p"), h("th", { class: "num" }, "minus ROS"),
                         h("th", { class: "num" }, "recall, rarest: minus ROS"))),
        h("tbody", {}, rows.map((r) => h("tr", { dataset: { method: r.method } },
          h("td", {}, r.method, acsa(r) === best ? h("strong", {}, " (best ACSA)") : null),
          cols.map(([k]) => h("td", { class: "num" }, `${pct(r[k].mean)} ± ${pct(r[k].std)}`)),
          pooled ? h("td", { class: "num pooled" }, pct(r.pooled.acsa)) : null,
          h("td", { class: "num" }, r.wilcoxon_vs_none && r.wilcoxon_vs_none.p_value != null
            ? r.wilcoxon_vs_none.p_value.toPrecision(3) : ""),
          h("td", { class: "num vs-ros" }, r.vs_ros ? minusRos(r.vs_ros) : ""),
          h("td", { class: "num vs-ros-rarest" }, r.rarest_vs_ros ? minusRos(r.rarest_vs_ros) : ""))))),
      h("p", { class: "muted" }, "Per-class recall:"),
      recallChart(report.dataset.classes, rows.map((r) => (pooled ? { ...r, per_class_recall: r.pooled.per_class_recall } : r))),
      h("div", { class: "legend" }, rows.map((r, m) =>
        h("span", { style: `--c:${METHOD_COLOURS[m % METHOD_COLOURS.length]}` }, r.method))));
  }
  const quality = Object.values(report.quality || {});
  if (quality.length) {
    const mean = (m, k) => {
      const vs = quality.map((q) => q[m]?.overall?.[k]).filter((v) => v != null);
      return vs.length ? vs.reduce((a, b) => a + b, 0) / vs.length : null;
    };
    const methods = cfg.methods.filter((m) => quality.some((q) => q[m]));
    out.push(h("h3", {}, "How new the oversampled images are"),
      h("p", { class: "muted" }, "First fold, against its real training images. Random oversampling "
        + "repeats real images: all of its new images are near-copies by construction."),
      h("table", { class: "report-table quality-table", id: "report-quality" },
        h("thead", {}, h("tr", {}, ["method", "near-copies", "fidelity", "novelty", "spread"]
          .map((t) => h("th", {}, t)))),
        h("tbody", {}, methods.map((m) => h("tr", { dataset: { qualityOf: m } },
          h("td", {}, m), h("td", { class: "num" }, `${pct(mean(m, "near_copy_share"))} %`),
          h("td", { class: "num" }, mean(m, "fidelity") == null ? "—" : `${pct(mean(m, "fidelity"))} %`),
          h("td", { class: "num" }, (mean(m, "novelty_ratio") ?? NaN).toFixed(2)),
          h("td", { class: "num" }, (mean(m, "diversity_ratio") ?? NaN).toFixed(2)))))));
  }
  if (report.glossary) {
    out.push(h("details", { class: "glossary", id: "glossary" }, h("summary", {}, "What the terms mean"),
      h("dl", {}, Object.entries(report.glossary).flatMap(([term, text]) =>
        [h("dt", {}, term), h("dd", {}, text)]))));
  }
  return h("div", { class: "card", id: "report" }, out);
}

// --- start ----------------------------------------------------------------------
async function showDevice() {
  try {
    const ready = await api("GET", "/v1/ready");
    document.getElementById("device").textContent = ready.device ? `jobs run on ${ready.device}` : "";
  } catch (_) { /* readiness is informative only */ }
}

document.addEventListener("DOMContentLoaded", () => {
  const keyInput = document.getElementById("api-key");
  keyInput.value = apiKey();
  document.getElementById("key-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const key = keyInput.value.trim();
    if (key) localStorage.setItem(KEY_STORAGE, key); else localStorage.removeItem(KEY_STORAGE);
    clearError();
    route();
  });
  document.getElementById("error-close").addEventListener("click", clearError);
  window.addEventListener("hashchange", () => { clearError(); route(); });
  window.addEventListener("unhandledrejection", (e) => showError(e.reason));
  showDevice();
  route();
});
