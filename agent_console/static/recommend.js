// The recommendations panel: the gold-seller answers and similar questions for the customer's latest utterance.
// Batches arrive on the call's event stream (`recommendations` events, newest replaces older); "Use" marks an
// answer as used over REST, which feeds the script mining (docs/console-api.md, "Live calls").

import { api } from "./api.js";
import { clear, el } from "./dom.js";

export class Recommendations {
  constructor({ canUse }) {
    this.canUse = canUse;
    this.context = el("p", { class: "rec-context muted", text: "Waiting for the customer…" });
    this.list = el("div", { class: "rec-list" });
    this.root = el(
      "section",
      { class: "panel recommendations" },
      el("h2", { text: "Suggested answers" }),
      this.context,
      this.list,
    );
  }

  /** `items`: Recommendation objects, the answers of one question together, best question first. */
  show(items, utterance) {
    clear(this.list);
    this.context.textContent = utterance ? `For: “${utterance}”` : "For the customer's latest words";
    if (!items || items.length === 0) {
      this.list.append(el("p", { class: "muted", text: "No suggestion for this." }));
      return;
    }
    const groups = new Map();
    for (const item of items) {
      if (!groups.has(item.question)) groups.set(item.question, []);
      groups.get(item.question).push(item);
    }
    for (const [question, answers] of groups) {
      const similar = answers[0].similar_questions ?? [];
      this.list.append(
        el(
          "article",
          { class: "rec" },
          el("h3", { class: "rec-question", text: question }),
          similar.length
            ? el("p", { class: "rec-similar muted", text: `Also asked as: ${similar.join(" · ")}` })
            : null,
          ...answers.map((answer) => this.answer(answer)),
        ),
      );
    }
  }

  answer(item) {
    const status = el("span", { class: "rec-status muted" });
    const use = el("button", { type: "button", class: "small", text: "Use", disabled: !this.canUse });
    use.addEventListener("click", async () => {
      use.disabled = true;
      try {
        const result = await api.post(`/api/recommendations/${encodeURIComponent(item.rec_id)}/used`);
        status.textContent = `marked as used (${result.uses} in all)`;
        use.textContent = "Used";
      } catch (error) {
        status.textContent = error.status === 404 ? "expired" : error.message;
        use.disabled = false;
      }
    });
    return el(
      "div",
      { class: "rec-answer", data: { kind: item.kind } },
      el("p", { class: "rec-text", text: item.answer }),
      el("p", { class: "rec-reason muted", text: item.reason ?? "" }),
      el("div", { class: "rec-actions" }, use, status),
    );
  }
}
