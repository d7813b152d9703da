// Operators' actions. Rendered only for the operator role (the server refuses a viewer anyway).
// Each asks for confirmation naming its effect, and sends the version the operator saw when
// deciding (`expected_version`): if the rollout changed meanwhile the server answers 409 and
// nothing is applied.

import { postJSON } from "./api.js";
import { h } from "./format.js";

const ACTIONS = [
  { verb: "start", label: "Start rollout", valid: ["idle", "rolled_back", "completed"], field: "salt" },
  { verb: "advance", label: "Advance", valid: ["progressing"] },
  { verb: "pause", label: "Pause", valid: ["progressing"], field: "reason" },
  { verb: "resume", label: "Resume", valid: ["paused"] },
  { verb: "rollback", label: "Roll back", valid: ["progressing", "paused", "completed"], field: "reason", danger: true },
];

export function effectOf(verb, status) {
  const stages = (status.stage && status.stage.stages) || [];
  const n = stages.length;
  const current = status.percent;
  const index = status.stage ? status.stage.index : null;
  switch (verb) {
    case "start":
      return `Start a rollout: send ${stages[0]} % of users to the canary (stage 1 of ${n}).`;
    case "advance": {
      const next = (index ?? 0) + 1;
      if (next >= n - 1) return `Complete the rollout: send ${stages[n - 1]} % of users to the canary (stage ${n} of ${n}).`;
      return `Advance: send ${stages[next]} % of users to the canary (stage ${next + 1} of ${n}), up from ${current} %.`;
    }
    case "pause":
      return `Pause at ${current} %: ${current} % of users stay on the canary and nothing moves automatically until you resume.`;
    case "resume":
      return `Resume at ${current} %: the controller judges the canary again and acts on a breach.`;
    case "rollback":
      return `Roll back: send every user back to legacy now (the canary goes from ${current} % to 0 %).`;
    default:
      return verb;
  }
}

export class Actions {
  constructor({ getStatus, onDone, onError }) {
    this.getStatus = getStatus;
    this.onDone = onDone;
    this.onError = onError;
    this.dialog = document.getElementById("confirm");
    this.pending = null;
    document.getElementById("confirm-cancel").addEventListener("click", () => this.dialog.close("cancel"));
    document.getElementById("confirm-form").addEventListener("submit", (event) => {
      event.preventDefault();
      this.dialog.close("ok");
      this.send();
    });
    this.dialog.addEventListener("close", () => { if (this.dialog.returnValue !== "ok") this.pending = null; });
  }

  render() {
    const section = document.getElementById("actions");
    const buttons = ACTIONS.map((a) => {
      const b = h("button", { type: "button", id: `action-${a.verb}`, "data-verb": a.verb, class: a.danger ? "danger" : null }, a.label);
      b.addEventListener("click", () => this.confirm(a));
      return b;
    });
    document.getElementById("action-buttons").replaceChildren(...buttons);
    section.hidden = false;
  }

  update(status) {
    for (const a of ACTIONS) {
      const b = document.getElementById(`action-${a.verb}`);
      if (!b) continue;
      const ok = a.valid.includes(status.state);
      b.disabled = !ok;
      b.title = ok ? "" : `not while ${status.state.replace("_", " ")}`;
    }
  }

  confirm(action) {
    const status = this.getStatus();
    if (!status) return;
    this.pending = { action, status };
    document.getElementById("confirm-title").textContent = `${action.label}?`;
    document.getElementById("confirm-effect").textContent = effectOf(action.verb, status);
    const ok = document.getElementById("confirm-ok");
    ok.textContent = action.label;
    ok.className = action.danger ? "primary danger" : "primary";
    document.getElementById("confirm-fields").replaceChildren(...fieldFor(action));
    this.dialog.returnValue = "";
    this.dialog.showModal();
  }

  async send() {
    const pending = this.pending;
    this.pending = null;
    if (!pending) return;
    const { action, status } = pending;
    const body = { expected_version: status.version };
    const input = document.getElementById("confirm-input");
    if (input && input.value.trim()) body[action.field] = input.value.trim();
    try {
      const fresh = await postJSON(`/admin/rollout/${action.verb}`, body);
      this.onDone(action, fresh);
    } catch (err) {
      this.onError(action, status, err);
    }
  }
}

function fieldFor(action) {
  if (action.field === "salt") {
    return [h("label", { for: "confirm-input" }, "Salt (optional: picks a different slice of users)"),
      h("input", { id: "confirm-input", name: "salt", maxlength: 64, autocomplete: "off", spellcheck: "false" })];
  }
  if (action.field === "reason") {
    return [h("label", { for: "confirm-input" }, "Reason (optional, kept in the history)"),
      h("input", { id: "confirm-input", name: "reason", maxlength: 500, autocomplete: "off" })];
  }
  return [];
}
