// Explore: a PromQL box with a table tab (instant query) and a graph tab (query_range); errors are shown with a
// caret under the position the API names.
import { api, el, fmtTime, showError, table } from "../lib.js";
import { timeChart } from "../chart.js";
import { viewRange, PRESETS } from "./service.js";

// PromQL errors start with line:column (SourcePosition); the caret goes under that column of that line.
function positionOf(message) {
  const m = /(\d+):(\d+):/.exec(message ?? "");
  return m ? { line: Number(m[1]), column: Number(m[2]) } : null;
}

export async function render(ctx) {
  const p = ctx.params;
  const query = p.get("query") ?? "";
  const tab = p.get("tab") === "graph" ? "graph" : "table";
  const box = el("textarea", { class: "promql", name: "query", id: "query", spellcheck: "false" });
  box.value = query;
  const form = el("form", { id: "explore-form" }, box, el("div", { class: "toolbar" },
    el("button", { type: "submit" }, "Run"),
    el("label", {}, el("input", { type: "radio", name: "tab", value: "table", checked: tab === "table" }), " Table"),
    el("label", {}, el("input", { type: "radio", name: "tab", value: "graph", checked: tab === "graph" }), " Graph"),
    el("select", { name: "range" }, Object.keys(PRESETS).map((k) => el("option", { value: k, selected: (p.get("range") ?? "1h") === k }, k)))));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    ctx.setParams({ query: box.value.trim(), tab: form.elements.tab.value, range: form.elements.range.value }, { render: true, replace: false });
  });
  box.addEventListener("keydown", (e) => { if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) form.requestSubmit(); });
  const out = el("div", { id: "explore-result" });
  ctx.container.append(el("h2", {}, "Explore"),
    el("p", { class: "note" }, 'PromQL subset over Opsight\'s series, e.g. opsight_service_error_ratio{window="5m"} (windows are a label). Ctrl+Enter runs.'),
    form, out);
  if (!query) return;
  const showPromError = (error) => {
    const message = error.body?.error ?? error.apiMessage ?? error.message;
    const pos = positionOf(typeof message === "string" ? message : "");
    out.append(el("div", { class: "message", role: "alert", id: "query-error" }, `The query failed: ${message}`));
    if (pos !== null) {
      const line = query.split("\n")[pos.line - 1] ?? "";
      out.append(el("pre", { class: "promerror", id: "query-caret", "data-column": pos.column }, `${line}\n${" ".repeat(Math.max(0, pos.column - 1))}^`));
    }
  };
  try {
    if (tab === "table") {
      const r = await api("/api/v1/query", { params: { query } });
      if (ctx.stale()) return;
      const d = r.data;
      if (d.resultType === "vector") {
        out.append(el("p", { class: "note" }, `${d.result.length} series`), table([
          { key: "metric", label: "Series", render: (s) => `${s.metric.__name__ ?? ""}{${Object.entries(s.metric).filter(([k]) => k !== "__name__").map(([k, v]) => `${k}="${v}"`).join(", ")}}` },
          { key: "time", label: "Time", render: (s) => fmtTime(s.value[0]) },
          { key: "value", label: "Value", num: true, value: (s) => Number(s.value[1]), render: (s) => s.value[1] },
        ], d.result));
      } else out.append(el("p", { id: "scalar" }, `${d.resultType}: ${JSON.stringify(d.result)}`));
    } else {
      const range = viewRange(p);
      const r = await api("/api/v1/query_range", { params: { query, start: range.from, end: range.to, step: range.step } });
      if (ctx.stale()) return;
      const series = r.data.result.map((s) => ({
        name: Object.entries(s.metric).map(([k, v]) => `${k}=${v}`).join(",") || "value",
        points: s.values.map(([t, v]) => [t, Number(v)]),
      }));
      out.append(el("p", { class: "note" }, `${series.length} series`));
      timeChart(out, query, series, { id: "explore-chart" });
    }
  } catch (error) {
    if (error.status === 400 || error.status === 422) showPromError(error); else showError(out, error);
  }
}
