// Status, verdict evidence and history, drawn from the admin API's JSON.

import { STATES, VERDICTS, badge, duration, h, metricValue, num, pct, timeEl, clock } from "./format.js";

const $ = (id) => document.getElementById(id);

export function renderStatus(status) {
  const state = $("state");
  const [icon, word] = STATES[status.state] || ["•", status.state];
  state.className = `state s-${status.state}`;
  state.replaceChildren(h("span", { class: "icon", "aria-hidden": "true" }, icon), word);
  state.dataset.state = status.state;
  $("percent").textContent = String(status.percent);
  renderReason(status);
  renderStages(status);
  const stage = status.stage || {};
  const stages = stage.stages || [];
  const soaking = status.state === "progressing" || status.state === "paused";
  const facts = [
    ["Stage", soaking && stage.index !== null ? `${stage.index + 1} of ${stages.length} (${status.percent} %)` : "–"],
    ["Time in stage", soaking ? duration(status.time_in_stage_seconds) : "–"],
    ["Soak left", soaking ? duration(status.soak_left_seconds) : "–"],
    ["Started", timeEl(status.started_at)],
    ["Reason", status.reason || "–"],
    ["Salt", status.salt || "none"],
    ["Controller", controllerText(status.controller)],
    ["Auto-advance", status.auto_advance ? "on" : "off"],
    ["On breach", status.breach_action || "–"],
    ["Version", String(status.version)],
    ["Updated", timeEl(status.updated_at)],
  ];
  $("facts").replaceChildren(...facts.flatMap(([k, v]) => [h("dt", {}, k), h("dd", { "data-fact": k }, v)]));
}

const REASON_HEADS = { rolled_back: "↺ Rolled back", paused: "‖ Paused", completed: "✔ Completed" };

function renderReason(status) {
  const banner = $("reason-banner");
  const head = REASON_HEADS[status.state];
  banner.hidden = !(head && status.reason);
  if (banner.hidden) return;
  banner.className = `reason-banner s-${status.state}`;
  banner.replaceChildren(h("strong", {}, `${head}: `), status.reason);
}

function controllerText(controller) {
  if (!controller) return "–";
  const id = controller.process ? ` (${controller.process})` : "";
  if (controller.role === "leader") return `leader: this process decides${id}`;
  if (controller.role === "standby") return `standby here${id}; another process holds the lease`;
  return `off in this process${id}`;
}

function renderStages(status) {
  const stage = status.stage || {};
  const soaking = status.state === "progressing" || status.state === "paused";
  const items = (stage.stages || []).map((p, i) => {
    let cls = "";
    if (status.state === "completed" || (soaking && i < stage.index)) cls = "done";
    if (soaking && i === stage.index) cls = "current";
    const label = cls === "current" ? `${p} %, current stage` : cls === "done" ? `${p} %, done` : `${p} %`;
    return h("li", { class: cls, "aria-label": label }, `${p} %`);
  });
  $("stages").replaceChildren(...items);
}

// ----- verdict evidence ------------------------------------------------------------------

const CONSUMED = new Set(["metric", "verdict", "value", "warn", "breach", "target", "window_seconds",
  "samples", "seen", "needed", "statistic", "threshold", "evidence", "ratio", "ratio_low",
  "ratio_high", "canary_events", "canary_requests", "baseline_events", "baseline_requests",
  "canary_rate", "baseline_rate", "line", "kind", "shared", "baseline_statistic"]);

export function renderVerdict(verdict) {
  const summary = $("verdict-summary");
  if (!verdict) {
    summary.replaceChildren("no verdict yet");
    $("checks").replaceChildren();
    return;
  }
  const parts = [badge(VERDICTS, "v", verdict.verdict), " at ", verdict.at ? clock(verdict.at) : "–"];
  if (verdict.shared) parts.push(" · canary and baseline both past a guard: not the canary's fault");
  if (verdict.detail) parts.push(` · ${verdict.detail}`);
  summary.className = "";
  summary.replaceChildren(...parts);
  $("checks").replaceChildren(...(verdict.metrics || []).map(checkCard));
}

function checkCard(m) {
  const card = h("article", { class: "check", "data-metric": m.metric },
    h("h3", {}, h("span", {}, m.metric), badge(VERDICTS, "v", m.verdict)));
  const main = mainLine(m);
  if (main) card.append(h("p", { class: "main" }, main));
  if ("canary_requests" in m || "baseline_requests" in m) card.append(sideBySide(m));
  const rows = detailRows(m);
  if (rows.length) card.append(h("dl", {}, rows.flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)])));
  return card;
}

