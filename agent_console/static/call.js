// The call view: one live call's transcript as it forms, its grade and the signals behind it, who the customer
// hears, listen-in, takeover / hand-back / hang-up / outcome, and the suggested answers.
//
// Consistency: the events socket is opened first (and said hello: it is subscribed) and its events are held
// back until GET /api/calls/{id} has answered; then only events with a larger `seq` than the view's are
// applied (docs/console-api.md).

import { api, CLOSE, socketUrl } from "./api.js";
import { CallAudio } from "./audio.js";
import { CallButtons, HearsIndicator, LevelMeters, OutcomeForm } from "./controls.js";
import { clear, el, formatDuration } from "./dom.js";
import { Recommendations } from "./recommend.js";
import { Transcript } from "./transcript.js";

const STATE_LABEL = {
  starting: "Starting",
  active: "Robot talking",
  awaiting_agent: "Wants a human",
  taken_over: "Agent on the line",
  ended: "Ended",
};

export function renderCall(root, { callId, user, navigate }) {
  const page = new CallPage(root, callId, user, navigate);
  page.start();
  return () => page.destroy();
}

class CallPage {
  constructor(root, callId, user, navigate) {
    this.root = root;
    this.callId = callId;
    this.user = user;
    this.navigate = navigate;
    this.call = null; // CallSummary, kept current from the events
    this.seq = 0;
    this.pending = []; // events that arrived before the view loaded
    this.loaded = false;
    this.busy = false;
    this.ended = false;
    this.destroyed = false;
    this.audioState = { listening: false, holding: false };
    this.audio = new CallAudio(callId, {
      onChange: (state) => this.audioChanged(state),
      onLevels: (levels) => this.meters.update(levels),
    });
    this.build();
  }

  build() {
    this.title = el("h1", { class: "call-title", text: "Call" });
    this.facts = el("p", { class: "call-facts muted" });
    this.stateBadge = el("span", { id: "call-state", class: "badge" });
    this.duration = el("span", { id: "call-duration", class: "duration" });
    this.message = el("p", { id: "call-message", class: "message", attrs: { role: "alert" } });
    this.hears = new HearsIndicator();
    this.buttons = new CallButtons({
      listen: () => this.toggleListen(),
      takeover: () => this.takeOver(),
      handBack: () => this.handBack(),
      hangUp: () => this.hangUp(),
    });
    this.meters = new LevelMeters();
    this.outcome = new OutcomeForm((code, note) => this.setOutcome(code, note));
    this.transcript = new Transcript();
    this.grade = el("div", { id: "grade", class: "grade-big", text: "–" });
    this.gradeFacts = el("p", { class: "muted" });
    this.signals = el("ul", { id: "signals", class: "signals" });
    this.recs = new Recommendations({ canUse: false });
    this.render();
    clear(this.root).append(
      el(
        "div",
        { class: "call-view" },
        el(
          "header",
          { class: "call-head" },
          el("div", {}, el("a", { href: "#/board", class: "back", text: "← Board" }), this.title, this.facts),
          el("div", { class: "call-status" }, this.stateBadge, this.duration, this.hears.root),
        ),
        el("div", { class: "call-controls" }, this.buttons.root, this.meters.root),
        this.message,
        el(
          "div",
          { class: "call-body" },
          el("section", { class: "panel transcript-box" }, this.transcript.list),
          el(
            "aside",
            { class: "call-side" },
            el("section", { class: "panel" }, el("h2", { text: "Grade" }), this.grade, this.gradeFacts, this.signals),
            this.recs.root,
            this.outcome.root,
          ),
        ),
      ),
    );
  }

  async start() {
    // closing the page while holding the call would hand it back mid-sentence: ask first
    this.onBeforeUnload = (event) => {
      if (this.audioState.holding) event.preventDefault();
    };
    window.addEventListener("beforeunload", this.onBeforeUnload);
    await this.openEvents(); // subscribed before the snapshot: no event falls between the two
    await this.load();
    this.ticker = setInterval(() => this.tick(), 1000);
  }

