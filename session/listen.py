"""Listen-in: every tick, the mix of the customer and what the customer hears goes to every supervisor listening.

A slow listener never delays the call: `publish` is synchronous and never waits; each subscription keeps only
its latest `buffer_frames` frames (full: the oldest is dropped and counted). Optional whisper: a supervisor's own
audio, through a jitter buffer of its own, mixed into what the agent hears and nowhere else.
"""

from __future__ import annotations

import asyncio
from collections import deque

import numpy as np

from session.jitter import AgentJitterBuffer, JitterConfig
from telephony.frames import AudioFrame

DEFAULT_BUFFER_FRAMES = 5  # 100 ms: enough for a browser's scheduling jitter, small enough to stay live


def mix(*frames: AudioFrame | None) -> AudioFrame | None:
    """Sum the frames (same rate), clipped to s16; None entries are skipped; None if all are None."""
    present = [f for f in frames if f is not None]
    if not present:
        return None
    rate = present[0].sample_rate_hz
    if any(f.sample_rate_hz != rate for f in present):
        raise ValueError(f"expected frames at one rate, got {sorted({f.sample_rate_hz for f in present})}")
    if len(present) == 1:
        return present[0]
    total = np.sum([f.samples.astype(np.int32) for f in present], axis=0)
    return AudioFrame.from_samples(np.clip(total, -32768, 32767).astype(np.int16), rate, present[0].seq)


class ListenSubscription:
    """One listener: an async iterator of mixed frames, latest-only. `close()` ends the iteration."""

    def __init__(self, hub: ListenHub, buffer_frames: int) -> None:
        if buffer_frames < 1:
            raise ValueError(f"expected buffer_frames >= 1, got {buffer_frames}")
        self._hub = hub
        self._frames: deque[AudioFrame] = deque(maxlen=buffer_frames)  # full: oldest dropped
        self._wake = asyncio.Event()
        self._whisper: AgentJitterBuffer | None = None
        self.closed = False
        self.received = 0
        self.dropped = 0

    def offer(self, frame: AudioFrame) -> None:
        """Called by the hub on every tick; never blocks."""
        if self.closed:
            return
        if len(self._frames) == self._frames.maxlen:
            self.dropped += 1
        self._frames.append(frame)
        self.received += 1
        self._wake.set()

    def whisper(self, seq: int, pcm: bytes, rate_hz: int) -> None:
        """The supervisor's own 20 ms frame, for the agent's ears only (ignored while nobody holds the call)."""
        if self._whisper is None:
            self._whisper = AgentJitterBuffer(JitterConfig(line_rate_hz=self._hub.sample_rate_hz))
        self._whisper.push(seq, pcm, rate_hz)

    def pull_whisper(self) -> AudioFrame | None:
        return self._whisper.pull() if self._whisper is not None else None

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._hub.unsubscribe(self)
            self._wake.set()

    def __aiter__(self) -> ListenSubscription:
        return self

    async def __anext__(self) -> AudioFrame:
        while not self._frames:
            if self.closed:
                raise StopAsyncIteration
            self._wake.clear()
            await self._wake.wait()
        return self._frames.popleft()


class ListenHub:
    """The fan-out point of one call's listen-in audio."""

    def __init__(self, sample_rate_hz: int, *, buffer_frames: int = DEFAULT_BUFFER_FRAMES) -> None:
        self.sample_rate_hz = sample_rate_hz
        self.buffer_frames = buffer_frames
        self._subs: list[ListenSubscription] = []
        self.ticks = 0

    @property
    def subscribers(self) -> int:
        return len(self._subs)

    def subscribe(self, buffer_frames: int | None = None) -> ListenSubscription:
        sub = ListenSubscription(self, buffer_frames or self.buffer_frames)
        self._subs.append(sub)
        return sub

    def unsubscribe(self, sub: ListenSubscription) -> None:
        if sub in self._subs:
            self._subs.remove(sub)

    def publish(self, customer: AudioFrame, outbound: AudioFrame | None) -> None:
        """One tick: the customer's frame mixed with what went out to them, to every subscriber."""
        self.ticks += 1
        if not self._subs:
            return
        mixed = mix(customer, outbound)
        assert mixed is not None
        for sub in self._subs:
            sub.offer(mixed)

    def whisper_frame(self) -> AudioFrame | None:
        """This tick's whisper to the agent: every whispering supervisor mixed (None: nobody whispers)."""
        return mix(*(sub.pull_whisper() for sub in self._subs))

    def close(self) -> None:
        for sub in list(self._subs):
            sub.close()
