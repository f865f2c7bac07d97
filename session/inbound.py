"""The inbound side's clock and helpers: stream time of the customer's frames, levels, recognizer times."""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from asr.events import RecognizerEvent
from telephony.frames import FRAME_MS, AudioFrame

FRAME_S = FRAME_MS / 1000
CLOCK_EVERY_FRAMES = 250  # one point of the record's inbound clock every 5 s


class InboundClock:
    """Session time of each inbound frame, on the stream's clock: 20 ms per frame, in order.

    The first frame's arrival fixes the offset between the stream and the session (the customer recognizer's
    audio time 0); after that a frame's time is its index, so arrival jitter never reorders anything. Every
    `CLOCK_EVERY_FRAMES` the real arrival is kept as a point (`points`): frame k is tick k of the call's
    recording, so the points map session times onto the recording even if the line's clock drifts from ours.
    """

    def __init__(self) -> None:
        self.offset_s: float | None = None
        self.frames = 0
        self.points: list[tuple[int, float]] = []

    def frame_start(self, arrived_s: float) -> float:
        """Session time at which the next inbound frame starts; `arrived_s` is when its end arrived."""
        if self.offset_s is None:
            self.offset_s = arrived_s - FRAME_S
        if self.frames % CLOCK_EVERY_FRAMES == 0:
            self.points.append((self.frames, round(arrived_s - FRAME_S, 4)))
        t = self.offset_s + self.frames * FRAME_S
        self.frames += 1
        return t


def frame_dbfs(frame: AudioFrame) -> float:
    """RMS level of a frame in dBFS (-120 for digital silence)."""
    rms = math.sqrt(float(np.mean(np.square(frame.samples, dtype=np.float64))))
    return max(-120.0, 20 * math.log10(rms / 32768)) if rms > 0 else -120.0


def shift_event(event: RecognizerEvent, offset_s: float) -> RecognizerEvent:
    """A recognizer event with its times moved from the stream's audio clock to session time."""
    names = ("t_s", "detected_s", "start_s", "end_s")
    changes = {n: getattr(event, n) + offset_s for n in names if hasattr(event, n)}
    return dataclasses.replace(event, **changes)
