// Shared helpers for the console screens. Everything the API returns is inserted with textContent or as
// attribute values set through the DOM, never parsed as HTML.

/** Creates an element: el("td", {class: "num"}, "12", childNode). Strings become text nodes. */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on") && typeof v === "function") node.addEventListener(k.slice(2), v);
    else if (k === "text") node.textContent = String(v);
    else node.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

/** An error from the API, with a sentence for people. */
export class APIError extends Error {
  constructor(status, body, path) {
    const apiMessage = body?.error?.message ?? (typeof body?.error === "string" ? body.error : null);
    let sentence;
    if (status === 401) sentence = "The token was not accepted (401): sign in again with a valid token.";
    else if (status === 403) sentence = `This token is not allowed to do that (403): ${apiMessage ?? "a scope is missing"}.`;
    else if (status === 0) sentence = `Opsight did not answer (${path}): is the server running?`;
    else sentence = `The request failed (${status}): ${apiMessage ?? "no details"}.`;
    super(sentence);
    this.status = status;
    this.body = body;
    this.apiMessage = apiMessage;
  }
}

const TOKEN_KEY = "opsight.token";
export const token = {
  get: () => sessionStorage.getItem(TOKEN_KEY),
  set: (t) => sessionStorage.setItem(TOKEN_KEY, t),
  clear: () => sessionStorage.removeItem(TOKEN_KEY),
};

