"""The simulator's energy VAD and turn-taking state machine, driven by scripted timelines in virtual time."""

from __future__ import annotations

import numpy as np
import pytest

from telephony.simulator.turns import (
    FRAME_S,
    SILENCE_DBFS,
    Conversation,
    EnergyVad,
    HangupPolicy,
    Slot,
    TurnPlan,
    VadOptions,
    frame_dbfs,
)

pytestmark = pytest.mark.unit

SPEECH_DBFS = -20.0


def _level(t_s: float, robot: list[tuple[float, float]]) -> float:
    return SPEECH_DBFS if any(a - 1e-9 <= t_s < b - 1e-9 for a, b in robot) else SILENCE_DBFS


def drive(conv: Conversation, robot: list[tuple[float, float]], until_s: float) -> list[Slot]:
    """Run slot by slot: the robot frame heard at t, then what we send at t. Returns the slots sent."""
    vad = EnergyVad()
    sent: list[Slot] = []
    for i in range(round(until_s / FRAME_S)):
        t_s = i * FRAME_S
        activity = vad.push(t_s, _level(t_s, robot))
        if activity is not None:
            conv.heard(activity)
        sent.append(conv.next_slot(t_s))
        if conv.finished:
            break
    return sent


def times(conv: Conversation, kind: str) -> list[float]:
    return [round(e.t_s, 3) for e in conv.events if e.kind == kind]


def starts(conv: Conversation) -> list[tuple[int | None, float]]:
    return [(e.turn, round(e.t_s, 3)) for e in conv.events if e.kind == "speech_start"]


# --- energy VAD ------------------------------------------------------------------------------------------


def test_frame_dbfs_of_full_scale_sine_and_silence() -> None:
    sine = (32767 * np.sin(2 * np.pi * 1000 * np.arange(160) / 8000)).astype(np.int16)
    assert frame_dbfs(sine) == pytest.approx(-3.01, abs=0.05)
    assert frame_dbfs(np.zeros(160, dtype=np.int16)) == SILENCE_DBFS


def test_vad_onset_needs_40_ms_above_threshold() -> None:
    vad = EnergyVad()
    assert vad.push(0.00, SPEECH_DBFS) is None  # one voiced frame: a click, not speech
    assert vad.push(0.02, SILENCE_DBFS) is None
    assert vad.push(0.04, SPEECH_DBFS) is None
    onset = vad.push(0.06, SPEECH_DBFS)
    assert onset is not None and onset.kind == "start"
    assert onset.t_s == pytest.approx(0.04) and onset.decided_s == pytest.approx(0.08)


def test_vad_threshold_is_respected() -> None:
    vad = EnergyVad(VadOptions(threshold_dbfs=-30.0))
    assert [vad.push(i * FRAME_S, -35.0) for i in range(10)] == [None] * 10
    assert not vad.speaking


def test_vad_offset_after_600_ms_hangover_and_pauses_do_not_end_speech() -> None:
    vad = EnergyVad()
    robot = [(0.0, 1.0), (1.4, 2.0)]  # a 400 ms pause inside one utterance
    events = []
    for i in range(150):
        activity = vad.push(i * FRAME_S, _level(i * FRAME_S, robot))
        if activity is not None:
            events.append((activity.kind, round(activity.t_s, 3), round(activity.decided_s, 3)))
    assert events == [("start", 0.0, 0.04), ("end", 2.0, 2.6)]


def test_vad_poll_ends_speech_when_frames_stop_arriving() -> None:
    vad = EnergyVad()
    vad.push(0.0, SPEECH_DBFS)
    vad.push(0.02, SPEECH_DBFS)
    assert vad.poll(0.5) is None
    end = vad.poll(0.64)
    assert end is not None and end.kind == "end" and end.t_s == pytest.approx(0.04)


# --- turn taking -----------------------------------------------------------------------------------------


def test_waits_for_the_robot_then_hangs_up_at_max_call_s() -> None:
    conv = Conversation([TurnPlan(10)], HangupPolicy(max_call_s=3.0))
    sent = drive(conv, robot=[], until_s=10.0)
    assert starts(conv) == []
    assert all(s.turn is None for s in sent)
    assert conv.hangup is not None
    assert (conv.hangup.by, conv.hangup.reason, round(conv.hangup.t_s, 3)) == ("simulator", "max_call_s", 3.0)


def test_starts_after_robot_end_plus_gap_but_not_before_the_vad_confirms() -> None:
    short_gap = Conversation([TurnPlan(10, gap_ms=(300, 300))], HangupPolicy())
    drive(short_gap, robot=[(0.5, 2.0)], until_s=4.0)
    assert starts(short_gap) == [(0, 2.6)]  # end 2.0 + hangover 0.6 wins over the 300 ms gap
    long_gap = Conversation([TurnPlan(10, gap_ms=(900, 900))], HangupPolicy())
    drive(long_gap, robot=[(0.5, 2.0)], until_s=4.0)
    assert starts(long_gap) == [(0, 2.9)]
    assert times(long_gap, "heard_start") == [0.5] and times(long_gap, "heard_end") == [2.0]


def test_robot_resuming_during_the_gap_postpones_the_turn() -> None:
    conv = Conversation([TurnPlan(10, gap_ms=(1000, 1000))], HangupPolicy())
    drive(conv, robot=[(0.5, 2.0), (2.7, 3.5)], until_s=6.0)
    assert starts(conv) == [(0, 4.5)]


