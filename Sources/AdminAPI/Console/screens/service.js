// Service: request rate, error ratio and latency quantiles over a time range (presets, custom, zoom); routes and
// jobs tables. A drag-select on a chart (in "open events" mode) or a click on an error count opens Events
// filtered to the service, route and time range.
import { api, durationSeconds, el, fmtNumber, fmtPercent, fmtSeconds, select, showError, table, viewLink } from "../lib.js";
import { timeChart } from "../chart.js";

// Preset → [seconds, step seconds, window] (about 90–120 points each).
export const PRESETS = { "15m": [900, 10, "1m"], "1h": [3600, 30, "1m"], "6h": [21600, 180, "5m"], "1d": [86400, 720, "15m"], "7d": [604800, 5040, "2h"] };

function toLocalInput(unix) { return new Date(unix * 1000).toISOString().slice(0, 16); }
function fromLocalInput(text) { const t = Date.parse(`${text}:00Z`); return Number.isNaN(t) ? null : Math.floor(t / 1000); }

/** The range of the view: a preset ending now, or custom/zoomed from..to (unix seconds). */
export function viewRange(p, now = Date.now() / 1000) {
  const from = Number(p.get("from")), to = Number(p.get("to"));
  if (from > 0 && to > from) {
    const span = to - from;
    const step = Math.max(10, Math.ceil(span / 120 / 10) * 10);
    const windowSeconds = step <= 60 ? 60 : step <= 3600 ? Math.ceil(step / 60) * 60 : Math.ceil(step / 3600) * 3600;
    return { from, to, step, window: `${windowSeconds / 60}m`, custom: true };
  }
  const preset = PRESETS[p.get("range")] ? p.get("range") : "1h";
  const [span, step, window] = PRESETS[preset];
  const end = Math.floor(now / 10) * 10;
  return { from: end - span, to: end, step, window, preset };
}

