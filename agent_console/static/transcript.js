// The live transcript: final lines, plus at most one line still forming per speaker (a partial, replaced by the
// next partial or the final of the same speaker). Text goes in with textContent only (dom.js).

import { clear, el, formatDuration } from "./dom.js";

const SPEAKER_LABEL = { customer: "Customer", robot: "Robot", agent: "Agent" };
const KEEP_LINES = 500; // like the server's call view: older lines are in the call record

export class Transcript {
  constructor() {
    this.list = el("ol", { class: "transcript", attrs: { "aria-live": "polite", "aria-label": "Transcript" } });
    this.partials = new Map(); // speaker -> <li>
    this.lastCustomerText = null;
  }

  /** Replace everything with a CallView's `transcript` and `partials`. */
  load(lines, partials) {
    clear(this.list);
    this.partials.clear();
    this.lastCustomerText = null;
    for (const line of lines) this.addFinal(line);
    for (const [speaker, partial] of Object.entries(partials ?? {})) this.setPartial(speaker, partial);
  }

  /** A `transcript` event from the events socket. */
  apply(event) {
    if (event.final) this.addFinal(event);
    else this.setPartial(event.speaker, event);
  }

  line(speaker, text, startS, classes) {
    return el(
      "li",
      { class: ["line", `speaker-${speaker}`, ...classes], data: { speaker } },
      el("span", { class: "who", text: SPEAKER_LABEL[speaker] ?? speaker }),
      el("span", { class: "at", text: formatDuration(startS ?? 0) }),
      el("span", { class: "text", text }),
    );
  }

  addFinal({ speaker, text, start_s: startS, cut }) {
    this.partials.get(speaker)?.remove();
    this.partials.delete(speaker);
    const item = this.line(speaker, text, startS, ["final", cut ? "cut" : null]);
    if (cut) item.append(el("span", { class: "tag", text: "cut" }));
    // finals go before any line still forming, so the forming lines stay at the bottom
    const firstPartial = this.list.querySelector(".partial");
    this.list.insertBefore(item, firstPartial);
    if (speaker === "customer" && text) this.lastCustomerText = text;
    while (this.list.querySelectorAll(".final").length > KEEP_LINES) this.list.querySelector(".final").remove();
    this.scroll();
  }

  setPartial(speaker, { text, start_s: startS }) {
    const old = this.partials.get(speaker);
    if (!text) {
      old?.remove();
      this.partials.delete(speaker);
      return;
    }
    const item = this.line(speaker, text, startS, ["partial"]);
    if (old) old.replaceWith(item);
    else this.list.append(item);
    this.partials.set(speaker, item);
    this.scroll();
  }

  scroll() {
    const box = this.list.parentElement;
    if (box) box.scrollTop = box.scrollHeight;
  }
}
