"""Latency figures of a live call, measured on the customer's side of the RTP stream.

Input is what the customer simulator wrote for one call (`telephony.simulator.timeline.CallResult`): its own
speech (`speech_start` / `speech_end`, when each frame was due on the wire) and what it heard (`heard_start` /
`heard_end`, an energy VAD on the received stream after the jitter buffer), in seconds from the answer, plus
`heard.wav` on the same time axis. Robot-side moments (a takeover request, the agent's first frame) are
`time.monotonic()` values: every process on the host shares CLOCK_MONOTONIC, so they subtract directly.

- voice-to-voice: the customer's end of speech → the first robot audio heard after it (a reply that starts
  more than 50 ms before the end is talk-over, not a reply; a turn the customer continues first has none);
- greeting: the answer → the first robot audio heard;
- barge-in stop: the onset of a barge-in utterance → the end of the robot audio heard under it;
- takeover silence: the takeover request → the last loud frame of robot audio heard after it;
- agent to line: the agent's first frame sent → its onset heard.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from telephony.frames import FRAME_MS

TALK_OVER_TOLERANCE_S = 0.05
LOUD_DBFS = -40.0  # the simulator's own voiced threshold


def _events(events: Sequence[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [e for e in events if e["kind"] == kind]


def greeting_s(events: Sequence[dict[str, Any]]) -> float | None:
    heard = _events(events, "heard_start")
    return float(heard[0]["t_s"]) if heard else None


def voice_to_voice_s(events: Sequence[dict[str, Any]]) -> list[float]:
    """One figure per customer utterance the robot answered (barge-ins included: the robot answers them too)."""
    ends = [e["t_s"] for e in _events(events, "speech_end") if not e.get("cut")]
    starts = sorted(e["t_s"] for e in _events(events, "speech_start"))
    heard = sorted(e["t_s"] for e in _events(events, "heard_start"))
    out = []
    for end in ends:
        reply = next((h for h in heard if h >= end - TALK_OVER_TOLERANCE_S), None)
        next_turn = next((s for s in starts if s > end), None)
        if reply is not None and (next_turn is None or reply < next_turn):
            out.append(max(0.0, reply - end))
    return out


def barge_in_stop_s(events: Sequence[dict[str, Any]]) -> list[float]:
    """Onset of each barge-in → end of the robot speech the customer was talking over."""
    out = []
    heard_ends = sorted(e["t_s"] for e in _events(events, "heard_end"))
    for e in _events(events, "speech_start"):
        if e.get("barge_in"):
            stop = next((h for h in heard_ends if h >= e["t_s"]), None)
            if stop is not None:
                out.append(stop - e["t_s"])
    return out


def frame_dbfs(samples: npt.NDArray[np.int16], rate_hz: int) -> npt.NDArray[np.float64]:
    """Level of each 20 ms frame in dBFS."""
    n = rate_hz * FRAME_MS // 1000
    frames = samples[: len(samples) // n * n].astype(np.float64).reshape(-1, n) / 32768.0
    rms = np.sqrt(np.mean(frames**2, axis=1))
    out: npt.NDArray[np.float64] = 20 * np.log10(np.maximum(rms, 1e-9))
    return out


def last_loud_after_s(heard: npt.NDArray[np.int16], rate_hz: int, audio_start_s: float, after_s: float) -> float:
    """End time (s from the answer) of the last loud frame of the run of robot audio going on at `after_s`: how
    long the robot kept sounding after a cut. `after_s` itself when it was already quiet."""
    db = frame_dbfs(heard, rate_hz)
    first = max(0, int((after_s - audio_start_s) * 1000 // FRAME_MS))
    end_s = after_s
    for k in range(first, len(db)):
        if db[k] < LOUD_DBFS:
            break
        end_s = audio_start_s + (k + 1) * FRAME_MS / 1000
    return end_s


def onset_after_s(heard: npt.NDArray[np.int16], rate_hz: int, audio_start_s: float, after_s: float) -> float | None:
    """Start time (s from the answer) of the first two consecutive loud frames at or after `after_s`."""
    db = frame_dbfs(heard, rate_hz)
    first = max(0, int((after_s - audio_start_s) * 1000 // FRAME_MS))
    for k in range(first, len(db) - 1):
        if db[k] >= LOUD_DBFS and db[k + 1] >= LOUD_DBFS:
            return audio_start_s + k * FRAME_MS / 1000
    return None


@dataclass(frozen=True, slots=True)
class Percentiles:
    p50: float
    p95: float
    max: float

    @classmethod
    def of_ms(cls, seconds: Sequence[float]) -> Percentiles | None:
        if not seconds:
            return None
        ms = np.asarray(seconds) * 1000
        return cls(*(round(float(v), 1) for v in (np.percentile(ms, 50), np.percentile(ms, 95), ms.max())))

    def to_json(self) -> dict[str, float]:
        return {"p50": self.p50, "p95": self.p95, "max": self.max}
