"""`CallSession`: one answered call, wired telephony <-> ASR <-> dialogue <-> TTS, in one task group.

    session = CallSession(call, dialogue, tts, lambda: StreamingRecognizer(pool), call_id="c42")
    record = await session.run()          # returns when the call is over (either side hung up)
    channel = session.request_takeover("agent-7")   # sync: the robot is silent from the next frame
    session.hand_back()                   # the robot resumes from the dialogue's state

Named tasks, all owned by one `asyncio.TaskGroup` (STYLE.md habit 8):
- `inbound`: `call.recv()` -> customer recognizer, barge-in voicing, answering-machine detector, listen-in mix,
  the agent's ears;
- `outbound`: a 20 ms absolute clock; each tick tops the call's playout buffer up to `lead_frames` (3) from
  the switch, so a barge-in or a takeover only ever has <= 60 ms queued to flush;
- `customer-asr` -> `Conversation` (barge-in policy, transcript, dialogue events);
- `dialogue`: `DialogueDriver`, the engine off the loop, its actions back on it;
- `robot-voice`: `RobotVoice`, the TTS a few frames ahead of the switch;
- `call-events` (DTMF), and while they run: `listen-timer`, `handoff-timer`, `agent-asr`, `hangup`, `recommend`.
When the call ends every task is cancelled; cleanup (recognizers, TTS streams, the hang-up) has deadlines.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections import deque
from collections.abc import Callable, Coroutine
from concurrent.futures import Executor
from pathlib import Path
from typing import Any

from asr.events import Final
from dialogue.events import CallAnswered, Dtmf, HandBack, Takeover
from session.agent import AgentChannel
from session.bargein import BargeInConfig, BargeInPolicy
from session.brain import DialogueDriver
from session.conversation import Conversation, Recommender
from session.events import (
    CallEventStream,
    EndedEvent,
    EventSubscription,
    HandoffEvent,
    SessionEvent,
    SpeakingEvent,
    StateEvent,
)
from session.inbound import InboundClock, frame_dbfs, shift_event
from session.jitter import AgentJitterBuffer, JitterConfig
from session.listen import ListenHub, ListenSubscription, mix
from session.outbound import HumanSource, OutboundPump, SpeakingTracker
from session.record import CallRecord, RecordBuilder, RecordStore
from session.seams import CallLeg, Dialogue, MachineDetector, Recognizer
from session.switch import OutboundSwitch, Source
from session.voice import RobotVoice
from telephony.call import CallEnded
from telephony.frames import FRAME_MS, AudioFrame
from tts.engine import TtsEngine

log = logging.getLogger(__name__)
FRAME_S = FRAME_MS / 1000


@dataclasses.dataclass(frozen=True, slots=True)
class SessionConfig:
    lead_frames: int = 3  # outbound frames queued ahead of the wire, at most
    robot_ahead_frames: int = 5  # TTS frames rendered ahead of the switch
    voiced_dbfs: float = -40.0  # an inbound frame at least this loud counts as voiced (barge-in confirmation)
    bargein: BargeInConfig = dataclasses.field(default_factory=BargeInConfig)
    agent_target_ms: int = 60
    agent_max_ms: int = 200
    listen_buffer_frames: int = 5
    event_buffer: int = 256
    amd_window_s: float = 30.0  # stop feeding the machine detector after this long
    drain_s: float = 3.0  # at the end, wait at most this long for the last line to play out
    stop_timeout_s: float = 2.0  # deadline for each cleanup step
    hangup_timeout_s: float = 10.0


class TakeoverError(RuntimeError):
    """A takeover or hand-back that the call's state does not allow ("expected X, got Y")."""


