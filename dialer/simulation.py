"""A discrete-event simulation of one campaign: the real `Pacer`, `HandoffQueue` and `AgentRoster`, virtual time.

Each lead is dialed once. A dial rings (answered after a lognormal time; unanswered: a no-answer timeout or a
quick failure), the robot talks (lognormal), and a share of answered calls asks for a person. A handoff waits in
the queue until an agent takes it, or is abandoned when the customer's patience runs out (exponential; a share
of customers waits as long as the robot holds on) or the robot gives up after `max_handoff_wait_s` (it then books
a callback and winds the call down). Agents talk (lognormal), wrap up (exponential over a minimum), and take
breaks. `simulate(config)` is deterministic for a given `config.seed`.

`paced=False` runs the naive baseline: keep `max_concurrent_calls` lines busy, within the calls-per-second cap.
"""

from __future__ import annotations

import heapq
import itertools
import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum

from dialer.handoff import AgentRoster, AgentState, HandoffQueue, percentile
from dialer.pacing import DialerLoad, Pacer, PacerConfig, Priors, TokenBucket

__all__ = ["SimConfig", "SimReport", "simulate"]


@dataclass(frozen=True, slots=True)
class SimConfig:
    """A campaign to simulate. Lognormal times are given by their median and sigma (of the log)."""

    seed: int = 0
    leads: int = 4000
    agents: int = 10
    paced: bool = True
    max_concurrent_calls: int = 100
    calls_per_second: float = 5.0
    answer_rate: float = 0.35
    answer_ring_s_median: float = 12.0
    no_answer_timeout_s: float = 30.0
    quick_failure_share: float = 0.3  # of unanswered dials: busy, invalid, rejected within seconds
    quick_failure_s: float = 3.0
    robot_s_median: float = 80.0  # answered calls that never ask for a person
    robot_s_to_handoff_median: float = 60.0
    robot_sigma: float = 0.6
    handoff_share: float = 0.1  # of answered calls
    patience_mean_s: float = 60.0
    patient_share: float = 0.2  # customers who wait until the robot gives up
    max_handoff_wait_s: float = 20.0
    robot_s_after_give_up: float = 20.0  # the robot books a callback, then ends the call
    agent_talk_s_median: float = 150.0
    agent_talk_sigma: float = 0.6
    wrap_up_s_min: float = 10.0
    wrap_up_s_mean_extra: float = 20.0
    break_every_s: float = 7200.0  # 0: no breaks
    break_s: float = 900.0
    tick_s: float = 1.0  # the dialer also re-decides this often when nothing happens
    max_duration_s: float = 7 * 86400.0  # stop there even with leads left (a campaign nobody can serve)
    pacer: PacerConfig | None = None  # None: `default_pacer_config(self)`


@dataclass(frozen=True, slots=True)
class SimReport:
    paced: bool
    calls_dialed: int
    calls_answered: int
    handoffs_requested: int
    handoffs_answered: int
    handoffs_abandoned: int  # abandoned and rejected
    abandon_pct: float  # handoffs_abandoned / handoffs_requested
    agent_occupancy_pct: float  # (talk + wrap-up) / logged-in time, all agents, over the campaign
    handoff_wait_s: dict[str, float]  # p50, p95, max over answered handoffs
    dials_per_agent_hour: float  # per logged-in agent hour
    campaign_duration_s: float
    max_calls_in_progress: int
    leads_not_dialed: int  # left when `max_duration_s` ran out


def default_pacer_config(config: SimConfig) -> PacerConfig:
    """The pacer as a campaign would configure it: the caps and give-up time of the campaign, default priors."""
    return PacerConfig(
        max_concurrent_calls=config.max_concurrent_calls,
        calls_per_second=config.calls_per_second,
        target_wait_s=config.max_handoff_wait_s,
        mean_patience_s=config.patience_mean_s,
        priors=Priors(),
    )


def simulate(config: SimConfig) -> SimReport:
    return _Simulation(config).run()


class _Phase(Enum):
    RINGING = "ringing"
    ROBOT = "robot"
    WAITING = "waiting"
    AGENT = "agent"
    WINDING_DOWN = "winding_down"  # after an abandoned handoff


class _Ev(Enum):
    TICK = 0
    RING_END = 1
    ROBOT_END = 2
    HANDOFF = 3
    GIVE_UP = 4
    CALL_END = 5
    AGENT_END = 6
    WRAP_END = 7
    BREAK = 8
    BACK = 9


@dataclass(slots=True)
class _Call:
    phase: _Phase
    started_s: float
    will_answer: bool
    answered_s: float = 0.0
    agent_id: str = ""
    talk_s: float = 0.0


@dataclass(slots=True)
class _Counts:
    dialed: int = 0
    answered: int = 0
    max_in_progress: int = 0
    last_end_s: float = 0.0


@dataclass(order=True, slots=True)
class _Event:
    at_s: float
    seq: int
    kind: _Ev = field(compare=False)
    key: str = field(compare=False)  # call id or agent id


