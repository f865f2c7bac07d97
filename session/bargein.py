"""Barge-in: what to do when the customer speaks while the robot does. Pure; the session feeds it and acts.

The rule:
1. **Cut at the onset.** The recognizer's `SpeechStarted` (speech confirmed by the VAD, <= 100 ms after the
   onset) while the robot plays an interruptible line -> `CUT`: robot audio stops on the line now (flush the
   playout buffer, the switch fades to silence). The line's synthesis is only paused, not cancelled.
2. **Wait for the verdict.** The cut becomes a real barge-in (`CONFIRM`: cancel the synthesis, drop the queued
   lines, tell the dialogue `BargeIn`) as soon as either
   - the customer has been talking for `confirm_after_ms` (700 ms; "uh-huh", "ok", "嗯" are shorter), or
   - the utterance's final text is not a backchannel (see `is_backchannel`).
3. **False alarm: resume.** A final that is empty (noise, a cough) or a backchannel ("uh-huh", "ok", "yeah",
   "right", "嗯", "对", "好的"), or a dropped utterance, or no verdict within `max_cut_s` -> `RESUME`: the
   robot goes on from the start of the clause it was in: the last pause of >= 120 ms in the audio already
   played, at most 2 s back (`resume_frame`); with no such pause, from 300 ms before the cut. The backchannel
   is kept in the transcript but not given to the dialogue (it is no answer).
4. Lines that must not be cut (`barge_in_allowed` false: notices, goodbye) play on; speech over them is
   transcribed and, unless a backchannel, handed to the dialogue like any other utterance.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from telephony.frames import FRAME_MS

BACKCHANNEL_WORDS = frozenset(
    "uh huh uhhuh mhm mm mmm hmm hm um umm ah oh aha ok okay yeah yep yup yes ya right sure alright cool".split()
)
BACKCHANNEL_PHRASES = frozenset({"i see", "got it", "all right", "go on", "mm hmm", "uh huh", "oh ok", "oh okay"})
BACKCHANNEL_HAN = frozenset("嗯对好是哦啊呃唔行噢的呀")
MAX_BACKCHANNEL_UNITS = 3
MAX_BACKCHANNEL_HAN = 4
_PUNCT = re.compile(r"[^\w\s]|_", re.UNICODE)
_HAN = re.compile(r"[\u4e00-\u9fff]")


def is_backchannel(text: str) -> bool:
    """True for a short acknowledgement that does not take the turn ("uh-huh", "ok yeah", "嗯", "对对", "好的").

    Empty text is not a backchannel (it is noise): callers treat both the same way, as no real barge-in.
    """
    cleaned = _PUNCT.sub(" ", text.lower())
    if _HAN.search(cleaned):
        chars = "".join(cleaned.split())
        return 0 < len(chars) <= MAX_BACKCHANNEL_HAN and all(c in BACKCHANNEL_HAN for c in chars)
    words = cleaned.split()
    units = 0
    while words:
        if len(words) >= 2 and f"{words[0]} {words[1]}" in BACKCHANNEL_PHRASES:
            words = words[2:]
        elif words[0] in BACKCHANNEL_WORDS:
            words = words[1:]
        else:
            return False
        units += 1
    return 0 < units <= MAX_BACKCHANNEL_UNITS


class Decision(enum.Enum):
    CUT = "cut"  # stop robot audio on the line now; keep the synthesis paused
    RESUME = "resume"  # false alarm: the robot goes on from the start of the interrupted clause
    CONFIRM = "confirm"  # a real barge-in: cancel the synthesis and queued lines, tell the dialogue


@dataclass(frozen=True, slots=True)
class BargeInConfig:
    confirm_after_ms: int = 700  # talking this long over the robot is a real barge-in, whatever the words
    still_talking_ms: int = 200  # a voiced frame this recent means the customer is still talking
    max_cut_s: float = 4.0  # a cut with no verdict after this long resumes (the recognizer lost the utterance)


@dataclass(frozen=True, slots=True)
class FinalVerdict:
    decision: Decision | None  # what to do with the robot
    forward: bool  # whether the text goes to the dialogue as the customer's turn


class BargeInPolicy:
    """States: quiet (robot silent), speaking, speaking_fixed (not interruptible), cut (waiting for a verdict)."""

    def __init__(self, config: BargeInConfig | None = None) -> None:
        self.config = config or BargeInConfig()
        self.state = "quiet"
        self._onset_s: float | None = None  # onset of the customer utterance in progress
        self._over_robot = False  # that utterance started while the robot was talking
        self._last_voiced_s = -1.0
        self._cut_at_s = 0.0
        self._open = 0  # customer utterances started during the cut and not yet transcribed

    # -- the robot's side --

    def robot_started(self, interruptible: bool) -> None:
        if self.state != "cut":
            self.state = "speaking" if interruptible else "speaking_fixed"

    def robot_finished(self) -> None:
        if self.state != "cut":
            self.state = "quiet"

    def reset(self) -> None:
        """Forget everything (an agent took the call: there is no robot turn to protect)."""
        self.state, self._onset_s, self._over_robot, self._open = "quiet", None, False, 0

    # -- the customer's side --

    def speech_started(self, onset_s: float) -> Decision | None:
        self._last_voiced_s = max(self._last_voiced_s, onset_s)
        if self.state == "cut":
            self._open += 1  # more words before the verdict: the verdict waits for them too
            return None
        self._onset_s, self._over_robot = onset_s, self.state != "quiet"
        if self.state == "speaking":
            self.state, self._cut_at_s, self._open = "cut", onset_s, 1
            return Decision.CUT
        return None

    def voice(self, t_s: float, voiced: bool) -> Decision | None:
        """One inbound frame's voicing (energy), `t_s` its time. Confirms a cut once the speech lasts long enough."""
        if voiced:
            self._last_voiced_s = t_s
        if self.state != "cut" or self._onset_s is None:
            return None
        talking = t_s - self._last_voiced_s <= self.config.still_talking_ms / 1000
        if talking and t_s - self._onset_s >= self.config.confirm_after_ms / 1000:
            return self._settle(Decision.CONFIRM)
        if t_s - self._cut_at_s >= self.config.max_cut_s:
            return self._settle(Decision.RESUME)
        return None

    def final(self, text: str) -> FinalVerdict:
        """The customer's utterance is transcribed."""
        weak = not text.strip() or is_backchannel(text)
        if self.state == "cut":
            self._open -= 1
            if not weak:
                return FinalVerdict(self._settle(Decision.CONFIRM), True)
            return FinalVerdict(self._settle(Decision.RESUME) if self._open <= 0 else None, False)
        over_robot, self._onset_s, self._over_robot = self._over_robot, None, False
        return FinalVerdict(None, bool(text.strip()) and not (weak and over_robot))

    def dropped(self) -> Decision | None:
        """The utterance could not be transcribed: no barge-in."""
        if self.state == "cut":
            self._open -= 1
            return self._settle(Decision.RESUME) if self._open <= 0 else None
        self._onset_s, self._over_robot = None, False
        return None

    def _settle(self, decision: Decision) -> Decision:
        self.state = "speaking" if decision is Decision.RESUME else "quiet"
        self._onset_s, self._over_robot, self._open = None, False, 0
        return decision


