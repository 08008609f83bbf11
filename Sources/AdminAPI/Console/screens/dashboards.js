// Dashboards (SPEC §13): the same dashboards/*.json Grafana imports, rendered here from Grafana's classic JSON
// model: `timeseries` (query_range through the dygraphs wrapper), `stat` and `table` (instant queries) on the
// 24-column grid of `gridPos`; template variables (`query` through label_values, `custom`, `datasource` ignored);
// the time range and the variables live in the query string (Grafana's `from`, `to`, `var-name`), so a reload or
// a pasted link shows the same view. Any other panel type gets a placeholder naming it; a failing query is shown
// in its panel. Text from the files or the API goes in as text, never as HTML.
import { api, durationSeconds, el, fmtNumber, fmtSeconds, poll, showError, table, viewLink } from "../lib.js";
import { timeChart } from "../chart.js";
import { PRESETS } from "./service.js";

const RANGES = Object.keys(PRESETS); // 15m 1h 6h 1d 7d
const ALL = "$__all";
const SCRAPE_SECONDS = 15; // Grafana's default scrape interval, for $__rate_interval

// The grid's rules live in their own stylesheet, loaded once (the CSP allows 'self' stylesheets, not inline ones);
// charts are drawn after it applies, because dygraphs sizes itself from the laid-out panel.
let stylesheet = null;
function ensureStylesheet() {
  stylesheet ??= new Promise((resolve) => {
    const link = el("link", { id: "dashboards-css", rel: "stylesheet", href: "/console/dashboards.css" });
    link.addEventListener("load", resolve);
    link.addEventListener("error", resolve);
    document.head.append(link);
  });
  return stylesheet;
}

/** The time range of the view: `from=now-1h` (a preset) or absolute `from`/`to` in epoch milliseconds. */
export function timeRange(p, dashboard, now = Date.now() / 1000) {
  const from = p.get("from") ?? dashboard?.time?.from ?? "now-1h";
  const to = p.get("to") ?? "now";
  if (/^\d+$/.test(from) && /^\d+$/.test(to) && Number(to) > Number(from)) {
    const start = Math.floor(Number(from) / 1000), end = Math.ceil(Number(to) / 1000);
    const span = end - start;
    return { from: start, to: end, step: Math.max(10, Math.ceil(span / 120 / 10) * 10), span, key: null, fromText: from, toText: to };
  }
  const m = /^now-(\w+)$/.exec(from);
  const key = m && PRESETS[m[1]] ? m[1] : "1h";
  const [span, step] = PRESETS[key];
  const end = Math.floor(now / 10) * 10;
  return { from: end - span, to: end, step, span, key, fromText: `now-${key}`, toText: "now" };
}

function seconds(n) { return `${Math.max(1, Math.round(n))}s`; }

