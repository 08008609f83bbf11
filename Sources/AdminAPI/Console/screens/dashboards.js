// Dashboards (SPEC §13): a place in the navigation; the screen that renders dashboards/*.json is built with
// the dashboards issue.
import { el } from "../lib.js";

export async function render(ctx) {
  ctx.container.append(el("h2", {}, "Dashboards"),
    el("p", { class: "note", id: "dashboards-placeholder" }, "The dashboards of dashboards/*.json will be rendered here (not built yet). Until then, import them into Grafana."));
}
