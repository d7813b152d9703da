// Formatting and a tiny DOM builder. Text always goes in as text (never as HTML).

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") el.className = value;
    else if (key === "text") el.textContent = value;
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

export function duration(seconds) {
  if (seconds === null || seconds === undefined) return "–";
  let s = Math.max(0, Math.round(seconds));
  const d = Math.floor(s / 86400); s -= d * 86400;
  const hh = Math.floor(s / 3600); s -= hh * 3600;
  const mm = Math.floor(s / 60); s -= mm * 60;
  if (d) return `${d} d ${hh} h ${mm} min`;
  if (hh) return `${hh} h ${mm} min`;
  if (mm) return `${mm} min ${s} s`;
  return `${s} s`;
}

export function pct(fraction, digits = 2) {
  if (fraction === null || fraction === undefined || Number.isNaN(fraction)) return "–";
  return `${(fraction * 100).toFixed(digits)} %`;
}

export function num(value, digits = 3) {
  if (value === null || value === undefined) return "–";
  if (typeof value !== "number") return String(value);
  if (Number.isInteger(value)) return value.toLocaleString("en-US");
  const abs = Math.abs(value);
  if (abs !== 0 && (abs >= 1e5 || abs < 1e-3)) return value.toExponential(2);
  return String(Number(value.toPrecision(digits)));
}

export function ms(value) {
  return value === null || value === undefined ? "–" : `${num(value, 4)} ms`;
}

// A metric's value in its unit: rates as percent, *_ms as milliseconds.
export function metricValue(metric, value) {
  if (value === null || value === undefined) return "–";
  if (/(_rate|_share)$/.test(metric)) return pct(value);
  if (/_ms$/.test(metric)) return ms(value);
  return num(value);
}

export function when(epoch) {
  if (epoch === null || epoch === undefined) return "–";
  const d = new Date(epoch * 1000);
  const pad = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

export function timeEl(epoch) {
  if (epoch === null || epoch === undefined) return document.createTextNode("–");
  return h("time", { datetime: new Date(epoch * 1000).toISOString(), title: new Date(epoch * 1000).toISOString() }, when(epoch));
}

export function clock(epoch) {
  const d = new Date(epoch * 1000);
  const pad = (n) => String(n).padStart(2, "0");
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

// States and verdicts are told by an icon and a word, not by colour alone.
export const STATES = {
  idle: ["○", "idle"],
  progressing: ["▶", "progressing"],
  paused: ["‖", "paused"],
  rolled_back: ["↺", "rolled back"],
  completed: ["✔", "completed"],
};
export const VERDICTS = {
  healthy: ["✔", "healthy"],
  warn: ["⚠", "warning"],
  breach: ["✖", "breach"],
  not_enough_data: ["…", "not enough data"],
  error: ["?", "error"],
};

export function badge(table, prefix, key) {
  const [icon, word] = table[key] || ["•", String(key)];
  return h("span", { class: `badge ${prefix}-${key}` },
    h("span", { class: "icon", "aria-hidden": "true" }, icon), word);
}
