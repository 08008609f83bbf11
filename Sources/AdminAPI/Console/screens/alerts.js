// Alerts: firing and pending alerts grouped by name with counts per state, label-matcher filters in the URL;
// silences (create from an alert or the filter with a preview, edit, expire: admin); rules; notification log;
// history.
import { api, el, fmtTime, showError, table } from "../lib.js";

/** Parses `a="x", b=~"y.*"` into Alertmanager matchers; throws a sentence naming the bad part. */
export function parseMatchers(text) {
  const matchers = [];
  const re = /\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"\s*(,|$)/y;
  let at = 0;
  const source = (text ?? "").trim();
  while (at < source.length) {
    re.lastIndex = at;
    const m = re.exec(source);
    if (!m) throw new Error(`The filter is not a list of matchers such as service="api", severity=~"crit.*" (at character ${at + 1}).`);
    matchers.push({ name: m[1], value: m[3].replace(/\\(.)/g, "$1"), isRegex: m[2].includes("~"), isEqual: !m[2].startsWith("!") });
    at = re.lastIndex;
    if (m[4] === "") break;
  }
  return matchers;
}
export function formatMatchers(matchers) {
  return matchers.map((m) => matcherText({ ...m, value: m.value.replace(/(["\\])/g, "\\$1") })).join(", ");
}
function matcherText(m) { return `${m.name}${m.isEqual ? (m.isRegex ? "=~" : "=") : (m.isRegex ? "!~" : "!=")}"${m.value}"`; }
export function matches(labels, matchers) {
  return matchers.every((m) => {
    const v = labels[m.name] ?? "";
    const hit = m.isRegex ? new RegExp(`^(?:${m.value})$`).test(v) : v === m.value;
    return m.isEqual ? hit : !hit;
  });
}
function labelText(labels) { return Object.entries(labels).filter(([k]) => k !== "alertname").map(([k, v]) => `${k}="${v}"`).join(", "); }

export async function render(ctx) {
  const p = ctx.params;
  const filterText = p.get("filter") ?? "";
  const stateFilter = ["firing", "pending", "silenced"].includes(p.get("state")) ? p.get("state") : "";
  const filterInput = el("input", { type: "text", name: "filter", id: "filter", size: 60, value: filterText, placeholder: 'service="api", severity="critical"' });
  const filterForm = el("form", { class: "toolbar", id: "filter-form" }, el("label", {}, "Filter ", filterInput),
    el("select", { name: "state", id: "state" }, ["", "firing", "pending", "silenced"].map((s) => el("option", { value: s, selected: s === stateFilter }, s || "any state"))),
    el("button", { type: "submit" }, "Apply"));
  filterForm.addEventListener("submit", (e) => {
    e.preventDefault();
    ctx.setParams({ filter: filterInput.value.trim(), state: filterForm.elements.state.value }, { render: true, replace: false });
  });
  const message = el("div", { id: "alerts-message" });
  const activeArea = el("section", { id: "active" });
  const silenceForm = el("section", { id: "silence-editor" });
  const silencesArea = el("section", { id: "silences" });
  const rulesArea = el("section", { id: "rules" });
  const notificationsArea = el("section", { id: "notifications" });
  const historyArea = el("section", { id: "history" });
  ctx.container.append(el("h2", {}, "Alerts"), filterForm, message, silenceForm, activeArea, silencesArea, rulesArea, notificationsArea, historyArea);

  let filter = [];
  try { filter = parseMatchers(filterText); } catch (error) { showError(message, error); }

  const [alertsR, silencesR, rulesR, notificationsR, historyR] = await Promise.allSettled([
    api("/api/v1/alerts"), api("/api/v1/silences"), api("/api/v1/rules"),
    api("/api/v1/notifications", { params: { limit: 50 } }), api("/api/v1/alerts/history", { params: { limit: 50 } }),
  ]);
  if (ctx.stale()) return;
  const silences = silencesR.status === "fulfilled" ? silencesR.value : [];
  const activeSilences = silences.filter((s) => s.status.state === "active");
  const alerts = alertsR.status === "fulfilled" ? alertsR.value.data.alerts.map((a) => {
    const by = activeSilences.filter((s) => matches(a.labels, s.matchers));
    return { ...a, silencedBy: by.map((s) => s.id), shown: by.length ? "silenced" : a.state };
  }) : [];

  // Silence editor: from an alert, from the filter, or editing an existing silence; previews what it mutes.
  const openEditor = (matchers, existing) => {
    const matchersInput = el("input", { type: "text", name: "matchers", size: 70, value: formatMatchers(matchers) });
    const hours = el("input", { type: "number", name: "hours", min: "0.1", step: "0.1", value: existing ? ((Date.parse(existing.endsAt) - Date.now()) / 3.6e6).toFixed(1) : "2" });
    // Both are required by the API (as by Alertmanager): the browser says so before sending.
    const createdBy = el("input", { type: "text", name: "createdBy", required: true, value: existing?.createdBy ?? ctx.identity.name });
    const comment = el("input", { type: "text", name: "comment", size: 50, required: true, value: existing?.comment ?? "" });
    const preview = el("div", { id: "silence-preview" });
    const status = el("div");
    const updatePreview = () => {
      preview.replaceChildren();
      try {
        const ms = parseMatchers(matchersInput.value);
        if (ms.length === 0) throw new Error("A silence needs at least one matcher.");
        const muted = alerts.filter((a) => matches(a.labels, ms));
        preview.append(el("p", {}, `This silence would mute ${muted.length} current alert${muted.length === 1 ? "" : "s"}:`),
          el("ul", {}, muted.map((a) => el("li", {}, `${a.labels.alertname} {${labelText(a.labels)}}`))));
      } catch (error) { preview.append(el("p", { class: "error" }, error.message)); }
    };
    matchersInput.addEventListener("input", updatePreview);
    const form = el("form", { id: "silence-form" },
      el("fieldset", {}, el("legend", {}, existing ? `Edit silence ${existing.id}` : "New silence"),
        el("p", {}, el("label", {}, "Matchers ", matchersInput)),
        el("p", {}, el("label", {}, "Duration (hours from now) ", hours), " ", el("label", {}, "Created by ", createdBy)),
        el("p", {}, el("label", {}, "Comment ", comment)),
        preview,
        el("p", {}, el("button", { type: "submit", id: "silence-submit" }, existing ? "Save silence" : "Create silence"), " ",
          el("button", { type: "button", onclick: () => silenceForm.replaceChildren() }, "Cancel")),
        status));
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      status.replaceChildren();
      try {
        const ms = parseMatchers(matchersInput.value);
        const now = new Date();
        const body = {
          matchers: ms, startsAt: existing ? existing.startsAt : now.toISOString(),
          endsAt: new Date(now.getTime() + Number(hours.value) * 3.6e6).toISOString(),
          createdBy: createdBy.value, comment: comment.value,
        };
        if (existing) body.id = existing.id;
        await api("/api/v1/silences", { method: "POST", body });
        ctx.setParams({}, { render: true });
      } catch (error) { showError(status, error); }
    });
    silenceForm.replaceChildren(form);
    updatePreview();
    matchersInput.focus();
  };

  // Active alerts grouped by alertname.
  if (alertsR.status === "rejected") showError(activeArea, alertsR.reason);
  else {
    const visible = alerts.filter((a) => matches(a.labels, filter) && (!stateFilter || a.shown === stateFilter));
    const counts = { firing: 0, pending: 0, silenced: 0 };
    for (const a of visible) counts[a.shown] += 1;
    activeArea.append(el("h3", {}, "Active alerts"),
      el("p", { id: "alert-counts" }, ["firing", "pending", "silenced"].map((s) => el("span", { class: `badge ${s}`, "data-state": s }, `${counts[s]} ${s}`)).flatMap((b) => [b, " "])),
      el("p", {}, ctx.isAdmin && filter.length ? el("button", { type: "button", id: "silence-filter", onclick: () => openEditor(filter) }, "Silence alerts matching this filter") : null));
    const groups = new Map();
    for (const a of visible) groups.set(a.labels.alertname, [...(groups.get(a.labels.alertname) ?? []), a]);
    if (groups.size === 0) activeArea.append(el("p", { class: "note" }, "No active alert matches."));
    for (const [name, list] of [...groups].sort()) {
      const firing = list.filter((a) => a.shown === "firing").length, pending = list.filter((a) => a.shown === "pending").length;
      activeArea.append(el("h3", { "data-group": name }, `${name} `, el("span", { class: "note" }, `${firing} firing, ${pending} pending, ${list.length - firing - pending} silenced`)),
        table([
          { key: "state", label: "State", render: (a) => el("span", { class: `badge ${a.shown}` }, a.shown) },
          { key: "labels", label: "Labels", render: (a) => labelText(a.labels) },
          { key: "activeAt", label: "Active since" },
          { key: "value", label: "Value", num: true },
          { key: "summary", label: "Summary", render: (a) => a.annotations.summary ?? a.annotations.description ?? "" },
          ...(ctx.isAdmin ? [{ key: "act", label: "", render: (a) => el("button", { type: "button", class: "silence-alert",
            onclick: () => openEditor(Object.entries(a.labels).map(([n, v]) => ({ name: n, value: v, isRegex: false, isEqual: true }))) }, "Silence") }] : []),
        ], list, { rowClass: (a) => a.shown, rowAttrs: (a) => ({ "data-alert": `${a.labels.alertname} ${labelText(a.labels)}`, "data-state": a.shown }) }));
    }
  }

  // Silences.
  silencesArea.append(el("h3", {}, "Silences"));
  if (silencesR.status === "rejected") showError(silencesArea, silencesR.reason);
  else if (silences.length === 0) silencesArea.append(el("p", { class: "note" }, "No silences."));
  else silencesArea.append(table([
    { key: "state", label: "State", value: (s) => s.status.state },
    { key: "matchers", label: "Matchers", render: (s) => s.matchers.map(matcherText).join(", ") },
    { key: "createdBy", label: "Created by" }, { key: "comment", label: "Comment" },
    { key: "startsAt", label: "Starts" }, { key: "endsAt", label: "Ends" },
    ...(ctx.isAdmin ? [{ key: "act", label: "", render: (s) => s.status.state === "expired" ? "" : el("span", {},
      el("button", { type: "button", class: "edit-silence", onclick: () => openEditor(s.matchers, s) }, "Edit"), " ",
      el("button", { type: "button", class: "expire-silence", onclick: async () => {
        try { await api(`/api/v1/silences/${encodeURIComponent(s.id)}`, { method: "DELETE" }); ctx.setParams({}, { render: true }); }
        catch (error) { showError(silencesArea, error); }
      } }, "Expire")) }] : []),
  ], silences, { rowAttrs: (s) => ({ "data-silence": s.id, "data-state": s.status.state }) }));

  // Rules.
  rulesArea.append(el("h3", {}, "Rules"));
  if (rulesR.status === "rejected") showError(rulesArea, rulesR.reason);
  else {
    const rules = rulesR.value.data.groups.flatMap((g) => g.rules.map((r) => ({ ...r, group: g.name })));
    rulesArea.append(table([
      { key: "group", label: "Group" }, { key: "name", label: "Rule" },
      { key: "state", label: "State", render: (r) => r.state ? el("span", { class: `badge ${r.state}` }, r.state) : r.type },
      { key: "health", label: "Health" },
      { key: "lastEvaluation", label: "Last evaluation" },
      { key: "duration", label: "For", num: true, render: (r) => r.duration === undefined ? "" : `${r.duration} s` },
      { key: "lastError", label: "Error", render: (r) => r.lastError ? el("span", { class: "error" }, r.lastError) : "" },
    ], rules, { rowAttrs: (r) => ({ "data-rule": r.name }) }));
  }

  notificationsArea.append(el("h3", {}, "Notification log"));
  if (notificationsR.status === "rejected") showError(notificationsArea, notificationsR.reason);
  else notificationsArea.append(notificationsR.value.notifications.length === 0 ? el("p", { class: "note" }, "No notifications yet.") : table([
    { key: "created_at", label: "Created" }, { key: "receiver", label: "Receiver" }, { key: "integration", label: "Integration" },
    { key: "status", label: "Alerts status" }, { key: "alerts", label: "Alerts", num: true },
    { key: "state", label: "Delivery" }, { key: "attempts", label: "Attempts", num: true },
    { key: "last_status", label: "Last status" }, { key: "last_error", label: "Last error" },
  ], notificationsR.value.notifications));

  historyArea.append(el("h3", {}, "History"));
  if (historyR.status === "rejected") showError(historyArea, historyR.reason);
  else historyArea.append(historyR.value.history.length === 0 ? el("p", { class: "note" }, "No alert history yet.") : table([
    { key: "at", label: "At" }, { key: "alertname", label: "Alert" },
    { key: "labels", label: "Labels", render: (h) => labelText(h.labels) }, { key: "state", label: "State" },
    { key: "value", label: "Value", num: true },
  ], historyR.value.history.filter((h) => matches({ alertname: h.alertname, ...h.labels }, filter))));
}
