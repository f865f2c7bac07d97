// The call view's controls and status widgets: who the customer hears, the buttons, the level meters and the
// outcome form. They only render state and report clicks; call.js decides what a click does.

import { el } from "./dom.js";

export const OUTCOMES = [
  "interested",
  "not_interested",
  "callback",
  "booked",
  "do_not_call",
  "wrong_number",
  "voicemail",
  "other",
];

/** "Customer hears: robot | you | silence": the three choices side by side, the current one lit, and its name. */
export class HearsIndicator {
  constructor() {
    this.value = el("strong", { id: "hears", class: "hears-value", text: "silence" });
    this.choices = ["robot", "you", "silence"].map((who) =>
      el("span", { class: "hears-choice", data: { who }, text: who }),
    );
    this.root = el(
      "div",
      { class: "hears", attrs: { role: "status", "aria-live": "polite" } },
      el("span", { class: "hears-label", text: "Customer hears" }),
      this.value,
      el("span", { class: "hears-choices", attrs: { "aria-hidden": "true" } }, ...this.choices),
    );
  }

  /** `who`: "robot", "you", "silence", or another agent's label ("agent bob"). */
  set(who) {
    this.value.textContent = who;
    const kind = who === "robot" || who === "you" || who === "silence" ? who : "agent";
    this.root.dataset.hears = kind;
    for (const choice of this.choices) choice.classList.toggle("lit", choice.dataset.who === kind);
  }
}

/** 0..1 RMS → a meter position on a 60 dB scale (speech sits around -30..-10 dBFS). */
function meterValue(rms) {
  if (!(rms > 0)) return 0;
  return Math.max(0, Math.min(1, (20 * Math.log10(rms) + 60) / 60));
}

export class LevelMeters {
  constructor() {
    this.hear = el("meter", { id: "meter-hear", min: 0, max: 1, value: 0 });
    this.send = el("meter", { id: "meter-send", min: 0, max: 1, value: 0 });
    this.root = el(
      "div",
      { class: "meters" },
      el("label", { class: "meter" }, el("span", { text: "You hear" }), this.hear),
      el("label", { class: "meter" }, el("span", { text: "You send" }), this.send),
    );
  }

  update({ hear, send }) {
    this.hear.value = meterValue(hear);
    this.send.value = meterValue(send);
  }
}

export class CallButtons {
  constructor(handlers) {
    const button = (id, text, onClick, cls = "") =>
      el("button", { id, type: "button", class: cls, text, on: { click: onClick } });
    this.listen = button("btn-listen", "Listen", handlers.listen);
    this.takeover = button("btn-takeover", "Take over", handlers.takeover, "primary");
    this.handBack = button("btn-handback", "Hand back", handlers.handBack);
    this.hangUp = button("btn-hangup", "Hang up", () => this.confirmHangUp(handlers.hangUp), "danger");
    this.root = el("div", { class: "buttons" }, this.listen, this.takeover, this.handBack, this.hangUp);
    this.armed = null;
  }

  // Hang-up needs a second click within 3 s: a call cut by a stray click cannot be undone.
  confirmHangUp(hangUp) {
    if (this.armed) {
      clearTimeout(this.armed);
      this.armed = null;
      this.hangUp.textContent = "Hang up";
      hangUp();
      return;
    }
    this.hangUp.textContent = "Confirm hang-up";
    this.armed = setTimeout(() => {
      this.armed = null;
      this.hangUp.textContent = "Hang up";
    }, 3000);
  }

  render({ canControl, canListen, ended, listening, holding, controller, busy }) {
    this.listen.textContent = listening ? "Stop listening" : "Listen";
    this.listen.disabled = ended || !canListen || holding;
    this.listen.setAttribute("aria-pressed", String(listening));
    this.takeover.disabled = ended || !canControl || busy || holding || controller === "human";
    this.handBack.disabled = ended || !canControl || busy || !holding;
    this.hangUp.disabled = ended || !canControl;
  }
}

export class OutcomeForm {
  constructor(onSubmit) {
    this.select = el(
      "select",
      { id: "outcome", attrs: { "aria-label": "Outcome" } },
      el("option", { value: "", text: "Outcome…" }),
      ...OUTCOMES.map((code) => el("option", { value: code, text: code.replaceAll("_", " ") })),
    );
    this.note = el("input", { id: "outcome-note", type: "text", maxLength: 500, placeholder: "Note (optional)" });
    this.status = el("span", { class: "muted outcome-status" });
    this.root = el(
      "form",
      { class: "panel outcome" },
      el("h2", { text: "Outcome" }),
      el(
        "div",
        { class: "outcome-fields" },
        this.select,
        el("button", { type: "submit", class: "small", text: "Set" }),
      ),
      this.note,
      this.status,
    );
    this.root.addEventListener("submit", (event) => {
      event.preventDefault();
      if (this.select.value) onSubmit(this.select.value, this.note.value.trim() || undefined);
    });
  }

  show(outcome) {
    this.status.textContent = outcome ? `Outcome: ${outcome.replaceAll("_", " ")}` : "";
  }

  disable(disabled) {
    for (const node of this.root.elements) node.disabled = disabled;
  }
}
