"""The agent's end of a takeover: their audio in (through a jitter buffer), the customer's audio out.

`CallSession.request_takeover(agent_id)` returns an `AgentChannel`:
- `push(seq, pcm, rate_hz)` (sync): one 20 ms frame of the agent's voice, 8 or 16 kHz, numbered by the sender;
  it plays to the customer through `AgentJitterBuffer` (reordered, resampled to the line rate);
- `async for frame in channel`: what the customer says (with any supervisor whisper mixed in), at the line
  rate, latest-only: a slow agent connection loses old frames, it never delays the call;
- the channel closes when the agent hands back or the call ends; the iteration then ends.
"""

from __future__ import annotations

import asyncio
from collections import deque

from session.jitter import AgentJitterBuffer
from telephony.frames import AudioFrame

DEFAULT_HEAR_FRAMES = 10  # 200 ms of the customer queued for the agent at most


class ChannelClosed(Exception):
    """The takeover is over (handed back, or the call ended)."""


class AgentChannel:
    def __init__(self, agent_id: str, jitter: AgentJitterBuffer, *, hear_frames: int = DEFAULT_HEAR_FRAMES) -> None:
        self.agent_id = agent_id
        self.jitter = jitter
        self._hear: deque[AudioFrame] = deque(maxlen=hear_frames)  # full: oldest dropped
        self._wake = asyncio.Event()
        self.closed = False
        self.hear_dropped = 0
        self.rejected = 0  # frames pushed after the channel closed, or malformed

    @property
    def line_rate_hz(self) -> int:
        return self.jitter.config.line_rate_hz

    def push(self, seq: int, pcm: bytes, rate_hz: int) -> None:
        """One frame of the agent's voice. Raises ChannelClosed after hand-back, ValueError for a bad frame."""
        if self.closed:
            self.rejected += 1
            raise ChannelClosed(f"expected an open takeover for agent {self.agent_id}, got it closed")
        try:
            self.jitter.push(seq, pcm, rate_hz)
        except ValueError:
            self.rejected += 1
            raise

    def deliver(self, frame: AudioFrame) -> None:
        """The session's side: this tick's customer audio for the agent; never blocks."""
        if self.closed:
            return
        if len(self._hear) == self._hear.maxlen:
            self.hear_dropped += 1
        self._hear.append(frame)
        self._wake.set()

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._wake.set()

    def __aiter__(self) -> AgentChannel:
        return self

    async def __anext__(self) -> AudioFrame:
        while not self._hear:
            if self.closed:
                raise StopAsyncIteration
            self._wake.clear()
            await self._wake.wait()
        return self._hear.popleft()