/** Grafana's escaping of a value placed in a regex (`=~"$var"` with multi-value or All): specials get `\\`. */
export function regexEscape(v) { return String(v).replace(/[\\^$*+?.()|{}[\]]/g, "\\\\$&").replace(/"/g, '\\"'); }
/** A single value placed in a PromQL string literal. */
function stringEscape(v) { return String(v).replace(/\\/g, "\\\\").replace(/"/g, '\\"'); }

/** The text a variable's current value becomes in an expression (multi/All: a regex alternation, as Grafana). */
export function formatValue(variable, selected, options) {
  const regex = variable.multi || variable.includeAll;
  let values = selected;
  if (selected.includes(ALL)) {
    if (variable.allValue) return variable.allValue;
    values = options.filter((o) => o !== ALL);
  }
  if (!regex) return stringEscape(values[0] ?? "");
  if (values.length === 1) return regexEscape(values[0]);
  return `(${values.map(regexEscape).join("|")})`;
}

/** Replaces $var, ${var}, ${var:format}, [[var]] with the values of `vars` (unknown names are left alone). */
export function interpolate(text, vars) {
  return String(text ?? "").replace(/\$\{(\w+)(?::[^}]*)?\}|\[\[(\w+)\]\]|\$(\w+)/g, (whole, a, b, c) => {
    const name = a ?? b ?? c;
    return Object.prototype.hasOwnProperty.call(vars, name) ? vars[name] : whole;
  });
}

/** A series' name from the target's legendFormat ({{label}}), else its labels. */
export function legendName(legendFormat, metric) {
  if (legendFormat && legendFormat !== "__auto") {
    return legendFormat.replace(/\{\{\s*([\w.]+)\s*\}\}/g, (_, l) => metric[l] ?? "");
  }
  const name = metric.__name__ ?? "";
  const labels = Object.entries(metric).filter(([k]) => k !== "__name__").map(([k, v]) => `${k}="${v}"`).join(", ");
  return labels ? `${name}{${labels}}` : name || "value";
}

function trim(n, digits) { return Number(n.toFixed(digits)).toString(); }
function short(v, digits = 2) {
  const a = Math.abs(v);
  for (const [limit, suffix] of [[1e12, " T"], [1e9, " B"], [1e6, " M"], [1e3, " K"]]) {
    if (a >= limit) return trim(v / limit, digits) + suffix;
  }
  return trim(v, a < 1 && a > 0 ? Math.max(digits, 3) : digits);
}
function bytes(v, digits = 1) {
  const units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
  let i = 0, x = v;
  while (Math.abs(x) >= 1024 && i < units.length - 1) { x /= 1024; i++; }
  return `${i === 0 ? trim(x, 0) : trim(x, digits)} ${units[i]}`;
}

/** Formats `v` in Grafana's `unit` (fieldConfig.defaults.unit); units not known here print the plain number. */
export function formatUnit(v, unit, decimals) {
  if (v === null || v === undefined || Number.isNaN(v)) return "–";
  if (!Number.isFinite(v)) return v > 0 ? "+Inf" : "-Inf";
  const d = Number.isInteger(decimals) ? decimals : undefined;
  switch (unit) {
    case "percentunit": return `${trim(v * 100, d ?? 2)} %`;
    case "percent": return `${trim(v, d ?? 2)} %`;
    case "s": return d === undefined ? (Math.abs(v) >= 60 ? `${trim(v / 60, 1)} min` : fmtSeconds(v)) : `${v.toFixed(d)} s`;
    case "ms": return fmtSeconds(v / 1000);
    case "bytes": return bytes(v, d ?? 1);
    case "decbytes": return `${short(v, d ?? 1).replace(" K", " k")}B`;
    case "reqps": return `${short(v, d ?? 2)} req/s`;
    case "ops": return `${short(v, d ?? 2)} ops/s`;
    case "short": return short(v, d ?? 2);
    default:
      if (d !== undefined) return v.toFixed(d);
      return Math.abs(v) >= 1000 ? fmtNumber(v) : trim(v, Math.abs(v) < 1 ? 4 : 2);
  }
}

/** The dashboard's panels in order, rows' collapsed children included (a row itself becomes a heading). */
function flatPanels(dashboard) {
  const out = [];
  for (const panel of dashboard.panels ?? []) {
    out.push(panel);
    if (panel.type === "row" && Array.isArray(panel.panels)) out.push(...panel.panels);
  }
  return out;
}

/** Parses `label_values(metric, label)` / `label_values(label)`; null for other variable queries. */
export function parseLabelValues(query) {
  const m = /^\s*label_values\(\s*(?:(.+?)\s*,\s*)?([a-zA-Z_][a-zA-Z0-9_]*)\s*\)\s*$/s.exec(query ?? "");
  return m ? { match: m[1] ?? null, label: m[2] } : null;
}

function variableQuery(v) { return typeof v.query === "object" && v.query !== null ? v.query.query : v.query; }

function currentOf(v) {
  const value = v.current?.value;
  if (value === undefined || value === null || value === "") return [];
  return Array.isArray(value) ? value : [value];
}

/**
 * Resolves the dashboard's variables in order (a later query may use an earlier variable): their options, the
 * selected values (the URL's `var-name` first, then the file's current value, then the first option) and the
 * text each becomes in expressions. Returns [{variable, options, selected, error}] and the values map.
 */
async function resolveVariables(dashboard, params, builtins) {
  const resolved = [];
  const values = { ...builtins };
  for (const v of dashboard.templating?.list ?? []) {
    if (!v.name || v.type === "datasource") continue; // always Opsight
    const entry = { variable: v, options: [], selected: [], error: null };
    if (v.type === "custom") {
      entry.options = String(variableQuery(v) ?? "").split(/(?<!\\),/).map((s) => s.trim()).filter(Boolean);
    } else if (v.type === "query") {
      const lv = parseLabelValues(interpolate(variableQuery(v), values));
      if (!lv) entry.error = `variable query not supported here: ${variableQuery(v)}`;
      else {
        try {
          const r = await api(`/api/v1/label/${encodeURIComponent(lv.label)}/values`,
            { params: lv.match ? { "match[]": lv.match } : {} });
          entry.options = [...(r.data ?? [])].sort();
        } catch (error) {
          entry.error = error.message;
        }
      }
    } else if (v.type === "constant" || v.type === "textbox") {
      entry.options = [String(variableQuery(v) ?? "")];
    } else {
      entry.error = `variable type "${v.type}" is not supported here`;
    }
    if (v.includeAll) entry.options = [ALL, ...entry.options];
    const fromURL = params.getAll(`var-${v.name}`).map((x) => (x === "All" ? ALL : x));
    const fromFile = currentOf(v);
    if (fromURL.length) entry.selected = v.multi ? fromURL : [fromURL[0]];
    else if (fromFile.length && fromFile.every((x) => entry.options.includes(x))) entry.selected = v.multi ? fromFile : [fromFile[0]];
    else entry.selected = entry.options.length ? [entry.options[0]] : [];
    values[v.name] = formatValue(v, entry.selected, entry.options);
    resolved.push(entry);
  }
  return { resolved, values };
}

/** The query string of this view with `changes` ({from, to, vars: {name: [values]}}) applied. */
function viewURL(params, changes) {
  const q = new URLSearchParams();
  q.set("view", "dashboards");
  q.set("uid", params.get("uid"));
  const from = changes.from ?? params.get("from"), to = changes.to ?? params.get("to");
  if (from) q.set("from", from);
  if (to) q.set("to", to);
  for (const [k, v] of params) {
    if (!k.startsWith("var-")) continue;
    if (changes.vars && Object.prototype.hasOwnProperty.call(changes.vars, k.slice(4))) continue;
    q.append(k, v);
  }
  for (const [name, list] of Object.entries(changes.vars ?? {})) for (const v of list) q.append(`var-${name}`, v === ALL ? "All" : v);
  return `/?${q}`;
}

// navigate() of app.js keeps one value per key; multi-value variables repeat `var-name`, so the URL is built here
// and the router is asked to render it through the same popstate it listens to for Back and Forward.
function go(url) {
  history.pushState(null, "", url);
  window.dispatchEvent(new PopStateEvent("popstate"));
}

async function renderList(ctx) {
  const out = el("div", { id: "dashboards-list" });
  ctx.container.append(el("h2", {}, "Dashboards"),
    el("p", { class: "note" }, "The dashboards of dashboards/*.json (console.dashboards_dir), the same files Grafana imports."), out);
  let r;
  try {
    r = await api("/api/v1/dashboards");
  } catch (error) {
    showError(out, error);
    return;
  }
  if (ctx.stale()) return;
  if (!r.dashboards.length) { out.append(el("p", { class: "note" }, "No dashboards in the folder.")); return; }
  out.append(table([
    { key: "title", label: "Dashboard", render: (d) => (d.error ? d.title ?? d.file : viewLink({ view: "dashboards", uid: d.uid }, d.title, { "data-uid": d.uid })) },
    { key: "tags", label: "Tags", render: (d) => d.tags.join(", ") },
    { key: "file", label: "File" },
    { key: "error", label: "Problem", render: (d) => (d.error ? el("span", { class: "error" }, d.error) : "") },
  ], r.dashboards, { rowAttrs: (d) => ({ "data-file": d.file, class: d.error ? "bad" : null }) }));
}

/** The controls: range presets and one select per variable. */
function toolbar(ctx, dashboard, range, resolved) {
  const bar = el("div", { class: "toolbar", id: "dashboard-toolbar" },
    viewLink({ view: "dashboards" }, "All dashboards"),
    el("label", {}, "Range ", el("select", {
      name: "range", id: "dashboard-range",
      onchange: (e) => go(viewURL(ctx.params, { from: `now-${e.target.value}`, to: "now" })),
    }, (range.key ? [] : [el("option", { value: "", selected: true }, "custom")]).concat(
      RANGES.map((k) => el("option", { value: k, selected: k === range.key }, `Last ${k}`))))));
  for (const entry of resolved) {
    const v = entry.variable;
    if (v.hide === 2) continue;
    const sel = el("select", {
      name: `var-${v.name}`, "data-var": v.name, multiple: v.multi ? true : null,
      onchange: (e) => {
        let chosen = [...e.target.selectedOptions].map((o) => o.value);
        // Picking a value next to All means that value only (Grafana drops All).
        if (chosen.length > 1 && chosen.includes(ALL)) chosen = chosen.filter((x) => x !== ALL);
        go(viewURL(ctx.params, { vars: { [v.name]: chosen } }));
      },
    }, entry.options.map((o) => el("option", { value: o, selected: entry.selected.includes(o) }, o === ALL ? "All" : o)));
    if (!entry.options.length) sel.append(el("option", { value: "", selected: true, disabled: true }, "(no values)"));
    bar.append(el("label", { class: "dash-var" }, `${v.label || v.name} `, sel));
    if (entry.error) bar.append(el("span", { class: "error", "data-var-error": v.name }, `${v.name}: ${entry.error}`));
  }
  return bar;
}

function setState(node, state) { node.setAttribute("data-state", state); }

function panelError(body, node, error) {
  body.replaceChildren();
  const message = error.body?.error ?? error.apiMessage ?? error.message ?? String(error);
  body.append(el("div", { class: "message", role: "alert" }, `The query failed: ${typeof message === "string" ? message : JSON.stringify(message)}`));
  setState(node, "error");
}

function noData(body, node) {
  body.append(el("p", { class: "note nodata" }, "No data"));
  setState(node, "nodata");
}

async function renderTimeseries(panel, node, exprs, range, isStale) {
  const defaults = panel.fieldConfig?.defaults ?? {};
  const results = await Promise.all(exprs.map((t) =>
    api("/api/v1/query_range", { params: { query: t.expr, start: range.from, end: range.to, step: range.step } })));
  if (isStale()) return;
  const series = [];
  results.forEach((r, i) => {
    for (const s of r.data.result ?? []) {
      series.push({ name: legendName(exprs[i].legendFormat, s.metric), points: s.values.map(([t, v]) => [t, Number(v)]) });
    }
  });
  node.replaceChildren();
  const formatter = (v) => formatUnit(v, defaults.unit, defaults.decimals);
  const box = timeChart(node, panel.title ?? "", series, { valueFormatter: formatter, range: [range.from, range.to] });
  if (!series.length) {
    box.querySelector(".plot")?.replaceChildren();
    noData(box.querySelector(".plot") ?? box, node);
    return;
  }
  // The legend's marks take dygraphs' colours through a CSS variable set via CSSOM (no style attribute).
  const colors = box.graph?.getColors?.() ?? [];
  box.append(el("ul", { class: "dash-legend" }, series.map((s, i) => {
    const item = el("li", { "data-series": s.name }, s.name);
    if (colors[i]) item.style.setProperty("--series-color", colors[i]);
    return item;
  })));
  setState(node, "ok");
}

async function renderStat(panel, node, body, exprs, range, isStale) {
  const defaults = panel.fieldConfig?.defaults ?? {};
  const results = await Promise.all(exprs.map((t) => api("/api/v1/query", { params: { query: t.expr, time: range.to } })));
  if (isStale()) return;
  const values = [];
  results.forEach((r, i) => {
    const d = r.data;
    if (d.resultType === "scalar") values.push({ name: exprs[i].legendFormat || "", value: Number(d.result[1]) });
    else for (const s of d.result ?? []) values.push({ name: legendName(exprs[i].legendFormat, s.metric), value: Number(s.value[1]) });
  });
  body.replaceChildren();
  if (!values.length) { noData(body, node); return; }
  for (const v of values) {
    body.append(el("div", { class: "stat", "data-series": v.name, "data-value": v.value },
      el("span", { class: "stat-value" }, formatUnit(v.value, defaults.unit, defaults.decimals)),
      values.length > 1 ? el("span", { class: "stat-name" }, v.name) : null));
  }
  setState(node, "ok");
}

/** Grafana's merge + organize: one row per label set, one value column per target ("Value #A", renamed). */
async function renderTable(panel, node, body, exprs, range, isStale) {
  const defaults = panel.fieldConfig?.defaults ?? {};
  const results = await Promise.all(exprs.map((t) => api("/api/v1/query", { params: { query: t.expr, time: range.to } })));
  if (isStale()) return;
  const organize = (panel.transformations ?? []).find((t) => t.id === "organize")?.options ?? {};
  const rename = organize.renameByName ?? {};
  const excluded = organize.excludeByName ?? {};
  const rows = new Map();
  const labelNames = new Set();
  const valueColumns = [];
  results.forEach((r, i) => {
    const column = exprs.length > 1 ? `Value #${exprs[i].refId}` : "Value";
    valueColumns.push(column);
    const d = r.data;
    const list = d.resultType === "scalar" ? [{ metric: {}, value: d.result }] : d.result ?? [];
    for (const s of list) {
      const labels = Object.fromEntries(Object.entries(s.metric).filter(([k]) => k !== "__name__").sort(([a], [b]) => (a < b ? -1 : 1)));
      for (const k of Object.keys(labels)) labelNames.add(k);
      const key = JSON.stringify(labels);
      if (!rows.has(key)) rows.set(key, { labels, values: {} });
      rows.get(key).values[column] = Number(s.value[1]);
    }
  });
  body.replaceChildren();
  if (!rows.size) { noData(body, node); return; }
  const columns = [
    ...[...labelNames].sort().filter((l) => !excluded[l]).map((l) => ({ key: `l:${l}`, label: rename[l] ?? l, value: (r) => r.labels[l] ?? "" })),
    ...valueColumns.filter((c) => !excluded[c]).map((c) => ({
      key: `v:${c}`, label: rename[c] ?? c, num: true, value: (r) => r.values[c] ?? null,
      render: (r) => formatUnit(r.values[c], defaults.unit, defaults.decimals),
    })),
  ];
  body.append(table(columns, [...rows.values()]));
  setState(node, "ok");
}

/** One panel's contents (queries run again on each refresh). */
async function renderPanel(panel, node, vars, range, isStale) {
  const exprs = (panel.targets ?? []).filter((t) => t.expr && !t.hide)
    .map((t, i) => ({ expr: interpolate(t.expr, vars), legendFormat: t.legendFormat, refId: t.refId ?? String.fromCharCode(65 + i) }));
  node.setAttribute("data-queries", JSON.stringify(exprs.map((t) => t.expr)));
  const heading = () => el("h3", {}, panel.title ?? "");
  const body = el("div", { class: "dash-body" });
  try {
    if (panel.type === "timeseries" || panel.type === "graph") {
      if (!exprs.length) { node.replaceChildren(heading(), body); noData(body, node); return; }
      await renderTimeseries(panel, node, exprs, range, isStale);
      return;
    }
    if (!node.firstChild) node.replaceChildren(heading(), body);
    const existing = node.querySelector(".dash-body") ?? body;
    if (!exprs.length) { existing.replaceChildren(); noData(existing, node); return; }
    if (panel.type === "stat") await renderStat(panel, node, existing, exprs, range, isStale);
    else await renderTable(panel, node, existing, exprs, range, isStale);
  } catch (error) {
    if (isStale()) return;
    let target = node.querySelector(".dash-body");
    if (!target) { node.replaceChildren(heading(), body); target = body; }
    panelError(target, node, error);
  }
}

const SUPPORTED = new Set(["timeseries", "graph", "stat", "table"]);

async function renderDashboard(ctx, uid) {
  let dashboard;
  try {
    dashboard = await api(`/api/v1/dashboards/${encodeURIComponent(uid)}`);
  } catch (error) {
    ctx.container.append(el("h2", {}, "Dashboards"), el("p", {}, viewLink({ view: "dashboards" }, "All dashboards")));
    showError(ctx.container, error);
    return null;
  }
  if (ctx.stale()) return null;
  document.title = `Opsight · ${dashboard.title ?? uid}`;
  let range = timeRange(ctx.params, dashboard);
  const builtins = (r) => ({
    __interval: seconds(r.step), __interval_ms: String(r.step * 1000),
    __range: seconds(r.span), __range_s: String(r.span), __range_ms: String(r.span * 1000),
    __rate_interval: seconds(Math.max(r.step + SCRAPE_SECONDS, 4 * SCRAPE_SECONDS)),
  });
  const { resolved, values } = await resolveVariables(dashboard, ctx.params, builtins(range));
  if (ctx.stale()) return null;
  const grid = el("div", { class: "dash-grid", id: "dashboard-grid", "data-uid": uid });
  ctx.container.append(el("h2", { id: "dashboard-title" }, dashboard.title ?? uid), toolbar(ctx, dashboard, range, resolved), grid);
  const panels = [];
  for (const panel of flatPanels(dashboard)) {
    const g = panel.gridPos ?? {};
    const x = Math.max(0, Math.min(23, g.x ?? 0)), w = Math.max(1, Math.min(24 - x, g.w ?? 12));
    const y = Math.max(0, g.y ?? 0), h = Math.max(1, g.h ?? 8);
    const node = el("div", {
      class: `dash-panel dash-${panel.type === "row" ? "row" : "panel-body"}`,
      "data-panel-type": panel.type ?? "", "data-panel-title": panel.title ?? "", "data-panel-id": panel.id ?? "",
    });
    // CSSOM, not a style attribute: the CSP forbids inline style attributes, not this.
    node.style.gridColumn = `${x + 1} / span ${w}`;
    node.style.gridRow = `${y + 1} / span ${panel.type === "row" ? 1 : h}`;
    grid.append(node);
    if (panel.type === "row") {
      node.append(el("h3", {}, panel.title ?? ""));
      setState(node, "row");
    } else if (!SUPPORTED.has(panel.type)) {
      node.append(el("h3", {}, panel.title ?? ""), el("p", { class: "note unsupported" },
        `Panel type "${panel.type}" is not supported in the console; open this dashboard in Grafana to see it.`));
      setState(node, "unsupported");
    } else {
      node.append(el("h3", {}, panel.title ?? ""), el("div", { class: "dash-body" }, el("p", { class: "note" }, "Loading…")));
      setState(node, "loading");
      panels.push({ panel, node });
    }
  }
  let generation = 0;
  const refresh = async () => {
    const mine = ++generation;
    if (range.key) range = timeRange(ctx.params, dashboard);
    Object.assign(values, builtins(range));
    const isStale = () => ctx.stale() || mine !== generation;
    await Promise.all(panels.map(({ panel, node }) => renderPanel(panel, node, values, range, isStale)));
  };
  await refresh();
  if (ctx.stale()) return null;
  // Relative ranges follow now; an absolute one never changes, so it is not polled.
  if (!range.key) return null;
  // The file's `refresh` when it has one (poll() never goes below 5 s), else every 30 s.
  const every = durationSeconds(dashboard.refresh) ?? 30;
  return poll(refresh, every, () => false);
}

export async function render(ctx) {
  await ensureStylesheet();
  const uid = ctx.params.get("uid");
  if (!uid) { await renderList(ctx); return null; }
  return renderDashboard(ctx, uid);
}