export function mainLine(m) {
  if ("value" in m) {
    const lowerIsWorse = typeof m.warn === "number" && typeof m.breach === "number" && m.breach < m.warn;
    const op = lowerIsWorse ? "<" : ">";
    const limits = [];
    if ("warn" in m) limits.push(`warn ${op} ${metricValue(m.metric, m.warn)}`);
    if ("breach" in m) limits.push(`breach ${op} ${metricValue(m.metric, m.breach)}`);
    return `${metricValue(m.metric, m.value)}${limits.length ? ` (${limits.join(", ")})` : ""}`;
  }
  if (m.kind === "guard") {
    const line = m.line === null || m.line === undefined ? "" : ` vs line ${lineText(m)}`;
    return `canary ${pct(m.canary_rate)}${line}${m.shared ? " (baseline past it too)" : ""}`;
  }
  if ("ratio" in m || "ratio_low" in m) {
    const interval = `[${num(m.ratio_low)}, ${m.ratio_high === null || m.ratio_high === undefined ? "∞" : num(m.ratio_high)}]`;
    return m.ratio === null || m.ratio === undefined
      ? `canary ${pct(m.canary_rate)} vs baseline ${pct(m.baseline_rate)}, ratio ${interval}`
      : `${num(m.ratio)}× baseline ${interval}`;
  }
  return null;
}

function lineText(m) {
  return /slow|_ms$/.test(m.metric) ? `${num(m.line)} ms` : pct(m.line);
}

function sideBySide(m) {
  const rate = (events, requests, given) => given !== undefined && given !== null
    ? pct(given) : requests ? pct(events / requests) : "–";
  return h("table", {},
    h("thead", {}, h("tr", {}, h("th", { scope: "col" }, ""), h("th", { scope: "col" }, "events / requests"), h("th", { scope: "col" }, "rate"))),
    h("tbody", {},
      h("tr", {}, h("th", { scope: "row" }, "canary"), h("td", {}, `${num(m.canary_events)} / ${num(m.canary_requests)}`), h("td", {}, rate(m.canary_events, m.canary_requests, m.canary_rate))),
      h("tr", {}, h("th", { scope: "row" }, "baseline"), h("td", {}, `${num(m.baseline_events)} / ${num(m.baseline_requests)}`), h("td", {}, rate(m.baseline_events, m.baseline_requests, m.baseline_rate)))));
}

function detailRows(m) {
  const rows = [];
  const seen = m.samples ?? m.seen;
  if (seen !== undefined) rows.push(["samples seen / needed", `${num(seen)} / ${m.needed === null || m.needed === undefined ? "–" : num(m.needed)}`]);
  if ("window_seconds" in m) rows.push(["window", duration(m.window_seconds)]);
  if ("target" in m) rows.push(["target", metricValue(m.metric, m.target)]);
  if ("statistic" in m) {
    const ev = "evidence" in m ? ` (evidence ${pct(m.evidence, 0)} of the way)` : "";
    rows.push(["statistic / level", `${num(m.statistic)} / ${num(m.threshold)}${ev}`]);
  }
  if ("baseline_statistic" in m && m.baseline_statistic !== null) rows.push(["baseline statistic", num(m.baseline_statistic)]);
  if (m.kind) rows.push(["test", m.kind === "guard" ? "absolute guard" : m.kind === "vs_baseline" ? "canary vs baseline" : m.kind]);
  if (m.kind !== "guard" && m.line !== undefined && m.line !== null) rows.push(["line", lineText(m)]);
  for (const [key, value] of Object.entries(m)) {
    if (CONSUMED.has(key)) continue;
    rows.push([key.replaceAll("_", " "), typeof value === "object" && value !== null ? JSON.stringify(value) : num(value)]);
  }
  return rows;
}

// ----- history ---------------------------------------------------------------------------

const VERBS = {
  start: "▶ start", advance: "↑ advance", auto_advance: "↑ advance (automatic)",
  pause: "‖ pause", auto_pause: "‖ pause (automatic)", resume: "▶ resume",
  rollback: "↺ rollback", auto_rollback: "↺ rollback (automatic)",
  auto_step_back: "↓ step back (automatic)", warn: "⚠ warning",
};

export function renderHistory(entries) {
  const rows = entries.map((e) => h("tr", { "data-verb": e.verb },
    h("td", {}, timeEl(e.at)),
    h("td", {}, e.actor),
    h("td", {}, VERBS[e.verb] || e.verb),
    h("td", {}, `${(STATES[e.from_state] || ["", e.from_state])[1]} ${e.from_percent} % → ${(STATES[e.to_state] || ["", e.to_state])[1]} ${e.to_percent} %`),
    h("td", { class: "reason" }, e.reason || ""),
    h("td", { class: "numbers" }, numbers(e.details || {}))));
  $("history-table").tBodies[0].replaceChildren(...rows);
}

function numbers(details) {
  const parts = [];
  const verdict = details.verdict;
  if (verdict && Array.isArray(verdict.metrics)) {
    const shown = verdict.metrics.filter((m) => m.verdict === verdict.verdict);
    for (const m of (shown.length ? shown : verdict.metrics)) {
      const line = mainLine(m);
      const seen = m.samples ?? m.seen;
      parts.push(`${m.metric}: ${line || m.verdict}${seen !== undefined ? `, ${num(seen)} samples` : ""}`);
    }
  }
  for (const [key, value] of Object.entries(details)) {
    if (key === "verdict" || value === null || value === false) continue;
    parts.push(`${key.replaceAll("_", " ")}: ${typeof value === "object" ? JSON.stringify(value) : value}`);
  }
  return parts.join("; ");
}
