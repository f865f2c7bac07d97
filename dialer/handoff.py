"""The handoff queue and the agents who take calls over from the robot.

The robot answers every answered call itself. When a customer asks for a person (or the robot offers one), the
call joins the `HandoffQueue` and the robot holds the line until an available agent of the `AgentRoster` takes it
over, or until the customer hangs up or the robot gives up (both: an abandoned handoff).

Both classes are pure, synchronous state machines. Time is injected: every method that changes state takes
`now_s`, seconds on one monotonic clock (`time.monotonic()` live, virtual time in the simulation), and refuses a
clock that goes backwards. Illegal transitions raise `HandoffStateError("expected X, got Y")`. Call and agent
ids are opaque strings; neither class ever sees a phone number or a name, so their messages are safe to log.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import NamedTuple

__all__ = [
    "DEFAULT_QUEUE_CAP",
    "AgentRoster",
    "AgentState",
    "AgentTimes",
    "Assignment",
    "HandoffQueue",
    "HandoffStateError",
    "HandoffStats",
    "QueueFullPolicy",
    "percentile",
]

DEFAULT_QUEUE_CAP = 1000
# Answered waits kept for percentiles (the most recent ones); the counters cover the whole campaign.
RECENT_WAITS_KEPT = 100_000


class HandoffStateError(ValueError):
    """An illegal transition or an unknown id; the message reads "expected X, got Y"."""


class AgentState(StrEnum):
    OFFLINE = "offline"  # logged out or on a break
    AVAILABLE = "available"  # logged in, idle, can take a handoff
    ON_CALL = "on_call"  # talking to a customer after taking the call over
    WRAP_UP = "wrap_up"  # after-call work, timed; available again when it ends


@dataclass(slots=True)
class AgentTimes:
    """Seconds an agent spent in each logged-in state. Occupancy = (talk + wrap-up) / logged-in time."""

    idle_s: float = 0.0
    talk_s: float = 0.0
    wrap_up_s: float = 0.0

    @property
    def logged_in_s(self) -> float:
        return self.idle_s + self.talk_s + self.wrap_up_s

    def add(self, state: AgentState, seconds: float) -> None:
        if state is AgentState.AVAILABLE:
            self.idle_s += seconds
        elif state is AgentState.ON_CALL:
            self.talk_s += seconds
        elif state is AgentState.WRAP_UP:
            self.wrap_up_s += seconds


@dataclass(slots=True)
class _Agent:
    state: AgentState
    since_s: float  # when the current state began (for AVAILABLE: idle since, the longest-idle order)
    accounted_until_s: float  # time-in-state is accounted up to here
    times: AgentTimes
    call_id: str | None = None
    wrap_up_until_s: float = 0.0
    offline_after_call: bool = False  # asked for a break while busy: goes offline when wrap-up ends


def _expect(what: str, got: object, ok: bool) -> None:
    if not ok:
        raise HandoffStateError(f"expected {what}, got {got}")


class AgentRoster:
    """Agents and their states; the source of truth for who can take a handoff now.

    offline -> available (log in) -> on_call (take a handoff) -> wrap_up (timed, may be 0 s) -> available;
    available or wrap_up -> offline (break, log out). `request_offline` on a busy agent defers the break until
    the wrap-up ends. Wrap-ups end in `tick(now_s)`, which every reader of availability should call first.
    """

    def __init__(self) -> None:
        self._agents: dict[str, _Agent] = {}
        self._last_now_s = float("-inf")

    # -- transitions --

    def set_available(self, agent_id: str, now_s: float) -> None:
        """Log in (a new or offline agent) or end wrap-up early. Already available or on a call: illegal."""
        self._clock(now_s)
        agent = self._agents.get(agent_id)
        if agent is None:
            self._agents[agent_id] = _Agent(AgentState.AVAILABLE, now_s, now_s, AgentTimes())
            return
        _expect("offline or wrap_up", agent.state, agent.state in (AgentState.OFFLINE, AgentState.WRAP_UP))
        self._move(agent, AgentState.AVAILABLE, now_s)

    def set_offline(self, agent_id: str, now_s: float) -> None:
        """Log out or start a break now. Only from available or wrap_up (an agent on a call must finish it)."""
        self._clock(now_s)
        agent = self._get(agent_id)
        _expect("available or wrap_up", agent.state, agent.state in (AgentState.AVAILABLE, AgentState.WRAP_UP))
        self._move(agent, AgentState.OFFLINE, now_s)

    def request_offline(self, agent_id: str, now_s: float) -> None:
        """Break as soon as possible: now if available, else when the current call's wrap-up ends."""
        self._clock(now_s)
        agent = self._get(agent_id)
        _expect("logged in", agent.state, agent.state is not AgentState.OFFLINE)
        if agent.state is AgentState.AVAILABLE:
            self._move(agent, AgentState.OFFLINE, now_s)
        else:
            agent.offline_after_call = True

    def start_call(self, agent_id: str, call_id: str, now_s: float) -> None:
        """The agent takes `call_id` over. Only from available."""
        self._clock(now_s)
        agent = self._get(agent_id)
        _expect("available", agent.state, agent.state is AgentState.AVAILABLE)
        self._move(agent, AgentState.ON_CALL, now_s)
        agent.call_id = call_id

    def end_call(self, agent_id: str, now_s: float, wrap_up_s: float) -> None:
        """The agent's call ended; wrap-up lasts `wrap_up_s` (0: available, or offline if a break is pending)."""
        self._clock(now_s)
        if wrap_up_s < 0:
            raise ValueError(f"expected wrap_up_s >= 0, got {wrap_up_s}")
        agent = self._get(agent_id)
        _expect("on_call", agent.state, agent.state is AgentState.ON_CALL)
        agent.call_id = None
        self._move(agent, AgentState.WRAP_UP, now_s)
        agent.wrap_up_until_s = now_s + wrap_up_s
        if wrap_up_s == 0:
            self._finish_wrap_up(agent, now_s)

    def tick(self, now_s: float) -> list[str]:
        """End the wrap-ups due by `now_s`; returns the agents that became available (in id order of login)."""
        self._clock(now_s)
        freed: list[str] = []
        for agent_id, agent in self._agents.items():
            if agent.state is AgentState.WRAP_UP and agent.wrap_up_until_s <= now_s:
                if self._finish_wrap_up(agent, agent.wrap_up_until_s) is AgentState.AVAILABLE:
                    freed.append(agent_id)
        return freed

    # -- reading --

    def state(self, agent_id: str) -> AgentState:
        return self._get(agent_id).state

    def call_of(self, agent_id: str) -> str | None:
        return self._get(agent_id).call_id

    def available_agents(self) -> list[str]:
        """Available agents, longest idle first (ties: order of login)."""
        idle = [
            (agent.since_s, login_order, agent_id)
            for login_order, (agent_id, agent) in enumerate(self._agents.items())
            if agent.state is AgentState.AVAILABLE
        ]
        return [agent_id for _, _, agent_id in sorted(idle)]

    def count(self, *states: AgentState) -> int:
        return sum(1 for a in self._agents.values() if a.state in states)

    @property
    def logged_in(self) -> int:
        return self.count(AgentState.AVAILABLE, AgentState.ON_CALL, AgentState.WRAP_UP)

    def next_wrap_up_end_s(self) -> float | None:
        """When the earliest running wrap-up ends (None: nobody is wrapping up)."""
        ends = [a.wrap_up_until_s for a in self._agents.values() if a.state is AgentState.WRAP_UP]
        return min(ends, default=None)

    def times(self, agent_id: str, now_s: float) -> AgentTimes:
        """Time in each state for one agent, the current state counted up to `now_s`."""
        agent = self._get(agent_id)
        out = AgentTimes(agent.times.idle_s, agent.times.talk_s, agent.times.wrap_up_s)
        out.add(agent.state, max(0.0, now_s - agent.accounted_until_s))
        return out

    def total_times(self, now_s: float) -> AgentTimes:
        total = AgentTimes()
        for agent_id in self._agents:
            t = self.times(agent_id, now_s)
            total.idle_s += t.idle_s
            total.talk_s += t.talk_s
            total.wrap_up_s += t.wrap_up_s
        return total

    def occupancy(self, now_s: float) -> float:
        """(talk + wrap-up) / logged-in time over all agents since they first logged in; 0.0 before any login."""
        t = self.total_times(now_s)
        return (t.talk_s + t.wrap_up_s) / t.logged_in_s if t.logged_in_s > 0 else 0.0

    # -- internals --

    def _get(self, agent_id: str) -> _Agent:
        agent = self._agents.get(agent_id)
        _expect("a known agent", "an unknown agent id", agent is not None)
        assert agent is not None
        return agent

    def _clock(self, now_s: float) -> None:
        _expect(f"now_s >= {self._last_now_s}", now_s, now_s >= self._last_now_s)
        self._last_now_s = now_s

    def _move(self, agent: _Agent, state: AgentState, at_s: float) -> None:
        agent.times.add(agent.state, at_s - agent.accounted_until_s)
        agent.accounted_until_s = at_s
        agent.state = state
        agent.since_s = at_s

    def _finish_wrap_up(self, agent: _Agent, at_s: float) -> AgentState:
        target = AgentState.OFFLINE if agent.offline_after_call else AgentState.AVAILABLE
        agent.offline_after_call = False
        self._move(agent, target, at_s)
        return target


