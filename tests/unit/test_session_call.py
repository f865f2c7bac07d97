"""CallSession with fakes at every seam, in real (short) time: a scripted call leg with a 20 ms clock that
"plays" one queued frame per tick onto a recorded wire, the real StreamingRecognizer over `asr.fakes`, a tone
TTS behind the real TtsStream, and a scripted dialogue brain.

Robot lines are 440 Hz tones (clauses separated by 160 ms of silence), the agent speaks a 1 kHz tone: what is
on the wire at each tick tells who the customer heard.
"""

from __future__ import annotations

import asyncio
import re
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pytest

from asr.fakes import ScriptedScorer, ScriptedTranscriber, ScriptLine, scripted_audio
from asr.pool import InferencePool
from asr.recognizer import StreamingRecognizer
from dialogue.actions import Action, EndCall, Listen, RequestHuman, Say, ScoreUpdate, StopSpeaking
from dialogue.engine import EngineState
from dialogue.events import (
    AgentText,
    BargeIn,
    CallAnswered,
    CustomerText,
    Event,
    HandBack,
    HandoffTimeout,
    MachineDetected,
    Phase,
    Silence,
    SpeechDone,
    Takeover,
)
from dialogue.scoring import ScoreSignal
from session.call_session import CallSession
from session.events import HandoffEvent, SessionEvent, SpeakingEvent, TranscriptEvent
from session.record import CallRecord
from session.seams import Recognizer
from telephony.call import CallEnded
from telephony.frames import AudioFrame, frame_samples
from tts.engine import MemorySource, RenderInfo, TtsStream

pytestmark = pytest.mark.unit
RATE = 8000
N = frame_samples(RATE)
TICK_S = 0.020
ROBOT_HZ, AGENT_HZ = 440.0, 1000.0


# -- fakes ------------------------------------------------------------------------------------------------


class FakeCall:
    """A call leg on a 20 ms clock driven by `recv`: each tick plays one queued frame onto `wire`."""

    def __init__(self, customer: npt.NDArray[np.int16], *, hangup_at_s: float = 8.0) -> None:
        self.sample_rate_hz = RATE
        self._customer = customer
        self._hangup_at_s = hangup_at_s
        self._queue: deque[AudioFrame] = deque()
        self.wire: list[npt.NDArray[np.int16]] = []  # tick k: what the customer heard during [k, k+1) * 20 ms
        self.flushes: list[tuple[float, int]] = []
        self.ended = False
        self.hung_up_by_us = False
        self.start_s: float | None = None  # loop time of tick 0

    @property
    def buffered_frames(self) -> int:
        return len(self._queue)

    def now(self) -> float:
        assert self.start_s is not None
        return asyncio.get_running_loop().time() - self.start_s

    async def recv(self) -> AudioFrame:
        loop = asyncio.get_running_loop()
        if self.start_s is None:
            self.start_s = loop.time()
        k = len(self.wire)
        await asyncio.sleep(max(0.0, self.start_s + k * TICK_S - loop.time()))
        if not self.ended and k * TICK_S >= self._hangup_at_s:
            self.ended = True  # the customer hangs up
        if self.ended:
            raise CallEnded(1)
        self.wire.append(self._queue.popleft().samples if self._queue else np.zeros(N, np.int16))
        chunk = self._customer[k * N : (k + 1) * N]
        chunk = np.concatenate([chunk, np.zeros(N - len(chunk), np.int16)])
        return AudioFrame.from_samples(chunk, RATE, k + 1, loop.time())

    def send(self, frame: AudioFrame) -> int:
        if self.ended:
            raise CallEnded(1)
        assert frame.sample_rate_hz == RATE
        self._queue.append(frame)
        return len(self.wire)

    def flush_playout(self) -> int:
        queued = len(self._queue)
        self._queue.clear()
        self.flushes.append((self.now() if self.start_s is not None else 0.0, queued))
        return queued

    async def hangup(self, timeout_s: float = 10.0) -> None:
        if not self.ended:
            self.hung_up_by_us = True
            self.ended = True

    # -- what the wire says --

    def rms(self) -> npt.NDArray[np.float64]:
        return np.array([np.sqrt(np.mean(np.square(w, dtype=np.float64))) for w in self.wire])

    def voiced_ticks(self, start_s: float = 0.0, end_s: float = 1e9) -> list[int]:
        rms = self.rms()
        return [k for k in range(len(rms)) if rms[k] > 300 and start_s <= k * TICK_S < end_s]

    def dominant_hz(self, start_s: float, end_s: float) -> float:
        x = np.concatenate(self.wire[round(start_s / TICK_S) : round(end_s / TICK_S)]).astype(np.float64)
        spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
        return float(np.fft.rfftfreq(len(x), 1 / RATE)[int(np.argmax(spectrum))])


