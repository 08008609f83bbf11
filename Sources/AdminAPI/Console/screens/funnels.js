// Funnels: per configured funnel, step bars with reached, overall and step conversion, and time to convert
// (p50/p95) over a selectable window.
import { api, el, fmtNumber, fmtPercent, fmtSeconds, select, showError, table } from "../lib.js";

const WINDOWS = ["15m", "1h", "6h", "1d", "7d"];

export async function render(ctx) {
  const window = WINDOWS.includes(ctx.params.get("window")) ? ctx.params.get("window") : "1h";
  ctx.container.append(el("h2", {}, "Funnels"),
    el("div", { class: "toolbar" }, el("label", {}, "Window ", select("window", WINDOWS, window, (v) => ctx.setParams({ window: v }, { render: true })))));
  const list = await api("/api/v1/funnels");
  if (ctx.stale()) return;
  const funnels = list.funnels ?? list;
  if (!funnels.length) { ctx.container.append(el("p", { class: "note" }, "No funnels are configured (funnels: in the configuration).")); return; }
  const results = await Promise.allSettled(funnels.map((f) => api(`/api/v1/funnels/${encodeURIComponent(f.name)}`, { params: { window, q: "0.5,0.95" } })));
  if (ctx.stale()) return;
  results.forEach((r, i) => {
    const section = el("section", { "data-funnel": funnels[i].name }, el("h3", {}, funnels[i].name));
    ctx.container.append(section);
    if (r.status === "rejected") { showError(section, r.reason); return; }
    const f = r.value;
    section.append(el("p", {}, `Entered: `, el("strong", { class: "entered" }, fmtNumber(f.entered, 0)),
      `  ·  converted: ${fmtNumber(f.converted, 0)}  ·  time to convert p50 ${fmtSeconds(f.time_to_convert?.["0.5"])}, p95 ${fmtSeconds(f.time_to_convert?.["0.95"])}`));
    const max = Math.max(1, ...f.steps.map((s) => s.reached));
    section.append(table([
      { key: "index", label: "#", num: true }, { key: "name", label: "Step" },
      { key: "bar", label: "", render: (s) => { const b = el("div", { class: "bar" }); b.style.width = `${(s.reached / max) * 100}%`; return el("div", { class: "barcell" }, b); } },
      { key: "reached", label: "Reached", num: true },
      { key: "conversion", label: "Overall", num: true, render: (s) => fmtPercent(s.conversion) },
      { key: "step_conversion", label: "From previous", num: true, render: (s) => fmtPercent(s.step_conversion) },
    ], f.steps, { rowAttrs: (s) => ({ "data-step": s.name }) }));
  });
}