  async load() {
    let view;
    try {
      view = await api.get(`/api/calls/${encodeURIComponent(this.callId)}`);
    } catch (error) {
      this.fail(
        error.status === 404
          ? "This call is no longer live."
          : error.status === 403
            ? "You may not see this call."
            : error.message,
      );
      return;
    }
    if (this.destroyed) return;
    this.canControl = view.can_control;
    this.canListen = view.can_listen;
    this.recs.canUse = view.can_control;
    this.seq = view.seq;
    this.setCall(view.call);
    this.transcript.load(view.transcript, view.partials);
    this.showScore(view.call, view.signals);
    if (view.recommendations?.length) this.recs.show(view.recommendations, this.transcript.lastCustomerText);
    this.loaded = true;
    for (const event of this.pending.splice(0)) this.apply(event);
    this.render();
  }

  /** Open the events socket; resolves once it said hello (it is subscribed from then on) or closed. */
  openEvents() {
    const ws = new WebSocket(socketUrl(`/ws/calls/${encodeURIComponent(this.callId)}/events`));
    this.events = ws;
    return new Promise((subscribed) => {
      ws.addEventListener("message", (message) => {
        const event = JSON.parse(message.data);
        if (event.type === "hello") subscribed();
        else if (!this.loaded) this.pending.push(event);
        else this.apply(event);
      });
      ws.addEventListener("close", (closed) => {
        subscribed();
        this.eventsClosed(ws, closed.code);
      });
    });
  }

  eventsClosed(ws, code) {
    if (this.destroyed || ws !== this.events) return;
    if (code === CLOSE.NOT_AUTHENTICATED) this.navigate("#/login");
    else if (code === CLOSE.NOT_ALLOWED) this.fail("You may not see this call.");
    else if (code === CLOSE.NO_CALL || code === CLOSE.ENDED) this.endCall(this.call?.outcome);
    else {
      // lagged (1013) or a dropped connection: start over from the call's current view
      this.loaded = false;
      this.pending = [];
      setTimeout(async () => {
        if (this.destroyed) return;
        await this.openEvents();
        this.load();
      }, 1000);
    }
  }

  apply(event) {
    if (event.seq <= this.seq) return; // already in the view we loaded
    this.seq = event.seq;
    const call = this.call;
    switch (event.type) {
      case "state":
        call.state = event.state;
        break;
      case "transcript":
        this.transcript.apply(event);
        break;
      case "score":
        Object.assign(call, { score: event.score, grade: event.grade, category: event.category });
        this.showScore(call, event.signals);
        break;
      case "handoff":
        this.handoff(event);
        break;
      case "speaking":
        call.hears = { robot: "robot", agent: "human", none: "silent" }[event.who] ?? "silent";
        break;
      case "recommendations":
        this.recs.show(event.items, this.transcript.lastCustomerText);
        break;
      case "ended":
        call.outcome = call.outcome ?? event.outcome;
        this.endCall(call.outcome);
        return;
      default:
        return;
    }
    this.render();
  }

  handoff(event) {
    const call = this.call;
    call.handoff = event.status;
    call.handoff_requested = event.status === "requested";
    if (event.status === "accepted") Object.assign(call, { controller: "human", agent: event.agent_id });
    if (event.status === "handed_back") Object.assign(call, { controller: "robot", agent: null });
  }

  setCall(call) {
    this.call = { ...call };
    this.startedAtMs = Date.now() - call.duration_s * 1000; // the server's duration: no clock skew
    this.title.textContent = call.lead_name || "Unknown lead";
    this.facts.textContent = [call.phone, call.campaign_name].filter(Boolean).join(" · ");
    this.outcome.show(call.outcome);
  }

