// Events: the raw-event drill-down with filters, cursor pagination (the cursors so far are in the URL) and each
// event expandable to its JSON.
import { api, el, fmtTime, showError, table, viewLink } from "../lib.js";

const FILTERS = ["service", "route", "kind", "level", "status_class", "errors", "from", "to"];

export async function render(ctx) {
  const p = ctx.params;
  const values = Object.fromEntries(FILTERS.map((k) => [k, p.get(k) ?? ""]));
  const cursor = p.get("cursor") ?? "";
  const inputs = {
    service: el("input", { type: "text", name: "service", value: values.service, size: 16 }),
    route: el("input", { type: "text", name: "route", value: values.route, size: 20 }),
    kind: el("select", { name: "kind" }, ["", "request", "job", "event", "log"].map((v) => el("option", { value: v, selected: v === values.kind }, v || "any kind"))),
    level: el("select", { name: "level" }, ["", "debug", "info", "warn", "error", "fatal"].map((v) => el("option", { value: v, selected: v === values.level }, v || "any level"))),
    status_class: el("select", { name: "status_class" }, ["", "2xx", "3xx", "4xx", "5xx"].map((v) => el("option", { value: v, selected: v === values.status_class }, v || "any status"))),
    errors: el("input", { type: "checkbox", name: "errors", checked: values.errors === "true" }),
    from: el("input", { type: "text", name: "from", value: values.from, size: 12, placeholder: "unix s or RFC 3339" }),
    to: el("input", { type: "text", name: "to", value: values.to, size: 12, placeholder: "unix s or RFC 3339" }),
  };
  const form = el("form", { class: "toolbar", id: "events-filter" },
    ...Object.entries(inputs).map(([k, i]) => el("label", {}, `${k} `, i)), el("button", { type: "submit" }, "Apply"));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const next = { cursor: null };
    for (const [k, i] of Object.entries(inputs)) next[k] = i.type === "checkbox" ? (i.checked ? "true" : null) : i.value.trim();
    ctx.setParams(next, { render: true, replace: false });
  });
  const area = el("div", { id: "events" });
  ctx.container.append(el("h2", {}, "Events"), form, area);
  const params = { ...values, limit: 50, cursor };
  let data;
  try { data = await api("/api/v1/events", { params }); } catch (error) { showError(area, error); return; }
  if (ctx.stale()) return;
  const range = values.from && values.to ? ` between ${isNaN(values.from) ? values.from : fmtTime(Number(values.from))} and ${isNaN(values.to) ? values.to : fmtTime(Number(values.to))}` : "";
  area.append(el("p", { class: "note" }, `${data.events.length} event${data.events.length === 1 ? "" : "s"}${cursor ? " (a later page)" : ""}${range}, newest first. `,
    `Sampling: ${data.sampling.kept} kept, ${data.sampling.sampled_out} sampled out.`));
  if (data.events.length === 0) { area.append(el("p", { class: "note" }, "No event matches these filters.")); return; }
  area.append(table([
    { key: "ts", label: "Time", render: (e) => fmtTime(e.ts) },
    { key: "service", label: "Service" }, { key: "kind", label: "Kind" },
    { key: "summary", label: "Event", render: (e) => [e.event.method, e.event.route, e.event.status, e.event.event, e.event.job, e.event.msg ?? e.event.message].filter((x) => x !== undefined && x !== null).join(" ") },
    { key: "error", label: "Error", render: (e) => (e.error ? el("span", { class: "error" }, "error") : "") },
    { key: "json", label: "", render: (e) => el("details", { class: "event-json" }, el("summary", {}, "JSON"), el("pre", { class: "json" }, JSON.stringify(e.event, null, 2))) },
  ], data.events, { rowAttrs: (e) => ({ "data-event-id": e.id }) }));
  const nav = el("p", { class: "toolbar" });
  if (cursor) nav.append(el("button", { type: "button", id: "first-page", onclick: () => ctx.setParams({ cursor: null }, { render: true, replace: false }) }, "First page"));
  if (data.next_cursor) nav.append(el("button", { type: "button", id: "next-page", onclick: () => ctx.setParams({ cursor: data.next_cursor }, { render: true, replace: false }) }, "Next page"));
  if (values.service) nav.append(viewLink({ view: "service", service: values.service }, `Back to ${values.service}`));
  area.append(nav);
}
