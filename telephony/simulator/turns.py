"""When the simulated customer speaks: an energy VAD on what it hears and a pure turn-taking state machine.

Both are synchronous and clock-free: callers pass times (seconds since the call was answered), so tests
drive them with scripted timelines in virtual time. The call loop in `runner.py` feeds them real frames.

Rules of `Conversation` (one 20 ms transmit slot at a time, `next_slot(t_s)`):
- a turn with `wait_for_robot` starts once the robot spoke and went quiet after our previous utterance
  ended (after the answer, for the first turn): at `robot_end + gap`, but never before the VAD confirmed the
  end (`robot_end + hangover`). If the robot speaks again before that, the turn waits for the new end.
- a turn without `wait_for_robot` starts `gap` after our previous utterance ended (or after the answer);
- a barge-in turn starts `barge_in_after_ms` after the onset of the first robot speech that is under way at
  or after our previous utterance ended, whether or not the robot is still talking by then;
- `gap` is drawn once per turn from `gap_ms` with a generator seeded per call, so a call replays exactly;
- hang up `hangup_after_s` after the last turn ended (if set), and in any case at `max_call_s`.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import numpy.typing as npt

from telephony.frames import FRAME_MS

FRAME_S = FRAME_MS / 1000
_EPS = 1e-6
SILENCE_DBFS = -120.0


def frame_dbfs(samples: npt.NDArray[np.int16]) -> float:
    """RMS level of a frame in dB relative to full scale (a sine at full scale is about -3 dBFS)."""
    if samples.size == 0:
        return SILENCE_DBFS
    rms = math.sqrt(float(np.mean(np.square(samples, dtype=np.float64))))
    return max(SILENCE_DBFS, 20 * math.log10(rms / 32768)) if rms > 0 else SILENCE_DBFS


@dataclass(frozen=True, slots=True)
class VadOptions:
    threshold_dbfs: float = -40.0  # PCMU speech sits around -20 dBFS, line silence far below -60
    onset_ms: int = 40
    hangover_ms: int = 600


@dataclass(frozen=True, slots=True)
class VoiceActivity:
    """Speech started or ended on the heard stream.

    `t_s` is when it really happened (start of the first voiced frame, end of the last voiced frame);
    `decided_s` is when the VAD could tell (after `onset_ms`, after `hangover_ms`).
    """

    kind: Literal["start", "end"]
    t_s: float
    decided_s: float


class EnergyVad:
    """Onset after `onset_ms` of consecutive voiced frames; offset after `hangover_ms` without one."""

    def __init__(self, options: VadOptions | None = None) -> None:
        self.options = options or VadOptions()
        self.speaking = False
        self._run_start_s: float | None = None
        self._last_voiced_end_s = 0.0

    def push(self, t_s: float, level_dbfs: float) -> VoiceActivity | None:
        """Feed the 20 ms frame that starts at `t_s`."""
        end_s = t_s + FRAME_S
        if level_dbfs < self.options.threshold_dbfs:
            self._run_start_s = None
            return self.poll(end_s)
        self._last_voiced_end_s = end_s
        if self._run_start_s is None:
            self._run_start_s = t_s
        if not self.speaking and end_s - self._run_start_s >= self.options.onset_ms / 1000 - _EPS:
            self.speaking = True
            return VoiceActivity("start", self._run_start_s, end_s)
        return None

    def poll(self, now_s: float) -> VoiceActivity | None:
        """Let time pass without frames (a peer that stops sending RTP is silent too)."""
        if self.speaking and now_s - self._last_voiced_end_s >= self.options.hangover_ms / 1000 - _EPS:
            self.speaking = False
            return VoiceActivity("end", self._last_voiced_end_s, now_s)
        return None


@dataclass(frozen=True, slots=True)
class TurnPlan:
    """One utterance of the customer, already rendered: `n_frames` frames of 20 ms."""

    n_frames: int
    wait_for_robot: bool = True
    gap_ms: tuple[int, int] = (300, 800)
    barge_in_after_ms: int | None = None

    def __post_init__(self) -> None:
        if self.n_frames < 1:
            raise ValueError(f"expected at least one frame, got {self.n_frames}")


@dataclass(frozen=True, slots=True)
class HangupPolicy:
    after_last_turn_s: float | None = None
    max_call_s: float = 120.0


@dataclass(frozen=True, slots=True)
class TimelineEvent:
    """One entry of timeline.json; `t_s` is seconds since the answer. Fields left None are not written."""

    t_s: float
    kind: Literal["speech_start", "speech_end", "heard_start", "heard_end", "dtmf", "hangup"]
    turn: int | None = None
    barge_in: bool | None = None
    cut: bool | None = None
    digit: str | None = None
    by: Literal["simulator", "remote"] | None = None
    reason: str | None = None

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {"t_s": round(self.t_s, 4), "kind": self.kind}
        for name in ("turn", "barge_in", "cut", "digit", "by", "reason"):
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        return out


@dataclass(frozen=True, slots=True)
class Slot:
    """What to transmit in one 20 ms slot: frame `frame` of turn `turn`, or silence when `turn` is None."""

    turn: int | None = None
    frame: int = 0


SILENT_SLOT = Slot()


@dataclass(slots=True)
class _Robot:
    """What we know about the other side's speech relative to our own last utterance."""

    talking: bool = False
    onset_s: float | None = None  # onset of the robot speech under way at/after our last utterance ended
    end_s: float | None = None  # end of robot speech that ended after our last utterance ended
    end_decided_s: float = 0.0


