// The live board: every active call the viewer may see, from `/ws/board` (a snapshot, then one message per
// changed call, latest-only on the server). Durations tick here from the server's `duration_s` (never pushed
// every second); a call whose `handoff_requested` turns true stands out and plays the alert.

import { CLOSE, socketUrl } from "./api.js";
import { clear, el, formatDuration } from "./dom.js";
import { beep } from "./sound.js";

const COUNT_LABELS = [
  ["total", "Live"],
  ["active", "Robot"],
  ["awaiting_agent", "Waiting for agent"],
  ["taken_over", "Taken over"],
  ["starting", "Starting"],
  ["handoff_requested", "Handoff requests"],
];
const STATE_LABEL = {
  starting: "Starting",
  active: "Active",
  awaiting_agent: "Awaiting agent",
  taken_over: "Taken over",
  ended: "Ended",
};
const RECONNECT_MAX_MS = 10000;

export function renderBoard(root, { navigate }) {
  const board = new Board(root, navigate);
  board.connect();
  return () => board.destroy();
}

class Board {
  constructor(root, navigate) {
    this.navigate = navigate;
    this.calls = new Map(); // call_id -> {call, startedAtMs}
    this.alerted = new Set(); // calls whose pending handoff request has sounded (once per request, reconnects too)
    this.counts = el("ul", { id: "counts", class: "counts" });
    this.status = el("span", { id: "board-status", class: "muted", text: "Connecting…" });
    this.rows = el("tbody");
    this.empty = el("p", { class: "muted empty", text: "No live calls right now." });
    this.table = el(
      "table",
      { id: "board", class: "board" },
      el(
        "thead",
        {},
        el(
          "tr",
          {},
          ...["Lead", "Campaign", "State", "On the line", "Duration", "Grade", "Handoff"].map((h) =>
            el("th", { text: h }),
          ),
        ),
      ),
      this.rows,
    );
    clear(root).append(
      el("div", { class: "board-head" }, el("h1", { text: "Live calls" }), this.status),
      this.counts,
      this.table,
      this.empty,
    );
    this.retryMs = 1000;
    this.ticker = setInterval(() => this.tick(), 1000);
  }

  connect() {
    const ws = new WebSocket(socketUrl("/ws/board"));
    this.ws = ws;
    ws.addEventListener("open", () => {
      this.status.textContent = "Live";
      this.retryMs = 1000;
    });
    ws.addEventListener("message", (event) => this.onMessage(JSON.parse(event.data)));
    ws.addEventListener("close", (event) => {
      if (this.ws !== ws) return;
      if (event.code === CLOSE.NOT_AUTHENTICATED) {
        this.navigate("#/login");
        return;
      }
      this.status.textContent = "Reconnecting…";
      this.retry = setTimeout(() => this.connect(), this.retryMs);
      this.retryMs = Math.min(this.retryMs * 2, RECONNECT_MAX_MS);
    });
  }

  onMessage(message) {
    if (message.type === "snapshot") {
      this.calls.clear();
      for (const call of message.calls) this.upsert(call);
    } else if (message.type === "call") {
      this.upsert(message.call);
    } else if (message.type === "removed") {
      this.calls.delete(message.call_id);
      this.alerted.delete(message.call_id);
    } else {
      return; // ping
    }
    this.showCounts(message.counts);
    this.render();
  }

  upsert(call) {
    if (!call.handoff_requested) {
      this.alerted.delete(call.call_id);
    } else if (!this.alerted.has(call.call_id)) {
      this.alerted.add(call.call_id); // a new request, or one already waiting when the board opened
      beep();
    }
    this.calls.set(call.call_id, { call, startedAtMs: Date.now() - call.duration_s * 1000 });
  }

  showCounts(counts) {
    clear(this.counts);
    for (const [key, label] of COUNT_LABELS) {
      const n = counts?.[key] ?? 0;
      this.counts.append(
        el(
          "li",
          { class: ["count", key === "handoff_requested" && n > 0 ? "alert" : null], data: { state: key } },
          el("span", { class: "n", text: n }),
          el("span", { class: "label", text: label }),
        ),
      );
    }
  }

  render() {
    clear(this.rows);
    const entries = [...this.calls.values()].sort(
      (a, b) => Number(b.call.handoff_requested) - Number(a.call.handoff_requested) || a.startedAtMs - b.startedAtMs,
    );
    for (const entry of entries) this.rows.append(this.row(entry));
    this.empty.hidden = entries.length > 0;
    this.table.hidden = entries.length === 0;
  }

  row({ call, startedAtMs }) {
    const open = () => this.navigate(`#/calls/${encodeURIComponent(call.call_id)}`);
    const line = call.controller === "human" ? `Agent ${call.agent ?? ""}`.trim() : "Robot";
    const grade = call.grade ? `${call.grade} · ${call.score}` : "–";
    const handoff = call.handoff_requested ? "Wants a human" : (call.handoff ?? "").replaceAll("_", " ");
    const link = el("a", { href: `#/calls/${encodeURIComponent(call.call_id)}`, text: call.lead_name || call.call_id });
    return el(
      "tr",
      {
        class: ["call-row", call.handoff_requested ? "handoff" : null],
        data: { callId: call.call_id, state: call.state, controller: call.controller },
        on: { click: (event) => event.target !== link && open() },
      },
      el("td", {}, link, el("div", { class: "muted phone", text: call.phone ?? "" })),
      el("td", { text: call.campaign_name ?? "" }),
      el(
        "td",
        {},
        el("span", { class: "badge", data: { state: call.state }, text: STATE_LABEL[call.state] ?? call.state }),
      ),
      el("td", { class: call.controller === "human" ? "human" : "robot", text: line }),
      el("td", {
        class: "duration",
        data: { started: startedAtMs },
        text: formatDuration((Date.now() - startedAtMs) / 1000),
      }),
      el("td", {}, el("span", { class: "grade", data: { grade: call.grade ?? "" }, text: grade })),
      el("td", { class: "handoff-cell", text: handoff }),
    );
  }

  tick() {
    for (const cell of this.rows.querySelectorAll("td.duration")) {
      cell.textContent = formatDuration((Date.now() - Number(cell.dataset.started)) / 1000);
    }
  }

  destroy() {
    clearInterval(this.ticker);
    clearTimeout(this.retry);
    const ws = this.ws;
    this.ws = null;
    ws?.close(1000);
  }
}