class CallSession:
    def __init__(
        self,
        call: CallLeg,
        dialogue: Dialogue,
        tts: TtsEngine,
        recognizers: Callable[[], Recognizer],
        *,
        call_id: str,
        config: SessionConfig | None = None,
        amd: MachineDetector | None = None,
        store: RecordStore | None = None,
        recording_path: Path | None = None,
        recommend: Recommender | None = None,
        executor: Executor | None = None,
    ) -> None:
        """`recognizers()` makes one recognizer per stream (the customer's, and the agent's during a takeover)."""
        self.call_id, self.config = call_id, config or SessionConfig()
        self._call, self._recognizers, self._amd, self._store = call, recognizers, amd, store
        self.events = CallEventStream(call_id, max_pending=self.config.event_buffer)
        self._builder = RecordBuilder(call_id, recording_path=recording_path)
        self.events.add_listener(self._builder)
        self.listen_hub = ListenHub(call.sample_rate_hz, buffer_frames=self.config.listen_buffer_frames)
        self.conversation: Conversation  # set below; the robot's callbacks reach it through self
        self._build_outbound(tts)
        perform = lambda acts, state: self.conversation.perform(acts, state)  # noqa: E731  # conversation comes next
        self.driver = DialogueDriver(dialogue, perform, executor=executor)
        policy = BargeInPolicy(self.config.bargein)
        self.conversation = Conversation(self, self.robot, self.driver, policy, recommend=recommend)
        self._channel: AgentChannel | None = None
        self._agent_asr: Recognizer | None = None
        self._customer_asr: Recognizer | None = None
        self._clock = InboundClock()
        self._tg: asyncio.TaskGroup | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._ended = asyncio.Event()
        self._t0 = 0.0
        self._amd_on = amd is not None
        self._hangup_by: str | None = None
        self._failed = False
        self.record: CallRecord | None = None

    def _build_outbound(self, tts: TtsEngine) -> None:
        """The robot's voice, the switch, the pump: the outbound path, robot and agent to the customer."""
        rate = self._call.sample_rate_hz
        self._pump: OutboundPump  # set below, after the switch it pumps from
        self.robot = RobotVoice(
            tts, rate, ahead_frames=self.config.robot_ahead_frames,
            on_line_start=lambda line: self.conversation.on_line_start(line),
            on_line_end=lambda line: self.conversation.on_line_end(line),
            on_idle=lambda: self.conversation.on_robot_idle(),
            on_ready=lambda: self._pump.top_up(),  # a line's first frame goes out now, not at the next tick
        )  # fmt: skip
        self._human = HumanSource()
        self.switch = OutboundSwitch(rate, {"robot": self.robot, "human": self._human})
        self._pump = OutboundPump(self._call, self.switch, self.config.lead_frames, self._after_send)
        self.stats = self._pump.stats
        self._speaking = SpeakingTracker(lambda who: self.publish(SpeakingEvent(self.now(), who)))
        self._sent_for_mix: deque[AudioFrame] = deque(maxlen=8)  # outbound frames awaiting their inbound tick

    # -- clock and plumbing (the Conversation's host) --

    def now(self) -> float:
        """Seconds since the answer (session time)."""
        return asyncio.get_running_loop().time() - self._t0

    def mono(self, t_s: float) -> float:
        return self._t0 + t_s

    def publish(self, event: SessionEvent) -> None:
        if not self.events.closed:
            self.events.publish(event)

    def spawn(self, coro: Coroutine[Any, Any, None], name: str) -> asyncio.Task[None] | None:
        """A task in the call's group; None (and the coroutine closed) once the call is shutting down."""
        if self._tg is None or self._ended.is_set():
            coro.close()
            return None
        task = self._tg.create_task(coro, name=f"call-{self.call_id}-{name}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    @property
    def taken_over(self) -> bool:
        return self._channel is not None

    def select(self, source: Source) -> None:
        self.switch.select(source)

    def cut_line(self, to: Source) -> int:
        return self._pump.cut(to)

    def hang_up_when_played(self) -> None:
        if self._hangup_by is None:
            self._hangup_by = "robot"
            self.spawn(self._hang_up_after_playout(), "hangup")

    # -- public surface --

    def listen(self, buffer_frames: int | None = None) -> ListenSubscription:
        """A listen-in subscription: the mixed call audio at the line rate, latest-only."""
        return self.listen_hub.subscribe(buffer_frames)

    def subscribe_events(self, max_pending: int | None = None) -> EventSubscription:
        return self.events.subscribe(max_pending)

    @property
    def sample_rate_hz(self) -> int:
        return self._call.sample_rate_hz

    def request_takeover(self, agent_id: str) -> AgentChannel:
        """An agent takes the call: the robot is silent from the next frame, the agent's audio plays instead."""
        if self._ended.is_set() or self._tg is None:
            raise TakeoverError(f"expected a live call, got call {self.call_id} not running")
        if self._channel is not None:
            raise TakeoverError(f"expected no agent on the call, got {self._channel.agent_id}")
        jitter = JitterConfig(self.sample_rate_hz, self.config.agent_target_ms, self.config.agent_max_ms)
        self._channel = channel = AgentChannel(agent_id, AgentJitterBuffer(jitter))
        self._human.attach(channel.jitter)
        self.cut_line("human")  # before stopping the robot: the fade may need its next frame
        self.robot.stop()
        self.conversation.on_takeover()
        self.publish(HandoffEvent(self.now(), "accepted", agent_id=agent_id))
        self._agent_asr = rec = self._recognizers()
        self.spawn(self._read_agent(rec, self.now()), "agent-asr")
        self.driver.post(Takeover(agent_id, self.mono(self.now())))
        return channel

    def hand_back(self) -> None:
        """The agent gives the call back: the robot resumes from the dialogue's state."""
        channel = self._channel
        if channel is None:
            raise TakeoverError("expected an agent on the call, got none")
        self._end_takeover(channel)
        self.switch.select("robot")  # before detaching: the fade-out starts from the agent's next samples
        self._human.detach()
        if self._agent_asr is not None:
            self._agent_asr.end_input()
            self._agent_asr = None
        self.publish(HandoffEvent(self.now(), "handed_back", agent_id=channel.agent_id))
        self.driver.post(HandBack(channel.agent_id, self.mono(self.now())))

    def _end_takeover(self, channel: AgentChannel) -> None:
        channel.close()
        self._channel = None
        stats = channel.jitter.stats
        counters = ("pushed", "played", "late", "duplicates", "overflow", "lost", "underruns")
        self.conversation.timings.agent_jitter.append({name: getattr(stats, name) for name in counters})

    @property
    def ended(self) -> bool:
        return self._ended.is_set()

    async def wait_ended(self) -> None:
        """Return once the call is over (the session is finishing: no more audio or takeovers)."""
        await self._ended.wait()

    def end(self) -> None:
        """Hang up now (the console's hang-up button, a shutdown)."""
        if self._hangup_by is None:
            self._hangup_by = "console"
            self.spawn(self._hang_up(), "hangup")

    # -- the call's life --

    async def run(self) -> CallRecord:
        """Serve the call until it ends; returns (and stores) its record. Errors propagate after the cleanup."""
        self._t0 = asyncio.get_running_loop().time()
        self._customer_asr = self._recognizers()
        self.publish(StateEvent(0.0, "starting"))
        try:
            async with asyncio.TaskGroup() as tg:
                self._tg = tg
                self._start_tasks(self._customer_asr)
                self.driver.post(CallAnswered(self._t0))
                await self._ended.wait()
                for task in list(self._tasks):
                    task.cancel()
        except asyncio.CancelledError:
            self._hangup_by = self._hangup_by or "shutdown"
            raise
        except Exception:
            self._failed = True
            raise
        finally:
            self._tg = None
            await self._finish()
        assert self.record is not None
        return self.record

    def _start_tasks(self, customer_asr: Recognizer) -> None:
        self.spawn(self._inbound(), "inbound")
        self.spawn(self._pump.run(), "outbound")
        self.spawn(self._read_customer(customer_asr), "customer-asr")
        self.spawn(self.driver.run(), "dialogue")
        self.spawn(self.robot.run(), "robot-voice")
        if hasattr(self._call, "events"):
            self.spawn(self._call_events(), "call-events")

    async def _finish(self) -> None:
        self._ended.set()
        if self._channel is not None:
            self._end_takeover(self._channel)
        self.listen_hub.close()
        for rec in (self._customer_asr, self._agent_asr):
            if rec is not None:
                await self._bounded(rec.aclose())
        if self._hangup_by is None:
            self._hangup_by = "error" if self._failed else "customer"
        await self._bounded(self._call.hangup(self.config.stop_timeout_s))  # no-op when already over
        outcome = "error" if self._failed else (self.conversation.outcome or "hangup")
        self.publish(StateEvent(self.now(), "ended"))
        self.publish(EndedEvent(self.now(), outcome, self._hangup_by))
        self.events.close()
        self.record = self._build_record()
        if self._store is not None:
            await self._bounded(asyncio.to_thread(self._store.save, self.record))

    def _build_record(self) -> CallRecord:
        record = self._builder.record
        record.follow_ups = list(self.conversation.follow_ups)
        # inbound_clock: [frame index, session time it started] every 5 s; frame k is the call recording's tick k,
        # so this maps transcript and event times onto the recording (the line's clock drifts from ours a little)
        record.timings = self.conversation.timings.to_json() | {
            "outbound": self.stats.to_json(),
            "inbound_clock": [list(pair) for pair in self._clock.points],
        }
        return record

    async def _bounded(self, aw: Coroutine[Any, Any, Any]) -> None:
        try:
            async with asyncio.timeout(self.config.stop_timeout_s):
                await aw
        except TimeoutError:
            log.warning("call %s: cleanup step timed out", self.call_id)
        except (CallEnded, OSError, RuntimeError) as e:
            log.warning("call %s: cleanup step failed: %s", self.call_id, type(e).__name__)

    # -- tasks --

    async def _inbound(self) -> None:
        while True:
            try:
                frame = await self._call.recv()
            except CallEnded:
                break
            self._on_inbound(frame)
        self._ended.set()

    def _on_inbound(self, frame: AudioFrame) -> None:
        t = self._clock.frame_start(frame.timestamp_s - self._t0 if frame.timestamp_s else self.now())
        assert self._customer_asr is not None
        self._customer_asr.push_frame(frame)
        self.conversation.on_voice(t + FRAME_S, frame_dbfs(frame) >= self.config.voiced_dbfs)
        if self._amd is not None and self._amd_on:
            since_answer = (self._clock.frames - 1) * FRAME_S  # stream time from 0: in order, 20 ms apart, never < 0
            self._feed_amd(self._amd.push_frame(frame, since_answer), since_answer)
        sent = self._sent_for_mix.popleft() if self._sent_for_mix else None
        self.listen_hub.publish(frame, sent)
        if self._channel is not None:
            self._channel.deliver(mix(frame, self.listen_hub.whisper_frame()) or frame)

    def _feed_amd(self, result: Any, t_s: float) -> None:
        if t_s > self.config.amd_window_s:
            self._amd_on = False
        elif result is not None:
            self._amd_on = self.conversation.on_amd(result)

    def _after_send(self, frame: AudioFrame) -> None:
        self._sent_for_mix.append(frame)
        if self._agent_asr is not None:
            self._agent_asr.push_frame(frame)  # what the customer hears of the agent, on the agent's own clock
        self._speaking.frame(self.switch.last_source)

    async def _read_customer(self, rec: Recognizer) -> None:
        async for event in rec:
            shifted = shift_event(event, self._clock.offset_s or 0.0)
            self.conversation.on_customer(shifted)
            if self._amd is not None and self._amd_on and isinstance(shifted, Final) and shifted.text:
                self._feed_amd(self._amd.push_transcript(shifted.text, shifted.end_s), shifted.end_s)

    async def _read_agent(self, rec: Recognizer, t0_s: float) -> None:
        try:
            async for event in rec:
                self.conversation.on_agent(shift_event(event, t0_s))
        finally:
            await self._bounded(rec.aclose())

    async def _call_events(self) -> None:
        async for event in self._call.events():  # type: ignore[attr-defined]  # optional on the CallLeg seam
            if event.kind == "dtmf" and event.digit:
                self.driver.post(Dtmf(event.digit, self.mono(self.now())))

    async def _hang_up_after_playout(self) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.config.drain_s
        # the call reports its playout depth once per inbound tick: a bounded 20 ms poll is the wait
        while self._pump.unplayed_audio() and loop.time() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(FRAME_S)
        await asyncio.sleep(2 * FRAME_S)  # the last frame leaves the encoder
        await self._hang_up()

    async def _hang_up(self) -> None:
        with contextlib.suppress(CallEnded, TimeoutError):
            await self._call.hangup(self.config.hangup_timeout_s)
        self._ended.set()