export async function render(ctx) {
  const p = ctx.params;
  const service = p.get("service");
  if (!service) {
    ctx.container.append(el("p", {}, "Pick a service on the ", viewLink({ view: "overview" }, "Overview"), "."));
    return;
  }
  const range = viewRange(p);
  const tableWindow = ["1m", "5m", "15m", "1h", "6h", "1d"].includes(p.get("window")) ? p.get("window") : "5m";
  const drag = p.get("drag") === "zoom" ? "zoom" : "events";
  const fromInput = el("input", { type: "datetime-local", name: "from", value: toLocalInput(range.from) });
  const toInput = el("input", { type: "datetime-local", name: "to", value: toLocalInput(range.to) });
  const apply = el("button", { type: "button", id: "apply-range" }, "Apply (UTC)");
  apply.addEventListener("click", () => {
    const f = fromLocalInput(fromInput.value), t = fromLocalInput(toInput.value);
    if (f && t && t > f) ctx.setParams({ from: f, to: t, range: null }, { render: true, replace: false });
  });
  const openEvents = (from, to, route) => ctx.navigate({ view: "events", service, route, from, to });
  ctx.container.append(
    el("h2", {}, "Service ", el("span", { id: "service-name" }, service)),
    el("div", { class: "toolbar" },
      el("span", {}, "Range "),
      Object.keys(PRESETS).map((k) => el("button", {
        type: "button", class: range.preset === k ? "current" : null, "data-range": k, "aria-pressed": range.preset === k ? "true" : "false",
        onclick: () => ctx.setParams({ range: k, from: null, to: null }, { render: true, replace: false }),
      }, k)),
      el("label", {}, " from ", fromInput), el("label", {}, " to ", toInput), apply,
      el("label", {}, " Drag on a chart: ", select("drag", [["events", "open its events"], ["zoom", "zoom"]], drag,
        (v) => ctx.setParams({ drag: v }, { render: true }))),
      range.custom ? el("button", { type: "button", onclick: () => ctx.setParams({ from: null, to: null }, { render: true, replace: false }) }, "Reset zoom") : null),
    el("p", { class: "note" }, `Each point is the ${range.window} window ending at that time; step ${range.step} s.`));
  const charts = el("div", { class: "charts", id: "charts" });
  const routesArea = el("section", { id: "routes" });
  const jobsArea = el("section", { id: "jobs" });
  ctx.container.append(charts, routesArea, jobsArea);

  const common = { service, window: range.window, from: range.from, to: range.to, step: range.step };
  const chartOptions = {
    dragMode: () => drag,
    onRange: (from, to) => openEvents(from, to),
    onZoom: (r) => ctx.setParams(r ? { from: r[0], to: r[1], range: null } : { from: null, to: null }, { replace: false }),
  };
  const series = await Promise.allSettled([
    api("/api/v1/timeseries", { params: { ...common, metric: "request_rate" } }),
    api("/api/v1/timeseries", { params: { ...common, metric: "error_ratio" } }),
    api("/api/v1/timeseries", { params: { ...common, metric: "latency", q: "0.5,0.95,0.99" } }),
  ]);
  if (ctx.stale()) return;
  const titles = [["Request rate (/s)", (v) => fmtNumber(v, 3), "chart-rate"], ["Error ratio", fmtPercent, "chart-errors"], ["Latency", fmtSeconds, "chart-latency"]];
  series.forEach((r, i) => {
    const [title, valueFormatter, id] = titles[i];
    if (r.status === "rejected") { const box = el("div", { class: "chart", id }, el("h3", {}, title)); showError(box, r.reason); charts.append(box); return; }
    // Quantile series are named by their q (0.95); the legend says p95, as the tables do.
    const named = r.value.series.map((s) => Number.isFinite(Number(s.name)) && id === "chart-latency"
      ? { ...s, name: `p${+(Number(s.name) * 100).toFixed(1)}` } : s);
    timeChart(charts, title, named, { ...chartOptions, id, valueFormatter });
  });

  const windowSelect = select("window", ["1m", "5m", "15m", "1h", "6h", "1d"], tableWindow, (v) => ctx.setParams({ window: v }, { render: true }));
  let routeSort = { key: p.get("sort") ?? "requests", desc: p.get("sort") ? p.get("desc") === "1" : true };
  try {
    const [routes, jobs] = await Promise.all([
      api(`/api/v1/services/${encodeURIComponent(service)}/routes`, { params: { window: tableWindow } }),
      api("/api/v1/jobs", { params: { service, window: tableWindow } }),
    ]);
    if (ctx.stale()) return;
    const end = Math.floor(routes.time);
    const drawRoutes = () => routesArea.replaceChildren(
      el("h3", {}, "Routes over the last ", windowSelect),
      routes.routes.length === 0 ? el("p", { class: "note" }, "No requests in this window.") : table([
        { key: "route", label: "Route", render: (r) => r.route },
        { key: "method", label: "Method" },
        { key: "requests", label: "Requests", num: true, render: (r) => fmtNumber(r.requests, 0) },
        { key: "request_rate", label: "Requests/s", num: true, render: (r) => fmtNumber(r.request_rate, 3) },
        { key: "errors", label: "Errors", num: true, render: (r) => r.errors > 0
          ? el("button", { type: "button", class: "link errors-link", onclick: () => ctx.navigate({ view: "events", service, route: r.route, errors: "true", from: end - durationSeconds(routes.window), to: end + 1 }) }, fmtNumber(r.errors, 0))
          : "0" },
        { key: "error_ratio", label: "Error ratio", num: true, render: (r) => fmtPercent(r.error_ratio) },
        { key: "p50", label: "p50", num: true, value: (r) => r.latency?.["0.5"], render: (r) => fmtSeconds(r.latency?.["0.5"]) },
        { key: "p95", label: "p95", num: true, value: (r) => r.latency?.["0.95"], render: (r) => fmtSeconds(r.latency?.["0.95"]) },
        { key: "p99", label: "p99", num: true, value: (r) => r.latency?.["0.99"], render: (r) => fmtSeconds(r.latency?.["0.99"]) },
      ], routes.routes, {
        sort: routeSort,
        onSort: (key, desc) => { routeSort = { key, desc }; ctx.setParams({ sort: key, desc: desc ? "1" : "0" }); drawRoutes(); },
        rowAttrs: (r) => ({ "data-route": `${r.method} ${r.route}` }),
      }));
    drawRoutes();
    jobsArea.replaceChildren(el("h3", {}, `Jobs over the last ${tableWindow}`),
      jobs.jobs.length === 0 ? el("p", { class: "note" }, "No job events in this window.") : table([
        { key: "queue", label: "Queue" }, { key: "job", label: "Job" },
        { key: "enqueued", label: "Enqueued", num: true }, { key: "succeeded", label: "Succeeded", num: true },
        { key: "failed", label: "Failed", num: true }, { key: "retried", label: "Retried", num: true },
        { key: "failure_ratio", label: "Failure ratio", num: true, render: (r) => fmtPercent(r.failure_ratio) },
        { key: "d50", label: "Duration p50", num: true, render: (r) => fmtSeconds(r.duration?.["0.5"]) },
        { key: "d99", label: "Duration p99", num: true, render: (r) => fmtSeconds(r.duration?.["0.99"]) },
        { key: "w50", label: "Wait p50", num: true, render: (r) => fmtSeconds(r.wait?.["0.5"]) },
        { key: "w99", label: "Wait p99", num: true, render: (r) => fmtSeconds(r.wait?.["0.99"]) },
      ], jobs.jobs, { rowAttrs: (r) => ({ "data-job": `${r.queue}/${r.job}` }) }));
  } catch (error) { showError(routesArea, error); }
}
