"""What the console knows of one live call: its metadata (from the dialer) and a summary kept from its events.

`CallSummary.apply(seq, event)` is a pure state machine fed the call's event stream (`session.events`); it
returns whether something the board shows changed (transcripts change the call view, not the board).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from agent_console.policy import CallScope
from session.events import (
    EndedEvent,
    HandoffEvent,
    RecommendationsEvent,
    ScoreEvent,
    SessionEvent,
    SpeakingEvent,
    StateEvent,
    TranscriptEvent,
    event_json,
)
from storage.models.base import utcnow

__all__ = ["MAX_LINES", "CallMeta", "CallSummary", "Hears"]

Hears = Literal["robot", "human", "silent"]
MAX_LINES = 500  # final transcript lines kept per call for the call view (older ones are in the call record)
_HEARS: dict[str, Hears] = {"robot": "robot", "agent": "human", "none": "silent"}


@dataclass(frozen=True, slots=True)
class CallMeta:
    """What the dialer knows of a call when it registers it with the console (`LiveCalls.add`).

    `lead_phone` is E.164 and `lead_name` free text: personal data, shown to viewers, never logged.
    `industry` and `language` pick the recommendations' script shard.
    """

    call_id: str
    campaign_id: int | None = None
    campaign_name: str | None = None
    team_id: int | None = None
    assigned_agent_id: int | None = None
    lead_id: int | None = None
    attempt_id: int | None = None
    lead_phone: str | None = None
    lead_name: str | None = None
    started_at: datetime = field(default_factory=utcnow)
    script_id: str | None = None
    industry: str | None = None
    language: str = "en"

    @property
    def scope(self) -> CallScope:
        return CallScope(self.team_id, self.assigned_agent_id)


class CallSummary:
    """The board's view of one call, and the call view's transcript so far."""

    def __init__(self) -> None:
        self.state = "starting"
        self.hears: Hears = "silent"
        self.controller: Literal["robot", "human"] = "robot"
        self.agent: str | None = None
        self.score: int | None = None
        self.grade: str | None = None
        self.category: str | None = None
        self.signals: list[dict[str, Any]] = []
        self.handoff: str | None = None
        self.handoff_requested = False
        self.outcome: str | None = None  # the call's own, from its `ended` event
        self.ended = False
        self.seq = 0
        self.lines: deque[dict[str, Any]] = deque(maxlen=MAX_LINES)
        self.partials: dict[str, dict[str, Any]] = {}
        self.recommendations: list[dict[str, Any]] = []

    def apply(self, seq: int, event: SessionEvent) -> bool:
        """Take one event; True when a field the board shows changed."""
        self.seq = max(self.seq, seq)
        before = self._board_fields()
        if isinstance(event, StateEvent):
            self.state = event.state
        elif isinstance(event, SpeakingEvent):
            self.hears = _HEARS.get(event.who, "silent")
        elif isinstance(event, ScoreEvent):
            self.score, self.grade, self.category = event.score, event.grade, event.category
            self.signals = [dict(s) for s in event.signals]
        elif isinstance(event, HandoffEvent):
            self._handoff(event)
        elif isinstance(event, TranscriptEvent):
            self._transcript(event)
        elif isinstance(event, RecommendationsEvent):
            self.recommendations = event_json(event)["items"]
        elif isinstance(event, EndedEvent):
            self.ended, self.state, self.outcome = True, "ended", event.outcome
            self.handoff_requested = False
        return self._board_fields() != before

    def _handoff(self, event: HandoffEvent) -> None:
        self.handoff = event.status
        if event.status == "requested":
            self.handoff_requested = True
        elif event.status == "accepted":
            self.handoff_requested = False
            self.controller, self.agent = "human", event.agent_id
        elif event.status == "timeout":
            self.handoff_requested = False
        elif event.status == "handed_back":
            self.controller, self.agent = "robot", None

    def _transcript(self, event: TranscriptEvent) -> None:
        if not event.final:
            self.partials[event.speaker] = {"text": event.text, "start_s": event.start_s}
            return
        self.partials.pop(event.speaker, None)
        self.lines.append(
            {
                "speaker": event.speaker,
                "text": event.text,
                "start_s": round(event.start_s, 3),
                "end_s": None if event.end_s is None else round(event.end_s, 3),
                "cut": event.cut,
            }
        )

    def _board_fields(self) -> tuple[Any, ...]:
        return (
            self.state,
            self.hears,
            self.controller,
            self.agent,
            self.score,
            self.grade,
            self.category,
            self.handoff,
            self.handoff_requested,
            self.outcome,
        )
