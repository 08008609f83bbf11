// Charts through the Debian-packaged dygraphs library (served from /vendor/dygraphs/); no chart code here.
import { el, fmtTime } from "./lib.js";

/** The series colours, in order; app.css gives the legend's `.key-N` the same ones (no inline styles under the CSP). */
const PALETTE = ["#1565c0", "#e65100", "#2e7d32", "#6a1b9a", "#c62828", "#00838f"];

/** True when dygraphs loaded; otherwise the chart places say what to install. */
export function chartsAvailable() { return typeof window.Dygraph === "function"; }

/**
 * Appends to `parent` a chart of `series` ([{name, points: [[t, v|null]…]}]) into a new chart box and returns it.
 * `onRange(fromSeconds, toSeconds)` is called after a drag-select (when `dragMode()` is "events"; otherwise the
 * drag zooms and `onZoom` gets the range, or null when zoomed back out).
 */
export function timeChart(parent, title, series, { id, valueFormatter = (v) => String(v), onRange, onZoom, dragMode = () => "zoom", range } = {}) {
  const plot = el("div", { class: "plot" });
  const readout = el("div", { class: "readout" });
  // Our own legend (dygraphs' writes inline styles): one coloured key per series, in the plot's colours; a chart of
  // one series needs none.
  const key = el("div", { class: "key" }, ...(series.length < 2 ? [] :
    series.map((s, i) => el("span", { class: `key-item key-${i % PALETTE.length}`, "data-series": s.name }, s.name))));
  const box = el("div", { class: "chart", id, "data-chart": title }, el("h3", {}, title), plot, key, readout);
  // Attached first: dygraphs reads the div's computed style.
  parent.append(box);
  if (!chartsAvailable()) {
    plot.append(el("p", { class: "note" },
      "Charts need the chart library: install Debian's libjs-dygraphs (scripts/stores.sh deps does), or point ",
      "console.assets_dir at a directory holding dygraph.min.js."));
    return box;
  }
  const times = new Set();
  for (const s of series) for (const p of s.points) times.add(p[0]);
  const sorted = [...times].sort((a, b) => a - b);
  const index = new Map(sorted.map((t, i) => [t, i]));
  const rows = sorted.map((t) => [new Date(t * 1000), ...series.map(() => null)]);
  series.forEach((s, j) => { for (const [t, v] of s.points) rows[index.get(t)][j + 1] = v; });
  if (rows.length === 0) {
    plot.append(el("p", { class: "note" }, "No data in this range."));
    return box;
  }
  // Dygraphs' legend plugin writes HTML and inline styles, which the CSP forbids: it is left out, and the
  // readout below is ours and uses text only.
  const Legend = window.Dygraph.Plugins?.Legend;
  if (Legend) window.Dygraph.PLUGINS = window.Dygraph.PLUGINS.filter((p) => p !== Legend);
  const graph = new window.Dygraph(plot, rows, {
    labels: ["time", ...series.map((s) => s.name)],
    legend: "never",
    colors: series.map((_, i) => PALETTE[i % PALETTE.length]),
    connectSeparatedPoints: false,
    drawPoints: rows.length < 60,
    axes: { y: { valueFormatter, axisLabelFormatter: valueFormatter, axisLabelWidth: 70 } },
    dateWindow: range ? [range[0] * 1000, range[1] * 1000] : undefined,
    highlightCallback: (_e, x, points) => {
      readout.textContent = `${fmtTime(x / 1000)}  ` + points.map((p) => `${p.name}: ${p.yval === null ? "–" : valueFormatter(p.yval)}`).join("  ");
    },
    unhighlightCallback: () => { readout.textContent = ""; },
    zoomCallback: (minX, maxX) => {
      const full = graph.xAxisExtremes();
      const zoomedOut = Math.abs(minX - full[0]) < 1 && Math.abs(maxX - full[1]) < 1;
      if (!zoomedOut && dragMode() === "events" && onRange) {
        onRange(Math.floor(minX / 1000), Math.ceil(maxX / 1000));
        return;
      }
      onZoom?.(zoomedOut ? null : [Math.floor(minX / 1000), Math.ceil(maxX / 1000)]);
    },
  });
  box.graph = graph;
  return box;
}
