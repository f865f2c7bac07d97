"""What the dialogue engine is fed: one frozen dataclass per thing that can happen on a call.

`t_s` is seconds on one monotonic clock per call (the engine only takes differences, anchored at
`CallAnswered`). Customer and agent text is personal data: never log `text`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


class IllegalEvent(ValueError):
    """An event the engine cannot take in its current phase ("expected X, got Y")."""


@dataclass(frozen=True, slots=True)
class CallAnswered:
    t_s: float


@dataclass(frozen=True, slots=True)
class CustomerText:
    """One finished customer utterance from the recognizer."""

    text: str
    confidence: float  # 0..1, the recognizer's; below the campaign's min_confidence the engine clarifies
    t_s: float


@dataclass(frozen=True, slots=True)
class Silence:
    """No customer speech for `seconds` since the robot stopped talking (sent by the Listen timer)."""

    seconds: float
    t_s: float


@dataclass(frozen=True, slots=True)
class BargeIn:
    """The customer started talking over a Say whose `barge_in_allowed` is true (the voice layer filters)."""

    t_s: float


@dataclass(frozen=True, slots=True)
class Dtmf:
    digit: str  # one of 0-9 * #
    t_s: float


@dataclass(frozen=True, slots=True)
class MachineDetected:
    """An answering machine or voicemail greeting, not a person."""

    t_s: float


@dataclass(frozen=True, slots=True)
class Takeover:
    """A human agent took the call: the robot goes silent but keeps listening."""

    agent_id: str
    t_s: float


@dataclass(frozen=True, slots=True)
class HandBack:
    """The agent gave the call back to the robot (only after a Takeover)."""

    agent_id: str
    t_s: float


@dataclass(frozen=True, slots=True)
class AgentText:
    """What the agent said while holding the call (only between Takeover and HandBack)."""

    text: str
    t_s: float


@dataclass(frozen=True, slots=True)
class HandoffTimeout:
    """No agent took the call within the campaign's handoff_wait_s of a RequestHuman."""

    t_s: float


@dataclass(frozen=True, slots=True)
class SpeechDone:
    """The last Say finished playing (or was cut)."""

    t_s: float


Event = (
    CallAnswered
    | CustomerText
    | Silence
    | BargeIn
    | Dtmf
    | MachineDetected
    | Takeover
    | HandBack
    | AgentText
    | HandoffTimeout
    | SpeechDone
)

# The engine's phases: idle -> active <-> awaiting_agent (a human requested) -> taken_over -> active ... -> ended.
Phase = Literal["idle", "active", "awaiting_agent", "taken_over", "ended"]

# The events each phase takes; anything else is an IllegalEvent. After the end, media still trickles in (the
# goodbye finishing, words over it): the engine ignores it.
EXPECTED: dict[Phase, tuple[type, ...]] = {
    "idle": (CallAnswered, MachineDetected),
    "active": (CustomerText, Silence, BargeIn, Dtmf, MachineDetected, SpeechDone, Takeover),
    "awaiting_agent": (CustomerText, Silence, BargeIn, Dtmf, MachineDetected, SpeechDone, Takeover, HandoffTimeout),
    "taken_over": (CustomerText, AgentText, HandBack, Silence, BargeIn, Dtmf, SpeechDone, HandoffTimeout),
    "ended": (SpeechDone, Silence, BargeIn, CustomerText, Dtmf),
}


def expect_event(phase: Phase, event: Event) -> None:
    """Raise IllegalEvent ("expected X, got Y") unless `phase` takes `event`."""
    expected = EXPECTED[phase]
    if not isinstance(event, expected):
        names = ", ".join(t.__name__ for t in expected)
        raise IllegalEvent(f"expected {names} (phase {phase}), got {type(event).__name__}")
