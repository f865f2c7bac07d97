"""Customer-side latency figures from a simulator timeline and heard audio."""

from __future__ import annotations

import numpy as np
import pytest

from bench.call_metrics import (
    Percentiles,
    barge_in_stop_s,
    greeting_s,
    last_loud_after_s,
    onset_after_s,
    voice_to_voice_s,
)

pytestmark = pytest.mark.unit

EVENTS = [
    {"t_s": 0.25, "kind": "heard_start"},  # greeting
    {"t_s": 2.0, "kind": "heard_end"},
    {"t_s": 2.6, "kind": "speech_start", "turn": 0, "barge_in": False},
    {"t_s": 3.6, "kind": "speech_end", "turn": 0},
    {"t_s": 4.3, "kind": "heard_start"},  # reply after 700 ms
    {"t_s": 5.1, "kind": "speech_start", "turn": 1, "barge_in": True},
    {"t_s": 5.3, "kind": "heard_end"},  # robot stopped 200 ms after the barge-in onset
    {"t_s": 6.0, "kind": "speech_end", "turn": 1},
    {"t_s": 6.2, "kind": "speech_start", "turn": 2, "barge_in": False},  # customer went on: no reply to turn 1
    {"t_s": 7.0, "kind": "speech_end", "turn": 2},
    {"t_s": 6.98, "kind": "heard_start"},  # within the talk-over tolerance: counts as a reply of 0 ms
]


def test_greeting_is_the_first_robot_audio_heard() -> None:
    assert greeting_s(EVENTS) == pytest.approx(0.25)
    assert greeting_s([]) is None


def test_voice_to_voice_skips_turns_the_customer_continued() -> None:
    assert voice_to_voice_s(EVENTS) == pytest.approx([0.7, 0.0])


def test_barge_in_stop_runs_from_onset_to_the_end_of_robot_audio() -> None:
    assert barge_in_stop_s(EVENTS) == pytest.approx([0.2])


def _tone(seconds: float, rate_hz: int = 8000) -> np.ndarray:
    t = np.arange(int(seconds * rate_hz)) / rate_hz
    return (8000 * np.sin(2 * np.pi * 440 * t)).astype(np.int16)


def test_audio_cut_and_onset_found_on_frame_boundaries() -> None:
    heard = np.concatenate([_tone(1.0), np.zeros(8000, np.int16), _tone(0.5)])
    # audio starts 0.1 s after the answer; robot sounds until 1.1 s, then silence, then again from 2.1 s
    assert last_loud_after_s(heard, 8000, 0.1, after_s=0.5) == pytest.approx(1.1)
    assert last_loud_after_s(heard, 8000, 0.1, after_s=1.5) == pytest.approx(1.5)  # already quiet
    assert onset_after_s(heard, 8000, 0.1, after_s=1.2) == pytest.approx(2.1)
    assert onset_after_s(heard, 8000, 0.1, after_s=2.7) is None


def test_percentiles_in_ms() -> None:
    p = Percentiles.of_ms([0.1, 0.2, 0.3])
    assert p is not None and p.p50 == 200.0 and p.max == 300.0
    assert Percentiles.of_ms([]) is None
