"""The per-call event stream: what the console sees of a live call, as JSON-ready events.

Kinds (`type` in JSON): `state`, `transcript` (partial or final, speaker customer | robot | agent, times in
seconds since the answer), `score`, `handoff` (requested | accepted | timeout | handed_back),
`recommendations`, `speaking` (who the customer hears now: robot | agent | none), `ended` (outcome).

Fan-out (`CallEventStream.publish` is synchronous and never waits):
- in-process listeners (`add_listener`, e.g. the call record's builder) get every event, in order;
- subscribers (`subscribe()`, e.g. a console WebSocket) each get a bounded queue. Partial transcripts are
  latest-only (an unread partial of the same speaker is replaced). Everything else is never dropped silently:
  a subscriber whose queue is full is marked `lagged`, emptied and dropped; its iterator raises
  `SubscriberLagged` (the console reconnects and reloads the call record).

Transcript text is personal data: it lives in events and records, never in log messages.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

Speaker = Literal["customer", "robot", "agent"]
HandoffStatus = Literal["requested", "accepted", "timeout", "handed_back"]
Who = Literal["robot", "agent", "none"]
DEFAULT_MAX_PENDING = 256


@dataclass(frozen=True, slots=True)
class StateEvent:
    type: ClassVar[str] = "state"
    t_s: float
    state: str  # the dialogue's phase ("active", "awaiting_agent", "taken_over", "ended") or "starting"
    node_id: str | None = None


@dataclass(frozen=True, slots=True)
class TranscriptEvent:
    type: ClassVar[str] = "transcript"
    t_s: float
    speaker: Speaker
    text: str
    final: bool
    start_s: float
    end_s: float | None = None
    cut: bool = False  # robot lines only: cut by a barge-in or a takeover


@dataclass(frozen=True, slots=True)
class ScoreEvent:
    type: ClassVar[str] = "score"
    t_s: float
    score: int
    grade: str
    category: str
    signals: tuple[Mapping[str, Any], ...] = ()  # {"name", "points", "evidence"}: intents and slots, never text


@dataclass(frozen=True, slots=True)
class HandoffEvent:
    type: ClassVar[str] = "handoff"
    t_s: float
    status: HandoffStatus
    reason: str | None = None
    agent_id: str | None = None


@dataclass(frozen=True, slots=True)
class RecommendationsEvent:
    type: ClassVar[str] = "recommendations"
    t_s: float
    items: tuple[Mapping[str, Any], ...]


@dataclass(frozen=True, slots=True)
class SpeakingEvent:
    type: ClassVar[str] = "speaking"
    t_s: float
    who: Who


@dataclass(frozen=True, slots=True)
class EndedEvent:
    type: ClassVar[str] = "ended"
    t_s: float
    outcome: str
    hangup_by: str | None = None


SessionEvent = (
    StateEvent | TranscriptEvent | ScoreEvent | HandoffEvent | RecommendationsEvent | SpeakingEvent | EndedEvent
)


def event_json(event: SessionEvent, seq: int = 0) -> dict[str, Any]:
    """The event as a JSON-serialisable dict: `type`, `seq` (order within the call) and its fields."""
    fields = {f.name: _plain(getattr(event, f.name)) for f in dataclasses.fields(event)}
    return {"type": event.type, "seq": seq, **fields}


def _plain(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 4)
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, Sequence) and not isinstance(value, str):
        return [_plain(v) for v in value]
    return value


class SubscriberLagged(Exception):
    """The subscriber fell more than its queue behind and was dropped (no final event is lost silently)."""


def _is_partial(event: SessionEvent) -> bool:
    return isinstance(event, TranscriptEvent) and not event.final


class EventSubscription:
    """One consumer's bounded view of the stream; async-iterate `(seq, event)` pairs."""

    def __init__(self, stream: CallEventStream, max_pending: int) -> None:
        if max_pending < 1:
            raise ValueError(f"expected max_pending >= 1, got {max_pending}")
        self._stream = stream
        self._max = max_pending
        self._queue: deque[tuple[int, SessionEvent]] = deque()
        self._wake = asyncio.Event()
        self.lagged = False
        self.closed = False
        self.partials_replaced = 0

    def offer(self, seq: int, event: SessionEvent) -> None:
        if self.closed:
            return
        if _is_partial(event):
            self._drop_unread_partial(event)
            if len(self._queue) >= self._max:
                self.partials_replaced += 1  # latest-only: a partial may be lost, a final never
                return
        elif len(self._queue) >= self._max:
            self._lag()
            return
        self._queue.append((seq, event))
        self._wake.set()

    def _drop_unread_partial(self, event: SessionEvent) -> None:
        assert isinstance(event, TranscriptEvent)
        for item in self._queue:
            old = item[1]
            if isinstance(old, TranscriptEvent) and not old.final and old.speaker == event.speaker:
                self._queue.remove(item)
                self.partials_replaced += 1
                return

    def _lag(self) -> None:
        self.lagged = True
        self._queue.clear()
        self.close()

    def close(self) -> None:
        """Stop receiving; iteration ends once the queue is drained (at once when lagged)."""
        if not self.closed:
            self.closed = True
            self._stream.unsubscribe(self)
            self._wake.set()

    def __aiter__(self) -> EventSubscription:
        return self

    async def __anext__(self) -> tuple[int, SessionEvent]:
        while not self._queue:
            if self.lagged:
                raise SubscriberLagged(f"expected a reader within {self._max} events, got one further behind")
            if self.closed:
                raise StopAsyncIteration
            self._wake.clear()
            await self._wake.wait()
        return self._queue.popleft()


class CallEventStream:
    """The fan-out point of one call's events."""

    def __init__(self, call_id: str, *, max_pending: int = DEFAULT_MAX_PENDING) -> None:
        self.call_id = call_id
        self.max_pending = max_pending
        self._subs: list[EventSubscription] = []
        self._listeners: list[Callable[[SessionEvent], None]] = []
        self.seq = 0
        self.closed = False

    def add_listener(self, listener: Callable[[SessionEvent], None]) -> None:
        """An in-process consumer that sees every event synchronously (it must be quick and never block)."""
        self._listeners.append(listener)

    def subscribe(self, max_pending: int | None = None) -> EventSubscription:
        sub = EventSubscription(self, max_pending or self.max_pending)
        if self.closed:
            sub.close()
        else:
            self._subs.append(sub)
        return sub

    def unsubscribe(self, sub: EventSubscription) -> None:
        if sub in self._subs:
            self._subs.remove(sub)

    @property
    def subscribers(self) -> int:
        return len(self._subs)

    def publish(self, event: SessionEvent) -> int:
        """Hand the event to every listener and subscriber; returns its sequence number."""
        if self.closed:
            raise RuntimeError(f"expected an open event stream, got call {self.call_id}'s closed")
        self.seq += 1
        for listener in self._listeners:
            listener(event)
        for sub in list(self._subs):
            sub.offer(self.seq, event)
        return self.seq

    def close(self) -> None:
        """The call is over: subscribers drain what they have, then their iteration ends."""
        self.closed = True
        for sub in list(self._subs):
            sub.close()
