"""The live handoff desk: the real `HandoffQueue` and `AgentRoster` fed by the calls of this process and by the
console's agents, and the pacer's view of them (`admission`, the dialer's `Admission`).

    desk = HandoffDesk(metrics=metrics)
    dialer = Dialer(db, RobotPlacer(robot, plan, serve=desk.serving), admission=desk.admission)
    desk.agent_available("17")          # the console: an agent is ready for calls
    desk.agent_offline("17")

A call reports its life here: dialed (`dialing`), answered (`serving` wraps the session and follows its events:
`handoff requested` joins the queue, `accepted` takes it off with the wait, `timeout` or the call ending while it
waits is an abandoned handoff, `handed_back` starts the agent's wrap-up). Agents take over from the console, so
the desk does not route calls to agents itself; `assignments()` names the longest-waiting call and the
longest-idle agent for the console to offer.

Without agents logged in the pacer allows no calls when the campaign hands calls over (`handoffs_enabled`); a
robot-only campaign (`handoff_score_threshold` above 100 and no person to ask for) is paced by its caps alone.
Everything runs on the event loop; clocks are monotonic seconds.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from dialer.handoff import AgentRoster, AgentState, Assignment, HandoffQueue, HandoffStateError
from dialer.metrics import CALL_STATES, DialerMetrics
from dialer.pacing import DialerLoad, Pacer, PacerConfig
from dialer.placer import CallRequest
from dialer.rules import CampaignRules

__all__ = ["HandoffDesk"]

WRAP_UP_S = 30.0  # after-call work of an agent who handed a call back or whose call ended


@dataclass(slots=True)
class _Call:
    campaign_id: int
    dialed_s: float
    answered_s: float | None = None
    handoff_s: float | None = None  # when the robot asked for a person
    agent_id: str | None = None


class HandoffDesk:
    def __init__(
        self,
        *,
        metrics: DialerMetrics | None = None,
        clock: Callable[[], float] = time.monotonic,
        handoffs_enabled: bool = True,
        target_wait_s: float = 20.0,
    ) -> None:
        self.roster, self.queue = AgentRoster(), HandoffQueue()
        self.metrics, self.clock = metrics, clock
        self.handoffs_enabled, self.target_wait_s = handoffs_enabled, target_wait_s
        self._calls: dict[str, _Call] = {}
        self._pacers: dict[int, Pacer] = {}

    # -- agents (the console) --

    def agent_available(self, agent_id: str) -> None:
        if self.roster_state(agent_id) in (None, AgentState.OFFLINE):
            self.roster.set_available(agent_id, self.clock())

    def agent_offline(self, agent_id: str) -> None:
        if self.roster_state(agent_id) not in (None, AgentState.OFFLINE):
            self.roster.request_offline(agent_id, self.clock())

    def roster_state(self, agent_id: str) -> AgentState | None:
        try:
            return self.roster.state(agent_id)
        except HandoffStateError:  # not known to the roster yet
            return None

    def assignments(self) -> list[Assignment]:
        """Who should take which waiting call now (longest wait, longest idle): a suggestion for the console;
        the call leaves the queue when its agent takes it over."""
        self.roster.tick(self.clock())
        return [Assignment(c, a) for c, a in zip(self.queue.waiting(), self.roster.available_agents(), strict=False)]

    # -- the pacer --

    def admission(self, rules: CampaignRules) -> int:
        now_s = self.clock()
        pacer = self._pacer(rules, now_s)
        mine = [c for c in self._calls.values() if c.campaign_id == rules.campaign_id]
        ringing = sum(c.answered_s is None for c in mine)
        with_robot = sum(c.answered_s is not None and c.handoff_s is None and c.agent_id is None for c in mine)
        load = DialerLoad.of(self.roster, self.queue, ringing, with_robot, len(mine))
        return pacer.allowed_new_calls(now_s, load)

    def _pacer(self, rules: CampaignRules, now_s: float) -> Pacer:
        pacer = self._pacers.get(rules.campaign_id)
        cps = rules.bucket.rate_per_s
        if pacer is None or pacer.config.max_concurrent_calls != rules.max_concurrent_calls:
            config = PacerConfig(
                max_concurrent_calls=rules.max_concurrent_calls, calls_per_second=max(cps, 1e-3),
                target_wait_s=self.target_wait_s, handoffs_enabled=self.handoffs_enabled,
            )  # fmt: skip
            pacer = self._pacers[rules.campaign_id] = Pacer(config, now_s)
        return pacer

    # -- calls --

    def dialing(self, request: CallRequest) -> None:
        now_s = self.clock()
        self._calls[request.call_id] = _Call(request.campaign_id, now_s)
        pacer = self._pacers.get(request.campaign_id)
        if pacer is not None:
            pacer.on_dial(now_s)
        self._publish()

    def ended(self, call_id: str, answered: bool) -> None:
        """The call is over (answered or not): settle its handoff, the agent, the pacer's estimates."""
        call = self._calls.pop(call_id, None)
        if call is None:
            return
        self._publish()
        now_s = self.clock()
        pacer = self._pacers.get(call.campaign_id)
        if call.answered_s is None:
            if pacer is not None:
                pacer.on_ring_end(now_s - call.dialed_s, answered)
            return
        if call.handoff_s is not None and call.agent_id is None and call_id in self.queue:
            self._resolve(call_id, call, abandoned=True)
        if call.agent_id is not None:
            self._agent_done(call, pacer)
        elif pacer is not None and call.handoff_s is None:
            pacer.on_robot_end(now_s - call.answered_s)

    @contextlib.contextmanager
    def serving(self, request: CallRequest, session: Any) -> Iterator[None]:
        """Wraps an answered call's session (the placer's serve hook): follows its events until it ends."""
        call = self._calls.get(request.call_id)
        if call is not None:
            call.answered_s = self.clock()
            pacer = self._pacers.get(call.campaign_id)
            if pacer is not None:
                pacer.on_ring_end(call.answered_s - call.dialed_s, True)
        self._publish()
        session.events.add_listener(lambda event: self.on_event(request.call_id, event))
        yield

    def on_event(self, call_id: str, event: Any) -> None:
        call = self._calls.get(call_id)
        if call is None or getattr(event, "type", None) != "handoff":
            return
        status = event.status
        if status == "requested" and call.handoff_s is None:
            self._requested(call_id, call)
        elif status == "accepted":
            self._accepted(call_id, call, str(event.agent_id or "console"))
        elif status == "timeout" and call_id in self.queue:
            self._resolve(call_id, call, abandoned=True)
        elif status == "handed_back" and call.agent_id is not None:
            self._agent_done(call, self._pacers.get(call.campaign_id))
            call.agent_id = None
        self._publish()

    def _requested(self, call_id: str, call: _Call) -> None:
        now_s = self.clock()
        call.handoff_s = now_s
        pacer = self._pacers.get(call.campaign_id)
        if pacer is not None and call.answered_s is not None:
            pacer.on_handoff_request(now_s - call.answered_s)
        if not self.queue.request(call_id, now_s) and self.metrics is not None:  # refused: the queue is full
            self.metrics.on_handoff(answered=False, wait_s=0.0)

    def _accepted(self, call_id: str, call: _Call, agent_id: str) -> None:
        now_s = self.clock()
        if call_id in self.queue:
            wait_s = self.queue.take(call_id, now_s)
            if self.metrics is not None:
                self.metrics.on_handoff(answered=True, wait_s=wait_s)
        if self.roster_state(agent_id) in (None, AgentState.OFFLINE):
            self.roster.set_available(agent_id, now_s)  # an agent who takes a call is logged in
        if self.roster_state(agent_id) == AgentState.AVAILABLE:
            self.roster.start_call(agent_id, call_id, now_s)
        call.agent_id = agent_id

    def _resolve(self, call_id: str, call: _Call, *, abandoned: bool) -> None:
        wait_s = self.queue.cancel(call_id, self.clock(), abandoned=abandoned)
        if self.metrics is not None:
            self.metrics.on_handoff(answered=not abandoned, wait_s=wait_s)

    def _agent_done(self, call: _Call, pacer: Pacer | None) -> None:
        agent_id = call.agent_id
        assert agent_id is not None
        if self.roster_state(agent_id) == AgentState.ON_CALL:
            self.roster.end_call(agent_id, self.clock(), WRAP_UP_S)
        if pacer is not None and call.handoff_s is not None:
            pacer.on_agent_call_end(self.clock() - call.handoff_s, WRAP_UP_S)

    def _publish(self) -> None:
        """Calls by state, counted afresh from the desk's own view (never drifts)."""
        if self.metrics is None:
            return
        counts = dict.fromkeys(CALL_STATES, 0)
        for call_id, call in self._calls.items():
            counts[self._state_of(call_id, call)] += 1
        for state, n in counts.items():
            self.metrics.calls_active.labels(state).set(n)

    def _state_of(self, call_id: str, call: _Call) -> str:
        if call.answered_s is None:
            return "dialing"
        if call.agent_id is not None:
            return "agent"
        return "handoff_wait" if call_id in self.queue else "robot"
