"""What a streaming recognizer reports. Times are seconds on the call's audio clock (0 = first frame pushed)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class SpeechStarted:
    """The customer started speaking (barge-in signal). Emitted ≤ 100 ms after the onset."""

    t_s: float  # estimated onset
    detected_s: float  # audio time at which it was detected


@dataclass(frozen=True, slots=True)
class Partial:
    """Text so far of the utterance in progress (only when partials are switched on)."""

    text: str
    start_s: float


@dataclass(frozen=True, slots=True)
class Final:
    """The text of one finished utterance. The transcript is personal data: never log `text`."""

    text: str
    start_s: float  # speech onset
    end_s: float  # end of speech (start of the silence that ended the turn)
    confidence: float  # 0..1
    language: str
    speculative: bool = False  # the decode started at the pause and was kept


@dataclass(frozen=True, slots=True)
class Dropped:
    """An utterance that could not be transcribed (`reason`: "pool_full" or "error")."""

    start_s: float
    end_s: float
    reason: str


RecognizerEvent = SpeechStarted | Partial | Final | Dropped
