"""The narrow interfaces a call session is built on. Each has a real implementation elsewhere in the product and
a fake in the tests; the session depends only on these shapes.

| seam | real | fake (tests) |
|---|---|---|
| `CallLeg` | `telephony.Call` | a scripted leg with a 20 ms clock |
| `Recognizer` | `asr.StreamingRecognizer` | the same class over `asr.fakes` |
| `Dialogue` | `dialogue.DialogueEngine` | a scripted brain |
| `MachineDetector` | `session.amd` (answering-machine detection, written separately) | a scripted stand-in |
| `telephony.frames.AudioFrame` | the one audio vocabulary, 20 ms s16 mono | |
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Literal, Protocol

from asr.events import RecognizerEvent
from dialogue.actions import Action
from dialogue.engine import EngineState
from dialogue.events import Event
from telephony.frames import AudioFrame

AmdDecision = Literal["human", "machine", "undecided"]


class CallLeg(Protocol):
    """What the session needs from an answered call (`telephony.Call` has all of it)."""

    @property
    def sample_rate_hz(self) -> int: ...

    @property
    def buffered_frames(self) -> int:
        """Frames queued for playout and not yet on the wire."""
        ...

    async def recv(self) -> AudioFrame:
        """The next 20 ms from the far end; raises `telephony.CallEnded` once the call is over."""
        ...

    def send(self, frame: AudioFrame) -> int:
        """Queue one frame for playout; never blocks."""
        ...

    def flush_playout(self) -> int:
        """Drop every queued outbound frame now; returns how many were queued."""
        ...

    async def hangup(self, timeout_s: float = 10.0) -> object: ...


class Recognizer(Protocol):
    """A streaming recognizer for one audio stream (`asr.StreamingRecognizer`)."""

    def push_frame(self, frame: AudioFrame) -> None: ...

    def end_input(self) -> None: ...

    async def aclose(self) -> None: ...

    def __aiter__(self) -> AsyncIterator[RecognizerEvent]: ...


class Dialogue(Protocol):
    """The robot's brain (`dialogue.DialogueEngine`): pure and synchronous; the session runs it off the loop."""

    @property
    def state(self) -> EngineState: ...

    def start(self, t_s: float = 0.0) -> list[Action]: ...

    def handle(self, event: Event) -> list[Action]: ...


class AmdResult(Protocol):
    """An answering-machine verdict. `beep_at_s`: when the beep was heard (seconds since the answer), if any."""

    @property
    def decision(self) -> AmdDecision: ...

    @property
    def beep_at_s(self) -> float | None: ...


class MachineDetector(Protocol):
    """Answering-machine detection over the first seconds of a call (the `session.amd` module implements it).

    Times are seconds since the answer. Either method may return a result; the session acts on the first
    `machine` and stops feeding the detector after the first `human` or `machine`. Human-first: `undecided`
    (or no result at all) never ends a call.
    """

    def push_frame(self, frame: AudioFrame, t_s: float) -> AmdResult | None: ...

    def push_transcript(self, text: str, t_s: float) -> AmdResult | None: ...


class FrameSource(Protocol):
    """Something that can be played on the line, one 20 ms frame at a time, pulled synchronously."""

    def pull(self) -> AudioFrame | None:
        """The next frame, or None when there is nothing to play right now (the switch plays silence)."""
        ...
