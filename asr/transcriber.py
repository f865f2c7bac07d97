"""The seam between the streaming recognizer and a speech model: one utterance in, one transcript out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from asr.audio import Float32Array


@dataclass(frozen=True, slots=True)
class Utterance:
    """16 kHz float32 audio of one endpointed utterance; times are seconds on the call's audio clock."""

    audio: Float32Array
    start_s: float
    end_s: float


@dataclass(frozen=True, slots=True)
class Transcript:
    text: str
    confidence: float  # 0..1
    language: str


class Transcriber(Protocol):
    """Blocking; called from pool threads only, never from the event loop."""

    @property
    def language(self) -> str: ...

    def transcribe(self, utterance: Utterance) -> Transcript: ...