class _Simulation:
    def __init__(self, config: SimConfig) -> None:
        self.cfg = config
        self.rng = random.Random(config.seed)
        self.roster = AgentRoster()
        self.queue = HandoffQueue()
        self.pacer = Pacer(config.pacer or default_pacer_config(config), 0.0)
        self.bucket = TokenBucket(config.calls_per_second, max(1.0, config.calls_per_second), 0.0)
        self.calls: dict[str, _Call] = {}
        self.counts = _Counts()
        self.events: list[_Event] = []
        self.seq = itertools.count()
        self.leads_left = config.leads
        self.breaks_pending: set[str] = set()
        self._handlers = self._handler_table()

    def run(self) -> SimReport:
        self._start_agents()
        self._at(0.0, _Ev.TICK, "")
        while self.events and (self.leads_left > 0 or self.calls):
            event = heapq.heappop(self.events)
            now_s = event.at_s
            if now_s > self.cfg.max_duration_s:
                return self._report(self.cfg.max_duration_s)
            self._handle(event, now_s)
            for call_id, agent_id in self.queue.assign(now_s, self.roster):
                self._agent_takes(call_id, agent_id, now_s)
            self._dial(now_s)
        return self._report(self.counts.last_end_s)

    # -- scheduling --

    def _at(self, at_s: float, kind: _Ev, key: str) -> None:
        heapq.heappush(self.events, _Event(at_s, next(self.seq), kind, key))

    def _handle(self, event: _Event, now_s: float) -> None:
        self._handlers[event.kind](event.key, now_s)

    def _handler_table(self) -> dict[_Ev, Callable[[str, float], None]]:
        return {
            _Ev.TICK: self._tick,
            _Ev.RING_END: self._ring_end,
            _Ev.ROBOT_END: self._robot_end,
            _Ev.HANDOFF: self._handoff,
            _Ev.GIVE_UP: self._give_up,
            _Ev.CALL_END: self._call_end,
            _Ev.AGENT_END: self._agent_end,
            _Ev.WRAP_END: self._wrap_end,
            _Ev.BREAK: self._break,
            _Ev.BACK: self._back,
        }

    # -- dialing --

    def _tick(self, _key: str, now_s: float) -> None:
        self._at(now_s + self.cfg.tick_s, _Ev.TICK, "")

    def _dial(self, now_s: float) -> None:
        for _ in range(min(self.leads_left, self._allowed(now_s))):
            self._start_call(now_s)

    def _allowed(self, now_s: float) -> int:
        if not self.cfg.paced:
            return min(self.cfg.max_concurrent_calls - len(self.calls), self.bucket.available(now_s))
        phases = [c.phase for c in self.calls.values()]
        load = DialerLoad.of(
            self.roster,
            self.queue,
            calls_ringing=phases.count(_Phase.RINGING),
            calls_with_robot=phases.count(_Phase.ROBOT),
            calls_in_progress=len(phases),
        )
        return self.pacer.allowed_new_calls(now_s, load)

    def _start_call(self, now_s: float) -> None:
        if self.cfg.paced:
            self.pacer.on_dial(now_s)
        else:
            self.bucket.take(1, now_s)
        self.leads_left -= 1
        self.counts.dialed += 1
        call_id = f"c{self.counts.dialed}"
        will_answer = self.rng.random() < self.cfg.answer_rate
        self.calls[call_id] = _Call(_Phase.RINGING, now_s, will_answer)
        self.counts.max_in_progress = max(self.counts.max_in_progress, len(self.calls))
        self._at(now_s + self._ring_s(will_answer), _Ev.RING_END, call_id)

    def _ring_s(self, will_answer: bool) -> float:
        if will_answer:
            return self._lognormal(self.cfg.answer_ring_s_median, 0.5)
        if self.rng.random() < self.cfg.quick_failure_share:
            return self.cfg.quick_failure_s * self.rng.uniform(0.5, 1.5)
        return self.cfg.no_answer_timeout_s

    # -- a call's life --

    def _ring_end(self, call_id: str, now_s: float) -> None:
        call = self.calls[call_id]
        self.pacer.on_ring_end(now_s - call.started_s, call.will_answer)
        if not call.will_answer:
            self._end(call_id, now_s)
            return
        self.counts.answered += 1
        call.phase, call.answered_s = _Phase.ROBOT, now_s
        if self.rng.random() < self.cfg.handoff_share:
            self._at(now_s + self._lognormal(self.cfg.robot_s_to_handoff_median), _Ev.HANDOFF, call_id)
        else:
            self._at(now_s + self._lognormal(self.cfg.robot_s_median), _Ev.ROBOT_END, call_id)

    def _robot_end(self, call_id: str, now_s: float) -> None:
        self.pacer.on_robot_end(now_s - self.calls[call_id].answered_s)
        self._end(call_id, now_s)

    def _handoff(self, call_id: str, now_s: float) -> None:
        call = self.calls[call_id]
        self.pacer.on_handoff_request(now_s - call.answered_s)
        if not self.queue.request(call_id, now_s):
            self._wind_down(call, call_id, now_s)
            return
        call.phase = _Phase.WAITING
        patient = self.rng.random() < self.cfg.patient_share
        patience_s = math.inf if patient else self.rng.expovariate(1.0 / self.cfg.patience_mean_s)
        self._at(now_s + min(patience_s, self.cfg.max_handoff_wait_s), _Ev.GIVE_UP, call_id)

    def _give_up(self, call_id: str, now_s: float) -> None:
        call = self.calls.get(call_id)
        if call is None or call.phase is not _Phase.WAITING:
            return  # an agent took it in time
        wait_s = self.queue.cancel(call_id, now_s, abandoned=True)
        if wait_s < self.cfg.max_handoff_wait_s:
            self._end(call_id, now_s)  # the customer hung up
        else:
            self._wind_down(call, call_id, now_s)

    def _wind_down(self, call: _Call, call_id: str, now_s: float) -> None:
        call.phase = _Phase.WINDING_DOWN
        self._at(now_s + self.cfg.robot_s_after_give_up, _Ev.CALL_END, call_id)

    def _call_end(self, call_id: str, now_s: float) -> None:
        self._end(call_id, now_s)

    def _end(self, call_id: str, now_s: float) -> None:
        del self.calls[call_id]
        self.counts.last_end_s = now_s

    # -- agents --

    def _start_agents(self) -> None:
        for i in range(self.cfg.agents):
            agent_id = f"a{i}"
            self.roster.set_available(agent_id, 0.0)
            if self.cfg.break_every_s > 0:
                self._at(self.cfg.break_every_s * self.rng.uniform(0.5, 1.5), _Ev.BREAK, agent_id)

    def _agent_takes(self, call_id: str, agent_id: str, now_s: float) -> None:
        call = self.calls[call_id]
        call.phase, call.agent_id = _Phase.AGENT, agent_id
        call.talk_s = self._lognormal(self.cfg.agent_talk_s_median, self.cfg.agent_talk_sigma)
        self._at(now_s + call.talk_s, _Ev.AGENT_END, call_id)

    def _agent_end(self, call_id: str, now_s: float) -> None:
        call = self.calls[call_id]
        wrap_up_s = self.cfg.wrap_up_s_min + self.rng.expovariate(1.0 / self.cfg.wrap_up_s_mean_extra)
        self.roster.end_call(call.agent_id, now_s, wrap_up_s)
        self.pacer.on_agent_call_end(call.talk_s, wrap_up_s)
        self._at(now_s + wrap_up_s, _Ev.WRAP_END, call.agent_id)
        self._end(call_id, now_s)

    def _wrap_end(self, agent_id: str, now_s: float) -> None:
        self.roster.tick(now_s)
        if agent_id in self.breaks_pending and self.roster.state(agent_id) is AgentState.OFFLINE:
            self.breaks_pending.discard(agent_id)
            self._at(now_s + self.cfg.break_s, _Ev.BACK, agent_id)

    def _break(self, agent_id: str, now_s: float) -> None:
        self.roster.tick(now_s)
        self.roster.request_offline(agent_id, now_s)
        if self.roster.state(agent_id) is AgentState.OFFLINE:
            self._at(now_s + self.cfg.break_s, _Ev.BACK, agent_id)
        else:
            self.breaks_pending.add(agent_id)

    def _back(self, agent_id: str, now_s: float) -> None:
        self.roster.set_available(agent_id, now_s)
        self._at(now_s + self.cfg.break_every_s, _Ev.BREAK, agent_id)

    # -- sampling and the report --

    def _lognormal(self, median: float, sigma: float | None = None) -> float:
        return self.rng.lognormvariate(math.log(median), self.cfg.robot_sigma if sigma is None else sigma)

    def _report(self, end_s: float) -> SimReport:
        self.roster.tick(end_s)
        stats = self.queue.stats
        waits = self.queue.answered_waits_s()
        abandoned = stats.abandoned + stats.rejected
        logged_in_h = self.roster.total_times(end_s).logged_in_s / 3600
        return SimReport(
            paced=self.cfg.paced,
            calls_dialed=self.counts.dialed,
            calls_answered=self.counts.answered,
            handoffs_requested=stats.requested,
            handoffs_answered=stats.answered,
            handoffs_abandoned=abandoned,
            abandon_pct=round(100 * abandoned / stats.requested, 2) if stats.requested else 0.0,
            agent_occupancy_pct=round(100 * self.roster.occupancy(end_s), 1),
            handoff_wait_s={k: round(percentile(waits, q), 1) for k, q in (("p50", 0.5), ("p95", 0.95), ("max", 1))},
            dials_per_agent_hour=round(self.counts.dialed / logged_in_h, 1) if logged_in_h else 0.0,
            campaign_duration_s=round(float(end_s), 1),
            max_calls_in_progress=self.counts.max_in_progress,
            leads_not_dialed=self.leads_left,
        )
