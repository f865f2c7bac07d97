"""The outbound path: the 20 ms pump from the switch to the call, the agent's source, who is speaking."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from session.events import Who
from session.jitter import AgentJitterBuffer
from session.seams import CallLeg
from session.switch import OutboundSwitch, Source
from telephony.call import CallEnded
from telephony.frames import FRAME_MS, AudioFrame

FRAME_S = FRAME_MS / 1000
REANCHOR_S = 0.2  # the loop stalled longer than this: start a fresh 20 ms grid rather than catch up in a burst

LATE_S = 0.020  # a tick that wakes a whole frame late
NONE_AFTER_FRAMES = 10  # "nobody speaks" only after 200 ms without audio (no flapping between words)


class HumanSource:
    """The switch's `human` source: the jitter buffer of whichever agent holds the call (none: nothing)."""

    def __init__(self) -> None:
        self._jitter: AgentJitterBuffer | None = None

    def attach(self, jitter: AgentJitterBuffer) -> None:
        self._jitter = jitter

    def detach(self) -> None:
        self._jitter = None

    def pull(self) -> AudioFrame | None:
        return self._jitter.pull() if self._jitter is not None else None


@dataclass(slots=True)
class OutboundStats:
    """How well the outbound clock kept time: its wake-up lag per 20 ms tick."""

    ticks: int = 0
    late_ticks: int = 0  # woke >= one frame late
    max_lag_s: float = 0.0
    frames_sent: int = 0

    def tick(self, lag_s: float) -> None:
        self.ticks += 1
        self.late_ticks += lag_s >= LATE_S
        self.max_lag_s = max(self.max_lag_s, lag_s)

    def to_json(self) -> dict[str, Any]:
        return {
            "ticks": self.ticks,
            "late_ticks": self.late_ticks,
            "max_lag_ms": round(self.max_lag_s * 1000, 1),
            "frames_sent": self.frames_sent,
        }


class SpeakingTracker:
    """Turns the switch's per-frame source into `speaking` changes: robot, agent, or none (after 200 ms)."""

    def __init__(self, on_change: Callable[[Who], None]) -> None:
        self._on_change = on_change
        self.who: Who = "none"
        self._quiet = 0

    def frame(self, source: Source) -> None:
        who: Who = "robot" if source == "robot" else "agent" if source == "human" else "none"
        if who == "none":
            self._quiet += 1
            if self._quiet == NONE_AFTER_FRAMES and self.who != "none":
                self.who = "none"
                self._on_change("none")
            return
        self._quiet = 0
        if who != self.who:
            self.who = who
            self._on_change(who)


class OutboundPump:
    """Keeps the call's playout buffer `lead_frames` ahead of the wire, from the switch, on a 20 ms absolute clock.

    Few frames queued means a flush (barge-in, takeover) has little to drop and takes effect within a frame;
    with nothing to play, one frame of silence is queued at most, so a line's first word waits behind <= 1 frame.
    """

    def __init__(
        self, call: CallLeg, switch: OutboundSwitch, lead_frames: int, on_sent: Callable[[AudioFrame], None]
    ) -> None:
        self._call, self._switch, self._lead, self._on_sent = call, switch, lead_frames, on_sent
        self.stats = OutboundStats()
        self._last_audio_frame = 0  # frames_sent at the last frame that carried audio

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        start, n = loop.time(), 0
        while True:
            self.top_up()
            n += 1
            due = start + n * FRAME_S
            await asyncio.sleep(max(0.0, due - loop.time()))
            lag = loop.time() - due
            self.stats.tick(lag)
            if lag > REANCHOR_S:
                start, n = loop.time(), 0

    def top_up(self) -> None:
        for _ in range(self._lead):
            if self._call.buffered_frames >= self._lead:
                return
            frame = self._switch.next_frame()
            try:
                self._call.send(frame)
            except CallEnded:
                return
            self.stats.frames_sent += 1
            if self._switch.last_source != "silent":
                self._last_audio_frame = self.stats.frames_sent
            self._on_sent(frame)
            if self._switch.last_source == "silent" and self._call.buffered_frames >= 1:
                return

    def cut(self, to: Source) -> int:
        """Flush the playout buffer and swap to `to`, faded from what really played; returns the frames dropped."""
        unplayed = self._call.flush_playout()
        self._switch.rewind(unplayed)
        self._switch.select(to)
        self.top_up()  # the fade goes out now, not at the next tick
        return unplayed

    def unplayed_audio(self) -> bool:
        """Whether the last frame with audio in it is still queued for the wire (silence may follow it)."""
        return self.stats.frames_sent - self._call.buffered_frames < self._last_audio_frame
