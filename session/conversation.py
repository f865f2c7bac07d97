"""The turn-taking of one call: recognizer events -> barge-in policy -> dialogue -> actions -> the robot's voice.

`Conversation` holds the decisions that tie the parts together; `CallSession` (its host) owns the tasks, the
clock and the line. Everything here runs on the event loop and never blocks: the dialogue itself runs in
`DialogueDriver`'s executor, speech in `RobotVoice`'s task.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from asr.events import Dropped, Final, Partial, RecognizerEvent, SpeechStarted
from dialogue.actions import (
    Action,
    Book,
    EndCall,
    Listen,
    MarkDoNotCall,
    RequestHuman,
    Say,
    ScheduleCallback,
    ScoreUpdate,
    StopSpeaking,
)
from dialogue.engine import EngineState
from dialogue.events import AgentText, BargeIn, CustomerText, HandoffTimeout, MachineDetected, Silence, SpeechDone
from session.bargein import BargeInPolicy, Decision
from session.brain import DialogueDriver
from session.events import (
    HandoffEvent,
    RecommendationsEvent,
    ScoreEvent,
    SessionEvent,
    StateEvent,
    TranscriptEvent,
)
from session.record import TranscriptLine
from session.seams import AmdResult
from session.switch import Source
from session.voice import Line, RobotVoice

log = logging.getLogger(__name__)
Recommender = Callable[[Sequence[TranscriptLine]], Sequence[Mapping[str, Any]]]
BEEP_GAP_S = 0.3  # start the voicemail message this long after the beep
BEEP_WAIT_S = 8.0  # a machine whose beep is not heard: leave the message after this long anyway


class Host(Protocol):
    """What the conversation needs from its call session."""

    def now(self) -> float:
        """Seconds since the answer."""
        ...

    def mono(self, t_s: float) -> float:
        """A session time as loop (monotonic) time."""
        ...

    def publish(self, event: SessionEvent) -> None: ...

    def spawn(self, coro: Coroutine[Any, Any, None], name: str) -> asyncio.Task[None] | None: ...

    def cut_line(self, to: Source) -> int:
        """Flush the playout buffer and swap the switch to `to`; returns how many frames never played."""
        ...

    def select(self, source: Source) -> None: ...

    def hang_up_when_played(self) -> None: ...

    @property
    def taken_over(self) -> bool: ...


@dataclass(slots=True)
class Timings:
    """Measured on our side of the line, in ms (the SIP tests measure the customer's side)."""

    greeting_ms: float | None = None  # answer -> first robot frame handed to the call
    voice_to_voice_ms: list[float] = field(default_factory=list)  # customer's end of speech -> robot's first frame
    barge_in_cut_ms: list[float] = field(default_factory=list)  # customer onset -> robot audio flushed
    false_barge_ins: int = 0  # cuts that resumed
    takeovers_s: list[float] = field(default_factory=list)  # when each takeover was requested
    agent_jitter: list[dict[str, int]] = field(default_factory=list)  # per takeover: the jitter buffer's counters

    def to_json(self) -> dict[str, Any]:
        return {
            "greeting_ms": _ms(self.greeting_ms),
            "voice_to_voice_ms": [_ms(v) for v in self.voice_to_voice_ms],
            "barge_in_cut_ms": [_ms(v) for v in self.barge_in_cut_ms],
            "false_barge_ins": self.false_barge_ins,
            "takeovers_s": [round(v, 3) for v in self.takeovers_s],
            "agent_jitter": self.agent_jitter,
        }


def _ms(v: float | None) -> float | None:
    return None if v is None else round(v, 1)


class Conversation:
    def __init__(
        self,
        host: Host,
        robot: RobotVoice,
        driver: DialogueDriver,
        policy: BargeInPolicy,
        *,
        recommend: Recommender | None = None,
    ) -> None:
        self.host, self.robot, self.driver, self.policy = host, robot, driver, policy
        self._recommend = recommend
        self.timings = Timings()
        self.follow_ups: list[dict[str, Any]] = []
        self.transcript: list[TranscriptLine] = []
        self.outcome: str | None = None
        self._phase: str | None = None
        self._listen_s: float | None = None  # a Listen waiting for the robot to finish
        self._listen_task: asyncio.Task[None] | None = None
        self._handoff_task: asyncio.Task[None] | None = None
        self._reply_from_s: float | None = None  # end of the customer turn the robot's next line answers
        self._customer_talking = False
        self._machine = False
        self._recommending = False

    # -- the customer (recognizer events, times already in session seconds) --

    def on_customer(self, event: RecognizerEvent) -> None:
        if isinstance(event, SpeechStarted):
            self._customer_talking = True
            self._cancel_listen()
            if self.policy.speech_started(event.t_s) is Decision.CUT:
                self._cut(event.t_s)
        elif isinstance(event, Partial):
            self.host.publish(TranscriptEvent(self.host.now(), "customer", event.text, False, event.start_s))
        elif isinstance(event, Final):
            self._on_final(event)
        elif isinstance(event, Dropped):
            self._customer_talking = False
            self._decide(self.policy.dropped(), self.host.now())
            self._arm_listen()

    def on_agent(self, event: RecognizerEvent) -> None:
        """The agent's speech during a takeover (times in session seconds): transcript, and AgentText."""
        now = self.host.now()
        if isinstance(event, Partial):
            self.host.publish(TranscriptEvent(now, "agent", event.text, False, event.start_s))
        elif isinstance(event, Final) and event.text.strip():
            self.transcript.append(TranscriptLine("agent", event.text, event.start_s, event.end_s))
            self.host.publish(TranscriptEvent(now, "agent", event.text, True, event.start_s, event.end_s))
            self.driver.post(AgentText(event.text, self.host.mono(event.end_s)))  # dropped if already handed back

    def on_voice(self, t_s: float, voiced: bool) -> None:
        """Every inbound frame's voicing: a long talk over the robot confirms a barge-in without its text."""
        self._decide(self.policy.voice(t_s, voiced), t_s)

    def _on_final(self, final: Final) -> None:
        self._customer_talking = False
        line = TranscriptLine("customer", final.text, final.start_s, final.end_s)
        self.transcript.append(line)
        self.host.publish(TranscriptEvent(self.host.now(), "customer", final.text, True, final.start_s, final.end_s))
        verdict = self.policy.final(final.text)
        self._decide(verdict.decision, final.end_s)
        if verdict.forward:
            self._listen_s = None  # the customer took the turn
            self._reply_from_s = None if self.host.taken_over else final.end_s
            self.driver.post(CustomerText(final.text, final.confidence, self.host.mono(final.end_s)))
            self._recommend_later()
        else:
            self._arm_listen()

    def _decide(self, decision: Decision | None, t_s: float) -> None:
        if decision is Decision.RESUME:
            self.timings.false_barge_ins += 1
            self.robot.resume()
            self._back_to_robot()
        elif decision is Decision.CONFIRM:
            self.robot.stop()
            self._back_to_robot()  # the line is silent already; the next line plays at once
            self.driver.post(BargeIn(self.host.mono(t_s)))

    def _back_to_robot(self) -> None:
        """The switch goes back to the robot, unless an agent holds the call (their audio stays on the line)."""
        if not self.host.taken_over:
            self.host.select("robot")

    def _cut(self, onset_s: float) -> None:
        unplayed = self.host.cut_line("silent")
        self.robot.pause(unplayed)
        self.timings.barge_in_cut_ms.append((self.host.now() - onset_s) * 1000)

    # -- the dialogue's actions --

    def perform(self, actions: list[Action], state: EngineState) -> None:
        for action in actions:
            self._perform_one(action)
        if state.phase != self._phase:
            self._phase = state.phase
            self.host.publish(StateEvent(self.host.now(), state.phase, state.node_id))
        if state.outcome is not None:
            self.outcome = state.outcome

    def _perform_one(self, action: Action) -> None:
        if isinstance(action, Say):
            if not self.host.taken_over:
                self.robot.say(action)
        elif isinstance(action, StopSpeaking):
            self.stop_robot()
        elif isinstance(action, Listen):
            self._listen_s = action.timeout_s
            self._arm_listen()
        elif isinstance(action, RequestHuman):
            self.host.publish(HandoffEvent(self.host.now(), "requested", action.reason))
            self._handoff_task = self.host.spawn(self._handoff_timer(action.wait_s), "handoff-timer")
        elif isinstance(action, EndCall):
            self.outcome = action.outcome
            self._maybe_end()
        elif isinstance(action, ScoreUpdate):
            signals = tuple({"name": s.name, "points": s.points, "evidence": s.evidence} for s in action.signals)
            self.host.publish(ScoreEvent(self.host.now(), action.score, action.grade, action.category, signals))
        else:
            self._follow_up(action)

    def _follow_up(self, action: Action) -> None:
        t = round(self.host.now(), 3)
        if isinstance(action, Book):
            self.follow_ups.append({"kind": "book", "t_s": t, "at": action.slot.start.isoformat()})
        elif isinstance(action, ScheduleCallback):
            at = action.at.isoformat() if action.at else None
            self.follow_ups.append({"kind": "callback", "t_s": t, "at": at, "reason": action.reason})
        elif isinstance(action, MarkDoNotCall):
            self.follow_ups.append({"kind": "do_not_call", "t_s": t})

    def stop_robot(self) -> None:
        """Cut whatever the robot plays now and drop its queued lines.

        The line is cut on the wire (flush, fade) only while the robot holds it: after a takeover (which cut it
        already) the switch carries the agent and must stay there.
        """
        line = self.robot.current
        playing = line is not None and line.pos > 0 and not line.cancelled and not self.robot.paused
        if playing and not self.host.taken_over:
            self.robot.pause(self.host.cut_line("silent"))
            self.host.select("robot")
        self.robot.stop()

    # -- the robot's voice (RobotVoice callbacks) --

    def on_line_start(self, line: Line) -> None:
        now = self.host.now()
        self.policy.robot_started(line.say.barge_in_allowed)
        if self.timings.greeting_ms is None:
            self.timings.greeting_ms = now * 1000
        if self._reply_from_s is not None:
            self.timings.voice_to_voice_ms.append((now - self._reply_from_s) * 1000)
            self._reply_from_s = None
        self.host.publish(TranscriptEvent(now, "robot", line.say.text, False, now))

    def on_line_end(self, line: Line) -> None:
        if line.started_s is None:
            return  # cut before a single frame played: nobody heard it
        start_s = line.started_s - self.host.mono(0.0)
        end_s, cut = self.host.now(), line.cancelled
        self.transcript.append(TranscriptLine("robot", line.say.text, start_s, end_s, cut))
        self.host.publish(TranscriptEvent(end_s, "robot", line.say.text, True, start_s, end_s, cut))

    def on_robot_idle(self) -> None:
        self.policy.robot_finished()
        self.driver.post(SpeechDone(self.host.mono(self.host.now())))
        self._arm_listen()
        self._maybe_end()

    # -- timers and the end --

    def _arm_listen(self) -> None:
        """Start the Listen timer once the robot is quiet, unless one runs or the customer is talking."""
        if self._listen_s is None or not self.robot.idle or self.host.taken_over:
            return
        if self._listen_task is None and self.policy.state == "quiet" and not self._customer_talking:
            self._listen_task = self.host.spawn(self._listen_timer(self._listen_s), "listen-timer")

    def _cancel_listen(self) -> None:
        if self._listen_task is not None:
            self._listen_task.cancel()
            self._listen_task = None

    async def _listen_timer(self, timeout_s: float) -> None:
        await asyncio.sleep(timeout_s)
        self._listen_task, self._listen_s = None, None
        self.driver.post(Silence(timeout_s, self.host.mono(self.host.now())))

    async def _handoff_timer(self, wait_s: float) -> None:
        await asyncio.sleep(wait_s)
        self._handoff_task = None
        if not self.host.taken_over:
            self.host.publish(HandoffEvent(self.host.now(), "timeout"))
            self.driver.post(HandoffTimeout(self.host.mono(self.host.now())))

    def on_takeover(self) -> None:
        """An agent took the call (the robot is stopped already): no timers, no barge-in, no pending reply."""
        self._cancel_listen()
        self._listen_s, self._reply_from_s = None, None
        self.policy.reset()
        if self._handoff_task is not None:
            self._handoff_task.cancel()
            self._handoff_task = None
        self.timings.takeovers_s.append(self.host.now())

    def _maybe_end(self) -> None:
        if self.outcome is not None and self.robot.idle and not self.host.taken_over:
            self._cancel_listen()
            self.host.hang_up_when_played()

    # -- machine detection and recommendations --

    def on_amd(self, result: AmdResult) -> bool:
        """Act on a detector's result; returns whether the detector should go on listening.

        `machine`: the dialogue's voicemail path, its message held until `BEEP_GAP_S` after the beep (at most
        `BEEP_WAIT_S` when the beep is not heard yet: the detector keeps listening for it). `human` ends the
        detection; `undecided` changes nothing (human-first: a guess never ends a call).
        """
        if result.decision == "human" and not self._machine:
            return False
        if result.decision != "machine" and not self._machine:
            return True
        if not self._machine:
            self._machine = True
            self.robot.hold_until(self.host.mono(self.host.now() + BEEP_WAIT_S))
            self.driver.post(MachineDetected(self.host.mono(self.host.now())))
        if result.beep_at_s is None:
            return True
        self.robot.hold_until(self.host.mono(result.beep_at_s + BEEP_GAP_S))
        return False

    def _recommend_later(self) -> None:
        if self._recommend is None or self._recommending:
            return  # latest-only: the running call sees the transcript as it is when it reads it
        self._recommending = True
        self.host.spawn(self._run_recommender(), "recommend")

    async def _run_recommender(self) -> None:
        assert self._recommend is not None
        try:
            items = await asyncio.to_thread(self._recommend, list(self.transcript))
        finally:
            self._recommending = False
        if items:
            self.host.publish(RecommendationsEvent(self.host.now(), tuple(items)))