@dataclass(slots=True)
class _Speaking:
    turn: int
    next_frame: int = 0


@dataclass(slots=True)
class _State:
    next_turn: int = 0
    last_end_s: float = 0.0  # end of our last utterance (0.0 = the answer)
    speaking: _Speaking | None = None
    robot: _Robot = field(default_factory=_Robot)


class Conversation:
    """The customer's side of the turn-taking, fed VAD results and asked for one slot at a time."""

    def __init__(self, turns: list[TurnPlan], hangup: HangupPolicy, seed: str | int = 0) -> None:
        rng = random.Random(seed)
        self._turns = turns
        self._gaps_s = [rng.randint(t.gap_ms[0], t.gap_ms[1]) / 1000 for t in turns]
        self._policy = hangup
        self._s = _State()
        self.events: list[TimelineEvent] = []
        self.hangup: TimelineEvent | None = None

    @property
    def gaps_s(self) -> list[float]:
        return list(self._gaps_s)

    @property
    def finished(self) -> bool:
        return self.hangup is not None

    def heard(self, activity: VoiceActivity) -> None:
        """The VAD on the received stream reported a change."""
        robot = self._s.robot
        if activity.kind == "start":
            robot.talking = True
            robot.end_s = None  # the robot carries on: an earlier pause was not its end of turn
            if robot.onset_s is None:
                robot.onset_s = max(activity.t_s, self._s.last_end_s)
            self.events.append(TimelineEvent(activity.t_s, "heard_start"))
            return
        robot.talking = False
        if activity.t_s > self._s.last_end_s:
            robot.end_s, robot.end_decided_s = activity.t_s, activity.decided_s
        self.events.append(TimelineEvent(activity.t_s, "heard_end"))

    def dtmf(self, t_s: float, digit: str) -> None:
        self.events.append(TimelineEvent(t_s, "dtmf", digit=digit))

    def remote_hangup(self, t_s: float) -> None:
        self._finish(t_s, "remote", "bye")

    def stop(self, t_s: float, reason: str = "shutdown") -> None:
        """End the call from our side now (the simulator is shutting down)."""
        self._finish(t_s, "simulator", reason)

    def next_slot(self, t_s: float) -> Slot:
        """What to send in the slot that goes on the wire at `t_s`."""
        if self.hangup is not None:
            return SILENT_SLOT
        if t_s >= self._policy.max_call_s - _EPS:
            self._finish(t_s, "simulator", "max_call_s")
            return SILENT_SLOT
        if self._s.speaking is not None:
            slot = self._continue(t_s)
            if slot is not None:
                return slot
        return self._maybe_start(t_s)

    def _continue(self, t_s: float) -> Slot | None:
        speaking = self._s.speaking
        assert speaking is not None
        if speaking.next_frame < self._turns[speaking.turn].n_frames:
            speaking.next_frame += 1
            return Slot(speaking.turn, speaking.next_frame - 1)
        self.events.append(TimelineEvent(t_s, "speech_end", turn=speaking.turn))
        robot = self._s.robot
        self._s = _State(speaking.turn + 1, t_s, None, _Robot(robot.talking, t_s if robot.talking else None))
        return None

    def _maybe_start(self, t_s: float) -> Slot:
        index = self._s.next_turn
        if index >= len(self._turns):
            after = self._policy.after_last_turn_s
            if after is not None and t_s >= self._s.last_end_s + after - _EPS:
                self._finish(t_s, "simulator", "after_last_turn")
            return SILENT_SLOT
        start_s = self._start_time(index)
        if start_s is None or t_s < start_s - _EPS:
            return SILENT_SLOT
        self.events.append(TimelineEvent(t_s, "speech_start", turn=index, barge_in=self._s.robot.talking))
        self._s.speaking = _Speaking(index, 1)
        return Slot(index, 0)

    def _start_time(self, index: int) -> float | None:
        turn, robot, gap_s = self._turns[index], self._s.robot, self._gaps_s[index]
        if turn.barge_in_after_ms is not None:
            return None if robot.onset_s is None else robot.onset_s + turn.barge_in_after_ms / 1000
        if not turn.wait_for_robot:
            return self._s.last_end_s + gap_s
        if robot.talking or robot.end_s is None:
            return None
        return max(robot.end_s + gap_s, robot.end_decided_s)

    def _finish(self, t_s: float, by: Literal["simulator", "remote"], reason: str) -> None:
        if self.hangup is not None:
            return
        if self._s.speaking is not None:
            self.events.append(TimelineEvent(t_s, "speech_end", turn=self._s.speaking.turn, cut=True))
            self._s.speaking = None
        self.hangup = TimelineEvent(t_s, "hangup", by=by, reason=reason)
        self.events.append(self.hangup)
