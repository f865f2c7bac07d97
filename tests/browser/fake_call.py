"""`ScriptedCall`: a live call without SIP for the browser tests. It implements `agent_console.registry.LiveSession`
like `session.CallSession` does, at the seams the console uses:

- a 20 ms clock (absolute: `start + n * 20 ms`) that publishes the customer's audio and what the customer hears
  (the robot's audio, or the agent's through a real `AgentJitterBuffer`) to the listen-in hub, and hands the
  customer's audio to the agent holding the call;
- `speaking` events from the same `SpeakingTracker` the real session uses, so the page's "customer hears"
  indicator is driven the way it is in a real call;
- takeover / hand-back publish the `handoff` and `state` events the real session does;
- every agent frame that arrives is recorded as it was sent (`agent_frames`: seq, PCM, rate), so a test can
  correlate what the browser sent with the fake microphone's WAV.

Scripted transcript, score and recommendation events are published by the test (`publish`), all on the server's
event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

import numpy as np
import numpy.typing as npt

from session.agent import AgentChannel
from session.call_session import TakeoverError
from session.events import (
    CallEventStream,
    EndedEvent,
    EventSubscription,
    HandoffEvent,
    SessionEvent,
    SpeakingEvent,
    StateEvent,
    Who,
)
from session.jitter import AgentJitterBuffer, JitterConfig
from session.listen import ListenHub, ListenSubscription
from session.outbound import SpeakingTracker
from session.switch import Source
from telephony.frames import AudioFrame

LINE_RATE_HZ = 8000
FRAME_S = 0.020
FRAME_SAMPLES = LINE_RATE_HZ // 50
Samples = npt.NDArray[np.int16]


class RecordingChannel(AgentChannel):
    """The agent's channel, keeping a copy of every frame the agent's socket pushed."""

    def __init__(self, agent_id: str, jitter: AgentJitterBuffer, log: list[tuple[int, bytes, int]]) -> None:
        super().__init__(agent_id, jitter)
        self._log = log

    def push(self, seq: int, pcm: bytes, rate_hz: int) -> None:
        if not self.closed:
            self._log.append((seq, pcm, rate_hz))
        super().push(seq, pcm, rate_hz)


class ScriptedCall:
    sample_rate_hz = LINE_RATE_HZ

    def __init__(self, call_id: str, customer: Samples, robot: Samples) -> None:
        """`customer`, `robot`: 8 kHz s16 audio, each looped for as long as the call runs."""
        self.call_id = call_id
        self.stream = CallEventStream(call_id)
        self.hub = ListenHub(LINE_RATE_HZ)
        self.channel: RecordingChannel | None = None
        self.agent_frames: list[tuple[int, bytes, int]] = []
        self.takeovers: list[str] = []
        self.hand_backs = 0
        self.end_requests = 0
        self.robot_talking = True
        self._customer, self._robot = customer, robot
        self._ended = asyncio.Event()
        self._speaking = SpeakingTracker(self._on_speaking)
        self._t0 = time.monotonic()
        self._clock: asyncio.Task[None] | None = None

    # -- LiveSession --

    @property
    def taken_over(self) -> bool:
        return self.channel is not None

    def request_takeover(self, agent_id: str) -> AgentChannel:
        if self._ended.is_set():
            raise TakeoverError(f"expected a live call, got call {self.call_id} ended")
        if self.channel is not None:
            raise TakeoverError(f"expected no agent on the call, got {self.channel.agent_id}")
        jitter = AgentJitterBuffer(JitterConfig(LINE_RATE_HZ))
        self.channel = RecordingChannel(agent_id, jitter, self.agent_frames)
        self.takeovers.append(agent_id)
        self.publish(HandoffEvent(self.now(), "accepted", agent_id=agent_id))
        self.publish(StateEvent(self.now(), "taken_over"))
        return self.channel

    def hand_back(self) -> None:
        if self.channel is None:
            raise TakeoverError("expected an agent on the call, got none")
        agent_id = self.channel.agent_id
        self.channel.close()
        self.channel = None
        self.hand_backs += 1
        self.publish(HandoffEvent(self.now(), "handed_back", agent_id=agent_id))
        self.publish(StateEvent(self.now(), "active"))

    def listen(self, buffer_frames: int | None = None) -> ListenSubscription:
        return self.hub.subscribe(buffer_frames)

    def subscribe_events(self, max_pending: int | None = None) -> EventSubscription:
        return self.stream.subscribe(max_pending)

    async def wait_ended(self) -> None:
        await self._ended.wait()

    def end(self) -> None:
        self.end_requests += 1
        self.finish("hangup", "console")

    # -- the script --

    def now(self) -> float:
        return round(time.monotonic() - self._t0, 3)

    def publish(self, event: SessionEvent) -> int:
        return self.stream.publish(event)

    def start(self) -> None:
        """Start the call's 20 ms clock (on the server's loop)."""
        self._t0 = time.monotonic()
        self.publish(StateEvent(0.0, "active"))
        self._clock = asyncio.get_running_loop().create_task(self._tick_forever(), name=f"fake-call-{self.call_id}")

    def finish(self, outcome: str = "hangup", hangup_by: str = "customer") -> None:
        if self._ended.is_set():
            return
        if self.channel is not None:
            self.channel.close()
            self.channel = None
        self.publish(StateEvent(self.now(), "ended"))
        self.publish(EndedEvent(self.now(), outcome, hangup_by))
        self.stream.close()
        self.hub.close()
        self._ended.set()
        if self._clock is not None and self._clock is not asyncio.current_task():
            self._clock.cancel()

    async def aclose(self) -> None:
        self.finish()
        if self._clock is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._clock

    # -- the clock --

    def _on_speaking(self, who: Who) -> None:
        self.publish(SpeakingEvent(self.now(), who))

    async def _tick_forever(self) -> None:
        start = time.monotonic()
        n = 0
        while not self._ended.is_set():
            self._tick(n)
            n += 1
            await asyncio.sleep(max(0.0, start + n * FRAME_S - time.monotonic()))

    def _tick(self, n: int) -> None:
        customer = AudioFrame.from_samples(_loop_slice(self._customer, n), LINE_RATE_HZ, n + 1)
        source: Source = "silent"
        outbound: AudioFrame | None = None
        if self.channel is not None:
            outbound = self.channel.jitter.pull()
            source = "human" if outbound is not None else "silent"
            self.channel.deliver(customer)
        elif self.robot_talking:
            outbound = AudioFrame.from_samples(_loop_slice(self._robot, n), LINE_RATE_HZ, n + 1)
            source = "robot"
        self._speaking.frame(source)
        self.hub.publish(customer, outbound)


def _loop_slice(audio: Samples, n: int) -> Samples:
    start = (n * FRAME_SAMPLES) % len(audio)
    out = audio[start : start + FRAME_SAMPLES]
    if len(out) < FRAME_SAMPLES:
        out = np.concatenate([out, audio[: FRAME_SAMPLES - len(out)]])
    return out