/** Calls the JSON API with the signed-in token; throws APIError with a sentence on failure. */
export async function api(path, { method = "GET", body, params } = {}) {
  let url = path;
  if (params) {
    // %20, not URLSearchParams' "+": the API reads a "+" as itself.
    const s = Object.entries(params).filter(([, v]) => v !== undefined && v !== null && v !== "")
      .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join("&");
    if (s) url += (url.includes("?") ? "&" : "?") + s;
  }
  const headers = { Authorization: `Bearer ${token.get() ?? ""}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch {
    throw new APIError(0, null, path);
  }
  let data = null;
  const text = await response.text();
  try { data = text ? JSON.parse(text) : null; } catch { data = { error: { message: text } }; }
  if (!response.ok) throw new APIError(response.status, data, path);
  return data;
}

/** Shows an error as a sentence in `container` (401 also offers signing in again). */
export function showError(container, error) {
  const box = el("div", { class: "message", role: "alert" }, error.message ?? String(error));
  container.append(box);
  return box;
}

export function fmtNumber(v, digits = 2) {
  if (v === null || v === undefined || Number.isNaN(v)) return "–";
  if (Math.abs(v) >= 1000) return Math.round(v).toLocaleString("en-US");
  return Number(v).toFixed(digits);
}
export function fmtPercent(v) {
  if (v === null || v === undefined || Number.isNaN(v)) return "–";
  return `${(v * 100).toFixed(2)} %`;
}
export function fmtSeconds(v) {
  if (v === null || v === undefined || Number.isNaN(v)) return "–";
  if (v < 1) return `${(v * 1000).toFixed(1)} ms`;
  return `${v.toFixed(3)} s`;
}
export function fmtTime(unixSeconds) {
  if (unixSeconds === null || unixSeconds === undefined) return "–";
  return new Date(unixSeconds * 1000).toISOString().replace(".000Z", "Z");
}
export function fmtAgo(seconds) {
  if (seconds < 60) return `${Math.round(seconds)} s`;
  if (seconds < 3600) return `${Math.round(seconds / 60)} min`;
  if (seconds < 86400) return `${(seconds / 3600).toFixed(1)} h`;
  return `${(seconds / 86400).toFixed(1)} d`;
}

/** Duration text (10s, 5m, 1h, 1d) in seconds. */
export function durationSeconds(text) {
  const m = /^(\d+)(s|m|h|d|w)$/.exec(text ?? "");
  if (!m) return null;
  return Number(m[1]) * { s: 1, m: 60, h: 3600, d: 86400, w: 604800 }[m[2]];
}

/**
 * A table with sortable columns. columns: [{key, label, num, value(row), render(row) -> node|string}].
 * `sort` is {key, desc}; `onSort(key, desc)` is called when a header is clicked.
 */
export function table(columns, rows, { sort, onSort, rowClass, rowAttrs } = {}) {
  const sorted = [...rows];
  if (sort?.key) {
    const col = columns.find((c) => c.key === sort.key);
    if (col) {
      const val = col.value ?? ((r) => r[col.key]);
      sorted.sort((a, b) => {
        const x = val(a), y = val(b);
        const cmp = x === y ? 0 : x === null || x === undefined ? -1 : y === null || y === undefined ? 1 : x < y ? -1 : 1;
        return sort.desc ? -cmp : cmp;
      });
    }
  }
  const head = el("tr", {}, columns.map((c) =>
    el("th", {
      class: [c.num ? "num" : "", onSort && c.sortable !== false ? "sortable" : ""].join(" ").trim() || null,
      "data-key": c.key,
      "aria-sort": sort?.key === c.key ? (sort.desc ? "descending" : "ascending") : null,
      onclick: onSort && c.sortable !== false ? () => onSort(c.key, sort?.key === c.key ? !sort.desc : true) : null,
    }, c.label)));
  const body = sorted.map((r) => el("tr", { class: rowClass ? rowClass(r) : null, ...(rowAttrs ? rowAttrs(r) : {}) },
    columns.map((c) => {
      const content = c.render ? c.render(r) : (c.value ? c.value(r) : r[c.key]);
      return el("td", { class: c.num ? "num" : null, "data-key": c.key }, content ?? "–");
    })));
  return el("table", {}, el("thead", {}, head), el("tbody", {}, body));
}

/** A sparkline as an SVG polyline of the non-null points. */
export function sparkline(points) {
  const svgNS = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(svgNS, "svg");
  svg.setAttribute("class", "spark");
  svg.setAttribute("viewBox", "0 0 100 24");
  svg.setAttribute("preserveAspectRatio", "none");
  const vals = points.filter((p) => p[1] !== null && p[1] !== undefined);
  if (vals.length < 2) return svg;
  const t0 = points[0][0], t1 = points[points.length - 1][0];
  const max = Math.max(...vals.map((p) => p[1])), min = Math.min(0, ...vals.map((p) => p[1]));
  const line = document.createElementNS(svgNS, "polyline");
  line.setAttribute("points", vals.map((p) =>
    `${((p[0] - t0) / Math.max(1, t1 - t0) * 100).toFixed(1)},${(22 - (p[1] - min) / Math.max(1e-12, max - min) * 20).toFixed(1)}`).join(" "));
  svg.append(line);
  return svg;
}

/**
 * Polls `fn` every `seconds` (at least 5) while the tab is visible and not paused; returns a stop function.
 * A hidden tab stops polling and refreshes once when shown again.
 */
export function poll(fn, seconds, isPaused) {
  const interval = Math.max(5, seconds) * 1000;
  let timer = null;
  let stopped = false;
  const schedule = () => {
    clearTimeout(timer);
    if (stopped || document.hidden) return;
    timer = setTimeout(async () => {
      if (!isPaused()) { try { await fn(); } catch { /* the screen shows its own error */ } }
      schedule();
    }, interval);
  };
  const onVisibility = () => { if (!document.hidden && !stopped) { if (!isPaused()) fn().catch(() => {}); schedule(); } else clearTimeout(timer); };
  document.addEventListener("visibilitychange", onVisibility);
  schedule();
  return () => { stopped = true; clearTimeout(timer); document.removeEventListener("visibilitychange", onVisibility); };
}

/** A <select> whose options are `values`; `onChange(value)` on change. */
export function select(name, values, current, onChange) {
  return el("select", { name, onchange: (e) => onChange(e.target.value) },
    values.map((v) => {
      const [value, label] = Array.isArray(v) ? v : [v, v];
      return el("option", { value, selected: value === current }, label);
    }));
}

/** A link to another console view (state in the query string). */
export function viewLink(params, label, attrs = {}) {
  const q = new URLSearchParams(params);
  return el("a", { href: `/?${q}`, "data-nav": "1", ...attrs }, label);
}
