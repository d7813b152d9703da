// The dashboard: signs nothing in by itself (the server only serves this page with a valid
// session), then polls the admin API every second. See docs/dashboard.md.

import { ApiError, getJSON, postJSON, setCsrf } from "./api.js";
import { Actions } from "./actions.js";
import { SeriesData, renderCharts } from "./charts.js";
import { renderHistory, renderStatus, renderVerdict } from "./views.js";
import { STATES } from "./format.js";

const POLL_MS = 1000;
const SERIES_EVERY = 2;  // polls
const MAX_KEPT_POINTS = 900;  // past this, ask again and let the server pick a coarser step
const $ = (id) => document.getElementById(id);

let status = null;
let actions = null;
let ticks = 0;
let storeTrouble = false;
const seen = { version: null, startedAt: undefined, verdictAt: null };
const data = new SeriesData();

const OK_NOTICE_MS = 10000;
let noticeTimer = 0;

function notice(text, kind = "error", title = null) {
  const box = $("notice");
  window.clearTimeout(noticeTimer);
  if (kind === "ok") noticeTimer = window.setTimeout(clearNotice, OK_NOTICE_MS);
  box.className = kind === "ok" ? "notice ok" : "notice";
  box.replaceChildren();
  if (title) { const t = document.createElement("strong"); t.textContent = title; box.append(t); }
  box.append(document.createTextNode(text));
  box.hidden = false;
}

function clearNotice() { $("notice").hidden = true; }

function announce(text) { $("live").textContent = text; }

function signedOut() { window.location.assign("/admin/ui"); }

function describe(s) {
  const word = (STATES[s.state] || ["", s.state])[1];
  return `${word} at ${s.percent} % (version ${s.version})`;
}

function show(fresh) {
  const changed = status && status.state !== fresh.state;
  status = fresh;
  renderStatus(fresh);
  if (actions) actions.update(fresh);
  if (changed) {
    announce(`Rollout now ${describe(fresh)}${fresh.reason ? `: ${fresh.reason}` : ""}`);
    if ($("notice").classList.contains("ok")) clearNotice();  // "done" is old news now
  }
  const verdictAt = fresh.last_verdict ? fresh.last_verdict.at : null;
  if (verdictAt !== seen.verdictAt) { seen.verdictAt = verdictAt; renderVerdict(fresh.last_verdict); }
}

async function pollStatus() {
  const fresh = await getJSON("/admin/rollout");
  show(fresh);
  if (fresh.version !== seen.version) {
    seen.version = fresh.version;
    const history = await getJSON("/admin/rollout/history?limit=50");
    renderHistory(history.history);
  }
  if (fresh.started_at !== seen.startedAt) {  // a new rollout: chart it from its start
    seen.startedAt = fresh.started_at;
    data.reset();
  }
}

async function pollSeries() {
  let total = 0;
  for (const n of data.names()) total += data.points(n).length;
  if (total / Math.max(1, data.names().length) > MAX_KEPT_POINTS) data.reset();
  const query = data.step === null ? "" : `?since=${data.nextSince()}&step=${data.step}`;
  data.merge(await getJSON(`/admin/rollout/series${query}`));
  renderCharts(data);
}

async function tick() {
  try {
    await pollStatus();
    if (ticks % SERIES_EVERY === 0) await pollSeries();
    ticks += 1;
    if (storeTrouble) { storeTrouble = false; clearNotice(); }
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return signedOut();
    storeTrouble = true;
    notice(` ${err.message}. Retrying every second.`, "error", "Cannot read the rollout right now.");
  }
  window.setTimeout(tick, POLL_MS);
}

function onDone(action, fresh) {
  show(fresh);
  notice(` Now ${describe(fresh)}.`, "ok", `${action.label}: done.`);
  ticks = 0;
}

function onError(action, saw, err) {
  if (err instanceof ApiError && err.status === 401) return signedOut();
  const title = `${action.label}: not applied.`;
  if (err instanceof ApiError && err.code === "conflict") {
    const now = `${(STATES[err.body.state] || ["", err.body.state])[1]}, version ${err.body.version}`;
    notice(` The rollout changed since you looked (you saw version ${saw.version}; it is now ${now}). ` +
      "Nothing was changed: review the new state and try again.", "error", title);
  } else if (err instanceof ApiError && err.status === 403) {
    notice(` Not allowed: ${err.message}.`, "error", title);
  } else {
    notice(` ${err.message}.`, "error", title);
  }
  pollStatus().catch(() => {});
}

async function signOut() {
  try { await postJSON("/admin/session/logout", {}); } finally { signedOut(); }
}

async function boot() {
  let session;
  try {
    session = await getJSON("/admin/session");
  } catch {
    return signedOut();
  }
  setCsrf(session.csrf_token);
  $("role").textContent = session.role;
  $("session-id").textContent = session.session ? `(${session.session})` : "";
  $("sign-out").addEventListener("click", signOut);
  if (session.may_act) {
    actions = new Actions({ getStatus: () => status, onDone, onError });
    actions.render();
  }
  let frame = 0;
  new ResizeObserver(() => {
    window.cancelAnimationFrame(frame);
    frame = window.requestAnimationFrame(() => { if (data.step !== null) renderCharts(data); });
  }).observe($("chart-list"));
  tick();
}

boot();
