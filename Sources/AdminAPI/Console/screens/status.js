// Status: WAL backlog, store health, ingest counters, version and uptime.
import { api, el, fmtAgo, fmtNumber, poll, showError, table } from "../lib.js";

export async function render(ctx) {
  const area = el("div", { id: "status" });
  ctx.container.append(el("h2", {}, "Status"), area);
  const load = async () => {
    const s = await api("/api/v1/status");
    if (ctx.stale()) return;
    const rows = [
      ["Version", s.version], ["Collector", s.collector_id], ["Uptime", fmtAgo(s.uptime_seconds)],
      ["WAL backlog", `${fmtNumber(s.wal.backlog_bytes, 0)} of ${fmtNumber(s.wal.max_bytes, 0)} bytes${s.wal.full ? " (full: ingest refused)" : ""}`],
      ["Redis", `${s.stores.redis.up ? "up" : "DOWN"}, ${s.stores.redis.errors} errors`],
      ["PostgreSQL", `${s.stores.postgres.up ? "up" : "DOWN"}, ${s.stores.postgres.errors} errors`],
      ...Object.entries(s.ingest).map(([k, v]) => [`Ingest ${k.replace(/_/g, " ")}`, typeof v === "number" ? fmtNumber(v, 0) : JSON.stringify(v)]),
    ];
    area.replaceChildren(table([{ key: "0", label: "" }, { key: "1", label: "" }], rows, { rowAttrs: (r) => ({ "data-field": r[0] }) }));
  };
  try { await load(); } catch (error) { showError(area, error); }
  return poll(() => load().catch((error) => { area.replaceChildren(); showError(area, error); }), 10, () => false);
}