# -- where to resume --

QUIET_FLOOR_RMS = 40.0
QUIET_SHARE = 0.1  # a frame below 10 % of the line's loud (90th percentile) level is a pause
MIN_PAUSE_MS = 120
SEARCH_BACK_S = 2.0
BACKOFF_MS = 300
LEAD_IN_FRAMES = 2  # resume this many frames before the clause's first voiced frame (inside the pause)


def resume_frame(frames: Sequence[npt.NDArray[np.int16]], played: int) -> int:
    """The frame to resume an interrupted line at: the start of the clause it was cut in.

    `frames` is the line's audio so far, one array per 20 ms frame; `played` how many of them reached the
    customer. Returns the index of the first frame to play again (<= `played`).
    """
    played = max(0, min(played, len(frames)))
    if played == 0:
        return 0
    rms = np.array([np.sqrt(np.mean(np.square(f, dtype=np.float64))) if len(f) else 0.0 for f in frames[:played]])
    quiet = rms < max(QUIET_FLOOR_RMS, QUIET_SHARE * float(np.percentile(rms, 90)))
    need = MIN_PAUSE_MS // FRAME_MS
    lowest = max(0, played - round(SEARCH_BACK_S * 1000 / FRAME_MS))
    run = 0
    for j in range(played - 1, lowest - 1, -1):  # from the cut backwards
        run = run + 1 if quiet[j] else 0
        if run >= need:
            end = j + run  # the first frame after the pause: where the clause starts (or the cut itself)
            return max(j, end - LEAD_IN_FRAMES)
    return max(0, played - BACKOFF_MS // FRAME_MS)