def tone(hz: float, seconds: float, rate: int = RATE, amplitude: float = 8000) -> npt.NDArray[np.int16]:
    t = np.arange(round(seconds * rate)) / rate
    return np.round(amplitude * np.sin(2 * np.pi * hz * t)).astype(np.int16)


class ToneTts:
    """Each clause of a line is 25 ms per character of a 440 Hz tone, then 160 ms of silence."""

    name = "tone"

    def __init__(self) -> None:
        self.lines: list[str] = []

    def stream(self, text: str, sample_rate_hz: int) -> TtsStream:
        self.lines.append(text)
        parts = []
        for clause in re.split(r"(?<=[,.?!])\s+", text):
            parts += [
                tone(ROBOT_HZ, 0.025 * len(clause), sample_rate_hz),
                np.zeros(sample_rate_hz * 16 // 100, np.int16),
            ]
        return TtsStream(MemorySource(np.concatenate(parts)), sample_rate_hz, RenderInfo("tone", "test"))


def line_seconds(text: str) -> float:
    return sum(0.025 * len(c) + 0.16 for c in re.split(r"(?<=[,.?!])\s+", text))


Reply = Callable[[Event], tuple[Phase, list[Action]]]


def say(text: str, barge_in: bool = True, kind: str = "say") -> Say:
    return Say(text, "node", "v1", kind, barge_in, True)  # type: ignore[arg-type]  # kind is a SayKind


@dataclass
class ScriptedBrain:
    """A dialogue engine stand-in: `reply(event)` gives the next phase and the actions."""

    reply: Reply
    phase: Phase = "idle"
    events: list[Event] = field(default_factory=list)
    outcome: str | None = None

    @property
    def state(self) -> EngineState:
        return EngineState(self.phase, None, frozenset(), 0, None, self.phase == "taken_over", 0, self.outcome)  # type: ignore[arg-type]

    def start(self, t_s: float = 0.0) -> list[Action]:
        return self.handle(CallAnswered(t_s))

    def handle(self, event: Event) -> list[Action]:
        self.events.append(event)
        if isinstance(event, SpeechDone | Silence | AgentText):
            return []
        self.phase, actions = self.reply(event)
        for a in actions:
            if isinstance(a, EndCall):
                self.outcome = a.outcome
        return actions

    def kinds(self) -> list[str]:
        """The events handled, by type; SpeechDone (after every batch of lines) left out."""
        return [type(e).__name__ for e in self.events if type(e).__name__ != "SpeechDone"]


@dataclass
class Recognizers:
    """The session's recognizer factory: the customer's stream first, then one per takeover (the agent's)."""

    customer: Sequence[ScriptLine]
    agent: Sequence[ScriptLine] = ()
    pools: list[InferencePool] = field(default_factory=list)
    made: int = 0

    def __call__(self) -> Recognizer:
        script = self.customer if self.made == 0 else self.agent
        self.made += 1
        pool = InferencePool(ScriptedTranscriber(script), workers=1)
        self.pools.append(pool)
        return StreamingRecognizer(pool, ScriptedScorer(script))

    def close(self) -> None:
        for pool in self.pools:
            pool.close()


@dataclass
class Run:
    record: CallRecord
    call: FakeCall
    brain: ScriptedBrain
    tts: ToneTts
    session: CallSession
    events: list[SessionEvent]


def run_call(
    customer: Sequence[ScriptLine],
    reply: Reply,
    *,
    hangup_at_s: float,
    agent: Sequence[ScriptLine] = (),
    during: Callable[[CallSession, FakeCall], object] | None = None,
    **kwargs: object,
) -> Run:
    """Run one call to its end; `during(session, call)` may return a coroutine run alongside."""
    audio = scripted_audio(customer, hangup_at_s + 1.0, RATE)
    call, brain, tts, recognizers = FakeCall(audio, hangup_at_s=hangup_at_s), ScriptedBrain(reply), ToneTts(), None

    async def main() -> Run:
        nonlocal recognizers
        recognizers = Recognizers(customer, agent)
        session = CallSession(call, brain, tts, recognizers, call_id="t1", **kwargs)  # type: ignore[arg-type]
        events = session.subscribe_events(max_pending=10_000)
        side = during(session, call) if during is not None else None
        tasks = [asyncio.ensure_future(side)] if asyncio.iscoroutine(side) else []
        record = await asyncio.wait_for(session.run(), hangup_at_s + 10)
        await asyncio.gather(*tasks)
        seen = [e async for _, e in events]
        assert {t.get_name() for t in asyncio.all_tasks()} <= {asyncio.current_task().get_name()}  # type: ignore[union-attr]
        return Run(record, call, brain, tts, session, seen)

    try:
        return asyncio.run(main())
    finally:
        if recognizers is not None:
            recognizers.close()


# -- the scripted brain's replies -----------------------------------------------------------------------------

GREETING = "Hello, this is the energy company."  # with the question after it: 1.9 s
PITCH = "We can lower your monthly bill by a fifth, with the same supply, and no paperwork at all for you."


def basic(event: Event) -> tuple[Phase, list[Action]]:
    if isinstance(event, CallAnswered):
        return "active", [say(GREETING, barge_in=False), say("Do you have a minute?", kind="ask"), Listen(5.0)]
    if isinstance(event, CustomerText) and "bye" in event.text:
        return "ended", [say("Thanks for your time, goodbye.", barge_in=False), EndCall("completed")]
    if isinstance(event, CustomerText) and "person" in event.text:
        signal = ScoreSignal("wants_human", 5, "want_human")
        return "awaiting_agent", [
            say("One moment please."),
            RequestHuman("customer_asked", 0.6),
            ScoreUpdate(60, "B", "intent", (signal,)),
        ]
    if isinstance(event, CustomerText):
        signal = ScoreSignal("reached", 35, "reached")
        return "active", [say("Great, tell me more."), Listen(5.0), ScoreUpdate(35, "C", "potential", (signal,))]
    if isinstance(event, HandoffTimeout):
        return "active", [say("Sorry, nobody is free right now."), Listen(5.0)]
    if isinstance(event, BargeIn):
        return "active", [StopSpeaking(), Listen(5.0)]
    if isinstance(event, Takeover):
        return "taken_over", [StopSpeaking()]
    if isinstance(event, HandBack):
        return "active", [say("Thanks for waiting. As I was saying."), Listen(5.0)]
    if isinstance(event, MachineDetected):
        return "ended", [StopSpeaking(), say("Please call us back.", barge_in=False), EndCall("voicemail")]
    raise AssertionError(f"unexpected {type(event).__name__}")


def pitching(event: Event) -> tuple[Phase, list[Action]]:
    if isinstance(event, CallAnswered):
        return "active", [say(PITCH), Listen(5.0)]
    return basic(event)


# -- tests -----------------------------------------------------------------------------------------------------


def test_the_greeting_starts_at_the_answer_and_a_customer_hang_up_ends_everything_cleanly() -> None:
    run = run_call([], basic, hangup_at_s=0.8)
    assert run.record.timings["greeting_ms"] < 40
    assert run.call.voiced_ticks()[0] <= 2, "robot audio on the line within the first ticks"
    assert run.record.hangup_by == "customer" and run.record.outcome == "hangup"
    assert not run.call.hung_up_by_us
    (line,) = run.record.transcript
    assert (line.speaker, line.text, line.cut) == ("robot", GREETING, True)
    assert run.brain.kinds() == ["CallAnswered"]
    speaking = [e.who for e in run.events if isinstance(e, SpeakingEvent)]
    assert speaking[0] == "robot"


def test_a_real_barge_in_stops_the_robot_on_the_line_within_250_ms() -> None:
    onset = 1.0
    run = run_call([(onset, 2.4, "sorry, I have a question about that")], pitching, hangup_at_s=4.5)
    robot_before = run.call.voiced_ticks(0.0, onset)
    assert len(robot_before) >= 45, "the robot was talking"
    # the customer's own noise is not on the wire (no echo): anything voiced after the onset is robot audio
    after = run.call.voiced_ticks(onset, 2.4)
    stop_s = (after[-1] + 1) * TICK_S if after else onset
    assert stop_s - onset <= 0.25, f"robot audio went on {stop_s - onset:.3f} s after the onset"
    assert run.brain.kinds()[:3] == ["CallAnswered", "BargeIn", "CustomerText"]
    assert run.record.timings["barge_in_cut_ms"][0] <= 150
    pitch = next(line for line in run.record.transcript if line.text == PITCH)
    assert pitch.cut
    assert "Great, tell me more." in run.tts.lines, "the dialogue's reply was spoken"


def test_a_backchannel_does_not_end_the_robots_turn_it_resumes_from_the_clause() -> None:
    onset = 1.2
    run = run_call([(onset, 1.5, "uh-huh")], pitching, hangup_at_s=6.0)
    assert run.brain.kinds() == ["CallAnswered"], "no BargeIn, and 'uh-huh' is no answer"
    assert run.record.timings["false_barge_ins"] == 1
    pitch = next(line for line in run.record.transcript if line.text == PITCH)
    assert not pitch.cut, "the line was finished after all"
    gap = [k for k in range(round(onset / TICK_S), round(3.0 / TICK_S)) if k not in run.call.voiced_ticks()]
    assert gap, "it was cut while the customer spoke"
    line_ticks = round(line_seconds(PITCH) / TICK_S)
    voiced = len(run.call.voiced_ticks())
    assert voiced >= line_ticks - 3 * 8, "nothing of the line was lost (its 3 clause pauses are not voiced)"
    assert voiced <= line_ticks + 2.5 / TICK_S, "at most the interrupted clause was said again"
    assert ("customer", "uh-huh") in [(line.speaker, line.text) for line in run.record.transcript]


def test_takeover_silences_the_robot_at_once_plays_the_agent_and_hand_back_resumes() -> None:
    takeover_at, hand_back_at = 1.0, 2.4
    marks: dict[str, float] = {}

    async def agent(session: CallSession, call: FakeCall) -> None:
        await asyncio.sleep(takeover_at)  # the call's clock starts at once: the session starts with this task
        marks["takeover"] = call.now()
        channel = session.request_takeover("agent-1")
        # the dialogue's StopSpeaking for the Takeover may land before the robot's task let go of its line
        session.conversation.stop_robot()
        assert session.switch.selected == "human"
        voice = tone(AGENT_HZ, 1.0, 16000)
        loop = asyncio.get_running_loop()
        start = loop.time()
        for seq, i in enumerate(range(0, len(voice), 320), 1):
            channel.push(seq, voice[i : i + 320].tobytes(), 16000)
            await asyncio.sleep(max(0.0, start + seq * TICK_S - loop.time()))
        heard = [await anext(channel) for _ in range(3)]
        assert all(f.sample_rate_hz == RATE for f in heard)
        await asyncio.sleep(hand_back_at - call.now())
        marks["hand_back"] = call.now()
        session.hand_back()

    run = run_call([], pitching, hangup_at_s=4.5, agent=[(0.3, 0.9, "hello this is alex")], during=agent)
    t = marks["takeover"]
    robot_after = [
        k for k in run.call.voiced_ticks(t, t + 0.1) if run.call.dominant_hz(k * TICK_S, (k + 1) * TICK_S) < 700
    ]
    assert not robot_after or (robot_after[-1] + 1) * TICK_S - t <= 0.06, "robot silent within 3 ticks"
    assert run.call.dominant_hz(t + 0.3, t + 0.9) == pytest.approx(AGENT_HZ, abs=60)
    assert run.call.voiced_ticks(marks["hand_back"] + 0.1, 4.5), "the robot speaks again after the hand-back"
    kinds = run.brain.kinds()
    assert kinds.index("Takeover") < kinds.index("AgentText") < kinds.index("HandBack")
    assert {"robot", "agent"} <= run.record.speakers()
    assert ("agent", "hello this is alex") in [(line.speaker, line.text) for line in run.record.transcript]
    assert [h["status"] for h in run.record.handoffs] == ["accepted", "handed_back"]
    (jitter,) = run.record.timings["agent_jitter"]
    assert jitter["pushed"] == 50 and jitter["late"] == jitter["overflow"] == 0
    assert "agent" in [e.who for e in run.events if isinstance(e, SpeakingEvent)]
    assert "Thanks for waiting. As I was saying." in run.tts.lines


def test_no_agent_in_time_gives_a_handoff_timeout_to_the_dialogue() -> None:
    run = run_call([(2.3, 3.0, "can I speak to a person")], basic, hangup_at_s=5.0)
    assert run.brain.kinds().count("HandoffTimeout") == 1
    statuses = [e.status for e in run.events if isinstance(e, HandoffEvent)]
    assert statuses == ["requested", "timeout"]
    assert "Sorry, nobody is free right now." in run.tts.lines
    assert (run.record.score, run.record.grade) == (60, "B")
    assert run.record.signals == [{"name": "wants_human", "points": 5, "evidence": "want_human"}]


def test_the_robot_hangs_up_after_its_goodbye_has_played() -> None:
    run = run_call([(2.3, 2.7, "ok bye")], basic, hangup_at_s=8.0)
    assert run.call.hung_up_by_us and run.record.hangup_by == "robot" and run.record.outcome == "completed"
    goodbye = next(line for line in run.record.transcript if line.text.startswith("Thanks for your time"))
    assert not goodbye.cut and goodbye.end_s is not None
    assert len(run.call.wire) * TICK_S < goodbye.end_s + 0.5, "hung up right after the goodbye"
    finals = [e for e in run.events if isinstance(e, TranscriptEvent) and e.final]
    assert [e.speaker for e in finals] == ["robot", "robot", "customer", "robot"]


@dataclass(frozen=True)
class Verdict:
    decision: str
    beep_at_s: float | None = None


class StandInDetector:
    """An answering-machine detector stand-in: machine at 0.6 s, the beep at 1.2 s."""

    def __init__(self) -> None:
        self.frames: list[float] = []

    def push_frame(self, frame: AudioFrame, t_s: float) -> Verdict | None:
        self.frames.append(t_s)
        if len(self.frames) > 1 and self.frames[-2] < 0.6 <= t_s:
            return Verdict("machine")
        if len(self.frames) > 1 and self.frames[-2] < 1.2 <= t_s:
            return Verdict("machine", beep_at_s=1.2)
        return None

    def push_transcript(self, text: str, t_s: float) -> Verdict | None:
        return None


def test_a_machine_verdict_leaves_the_message_after_the_beep() -> None:
    detector = StandInDetector()
    run = run_call([], basic, hangup_at_s=5.0, amd=detector)
    assert run.brain.kinds()[:2] == ["CallAnswered", "MachineDetected"]
    message = next(line for line in run.record.transcript if line.text == "Please call us back.")
    assert message.start_s >= 1.2 + 0.3 - 0.05
    assert run.record.outcome == "voicemail" and run.record.hangup_by == "robot"
    steps = np.diff(detector.frames[:50])
    assert np.allclose(steps, TICK_S), "the detector gets stream time: in order, 20 ms apart"
    assert detector.frames[-1] <= 1.3, "and nothing after the beep"


def test_stalled_listeners_and_event_readers_do_not_hold_the_call() -> None:
    subs: dict[str, object] = {}

    def stall(session: CallSession, call: FakeCall) -> None:
        subs["listen"] = session.listen(buffer_frames=5)
        subs["events"] = session.subscribe_events(max_pending=3)

    run = run_call([(2.3, 2.7, "ok bye")], basic, hangup_at_s=8.0, during=stall)
    listen, events = subs["listen"], subs["events"]
    assert run.record.outcome == "completed"
    assert getattr(listen, "dropped") > 100 and getattr(events, "lagged")  # noqa: B009  # typed loosely above
    outbound = run.record.timings["outbound"]
    assert outbound["frames_sent"] >= len(run.call.wire) - 3
    assert outbound["late_ticks"] <= outbound["ticks"] * 0.05


def test_the_real_machine_detector_plugs_into_the_seam_and_a_person_is_not_taken_for_a_machine() -> None:
    amd = pytest.importorskip("session.amd")  # written in parallel (issue 5's machine detection)
    detector = amd.AnsweringMachineDetector()
    run = run_call([(0.3, 0.8, "hello"), (2.3, 2.7, "ok bye")], basic, hangup_at_s=8.0, amd=detector)
    assert "MachineDetected" not in run.brain.kinds()
    assert run.record.outcome == "completed"