  showScore(call, signals) {
    this.grade.textContent = call.grade ?? "–";
    this.grade.dataset.grade = call.grade ?? "";
    this.gradeFacts.textContent =
      call.score === null || call.score === undefined
        ? "Not scored yet"
        : `Score ${call.score} · ${call.category ?? ""}`;
    clear(this.signals);
    for (const signal of signals ?? []) {
      const points = signal.points > 0 ? `+${signal.points}` : String(signal.points);
      this.signals.append(
        el(
          "li",
          { class: signal.points >= 0 ? "up" : "down" },
          el("span", { class: "points", text: points }),
          el("span", { class: "name", text: signal.name }),
          el("span", { class: "evidence muted", text: signal.evidence ?? "" }),
        ),
      );
    }
  }

  hearsLabel() {
    const { hears, agent } = this.call;
    if (hears === "robot") return "robot";
    if (hears === "human") return agent === this.user.username ? "you" : `agent ${agent ?? ""}`.trim();
    return "silence";
  }

  render() {
    if (!this.call) {
      // not loaded (or refused): nothing to control
      this.buttons.render({ canControl: false, canListen: false, ended: true, listening: false, holding: false });
      this.outcome.disable(true);
      return;
    }
    const { state, controller } = this.call;
    this.stateBadge.textContent = STATE_LABEL[state] ?? state;
    this.stateBadge.dataset.state = state;
    this.hears.set(this.hearsLabel());
    this.buttons.render({
      canControl: this.canControl,
      canListen: this.canListen,
      ended: this.ended,
      busy: this.busy,
      controller,
      ...this.audioState,
    });
    this.outcome.disable(this.ended || !this.canControl);
    this.tick();
  }

  tick() {
    if (this.call && !this.ended) this.duration.textContent = formatDuration((Date.now() - this.startedAtMs) / 1000);
  }

  audioChanged(state) {
    this.audioState = { listening: state.listening, holding: state.holding };
    if (state.error) this.say(state.error);
    this.render();
  }

  say(text) {
    this.message.textContent = text ?? "";
  }

  fail(text) {
    this.say(text);
    this.ended = true;
    this.audio.close();
    this.render();
  }

  endCall(outcome) {
    if (this.ended) return;
    this.ended = true;
    if (this.call) this.call.state = "ended";
    this.audio.close();
    this.say(outcome ? `The call has ended (${outcome.replaceAll("_", " ")}).` : "The call has ended.");
    this.render();
  }

  async action(work) {
    this.busy = true;
    this.say("");
    this.render();
    try {
      await work();
    } catch (error) {
      this.say(error.message);
    } finally {
      this.busy = false;
      this.render();
    }
  }

  toggleListen() {
    if (this.audioState.listening) this.audio.stopListening();
    else this.audio.startListening().catch((error) => this.say(error.message));
  }

  takeOver() {
    return this.action(async () => {
      try {
        await this.audio.prepareTakeover(); // microphone and agent socket first: audio flows the moment we hold it
        const { call } = await api.post(`/api/calls/${encodeURIComponent(this.callId)}/takeover`);
        Object.assign(this.call, { controller: call.controller, agent: call.agent });
      } catch (error) {
        this.audio.releaseTakeover();
        throw error.name === "NotAllowedError" ? new Error("The browser did not allow the microphone.") : error;
      }
    });
  }

  handBack() {
    return this.action(async () => {
      await api.post(`/api/calls/${encodeURIComponent(this.callId)}/hand-back`);
    });
  }

  hangUp() {
    return this.action(async () => {
      await api.post(`/api/calls/${encodeURIComponent(this.callId)}/hangup`);
      if (!this.ended) this.say("Hanging up…"); // the `ended` event may have come first
    });
  }

  setOutcome(outcome, note) {
    return this.action(async () => {
      const { call } = await api.post(`/api/calls/${encodeURIComponent(this.callId)}/outcome`, { outcome, note });
      this.call.outcome = call.outcome;
      this.outcome.show(call.outcome);
    });
  }

  destroy() {
    this.destroyed = true;
    window.removeEventListener("beforeunload", this.onBeforeUnload);
    clearInterval(this.ticker);
    this.events?.close(1000);
    this.audio.close();
  }
}
