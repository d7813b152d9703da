// Charts over the rollout: requests/s, error rate and P95 per series, drawn as SVG by hand
// (no library, no CDN). Lines differ by dash pattern as well as colour; stage changes and
// rollbacks are vertical marks with a text label.

import { h, clock, metricValue, num, pct } from "./format.js";

const SVG = "http://www.w3.org/2000/svg";
const ORDER = ["canary", "legacy", "baseline"];
const CHARTS = [
  { key: "rps", title: "Requests per second", fmt: (v) => `${num(v)} req/s`, floor: 1 },
  { key: "error_rate", title: "Error rate", fmt: (v) => pct(v, 1), floor: 0.05 },
  { key: "p95_ms", title: "P95 latency", fmt: (v) => metricValue("p95_ms", v), floor: 10 },
];
const M = { left: 56, right: 10, top: 16, bottom: 22 };
const HEIGHT = 180;

function s(tag, attrs = {}, text) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  if (text !== undefined) el.textContent = text;
  return el;
}

// Keeps the points a page has seen, merged by bucket start, so each poll asks only for new ones.
export class SeriesData {
  constructor() { this.reset(); }

  reset() { this.step = null; this.since = null; this.until = null; this.series = new Map(); this.marks = []; }

  merge(doc) {
    if (this.step !== doc.step) { this.reset(); this.step = doc.step; this.since = doc.since; }
    this.until = doc.until;
    for (const [name, points] of Object.entries(doc.series)) {
      if (!this.series.has(name)) this.series.set(name, new Map());
      const byT = this.series.get(name);
      for (const p of points) byT.set(p.t, p);
    }
    this.marks = mergeMarks(this.marks, doc.marks || []);
  }

  // Where the next poll starts: the last bucket again (it was still filling).
  nextSince() {
    let last = this.since;
    for (const byT of this.series.values()) for (const t of byT.keys()) if (t > last) last = t;
    return last;
  }

  points(name) { return [...(this.series.get(name) || new Map()).values()].sort((a, b) => a.t - b.t); }

  names() { return ORDER.filter((n) => this.series.has(n) && (n !== "baseline" || this.points(n).some((p) => p.requests > 0))); }
}

function mergeMarks(old, fresh) {
  const key = (m) => `${m.at}:${m.verb}`;
  const all = new Map(old.map((m) => [key(m), m]));
  for (const m of fresh) all.set(key(m), m);
  return [...all.values()].sort((a, b) => a.at - b.at);
}

export function renderLegend(data) {
  const items = data.names().map((name) => h("span", { "data-series": name },
    legendSample(name), name));
  document.getElementById("legend").replaceChildren(...items);
}

function legendSample(name) {
  const svg = s("svg", { width: 28, height: 10, "aria-hidden": "true" });
  svg.append(s("line", { x1: 0, y1: 5, x2: 28, y2: 5, class: `series series-${name}` }));
  return svg;
}

export function renderCharts(data) {
  const list = document.getElementById("chart-list");
  if (list.children.length !== CHARTS.length) {
    list.replaceChildren(...CHARTS.map((c) => h("figure", { "data-chart": c.key },
      h("figcaption", {}, c.title))));
  }
  CHARTS.forEach((chart, i) => drawChart(list.children[i], chart, data));
  renderLegend(data);
}

function drawChart(figure, chart, data) {
  const width = Math.max(240, Math.floor(figure.getBoundingClientRect().width) || 600);
  const svg = s("svg", { class: "chart", viewBox: `0 0 ${width} ${HEIGHT}`, width, height: HEIGHT,
    role: "img", "aria-label": `${chart.title} by series over time` });
  const names = data.names();
  const x0 = data.since ?? 0;
  const lastMark = data.marks.length ? data.marks[data.marks.length - 1].at + 1 : 0;
  const x1 = Math.max(data.until ?? x0 + 1, x0 + 1, lastMark);
  let top = chart.floor;
  for (const n of names) for (const p of data.points(n)) if (p[chart.key] !== null && p[chart.key] > top) top = p[chart.key];
  top *= 1.1;
  const X = (t) => M.left + ((t - x0) / (x1 - x0)) * (width - M.left - M.right);
  const Y = (v) => HEIGHT - M.bottom - (v / top) * (HEIGHT - M.top - M.bottom);
  drawAxes(svg, chart, width, top, Y, x0, x1);
  for (const n of names) svg.append(s("path", { class: `series series-${n}`, d: path(data.points(n), chart.key, data.step, X, Y) }));
  drawMarks(svg, data.marks, X, x0, x1);
  const caption = h("figcaption", {}, h("strong", {}, chart.title), latest(data, chart));
  figure.replaceChildren(caption, svg);
}

function drawAxes(svg, chart, width, top, Y, x0, x1) {
  const bottom = HEIGHT - M.bottom;
  svg.append(s("line", { class: "axis", x1: M.left, y1: bottom, x2: width - M.right, y2: bottom }));
  svg.append(s("line", { class: "axis", x1: M.left, y1: M.top, x2: M.left, y2: bottom }));
  for (const v of [top / 1.1, top / 2.2]) {
    svg.append(s("line", { class: "axis", x1: M.left - 3, y1: Y(v), x2: width - M.right, y2: Y(v), "stroke-dasharray": "1 4" }));
    svg.append(s("text", { x: M.left - 5, y: Y(v) + 4, "text-anchor": "end" }, chart.fmt(v)));
  }
  svg.append(s("text", { x: M.left - 5, y: bottom + 4, "text-anchor": "end" }, "0"));
  svg.append(s("text", { x: M.left, y: HEIGHT - 6 }, clock(x0)));
  svg.append(s("text", { x: width - M.right, y: HEIGHT - 6, "text-anchor": "end" }, clock(x1)));
}

function path(points, key, step, X, Y) {
  let d = "";
  let open = false;
  for (const p of points) {
    const v = p[key];
    if (v === null || v === undefined) { open = false; continue; }
    d += `${open ? "L" : "M"}${X(p.t + step / 2).toFixed(1)},${Y(v).toFixed(1)}`;
    open = true;
  }
  return d || "M0,0";
}

function drawMarks(svg, marks, X, x0, x1) {
  let lastX = -Infinity;
  let row = 0;
  for (const m of marks) {
    if (m.at < x0 || m.at > x1) continue;
    const x = X(m.at);
    row = x - lastX < 48 ? (row + 1) % 2 : 0;
    lastX = x;
    const cls = m.rollback ? "mark mark-rollback" : "mark";
    const line = s("line", { class: cls, x1: x, y1: M.top - 4, x2: x, y2: HEIGHT - M.bottom, "data-verb": m.verb });
    line.append(s("title", {}, `${m.verb}: ${m.from_percent} % → ${m.to_percent} %${m.reason ? ` (${m.reason})` : ""}`));
    svg.append(line);
    const label = m.rollback ? "✖ rollback" : `${m.to_percent} %`;
    svg.append(s("text", { x: x + 3, y: M.top - 5 + row * 12, class: m.rollback ? "mark-rollback-label" : "mark-label" }, label));
  }
}

function latest(data, chart) {
  const parts = [];
  for (const n of data.names()) {
    const pts = data.points(n).filter((p) => p.requests > 0);
    const last = pts.length > 1 ? pts[pts.length - 2] : pts[pts.length - 1];  // the last one is still filling
    if (last && last[chart.key] !== null) parts.push(`${n} ${chart.fmt(last[chart.key])}`);
  }
  return parts.length ? ` · now: ${parts.join(" · ")}` : " · no traffic yet";
}