def test_speaks_the_utterance_frame_by_frame() -> None:
    conv = Conversation([TurnPlan(5, wait_for_robot=False, gap_ms=(100, 100))], HangupPolicy())
    sent = drive(conv, robot=[], until_s=0.5)
    assert [s for s in sent if s.turn is not None] == [Slot(0, k) for k in range(5)]
    assert starts(conv) == [(0, 0.1)] and times(conv, "speech_end") == [0.2]


def test_without_waiting_turns_follow_answer_and_previous_end_by_their_gap() -> None:
    turns = [TurnPlan(10, False, (200, 200)), TurnPlan(5, False, (500, 500))]
    conv = Conversation(turns, HangupPolicy())
    drive(conv, robot=[], until_s=2.0)
    assert starts(conv) == [(0, 0.2), (1, 0.9)]  # 0.2 + 10 frames = 0.4, + 0.5 gap
    assert times(conv, "speech_end") == [0.4, 1.0]


def test_robot_speech_during_our_utterance_is_not_its_turn() -> None:
    turns = [TurnPlan(50, False, (0, 0)), TurnPlan(5, True, (300, 300))]  # we speak 0.0-1.0
    conv = Conversation(turns, HangupPolicy())
    drive(conv, robot=[(0.3, 0.6)], until_s=3.0)  # a backchannel while we talk
    assert starts(conv) == [(0, 0.0)]
    conv = Conversation(turns, HangupPolicy())
    drive(conv, robot=[(0.3, 0.6), (1.5, 2.0)], until_s=4.0)
    assert starts(conv) == [(0, 0.0), (1, 2.6)]


def test_robot_talking_over_our_end_counts_as_its_turn() -> None:
    turns = [TurnPlan(50, False, (0, 0)), TurnPlan(5, True, (300, 300))]
    conv = Conversation(turns, HangupPolicy())
    drive(conv, robot=[(0.8, 2.0)], until_s=4.0)
    assert starts(conv) == [(0, 0.0), (1, 2.6)]


def test_barge_in_starts_while_the_robot_is_still_talking() -> None:
    turns = [TurnPlan(10, False, (0, 0)), TurnPlan(5, True, (300, 300), barge_in_after_ms=500)]
    conv = Conversation(turns, HangupPolicy())
    drive(conv, robot=[(1.0, 4.0)], until_s=5.0)
    assert starts(conv) == [(0, 0.0), (1, 1.5)]
    barge = [e for e in conv.events if e.kind == "speech_start" and e.turn == 1]
    assert barge[0].barge_in is True


def test_barge_in_counts_from_our_end_when_the_robot_already_talks() -> None:
    turns = [TurnPlan(50, False, (0, 0)), TurnPlan(5, True, (0, 0), barge_in_after_ms=300)]
    conv = Conversation(turns, HangupPolicy())
    drive(conv, robot=[(0.5, 3.0)], until_s=4.0)
    assert starts(conv) == [(0, 0.0), (1, 1.3)]


def test_hangs_up_after_the_last_turn() -> None:
    conv = Conversation([TurnPlan(10, False, (0, 0))], HangupPolicy(after_last_turn_s=1.5))
    drive(conv, robot=[], until_s=5.0)
    assert conv.hangup is not None
    assert (conv.hangup.by, conv.hangup.reason, round(conv.hangup.t_s, 3)) == ("simulator", "after_last_turn", 1.7)


def test_without_hangup_after_s_it_stays_on_the_line() -> None:
    conv = Conversation([TurnPlan(10, False, (0, 0))], HangupPolicy(max_call_s=60.0))
    drive(conv, robot=[], until_s=20.0)
    assert conv.hangup is None


def test_max_call_s_cuts_an_utterance() -> None:
    conv = Conversation([TurnPlan(500, False, (0, 0))], HangupPolicy(max_call_s=2.0))
    drive(conv, robot=[], until_s=5.0)
    end = [e for e in conv.events if e.kind == "speech_end"]
    assert len(end) == 1 and end[0].cut is True and end[0].t_s == pytest.approx(2.0)
    assert conv.hangup is not None and conv.hangup.reason == "max_call_s"


def test_remote_hangup_ends_the_conversation() -> None:
    conv = Conversation([TurnPlan(100, False, (0, 0))], HangupPolicy())
    drive(conv, robot=[], until_s=0.5)
    conv.remote_hangup(0.5)
    assert conv.next_slot(0.52) == Slot()
    assert conv.hangup is not None and conv.hangup.by == "remote"
    assert [e.kind for e in conv.events][-2:] == ["speech_end", "hangup"]


def test_gaps_are_seeded_per_call() -> None:
    turns = [TurnPlan(1, gap_ms=(300, 800)) for _ in range(8)]
    first = Conversation(turns, HangupPolicy(), seed="0:p:1").gaps_s
    assert first == Conversation(turns, HangupPolicy(), seed="0:p:1").gaps_s
    assert first != Conversation(turns, HangupPolicy(), seed="0:p:2").gaps_s
    assert all(0.3 <= g <= 0.8 for g in first)


def test_dtmf_and_events_serialise_without_empty_fields() -> None:
    conv = Conversation([], HangupPolicy())
    conv.dtmf(1.23456, "5")
    assert conv.events[0].to_json() == {"t_s": 1.2346, "kind": "dtmf", "digit": "5"}


def test_turn_plan_rejects_empty_utterances() -> None:
    with pytest.raises(ValueError, match="at least one frame"):
        TurnPlan(0)