class QueueFullPolicy(StrEnum):
    """What `HandoffQueue.request` does when the queue holds `cap` waiting calls.

    REJECT_NEW: the new request is refused (`request` returns False) and counted as rejected, which counts as
    abandoned in the abandon rate; the robot tells the customer a person will call back. The calls already
    waiting keep their place: dropping the longest-waiting caller would be the worst choice.
    """

    REJECT_NEW = "reject_new"


class Assignment(NamedTuple):
    call_id: str
    agent_id: str


@dataclass(slots=True)
class HandoffStats:
    """Campaign-to-date handoff outcomes. `withdrawn`: the call no longer wanted a person (neither outcome)."""

    requested: int = 0
    answered: int = 0
    abandoned: int = 0
    rejected: int = 0
    withdrawn: int = 0
    max_wait_s: float = 0.0

    @property
    def resolved(self) -> int:
        """Requests with an outcome for the customer: answered, abandoned or rejected."""
        return self.answered + self.abandoned + self.rejected

    @property
    def abandon_rate(self) -> float:
        """(abandoned + rejected) / resolved; 0.0 before any outcome."""
        return (self.abandoned + self.rejected) / self.resolved if self.resolved else 0.0


class HandoffQueue:
    """FIFO of calls waiting for a person, bounded by `cap` with a named `QueueFullPolicy`.

    `assign` pairs the longest-waiting call with the longest-idle available agent of a roster. Waits of
    answered handoffs are kept (the most recent `RECENT_WAITS_KEPT`) for percentiles.
    """

    def __init__(self, cap: int = DEFAULT_QUEUE_CAP, full_policy: QueueFullPolicy = QueueFullPolicy.REJECT_NEW):
        if cap < 1:
            raise ValueError(f"expected cap >= 1, got {cap}")
        self.cap = cap
        self.full_policy = full_policy
        self.stats = HandoffStats()
        self._waiting: dict[str, float] = {}  # call id -> enqueue time; dicts keep insertion (FIFO) order
        self._answered_waits_s: deque[float] = deque(maxlen=RECENT_WAITS_KEPT)
        self._last_now_s = float("-inf")

    def __len__(self) -> int:
        return len(self._waiting)

    def __contains__(self, call_id: object) -> bool:
        return call_id in self._waiting

    def request(self, call_id: str, now_s: float) -> bool:
        """`call_id` asks for a person. False: refused because the queue is full (see `QueueFullPolicy`)."""
        self._clock(now_s)
        _expect("a call not already waiting", "a waiting call", call_id not in self._waiting)
        self.stats.requested += 1
        if len(self._waiting) >= self.cap:
            self.stats.rejected += 1
            return False
        self._waiting[call_id] = now_s
        return True

    def cancel(self, call_id: str, now_s: float, abandoned: bool) -> float:
        """Remove a waiting call; `abandoned`: the customer hung up or the robot gave up (else: withdrawn).

        Returns how long it waited.
        """
        self._clock(now_s)
        _expect("a waiting call", "a call not waiting", call_id in self._waiting)
        wait_s = now_s - self._waiting.pop(call_id)
        if abandoned:
            self.stats.abandoned += 1
        else:
            self.stats.withdrawn += 1
        return wait_s

    def take(self, call_id: str, now_s: float) -> float:
        """An agent took `call_id` over on their own (from the console): it leaves as answered. Returns its wait."""
        self._clock(now_s)
        _expect("a waiting call", "a call not waiting", call_id in self._waiting)
        wait_s = now_s - self._waiting.pop(call_id)
        self._record_answer(wait_s)
        return wait_s

    def assign(self, now_s: float, roster: AgentRoster) -> list[Assignment]:
        """Hand waiting calls to available agents (after `roster.tick(now_s)`); each agent starts the call."""
        self._clock(now_s)
        roster.tick(now_s)
        pairs = list(zip(list(self._waiting), roster.available_agents(), strict=False))
        for call_id, agent_id in pairs:
            roster.start_call(agent_id, call_id, now_s)
            self._record_answer(now_s - self._waiting.pop(call_id))
        return [Assignment(call_id, agent_id) for call_id, agent_id in pairs]

    def oldest_wait_s(self, now_s: float) -> float:
        """How long the longest-waiting call has waited (0.0 when none waits)."""
        first = next(iter(self._waiting.values()), None)
        return 0.0 if first is None else now_s - first

    def waiting(self) -> list[str]:
        """Waiting call ids, longest waiting first."""
        return list(self._waiting)

    def answered_waits_s(self) -> list[float]:
        return list(self._answered_waits_s)

    def wait_percentile_s(self, q: float) -> float:
        """The q-quantile (0..1, nearest rank) of recent answered waits; 0.0 before any answer."""
        return percentile(self._answered_waits_s, q)

    def _record_answer(self, wait_s: float) -> None:
        self.stats.answered += 1
        self.stats.max_wait_s = max(self.stats.max_wait_s, wait_s)
        self._answered_waits_s.append(wait_s)

    def _clock(self, now_s: float) -> None:
        _expect(f"now_s >= {self._last_now_s}", now_s, now_s >= self._last_now_s)
        self._last_now_s = now_s


def percentile(values: Iterable[float], q: float) -> float:
    """Nearest-rank q-quantile (q in 0..1) of `values`; 0.0 for none."""
    if not 0.0 <= q <= 1.0:
        raise ValueError(f"expected 0 <= q <= 1, got {q}")
    ordered = sorted(values)
    if not ordered:
        return 0.0
    rank = max(1, math.ceil(q * len(ordered) - 1e-9))  # the tolerance keeps 0.95 * 20 at rank 19, not 20
    return ordered[min(rank, len(ordered)) - 1]
