// Overview: one row per service (rate, error ratio, p50/p95/p99, job failure ratio, firing alerts), sortable,
// with sparklines, a window selector and auto-refresh (≥ 5 s, pausable, stopped while the tab is hidden).
import { api, el, fmtNumber, fmtPercent, fmtSeconds, poll, select, showError, sparkline, table, viewLink } from "../lib.js";

export const WINDOWS = ["1m", "5m", "15m", "1h", "6h", "1d"];
const REFRESH = ["5", "10", "30", "60"];

export async function render(ctx) {
  const p = ctx.params;
  const window = WINDOWS.includes(p.get("window")) ? p.get("window") : "5m";
  let sort = { key: p.get("sort") ?? "service", desc: p.get("desc") === "1" };
  let paused = p.get("paused") === "1";
  const refresh = REFRESH.includes(p.get("refresh")) ? p.get("refresh") : "10";
  const pauseButton = el("button", { type: "button", id: "pause" }, paused ? "Resume" : "Pause");
  const updated = el("span", { class: "note", id: "updated" });
  const area = el("div", { id: "services" });
  const errorArea = el("div");
  ctx.container.append(
    el("h2", {}, "Services"),
    el("div", { class: "toolbar" },
      el("label", {}, "Window ", select("window", WINDOWS, window, (v) => ctx.setParams({ window: v }, { render: true }))),
      el("label", {}, "Refresh every ", select("refresh", REFRESH.map((r) => [r, `${r} s`]), refresh,
        (v) => ctx.setParams({ refresh: v }, { render: true }))),
      pauseButton, updated),
    errorArea, area);
  pauseButton.addEventListener("click", () => {
    paused = !paused;
    pauseButton.textContent = paused ? "Resume" : "Pause";
    ctx.setParams({ paused: paused ? "1" : null });
  });

  let data = null;
  let firing = new Map();
  const sparks = new Map();
  const draw = () => {
    const rows = data.services.map((s) => ({ ...s, alerts: firing.get(s.service) ?? [] }));
    const columns = [
      { key: "service", label: "Service", render: (r) => viewLink({ view: "service", service: r.service, window }, r.service, { class: "service-link" }) },
      { key: "request_rate", label: "Requests/s", num: true, render: (r) => fmtNumber(r.request_rate, 3) },
      { key: "trend", label: `Rate (1h)`, sortable: false, render: (r) => sparks.get(r.service) ?? el("span", { class: "note" }, "…") },
      { key: "requests", label: "Requests", num: true, render: (r) => fmtNumber(r.requests, 0) },
      { key: "errors", label: "Errors", num: true, render: (r) => r.errors > 0
        ? viewLink({ view: "events", service: r.service, errors: "true" }, fmtNumber(r.errors, 0), { class: "errors-link" })
        : "0" },
      { key: "error_ratio", label: "Error ratio", num: true, render: (r) => fmtPercent(r.error_ratio) },
      { key: "p50", label: "p50", num: true, value: (r) => r.latency?.["0.5"], render: (r) => fmtSeconds(r.latency?.["0.5"]) },
      { key: "p95", label: "p95", num: true, value: (r) => r.latency?.["0.95"], render: (r) => fmtSeconds(r.latency?.["0.95"]) },
      { key: "p99", label: "p99", num: true, value: (r) => r.latency?.["0.99"], render: (r) => fmtSeconds(r.latency?.["0.99"]) },
      { key: "job_failure_ratio", label: "Job failures", num: true, value: (r) => r.jobs?.failure_ratio, render: (r) => fmtPercent(r.jobs?.failure_ratio) },
      { key: "alerts", label: "Firing alerts", value: (r) => r.alerts.length, render: (r) => r.alerts.length === 0 ? "" :
        viewLink({ view: "alerts", filter: `service="${r.service}"` }, r.alerts.map((a) => a.labels.alertname).join(", "), { class: "badge firing" }) },
    ];
    area.replaceChildren(data.services.length === 0
      ? el("p", { class: "note" }, `No service sent events in the last ${window}.`)
      : table(columns, rows, {
        sort,
        onSort: (key, desc) => { sort = { key, desc }; ctx.setParams({ sort: key, desc: desc ? "1" : null }); draw(); },
        rowClass: (r) => (r.alerts.length ? "firing" : null),
        rowAttrs: (r) => ({ "data-service": r.service }),
      }));
  };

  const load = async () => {
    const [services, alerts] = await Promise.all([
      api("/api/v1/services", { params: { window } }),
      api("/api/v1/alerts").catch(() => ({ data: { alerts: [] } })),
    ]);
    if (ctx.stale()) return;
    data = services;
    firing = new Map();
    for (const a of alerts.data.alerts) {
      if (a.state !== "firing" || !a.labels.service) continue;
      firing.set(a.labels.service, [...(firing.get(a.labels.service) ?? []), a]);
    }
    errorArea.replaceChildren();
    draw();
    area.setAttribute("data-time", String(services.time));
    updated.textContent = `as of ${new Date(services.time * 1000).toISOString()}`;
    if (!performance.getEntriesByName("overview-data-drawn").length) performance.mark("overview-data-drawn");
    // Sparklines after the figures: the table must not wait for them.
    Promise.all(data.services.map(async (s) => {
      try {
        const ts = await api("/api/v1/timeseries", { params: { service: s.service, metric: "request_rate", window: "1m" } });
        sparks.set(s.service, sparkline(ts.series[0]?.points ?? []));
      } catch { sparks.set(s.service, el("span", { class: "note" }, "–")); }
    })).then(() => { if (!ctx.stale()) draw(); });
  };
  try { await load(); } catch (error) { showError(errorArea, error); }
  return poll(async () => {
    try { await load(); } catch (error) { errorArea.replaceChildren(); showError(errorArea, error); }
  }, Number(refresh), () => paused);
}
